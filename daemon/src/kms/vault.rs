//! The vault: the HSM side of the KMS, as its operations see it. Key
//! material lives in a vault, is created, used and destroyed there, and
//! never comes out in clear; the KMS model (keys, versions, states, blobs)
//! lives in the store and registry and asks the vault for every operation
//! on material.
//!
//! The daemon's vault is `clusters::RoutedVault`: for an instance's
//! cluster, `clusters::HsmVault` (every version an object on each member
//! of an HSM cluster, with failover and replication); for the `default`
//! instance ([`SOFTWARE_CLUSTER`]), [`software::SoftwareVault`] (material
//! held by the daemon, sealed under its root key). Unit tests use
//! [`memory::MemoryVault`], which keeps material in memory and does the
//! same cryptography in software ([`material`]), so the KMS rules (states,
//! rotation, deletion windows, quotas, import, envelopes, migration) are
//! tested without an HSM.
//!
//! Every method names the cluster that holds the version (an instance's
//! cluster) and the version by its 16-byte id. Refusals that are answers
//! (a tag that does not authenticate, a signature that is not valid, a
//! ciphertext that does not decrypt) are `Ok(None)` or `Ok(false)`, so the
//! KMS can say what they mean; `Err` is a fault of the vault.

pub mod material;
#[cfg(test)]
pub mod memory;
pub mod software;

use p11kms_proto::SecretBytes;
use p11kms_proto::admin::{AsymmetricAlgorithm, WrappingAlgorithm};

use super::Kms;
use super::error::KmsError;
pub use super::placement::SOFTWARE_CLUSTER;
use crate::hsm::{PublicKey, VersionName};
use crate::store::IntentPurpose;

/// Which way [`Vault::rewrap`] moves backed-up material.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rewrap {
    /// From the backup root key to a file's key (a download).
    Export,
    /// From a file's key to the backup root key (an upload).
    Import,
}

/// A 16-byte key version id, as the vault names a version.
pub type VersionId = [u8; 16];

/// An application's session key that is to become a key version
/// ([`Vault::adopt_session_key`]): an HSM object the daemon generated for
/// it on `member` and never let out.
#[derive(Clone, Copy, Debug)]
pub struct SessionMaterial<'a> {
    /// The member holding it.
    pub member: &'a std::sync::Arc<crate::hsm::Member>,
    /// Its handle there: the secret key, or the private half of a pair.
    pub handle: cryptoki::object::ObjectHandle,
    /// The public half of a pair.
    pub public: Option<&'a PublicKey>,
}

/// Bytes of an AES-GCM IV.
pub const GCM_IV_LEN: usize = 12;

/// What destroying the leftovers of an unacknowledged creation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// Objects destroyed.
    pub destroyed: usize,
    /// Members that could not be cleared (they did not answer, or refused).
    pub unreached: usize,
}

/// How `sign` and `verify` use an asymmetric version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignScheme {
    /// RSASSA-PKCS1-v1_5 over a DigestInfo the caller built (`CKM_RSA_PKCS`).
    RsaPkcs1,
    /// RSASSA-PSS over a SHA-256 digest, MGF1-SHA-256, 32-byte salt.
    RsaPssSha256,
    /// ECDSA over a digest; the signature is raw `r || s`.
    Ecdsa,
}

/// The public half of an RSA key pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaPublic {
    /// Big-endian modulus.
    pub modulus: Vec<u8>,
    /// Big-endian public exponent.
    pub exponent: Vec<u8>,
}

/// Where key material lives. See the module documentation.
pub trait Vault: Send + Sync + std::fmt::Debug {
    /// True when `cluster` is loaded and can hold key versions.
    fn serves(&self, cluster: &str) -> bool;

    /// Creates version `v` (its spec and usage say what) in `cluster`;
    /// returns the public half of an asymmetric version. `kms` lets a
    /// vault record what a failover changed.
    fn create_version(&self, kms: &Kms, cluster: &str, v: &VersionName) -> Result<Option<PublicKey>, KmsError>;

    /// Makes version `v` of `cluster` from an application's session key
    /// (`C_CopyObject` to the token): copied into the version's objects
    /// inside the member that holds it, which must be the cluster's
    /// primary, then replicated as every version is. On failure nothing of
    /// the version is left. Only HSM clusters hold session keys.
    fn adopt_session_key(&self, cluster: &str, v: &VersionName, key: SessionMaterial<'_>) -> Result<(), KmsError> {
        let _ = (v, key);
        Err(KmsError::Unsupported(format!("cluster '{cluster}' holds no session keys")))
    }

    /// Destroys version `v` everywhere; returns how many of its objects
    /// could not be destroyed (0 when it is gone, also when it never was).
    fn destroy_version(&self, cluster: &str, v: &VersionName) -> Result<usize, KmsError>;

    /// AES-GCM encryption with a symmetric version, 128-bit tag appended.
    fn seal(
        &self,
        cluster: &str,
        id: &VersionId,
        iv: &[u8; GCM_IV_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError>;

    /// AES-GCM decryption; `None` when the ciphertext, IV or additional
    /// data do not authenticate.
    fn open(
        &self,
        cluster: &str,
        id: &VersionId,
        iv: &[u8; GCM_IV_LEN],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Option<SecretBytes>, KmsError>;

    /// Random bytes from the vault's generator.
    fn random(&self, cluster: &str, len: usize) -> Result<SecretBytes, KmsError>;

    /// Signs `input` (see [`SignScheme`]) with an asymmetric version.
    fn sign(&self, cluster: &str, id: &VersionId, scheme: SignScheme, input: &[u8]) -> Result<Vec<u8>, KmsError>;

    /// Checks a signature; `false` when it is not valid.
    fn verify(
        &self,
        cluster: &str,
        id: &VersionId,
        scheme: SignScheme,
        input: &[u8],
        signature: &[u8],
    ) -> Result<bool, KmsError>;

    /// RSA-OAEP encryption with an RSA version's public half.
    fn rsa_encrypt(
        &self,
        cluster: &str,
        id: &VersionId,
        algorithm: AsymmetricAlgorithm,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError>;

    /// RSA-OAEP decryption; `None` when the ciphertext does not decrypt.
    fn rsa_decrypt(
        &self,
        cluster: &str,
        id: &VersionId,
        algorithm: AsymmetricAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Option<SecretBytes>, KmsError>;

    /// Creates an RSA-2048 key pair for one import token (`wrapping` names
    /// it; `label` is for people looking at the HSM); returns its public
    /// half.
    fn create_wrapping_key(&self, cluster: &str, wrapping: &VersionId, label: &str) -> Result<RsaPublic, KmsError>;

    /// Destroys an import token's key pair (used or expired).
    fn destroy_wrapping_key(&self, cluster: &str, wrapping: &VersionId) -> Result<(), KmsError>;

    /// Unwraps imported material (it must be 256 bits) into version
    /// `target`, on the member that takes writes only; returns its check
    /// value: the AES encryption of a fixed block under it, computed
    /// where the material is. The caller replicates or destroys it.
    /// Material that does not unwrap or has another size is
    /// [`KmsError::MaterialRefused`]; nothing of it is left then.
    fn import_material(
        &self,
        cluster: &str,
        wrapping: &VersionId,
        algorithm: WrappingAlgorithm,
        wrapped: &[u8],
        target: &VersionName,
    ) -> Result<Vec<u8>, KmsError>;

    /// Copies an imported version to the rest of its cluster.
    fn replicate(&self, cluster: &str, v: &VersionName) -> Result<(), KmsError>;

    /// Copies version `v` of cluster `from` into every member of cluster
    /// `to` (a key migrating between instances), without its material
    /// appearing in clear outside the daemon and the HSMs; `public` is its
    /// public half as the store keeps it. On failure nothing of it is
    /// left in `to` that `destroy_version` would not remove.
    fn copy_version(&self, from: &str, to: &str, v: &VersionName, public: Option<&PublicKey>) -> Result<(), KmsError>;

    /// Version `v`'s secret part wrapped under the backup root key, where
    /// it is (inside an HSM), for an instance backup.
    fn wrap_for_backup(&self, cluster: &str, v: &VersionName) -> Result<Vec<u8>, KmsError>;

    /// Installs version `v` into every member of `cluster` from `wrapped`
    /// ([`Vault::wrap_for_backup`]'s), with its public half `public`
    /// (checked to match, inside the HSM). A blob that does not unwrap, or
    /// a pair that does not match, is [`KmsError::MaterialRefused`];
    /// nothing of it is left then.
    fn install_from_backup(
        &self,
        cluster: &str,
        v: &VersionName,
        wrapped: &[u8],
        public: Option<&PublicKey>,
    ) -> Result<(), KmsError>;

    /// Version `v`'s material `wrapped` under the backup root key
    /// ([`Vault::wrap_for_backup`]'s) wrapped under `file_key` instead
    /// ([`Rewrap::Export`], a backup data file's download), or back
    /// ([`Rewrap::Import`], an upload, for [`Vault::install_from_backup`]),
    /// inside an HSM of `cluster`. A blob that does not unwrap is
    /// [`KmsError::MaterialRefused`].
    fn rewrap(
        &self,
        cluster: &str,
        direction: Rewrap,
        v: &VersionName,
        wrapped: &[u8],
        file_key: &[u8; 32],
    ) -> Result<Vec<u8>, KmsError>;

    /// Version `v`'s material `wrapped` under a one-time AES key that
    /// comes wrapped for the RSA wrapping key pair `wrapping` of `cluster`
    /// (`transport_key`, RSA-OAEP with SHA-1: another daemon's restore),
    /// wrapped under this daemon's backup root key instead, for
    /// [`Vault::install_from_backup`]. Both unwraps happen inside the HSM
    /// that holds the pair. A blob or a one-time key that does not unwrap
    /// is [`KmsError::MaterialRefused`].
    fn rewrap_from_transport(
        &self,
        cluster: &str,
        wrapping: &VersionId,
        transport_key: &[u8],
        v: &VersionName,
        wrapped: &[u8],
    ) -> Result<Vec<u8>, KmsError>;

    /// Destroys whatever a creation announced by an intent (`purpose`,
    /// `id`) may have left in `cluster`: every object made under that id,
    /// of any role, on every member.
    fn destroy_leftovers(&self, cluster: &str, purpose: IntentPurpose, id: &VersionId) -> Result<Leftovers, KmsError>;
}
