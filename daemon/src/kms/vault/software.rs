//! The software vault: the `default` instance's key material, held by the
//! daemon itself (`SOFTWARE_CLUSTER`). Generated in software
//! ([`Material`]), stored sealed (AES-256-GCM) under the daemon's root key
//! in the store's `software_material` table, opened into memory when used.
//!
//! Opened material stays in a small cache so that a busy key is not
//! unsealed (and, for RSA, parsed) at every call: at most
//! [`CACHE_CAPACITY`] versions, the least recently used one dropped (and
//! zeroized) first; a destroyed version leaves it at once. Nothing of it is
//! ever written anywhere else: it leaves the daemon only wrapped for an
//! HSM's one-time transport key ([`SoftwareVault::wrap_for_transport`]), when
//! a CMK migration moves a key into a hardware or software instance.
//!
//! The store is its only persistence, and every write is one transaction,
//! so a crash leaves either the sealed row or nothing; a row whose
//! creation was never committed is found by its creation intent and
//! destroyed at start, as for HSM objects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aes_kw::KekAes256;
use rsa::rand_core::OsRng;
use rsa::{Oaep, RsaPublicKey};
use sha1::Sha1;
use zeroize::Zeroizing;

use p11kms_proto::SecretBytes;
use p11kms_proto::admin::{AsymmetricAlgorithm, WrappingAlgorithm};

use super::material::{Material, decode_wrapping_key, encode_wrapping_key, fault, new_wrapping_key, unwrap_imported};
use super::{GCM_IV_LEN, Leftovers, Rewrap, RsaPublic, SOFTWARE_CLUSTER, SignScheme, Vault, VersionId};
use crate::clock::Clock;
use crate::hsm::{PublicKey, VersionName};
use crate::kms::{Kms, KmsError};
use crate::store::{IntentPurpose, MaterialRole, Store};

/// Versions kept open in memory at most.
pub const CACHE_CAPACITY: usize = 1024;

/// A version's material on its way into an HSM: a one-time AES-256 key
/// under the HSM's transport key (RSA-OAEP with SHA-1, as SoftHSM unwraps
/// it) and the version's key (raw AES bytes, or PKCS#8 DER) under that
/// one-time key (RFC 5649, `CKM_AES_KEY_WRAP_PAD`).
#[derive(Debug)]
pub struct Transported {
    /// The one-time key, wrapped for the transport key.
    pub key: Vec<u8>,
    /// The version's key, wrapped under the one-time key.
    pub blob: Zeroizing<Vec<u8>>,
}

/// Opened versions, with the tick of their last use.
#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<VersionId, (Arc<Material>, u64)>,
    tick: u64,
}

impl Cache {
    fn get(&mut self, id: &VersionId) -> Option<Arc<Material>> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.get_mut(id).map(|(material, used)| {
            *used = tick;
            material.clone()
        })
    }

    fn put(&mut self, id: VersionId, material: Arc<Material>) {
        if self.entries.len() >= CACHE_CAPACITY {
            let oldest = self.entries.iter().min_by_key(|(_, (_, used))| *used).map(|(id, _)| *id);
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.tick += 1;
        self.entries.insert(id, (material, self.tick));
    }
}

/// The default instance's key material. See the module documentation.
#[derive(Debug)]
pub struct SoftwareVault {
    store: Arc<Store>,
    clock: Arc<Clock>,
    cache: Mutex<Cache>,
}

fn not_here(cluster: &str) -> KmsError {
    KmsError::NotFound { what: "cluster", name: cluster.to_owned() }
}

impl SoftwareVault {
    /// The vault over `store`'s sealed material; writes are stamped by `clock`.
    pub fn new(store: Arc<Store>, clock: Arc<Clock>) -> Self {
        Self { store, clock, cache: Mutex::new(Cache::default()) }
    }

    fn check(cluster: &str) -> Result<(), KmsError> {
        if cluster == SOFTWARE_CLUSTER { Ok(()) } else { Err(not_here(cluster)) }
    }

    /// The material of version `id`, from the cache or opened from the store.
    fn material(&self, id: &VersionId) -> Result<Arc<Material>, KmsError> {
        if let Some(material) = self.cache.lock().map_err(|_| fault("cache lock"))?.get(id) {
            return Ok(material);
        }
        let encoded = self
            .store
            .material(MaterialRole::Version, id)?
            .ok_or_else(|| fault(&format!("no material for version {}", hex::encode(id))))?;
        let material = Arc::new(Material::decode(&encoded)?);
        self.cache.lock().map_err(|_| fault("cache lock"))?.put(*id, material.clone());
        Ok(material)
    }

    fn forget(&self, id: &VersionId) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.entries.remove(id);
        }
    }

    fn put(&self, role: MaterialRole, id: &VersionId, encoded: &[u8]) -> Result<(), KmsError> {
        self.store.write(self.clock.now(), |tx| tx.put_material(role, id, encoded))?;
        Ok(())
    }

    fn delete(&self, role: MaterialRole, id: &VersionId) -> Result<bool, KmsError> {
        self.forget(id);
        Ok(self.store.write(self.clock.now(), |tx| tx.delete_material(role, id))?)
    }

    /// True when version `id` has material here.
    pub fn holds(&self, id: &VersionId) -> Result<bool, KmsError> {
        Ok(self.store.material(MaterialRole::Version, id)?.is_some())
    }

    /// How many versions are open in memory now.
    pub fn cached(&self) -> usize {
        self.cache.lock().map_or(0, |c| c.entries.len())
    }

    /// Version `v`'s key, wrapped for the RSA transport key `transport` an
    /// HSM generated (see [`Transported`]).
    pub fn wrap_for_transport(&self, v: &VersionName, transport: &RsaPublic) -> Result<Transported, KmsError> {
        let material = self.material(&v.id)?;
        let key_bytes = material.key_bytes()?;
        let one_time: Zeroizing<[u8; 32]> = Zeroizing::new(rand::random());
        let blob = KekAes256::new(&(*one_time).into())
            .wrap_with_padding_vec(&key_bytes)
            .map_err(|e| fault(&format!("key wrap: {e}")))?;
        let public = RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&transport.modulus),
            rsa::BigUint::from_bytes_be(&transport.exponent),
        )
        .map_err(|e| fault(&format!("transport key: {e}")))?;
        let key =
            public.encrypt(&mut OsRng, Oaep::new::<Sha1>(), one_time.as_slice()).map_err(|e| fault(&e.to_string()))?;
        Ok(Transported { key, blob: Zeroizing::new(blob) })
    }
}

impl Vault for SoftwareVault {
    fn serves(&self, cluster: &str) -> bool {
        cluster == SOFTWARE_CLUSTER
    }

    fn create_version(&self, _kms: &Kms, cluster: &str, v: &VersionName) -> Result<Option<PublicKey>, KmsError> {
        Self::check(cluster)?;
        let material = Material::generate(v.spec)?;
        let public = material.public();
        self.put(MaterialRole::Version, &v.id, &material.encode()?)?;
        self.cache.lock().map_err(|_| fault("cache lock"))?.put(v.id, Arc::new(material));
        Ok(public)
    }

    fn destroy_version(&self, cluster: &str, v: &VersionName) -> Result<usize, KmsError> {
        Self::check(cluster)?;
        self.delete(MaterialRole::Version, &v.id)?;
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
        Self::check(cluster)?;
        self.material(id)?.seal(iv, aad, plaintext)
    }

    fn open(
        &self,
        cluster: &str,
        id: &VersionId,
        iv: &[u8; GCM_IV_LEN],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Option<SecretBytes>, KmsError> {
        Self::check(cluster)?;
        self.material(id)?.open(iv, aad, ciphertext)
    }

    fn random(&self, cluster: &str, len: usize) -> Result<SecretBytes, KmsError> {
        Self::check(cluster)?;
        let mut bytes = vec![0u8; len];
        rand::fill(&mut bytes[..]);
        Ok(SecretBytes::new(bytes))
    }

    fn sign(&self, cluster: &str, id: &VersionId, scheme: SignScheme, input: &[u8]) -> Result<Vec<u8>, KmsError> {
        Self::check(cluster)?;
        self.material(id)?.sign(scheme, input)
    }

    fn verify(
        &self,
        cluster: &str,
        id: &VersionId,
        scheme: SignScheme,
        input: &[u8],
        signature: &[u8],
    ) -> Result<bool, KmsError> {
        Self::check(cluster)?;
        self.material(id)?.verify(scheme, input, signature)
    }

    fn rsa_encrypt(
        &self,
        cluster: &str,
        id: &VersionId,
        algorithm: AsymmetricAlgorithm,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        Self::check(cluster)?;
        self.material(id)?.rsa_encrypt(algorithm, plaintext)
    }

    fn rsa_decrypt(
        &self,
        cluster: &str,
        id: &VersionId,
        algorithm: AsymmetricAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Option<SecretBytes>, KmsError> {
        Self::check(cluster)?;
        self.material(id)?.rsa_decrypt(algorithm, ciphertext)
    }

    fn create_wrapping_key(&self, cluster: &str, wrapping: &VersionId, _label: &str) -> Result<RsaPublic, KmsError> {
        Self::check(cluster)?;
        let (key, public) = new_wrapping_key()?;
        self.put(MaterialRole::Wrapping, wrapping, &encode_wrapping_key(&key)?)?;
        Ok(public)
    }

    fn destroy_wrapping_key(&self, cluster: &str, wrapping: &VersionId) -> Result<(), KmsError> {
        Self::check(cluster)?;
        self.delete(MaterialRole::Wrapping, wrapping).map(|_| ())
    }

    fn import_material(
        &self,
        cluster: &str,
        wrapping: &VersionId,
        algorithm: WrappingAlgorithm,
        wrapped: &[u8],
        target: &VersionName,
    ) -> Result<Vec<u8>, KmsError> {
        Self::check(cluster)?;
        let der = self
            .store
            .material(MaterialRole::Wrapping, wrapping)?
            .ok_or_else(|| KmsError::MaterialRefused("the token's wrapping key is gone".into()))?;
        let material = unwrap_imported(&decode_wrapping_key(&der)?, algorithm, wrapped)?;
        let check = material.check_value()?;
        self.put(MaterialRole::Version, &target.id, &material.encode()?)?;
        self.forget(&target.id);
        Ok(check)
    }

    fn replicate(&self, cluster: &str, v: &VersionName) -> Result<(), KmsError> {
        // One copy is all there is; it must be there.
        Self::check(cluster)?;
        if self.holds(&v.id)? { Ok(()) } else { Err(fault("nothing to replicate")) }
    }

    fn copy_version(
        &self,
        from: &str,
        to: &str,
        _v: &VersionName,
        _public: Option<&PublicKey>,
    ) -> Result<(), KmsError> {
        // Material leaves for an HSM through the daemon's routing vault
        // (`wrap_for_transport`); it never comes back into software.
        Err(KmsError::Unsupported(format!("the software vault does not copy versions from '{from}' to '{to}'")))
    }

    fn wrap_for_backup(&self, _cluster: &str, _v: &VersionName) -> Result<Vec<u8>, KmsError> {
        Err(KmsError::Unsupported("the default instance's keys are not backed up: migrate them first".into()))
    }

    fn install_from_backup(
        &self,
        _cluster: &str,
        _v: &VersionName,
        _wrapped: &[u8],
        _public: Option<&PublicKey>,
    ) -> Result<(), KmsError> {
        Err(KmsError::Unsupported("backups restore into software or hardware instances, not the default one".into()))
    }

    fn rewrap(
        &self,
        _cluster: &str,
        _direction: Rewrap,
        _v: &VersionName,
        _wrapped: &[u8],
        _file_key: &[u8; 32],
    ) -> Result<Vec<u8>, KmsError> {
        Err(KmsError::Unsupported("backed-up material is re-wrapped in an HSM, not in the software vault".into()))
    }

    fn rewrap_from_transport(
        &self,
        _cluster: &str,
        _wrapping: &VersionId,
        _transport_key: &[u8],
        _v: &VersionName,
        _wrapped: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        Err(KmsError::Unsupported("backups restore into software or hardware instances, not the default one".into()))
    }

    fn destroy_leftovers(&self, cluster: &str, purpose: IntentPurpose, id: &VersionId) -> Result<Leftovers, KmsError> {
        Self::check(cluster)?;
        let role = match purpose {
            IntentPurpose::KeyVersion | IntentPurpose::ImportCheck => MaterialRole::Version,
            IntentPurpose::WrappingKey => MaterialRole::Wrapping,
        };
        let destroyed = usize::from(self.delete(role, id)?);
        Ok(Leftovers { destroyed, unreached: 0 })
    }
}
