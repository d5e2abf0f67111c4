//! Where a value lives: each version's value is AES-256-GCM under a fresh
//! 256-bit data key from the vault's generator; the data key is encrypted
//! through the KMS's own envelope path under the primary version of the
//! secret's key (the blob names that key version, so the key's rotation
//! never breaks an older version), with an encryption context naming the
//! secret and the version. The value's additional data names them too, so
//! a value moved to another secret or version does not open.
//!
//! Only [`SealedValue`] (the data key's blob, the IV, the ciphertext) is
//! kept. The data key and the value in clear live in `SecretBytes` (wiped
//! when dropped) for the length of one call. Opening goes through the KMS too: a
//! Disabled, PendingDeletion or missing key refuses with its own code.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use p11kms_proto::SecretBytes;
use p11kms_proto::blob::{EncryptionContext, IV_LEN};

use crate::kms::envelope::{decrypt_bytes, encrypt_bytes};
use crate::kms::{Kms, KmsError};
use crate::store::SealedValue;

/// Bytes of a data key.
const DATA_KEY_LEN: usize = 32;

/// The encryption context of a version's data key.
fn context(secret: &str, version_id: &str) -> EncryptionContext {
    [("SecretName".to_owned(), secret.to_owned()), ("VersionId".to_owned(), version_id.to_owned())]
        .into_iter()
        .collect()
}

/// The value's additional data: both names, each with its length, so no
/// two (name, version) pairs share it.
fn aad(secret: &str, version_id: &str) -> Vec<u8> {
    let mut aad = b"p11kms secret value\0".to_vec();
    for part in [secret, version_id] {
        aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

fn cipher(data_key: &[u8]) -> Result<Aes256Gcm, KmsError> {
    Aes256Gcm::new_from_slice(data_key).map_err(|_| KmsError::Internal("a data key is not 256 bits".into()))
}

/// Encrypts `value` as version `version_id` of `secret`, under `key_id`.
pub fn seal(kms: &Kms, key_id: &str, secret: &str, version_id: &str, value: &[u8]) -> Result<SealedValue, KmsError> {
    let cluster = kms.cluster_of(&kms.registry()?.key(key_id)?.record.instance)?;
    let data_key = kms.vault.random(&cluster, DATA_KEY_LEN)?;
    let encrypted = encrypt_bytes(kms, key_id, data_key.expose(), &context(secret, version_id))?;
    let iv: [u8; IV_LEN] = rand::random();
    let ciphertext = cipher(data_key.expose())?
        .encrypt(Nonce::from_slice(&iv), Payload { msg: value, aad: &aad(secret, version_id) })
        .map_err(|_| KmsError::Internal("a secret value cannot be encrypted".into()))?;
    tracing::debug!(secret, version = version_id, key = key_id, bytes = value.len(), "secret value sealed");
    Ok(SealedValue { encrypted_data_key: encrypted.ciphertext_blob, iv: iv.to_vec(), ciphertext })
}

/// Decrypts version `version_id` of `secret`, whose data key `key_id`
/// encrypted.
pub fn open(
    kms: &Kms,
    key_id: &str,
    secret: &str,
    version_id: &str,
    sealed: &SealedValue,
) -> Result<SecretBytes, KmsError> {
    let data_key = decrypt_bytes(kms, &sealed.encrypted_data_key, &context(secret, version_id), Some(key_id))?;
    if sealed.iv.len() != IV_LEN {
        return Err(KmsError::Internal(format!("version '{version_id}' of secret '{secret}' has a damaged IV")));
    }
    let value = cipher(data_key.plaintext.expose())?
        .decrypt(Nonce::from_slice(&sealed.iv), Payload { msg: &sealed.ciphertext, aad: &aad(secret, version_id) })
        .map_err(|_| {
            KmsError::Internal(format!("version '{version_id}' of secret '{secret}' does not authenticate (damaged)"))
        })?;
    tracing::debug!(secret, version = version_id, key = key_id, "secret value opened");
    // Moved, not copied: no other copy of the value is left behind.
    Ok(SecretBytes::new(value))
}
