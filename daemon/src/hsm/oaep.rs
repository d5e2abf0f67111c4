//! RSA-OAEP for parameters the HSM refuses (SoftHSM 2.6 does OAEP with
//! SHA-1 and no label only): the OAEP encoding is done in the daemon
//! (`encoding::oaep`), the HSM performs the raw RSA operation
//! (`CKM_RSA_X_509`). The private key never leaves the HSM; the decoded
//! plaintext passes through the daemon's memory, as it would anyway on its
//! way to the caller. Used by the data plane for `CKM_RSA_PKCS_OAEP` and by
//! the vault for `asymmetric-encrypt`/`-decrypt`.

use cryptoki::mechanism::Mechanism as CkMechanism;
use cryptoki::object::{Attribute as CkAttribute, AttributeType, ObjectHandle};
use cryptoki::session::Session;
use cryptoki_sys::*;
use zeroize::Zeroizing;

use crate::encoding::oaep::{OaepHash, oaep_decode, oaep_encode, random_seed};

/// True when the HSM refused a mechanism's parameters (not the data).
pub fn parameters_refused(rv: CK_RV) -> bool {
    matches!(rv, CKR_ARGUMENTS_BAD | CKR_MECHANISM_PARAM_INVALID | CKR_MECHANISM_INVALID)
}

/// The modulus length in bytes of the RSA key `key`.
fn modulus_len(s: &Session, key: ObjectHandle) -> Result<usize, cryptoki::error::Error> {
    let attributes = s.get_attributes(key, &[AttributeType::Modulus])?;
    match attributes.first() {
        Some(CkAttribute::Modulus(modulus)) => Ok(modulus.iter().skip_while(|b| **b == 0).count()),
        _ => Err(cryptoki::error::Error::Pkcs11(
            cryptoki::error::RvError::KeyTypeInconsistent,
            cryptoki::context::Function::Encrypt,
        )),
    }
}

/// RSA-OAEP encryption: encoded here, raw RSA on the HSM.
pub fn encrypt(
    s: &Session,
    key: ObjectHandle,
    hash: OaepHash,
    label: &[u8],
    plaintext: &[u8],
) -> Result<Result<Vec<u8>, CK_RV>, cryptoki::error::Error> {
    let k = modulus_len(s, key)?;
    let seed = random_seed(hash);
    let em = match oaep_encode(plaintext, k, hash, label, &seed) {
        Ok(em) => Zeroizing::new(em),
        Err(_) => return Ok(Err(CKR_DATA_LEN_RANGE)),
    };
    s.encrypt(&CkMechanism::RsaX509, key, &em).map(Ok)
}

/// RSA-OAEP decryption: raw RSA on the HSM, decoded here. Any decoding
/// failure is the same `CKR_ENCRYPTED_DATA_INVALID`.
pub fn decrypt(
    s: &Session,
    key: ObjectHandle,
    hash: OaepHash,
    label: &[u8],
    ciphertext: &[u8],
) -> Result<Result<Vec<u8>, CK_RV>, cryptoki::error::Error> {
    let k = modulus_len(s, key)?;
    let raw = match s.decrypt(&CkMechanism::RsaX509, key, ciphertext) {
        Ok(raw) => Zeroizing::new(raw),
        Err(cryptoki::error::Error::Pkcs11(_, _)) => return Ok(Err(CKR_ENCRYPTED_DATA_INVALID)),
        Err(other) => return Err(other),
    };
    Ok(oaep_decode(&raw, k, hash, label).map(|m| m.to_vec()).map_err(|_| CKR_ENCRYPTED_DATA_INVALID))
}
