//! Cryptographic operations of the KMS API: envelope encryption with
//! symmetric keys, data keys (and their export under a caller's RSA
//! public key), and the asymmetric operations. Byte fields are base64 in
//! `--json`, as the spec's API shows them.

use serde::{Deserialize, Serialize};

use super::import::WrappingAlgorithm;
use super::names::named_enum;
use crate::SecretBytes;
use crate::blob::EncryptionContext;

/// `encrypt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptRequest {
    /// Key id or alias; its primary version encrypts.
    pub key: String,
    /// What to encrypt (at most 6 KiB).
    pub plaintext: SecretBytes,
    /// Bound to the ciphertext; decryption must present the same.
    pub encryption_context: EncryptionContext,
}

/// Answer to `encrypt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Encrypted {
    /// The key.
    pub key_id: String,
    /// The version that encrypted.
    pub key_version_id: String,
    /// The blob (names key and version).
    #[serde(with = "crate::bytes")]
    pub ciphertext_blob: Vec<u8>,
}

/// `decrypt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecryptRequest {
    /// A blob from `encrypt`, `re-encrypt` or `generate-data-key`.
    #[serde(with = "crate::bytes")]
    pub ciphertext_blob: Vec<u8>,
    /// The context it was encrypted with.
    pub encryption_context: EncryptionContext,
}

/// Answer to `decrypt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Decrypted {
    /// The key that had encrypted.
    pub key_id: String,
    /// The version that had encrypted.
    pub key_version_id: String,
    /// The plaintext.
    pub plaintext: SecretBytes,
}

/// `re-encrypt`: decrypt with the blob's version, encrypt with the primary
/// version of the destination key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReEncryptRequest {
    /// The blob.
    #[serde(with = "crate::bytes")]
    pub ciphertext_blob: Vec<u8>,
    /// Key id or alias to encrypt with; the blob's own key when absent.
    pub destination_key: Option<String>,
    /// The context the blob was made with.
    pub source_encryption_context: EncryptionContext,
    /// The context to bind to the new blob.
    pub destination_encryption_context: EncryptionContext,
}

/// Answer to `re-encrypt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncrypted {
    /// The key that had encrypted.
    pub source_key_id: String,
    /// The version that had encrypted.
    pub source_key_version_id: String,
    /// The key that encrypted now.
    pub key_id: String,
    /// Its primary version.
    pub key_version_id: String,
    /// The new blob.
    #[serde(with = "crate::bytes")]
    pub ciphertext_blob: Vec<u8>,
}

/// One item's outcome in a batch re-encryption (`rewrap`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatchOutcome {
    /// Re-encrypted.
    Done(ReEncrypted),
    /// Already under the destination's primary version: left as it is.
    Unchanged,
    /// Refused, with the error `re-encrypt` would have given.
    Failed(crate::ApiError),
}

named_enum! {
    /// Size of a data key.
    pub enum DataKeySpec {
        /// 256 bits.
        Aes256 => "AES_256",
        /// 128 bits.
        Aes128 => "AES_128",
    }
}

/// `generate-data-key` and `generate-data-key-without-plaintext`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateDataKeyRequest {
    /// Key id or alias; its primary version encrypts the data key.
    pub key: String,
    /// Data key size by name.
    pub key_spec: Option<DataKeySpec>,
    /// Data key size in bytes (1 to 1024); exclusive with `key_spec`.
    pub number_of_bytes: Option<u32>,
    /// Bound to the encrypted data key.
    pub encryption_context: EncryptionContext,
}

/// Answer to `generate-data-key*`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataKey {
    /// The key.
    pub key_id: String,
    /// The version that encrypted the data key.
    pub key_version_id: String,
    /// The encrypted data key.
    #[serde(with = "crate::bytes")]
    pub ciphertext_blob: Vec<u8>,
    /// The data key itself (absent "without plaintext").
    pub plaintext: Option<SecretBytes>,
}

named_enum! {
    /// The kind of the caller's public key a data key is exported under
    /// (`WrappingKeySpec` of ExportDataKey and GenerateAndExportDataKey):
    /// it must be the size of the key given.
    pub enum ExportWrappingKeySpec {
        /// RSA, 2048-bit modulus.
        Rsa2048 => "RSA_2048",
        /// RSA, 3072-bit modulus.
        Rsa3072 => "RSA_3072",
        /// RSA, 4096-bit modulus.
        Rsa4096 => "RSA_4096",
    }
}

impl ExportWrappingKeySpec {
    /// The modulus size, in bits, of a public key of this kind.
    pub fn modulus_bits(self) -> usize {
        match self {
            Self::Rsa2048 => 2048,
            Self::Rsa3072 => 3072,
            Self::Rsa4096 => 4096,
        }
    }
}

/// `generate-and-export-data-key`: a new data key, returned encrypted
/// under the KMS key (as `generate-data-key` makes it) and under the
/// caller's RSA public key, never in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateAndExportDataKeyRequest {
    /// Key id or alias of a symmetric key; its primary version encrypts
    /// the data key.
    pub key: String,
    /// Data key size by name.
    pub key_spec: Option<DataKeySpec>,
    /// Data key size in bytes (1 to 1024, and what the public key can
    /// encrypt); exclusive with `key_spec`.
    pub number_of_bytes: Option<u32>,
    /// Bound to the data key's ciphertext blob.
    pub encryption_context: EncryptionContext,
    /// The caller's RSA public key: a DER SubjectPublicKeyInfo.
    #[serde(with = "crate::bytes")]
    pub public_key_blob: Vec<u8>,
    /// How the data key is encrypted under the public key.
    pub wrapping_algorithm: WrappingAlgorithm,
    /// The public key's kind (its size).
    pub wrapping_key_spec: ExportWrappingKeySpec,
}

/// Answer to `generate-and-export-data-key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GeneratedExportedDataKey {
    /// The key.
    pub key_id: String,
    /// The version that encrypted the data key.
    pub key_version_id: String,
    /// The data key under the KMS key (a ciphertext blob, as
    /// `generate-data-key` returns it).
    #[serde(with = "crate::bytes")]
    pub ciphertext_blob: Vec<u8>,
    /// The same data key encrypted under the caller's public key.
    #[serde(with = "crate::bytes")]
    pub exported_data_key: Vec<u8>,
}

/// `export-data-key`: a data key's ciphertext blob, decrypted inside the
/// daemon and encrypted under the caller's RSA public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportDataKeyRequest {
    /// The data key's ciphertext blob (it names its key and version).
    #[serde(with = "crate::bytes")]
    pub ciphertext_blob: Vec<u8>,
    /// The context the blob was made with.
    pub encryption_context: EncryptionContext,
    /// The caller's RSA public key: a DER SubjectPublicKeyInfo.
    #[serde(with = "crate::bytes")]
    pub public_key_blob: Vec<u8>,
    /// How the data key is encrypted under the public key.
    pub wrapping_algorithm: WrappingAlgorithm,
    /// The public key's kind (its size).
    pub wrapping_key_spec: ExportWrappingKeySpec,
}

/// Answer to `export-data-key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExportedDataKey {
    /// The data key encrypted under the caller's public key.
    #[serde(with = "crate::bytes")]
    pub exported_data_key: Vec<u8>,
    /// The key whose blob it was.
    pub key_id: String,
    /// The version that had encrypted it.
    pub key_version_id: String,
}

named_enum! {
    /// Signature algorithms of `sign` and `verify`.
    pub enum SigningAlgorithm {
        /// RSASSA-PSS with SHA-256, MGF1-SHA-256, 32-byte salt.
        RsaPssSha256 => "RSA_PSS_SHA_256",
        /// RSASSA-PKCS1-v1_5 with SHA-256.
        RsaPkcs1Sha256 => "RSA_PKCS1_SHA_256",
        /// ECDSA over a SHA-256 digest; DER signature.
        EcdsaSha256 => "ECDSA_SHA_256",
    }
}

named_enum! {
    /// Encryption algorithms of `asymmetric-encrypt` and `asymmetric-decrypt`.
    pub enum AsymmetricAlgorithm {
        /// RSAES-OAEP with SHA-1 and MGF1-SHA-1.
        RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
        /// RSAES-OAEP with SHA-256 and MGF1-SHA-256.
        RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
    }
}

/// `sign`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignRequest {
    /// Key id or alias.
    pub key: String,
    /// The version to sign with.
    pub key_version_id: String,
    /// Algorithm.
    pub algorithm: SigningAlgorithm,
    /// The SHA-256 digest of the message.
    #[serde(with = "crate::bytes")]
    pub digest: Vec<u8>,
}

/// Answer to `sign`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Signature {
    /// The key.
    pub key_id: String,
    /// The version that signed.
    pub key_version_id: String,
    /// The signature (DER for ECDSA).
    #[serde(with = "crate::bytes")]
    pub value: Vec<u8>,
}

/// `verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyRequest {
    /// Key id or alias.
    pub key: String,
    /// The version that signed.
    pub key_version_id: String,
    /// Algorithm.
    pub algorithm: SigningAlgorithm,
    /// The SHA-256 digest of the message.
    #[serde(with = "crate::bytes")]
    pub digest: Vec<u8>,
    /// The signature.
    #[serde(with = "crate::bytes")]
    pub value: Vec<u8>,
}

/// Answer to `verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Verified {
    /// The key.
    pub key_id: String,
    /// The version.
    pub key_version_id: String,
    /// Whether the signature is valid.
    pub value: bool,
}

/// `asymmetric-encrypt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsymmetricEncryptRequest {
    /// Key id or alias.
    pub key: String,
    /// The version.
    pub key_version_id: String,
    /// Algorithm.
    pub algorithm: AsymmetricAlgorithm,
    /// What to encrypt.
    pub plaintext: SecretBytes,
}

/// `asymmetric-decrypt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsymmetricDecryptRequest {
    /// Key id or alias.
    pub key: String,
    /// The version.
    pub key_version_id: String,
    /// Algorithm.
    pub algorithm: AsymmetricAlgorithm,
    /// What to decrypt.
    #[serde(with = "crate::bytes")]
    pub ciphertext_blob: Vec<u8>,
}

/// Parameters of `get-public-key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetPublicKeyRequest {
    /// Key id or alias.
    pub key: String,
    /// The version; the primary when absent.
    pub key_version_id: Option<String>,
}

/// Answer to `get-public-key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicKeyInfo {
    /// The key.
    pub key_id: String,
    /// The version.
    pub key_version_id: String,
    /// SubjectPublicKeyInfo in PEM.
    pub public_key: String,
}
