//! Operations with asymmetric keys: `sign` and `verify` over a SHA-256
//! digest, `asymmetric-encrypt` and `asymmetric-decrypt` with RSA-OAEP,
//! and `get-public-key`.
//!
//! Private-key operations run inside the HSM. Where the HSM lacks a
//! parameter set (SoftHSM 2.6 does RSA-OAEP with SHA-1 only), the HSM
//! performs the raw RSA operation and the OAEP encoding is done here; the
//! private key never leaves the HSM either way.

use p11kms_proto::admin::{
    AsymmetricDecryptRequest, AsymmetricEncryptRequest, Decrypted, Encrypted, KeyUsage, PublicKeyInfo, SignRequest,
    Signature, SigningAlgorithm, Verified, VerifyRequest,
};

use super::KmsError;
use super::keys::rules::{self, Operation};
use super::registry::{KeyEntry, VersionEntry};
use super::vault::SignScheme;
use crate::encoding::der::{ec_spki, pem, rsa_spki};
use crate::encoding::oaep::{OaepHash, max_message_len};
use crate::encoding::signature::{ecdsa_der_from_raw, ecdsa_raw_from_der, pkcs1_sha256_digest_info};
use crate::hsm::PublicKey;
use crate::kms::Kms;

/// Field length of the supported curves (P-256, secp256k1).
const EC_FIELD_LEN: usize = 32;

/// A key version of an asymmetric key, ready to use.
struct Target {
    key_id: String,
    version_id: String,
    uuid: [u8; 16],
    public: PublicKey,
    cluster: String,
}

fn target(kms: &Kms, key: &str, version_id: Option<&str>, usage: Option<KeyUsage>) -> Result<Target, KmsError> {
    let (entry, version): (KeyEntry, VersionEntry) = {
        let registry = kms.registry()?;
        let entry = registry.key(key)?.clone();
        let version = match version_id {
            Some(id) => {
                entry.version(id).cloned().ok_or_else(|| KmsError::NotFound { what: "key version", name: id.into() })?
            }
            None => {
                entry.primary().cloned().ok_or_else(|| KmsError::Internal("key without a primary version".into()))?
            }
        };
        (entry, version)
    };
    rules::check(Operation::Use, &entry.record)?;
    let public = version.public_key.clone().ok_or_else(|| {
        let (id, spec) = (&entry.record.key_id, entry.record.key_spec);
        KmsError::Unsupported(match usage {
            Some(KeyUsage::SignVerify) => {
                format!("key '{id}' is {spec}: signing takes an asymmetric key (RSA or EC) with KeyUsage SIGN/VERIFY")
            }
            Some(KeyUsage::EncryptDecrypt) => format!(
                "key '{id}' is {spec}: asymmetric encryption takes an RSA key with KeyUsage ENCRYPT/DECRYPT; \
                 a symmetric key encrypts with encrypt"
            ),
            None => format!("key '{id}' is {spec}: a symmetric key has no public key"),
        })
    })?;
    if let Some(usage) = usage {
        // Its public key is still known (`get-public-key`); nothing else works.
        rules::check_version(&entry.record, &version)?;
        if entry.record.key_usage != usage {
            return Err(KmsError::Unsupported(format!(
                "key '{}' has KeyUsage {}, this operation needs {usage}",
                entry.record.key_id, entry.record.key_usage
            )));
        }
    }
    let cluster = kms.cluster_of(&entry.record.instance)?;
    Ok(Target {
        key_id: entry.record.key_id,
        version_id: version.record.version_id,
        uuid: version.uuid,
        public,
        cluster,
    })
}

impl Target {
    fn modulus_len(&self) -> Result<usize, KmsError> {
        match &self.public {
            PublicKey::Rsa { .. } => Ok(self.public.modulus_bits().map(|b| b.div_ceil(8) as usize).unwrap_or(0)),
            PublicKey::Ec { .. } => Err(KmsError::InvalidParameter("RSA-OAEP needs an RSA key".into())),
        }
    }
}

/// What a signing algorithm needs from the key, and the mechanism input.
fn signing_input(
    target: &Target,
    algorithm: SigningAlgorithm,
    digest: &[u8],
) -> Result<(SignScheme, Vec<u8>), KmsError> {
    if digest.len() != 32 {
        return Err(KmsError::InvalidParameter(format!(
            "Digest must be a SHA-256 digest (32 bytes), not {} bytes",
            digest.len()
        )));
    }
    match (algorithm, &target.public) {
        (SigningAlgorithm::RsaPssSha256, PublicKey::Rsa { .. }) => Ok((SignScheme::RsaPssSha256, digest.to_vec())),
        (SigningAlgorithm::RsaPkcs1Sha256, PublicKey::Rsa { .. }) => Ok((
            SignScheme::RsaPkcs1,
            pkcs1_sha256_digest_info(digest).map_err(|e| KmsError::InvalidParameter(e.to_string()))?,
        )),
        (SigningAlgorithm::EcdsaSha256, PublicKey::Ec { .. }) => Ok((SignScheme::Ecdsa, digest.to_vec())),
        (algorithm, _) => Err(KmsError::InvalidParameter(format!("Algorithm {algorithm} does not fit this key"))),
    }
}

/// `sign`.
pub fn sign(kms: &Kms, request: &SignRequest) -> Result<Signature, KmsError> {
    let target = target(kms, &request.key, Some(&request.key_version_id), Some(KeyUsage::SignVerify))?;
    let (scheme, input) = signing_input(&target, request.algorithm, &request.digest)?;
    let raw = kms.vault.sign(&target.cluster, &target.uuid, scheme, &input)?;
    let value = match request.algorithm {
        SigningAlgorithm::EcdsaSha256 => ecdsa_der_from_raw(&raw).map_err(|e| KmsError::Internal(e.to_string()))?,
        _ => raw,
    };
    Ok(Signature { key_id: target.key_id, key_version_id: target.version_id, value })
}

/// `verify`: a bad signature is an answer (`Value: false`), not an error.
pub fn verify(kms: &Kms, request: &VerifyRequest) -> Result<Verified, KmsError> {
    let target = target(kms, &request.key, Some(&request.key_version_id), Some(KeyUsage::SignVerify))?;
    let (scheme, input) = signing_input(&target, request.algorithm, &request.digest)?;
    let signature = match request.algorithm {
        SigningAlgorithm::EcdsaSha256 => ecdsa_raw_from_der(&request.value, EC_FIELD_LEN).ok(),
        _ => Some(request.value.clone()),
    };
    let value = match signature {
        None => false,
        Some(signature) => kms.vault.verify(&target.cluster, &target.uuid, scheme, &input, &signature)?,
    };
    Ok(Verified { key_id: target.key_id, key_version_id: target.version_id, value })
}

/// `asymmetric-encrypt`.
pub fn encrypt(kms: &Kms, request: &AsymmetricEncryptRequest) -> Result<Encrypted, KmsError> {
    let target = target(kms, &request.key, Some(&request.key_version_id), Some(KeyUsage::EncryptDecrypt))?;
    let k = target.modulus_len()?;
    let hash = OaepHash::from(request.algorithm);
    let plaintext = request.plaintext.expose();
    if plaintext.len() > max_message_len(k, hash) {
        return Err(KmsError::InvalidParameter(format!(
            "Plaintext is longer than the {} bytes {} takes with this key",
            max_message_len(k, hash),
            request.algorithm
        )));
    }
    let ciphertext = kms.vault.rsa_encrypt(&target.cluster, &target.uuid, request.algorithm, plaintext)?;
    Ok(Encrypted { key_id: target.key_id, key_version_id: target.version_id, ciphertext_blob: ciphertext })
}

/// `asymmetric-decrypt`.
pub fn decrypt(kms: &Kms, request: &AsymmetricDecryptRequest) -> Result<Decrypted, KmsError> {
    let target = target(kms, &request.key, Some(&request.key_version_id), Some(KeyUsage::EncryptDecrypt))?;
    target.modulus_len()?;
    let plaintext =
        kms.vault.rsa_decrypt(&target.cluster, &target.uuid, request.algorithm, &request.ciphertext_blob)?.ok_or_else(
            || KmsError::InvalidCiphertext(format!("the ciphertext does not decrypt with {}", request.algorithm)),
        )?;
    Ok(Decrypted { key_id: target.key_id, key_version_id: target.version_id, plaintext })
}

/// `get-public-key`: SubjectPublicKeyInfo in PEM.
pub fn public_key(kms: &Kms, key: &str, version_id: Option<&str>) -> Result<PublicKeyInfo, KmsError> {
    let target = target(kms, key, version_id, None)?;
    let der = match &target.public {
        PublicKey::Rsa { modulus, exponent } => rsa_spki(modulus, exponent),
        PublicKey::Ec { params, point } => ec_spki(params, point).map_err(|e| KmsError::Internal(e.to_string()))?,
    };
    Ok(PublicKeyInfo { key_id: target.key_id, key_version_id: target.version_id, public_key: pem("PUBLIC KEY", &der) })
}
