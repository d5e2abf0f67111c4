//! The cryptographic operations, top-level as the API names them:
//! `p11kms encrypt | decrypt | re-encrypt` ([`envelope`]),
//! `generate-data-key | generate-data-key-without-plaintext`
//! ([`data_keys`]), `generate-and-export-data-key | export-data-key`
//! ([`export`]), `sign | verify` ([`signatures`]) and
//! `asymmetric-encrypt | asymmetric-decrypt | get-public-key`
//! ([`asymmetric`]); the arguments several of them share are in
//! [`inputs`]. Byte values go in as base64 (or text where the API takes
//! text) and come out as base64 in `--json`, as the API shows them.
//! `verify` of a signature that is not valid prints its answer and exits 4.

pub mod asymmetric;
pub mod data_keys;
pub mod envelope;
pub mod export;
pub mod inputs;
pub mod signatures;

use super::subcommands;
use asymmetric::{AsymmetricDecryptArgs, AsymmetricEncryptArgs, GetPublicKeyArgs};
use data_keys::{GenerateDataKeyArgs, GenerateDataKeyWithoutPlaintextArgs};
use envelope::{DecryptArgs, EncryptArgs, ReEncryptArgs};
use export::{ExportDataKeyArgs, GenerateAndExportDataKeyArgs};
use signatures::{SignArgs, VerifyArgs};

/// Exit status of `verify` when the signature is not valid.
pub const EXIT_INVALID_SIGNATURE: u8 = 4;

subcommands! {
    /// The cryptographic operations.
    pub enum CryptoCommand {
        /// Encrypts with a symmetric key's primary version (Encrypt).
        Encrypt(EncryptArgs),
        /// Decrypts a ciphertext blob; the blob names its key and version (Decrypt).
        Decrypt(DecryptArgs),
        /// Decrypts a blob and encrypts it under a primary version (ReEncrypt).
        ReEncrypt(ReEncryptArgs),
        /// Makes a data key, returned in clear and encrypted (GenerateDataKey).
        GenerateDataKey(GenerateDataKeyArgs),
        /// Makes a data key, returned encrypted only (GenerateDataKeyWithoutPlaintext).
        GenerateDataKeyWithoutPlaintext(GenerateDataKeyWithoutPlaintextArgs),
        /// Makes a data key, returned under the key and under your RSA public key, never in clear (GenerateAndExportDataKey).
        GenerateAndExportDataKey(GenerateAndExportDataKeyArgs),
        /// Encrypts a blob's data key under your RSA public key, in the daemon (ExportDataKey).
        ExportDataKey(ExportDataKeyArgs),
        /// Signs a SHA-256 digest with an asymmetric key version (AsymmetricSign).
        Sign(SignArgs),
        /// Checks a signature (AsymmetricVerify); exits 4 when it is not valid.
        Verify(VerifyArgs),
        /// Encrypts with an RSA key version's public key (AsymmetricEncrypt).
        AsymmetricEncrypt(AsymmetricEncryptArgs),
        /// Decrypts with an RSA key version's private key (AsymmetricDecrypt).
        AsymmetricDecrypt(AsymmetricDecryptArgs),
        /// Shows an asymmetric key version's public key in PEM (GetPublicKey).
        GetPublicKey(GetPublicKeyArgs),
    }
}
