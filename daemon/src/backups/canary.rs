//! Canaries: for each key version a software instance's backup carries,
//! an operation made with the real version when it was first backed up
//! (an AES-GCM ciphertext, a signature, an RSA-OAEP ciphertext of a known
//! message), which a restore drill (`drill`) checks against the material
//! restored from the backup: the backup can restore exactly that key.
//!
//! The message is derived from the version id, and an AES canary's IV
//! too, so a symmetric canary is the same whenever it is made; signatures
//! are randomized, so an asymmetric one is made once per version (cached
//! with the material) and again only after a restart.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use p11kms_proto::admin::{AsymmetricAlgorithm, KeyUsage};

use crate::hsm::VersionName;
use crate::kms::vault::{GCM_IV_LEN, SignScheme, VersionId};
use crate::kms::{Kms, KmsError};

/// What was done with the version, to be done again with the restored one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Check {
    /// AES-GCM of the message under the IV, additional data [`AAD`].
    Seal {
        /// The IV.
        #[serde(with = "p11kms_proto::bytes")]
        iv: Vec<u8>,
        /// The ciphertext with its tag.
        #[serde(with = "p11kms_proto::bytes")]
        ciphertext: Vec<u8>,
    },
    /// A signature of the message as a digest (ECDSA, or RSA-PSS SHA-256).
    Signature {
        /// ECDSA when true, RSA-PSS otherwise.
        ecdsa: bool,
        /// The signature.
        #[serde(with = "p11kms_proto::bytes")]
        signature: Vec<u8>,
    },
    /// RSA-OAEP (SHA-256) of the message.
    Oaep {
        /// The ciphertext.
        #[serde(with = "p11kms_proto::bytes")]
        ciphertext: Vec<u8>,
    },
}

/// A version's canary.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CanarySnapshot {
    /// Its key.
    pub key_id: String,
    /// The version.
    pub version_id: String,
    /// What was done.
    pub check: Check,
}

/// Additional data of an AES canary.
const AAD: &[u8] = b"p11kms backup drill canary";

fn message(version_id: &str) -> [u8; 32] {
    Sha256::new().chain_update(b"p11kms canary message ").chain_update(version_id).finalize().into()
}

fn iv(version_id: &str) -> [u8; GCM_IV_LEN] {
    let digest: [u8; 32] = Sha256::new().chain_update(b"p11kms canary iv ").chain_update(version_id).finalize().into();
    let mut iv = [0u8; GCM_IV_LEN];
    iv.copy_from_slice(&digest[..GCM_IV_LEN]);
    iv
}

/// Makes the canary of version `v` (`version_id`) of `key_id` in `cluster`.
pub fn make(
    kms: &Kms,
    cluster: &str,
    key_id: &str,
    version_id: &str,
    v: &VersionName,
) -> Result<CanarySnapshot, KmsError> {
    let msg = message(version_id);
    let check = if v.spec.is_symmetric() {
        let iv = iv(version_id);
        Check::Seal { iv: iv.to_vec(), ciphertext: kms.vault.seal(cluster, &v.id, &iv, AAD, &msg)? }
    } else if v.usage == KeyUsage::EncryptDecrypt {
        Check::Oaep { ciphertext: kms.vault.rsa_encrypt(cluster, &v.id, AsymmetricAlgorithm::RsaesOaepSha256, &msg)? }
    } else {
        let ecdsa = !matches!(v.spec, p11kms_proto::admin::KeySpec::Rsa2048 | p11kms_proto::admin::KeySpec::Rsa3072);
        let scheme = if ecdsa { SignScheme::Ecdsa } else { SignScheme::RsaPssSha256 };
        Check::Signature { ecdsa, signature: kms.vault.sign(cluster, &v.id, scheme, &msg)? }
    };
    Ok(CanarySnapshot { key_id: key_id.to_owned(), version_id: version_id.to_owned(), check })
}

/// True when the version restored as `restored` in `cluster` answers the
/// canary as the original did.
pub fn holds(kms: &Kms, cluster: &str, restored: &VersionId, canary: &CanarySnapshot) -> Result<bool, KmsError> {
    let msg = message(&canary.version_id);
    Ok(match &canary.check {
        Check::Seal { iv, ciphertext } => {
            let iv: [u8; GCM_IV_LEN] = iv.as_slice().try_into().map_err(|_| KmsError::Internal("canary IV".into()))?;
            kms.vault.open(cluster, restored, &iv, AAD, ciphertext)?.is_some_and(|p| p.expose() == msg)
        }
        Check::Signature { ecdsa, signature } => {
            let scheme = if *ecdsa { SignScheme::Ecdsa } else { SignScheme::RsaPssSha256 };
            kms.vault.verify(cluster, restored, scheme, &msg, signature)?
        }
        Check::Oaep { ciphertext } => kms
            .vault
            .rsa_decrypt(cluster, restored, AsymmetricAlgorithm::RsaesOaepSha256, ciphertext)?
            .is_some_and(|p| p.expose() == msg),
    })
}
