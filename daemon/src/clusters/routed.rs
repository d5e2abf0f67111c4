//! The daemon's vault as the KMS sees it: every call goes to the vault
//! that holds its cluster, [`SoftwareVault`] for the `default` instance
//! ([`SOFTWARE_CLUSTER`]) and [`HsmVault`] for every loaded cluster; and
//! a version copied from the software vault into a cluster (a CMK
//! migration) travels wrapped for a transport key the HSM generated.

use std::sync::Arc;

use p11kms_proto::SecretBytes;
use p11kms_proto::admin::{AsymmetricAlgorithm, WrappingAlgorithm};

use super::vault::HsmVault;
use crate::hsm::{PublicKey, VersionName};
use crate::kms::vault::software::SoftwareVault;
use crate::kms::vault::{
    GCM_IV_LEN, Leftovers, Rewrap, RsaPublic, SOFTWARE_CLUSTER, SessionMaterial, SignScheme, Vault, VersionId,
};
use crate::kms::{Kms, KmsError};
use crate::store::IntentPurpose;

/// See the module documentation.
#[derive(Debug)]
pub struct RoutedVault {
    hsm: Arc<HsmVault>,
    software: Arc<SoftwareVault>,
}

impl RoutedVault {
    /// Routes between `hsm` and `software`.
    pub fn new(hsm: Arc<HsmVault>, software: Arc<SoftwareVault>) -> Self {
        Self { hsm, software }
    }

    fn to(&self, cluster: &str) -> &dyn Vault {
        if cluster == SOFTWARE_CLUSTER { &*self.software } else { &*self.hsm }
    }
}

impl Vault for RoutedVault {
    fn serves(&self, cluster: &str) -> bool {
        self.to(cluster).serves(cluster)
    }

    fn create_version(&self, kms: &Kms, cluster: &str, v: &VersionName) -> Result<Option<PublicKey>, KmsError> {
        self.to(cluster).create_version(kms, cluster, v)
    }

    fn adopt_session_key(&self, cluster: &str, v: &VersionName, key: SessionMaterial<'_>) -> Result<(), KmsError> {
        self.to(cluster).adopt_session_key(cluster, v, key)
    }

    fn destroy_version(&self, cluster: &str, v: &VersionName) -> Result<usize, KmsError> {
        self.to(cluster).destroy_version(cluster, v)
    }

    fn seal(
        &self,
        cluster: &str,
        id: &VersionId,
        iv: &[u8; GCM_IV_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        self.to(cluster).seal(cluster, id, iv, aad, plaintext)
    }

    fn open(
        &self,
        cluster: &str,
        id: &VersionId,
        iv: &[u8; GCM_IV_LEN],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Option<SecretBytes>, KmsError> {
        self.to(cluster).open(cluster, id, iv, aad, ciphertext)
    }

    fn random(&self, cluster: &str, len: usize) -> Result<SecretBytes, KmsError> {
        self.to(cluster).random(cluster, len)
    }

    fn sign(&self, cluster: &str, id: &VersionId, scheme: SignScheme, input: &[u8]) -> Result<Vec<u8>, KmsError> {
        self.to(cluster).sign(cluster, id, scheme, input)
    }

    fn verify(
        &self,
        cluster: &str,
        id: &VersionId,
        scheme: SignScheme,
        input: &[u8],
        signature: &[u8],
    ) -> Result<bool, KmsError> {
        self.to(cluster).verify(cluster, id, scheme, input, signature)
    }

    fn rsa_encrypt(
        &self,
        cluster: &str,
        id: &VersionId,
        algorithm: AsymmetricAlgorithm,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        self.to(cluster).rsa_encrypt(cluster, id, algorithm, plaintext)
    }

    fn rsa_decrypt(
        &self,
        cluster: &str,
        id: &VersionId,
        algorithm: AsymmetricAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Option<SecretBytes>, KmsError> {
        self.to(cluster).rsa_decrypt(cluster, id, algorithm, ciphertext)
    }

    fn create_wrapping_key(&self, cluster: &str, wrapping: &VersionId, label: &str) -> Result<RsaPublic, KmsError> {
        self.to(cluster).create_wrapping_key(cluster, wrapping, label)
    }

    fn destroy_wrapping_key(&self, cluster: &str, wrapping: &VersionId) -> Result<(), KmsError> {
        self.to(cluster).destroy_wrapping_key(cluster, wrapping)
    }

    fn import_material(
        &self,
        cluster: &str,
        wrapping: &VersionId,
        algorithm: WrappingAlgorithm,
        wrapped: &[u8],
        target: &VersionName,
    ) -> Result<Vec<u8>, KmsError> {
        self.to(cluster).import_material(cluster, wrapping, algorithm, wrapped, target)
    }

    fn replicate(&self, cluster: &str, v: &VersionName) -> Result<(), KmsError> {
        self.to(cluster).replicate(cluster, v)
    }

    fn copy_version(&self, from: &str, to: &str, v: &VersionName, public: Option<&PublicKey>) -> Result<(), KmsError> {
        match (from == SOFTWARE_CLUSTER, to == SOFTWARE_CLUSTER) {
            (false, false) => self.hsm.copy_version(from, to, v, public),
            (true, false) => {
                self.hsm.install_wrapped(to, v, public, |transport| self.software.wrap_for_transport(v, transport))
            }
            (_, true) => Err(KmsError::Unsupported(
                "key material goes from the default instance into a cluster, never back".into(),
            )),
        }
    }

    fn wrap_for_backup(&self, cluster: &str, v: &VersionName) -> Result<Vec<u8>, KmsError> {
        self.to(cluster).wrap_for_backup(cluster, v)
    }

    fn install_from_backup(
        &self,
        cluster: &str,
        v: &VersionName,
        wrapped: &[u8],
        public: Option<&PublicKey>,
    ) -> Result<(), KmsError> {
        self.to(cluster).install_from_backup(cluster, v, wrapped, public)
    }

    fn rewrap(
        &self,
        cluster: &str,
        direction: Rewrap,
        v: &VersionName,
        wrapped: &[u8],
        file_key: &[u8; 32],
    ) -> Result<Vec<u8>, KmsError> {
        self.to(cluster).rewrap(cluster, direction, v, wrapped, file_key)
    }

    fn rewrap_from_transport(
        &self,
        cluster: &str,
        wrapping: &VersionId,
        transport_key: &[u8],
        v: &VersionName,
        wrapped: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        self.to(cluster).rewrap_from_transport(cluster, wrapping, transport_key, v, wrapped)
    }

    fn destroy_leftovers(&self, cluster: &str, purpose: IntentPurpose, id: &VersionId) -> Result<Leftovers, KmsError> {
        self.to(cluster).destroy_leftovers(cluster, purpose, id)
    }
}
