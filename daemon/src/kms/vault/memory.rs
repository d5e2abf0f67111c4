//! The in-memory vault of the unit tests: key material in a map, the
//! cryptography in software (RustCrypto's AES-GCM, ECDSA on P-256 and
//! secp256k1, RSA), answering exactly as the HSM vault does, so the KMS
//! rules can be tested without SoftHSM.
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

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::aes::cipher::generic_array::GenericArray;
use aes_gcm::aes::cipher::{BlockEncrypt, KeyInit};
use aes_gcm::aes::{Aes128, Aes256};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use rsa::rand_core::OsRng;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, Pkcs1v15Encrypt, Pkcs1v15Sign, Pss, RsaPrivateKey};
use sha1::Sha1;
use sha2::Sha256;
use zeroize::Zeroizing;

use p11kms_proto::SecretBytes;
use p11kms_proto::admin::{AsymmetricAlgorithm, KeySpec, WrappingAlgorithm};

use super::{GCM_IV_LEN, Leftovers, RsaPublic, SignScheme, Vault, VersionId};
use crate::hsm::import::CHECK_BLOCK;
use crate::hsm::objects::{P256_PARAMS, SECP256K1_PARAMS};
use crate::hsm::{PublicKey, VersionName};
use crate::kms::{Kms, KmsError};
use crate::store::IntentPurpose;

/// Key material of one version.
enum Material {
    Aes(Zeroizing<Vec<u8>>),
    Rsa(Box<RsaPrivateKey>),
    P256(p256::ecdsa::SigningKey),
    K256(k256::ecdsa::SigningKey),
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Aes(_) => "Aes",
            Self::Rsa(_) => "Rsa",
            Self::P256(_) => "P256",
            Self::K256(_) => "K256",
        })
    }
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

fn fault(what: &str) -> KmsError {
    KmsError::Internal(format!("memory vault: {what}"))
}

/// CKA_EC_POINT as an HSM gives it: the uncompressed point in a DER
/// OCTET STRING.
fn ec_point(uncompressed: &[u8]) -> Vec<u8> {
    [&[0x04, uncompressed.len() as u8][..], uncompressed].concat()
}

fn public_of(material: &Material) -> Option<PublicKey> {
    match material {
        Material::Aes(_) => None,
        Material::Rsa(key) => Some(PublicKey::Rsa { modulus: key.n().to_bytes_be(), exponent: key.e().to_bytes_be() }),
        Material::P256(key) => Some(PublicKey::Ec {
            params: P256_PARAMS.to_vec(),
            point: ec_point(key.verifying_key().to_encoded_point(false).as_bytes()),
        }),
        Material::K256(key) => Some(PublicKey::Ec {
            params: SECP256K1_PARAMS.to_vec(),
            point: ec_point(key.verifying_key().to_encoded_point(false).as_bytes()),
        }),
    }
}

fn generate(spec: KeySpec) -> Result<Material, KmsError> {
    Ok(match spec {
        KeySpec::Aes256 => Material::Aes(Zeroizing::new(rand::random::<[u8; 32]>().to_vec())),
        KeySpec::Aes128 => Material::Aes(Zeroizing::new(rand::random::<[u8; 16]>().to_vec())),
        KeySpec::Rsa2048 | KeySpec::Rsa3072 => {
            let bits = if spec == KeySpec::Rsa2048 { 2048 } else { 3072 };
            Material::Rsa(Box::new(RsaPrivateKey::new(&mut OsRng, bits).map_err(|e| fault(&e.to_string()))?))
        }
        KeySpec::EcP256 => Material::P256(p256::ecdsa::SigningKey::random(&mut OsRng)),
        KeySpec::EcP256K => Material::K256(k256::ecdsa::SigningKey::random(&mut OsRng)),
    })
}

fn gcm_seal(key: &[u8], iv: &[u8; GCM_IV_LEN], aad: &[u8], msg: &[u8]) -> Result<Vec<u8>, KmsError> {
    let payload = Payload { msg, aad };
    let nonce = Nonce::from_slice(iv);
    match key.len() {
        32 => Aes256Gcm::new_from_slice(key).map_err(|_| fault("AES key"))?.encrypt(nonce, payload),
        16 => Aes128Gcm::new_from_slice(key).map_err(|_| fault("AES key"))?.encrypt(nonce, payload),
        _ => return Err(fault("AES key length")),
    }
    .map_err(|_| fault("AES-GCM"))
}

fn gcm_open(key: &[u8], iv: &[u8; GCM_IV_LEN], aad: &[u8], msg: &[u8]) -> Result<Option<Vec<u8>>, KmsError> {
    let payload = Payload { msg, aad };
    let nonce = Nonce::from_slice(iv);
    let opened = match key.len() {
        32 => Aes256Gcm::new_from_slice(key).map_err(|_| fault("AES key"))?.decrypt(nonce, payload),
        16 => Aes128Gcm::new_from_slice(key).map_err(|_| fault("AES key"))?.decrypt(nonce, payload),
        _ => return Err(fault("AES key length")),
    };
    Ok(opened.ok())
}

/// AES-ECB of [`CHECK_BLOCK`]: what the HSM vault computes inside the HSM.
fn check_value(key: &[u8]) -> Result<Vec<u8>, KmsError> {
    let mut block = GenericArray::clone_from_slice(&CHECK_BLOCK);
    match key.len() {
        32 => Aes256::new_from_slice(key).map_err(|_| fault("AES key"))?.encrypt_block(&mut block),
        16 => Aes128::new_from_slice(key).map_err(|_| fault("AES key"))?.encrypt_block(&mut block),
        _ => return Err(fault("AES key length")),
    }
    Ok(block.to_vec())
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
        if let (Ok(material), Ok(mut state)) = (generate(spec), self.state.lock()) {
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
        let material = generate(v.spec)?;
        let public = public_of(&material);
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
        self.with(cluster, id, |material| match material {
            Material::Aes(key) => gcm_seal(key, iv, aad, plaintext),
            _ => Err(fault("not an AES version")),
        })
    }

    fn open(
        &self,
        cluster: &str,
        id: &VersionId,
        iv: &[u8; GCM_IV_LEN],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Option<SecretBytes>, KmsError> {
        self.with(cluster, id, |material| match material {
            Material::Aes(key) => Ok(gcm_open(key, iv, aad, ciphertext)?.map(SecretBytes::new)),
            _ => Err(fault("not an AES version")),
        })
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
        self.with(cluster, id, |material| match (scheme, material) {
            (SignScheme::RsaPkcs1, Material::Rsa(key)) => {
                key.sign(Pkcs1v15Sign::new_unprefixed(), input).map_err(|e| fault(&e.to_string()))
            }
            (SignScheme::RsaPssSha256, Material::Rsa(key)) => {
                key.sign_with_rng(&mut OsRng, Pss::new::<Sha256>(), input).map_err(|e| fault(&e.to_string()))
            }
            (SignScheme::Ecdsa, Material::P256(key)) => {
                let signature: p256::ecdsa::Signature = key.sign_prehash(input).map_err(|e| fault(&e.to_string()))?;
                Ok(signature.to_bytes().to_vec())
            }
            (SignScheme::Ecdsa, Material::K256(key)) => {
                let signature: k256::ecdsa::Signature = key.sign_prehash(input).map_err(|e| fault(&e.to_string()))?;
                Ok(signature.to_bytes().to_vec())
            }
            _ => Err(fault("scheme and key do not match")),
        })
    }

    fn verify(
        &self,
        cluster: &str,
        id: &VersionId,
        scheme: SignScheme,
        input: &[u8],
        signature: &[u8],
    ) -> Result<bool, KmsError> {
        self.with(cluster, id, |material| match (scheme, material) {
            (SignScheme::RsaPkcs1, Material::Rsa(key)) => {
                Ok(key.to_public_key().verify(Pkcs1v15Sign::new_unprefixed(), input, signature).is_ok())
            }
            (SignScheme::RsaPssSha256, Material::Rsa(key)) => {
                Ok(key.to_public_key().verify(Pss::new::<Sha256>(), input, signature).is_ok())
            }
            (SignScheme::Ecdsa, Material::P256(key)) => Ok(p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|s| key.verifying_key().verify_prehash(input, &s).is_ok())),
            (SignScheme::Ecdsa, Material::K256(key)) => Ok(k256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|s| key.verifying_key().verify_prehash(input, &s).is_ok())),
            _ => Err(fault("scheme and key do not match")),
        })
    }

    fn rsa_encrypt(
        &self,
        cluster: &str,
        id: &VersionId,
        algorithm: AsymmetricAlgorithm,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        self.with(cluster, id, |material| {
            let Material::Rsa(key) = material else { return Err(fault("not an RSA version")) };
            let public = key.to_public_key();
            match algorithm {
                AsymmetricAlgorithm::RsaesOaepSha1 => public.encrypt(&mut OsRng, Oaep::new::<Sha1>(), plaintext),
                AsymmetricAlgorithm::RsaesOaepSha256 => public.encrypt(&mut OsRng, Oaep::new::<Sha256>(), plaintext),
            }
            .map_err(|e| fault(&e.to_string()))
        })
    }

    fn rsa_decrypt(
        &self,
        cluster: &str,
        id: &VersionId,
        algorithm: AsymmetricAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Option<SecretBytes>, KmsError> {
        self.with(cluster, id, |material| {
            let Material::Rsa(key) = material else { return Err(fault("not an RSA version")) };
            let plaintext = match algorithm {
                AsymmetricAlgorithm::RsaesOaepSha1 => key.decrypt(Oaep::new::<Sha1>(), ciphertext),
                AsymmetricAlgorithm::RsaesOaepSha256 => key.decrypt(Oaep::new::<Sha256>(), ciphertext),
            };
            Ok(plaintext.ok().map(SecretBytes::new))
        })
    }

    fn create_wrapping_key(&self, cluster: &str, wrapping: &VersionId, _label: &str) -> Result<RsaPublic, KmsError> {
        self.writable(cluster)?;
        let key = RsaPrivateKey::new(&mut OsRng, 2048).map_err(|e| fault(&e.to_string()))?;
        let public = RsaPublic { modulus: key.n().to_bytes_be(), exponent: key.e().to_bytes_be() };
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
        let material = match algorithm {
            WrappingAlgorithm::RsaesOaepSha1 => key.decrypt(Oaep::new::<Sha1>(), wrapped),
            WrappingAlgorithm::RsaesOaepSha256 => key.decrypt(Oaep::new::<Sha256>(), wrapped),
            WrappingAlgorithm::RsaesPkcs1V15 => key.decrypt(Pkcs1v15Encrypt, wrapped),
        }
        .map(Zeroizing::new)
        .map_err(|_| KmsError::MaterialRefused("it does not unwrap with the token's key".into()))?;
        if material.len() != 32 {
            return Err(KmsError::MaterialRefused("imported material is not 256 bits".into()));
        }
        let check = check_value(&material)?;
        state.versions.insert((cluster.to_owned(), target.id), Material::Aes(material));
        Ok(check)
    }

    fn replicate(&self, cluster: &str, v: &VersionName) -> Result<(), KmsError> {
        // One copy is all there is; it must be there.
        if self.holds(cluster, &v.id) { Ok(()) } else { Err(fault("nothing to replicate")) }
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
