//! The in-memory vault of the unit tests: key material in a map, the
//! cryptography in software (`material`), answering exactly as the HSM
//! vault does, so the KMS rules can be tested without SoftHSM.
//!
//! A test can also make it fail: [`MemoryVault::fail_writes`] makes every
//! creation fail as a broken HSM would, to check what a failed write
//! leaves behind, and [`MemoryVault::fail_destroys`] makes destruction
//! leave its objects, as a member that cannot be reached would.
//! [`MemoryVault::plant`] puts material in as a creation that crashed
//! before its commit would have left it.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rsa::RsaPrivateKey;

use p11kms_proto::SecretBytes;
use p11kms_proto::admin::{AsymmetricAlgorithm, KeySpec, WrappingAlgorithm};

use super::material::{Material, fault, new_wrapping_key, unwrap_imported};
use super::{GCM_IV_LEN, Leftovers, Rewrap, RsaPublic, SignScheme, Vault, VersionId};
use crate::hsm::{PublicKey, VersionName};
use crate::kms::{Kms, KmsError};
use crate::store::IntentPurpose;

/// The unit tests' stand-in for the backup root key.
const MEMORY_BACKUP_KEY: [u8; 32] = [0x42; 32];

/// `wrapped` (AES key wrap with padding) unwrapped under `from` and
/// wrapped under `to`, as the HSM vault does inside an HSM.
fn rewrap(from: &[u8; 32], to: &[u8; 32], wrapped: &[u8], from_name: &str) -> Result<Vec<u8>, KmsError> {
    let clear = zeroize::Zeroizing::new(
        aes_kw::KekAes256::new(from.into())
            .unwrap_with_padding_vec(wrapped)
            .map_err(|_| KmsError::MaterialRefused(format!("it does not unwrap under {from_name}")))?,
    );
    aes_kw::KekAes256::new(to.into()).wrap_with_padding_vec(&clear).map_err(|e| fault(&format!("key wrap: {e}")))
}

/// Versions and import keys by cluster and id.
#[derive(Debug, Default)]
struct State {
    versions: HashMap<(String, VersionId), Material>,
    wrapping: HashMap<(String, VersionId), Box<RsaPrivateKey>>,
}

/// Key material in memory, for tests.
#[derive(Debug)]
pub struct MemoryVault {
    clusters: HashSet<String>,
    state: Mutex<State>,
    failing: AtomicBool,
    keeping: AtomicBool,
}

impl MemoryVault {
    /// A vault that holds the versions of `clusters`.
    pub fn new(clusters: &[&str]) -> Self {
        Self {
            clusters: clusters.iter().map(|c| (*c).to_owned()).collect(),
            state: Mutex::new(State::default()),
            failing: AtomicBool::new(false),
            keeping: AtomicBool::new(false),
        }
    }

    /// From now on every creation fails (or succeeds again).
    pub fn fail_writes(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// From now on `destroy_version` leaves the version in place and
    /// reports one object left (or destroys again).
    pub fn fail_destroys(&self, failing: bool) {
        self.keeping.store(failing, Ordering::SeqCst);
    }

    /// Puts material for version `id` of `cluster` in, as an HSM write whose
    /// metadata was never committed leaves it (a crash after the write).
    pub fn plant(&self, cluster: &str, id: &VersionId, spec: KeySpec) {
        if let (Ok(material), Ok(mut state)) = (Material::generate(spec), self.state.lock()) {
            state.versions.insert((cluster.to_owned(), *id), material);
        }
    }

    /// How many key versions it holds (import keys not counted).
    pub fn version_count(&self) -> usize {
        self.state.lock().map_or(0, |s| s.versions.len())
    }

    /// How many import tokens' wrapping keys it holds.
    pub fn wrapping_key_count(&self) -> usize {
        self.state.lock().map_or(0, |s| s.wrapping.len())
    }

    /// True when version `id` of `cluster` exists.
    pub fn holds(&self, cluster: &str, id: &VersionId) -> bool {
        self.state.lock().is_ok_and(|s| s.versions.contains_key(&(cluster.to_owned(), *id)))
    }

    /// How many versions and import keys it holds.
    pub fn object_count(&self) -> usize {
        self.state.lock().map_or(0, |s| s.versions.len() + s.wrapping.len())
    }

    fn with<T>(
        &self,
        cluster: &str,
        id: &VersionId,
        f: impl FnOnce(&Material) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        let state = self.state.lock().map_err(|_| fault("lock"))?;
        let material = state.versions.get(&(cluster.to_owned(), *id)).ok_or_else(|| fault("no such version"))?;
        f(material)
    }

    fn writable(&self, cluster: &str) -> Result<(), KmsError> {
        if !self.clusters.contains(cluster) {
            return Err(KmsError::NotFound { what: "cluster", name: cluster.to_owned() });
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(fault("writes fail (as the test asked)"));
        }
        Ok(())
    }
}

impl Vault for MemoryVault {
    fn serves(&self, cluster: &str) -> bool {
        self.clusters.contains(cluster)
    }

    fn create_version(&self, _kms: &Kms, cluster: &str, v: &VersionName) -> Result<Option<PublicKey>, KmsError> {
        self.writable(cluster)?;
        let material = Material::generate(v.spec)?;
        let public = material.public();
        self.state.lock().map_err(|_| fault("lock"))?.versions.insert((cluster.to_owned(), v.id), material);
        Ok(public)
    }

    fn destroy_version(&self, cluster: &str, v: &VersionName) -> Result<usize, KmsError> {
        if self.keeping.load(Ordering::SeqCst) {
            return Ok(usize::from(self.holds(cluster, &v.id)));
        }
        self.state.lock().map_err(|_| fault("lock"))?.versions.remove(&(cluster.to_owned(), v.id));
        Ok(0)
    }

    fn seal(
        &self,
        cluster: &str,
        id: &VersionId,
        iv: &[u8; GCM_IV_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        self.with(cluster, id, |material| material.seal(iv, aad, plaintext))
    }

    fn open(
        &self,
        cluster: &str,
        id: &VersionId,
        iv: &[u8; GCM_IV_LEN],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Option<SecretBytes>, KmsError> {
        self.with(cluster, id, |material| material.open(iv, aad, ciphertext))
    }

    fn random(&self, cluster: &str, len: usize) -> Result<SecretBytes, KmsError> {
        if !self.serves(cluster) {
            return Err(KmsError::NotFound { what: "cluster", name: cluster.to_owned() });
        }
        let mut bytes = vec![0u8; len];
        rand::fill(&mut bytes[..]);
        Ok(SecretBytes::new(bytes))
    }

    fn sign(&self, cluster: &str, id: &VersionId, scheme: SignScheme, input: &[u8]) -> Result<Vec<u8>, KmsError> {
        self.with(cluster, id, |material| material.sign(scheme, input))
    }

    fn verify(
        &self,
        cluster: &str,
        id: &VersionId,
        scheme: SignScheme,
        input: &[u8],
        signature: &[u8],
    ) -> Result<bool, KmsError> {
        self.with(cluster, id, |material| material.verify(scheme, input, signature))
    }

    fn rsa_encrypt(
        &self,
        cluster: &str,
        id: &VersionId,
        algorithm: AsymmetricAlgorithm,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        self.with(cluster, id, |material| material.rsa_encrypt(algorithm, plaintext))
    }

    fn rsa_decrypt(
        &self,
        cluster: &str,
        id: &VersionId,
        algorithm: AsymmetricAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Option<SecretBytes>, KmsError> {
        self.with(cluster, id, |material| material.rsa_decrypt(algorithm, ciphertext))
    }

    fn create_wrapping_key(&self, cluster: &str, wrapping: &VersionId, _label: &str) -> Result<RsaPublic, KmsError> {
        self.writable(cluster)?;
        let (key, public) = new_wrapping_key()?;
        self.state.lock().map_err(|_| fault("lock"))?.wrapping.insert((cluster.to_owned(), *wrapping), Box::new(key));
        Ok(public)
    }

    fn destroy_wrapping_key(&self, cluster: &str, wrapping: &VersionId) -> Result<(), KmsError> {
        self.state.lock().map_err(|_| fault("lock"))?.wrapping.remove(&(cluster.to_owned(), *wrapping));
        Ok(())
    }

    fn import_material(
        &self,
        cluster: &str,
        wrapping: &VersionId,
        algorithm: WrappingAlgorithm,
        wrapped: &[u8],
        target: &VersionName,
    ) -> Result<Vec<u8>, KmsError> {
        self.writable(cluster)?;
        let mut state = self.state.lock().map_err(|_| fault("lock"))?;
        let key = state
            .wrapping
            .get(&(cluster.to_owned(), *wrapping))
            .ok_or_else(|| KmsError::MaterialRefused("the token's wrapping key is gone".into()))?;
        let material = unwrap_imported(key, algorithm, wrapped)?;
        let check = material.check_value()?;
        state.versions.insert((cluster.to_owned(), target.id), material);
        Ok(check)
    }

    fn replicate(&self, cluster: &str, v: &VersionName) -> Result<(), KmsError> {
        // One copy is all there is; it must be there.
        if self.holds(cluster, &v.id) { Ok(()) } else { Err(fault("nothing to replicate")) }
    }

    fn copy_version(&self, from: &str, to: &str, v: &VersionName, _public: Option<&PublicKey>) -> Result<(), KmsError> {
        self.writable(to)?;
        let copy = self.with(from, &v.id, |material| Material::decode(&material.encode()?))?;
        self.state.lock().map_err(|_| fault("lock"))?.versions.insert((to.to_owned(), v.id), copy);
        Ok(())
    }

    fn wrap_for_backup(&self, cluster: &str, v: &VersionName) -> Result<Vec<u8>, KmsError> {
        // The test's "backup root key" is fixed: a wrap is deterministic,
        // as the HSM's AES key wrap is.
        let encoded = self.with(cluster, &v.id, Material::encode)?;
        aes_kw::KekAes256::new(&MEMORY_BACKUP_KEY.into())
            .wrap_with_padding_vec(&encoded)
            .map_err(|e| fault(&format!("key wrap: {e}")))
    }

    fn install_from_backup(
        &self,
        cluster: &str,
        v: &VersionName,
        wrapped: &[u8],
        public: Option<&PublicKey>,
    ) -> Result<(), KmsError> {
        self.writable(cluster)?;
        let encoded = aes_kw::KekAes256::new(&MEMORY_BACKUP_KEY.into())
            .unwrap_with_padding_vec(wrapped)
            .map_err(|_| KmsError::MaterialRefused("it does not unwrap under the backup root key".into()))?;
        let material = Material::decode(&zeroize::Zeroizing::new(encoded))
            .map_err(|_| KmsError::MaterialRefused("it is not a key".into()))?;
        if material.public().as_ref() != public {
            return Err(KmsError::MaterialRefused("its public half is not the one given".into()));
        }
        self.state.lock().map_err(|_| fault("lock"))?.versions.insert((cluster.to_owned(), v.id), material);
        Ok(())
    }

    fn rewrap(
        &self,
        cluster: &str,
        direction: Rewrap,
        _v: &VersionName,
        wrapped: &[u8],
        file_key: &[u8; 32],
    ) -> Result<Vec<u8>, KmsError> {
        self.writable(cluster)?;
        match direction {
            Rewrap::Export => rewrap(&MEMORY_BACKUP_KEY, file_key, wrapped, "the backup root key"),
            Rewrap::Import => rewrap(file_key, &MEMORY_BACKUP_KEY, wrapped, "the file's decryption key"),
        }
    }

    fn rewrap_from_transport(
        &self,
        cluster: &str,
        wrapping: &VersionId,
        transport_key: &[u8],
        _v: &VersionName,
        wrapped: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        self.writable(cluster)?;
        let one_time = {
            let state = self.state.lock().map_err(|_| fault("lock"))?;
            let pair = state
                .wrapping
                .get(&(cluster.to_owned(), *wrapping))
                .ok_or_else(|| KmsError::MaterialRefused("the ticket's wrapping key is gone".into()))?;
            zeroize::Zeroizing::new(
                pair.decrypt(rsa::Oaep::new::<sha1::Sha1>(), transport_key)
                    .map_err(|_| KmsError::MaterialRefused("the one-time key does not unwrap".into()))?,
            )
        };
        let one_time: &[u8; 32] = one_time
            .as_slice()
            .try_into()
            .map_err(|_| KmsError::MaterialRefused("the one-time key is not 32 bytes".into()))?;
        rewrap(one_time, &MEMORY_BACKUP_KEY, wrapped, "the one-time key")
    }

    fn destroy_leftovers(&self, cluster: &str, purpose: IntentPurpose, id: &VersionId) -> Result<Leftovers, KmsError> {
        let mut state = self.state.lock().map_err(|_| fault("lock"))?;
        let key = (cluster.to_owned(), *id);
        let held = match purpose {
            IntentPurpose::KeyVersion | IntentPurpose::ImportCheck => state.versions.contains_key(&key),
            IntentPurpose::WrappingKey => state.wrapping.contains_key(&key),
        };
        if self.keeping.load(Ordering::SeqCst) {
            return Ok(Leftovers { destroyed: 0, unreached: usize::from(held) });
        }
        state.versions.remove(&key);
        state.wrapping.remove(&key);
        Ok(Leftovers { destroyed: usize::from(held), unreached: 0 })
    }
}
