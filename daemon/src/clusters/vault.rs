//! The daemon's vault: key material as objects on the members of HSM
//! clusters (`kms::vault` says what a vault is).
//!
//! Operations with a version run on the members in turn until one can do
//! them (`hsm::Cluster::run_on_version`); writes go to the primary and
//! reach the mirrors wrapped under the cluster key; a primary that fails a
//! write is replaced by an in-sync mirror (`sync::create_version`).
//!
//! Where SoftHSM lacks a parameter set (RSA-OAEP with SHA-256, for
//! encryption and for unwrapping imported material), the HSM performs the
//! raw RSA operation and the OAEP encoding is done here; the private key
//! never leaves the HSM either way.

use std::path::PathBuf;
use std::sync::Arc;

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;

use p11kms_proto::SecretBytes;
use p11kms_proto::admin::{AsymmetricAlgorithm, WrappingAlgorithm};

use super::backup_key;
use super::backup_rewrap;
use super::live::LiveClusters;
use super::sync;
use crate::encoding::oaep::{OaepHash, oaep_decode};
use crate::hsm::error::Context;
use crate::hsm::{self, HsmError, ObjectRole, PublicKey, VersionName, oaep};
use crate::kms::vault::software::Transported;
use crate::kms::vault::{GCM_IV_LEN, Leftovers, Rewrap, RsaPublic, SessionMaterial, SignScheme, Vault, VersionId};
use crate::kms::{Kms, KmsError};
use crate::store::IntentPurpose;

/// The vault over the daemon's open clusters.
#[derive(Debug)]
pub struct HsmVault {
    clusters: Arc<LiveClusters>,
    /// Where the backup root key is (`backup_key`).
    secrets_dir: PathBuf,
}

impl HsmVault {
    /// A vault over `clusters`; backups wrap under the backup root key of
    /// `secrets_dir`.
    pub fn new(clusters: Arc<LiveClusters>, secrets_dir: PathBuf) -> Self {
        Self { clusters, secrets_dir }
    }

    /// Installs version `v` into `cluster` from material outside any HSM:
    /// `wrap` wraps it for a one-time transport key of the serving member
    /// (`hsm::transfer::install_wrapped`), which then replicates it to the
    /// other members in service. On failure nothing of it is left.
    pub fn install_wrapped(
        &self,
        cluster: &str,
        v: &VersionName,
        public: Option<&PublicKey>,
        wrap: impl FnOnce(&RsaPublic) -> Result<Transported, KmsError>,
    ) -> Result<(), KmsError> {
        let live = self.clusters.get(cluster)?;
        let receiver = live.cluster.serving_member()?.clone();
        let installed = hsm::transfer::install_wrapped(&receiver, v, public, |modulus, exponent| {
            let wrapped = wrap(&RsaPublic { modulus, exponent }).map_err(|e| HsmError::Unexpected(e.to_string()))?;
            Ok(hsm::transfer::Wrapped { key: wrapped.key, blob: wrapped.blob })
        })
        .and_then(|()| spread(&live.cluster, &receiver, v, public));
        if let Err(error) = installed {
            live.cluster.destroy_version(v);
            return Err(error.into());
        }
        Ok(())
    }

    /// Runs `op` with a version's object on the members of `cluster`.
    fn run<T>(
        &self,
        cluster: &str,
        id: &VersionId,
        role: ObjectRole,
        op: impl Fn(&Session, ObjectHandle) -> Result<T, CkError>,
    ) -> Result<T, HsmError> {
        let live = self.clusters.get(cluster).map_err(|e| HsmError::Unexpected(e.to_string()))?;
        live.cluster.run_on_version(id, role, |s, handle| op(s, handle).context(|| "key version operation".into()))
    }
}

fn gcm<'a>(iv: &'a mut [u8; GCM_IV_LEN], aad: &'a [u8]) -> Result<Mechanism<'a>, CkError> {
    Ok(Mechanism::AesGcm(GcmParams::new(iv, aad, 128.into())?))
}

fn sign_mechanism(scheme: SignScheme) -> Mechanism<'static> {
    match scheme {
        SignScheme::RsaPkcs1 => Mechanism::RsaPkcs,
        SignScheme::RsaPssSha256 => Mechanism::RsaPkcsPss(PkcsPssParams {
            hash_alg: MechanismType::SHA256,
            mgf: PkcsMgfType::MGF1_SHA256,
            s_len: 32.into(),
        }),
        SignScheme::Ecdsa => Mechanism::Ecdsa,
    }
}

fn oaep(algorithm: AsymmetricAlgorithm) -> Mechanism<'static> {
    let (hash, mgf) = match algorithm {
        AsymmetricAlgorithm::RsaesOaepSha1 => (MechanismType::SHA1, PkcsMgfType::MGF1_SHA1),
        AsymmetricAlgorithm::RsaesOaepSha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
    };
    Mechanism::RsaPkcsOaep(PkcsOaepParams::new(hash, mgf, PkcsOaepSource::empty()))
}

/// A failure that is the data's (a tag, a padding, a signature), not the
/// device's: the answer is "no", not an error. When no member could run
/// the operation at all (every member failed, or none holds the version's
/// object) that is the cluster's fault, never the caller's ciphertext.
fn refused_data<T>(result: Result<T, HsmError>) -> Result<Option<T>, KmsError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.worth_another_member() => Err(error.into()),
        Err(_) => Ok(None),
    }
}

impl Vault for HsmVault {
    fn serves(&self, cluster: &str) -> bool {
        self.clusters.contains(cluster)
    }

    fn create_version(&self, kms: &Kms, cluster: &str, v: &VersionName) -> Result<Option<PublicKey>, KmsError> {
        sync::create_version(kms, &self.clusters, cluster, v)
    }

    fn adopt_session_key(&self, cluster: &str, v: &VersionName, key: SessionMaterial<'_>) -> Result<(), KmsError> {
        let live = self.clusters.get(cluster)?;
        let primary = live.cluster.primary();
        // Session keys live on the member that served their session; a
        // failover since then lost them (docs/pkcs11.md §2a).
        if !Arc::ptr_eq(primary, key.member) || !primary.is_healthy() {
            return Err(HsmError::ObjectMissing("the session key".into(), key.member.label().into()).into());
        }
        let made = hsm::adopt::copy_into_version(primary, key.handle, v, key.public)
            .and_then(|()| live.cluster.replicate_to_mirrors(v, key.public));
        if let Err(error) = made {
            live.cluster.destroy_version(v);
            return Err(error.into());
        }
        Ok(())
    }

    fn destroy_version(&self, cluster: &str, v: &VersionName) -> Result<usize, KmsError> {
        Ok(self.clusters.get(cluster)?.cluster.destroy_version(v))
    }

    fn seal(
        &self,
        cluster: &str,
        id: &VersionId,
        iv: &[u8; GCM_IV_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        Ok(self.run(cluster, id, ObjectRole::Secret, |s, key| {
            let mut iv = *iv;
            s.encrypt(&gcm(&mut iv, aad)?, key, plaintext)
        })?)
    }

    fn open(
        &self,
        cluster: &str,
        id: &VersionId,
        iv: &[u8; GCM_IV_LEN],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Option<SecretBytes>, KmsError> {
        let opened = self.run(cluster, id, ObjectRole::Secret, |s, key| {
            let mut iv = *iv;
            s.decrypt(&gcm(&mut iv, aad)?, key, ciphertext)
        });
        Ok(refused_data(opened)?.map(SecretBytes::new))
    }

    fn random(&self, cluster: &str, len: usize) -> Result<SecretBytes, KmsError> {
        let live = self.clusters.get(cluster)?;
        let member = live.cluster.serving_member()?;
        let bytes = member.with_session(|s| {
            let len = u32::try_from(len).map_err(|_| HsmError::Unexpected(format!("{len} random bytes")))?;
            s.generate_random_vec(len).context(|| "C_GenerateRandom".into())
        })?;
        Ok(SecretBytes::new(bytes))
    }

    fn sign(&self, cluster: &str, id: &VersionId, scheme: SignScheme, input: &[u8]) -> Result<Vec<u8>, KmsError> {
        let mechanism = sign_mechanism(scheme);
        Ok(self.run(cluster, id, ObjectRole::Private, |s, key| s.sign(&mechanism, key, input))?)
    }

    fn verify(
        &self,
        cluster: &str,
        id: &VersionId,
        scheme: SignScheme,
        input: &[u8],
        signature: &[u8],
    ) -> Result<bool, KmsError> {
        let mechanism = sign_mechanism(scheme);
        match self.run(cluster, id, ObjectRole::Public, |s, key| s.verify(&mechanism, key, input, signature)) {
            Ok(()) => Ok(true),
            Err(HsmError::Pkcs11 {
                source:
                    CkError::Pkcs11(RvError::SignatureInvalid | RvError::SignatureLenRange | RvError::DataLenRange, _),
                ..
            }) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    fn rsa_encrypt(
        &self,
        cluster: &str,
        id: &VersionId,
        algorithm: AsymmetricAlgorithm,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        let mechanism = oaep(algorithm);
        match self.run(cluster, id, ObjectRole::Public, |s, key| s.encrypt(&mechanism, key, plaintext)) {
            Ok(ciphertext) => Ok(ciphertext),
            Err(error) if oaep::parameters_refused(error.ck_rv()) => {
                let hash = OaepHash::from(algorithm);
                match self.run(cluster, id, ObjectRole::Public, |s, key| oaep::encrypt(s, key, hash, &[], plaintext))? {
                    Ok(ciphertext) => Ok(ciphertext),
                    // The caller checked the length against the key.
                    Err(rv) => Err(KmsError::Internal(format!("RSA-OAEP encoding refused the plaintext ({rv:#x})"))),
                }
            }
            Err(error) => Err(error.into()),
        }
    }

    fn rsa_decrypt(
        &self,
        cluster: &str,
        id: &VersionId,
        algorithm: AsymmetricAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Option<SecretBytes>, KmsError> {
        let mechanism = oaep(algorithm);
        match self.run(cluster, id, ObjectRole::Private, |s, key| s.decrypt(&mechanism, key, ciphertext)) {
            Ok(plaintext) => Ok(Some(SecretBytes::new(plaintext))),
            Err(error) if oaep::parameters_refused(error.ck_rv()) => {
                let hash = OaepHash::from(algorithm);
                let decrypted =
                    self.run(cluster, id, ObjectRole::Private, |s, key| oaep::decrypt(s, key, hash, &[], ciphertext));
                Ok(refused_data(decrypted)?.and_then(Result::ok).map(SecretBytes::new))
            }
            Err(error) if error.worth_another_member() => Err(error.into()),
            Err(_) => Ok(None),
        }
    }

    fn create_wrapping_key(&self, cluster: &str, wrapping: &VersionId, label: &str) -> Result<RsaPublic, KmsError> {
        let live = self.clusters.get(cluster)?;
        let (modulus, exponent) = hsm::import::create_wrapping_pair(live.cluster.primary(), wrapping, label)?;
        Ok(RsaPublic { modulus, exponent })
    }

    fn destroy_wrapping_key(&self, cluster: &str, wrapping: &VersionId) -> Result<(), KmsError> {
        let live = self.clusters.get(cluster)?;
        Ok(hsm::import::destroy_wrapping_pair(live.cluster.primary(), wrapping)?)
    }

    fn import_material(
        &self,
        cluster: &str,
        wrapping: &VersionId,
        algorithm: WrappingAlgorithm,
        wrapped: &[u8],
        target: &VersionName,
    ) -> Result<Vec<u8>, KmsError> {
        let live = self.clusters.get(cluster)?;
        let primary = live.cluster.primary();
        // The wrapping keys are RSA-2048: 256-byte blocks.
        let decode = |raw: &[u8]| oaep_decode(raw, 256, OaepHash::Sha256, &[]).ok();
        let handle = hsm::import::unwrap_material(primary, wrapping, algorithm, wrapped, target, decode)
            .map_err(|e| KmsError::MaterialRefused(e.to_string()))?;
        match hsm::import::check_value(primary, handle) {
            Ok(check) => Ok(check),
            Err(error) => {
                live.cluster.destroy_version(target);
                Err(error.into())
            }
        }
    }

    fn replicate(&self, cluster: &str, v: &VersionName) -> Result<(), KmsError> {
        Ok(self.clusters.get(cluster)?.cluster.replicate_to_mirrors(v, None)?)
    }

    fn copy_version(&self, from: &str, to: &str, v: &VersionName, public: Option<&PublicKey>) -> Result<(), KmsError> {
        let source = self.clusters.get(from)?;
        let target = self.clusters.get(to)?;
        let receiver = target.cluster.serving_member()?.clone();
        let mut last = HsmError::NoHealthyMember(v.label.clone());
        let copied = source.cluster.candidates().into_iter().any(|member| {
            hsm::transfer::copy_version(member, &receiver, v, public).map_err(|error| last = error).is_ok()
        });
        let copied = if copied { spread(&target.cluster, &receiver, v, public) } else { Err(last) };
        if let Err(error) = copied {
            target.cluster.destroy_version(v);
            return Err(error.into());
        }
        Ok(())
    }

    fn wrap_for_backup(&self, cluster: &str, v: &VersionName) -> Result<Vec<u8>, KmsError> {
        let role = backup_key::protected_role(v);
        let live = self.clusters.get(cluster)?;
        Ok(live.cluster.run_on_version(&v.id, role, |s, handle| backup_key::wrap(&self.secrets_dir, s, v, handle))?)
    }

    fn install_from_backup(
        &self,
        cluster: &str,
        v: &VersionName,
        wrapped: &[u8],
        public: Option<&PublicKey>,
    ) -> Result<(), KmsError> {
        let live = self.clusters.get(cluster)?;
        let receiver = live.cluster.serving_member()?.clone();
        let installed = backup_key::install(&self.secrets_dir, &receiver, v, wrapped, public).and_then(|installed| {
            if installed == backup_key::Installed::Done {
                spread(&live.cluster, &receiver, v, public).map(|()| installed)
            } else {
                Ok(installed)
            }
        });
        match installed {
            Ok(backup_key::Installed::Done) => Ok(()),
            other => {
                live.cluster.destroy_version(v);
                match other {
                    Ok(backup_key::Installed::DoesNotUnwrap) => {
                        Err(KmsError::MaterialRefused(format!("{} does not unwrap under the backup root key", v.label)))
                    }
                    Ok(_) => Err(KmsError::MaterialRefused(format!(
                        "the public key of {} does not belong to the private key the backup carries",
                        v.label
                    ))),
                    Err(error) => Err(error.into()),
                }
            }
        }
    }

    fn rewrap(
        &self,
        cluster: &str,
        direction: Rewrap,
        v: &VersionName,
        wrapped: &[u8],
        file_key: &[u8; 32],
    ) -> Result<Vec<u8>, KmsError> {
        let live = self.clusters.get(cluster)?;
        let member = live.cluster.serving_member()?.clone();
        backup_rewrap::rewrap(&self.secrets_dir, &member, direction, v, wrapped, file_key)?.ok_or_else(|| {
            let key = match direction {
                Rewrap::Export => "the backup root key",
                Rewrap::Import => "the file's decryption key",
            };
            KmsError::MaterialRefused(format!("{} does not unwrap under {key}", v.label))
        })
    }

    fn rewrap_from_transport(
        &self,
        cluster: &str,
        wrapping: &VersionId,
        transport_key: &[u8],
        v: &VersionName,
        wrapped: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        let live = self.clusters.get(cluster)?;
        let holder = live.cluster.primary();
        backup_rewrap::from_transport(&self.secrets_dir, holder, wrapping, transport_key, v, wrapped)?.ok_or_else(
            || KmsError::MaterialRefused(format!("{} does not unwrap under the ticket's one-time key", v.label)),
        )
    }

    fn destroy_leftovers(&self, cluster: &str, purpose: IntentPurpose, id: &VersionId) -> Result<Leftovers, KmsError> {
        let cka_id = match purpose {
            IntentPurpose::KeyVersion | IntentPurpose::ImportCheck => id.to_vec(),
            IntentPurpose::WrappingKey => hsm::import::wrapping_cka_id(id),
        };
        let (destroyed, unreached) = self.clusters.get(cluster)?.cluster.destroy_objects_with_id(id, &cka_id);
        Ok(Leftovers { destroyed, unreached })
    }
}

/// Copies version `v` from `receiver` to the other members of `cluster`
/// in service, as replication does.
fn spread(
    cluster: &hsm::Cluster,
    receiver: &Arc<hsm::Member>,
    v: &VersionName,
    public: Option<&PublicKey>,
) -> Result<(), HsmError> {
    for member in cluster.members().iter().filter(|m| m.is_healthy() && !Arc::ptr_eq(m, receiver)) {
        hsm::Cluster::replicate(receiver, member, v, public)?;
    }
    Ok(())
}
