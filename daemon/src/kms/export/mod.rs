//! Data keys exported under a caller's RSA public key, as the KMS API's
//! `GenerateAndExportDataKey` and `ExportDataKey` do: the data key leaves
//! the daemon encrypted under the KMS key (a ciphertext blob) and under
//! the public key, never in clear.
//!
//! The public key is the caller's, not an HSM's, so the encryption under
//! it runs here in software (the `rsa` crate): RSAES-OAEP with SHA-256 or
//! SHA-1 (MGF1 with the same hash, empty label) or RSAES-PKCS1-v1_5. Only
//! public-key operations happen here; the data key is in the daemon's
//! memory for the encryption, in a `SecretBytes` that is zeroized when
//! dropped, and no log line or audit record ever carries it.
//!
//! Each success is recorded with its key (`keys::uses`): the CMK
//! migration refuses keys these operations were used with.

pub mod refusal;

use rsa::rand_core::OsRng;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Oaep, Pkcs1v15Encrypt, RsaPublicKey};
use sha1::Sha1;
use sha2::Sha256;

use p11kms_proto::SecretBytes;
use p11kms_proto::admin::{
    ExportDataKeyRequest, ExportOperation, ExportWrappingKeySpec, ExportedDataKey, GenerateAndExportDataKeyRequest,
    GeneratedExportedDataKey, WrappingAlgorithm,
};

use super::envelope;
use super::keys::uses;
use super::{Kms, KmsError};
use crate::encoding::{DerError, OaepHash, max_message_len, rsa_public_from_spki};
use refusal::PublicKeyError;

/// A caller's RSA public key, checked, and how to encrypt under it.
#[derive(Debug)]
struct Recipient {
    key: RsaPublicKey,
    algorithm: WrappingAlgorithm,
    spec: ExportWrappingKeySpec,
}

impl Recipient {
    /// Reads and checks `PublicKeyBlob`: a DER SubjectPublicKeyInfo of an
    /// RSA key whose modulus is exactly the size `spec` names.
    fn new(blob: &[u8], algorithm: WrappingAlgorithm, spec: ExportWrappingKeySpec) -> Result<Self, PublicKeyError> {
        let (modulus, exponent) = rsa_public_from_spki(blob).map_err(|error| match error {
            DerError::NotRsa => PublicKeyError::NotRsa,
            other => PublicKeyError::Malformed(other),
        })?;
        let modulus = BigUint::from_bytes_be(&modulus);
        // The size first: the rsa crate refuses moduli over 4096 bits on
        // its own, with a message that does not name WrappingKeySpec.
        let bits = modulus.bits();
        if bits != spec.modulus_bits() {
            return Err(PublicKeyError::WrongSize { bits, spec });
        }
        let key = RsaPublicKey::new(modulus, BigUint::from_bytes_be(&exponent))
            .map_err(|error| PublicKeyError::Unusable(error.to_string()))?;
        Ok(Self { key, algorithm, spec })
    }

    /// The longest data key one encryption takes (RFC 8017: k - 2 hLen - 2
    /// bytes for OAEP, k - 11 for PKCS#1 v1.5).
    fn capacity(&self) -> usize {
        let modulus_len = self.key.size();
        match self.algorithm {
            WrappingAlgorithm::RsaesOaepSha256 => max_message_len(modulus_len, OaepHash::Sha256),
            WrappingAlgorithm::RsaesOaepSha1 => max_message_len(modulus_len, OaepHash::Sha1),
            WrappingAlgorithm::RsaesPkcs1V15 => modulus_len.saturating_sub(11),
        }
    }

    /// Refuses a data key of `length` bytes that does not fit.
    fn check_fits(&self, length: usize) -> Result<(), PublicKeyError> {
        let max = self.capacity();
        if length > max {
            return Err(PublicKeyError::DataKeyTooLong { length, max, algorithm: self.algorithm, spec: self.spec });
        }
        Ok(())
    }

    /// `data_key` encrypted under the public key.
    fn encrypt(&self, data_key: &SecretBytes) -> Result<Vec<u8>, KmsError> {
        self.check_fits(data_key.len())?;
        let plaintext = data_key.expose();
        let encrypted = match self.algorithm {
            WrappingAlgorithm::RsaesOaepSha256 => self.key.encrypt(&mut OsRng, Oaep::new::<Sha256>(), plaintext),
            WrappingAlgorithm::RsaesOaepSha1 => self.key.encrypt(&mut OsRng, Oaep::new::<Sha1>(), plaintext),
            WrappingAlgorithm::RsaesPkcs1V15 => self.key.encrypt(&mut OsRng, Pkcs1v15Encrypt, plaintext),
        };
        // The key and the length were checked: what is left to fail is the
        // system's random generator. The error names no data.
        encrypted.map_err(|error| KmsError::Internal(format!("RSA encryption under PublicKeyBlob failed: {error}")))
    }
}

/// `generate-and-export-data-key`: a new data key, under the primary
/// version of the request's key and under the caller's public key.
pub fn generate_and_export(
    kms: &Kms,
    request: &GenerateAndExportDataKeyRequest,
) -> Result<GeneratedExportedDataKey, KmsError> {
    // Every parameter is checked before anything is made, as for
    // generate-data-key: a refusal costs no HSM call.
    let recipient = Recipient::new(&request.public_key_blob, request.wrapping_algorithm, request.wrapping_key_spec)?;
    let length = envelope::data_key_length(request.key_spec, request.number_of_bytes)?;
    recipient.check_fits(length)?;
    let made = envelope::new_data_key(kms, &request.key, length, &request.encryption_context)?;
    let data_key = made.plaintext.ok_or_else(|| KmsError::Internal("a new data key without its plaintext".into()))?;
    let exported_data_key = recipient.encrypt(&data_key)?;
    drop(data_key);
    uses::record(kms, &made.key_id, ExportOperation::GenerateAndExportDataKey)?;
    Ok(GeneratedExportedDataKey {
        key_id: made.key_id,
        key_version_id: made.key_version_id,
        ciphertext_blob: made.ciphertext_blob,
        exported_data_key,
    })
}

/// `export-data-key`: the data key a blob holds, decrypted here with the
/// version the blob names (the key must allow decryption), encrypted under
/// the caller's public key.
pub fn export_data_key(kms: &Kms, request: &ExportDataKeyRequest) -> Result<ExportedDataKey, KmsError> {
    let recipient = Recipient::new(&request.public_key_blob, request.wrapping_algorithm, request.wrapping_key_spec)?;
    let opened = envelope::decrypt_bytes(kms, &request.ciphertext_blob, &request.encryption_context, None)?;
    let exported_data_key = recipient.encrypt(&opened.plaintext)?;
    uses::record(kms, &opened.key_id, ExportOperation::ExportDataKey)?;
    Ok(ExportedDataKey { exported_data_key, key_id: opened.key_id, key_version_id: opened.key_version_id })
}
