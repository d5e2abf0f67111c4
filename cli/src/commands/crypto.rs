//! The cryptographic operations, top-level as the API names them:
//! `p11kms encrypt | decrypt | re-encrypt | generate-data-key |
//! generate-data-key-without-plaintext | sign | verify |
//! asymmetric-encrypt | asymmetric-decrypt | get-public-key`.
//! Byte values go in as base64 (or text where the API takes text) and come
//! out as base64 in `--json`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use sha2::{Digest, Sha256};

use p11kms_proto::SecretBytes;
use p11kms_proto::admin::{
    AdminReply, AdminRequest, AsymmetricAlgorithm, AsymmetricDecryptRequest, AsymmetricEncryptRequest, DataKeySpec,
    DecryptRequest, Decrypted, EncryptRequest, GenerateDataKeyRequest, ReEncryptRequest, SignRequest, SigningAlgorithm,
    VerifyRequest,
};
use p11kms_proto::blob::EncryptionContext;
use p11kms_proto::bytes::to_base64;

use super::{RenderError, args, named_value, unexpected};
use crate::output::{self, Fields, Format};

/// Exit status of `verify` when the signature is not valid.
pub const EXIT_INVALID_SIGNATURE: u8 = 4;

/// Plaintext as text or base64.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct PlaintextArg {
    /// The plaintext, as text (its UTF-8 bytes).
    #[arg(long, value_name = "TEXT")]
    plaintext: Option<String>,
    /// The plaintext, as base64.
    #[arg(long, value_name = "BASE64", value_parser = args::base64)]
    plaintext_base64: Option<args::Bytes>,
}

impl PlaintextArg {
    fn bytes(&self) -> SecretBytes {
        match (&self.plaintext, &self.plaintext_base64) {
            (Some(text), _) => SecretBytes::new(text.as_bytes().to_vec()),
            (None, Some(bytes)) => SecretBytes::new(bytes.0.clone()),
            (None, None) => SecretBytes::default(),
        }
    }
}

/// What is signed: a SHA-256 digest, or a message the CLI hashes.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct DigestArg {
    /// The SHA-256 digest, as base64.
    #[arg(long, value_name = "BASE64", value_parser = args::base64)]
    digest: Option<args::Bytes>,
    /// A message, as text; the CLI computes its SHA-256 digest.
    #[arg(long, value_name = "TEXT")]
    message: Option<String>,
    /// A file; the CLI computes its SHA-256 digest.
    #[arg(long, value_name = "PATH")]
    message_file: Option<PathBuf>,
}

impl DigestArg {
    /// The digest (reading the file if one was given).
    pub fn digest(&self) -> Result<Vec<u8>, std::io::Error> {
        Ok(match (&self.digest, &self.message, &self.message_file) {
            (Some(digest), _, _) => digest.0.clone(),
            (None, Some(text), _) => Sha256::digest(text.as_bytes()).to_vec(),
            (None, None, Some(path)) => Sha256::digest(std::fs::read(path)?).to_vec(),
            (None, None, None) => Vec::new(),
        })
    }
}

/// A data key's size: by name or in bytes.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct DataKeySize {
    /// AES_256 (the default) or AES_128.
    #[arg(long, value_name = "SPEC", ignore_case = true, value_parser = named_value(DataKeySpec::ALL, DataKeySpec::as_str))]
    key_spec: Option<DataKeySpec>,
    /// 1 to 1024 bytes.
    #[arg(long, value_name = "N")]
    number_of_bytes: Option<u32>,
}

/// The cryptographic operations.
#[derive(Debug, Subcommand)]
pub enum CryptoCommand {
    /// Encrypts with a symmetric key's primary version (Encrypt).
    Encrypt {
        /// Key id or alias.
        #[arg(long, value_name = "KEY")]
        key_id: String,
        #[command(flatten)]
        plaintext: PlaintextArg,
        /// A JSON object of strings bound to the ciphertext.
        #[arg(long, value_name = "JSON", value_parser = args::context)]
        encryption_context: Option<EncryptionContext>,
    },
    /// Decrypts a ciphertext blob; the blob names its key and version (Decrypt).
    Decrypt {
        /// The blob, as base64.
        #[arg(long, value_name = "BASE64", value_parser = args::base64)]
        ciphertext_blob: args::Bytes,
        /// The context it was encrypted with.
        #[arg(long, value_name = "JSON", value_parser = args::context)]
        encryption_context: Option<EncryptionContext>,
    },
    /// Decrypts a blob and encrypts it under a primary version (ReEncrypt).
    ReEncrypt {
        /// The blob, as base64.
        #[arg(long, value_name = "BASE64", value_parser = args::base64)]
        ciphertext_blob: args::Bytes,
        /// Key to encrypt with; the blob's own key when absent.
        #[arg(long, value_name = "KEY")]
        destination_key_id: Option<String>,
        /// The context the blob was made with.
        #[arg(long, value_name = "JSON", value_parser = args::context)]
        source_encryption_context: Option<EncryptionContext>,
        /// The context to bind to the new blob.
        #[arg(long, value_name = "JSON", value_parser = args::context)]
        destination_encryption_context: Option<EncryptionContext>,
    },
    /// Makes a data key, returned in clear and encrypted (GenerateDataKey).
    GenerateDataKey {
        /// Key id or alias.
        #[arg(long, value_name = "KEY")]
        key_id: String,
        #[command(flatten)]
        size: DataKeySize,
        /// A JSON object of strings bound to the encrypted data key.
        #[arg(long, value_name = "JSON", value_parser = args::context)]
        encryption_context: Option<EncryptionContext>,
    },
    /// Makes a data key, returned encrypted only (GenerateDataKeyWithoutPlaintext).
    GenerateDataKeyWithoutPlaintext {
        /// Key id or alias.
        #[arg(long, value_name = "KEY")]
        key_id: String,
        #[command(flatten)]
        size: DataKeySize,
        /// A JSON object of strings bound to the encrypted data key.
        #[arg(long, value_name = "JSON", value_parser = args::context)]
        encryption_context: Option<EncryptionContext>,
    },
    /// Signs a SHA-256 digest with an asymmetric key version (AsymmetricSign).
    Sign {
        /// Key id or alias.
        #[arg(long, value_name = "KEY")]
        key_id: String,
        /// The version to sign with.
        #[arg(long, value_name = "VERSION")]
        key_version_id: String,
        /// Signature algorithm.
        #[arg(long, value_name = "ALGORITHM", ignore_case = true, value_parser = named_value(SigningAlgorithm::ALL, SigningAlgorithm::as_str))]
        algorithm: SigningAlgorithm,
        #[command(flatten)]
        digest: DigestArg,
    },
    /// Checks a signature (AsymmetricVerify); exits 4 when it is not valid.
    Verify {
        /// Key id or alias.
        #[arg(long, value_name = "KEY")]
        key_id: String,
        /// The version that signed.
        #[arg(long, value_name = "VERSION")]
        key_version_id: String,
        /// Signature algorithm.
        #[arg(long, value_name = "ALGORITHM", ignore_case = true, value_parser = named_value(SigningAlgorithm::ALL, SigningAlgorithm::as_str))]
        algorithm: SigningAlgorithm,
        #[command(flatten)]
        digest: DigestArg,
        /// The signature, as base64.
        #[arg(long, value_name = "BASE64", value_parser = args::base64)]
        value: args::Bytes,
    },
    /// Encrypts with an RSA key version's public key (AsymmetricEncrypt).
    AsymmetricEncrypt {
        /// Key id or alias.
        #[arg(long, value_name = "KEY")]
        key_id: String,
        /// The version.
        #[arg(long, value_name = "VERSION")]
        key_version_id: String,
        /// Encryption algorithm.
        #[arg(long, value_name = "ALGORITHM", ignore_case = true, value_parser = named_value(AsymmetricAlgorithm::ALL, AsymmetricAlgorithm::as_str))]
        algorithm: AsymmetricAlgorithm,
        #[command(flatten)]
        plaintext: PlaintextArg,
    },
    /// Decrypts with an RSA key version's private key (AsymmetricDecrypt).
    AsymmetricDecrypt {
        /// Key id or alias.
        #[arg(long, value_name = "KEY")]
        key_id: String,
        /// The version.
        #[arg(long, value_name = "VERSION")]
        key_version_id: String,
        /// Encryption algorithm.
        #[arg(long, value_name = "ALGORITHM", ignore_case = true, value_parser = named_value(AsymmetricAlgorithm::ALL, AsymmetricAlgorithm::as_str))]
        algorithm: AsymmetricAlgorithm,
        /// The ciphertext, as base64.
        #[arg(long, value_name = "BASE64", value_parser = args::base64)]
        ciphertext_blob: args::Bytes,
    },
    /// Shows an asymmetric key version's public key in PEM (GetPublicKey).
    GetPublicKey {
        /// Key id or alias.
        #[arg(long, value_name = "KEY")]
        key_id: String,
        /// The version; the primary when absent.
        #[arg(long, value_name = "VERSION")]
        key_version_id: Option<String>,
    },
}

/// A command needs something read before it can be sent (a file to hash).
pub type RequestError = std::io::Error;

impl CryptoCommand {
    /// The admin request for this command.
    pub fn request(&self) -> Result<AdminRequest, RequestError> {
        let context = |c: &Option<EncryptionContext>| c.clone().unwrap_or_default();
        Ok(match self {
            Self::Encrypt { key_id, plaintext, encryption_context } => AdminRequest::Encrypt(EncryptRequest {
                key: key_id.clone(),
                plaintext: plaintext.bytes(),
                encryption_context: context(encryption_context),
            }),
            Self::Decrypt { ciphertext_blob, encryption_context } => AdminRequest::Decrypt(DecryptRequest {
                ciphertext_blob: ciphertext_blob.0.clone(),
                encryption_context: context(encryption_context),
            }),
            Self::ReEncrypt {
                ciphertext_blob,
                destination_key_id,
                source_encryption_context,
                destination_encryption_context,
            } => AdminRequest::ReEncrypt(ReEncryptRequest {
                ciphertext_blob: ciphertext_blob.0.clone(),
                destination_key: destination_key_id.clone(),
                source_encryption_context: context(source_encryption_context),
                destination_encryption_context: context(destination_encryption_context),
            }),
            Self::GenerateDataKey { key_id, size, encryption_context }
            | Self::GenerateDataKeyWithoutPlaintext { key_id, size, encryption_context } => {
                AdminRequest::GenerateDataKey(GenerateDataKeyRequest {
                    key: key_id.clone(),
                    key_spec: size.key_spec,
                    number_of_bytes: size.number_of_bytes,
                    encryption_context: context(encryption_context),
                    with_plaintext: matches!(self, Self::GenerateDataKey { .. }),
                })
            }
            Self::Sign { key_id, key_version_id, algorithm, digest } => AdminRequest::Sign(SignRequest {
                key: key_id.clone(),
                key_version_id: key_version_id.clone(),
                algorithm: *algorithm,
                digest: digest.digest()?,
            }),
            Self::Verify { key_id, key_version_id, algorithm, digest, value } => AdminRequest::Verify(VerifyRequest {
                key: key_id.clone(),
                key_version_id: key_version_id.clone(),
                algorithm: *algorithm,
                digest: digest.digest()?,
                value: value.0.clone(),
            }),
            Self::AsymmetricEncrypt { key_id, key_version_id, algorithm, plaintext } => {
                AdminRequest::AsymmetricEncrypt(AsymmetricEncryptRequest {
                    key: key_id.clone(),
                    key_version_id: key_version_id.clone(),
                    algorithm: *algorithm,
                    plaintext: plaintext.bytes(),
                })
            }
            Self::AsymmetricDecrypt { key_id, key_version_id, algorithm, ciphertext_blob } => {
                AdminRequest::AsymmetricDecrypt(AsymmetricDecryptRequest {
                    key: key_id.clone(),
                    key_version_id: key_version_id.clone(),
                    algorithm: *algorithm,
                    ciphertext_blob: ciphertext_blob.0.clone(),
                })
            }
            Self::GetPublicKey { key_id, key_version_id } => {
                AdminRequest::GetPublicKey { key: key_id.clone(), key_version_id: key_version_id.clone() }
            }
        })
    }

    /// The text to print for the reply.
    pub fn render(&self, reply: AdminReply, format: Format) -> Result<String, RenderError> {
        let blob = |key: &str, version: &str, blob: &[u8]| {
            Fields::new()
                .field("KeyId", key)
                .field("KeyVersionId", version)
                .field("CiphertextBlob", to_base64(blob))
                .render()
        };
        match reply {
            AdminReply::Encrypted(e) | AdminReply::AsymmetricEncrypted(e) => {
                Ok(output::show(format, &e, |e| blob(&e.key_id, &e.key_version_id, &e.ciphertext_blob))?)
            }
            AdminReply::Decrypted(d) | AdminReply::AsymmetricDecrypted(d) => Ok(output::show(format, &d, decrypted)?),
            AdminReply::ReEncrypted(r) => Ok(output::show(format, &r, |r| {
                Fields::new()
                    .field("SourceKeyId", &r.source_key_id)
                    .field("SourceKeyVersionId", &r.source_key_version_id)
                    .field("KeyId", &r.key_id)
                    .field("KeyVersionId", &r.key_version_id)
                    .field("CiphertextBlob", to_base64(&r.ciphertext_blob))
                    .render()
            })?),
            AdminReply::DataKey(k) => Ok(output::show(format, &k, |k| {
                let mut fields = Fields::new()
                    .field("KeyId", &k.key_id)
                    .field("KeyVersionId", &k.key_version_id)
                    .field("CiphertextBlob", to_base64(&k.ciphertext_blob));
                if let Some(plain) = &k.plaintext {
                    fields = fields.field("Plaintext", to_base64(plain.expose()));
                }
                fields.render()
            })?),
            AdminReply::Signature(s) => Ok(output::show(format, &s, |s| {
                Fields::new()
                    .field("KeyId", &s.key_id)
                    .field("KeyVersionId", &s.key_version_id)
                    .field("Value", to_base64(&s.value))
                    .render()
            })?),
            AdminReply::Verified(v) => Ok(output::show(format, &v, |v| {
                if v.value { "Valid signature.\n".to_owned() } else { "Invalid signature.\n".to_owned() }
            })?),
            AdminReply::PublicKey(p) => Ok(output::show(format, &p, |p| p.public_key.clone())?),
            other => Err(unexpected("cryptographic operation", &other)),
        }
    }

    /// The exit status a successful reply means: `verify` of an invalid
    /// signature answers, but exits 4.
    pub fn exit_status(reply: &AdminReply) -> u8 {
        match reply {
            AdminReply::Verified(v) if !v.value => EXIT_INVALID_SIGNATURE,
            _ => 0,
        }
    }
}

/// Decrypted plaintext for humans: as text when it is printable UTF-8.
fn decrypted(d: &Decrypted) -> String {
    let bytes = d.plaintext.expose();
    let fields = Fields::new().field("KeyId", &d.key_id).field("KeyVersionId", &d.key_version_id);
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
            fields.field("Plaintext", text).render()
        }
        _ => fields.field("Plaintext (base64)", to_base64(bytes)).render(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{command, refused};
    use super::*;
    use crate::commands::Command;

    fn crypto(args: &[&str]) -> CryptoCommand {
        match command(args) {
            Command::Crypto(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plaintext_is_text_or_base64_but_not_both() {
        let AdminRequest::Encrypt(r) =
            crypto(&["encrypt", "--key-id", "k", "--plaintext", "hi"]).request().expect("req")
        else {
            panic!()
        };
        assert_eq!(r.plaintext.expose(), b"hi");
        let AdminRequest::Encrypt(r) =
            crypto(&["encrypt", "--key-id", "k", "--plaintext-base64", "AAE="]).request().expect("req")
        else {
            panic!()
        };
        assert_eq!(r.plaintext.expose(), &[0, 1]);
        refused(&["encrypt", "--key-id", "k"]);
        refused(&["encrypt", "--key-id", "k", "--plaintext", "a", "--plaintext-base64", "AA=="]);
        let err = refused(&["encrypt", "--key-id", "k", "--plaintext", "a", "--encryption-context", "[1]"]);
        assert!(err.to_string().contains("encryption context"), "{err}");
    }

    #[test]
    fn messages_are_hashed_to_sha256() {
        let cmd = crypto(&[
            "sign",
            "--key-id",
            "k",
            "--key-version-id",
            "v",
            "--algorithm",
            "ECDSA_SHA_256",
            "--message",
            "abc",
        ]);
        let AdminRequest::Sign(r) = cmd.request().expect("req") else { panic!() };
        assert_eq!(
            p11kms_proto::bytes::to_base64(&r.digest),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
            "SHA-256 of 'abc'"
        );
        let err = refused(&["sign", "--key-id", "k", "--key-version-id", "v", "--algorithm", "DSA", "--message", "x"]);
        assert!(err.to_string().contains("ECDSA_SHA_256"), "lists the valid values: {err}");
    }

    #[test]
    fn data_key_sizes_are_exclusive_and_optional() {
        let AdminRequest::GenerateDataKey(r) =
            crypto(&["generate-data-key-without-plaintext", "--key-id", "k"]).request().expect("req")
        else {
            panic!()
        };
        assert!(!r.with_plaintext && r.key_spec.is_none() && r.number_of_bytes.is_none());
        refused(&["generate-data-key", "--key-id", "k", "--key-spec", "AES_128", "--number-of-bytes", "8"]);
    }

    #[test]
    fn an_invalid_signature_exits_4() {
        let verified = |value| {
            AdminReply::Verified(p11kms_proto::admin::Verified {
                key_id: "k".into(),
                key_version_id: "v".into(),
                value,
            })
        };
        assert_eq!(CryptoCommand::exit_status(&verified(true)), 0);
        assert_eq!(CryptoCommand::exit_status(&verified(false)), EXIT_INVALID_SIGNATURE);
    }

    #[test]
    fn plaintext_prints_as_text_only_when_it_is_text() {
        let d = |bytes: &[u8]| Decrypted {
            key_id: "k".into(),
            key_version_id: "v".into(),
            plaintext: SecretBytes::new(bytes.to_vec()),
        };
        assert!(
            decrypted(&d(b"hello")).contains("Plaintext:          hello") || decrypted(&d(b"hello")).contains("hello")
        );
        assert!(decrypted(&d(&[0, 159, 255])).contains("Plaintext (base64)"));
    }
}
