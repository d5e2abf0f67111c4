//! Operations with asymmetric keys: `sign` and `verify` over a SHA-256
//! digest, `asymmetric-encrypt` and `asymmetric-decrypt` with RSA-OAEP,
//! and `get-public-key`.
//!
//! Private-key operations run inside the HSM. Where the HSM lacks a
//! parameter set (SoftHSM 2.6 does RSA-OAEP with SHA-1 only), the HSM
//! performs the raw RSA operation and the OAEP encoding is done here; the
//! private key never leaves the HSM either way.

use std::sync::Arc;

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};

use p11kms_proto::SecretBytes;
use p11kms_proto::admin::{
    AsymmetricAlgorithm, AsymmetricDecryptRequest, AsymmetricEncryptRequest, Decrypted, Encrypted, KeyUsage,
    PublicKeyInfo, SignRequest, Signature, SigningAlgorithm, Verified, VerifyRequest,
};

use super::KmsError;
use super::encoding::der::{ec_spki, pem, rsa_spki};
use super::encoding::oaep::{OaepHash, max_message_len, oaep_decode, oaep_encode};
use super::encoding::signature::{ecdsa_der_from_raw, ecdsa_raw_from_der, pkcs1_sha256_digest_info};
use super::keys::rules::{self, Operation};
use super::registry::{KeyEntry, VersionEntry};
use crate::hsm::error::Context;
use crate::hsm::{HsmError, ObjectRole, PublicKey};
use crate::service::{LiveCluster, Service};

/// Field length of the supported curves (P-256, secp256k1).
const EC_FIELD_LEN: usize = 32;

/// A key version of an asymmetric key, ready to use.
struct Target {
    key_id: String,
    version_id: String,
    uuid: [u8; 16],
    public: PublicKey,
    live: Arc<LiveCluster>,
}

fn target(service: &Service, key: &str, version_id: Option<&str>, usage: Option<KeyUsage>) -> Result<Target, KmsError> {
    let (entry, version, cluster): (KeyEntry, VersionEntry, Option<String>) = {
        let registry = service.registry()?;
        let entry = registry.key(key)?.clone();
        let version = match version_id {
            Some(id) => {
                entry.version(id).cloned().ok_or_else(|| KmsError::NotFound { what: "key version", name: id.into() })?
            }
            None => {
                entry.primary().cloned().ok_or_else(|| KmsError::Internal("key without a primary version".into()))?
            }
        };
        let cluster = registry.instance(&entry.record.instance)?.cluster.clone();
        (entry, version, cluster)
    };
    rules::check(Operation::Use, &entry.record)?;
    let public = version.public_key.clone().ok_or_else(|| {
        KmsError::Unsupported(format!(
            "key '{}' is {}: it has no public key",
            entry.record.key_id, entry.record.key_spec
        ))
    })?;
    if let Some(usage) = usage {
        if entry.record.key_usage != usage {
            return Err(KmsError::Unsupported(format!(
                "key '{}' has KeyUsage {}, this operation needs {usage}",
                entry.record.key_id, entry.record.key_usage
            )));
        }
    }
    let live = service.cluster(&cluster.ok_or_else(|| KmsError::Internal("key without a cluster".into()))?)?;
    Ok(Target { key_id: entry.record.key_id, version_id: version.record.version_id, uuid: version.uuid, public, live })
}

impl Target {
    fn run<T>(
        &self,
        role: ObjectRole,
        op: impl Fn(&cryptoki::session::Session, cryptoki::object::ObjectHandle) -> Result<T, CkError>,
    ) -> Result<T, HsmError> {
        self.live
            .cluster
            .run_on_version(&self.uuid, role, |s, handle| op(s, handle).context(|| "asymmetric operation".into()))
    }

    fn modulus_len(&self) -> Result<usize, KmsError> {
        match &self.public {
            PublicKey::Rsa { .. } => Ok(self.public.modulus_bits().map(|b| b.div_ceil(8) as usize).unwrap_or(0)),
            PublicKey::Ec { .. } => Err(KmsError::InvalidParameter("RSA-OAEP needs an RSA key".into())),
        }
    }
}

fn pss() -> Mechanism<'static> {
    Mechanism::RsaPkcsPss(PkcsPssParams {
        hash_alg: MechanismType::SHA256,
        mgf: PkcsMgfType::MGF1_SHA256,
        s_len: 32.into(),
    })
}

fn oaep(algorithm: AsymmetricAlgorithm) -> Mechanism<'static> {
    let (hash, mgf) = match algorithm {
        AsymmetricAlgorithm::RsaesOaepSha1 => (MechanismType::SHA1, PkcsMgfType::MGF1_SHA1),
        AsymmetricAlgorithm::RsaesOaepSha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
    };
    Mechanism::RsaPkcsOaep(PkcsOaepParams::new(hash, mgf, PkcsOaepSource::empty()))
}

/// The HSM refused the parameters (not the data): worth the fallback.
fn parameters_refused(error: &HsmError) -> bool {
    matches!(
        error,
        HsmError::Pkcs11 {
            source: CkError::Pkcs11(
                RvError::ArgumentsBad | RvError::MechanismParamInvalid | RvError::MechanismInvalid,
                _
            ),
            ..
        }
    )
}

/// What a signing algorithm needs from the key, and the mechanism input.
fn signing_input(
    target: &Target,
    algorithm: SigningAlgorithm,
    digest: &[u8],
) -> Result<(Mechanism<'static>, Vec<u8>), KmsError> {
    if digest.len() != 32 {
        return Err(KmsError::InvalidParameter(format!(
            "Digest must be a SHA-256 digest (32 bytes), not {} bytes",
            digest.len()
        )));
    }
    match (algorithm, &target.public) {
        (SigningAlgorithm::RsaPssSha256, PublicKey::Rsa { .. }) => Ok((pss(), digest.to_vec())),
        (SigningAlgorithm::RsaPkcs1Sha256, PublicKey::Rsa { .. }) => Ok((
            Mechanism::RsaPkcs,
            pkcs1_sha256_digest_info(digest).map_err(|e| KmsError::InvalidParameter(e.to_string()))?,
        )),
        (SigningAlgorithm::EcdsaSha256, PublicKey::Ec { .. }) => Ok((Mechanism::Ecdsa, digest.to_vec())),
        (algorithm, _) => Err(KmsError::InvalidParameter(format!("Algorithm {algorithm} does not fit this key"))),
    }
}

/// `sign`.
pub fn sign(service: &Service, request: &SignRequest) -> Result<Signature, KmsError> {
    let target = target(service, &request.key, Some(&request.key_version_id), Some(KeyUsage::SignVerify))?;
    let (mechanism, input) = signing_input(&target, request.algorithm, &request.digest)?;
    let raw = target.run(ObjectRole::Private, |s, key| s.sign(&mechanism, key, &input))?;
    let value = match request.algorithm {
        SigningAlgorithm::EcdsaSha256 => ecdsa_der_from_raw(&raw).map_err(|e| KmsError::Internal(e.to_string()))?,
        _ => raw,
    };
    Ok(Signature { key_id: target.key_id, key_version_id: target.version_id, value })
}

/// `verify`: a bad signature is an answer (`Value: false`), not an error.
pub fn verify(service: &Service, request: &VerifyRequest) -> Result<Verified, KmsError> {
    let target = target(service, &request.key, Some(&request.key_version_id), Some(KeyUsage::SignVerify))?;
    let (mechanism, input) = signing_input(&target, request.algorithm, &request.digest)?;
    let signature = match request.algorithm {
        SigningAlgorithm::EcdsaSha256 => ecdsa_raw_from_der(&request.value, EC_FIELD_LEN).ok(),
        _ => Some(request.value.clone()),
    };
    let value = match signature {
        None => false,
        Some(signature) => match target.run(ObjectRole::Public, |s, key| s.verify(&mechanism, key, &input, &signature))
        {
            Ok(()) => true,
            Err(HsmError::Pkcs11 {
                source:
                    CkError::Pkcs11(RvError::SignatureInvalid | RvError::SignatureLenRange | RvError::DataLenRange, _),
                ..
            }) => false,
            Err(error) => return Err(error.into()),
        },
    };
    Ok(Verified { key_id: target.key_id, key_version_id: target.version_id, value })
}

fn oaep_hash(algorithm: AsymmetricAlgorithm) -> OaepHash {
    match algorithm {
        AsymmetricAlgorithm::RsaesOaepSha1 => OaepHash::Sha1,
        AsymmetricAlgorithm::RsaesOaepSha256 => OaepHash::Sha256,
    }
}

/// `asymmetric-encrypt`.
pub fn encrypt(service: &Service, request: &AsymmetricEncryptRequest) -> Result<Encrypted, KmsError> {
    let target = target(service, &request.key, Some(&request.key_version_id), Some(KeyUsage::EncryptDecrypt))?;
    let k = target.modulus_len()?;
    let hash = oaep_hash(request.algorithm);
    let plaintext = request.plaintext.expose();
    if plaintext.len() > max_message_len(k, hash) {
        return Err(KmsError::InvalidParameter(format!(
            "Plaintext is longer than the {} bytes {} takes with this key",
            max_message_len(k, hash),
            request.algorithm
        )));
    }
    let mechanism = oaep(request.algorithm);
    let native = target.run(ObjectRole::Public, |s, key| s.encrypt(&mechanism, key, plaintext));
    let ciphertext = match native {
        Ok(ciphertext) => ciphertext,
        Err(error) if parameters_refused(&error) => {
            let seed = crate::data::emulated::oaep_seed(hash);
            let em =
                oaep_encode(plaintext, k, hash, &[], &seed).map_err(|e| KmsError::InvalidParameter(e.to_string()))?;
            target.run(ObjectRole::Public, |s, key| s.encrypt(&Mechanism::RsaX509, key, &em))?
        }
        Err(error) => return Err(error.into()),
    };
    Ok(Encrypted { key_id: target.key_id, key_version_id: target.version_id, ciphertext_blob: ciphertext })
}

/// `asymmetric-decrypt`.
pub fn decrypt(service: &Service, request: &AsymmetricDecryptRequest) -> Result<Decrypted, KmsError> {
    let target = target(service, &request.key, Some(&request.key_version_id), Some(KeyUsage::EncryptDecrypt))?;
    let k = target.modulus_len()?;
    let invalid = || KmsError::InvalidCiphertext(format!("the ciphertext does not decrypt with {}", request.algorithm));
    let mechanism = oaep(request.algorithm);
    let native = target.run(ObjectRole::Private, |s, key| s.decrypt(&mechanism, key, &request.ciphertext_blob));
    let plaintext = match native {
        Ok(plaintext) => SecretBytes::new(plaintext),
        Err(error) if parameters_refused(&error) => {
            let raw = zeroize::Zeroizing::new(
                target
                    .run(ObjectRole::Private, |s, key| s.decrypt(&Mechanism::RsaX509, key, &request.ciphertext_blob))
                    .map_err(|e| if e.is_device_fault() { e.into() } else { invalid() })?,
            );
            let message = oaep_decode(&raw, k, oaep_hash(request.algorithm), &[]).map_err(|_| invalid())?;
            SecretBytes::new(message.to_vec())
        }
        Err(error) if error.is_device_fault() => return Err(error.into()),
        Err(_) => return Err(invalid()),
    };
    Ok(Decrypted { key_id: target.key_id, key_version_id: target.version_id, plaintext })
}

/// `get-public-key`: SubjectPublicKeyInfo in PEM.
pub fn public_key(service: &Service, key: &str, version_id: Option<&str>) -> Result<PublicKeyInfo, KmsError> {
    let target = target(service, key, version_id, None)?;
    let der = match &target.public {
        PublicKey::Rsa { modulus, exponent } => rsa_spki(modulus, exponent),
        PublicKey::Ec { params, point } => ec_spki(params, point).map_err(|e| KmsError::Internal(e.to_string()))?,
    };
    Ok(PublicKeyInfo { key_id: target.key_id, key_version_id: target.version_id, public_key: pem("PUBLIC KEY", &der) })
}
