//! Arguments that several cryptographic operations share, flattened into
//! their commands: plaintext as text or base64, what is signed (a digest,
//! or a message the CLI hashes), a data key's size, and the key version
//! and algorithm of the asymmetric operations.

use std::fs::File;
use std::path::PathBuf;

use clap::Args;
use p11kms_proto::SecretBytes;
use p11kms_proto::admin::{AsymmetricAlgorithm, DataKeySpec, SigningAlgorithm};
use sha2::{Digest, Sha256};

use super::super::RequestError;
use super::super::values::{self, named_value};

/// Plaintext as text or base64.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct PlaintextArg {
    /// The plaintext, as text (its UTF-8 bytes).
    #[arg(long, value_name = "TEXT")]
    plaintext: Option<String>,
    /// The plaintext, as base64.
    #[arg(long, value_name = "BASE64", value_parser = values::base64)]
    plaintext_base64: Option<values::Bytes>,
}

impl PlaintextArg {
    /// The plaintext's bytes.
    pub fn bytes(&self) -> SecretBytes {
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
    #[arg(long, value_name = "BASE64", value_parser = values::base64)]
    digest: Option<values::Bytes>,
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
    pub key_spec: Option<DataKeySpec>,
    /// 1 to 1024 bytes.
    #[arg(long, value_name = "N")]
    pub number_of_bytes: Option<u32>,
}

/// The key version and algorithm of `sign` and `verify`.
#[derive(Debug, Args)]
pub struct SigningKey {
    /// Key id or alias.
    #[arg(long, value_name = "KEY")]
    pub key_id: String,
    /// The key version.
    #[arg(long, value_name = "VERSION")]
    pub key_version_id: String,
    /// Signature algorithm.
    #[arg(long, value_name = "ALGORITHM", ignore_case = true, value_parser = named_value(SigningAlgorithm::ALL, SigningAlgorithm::as_str))]
    pub algorithm: SigningAlgorithm,
}

/// The key version and algorithm of `asymmetric-encrypt` and `-decrypt`.
#[derive(Debug, Args)]
pub struct EncryptingKey {
    /// Key id or alias.
    #[arg(long, value_name = "KEY")]
    pub key_id: String,
    /// The key version.
    #[arg(long, value_name = "VERSION")]
    pub key_version_id: String,
    /// Encryption algorithm.
    #[arg(long, value_name = "ALGORITHM", ignore_case = true, value_parser = named_value(AsymmetricAlgorithm::ALL, AsymmetricAlgorithm::as_str))]
    pub algorithm: AsymmetricAlgorithm,
}
