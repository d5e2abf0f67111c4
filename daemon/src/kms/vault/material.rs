//! Key material in software: what the daemon itself holds for the
//! `default` instance ([`super::software`]) and what the unit tests'
//! in-memory vault holds (`memory`). One implementation of the
//! cryptography (RustCrypto's AES-GCM, ECDSA on P-256 and secp256k1, RSA)
//! answering exactly as the HSM vault does: the same signature encodings,
//! the same check values, `None` for what does not authenticate.
//!
//! Material is encoded for sealing as a kind byte and the key (raw AES
//! bytes, or the private key as PKCS#8 DER), every buffer of it zeroized
//! when dropped.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::aes::cipher::generic_array::GenericArray;
use aes_gcm::aes::cipher::{BlockEncrypt, KeyInit};
use aes_gcm::aes::{Aes128, Aes256};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::rand_core::OsRng;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, Pkcs1v15Encrypt, Pkcs1v15Sign, Pss, RsaPrivateKey};
use sha1::Sha1;
use sha2::Sha256;
use zeroize::Zeroizing;

use p11kms_proto::SecretBytes;
use p11kms_proto::admin::{AsymmetricAlgorithm, KeySpec, WrappingAlgorithm};

use super::{GCM_IV_LEN, RsaPublic, SignScheme};
use crate::hsm::PublicKey;
use crate::hsm::import::CHECK_BLOCK;
use crate::hsm::objects::{P256_PARAMS, SECP256K1_PARAMS};
use crate::kms::KmsError;

/// Key material of one version.
pub enum Material {
    /// An AES key (16 or 32 bytes).
    Aes(Zeroizing<Vec<u8>>),
    /// An RSA key pair.
    Rsa(Box<RsaPrivateKey>),
    /// An ECDSA key pair on P-256.
    P256(p256::ecdsa::SigningKey),
    /// An ECDSA key pair on secp256k1.
    K256(k256::ecdsa::SigningKey),
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Aes(_) => "Aes(<redacted>)",
            Self::Rsa(_) => "Rsa(<redacted>)",
            Self::P256(_) => "P256(<redacted>)",
            Self::K256(_) => "K256(<redacted>)",
        })
    }
}

/// A fault of the software cryptography (never an answer to a caller's
/// bad input: those are `None` or `false`).
pub fn fault(what: &str) -> KmsError {
    KmsError::Internal(format!("software vault: {what}"))
}

/// CKA_EC_POINT as an HSM gives it: the uncompressed point in a DER
/// OCTET STRING.
fn ec_point(uncompressed: &[u8]) -> Vec<u8> {
    [&[0x04, uncompressed.len() as u8][..], uncompressed].concat()
}

const KIND_AES: u8 = 1;
const KIND_RSA: u8 = 2;
const KIND_P256: u8 = 3;
const KIND_K256: u8 = 4;

impl Material {
    /// New material of `spec`, from the operating system's generator.
    pub fn generate(spec: KeySpec) -> Result<Self, KmsError> {
        Ok(match spec {
            KeySpec::Aes256 => Self::Aes(Zeroizing::new(rand::random::<[u8; 32]>().to_vec())),
            KeySpec::Aes128 => Self::Aes(Zeroizing::new(rand::random::<[u8; 16]>().to_vec())),
            KeySpec::Rsa2048 | KeySpec::Rsa3072 => {
                let bits = if spec == KeySpec::Rsa2048 { 2048 } else { 3072 };
                Self::Rsa(Box::new(RsaPrivateKey::new(&mut OsRng, bits).map_err(|e| fault(&e.to_string()))?))
            }
            KeySpec::EcP256 => Self::P256(p256::ecdsa::SigningKey::random(&mut OsRng)),
            KeySpec::EcP256K => Self::K256(k256::ecdsa::SigningKey::random(&mut OsRng)),
        })
    }

    /// The public half, as the HSM vault reports it; `None` for AES.
    pub fn public(&self) -> Option<PublicKey> {
        match self {
            Self::Aes(_) => None,
            Self::Rsa(key) => Some(PublicKey::Rsa { modulus: key.n().to_bytes_be(), exponent: key.e().to_bytes_be() }),
            Self::P256(key) => Some(PublicKey::Ec {
                params: P256_PARAMS.to_vec(),
                point: ec_point(key.verifying_key().to_encoded_point(false).as_bytes()),
            }),
            Self::K256(key) => Some(PublicKey::Ec {
                params: SECP256K1_PARAMS.to_vec(),
                point: ec_point(key.verifying_key().to_encoded_point(false).as_bytes()),
            }),
        }
    }

    /// The key as an HSM unwraps it: raw AES bytes, or the private key as
    /// PKCS#8 DER.
    pub fn key_bytes(&self) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let der = match self {
            Self::Aes(key) => return Ok(key.clone()),
            Self::Rsa(key) => key.to_pkcs8_der(),
            Self::P256(key) => key.to_pkcs8_der(),
            Self::K256(key) => key.to_pkcs8_der(),
        }
        .map_err(|e| fault(&format!("PKCS#8 encoding: {e}")))?;
        Ok(Zeroizing::new(der.as_bytes().to_vec()))
    }

    /// The encoding that is sealed: a kind byte, then [`Self::key_bytes`].
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let kind = match self {
            Self::Aes(_) => KIND_AES,
            Self::Rsa(_) => KIND_RSA,
            Self::P256(_) => KIND_P256,
            Self::K256(_) => KIND_K256,
        };
        let key = self.key_bytes()?;
        let mut out = Zeroizing::new(Vec::with_capacity(key.len() + 1));
        out.push(kind);
        out.extend_from_slice(&key);
        Ok(out)
    }

    /// Reads back what [`Self::encode`] made.
    pub fn decode(encoded: &[u8]) -> Result<Self, KmsError> {
        let (&kind, key) = encoded.split_first().ok_or_else(|| fault("empty material"))?;
        let corrupt = |e: &dyn std::fmt::Display| fault(&format!("material does not decode: {e}"));
        Ok(match kind {
            KIND_AES if matches!(key.len(), 16 | 32) => Self::Aes(Zeroizing::new(key.to_vec())),
            KIND_RSA => Self::Rsa(Box::new(RsaPrivateKey::from_pkcs8_der(key).map_err(|e| corrupt(&e))?)),
            KIND_P256 => Self::P256(p256::ecdsa::SigningKey::from_pkcs8_der(key).map_err(|e| corrupt(&e))?),
            KIND_K256 => Self::K256(k256::ecdsa::SigningKey::from_pkcs8_der(key).map_err(|e| corrupt(&e))?),
            _ => return Err(fault("unknown material kind")),
        })
    }

    fn aes(&self) -> Result<&[u8], KmsError> {
        match self {
            Self::Aes(key) => Ok(key),
            _ => Err(fault("not an AES version")),
        }
    }

    fn rsa(&self) -> Result<&RsaPrivateKey, KmsError> {
        match self {
            Self::Rsa(key) => Ok(key),
            _ => Err(fault("not an RSA version")),
        }
    }

    /// AES-GCM encryption, 128-bit tag appended.
    pub fn seal(&self, iv: &[u8; GCM_IV_LEN], aad: &[u8], msg: &[u8]) -> Result<Vec<u8>, KmsError> {
        let key = self.aes()?;
        let payload = Payload { msg, aad };
        let nonce = Nonce::from_slice(iv);
        match key.len() {
            32 => Aes256Gcm::new_from_slice(key).map_err(|_| fault("AES key"))?.encrypt(nonce, payload),
            16 => Aes128Gcm::new_from_slice(key).map_err(|_| fault("AES key"))?.encrypt(nonce, payload),
            _ => return Err(fault("AES key length")),
        }
        .map_err(|_| fault("AES-GCM"))
    }

    /// AES-GCM decryption; `None` when it does not authenticate.
    pub fn open(&self, iv: &[u8; GCM_IV_LEN], aad: &[u8], msg: &[u8]) -> Result<Option<SecretBytes>, KmsError> {
        let key = self.aes()?;
        let payload = Payload { msg, aad };
        let nonce = Nonce::from_slice(iv);
        let opened = match key.len() {
            32 => Aes256Gcm::new_from_slice(key).map_err(|_| fault("AES key"))?.decrypt(nonce, payload),
            16 => Aes128Gcm::new_from_slice(key).map_err(|_| fault("AES key"))?.decrypt(nonce, payload),
            _ => return Err(fault("AES key length")),
        };
        Ok(opened.ok().map(SecretBytes::new))
    }

    /// AES-ECB of [`CHECK_BLOCK`]: an imported key's check value, as the
    /// HSM vault computes it inside the HSM.
    pub fn check_value(&self) -> Result<Vec<u8>, KmsError> {
        let key = self.aes()?;
        let mut block = GenericArray::clone_from_slice(&CHECK_BLOCK);
        match key.len() {
            32 => Aes256::new_from_slice(key).map_err(|_| fault("AES key"))?.encrypt_block(&mut block),
            16 => Aes128::new_from_slice(key).map_err(|_| fault("AES key"))?.encrypt_block(&mut block),
            _ => return Err(fault("AES key length")),
        }
        Ok(block.to_vec())
    }

    /// Signs `input` (see [`SignScheme`]).
    pub fn sign(&self, scheme: SignScheme, input: &[u8]) -> Result<Vec<u8>, KmsError> {
        match (scheme, self) {
            // Blinded: the private-key operation never runs on the input as given.
            (SignScheme::RsaPkcs1, Self::Rsa(key)) => {
                key.sign_with_rng(&mut OsRng, Pkcs1v15Sign::new_unprefixed(), input).map_err(|e| fault(&e.to_string()))
            }
            (SignScheme::RsaPssSha256, Self::Rsa(key)) => {
                key.sign_with_rng(&mut OsRng, Pss::new::<Sha256>(), input).map_err(|e| fault(&e.to_string()))
            }
            (SignScheme::Ecdsa, Self::P256(key)) => {
                let signature: p256::ecdsa::Signature = key.sign_prehash(input).map_err(|e| fault(&e.to_string()))?;
                Ok(signature.to_bytes().to_vec())
            }
            (SignScheme::Ecdsa, Self::K256(key)) => {
                let signature: k256::ecdsa::Signature = key.sign_prehash(input).map_err(|e| fault(&e.to_string()))?;
                Ok(signature.to_bytes().to_vec())
            }
            _ => Err(fault("scheme and key do not match")),
        }
    }

    /// Checks a signature; `false` when it is not valid.
    pub fn verify(&self, scheme: SignScheme, input: &[u8], signature: &[u8]) -> Result<bool, KmsError> {
        match (scheme, self) {
            (SignScheme::RsaPkcs1, Self::Rsa(key)) => {
                Ok(key.to_public_key().verify(Pkcs1v15Sign::new_unprefixed(), input, signature).is_ok())
            }
            (SignScheme::RsaPssSha256, Self::Rsa(key)) => {
                Ok(key.to_public_key().verify(Pss::new::<Sha256>(), input, signature).is_ok())
            }
            (SignScheme::Ecdsa, Self::P256(key)) => Ok(p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|s| key.verifying_key().verify_prehash(input, &s).is_ok())),
            (SignScheme::Ecdsa, Self::K256(key)) => Ok(k256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|s| key.verifying_key().verify_prehash(input, &s).is_ok())),
            _ => Err(fault("scheme and key do not match")),
        }
    }

    /// RSA-OAEP encryption with the public half.
    pub fn rsa_encrypt(&self, algorithm: AsymmetricAlgorithm, plaintext: &[u8]) -> Result<Vec<u8>, KmsError> {
        let public = self.rsa()?.to_public_key();
        match algorithm {
            AsymmetricAlgorithm::RsaesOaepSha1 => public.encrypt(&mut OsRng, Oaep::new::<Sha1>(), plaintext),
            AsymmetricAlgorithm::RsaesOaepSha256 => public.encrypt(&mut OsRng, Oaep::new::<Sha256>(), plaintext),
        }
        .map_err(|e| fault(&e.to_string()))
    }

    /// RSA-OAEP decryption; `None` when the ciphertext does not decrypt.
    pub fn rsa_decrypt(
        &self,
        algorithm: AsymmetricAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Option<SecretBytes>, KmsError> {
        let key = self.rsa()?;
        // Blinded (see `unwrap_imported`).
        let plaintext = match algorithm {
            AsymmetricAlgorithm::RsaesOaepSha1 => key.decrypt_blinded(&mut OsRng, Oaep::new::<Sha1>(), ciphertext),
            AsymmetricAlgorithm::RsaesOaepSha256 => key.decrypt_blinded(&mut OsRng, Oaep::new::<Sha256>(), ciphertext),
        };
        Ok(plaintext.ok().map(SecretBytes::new))
    }
}

/// A new import token's RSA-2048 wrapping key, and its public half.
pub fn new_wrapping_key() -> Result<(RsaPrivateKey, RsaPublic), KmsError> {
    let key = RsaPrivateKey::new(&mut OsRng, 2048).map_err(|e| fault(&e.to_string()))?;
    let public = RsaPublic { modulus: key.n().to_bytes_be(), exponent: key.e().to_bytes_be() };
    Ok((key, public))
}

/// Unwraps imported material with an import token's key: 256-bit AES
/// material, or [`KmsError::MaterialRefused`].
pub fn unwrap_imported(
    key: &RsaPrivateKey,
    algorithm: WrappingAlgorithm,
    wrapped: &[u8],
) -> Result<Material, KmsError> {
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
    Ok(Material::Aes(material))
}

/// A wrapping key pair's private half as sealed (PKCS#8 DER).
pub fn encode_wrapping_key(key: &RsaPrivateKey) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let der = key.to_pkcs8_der().map_err(|e| fault(&format!("PKCS#8 encoding: {e}")))?;
    Ok(Zeroizing::new(der.as_bytes().to_vec()))
}

/// Reads back [`encode_wrapping_key`]'s bytes.
pub fn decode_wrapping_key(der: &[u8]) -> Result<RsaPrivateKey, KmsError> {
    RsaPrivateKey::from_pkcs8_der(der).map_err(|e| fault(&format!("wrapping key does not decode: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use super::*;

    #[test]
    fn every_spec_survives_its_encoding_and_keeps_its_public_half() {
        for spec in [KeySpec::Aes256, KeySpec::Aes128, KeySpec::Rsa2048, KeySpec::EcP256, KeySpec::EcP256K] {
            let material = Material::generate(spec).expect("generated");
            let decoded = Material::decode(&material.encode().expect("encoded")).expect("decoded");
            assert_eq!(decoded.public(), material.public(), "{spec}");
            assert_eq!(decoded.key_bytes().expect("bytes"), material.key_bytes().expect("bytes"), "{spec}");
        }
    }

    #[test]
    fn damaged_encodings_are_faults_not_keys() {
        assert!(Material::decode(&[]).is_err());
        assert!(Material::decode(&[9, 1, 2]).is_err());
        assert!(Material::decode(&[KIND_AES, 1, 2, 3]).is_err(), "an AES key of 3 bytes");
        assert!(Material::decode(&[KIND_RSA, 0x30, 0x03, 1, 2, 3]).is_err());
    }

    #[test]
    fn signatures_and_ciphertexts_answer_as_the_hsm_does() {
        let ec = Material::generate(KeySpec::EcP256).expect("generated");
        let digest = [5u8; 32];
        let signature = ec.sign(SignScheme::Ecdsa, &digest).expect("signed");
        assert_eq!(signature.len(), 64, "raw r || s");
        assert!(ec.verify(SignScheme::Ecdsa, &digest, &signature).expect("checked"));
        assert!(!ec.verify(SignScheme::Ecdsa, &[6u8; 32], &signature).expect("checked"));
        assert!(!ec.verify(SignScheme::Ecdsa, &digest, b"short").expect("a malformed signature is not valid"));
        let aes = Material::generate(KeySpec::Aes256).expect("generated");
        let sealed = aes.seal(&[1; 12], b"aad", b"plain").expect("sealed");
        assert_eq!(aes.open(&[1; 12], b"aad", &sealed).expect("opened").expect("authentic").expose(), b"plain");
        assert!(aes.open(&[1; 12], b"other", &sealed).expect("no fault").is_none());
        assert!(aes.sign(SignScheme::Ecdsa, &digest).is_err(), "AES does not sign");
    }
}
