//! The cryptographic operations, top-level as the API names them:
//! `p11kms encrypt | decrypt | re-encrypt | generate-data-key |
//! generate-data-key-without-plaintext | sign | verify |
//! asymmetric-encrypt | asymmetric-decrypt | get-public-key`.
//! Byte values go in as base64 (or text where the API takes text) and come
//! out as base64 in `--json`, as the API shows them. `verify` of a
//! signature that is not valid prints its answer and exits 4.

use std::fs::File;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use sha2::{Digest, Sha256};

use p11kms_proto::SecretBytes;
use p11kms_proto::admin::{
    AdminReply, AdminRequest, AsymmetricAlgorithm, AsymmetricDecryptRequest, AsymmetricEncryptRequest, DataKey,
    DataKeySpec, DecryptRequest, Decrypted, EncryptRequest, Encrypted, GenerateDataKeyRequest, ReEncryptRequest,
    ReEncrypted, SignRequest, Signature, SigningAlgorithm, VerifyRequest,
};
use p11kms_proto::blob::EncryptionContext;
use p11kms_proto::bytes::to_base64;

use super::{RenderError, RequestError, args, named_value, unexpected};
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
    /// The digest (hashing the file, as it is read, if one was given).
    pub fn digest(&self) -> Result<Vec<u8>, RequestError> {
        Ok(match (&self.digest, &self.message, &self.message_file) {
            (Some(digest), _, _) => digest.0.clone(),
            (None, Some(text), _) => Sha256::digest(text.as_bytes()).to_vec(),
            (None, None, Some(path)) => {
                let read = |source| RequestError::Read { path: path.clone(), source };
                let mut hasher = Sha256::new();
                std::io::copy(&mut File::open(path).map_err(read)?, &mut hasher).map_err(read)?;
                hasher.finalize().to_vec()
            }
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

/// The key version and algorithm of `sign` and `verify`.
#[derive(Debug, Args)]
pub struct SigningKey {
    /// Key id or alias.
    #[arg(long, value_name = "KEY")]
    key_id: String,
    /// The key version.
    #[arg(long, value_name = "VERSION")]
    key_version_id: String,
    /// Signature algorithm.
    #[arg(long, value_name = "ALGORITHM", ignore_case = true, value_parser = named_value(SigningAlgorithm::ALL, SigningAlgorithm::as_str))]
    algorithm: SigningAlgorithm,
}

/// The key version and algorithm of `asymmetric-encrypt` and `-decrypt`.
#[derive(Debug, Args)]
pub struct EncryptingKey {
    /// Key id or alias.
    #[arg(long, value_name = "KEY")]
    key_id: String,
    /// The key version.
    #[arg(long, value_name = "VERSION")]
    key_version_id: String,
    /// Encryption algorithm.
    #[arg(long, value_name = "ALGORITHM", ignore_case = true, value_parser = named_value(AsymmetricAlgorithm::ALL, AsymmetricAlgorithm::as_str))]
    algorithm: AsymmetricAlgorithm,
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
        #[command(flatten)]
        key: SigningKey,
        #[command(flatten)]
        digest: DigestArg,
    },
    /// Checks a signature (AsymmetricVerify); exits 4 when it is not valid.
    Verify {
        #[command(flatten)]
        key: SigningKey,
        #[command(flatten)]
        digest: DigestArg,
        /// The signature, as base64.
        #[arg(long, value_name = "BASE64", value_parser = args::base64)]
        value: args::Bytes,
    },
    /// Encrypts with an RSA key version's public key (AsymmetricEncrypt).
    AsymmetricEncrypt {
        #[command(flatten)]
        key: EncryptingKey,
        #[command(flatten)]
        plaintext: PlaintextArg,
    },
    /// Decrypts with an RSA key version's private key (AsymmetricDecrypt).
    AsymmetricDecrypt {
        #[command(flatten)]
        key: EncryptingKey,
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
            Self::Sign { key, digest } => AdminRequest::Sign(SignRequest {
                key: key.key_id.clone(),
                key_version_id: key.key_version_id.clone(),
                algorithm: key.algorithm,
                digest: digest.digest()?,
            }),
            Self::Verify { key, digest, value } => AdminRequest::Verify(VerifyRequest {
                key: key.key_id.clone(),
                key_version_id: key.key_version_id.clone(),
                algorithm: key.algorithm,
                digest: digest.digest()?,
                value: value.0.clone(),
            }),
            Self::AsymmetricEncrypt { key, plaintext } => AdminRequest::AsymmetricEncrypt(AsymmetricEncryptRequest {
                key: key.key_id.clone(),
                key_version_id: key.key_version_id.clone(),
                algorithm: key.algorithm,
                plaintext: plaintext.bytes(),
            }),
            Self::AsymmetricDecrypt { key, ciphertext_blob } => {
                AdminRequest::AsymmetricDecrypt(AsymmetricDecryptRequest {
                    key: key.key_id.clone(),
                    key_version_id: key.key_version_id.clone(),
                    algorithm: key.algorithm,
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
        match (self, reply) {
            (Self::Encrypt { .. }, AdminReply::Encrypted(e))
            | (Self::AsymmetricEncrypt { .. }, AdminReply::AsymmetricEncrypted(e)) => {
                Ok(output::show(format, &e, encrypted)?)
            }
            (Self::Decrypt { .. }, AdminReply::Decrypted(d))
            | (Self::AsymmetricDecrypt { .. }, AdminReply::AsymmetricDecrypted(d)) => {
                Ok(output::show(format, &d, decrypted)?)
            }
            (Self::ReEncrypt { .. }, AdminReply::ReEncrypted(r)) => Ok(output::show(format, &r, reencrypted)?),
            (Self::GenerateDataKey { .. } | Self::GenerateDataKeyWithoutPlaintext { .. }, AdminReply::DataKey(k)) => {
                Ok(data_key(format, &k)?)
            }
            (Self::Sign { .. }, AdminReply::Signature(s)) => Ok(output::show(format, &s, signature)?),
            (Self::Verify { .. }, AdminReply::Verified(v)) => Ok(output::show(format, &v, |v| {
                if v.value { "Valid signature.\n".to_owned() } else { "Invalid signature.\n".to_owned() }
            })?),
            (Self::GetPublicKey { .. }, AdminReply::PublicKey(p)) => {
                Ok(output::show(format, &p, |p| output::block(&p.public_key))?)
            }
            (command, other) => Err(unexpected(command.operation(), &other)),
        }
    }

    /// The exit status a successful reply means: `verify` of a signature
    /// that is not valid answers, but exits 4.
    pub fn exit_status(&self, reply: &AdminReply) -> u8 {
        match (self, reply) {
            (Self::Verify { .. }, AdminReply::Verified(v)) if !v.value => EXIT_INVALID_SIGNATURE,
            _ => 0,
        }
    }

    fn operation(&self) -> &'static str {
        match self {
            Self::Encrypt { .. } => "encrypt",
            Self::Decrypt { .. } => "decrypt",
            Self::ReEncrypt { .. } => "re-encrypt",
            Self::GenerateDataKey { .. } => "generate-data-key",
            Self::GenerateDataKeyWithoutPlaintext { .. } => "generate-data-key-without-plaintext",
            Self::Sign { .. } => "sign",
            Self::Verify { .. } => "verify",
            Self::AsymmetricEncrypt { .. } => "asymmetric-encrypt",
            Self::AsymmetricDecrypt { .. } => "asymmetric-decrypt",
            Self::GetPublicKey { .. } => "get-public-key",
        }
    }
}

fn encrypted(e: &Encrypted) -> String {
    Fields::new()
        .field("KeyId", &e.key_id)
        .field("KeyVersionId", &e.key_version_id)
        .field("CiphertextBlob", to_base64(&e.ciphertext_blob))
        .render()
}

/// Decrypted plaintext for humans: as text when it is UTF-8 that prints as
/// it is (no control characters, no trailing blanks a line would hide),
/// else as base64 under another name.
fn decrypted(d: &Decrypted) -> String {
    let bytes = d.plaintext.expose();
    let fields = Fields::new().field("KeyId", &d.key_id).field("KeyVersionId", &d.key_version_id);
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(char::is_control) && text.trim_end() == text => {
            fields.field("Plaintext", text).render()
        }
        _ => fields.field("Plaintext (base64)", to_base64(bytes)).render(),
    }
}

fn reencrypted(r: &ReEncrypted) -> String {
    Fields::new()
        .field("SourceKeyId", &r.source_key_id)
        .field("SourceKeyVersionId", &r.source_key_version_id)
        .field("KeyId", &r.key_id)
        .field("KeyVersionId", &r.key_version_id)
        .field("CiphertextBlob", to_base64(&r.ciphertext_blob))
        .render()
}

/// A data key; in JSON without `Plaintext` when it has none, as the API's
/// GenerateDataKeyWithoutPlaintext answers.
fn data_key(format: Format, key: &DataKey) -> Result<String, serde_json::Error> {
    if format == Format::Json && key.plaintext.is_none() {
        let mut shape = serde_json::to_value(key)?;
        if let Some(fields) = shape.as_object_mut() {
            fields.remove("Plaintext");
        }
        return output::json(&shape);
    }
    output::show(format, key, |k| {
        let mut fields = Fields::new()
            .field("KeyId", &k.key_id)
            .field("KeyVersionId", &k.key_version_id)
            .field("CiphertextBlob", to_base64(&k.ciphertext_blob));
        if let Some(plain) = &k.plaintext {
            fields = fields.field("Plaintext", to_base64(plain.expose()));
        }
        fields.render()
    })
}

fn signature(s: &Signature) -> String {
    Fields::new()
        .field("KeyId", &s.key_id)
        .field("KeyVersionId", &s.key_version_id)
        .field("Value", to_base64(&s.value))
        .render()
}

#[cfg(test)]
mod tests {
    use p11kms_proto::admin::{PublicKeyInfo, Verified};
    use p11kms_proto::bytes::from_base64;

    use super::super::test_support::{TempDir, command, refused};
    use super::*;
    use crate::commands::Command;

    fn crypto(args: &[&str]) -> CryptoCommand {
        match command(args) {
            Command::Crypto(c) => c,
            other => panic!("{args:?} is not a cryptographic operation: {other:?}"),
        }
    }

    fn request(args: &[&str]) -> AdminRequest {
        crypto(args).request().expect("a request")
    }

    fn context(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// SHA-256 of "abc" (FIPS 180-2, appendix B.1).
    const SHA256_ABC: &str = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";

    fn human(args: &[&str], reply: AdminReply) -> String {
        crypto(args).render(reply, Format::Human).expect("renders")
    }

    fn json(args: &[&str], reply: AdminReply) -> serde_json::Value {
        serde_json::from_str(&crypto(args).render(reply, Format::Json).expect("renders")).expect("valid JSON")
    }

    #[test]
    fn encrypt_takes_text_or_base64_and_a_context() {
        assert_eq!(
            request(&[
                "encrypt",
                "--key-id",
                "alias/k",
                "--plaintext",
                "héllo",
                "--encryption-context",
                r#"{"a":"1"}"#
            ]),
            AdminRequest::Encrypt(EncryptRequest {
                key: "alias/k".into(),
                plaintext: SecretBytes::new("héllo".as_bytes().to_vec()),
                encryption_context: context(&[("a", "1")]),
            })
        );
        assert_eq!(
            request(&["encrypt", "--key-id", "k", "--plaintext-base64", "AAH/"]),
            AdminRequest::Encrypt(EncryptRequest {
                key: "k".into(),
                plaintext: SecretBytes::new(vec![0, 1, 255]),
                encryption_context: EncryptionContext::new(),
            })
        );
        refused(&["encrypt", "--key-id", "k"]);
        refused(&["encrypt", "--plaintext", "a"]);
        refused(&["encrypt", "--key-id", "k", "--plaintext", "a", "--plaintext-base64", "AA=="]);
        let err = refused(&["encrypt", "--key-id", "k", "--plaintext-base64", "%%%"]);
        assert!(err.to_string().contains("not valid base64"), "{err}");
    }

    #[test]
    fn a_context_must_be_a_json_object_of_strings() {
        for bad in ["[1]", r#"{"a":1}"#, "{", "a=b"] {
            let err = refused(&["encrypt", "--key-id", "k", "--plaintext", "a", "--encryption-context", bad]);
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
            assert!(err.to_string().contains("a JSON object of strings"), "{bad}: {err}");
        }
        refused(&["decrypt", "--ciphertext-blob", "AA==", "--encryption-context", "[]"]);
        refused(&["re-encrypt", "--ciphertext-blob", "AA==", "--destination-encryption-context", "{\"a\":null}"]);
    }

    #[test]
    fn decrypt_and_re_encrypt_parse_to_requests() {
        assert_eq!(
            request(&["decrypt", "--ciphertext-blob", "AQID", "--encryption-context", r#"{"b":"2"}"#]),
            AdminRequest::Decrypt(DecryptRequest {
                ciphertext_blob: vec![1, 2, 3],
                encryption_context: context(&[("b", "2")]),
            })
        );
        refused(&["decrypt"]);
        assert_eq!(
            request(&[
                "re-encrypt",
                "--ciphertext-blob",
                "AQID",
                "--destination-key-id",
                "alias/new",
                "--source-encryption-context",
                r#"{"s":"1"}"#,
                "--destination-encryption-context",
                r#"{"d":"2"}"#,
            ]),
            AdminRequest::ReEncrypt(ReEncryptRequest {
                ciphertext_blob: vec![1, 2, 3],
                destination_key: Some("alias/new".into()),
                source_encryption_context: context(&[("s", "1")]),
                destination_encryption_context: context(&[("d", "2")]),
            })
        );
        assert_eq!(
            request(&["re-encrypt", "--ciphertext-blob", "AQID"]),
            AdminRequest::ReEncrypt(ReEncryptRequest {
                ciphertext_blob: vec![1, 2, 3],
                destination_key: None,
                source_encryption_context: EncryptionContext::new(),
                destination_encryption_context: EncryptionContext::new(),
            })
        );
    }

    #[test]
    fn data_key_sizes_are_exclusive_and_optional() {
        let data_key = |args: &[&str]| match request(args) {
            AdminRequest::GenerateDataKey(r) => r,
            other => panic!("{other:?}"),
        };
        let r = data_key(&["generate-data-key", "--key-id", "k", "--encryption-context", r#"{"f":"a"}"#]);
        assert_eq!(
            r,
            GenerateDataKeyRequest {
                key: "k".into(),
                key_spec: None,
                number_of_bytes: None,
                encryption_context: context(&[("f", "a")]),
                with_plaintext: true,
            },
            "no size: the daemon's default (AES_256)"
        );
        let r = data_key(&["generate-data-key", "--key-id", "k", "--key-spec", "aes_128"]);
        assert_eq!((r.key_spec, r.number_of_bytes, r.with_plaintext), (Some(DataKeySpec::Aes128), None, true));
        let r = data_key(&["generate-data-key-without-plaintext", "--key-id", "k", "--number-of-bytes", "64"]);
        assert_eq!((r.key_spec, r.number_of_bytes, r.with_plaintext), (None, Some(64), false));
        refused(&["generate-data-key", "--key-id", "k", "--key-spec", "AES_128", "--number-of-bytes", "8"]);
        let err = refused(&["generate-data-key-without-plaintext", "--key-id", "k", "--key-spec", "AES_512"]);
        assert!(err.to_string().contains("AES_256") && err.to_string().contains("AES_128"), "{err}");
    }

    #[test]
    fn messages_are_hashed_to_sha256_by_the_cli() {
        let sign = |what: &[&str]| {
            let mut args = vec!["sign", "--key-id", "k", "--key-version-id", "v", "--algorithm", "ECDSA_SHA_256"];
            args.extend_from_slice(what);
            match request(&args) {
                AdminRequest::Sign(r) => r,
                other => panic!("{other:?}"),
            }
        };
        let r = sign(&["--message", "abc"]);
        assert_eq!(to_base64(&r.digest), SHA256_ABC);
        assert_eq!((r.key.as_str(), r.key_version_id.as_str(), r.algorithm), ("k", "v", SigningAlgorithm::EcdsaSha256));
        let dir = TempDir::new();
        let file = dir.path().join("message.txt");
        std::fs::write(&file, "abc").expect("writes");
        assert_eq!(to_base64(&sign(&["--message-file", file.to_str().expect("utf-8")]).digest), SHA256_ABC);
        assert_eq!(sign(&["--digest", SHA256_ABC]).digest, from_base64(SHA256_ABC).expect("b64"), "a digest as is");

        let missing = dir.path().join("absent.txt");
        let cmd = crypto(&[
            "sign",
            "--key-id",
            "k",
            "--key-version-id",
            "v",
            "--algorithm",
            "ECDSA_SHA_256",
            "--message-file",
            missing.to_str().expect("utf-8"),
        ]);
        let err = cmd.request().expect_err("no such file");
        assert!(matches!(&err, RequestError::Read { path, .. } if *path == missing), "{err:?}");
        assert!(err.to_string().starts_with(&format!("cannot read {}: ", missing.display())), "{err}");

        refused(&["sign", "--key-id", "k", "--key-version-id", "v", "--algorithm", "ECDSA_SHA_256"]);
        refused(&[
            "sign",
            "--key-id",
            "k",
            "--key-version-id",
            "v",
            "--algorithm",
            "ECDSA_SHA_256",
            "--message",
            "a",
            "--digest",
            SHA256_ABC,
        ]);
        refused(&["sign", "--key-id", "k", "--algorithm", "ECDSA_SHA_256", "--message", "a"]);
    }

    #[test]
    fn a_bad_algorithm_lists_the_valid_ones() {
        let err = refused(&["sign", "--key-id", "k", "--key-version-id", "v", "--algorithm", "DSA", "--message", "x"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        for algorithm in SigningAlgorithm::ALL {
            assert!(err.to_string().contains(algorithm.as_str()), "{algorithm} missing: {err}");
        }
        let err = refused(&[
            "asymmetric-encrypt",
            "--key-id",
            "k",
            "--key-version-id",
            "v",
            "--algorithm",
            "RSAES_PKCS1_V1_5",
            "--plaintext",
            "x",
        ]);
        for algorithm in AsymmetricAlgorithm::ALL {
            assert!(err.to_string().contains(algorithm.as_str()), "{algorithm} missing: {err}");
        }
    }

    #[test]
    fn verify_asymmetric_and_public_key_parse_to_requests() {
        assert_eq!(
            request(&[
                "verify",
                "--key-id",
                "k",
                "--key-version-id",
                "v",
                "--algorithm",
                "rsa_pss_sha_256",
                "--message",
                "abc",
                "--value",
                "CQk=",
            ]),
            AdminRequest::Verify(VerifyRequest {
                key: "k".into(),
                key_version_id: "v".into(),
                algorithm: SigningAlgorithm::RsaPssSha256,
                digest: from_base64(SHA256_ABC).expect("b64"),
                value: vec![9, 9],
            })
        );
        refused(&[
            "verify",
            "--key-id",
            "k",
            "--key-version-id",
            "v",
            "--algorithm",
            "ECDSA_SHA_256",
            "--message",
            "a",
        ]);
        assert_eq!(
            request(&[
                "asymmetric-encrypt",
                "--key-id",
                "k",
                "--key-version-id",
                "v",
                "--algorithm",
                "RSAES_OAEP_SHA_256",
                "--plaintext",
                "hi",
            ]),
            AdminRequest::AsymmetricEncrypt(AsymmetricEncryptRequest {
                key: "k".into(),
                key_version_id: "v".into(),
                algorithm: AsymmetricAlgorithm::RsaesOaepSha256,
                plaintext: SecretBytes::from("hi"),
            })
        );
        assert_eq!(
            request(&[
                "asymmetric-decrypt",
                "--key-id",
                "k",
                "--key-version-id",
                "v",
                "--algorithm",
                "RSAES_OAEP_SHA_1",
                "--ciphertext-blob",
                "BQU=",
            ]),
            AdminRequest::AsymmetricDecrypt(AsymmetricDecryptRequest {
                key: "k".into(),
                key_version_id: "v".into(),
                algorithm: AsymmetricAlgorithm::RsaesOaepSha1,
                ciphertext_blob: vec![5, 5],
            })
        );
        assert_eq!(
            request(&["get-public-key", "--key-id", "k"]),
            AdminRequest::GetPublicKey { key: "k".into(), key_version_id: None }
        );
        assert_eq!(
            request(&["get-public-key", "--key-id", "k", "--key-version-id", "v"]),
            AdminRequest::GetPublicKey { key: "k".into(), key_version_id: Some("v".into()) }
        );
        refused(&["get-public-key", "k"]);
    }

    fn encrypted_reply() -> Encrypted {
        Encrypted { key_id: "k".into(), key_version_id: "v".into(), ciphertext_blob: vec![1, 2] }
    }

    fn decrypted_reply(bytes: &[u8]) -> Decrypted {
        Decrypted { key_id: "k".into(), key_version_id: "v".into(), plaintext: SecretBytes::new(bytes.to_vec()) }
    }

    const ENCRYPT: &[&str] = &["encrypt", "--key-id", "k", "--plaintext", "x"];
    const DECRYPT: &[&str] = &["decrypt", "--ciphertext-blob", "AA=="];
    const ASYM_DECRYPT: &[&str] = &[
        "asymmetric-decrypt",
        "--key-id",
        "k",
        "--key-version-id",
        "v",
        "--algorithm",
        "RSAES_OAEP_SHA_1",
        "--ciphertext-blob",
        "AA==",
    ];
    const VERIFY: &[&str] = &[
        "verify",
        "--key-id",
        "k",
        "--key-version-id",
        "v",
        "--algorithm",
        "ECDSA_SHA_256",
        "--message",
        "m",
        "--value",
        "AA==",
    ];

    #[test]
    fn encrypted_replies_render() {
        assert_eq!(
            human(ENCRYPT, AdminReply::Encrypted(encrypted_reply())),
            "KeyId:          k\nKeyVersionId:   v\nCiphertextBlob: AQI=\n"
        );
        assert_eq!(
            json(ENCRYPT, AdminReply::Encrypted(encrypted_reply())),
            serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "CiphertextBlob": "AQI="})
        );
        let asym = &[
            "asymmetric-encrypt",
            "--key-id",
            "k",
            "--key-version-id",
            "v",
            "--algorithm",
            "RSAES_OAEP_SHA_1",
            "--plaintext",
            "x",
        ];
        assert!(human(asym, AdminReply::AsymmetricEncrypted(encrypted_reply())).ends_with("CiphertextBlob: AQI=\n"));
    }

    #[test]
    fn plaintext_prints_as_text_only_when_it_is_text() {
        assert_eq!(
            human(DECRYPT, AdminReply::Decrypted(decrypted_reply(b"order 42"))),
            "KeyId:        k\nKeyVersionId: v\nPlaintext:    order 42\n"
        );
        for binary in [&[0u8, 159, 255][..], b"two\nlines", b"tab\there", b"\x1b[2J", b"trailing "] {
            let text = human(DECRYPT, AdminReply::Decrypted(decrypted_reply(binary)));
            assert!(text.ends_with(&format!("Plaintext (base64): {}\n", to_base64(binary))), "{binary:?}: {text}");
            assert!(text.starts_with("KeyId:"), "{text}");
        }
        let text = human(ASYM_DECRYPT, AdminReply::AsymmetricDecrypted(decrypted_reply(b"hi")));
        assert!(text.ends_with("Plaintext:    hi\n"), "{text}");
    }

    #[test]
    fn decrypt_json_is_the_reply_with_base64_plaintext() {
        assert_eq!(
            json(DECRYPT, AdminReply::Decrypted(decrypted_reply(b"order 42"))),
            serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "Plaintext": "b3JkZXIgNDI="})
        );
        assert_eq!(
            json(ASYM_DECRYPT, AdminReply::AsymmetricDecrypted(decrypted_reply(&[0, 255])))["Plaintext"],
            "AP8="
        );
    }

    #[test]
    fn re_encrypted_renders() {
        let reply = || {
            AdminReply::ReEncrypted(ReEncrypted {
                source_key_id: "k1".into(),
                source_key_version_id: "v1".into(),
                key_id: "k2".into(),
                key_version_id: "v2".into(),
                ciphertext_blob: vec![7],
            })
        };
        let args = &["re-encrypt", "--ciphertext-blob", "AA=="];
        assert_eq!(
            human(args, reply()),
            "SourceKeyId:        k1\nSourceKeyVersionId: v1\nKeyId:              k2\nKeyVersionId:       v2\n\
             CiphertextBlob:     Bw==\n"
        );
        assert_eq!(
            json(args, reply()),
            serde_json::json!({
                "SourceKeyId": "k1", "SourceKeyVersionId": "v1", "KeyId": "k2", "KeyVersionId": "v2",
                "CiphertextBlob": "Bw=="
            })
        );
    }

    #[test]
    fn data_keys_render_with_and_without_plaintext() {
        let reply = |plaintext: Option<&[u8]>| {
            AdminReply::DataKey(DataKey {
                key_id: "k".into(),
                key_version_id: "v".into(),
                ciphertext_blob: vec![1],
                plaintext: plaintext.map(|p| SecretBytes::new(p.to_vec())),
            })
        };
        let with = &["generate-data-key", "--key-id", "k"];
        let without = &["generate-data-key-without-plaintext", "--key-id", "k"];
        assert_eq!(
            human(with, reply(Some(&[0, 1]))),
            "KeyId:          k\nKeyVersionId:   v\nCiphertextBlob: AQ==\nPlaintext:      AAE=\n"
        );
        assert_eq!(
            json(with, reply(Some(&[0, 1]))),
            serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "CiphertextBlob": "AQ==", "Plaintext": "AAE="})
        );
        assert!(!human(without, reply(None)).contains("Plaintext"));
        assert_eq!(
            json(without, reply(None)),
            serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "CiphertextBlob": "AQ=="}),
            "no Plaintext field at all, as GenerateDataKeyWithoutPlaintext answers"
        );
    }

    #[test]
    fn signatures_and_verdicts_render_and_an_invalid_one_exits_4() {
        let sign =
            &["sign", "--key-id", "k", "--key-version-id", "v", "--algorithm", "ECDSA_SHA_256", "--message", "m"];
        let signature =
            || AdminReply::Signature(Signature { key_id: "k".into(), key_version_id: "v".into(), value: vec![9, 9] });
        assert_eq!(human(sign, signature()), "KeyId:        k\nKeyVersionId: v\nValue:        CQk=\n");
        assert_eq!(json(sign, signature()), serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "Value": "CQk="}));

        let verified = |value| AdminReply::Verified(Verified { key_id: "k".into(), key_version_id: "v".into(), value });
        assert_eq!(human(VERIFY, verified(true)), "Valid signature.\n");
        assert_eq!(human(VERIFY, verified(false)), "Invalid signature.\n");
        assert_eq!(
            json(VERIFY, verified(false)),
            serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "Value": false})
        );
        assert_eq!(crypto(VERIFY).exit_status(&verified(true)), 0);
        assert_eq!(crypto(VERIFY).exit_status(&verified(false)), EXIT_INVALID_SIGNATURE);
        assert_eq!(command(VERIFY).exit_status(&verified(false)), 4, "through the top-level command too");
        assert_eq!(crypto(sign).exit_status(&verified(false)), 0, "only verify exits 4");
    }

    #[test]
    fn the_public_key_prints_as_pem() {
        let pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQ==\n-----END PUBLIC KEY-----\n";
        let reply = || {
            AdminReply::PublicKey(PublicKeyInfo {
                key_id: "k".into(),
                key_version_id: "v".into(),
                public_key: pem.into(),
            })
        };
        let args = &["get-public-key", "--key-id", "k"];
        assert_eq!(human(args, reply()), pem);
        assert_eq!(json(args, reply()), serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "PublicKey": pem}));
    }

    #[test]
    fn a_reply_of_another_operation_is_refused() {
        let err = crypto(ENCRYPT).render(AdminReply::AsymmetricEncrypted(encrypted_reply()), Format::Human);
        assert_eq!(
            err.expect_err("wrong reply").to_string(),
            "p11kmsd answered encrypt with a AsymmetricEncrypted reply"
        );
        assert!(crypto(VERIFY).render(AdminReply::Done, Format::Json).is_err());
        assert!(crypto(ASYM_DECRYPT).render(AdminReply::Decrypted(decrypted_reply(b"x")), Format::Human).is_err());
    }
}
