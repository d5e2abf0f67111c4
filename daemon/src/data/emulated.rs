//! Mechanisms the daemon completes around an HSM that lacks them, so that
//! applications get the standard mechanism whatever the HSM:
//!
//! * `CKM_ECDSA_SHA{1,224,256,384,512}`: the daemon hashes the data and the
//!   HSM signs or verifies the digest with `CKM_ECDSA` (SoftHSM 2.6 has no
//!   hashing ECDSA). Hashing needs no key, so nothing secret leaves the HSM.
//! * `CKM_RSA_PKCS_OAEP` with SHA-256, or with a label: when the HSM refuses
//!   the parameters, the daemon does the OAEP encoding and the HSM the raw
//!   RSA operation (`hsm::oaep`). As with the admin API's
//!   `RSAES_OAEP_SHA_256`, the decoded plaintext passes through the
//!   daemon's memory, as it would anyway on its way to the application.

use cryptoki_sys::*;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use p11kms_proto::pkcs11::{MechParam, Mechanism as WireMechanism};

use super::error::{DataError, rv};
use crate::encoding::oaep::OaepHash;
pub use crate::hsm::mechanism::HASHING_ECDSA;

/// For a hashing ECDSA mechanism: the digest of `data`, after which the
/// mechanism becomes plain `CKM_ECDSA`. `None` for any other mechanism.
pub fn ecdsa_digest(mechanism: &mut WireMechanism, data: &[u8]) -> Result<Option<Vec<u8>>, DataError> {
    let digest = match mechanism.ty {
        CKM_ECDSA_SHA1 => Sha1::digest(data).to_vec(),
        CKM_ECDSA_SHA224 => Sha224::digest(data).to_vec(),
        CKM_ECDSA_SHA256 => Sha256::digest(data).to_vec(),
        CKM_ECDSA_SHA384 => Sha384::digest(data).to_vec(),
        CKM_ECDSA_SHA512 => Sha512::digest(data).to_vec(),
        _ => return Ok(None),
    };
    if !matches!(mechanism.param, MechParam::None) {
        return Err(rv(CKR_MECHANISM_PARAM_INVALID));
    }
    *mechanism = WireMechanism::new(CKM_ECDSA);
    Ok(Some(digest))
}

/// The OAEP parameters the daemon can encode: the hash (equal to the MGF's)
/// and the label. `None` when the mechanism is not OAEP or its parameters
/// are not ones the daemon knows (the HSM's refusal then stands).
pub fn oaep_parameters(mechanism: &WireMechanism) -> Option<(OaepHash, &[u8])> {
    let MechParam::Oaep { hash, mgf, source_data } = &mechanism.param else {
        return None;
    };
    if mechanism.ty != CKM_RSA_PKCS_OAEP {
        return None;
    }
    let hash = match (*hash, *mgf) {
        (CKM_SHA_1, CKG_MGF1_SHA1) => OaepHash::Sha1,
        (CKM_SHA224, CKG_MGF1_SHA224) => OaepHash::Sha224,
        (CKM_SHA256, CKG_MGF1_SHA256) => OaepHash::Sha256,
        (CKM_SHA384, CKG_MGF1_SHA384) => OaepHash::Sha384,
        (CKM_SHA512, CKG_MGF1_SHA512) => OaepHash::Sha512,
        _ => return None,
    };
    Some((hash, source_data.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_ecdsa_becomes_plain_ecdsa_over_the_digest() {
        let mut mechanism = WireMechanism::new(CKM_ECDSA_SHA256);
        let digest = ecdsa_digest(&mut mechanism, b"abc").expect("ok").expect("a digest");
        assert_eq!(mechanism.ty, CKM_ECDSA);
        assert_eq!(digest, Sha256::digest(b"abc").to_vec());
        let mut plain = WireMechanism::new(CKM_ECDSA);
        assert_eq!(ecdsa_digest(&mut plain, b"abc"), Ok(None), "plain ECDSA is the HSM's");
        let mut with_param = WireMechanism { ty: CKM_ECDSA_SHA384, param: MechParam::Bytes(vec![1]) };
        assert_eq!(ecdsa_digest(&mut with_param, b"abc"), Err(rv(CKR_MECHANISM_PARAM_INVALID)));
        for ty in HASHING_ECDSA {
            let mut m = WireMechanism::new(*ty);
            let len = ecdsa_digest(&mut m, b"").expect("ok").expect("digest").len();
            assert!([20, 28, 32, 48, 64].contains(&len));
        }
    }

    #[test]
    fn only_matching_hash_and_mgf_are_encoded_here() {
        let oaep = |hash, mgf| WireMechanism {
            ty: CKM_RSA_PKCS_OAEP,
            param: MechParam::Oaep { hash, mgf, source_data: b"label".to_vec() },
        };
        assert_eq!(oaep_parameters(&oaep(CKM_SHA256, CKG_MGF1_SHA256)), Some((OaepHash::Sha256, &b"label"[..])));
        assert_eq!(oaep_parameters(&oaep(CKM_SHA_1, CKG_MGF1_SHA1)), Some((OaepHash::Sha1, &b"label"[..])));
        assert_eq!(oaep_parameters(&oaep(CKM_SHA512, CKG_MGF1_SHA512)), Some((OaepHash::Sha512, &b"label"[..])));
        assert_eq!(oaep_parameters(&oaep(CKM_SHA256, CKG_MGF1_SHA1)), None, "hash and MGF must agree");
        assert_eq!(oaep_parameters(&WireMechanism::new(CKM_RSA_PKCS)), None);
    }
}
