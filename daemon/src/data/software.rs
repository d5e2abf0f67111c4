//! The `default` slot's key operations. The `default` instance has no HSM:
//! the daemon holds its key material in software, in the KMS vault under
//! [`SOFTWARE_CLUSTER`], so there is no PKCS#11 session to run an
//! application's mechanism on. This module maps each mechanism the slot
//! offers ([`mechanisms`], the table in `docs/pkcs11.md`, "The default
//! slot") onto one vault operation:
//!
//! | mechanism | vault |
//! |---|---|
//! | `CKM_AES_GCM` (12-byte IV, 128-bit tag, any AAD) | `seal` / `open` |
//! | `CKM_ECDSA`, `CKM_ECDSA_SHA{1,224,256,384,512}` | `sign` / `verify`, `Ecdsa` |
//! | `CKM_RSA_PKCS` (the caller's DigestInfo), `CKM_SHA{1,224,256,384,512}_RSA_PKCS` | `sign` / `verify`, `RsaPkcs1` |
//! | `CKM_RSA_PKCS_PSS` (SHA-256 digest), `CKM_SHA256_RSA_PKCS_PSS`; SHA-256, MGF1-SHA256, salt 32 | `sign` / `verify`, `RsaPssSha256` |
//! | `CKM_RSA_PKCS_OAEP`, SHA-1 or SHA-256 (MGF1 the same), no label | `rsa_encrypt` / `rsa_decrypt` |
//!
//! The checks an HSM makes before it runs a mechanism are made here in
//! SoftHSM's terms, so that an application sees the same return values on
//! the default slot as on an HSM slot: the mechanism, the key's usage flag,
//! the key's type, the parameters, then the lengths. Login, the app's
//! policy and the key's state were checked before (`crypto::target`), as
//! for every slot. Plaintexts and key material never reach a log line.

use std::borrow::Cow;

use cryptoki_sys::*;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use p11kms_proto::admin::{AsymmetricAlgorithm, KeySpec};
use p11kms_proto::data::DataReply;
use p11kms_proto::pkcs11::{CKM_P11KMS_ENVELOPE, MechParam, Mechanism as WireMechanism, MechanismInfo};

use super::crypt::Crypt;
use super::emulated;
use super::error::{DataError, rv};
use crate::kms::vault::{GCM_IV_LEN, SOFTWARE_CLUSTER, SignScheme, Vault, VersionId};

#[cfg(test)]
mod tests;

/// Bytes of the AES-GCM tag the vault appends (128 bits, the only size).
const GCM_TAG_LEN: usize = 16;
/// Bytes of a raw ECDSA signature `r || s` on the slot's curves (P-256 and
/// secp256k1 both have 32-byte fields).
const ECDSA_SIGNATURE_LEN: usize = 64;
/// The shortest and longest digest `CKM_ECDSA` takes: the vault refuses a
/// digest shorter than half the field, and SHA-512's is the longest any
/// hashing mechanism makes.
const ECDSA_DIGEST_LENS: std::ops::RangeInclusive<usize> = 16..=64;
/// Bytes of PKCS#1 v1.5 padding around a signed DigestInfo (RFC 8017 9.2).
const PKCS1_OVERHEAD: usize = 11;

/// A version of a `default` key, as an operation needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftwareKey {
    /// The version's id, as the vault names it.
    pub id: VersionId,
    /// The key's spec (its type and size).
    pub spec: KeySpec,
    /// Whether the object has the flag the operation needs (`CKA_SIGN`,
    /// `CKA_ENCRYPT`, …), as its attributes show it.
    pub permitted: bool,
}

/// The hashes of the hashing mechanisms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => Sha1::digest(data).to_vec(),
            Self::Sha224 => Sha224::digest(data).to_vec(),
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// The DER of `DigestInfo { AlgorithmIdentifier { hash, NULL }, OCTET
    /// STRING }` up to the digest itself (RFC 8017 9.2, note 1).
    fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            Self::Sha1 => &[0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14],
            Self::Sha224 => &SHA2_PREFIXES[0],
            Self::Sha256 => &SHA2_PREFIXES[1],
            Self::Sha384 => &SHA2_PREFIXES[2],
            Self::Sha512 => &SHA2_PREFIXES[3],
        }
    }

    /// The DigestInfo `CKM_RSA_PKCS` signs for `CKM_<hash>_RSA_PKCS`.
    fn digest_info(self, data: &[u8]) -> Vec<u8> {
        [self.digest_info_prefix(), &self.digest(data)].concat()
    }
}

/// The SHA-2 DigestInfo prefixes (SHA-224, -256, -384, -512): they differ
/// only in the total length, the OID's last byte and the digest length.
const SHA2_PREFIXES: [[u8; 19]; 4] = {
    const fn prefix(total: u8, oid_last: u8, digest: u8) -> [u8; 19] {
        [
            0x30, total, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, oid_last, 0x05, 0x00,
            0x04, digest,
        ]
    }
    [prefix(0x2d, 0x04, 28), prefix(0x31, 0x01, 32), prefix(0x41, 0x02, 48), prefix(0x51, 0x03, 64)]
};

/// What a mechanism asks of the vault, before its parameters are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `CKM_AES_GCM`.
    Gcm,
    /// `CKM_RSA_PKCS_OAEP`.
    Oaep,
    /// `CKM_ECDSA` and the hashing ECDSA mechanisms.
    Ecdsa,
    /// `CKM_RSA_PKCS` (no hash: the input is the DigestInfo) and
    /// `CKM_<hash>_RSA_PKCS` (the daemon hashes and builds it).
    RsaPkcs1(Option<Hash>),
    /// `CKM_RSA_PKCS_PSS` over a digest, or `CKM_SHA256_RSA_PKCS_PSS`
    /// (`hashing`: the daemon hashes).
    Pss { hashing: bool },
}

/// The mechanism's kind, if the slot does it for this operation.
fn kind(ty: CK_MECHANISM_TYPE, operation: &Crypt<'_>) -> Option<Kind> {
    let crypt = matches!(operation, Crypt::Encrypt(_) | Crypt::Decrypt(_));
    let kind = match ty {
        CKM_AES_GCM => Kind::Gcm,
        CKM_RSA_PKCS_OAEP => Kind::Oaep,
        CKM_ECDSA | CKM_ECDSA_SHA1 | CKM_ECDSA_SHA224 | CKM_ECDSA_SHA256 | CKM_ECDSA_SHA384 | CKM_ECDSA_SHA512 => {
            Kind::Ecdsa
        }
        CKM_RSA_PKCS => Kind::RsaPkcs1(None),
        CKM_SHA1_RSA_PKCS => Kind::RsaPkcs1(Some(Hash::Sha1)),
        CKM_SHA224_RSA_PKCS => Kind::RsaPkcs1(Some(Hash::Sha224)),
        CKM_SHA256_RSA_PKCS => Kind::RsaPkcs1(Some(Hash::Sha256)),
        CKM_SHA384_RSA_PKCS => Kind::RsaPkcs1(Some(Hash::Sha384)),
        CKM_SHA512_RSA_PKCS => Kind::RsaPkcs1(Some(Hash::Sha512)),
        CKM_RSA_PKCS_PSS => Kind::Pss { hashing: false },
        CKM_SHA256_RSA_PKCS_PSS => Kind::Pss { hashing: true },
        _ => return None,
    };
    // CKM_RSA_PKCS is a signature here only: RSA encryption is OAEP.
    (matches!(kind, Kind::Gcm | Kind::Oaep) == crypt).then_some(kind)
}

/// Bytes of an RSA key's modulus; `None` for a key that is not RSA.
fn modulus_len(spec: KeySpec) -> Option<usize> {
    match spec {
        KeySpec::Rsa2048 => Some(256),
        KeySpec::Rsa3072 => Some(384),
        _ => None,
    }
}

/// True when the key's type is the one the mechanism works with.
fn fits(kind: Kind, spec: KeySpec) -> bool {
    match kind {
        Kind::Gcm => spec.is_symmetric(),
        Kind::Ecdsa => matches!(spec, KeySpec::EcP256 | KeySpec::EcP256K),
        Kind::Oaep | Kind::RsaPkcs1(_) | Kind::Pss { .. } => modulus_len(spec).is_some(),
    }
}

/// Runs `operation` with `key` through `vault`. See the module documentation.
pub fn operate(
    vault: &dyn Vault,
    key: &SoftwareKey,
    mechanism: &mut WireMechanism,
    operation: Crypt<'_>,
) -> Result<DataReply, DataError> {
    let kind = kind(mechanism.ty, &operation).ok_or(rv(CKR_MECHANISM_INVALID))?;
    // The key's type before its permission, as the module checks at
    // `…Init` (`provider/src/key_fit.rs`).
    if !fits(kind, key.spec) {
        return Err(rv(CKR_KEY_TYPE_INCONSISTENT));
    }
    if !key.permitted {
        return Err(rv(CKR_KEY_FUNCTION_NOT_PERMITTED));
    }
    match operation {
        Crypt::Encrypt(plaintext) => encrypt(vault, key, kind, mechanism, plaintext),
        Crypt::Decrypt(ciphertext) => decrypt(vault, key, kind, mechanism, ciphertext),
        Crypt::Sign(data) => {
            let (scheme, input) = signing_input(key, kind, mechanism, data)?;
            Ok(DataReply::Bytes(vault.sign(SOFTWARE_CLUSTER, &key.id, scheme, &input)?))
        }
        Crypt::Verify(data, signature) => {
            let (scheme, input) = signing_input(key, kind, mechanism, data)?;
            // As SoftHSM: a signature of the wrong size is out of range,
            // not merely invalid.
            let expected = if kind == Kind::Ecdsa { Some(ECDSA_SIGNATURE_LEN) } else { modulus_len(key.spec) };
            if Some(signature.len()) != expected {
                return Err(rv(CKR_SIGNATURE_LEN_RANGE));
            }
            if vault.verify(SOFTWARE_CLUSTER, &key.id, scheme, &input, signature)? {
                Ok(DataReply::Done)
            } else {
                Err(rv(CKR_SIGNATURE_INVALID))
            }
        }
    }
}

/// `GenerateRandom` on the default slot: the vault's generator.
pub fn random(vault: &dyn Vault, length: usize) -> Result<DataReply, DataError> {
    Ok(DataReply::Secret(vault.random(SOFTWARE_CLUSTER, length)?))
}

/// The IV and additional data of a `CKM_AES_GCM` the vault can do.
fn gcm_parameters(mechanism: &WireMechanism) -> Result<([u8; GCM_IV_LEN], &[u8]), DataError> {
    match &mechanism.param {
        MechParam::Gcm { iv, aad, tag_bits: 128 } => {
            let iv = iv.as_slice().try_into().map_err(|_| rv(CKR_MECHANISM_PARAM_INVALID))?;
            Ok((iv, aad))
        }
        _ => Err(rv(CKR_MECHANISM_PARAM_INVALID)),
    }
}

/// The vault's algorithm for a `CKM_RSA_PKCS_OAEP`, and its hash's length.
fn oaep_algorithm(mechanism: &WireMechanism) -> Result<(AsymmetricAlgorithm, usize), DataError> {
    match &mechanism.param {
        MechParam::Oaep { source_data, .. } if !source_data.is_empty() => Err(rv(CKR_MECHANISM_PARAM_INVALID)),
        MechParam::Oaep { hash: CKM_SHA_1, mgf: CKG_MGF1_SHA1, .. } => Ok((AsymmetricAlgorithm::RsaesOaepSha1, 20)),
        MechParam::Oaep { hash: CKM_SHA256, mgf: CKG_MGF1_SHA256, .. } => {
            Ok((AsymmetricAlgorithm::RsaesOaepSha256, 32))
        }
        _ => Err(rv(CKR_MECHANISM_PARAM_INVALID)),
    }
}

fn encrypt(
    vault: &dyn Vault,
    key: &SoftwareKey,
    kind: Kind,
    mechanism: &WireMechanism,
    plaintext: &[u8],
) -> Result<DataReply, DataError> {
    let ciphertext = if kind == Kind::Gcm {
        let (iv, aad) = gcm_parameters(mechanism)?;
        vault.seal(SOFTWARE_CLUSTER, &key.id, &iv, aad, plaintext)?
    } else {
        let (algorithm, hash_len) = oaep_algorithm(mechanism)?;
        // RFC 8017 7.1.1: at most k - 2 hLen - 2 bytes.
        let most = modulus_len(key.spec).unwrap_or(0).saturating_sub(2 * hash_len + 2);
        if plaintext.len() > most {
            return Err(rv(CKR_DATA_LEN_RANGE));
        }
        vault.rsa_encrypt(SOFTWARE_CLUSTER, &key.id, algorithm, plaintext)?
    };
    Ok(DataReply::Bytes(ciphertext))
}

fn decrypt(
    vault: &dyn Vault,
    key: &SoftwareKey,
    kind: Kind,
    mechanism: &WireMechanism,
    ciphertext: &[u8],
) -> Result<DataReply, DataError> {
    let plaintext = if kind == Kind::Gcm {
        let (iv, aad) = gcm_parameters(mechanism)?;
        if ciphertext.len() < GCM_TAG_LEN {
            return Err(rv(CKR_ENCRYPTED_DATA_LEN_RANGE));
        }
        vault.open(SOFTWARE_CLUSTER, &key.id, &iv, aad, ciphertext)?
    } else {
        let (algorithm, _) = oaep_algorithm(mechanism)?;
        if Some(ciphertext.len()) != modulus_len(key.spec) {
            return Err(rv(CKR_ENCRYPTED_DATA_LEN_RANGE));
        }
        vault.rsa_decrypt(SOFTWARE_CLUSTER, &key.id, algorithm, ciphertext)?
    };
    // A tag that does not authenticate, a ciphertext that does not decode.
    plaintext.map(DataReply::Secret).ok_or(rv(CKR_ENCRYPTED_DATA_INVALID))
}

/// The vault's scheme and input for a signature mechanism over `data`.
fn signing_input<'d>(
    key: &SoftwareKey,
    kind: Kind,
    mechanism: &mut WireMechanism,
    data: &'d [u8],
) -> Result<(SignScheme, Cow<'d, [u8]>), DataError> {
    let no_parameter = matches!(mechanism.param, MechParam::None);
    match kind {
        Kind::Ecdsa => {
            // Hashing ECDSA becomes plain ECDSA over the digest, as on an
            // HSM that lacks it.
            let input = match emulated::ecdsa_digest(mechanism, data)? {
                Some(digest) => Cow::Owned(digest),
                None if no_parameter => Cow::Borrowed(data),
                None => return Err(rv(CKR_MECHANISM_PARAM_INVALID)),
            };
            if !ECDSA_DIGEST_LENS.contains(&input.len()) {
                return Err(rv(CKR_DATA_LEN_RANGE));
            }
            Ok((SignScheme::Ecdsa, input))
        }
        Kind::RsaPkcs1(_) if !no_parameter => Err(rv(CKR_MECHANISM_PARAM_INVALID)),
        Kind::RsaPkcs1(Some(hash)) => Ok((SignScheme::RsaPkcs1, Cow::Owned(hash.digest_info(data)))),
        Kind::RsaPkcs1(None) => {
            let most = modulus_len(key.spec).unwrap_or(0).saturating_sub(PKCS1_OVERHEAD);
            if data.len() > most {
                return Err(rv(CKR_DATA_LEN_RANGE));
            }
            Ok((SignScheme::RsaPkcs1, Cow::Borrowed(data)))
        }
        Kind::Pss { hashing } => {
            if mechanism.param != (MechParam::Pss { hash: CKM_SHA256, mgf: CKG_MGF1_SHA256, salt_len: 32 }) {
                return Err(rv(CKR_MECHANISM_PARAM_INVALID));
            }
            if hashing {
                Ok((SignScheme::RsaPssSha256, Cow::Owned(Hash::Sha256.digest(data))))
            } else if data.len() == 32 {
                Ok((SignScheme::RsaPssSha256, Cow::Borrowed(data)))
            } else {
                Err(rv(CKR_DATA_LEN_RANGE))
            }
        }
        Kind::Gcm | Kind::Oaep => Err(rv(CKR_MECHANISM_INVALID)),
    }
}

/// The default slot's mechanisms, as its token lists them: what
/// [`operate`] does, the vendor envelope mechanism (`kms::envelope`, on
/// the same vault), and the generation of KMS keys (`data::keygen`). Key
/// sizes are bytes for AES, bits otherwise, as PKCS#11 has them; nothing
/// is `CKF_HW`.
pub fn mechanisms() -> Vec<MechanismInfo> {
    let crypt = CKF_ENCRYPT | CKF_DECRYPT;
    let sign = CKF_SIGN | CKF_VERIFY;
    let ec = CKF_EC_F_P | CKF_EC_OID | CKF_EC_UNCOMPRESS;
    let aes = |ty, flags| MechanismInfo { ty, min_key_size: 16, max_key_size: 32, flags };
    let ecc = |ty, flags| MechanismInfo { ty, min_key_size: 256, max_key_size: 256, flags: flags | ec };
    let rsa = |ty, flags| MechanismInfo { ty, min_key_size: 2048, max_key_size: 3072, flags };
    let mut list = vec![aes(CKM_AES_KEY_GEN, CKF_GENERATE), aes(CKM_AES_GCM, crypt), aes(CKM_P11KMS_ENVELOPE, crypt)];
    list.push(ecc(CKM_EC_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR));
    list.extend(
        [CKM_ECDSA, CKM_ECDSA_SHA1, CKM_ECDSA_SHA224, CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512]
            .map(|ty| ecc(ty, sign)),
    );
    list.push(rsa(CKM_RSA_PKCS_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR));
    list.extend(
        [
            CKM_RSA_PKCS,
            CKM_SHA1_RSA_PKCS,
            CKM_SHA224_RSA_PKCS,
            CKM_SHA256_RSA_PKCS,
            CKM_SHA384_RSA_PKCS,
            CKM_SHA512_RSA_PKCS,
            CKM_RSA_PKCS_PSS,
            CKM_SHA256_RSA_PKCS_PSS,
        ]
        .map(|ty| rsa(ty, sign)),
    );
    list.push(rsa(CKM_RSA_PKCS_OAEP, crypt));
    list
}
