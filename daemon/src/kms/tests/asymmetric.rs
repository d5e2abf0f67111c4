//! Asymmetric keys (`asymmetric.rs`): RSA-PSS, RSA-PKCS1 and ECDSA (P-256
//! and secp256k1) signatures over a SHA-256 digest verify with the KMS and
//! with independent implementations reading the key from
//! `get-public-key` (so signatures and PEM are standard); ECDSA
//! signatures are DER; a changed signature or digest verifies `false`
//! (an answer, not an error); digests are 32 bytes; algorithms, usages
//! and specs must fit; RSA-OAEP with SHA-1 and SHA-256 round trips, also
//! with ciphertext made outside, within the OAEP length limits;
//! `get-public-key` gives a SubjectPublicKeyInfo in PEM that the encoding
//! module's parsers and `openssl` read, for the primary or a named version.

use std::process::Command;

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::pkcs8::DecodePublicKey;
use rsa::rand_core::OsRng;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Oaep, Pkcs1v15Sign, Pss, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use p11kms_proto::admin::{
    AsymmetricAlgorithm, AsymmetricDecryptRequest, AsymmetricEncryptRequest, KeySpec, KeyUsage, SignRequest,
    SigningAlgorithm, VerifyRequest,
};
use p11kms_proto::{ErrorCode, SecretBytes};

use super::code;
use crate::encoding::der::rsa_public_from_spki;
use crate::encoding::signature::ecdsa_raw_from_der;
use crate::kms::asymmetric;
use crate::kms::registry::KeyEntry;
use crate::kms::testing::{Fixture, pem_der};

fn rsa_key(fx: &Fixture, spec: KeySpec, usage: KeyUsage) -> KeyEntry {
    let mut new = fx.new_key(spec);
    new.usage = Some(usage);
    fx.create_with(new)
}

fn sign(
    fx: &Fixture,
    key: &KeyEntry,
    algorithm: SigningAlgorithm,
    digest: &[u8],
) -> Result<Vec<u8>, crate::kms::KmsError> {
    asymmetric::sign(
        &fx.kms,
        &SignRequest {
            key: key.record.key_id.clone(),
            key_version_id: key.record.primary_version.clone(),
            algorithm,
            digest: digest.to_vec(),
        },
    )
    .map(|s| {
        assert_eq!(
            (s.key_id.as_str(), s.key_version_id.as_str()),
            (key.record.key_id.as_str(), key.record.primary_version.as_str())
        );
        s.value
    })
}

fn verify(
    fx: &Fixture,
    key: &KeyEntry,
    algorithm: SigningAlgorithm,
    digest: &[u8],
    value: &[u8],
) -> Result<bool, crate::kms::KmsError> {
    asymmetric::verify(
        &fx.kms,
        &VerifyRequest {
            key: key.record.key_id.clone(),
            key_version_id: key.record.primary_version.clone(),
            algorithm,
            digest: digest.to_vec(),
            value: value.to_vec(),
        },
    )
    .map(|v| v.value)
}

/// The DER of the key's `get-public-key` PEM.
fn public_der(fx: &Fixture, key: &KeyEntry) -> Vec<u8> {
    let info = asymmetric::public_key(&fx.kms, &key.record.key_id, None).expect("a public key");
    assert_eq!(info.key_version_id, key.record.primary_version);
    pem_der(&info.public_key, "PUBLIC KEY")
}

/// The RSA public key `get-public-key` gives, read by the encoding module.
fn rsa_public(fx: &Fixture, key: &KeyEntry) -> RsaPublicKey {
    let (n, e) = rsa_public_from_spki(&public_der(fx, key)).expect("an RSA SubjectPublicKeyInfo");
    RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e)).expect("an RSA key")
}

fn digest(message: &str) -> Vec<u8> {
    Sha256::digest(message.as_bytes()).to_vec()
}

fn flipped(bytes: &[u8], index: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[index] ^= 0x01;
    out
}

#[test]
fn rsa_signatures_verify_here_and_elsewhere() {
    let fx = Fixture::new();
    let key = rsa_key(&fx, KeySpec::Rsa2048, KeyUsage::SignVerify);
    let public = rsa_public(&fx, &key);
    let d = digest("signed message");
    for algorithm in [SigningAlgorithm::RsaPssSha256, SigningAlgorithm::RsaPkcs1Sha256] {
        let signature = sign(&fx, &key, algorithm, &d).expect("signs");
        assert_eq!(signature.len(), 256, "{algorithm}");
        assert!(verify(&fx, &key, algorithm, &d, &signature).unwrap(), "{algorithm} verifies");
        let elsewhere = match algorithm {
            SigningAlgorithm::RsaPssSha256 => public.verify(Pss::new::<Sha256>(), &d, &signature),
            _ => public.verify(Pkcs1v15Sign::new::<Sha256>(), &d, &signature),
        };
        assert!(elsewhere.is_ok(), "{algorithm} is a standard signature: {elsewhere:?}");
        assert!(!verify(&fx, &key, algorithm, &d, &flipped(&signature, 100)).unwrap(), "a changed signature");
        assert!(!verify(&fx, &key, algorithm, &digest("another message"), &signature).unwrap(), "another digest");
        assert!(!verify(&fx, &key, algorithm, &d, &signature[1..]).unwrap(), "a short signature");
    }
}

#[test]
fn ecdsa_signatures_are_der_and_verify_here_and_elsewhere() {
    for spec in [KeySpec::EcP256, KeySpec::EcP256K] {
        let fx = Fixture::new();
        let key = fx.create(spec);
        let der = public_der(&fx, &key);
        let d = digest("signed message");
        let signature = sign(&fx, &key, SigningAlgorithm::EcdsaSha256, &d).expect("signs");
        assert_eq!(signature[0], 0x30, "a DER SEQUENCE");
        let raw = ecdsa_raw_from_der(&signature, 32).expect("strict DER of r and s");
        assert_eq!(raw.len(), 64);
        assert!(verify(&fx, &key, SigningAlgorithm::EcdsaSha256, &d, &signature).unwrap(), "{spec} verifies");
        let elsewhere = match spec {
            KeySpec::EcP256 => {
                let public = p256::ecdsa::VerifyingKey::from_public_key_der(&der).expect("a P-256 SPKI");
                let parsed = p256::ecdsa::Signature::from_der(&signature).expect("DER");
                public.verify_prehash(&d, &parsed).is_ok()
            }
            _ => {
                let public = k256::ecdsa::VerifyingKey::from_public_key_der(&der).expect("a secp256k1 SPKI");
                let parsed = k256::ecdsa::Signature::from_der(&signature).expect("DER");
                public.verify_prehash(&d, &parsed).is_ok()
            }
        };
        assert!(elsewhere, "{spec}: a standard signature under the published key");
        let last = signature.len() - 1;
        assert!(!verify(&fx, &key, SigningAlgorithm::EcdsaSha256, &d, &flipped(&signature, last)).unwrap());
        assert!(!verify(&fx, &key, SigningAlgorithm::EcdsaSha256, &digest("other"), &signature).unwrap());
        assert!(!verify(&fx, &key, SigningAlgorithm::EcdsaSha256, &d, &raw).unwrap(), "raw r || s is not DER");
        assert!(!verify(&fx, &key, SigningAlgorithm::EcdsaSha256, &d, b"").unwrap());
    }
}

#[test]
fn a_digest_is_32_bytes() {
    let fx = Fixture::new();
    let ec = fx.create(KeySpec::EcP256);
    let rsa = rsa_key(&fx, KeySpec::Rsa2048, KeyUsage::SignVerify);
    let good = sign(&fx, &ec, SigningAlgorithm::EcdsaSha256, &[1; 32]).unwrap();
    for len in [0, 20, 31, 33, 64] {
        let d = vec![1; len];
        assert_eq!(code(sign(&fx, &ec, SigningAlgorithm::EcdsaSha256, &d)), ErrorCode::InvalidParameter, "{len}");
        assert_eq!(code(sign(&fx, &rsa, SigningAlgorithm::RsaPkcs1Sha256, &d)), ErrorCode::InvalidParameter, "{len}");
        assert_eq!(code(sign(&fx, &rsa, SigningAlgorithm::RsaPssSha256, &d)), ErrorCode::InvalidParameter, "{len}");
        assert_eq!(code(verify(&fx, &ec, SigningAlgorithm::EcdsaSha256, &d, &good)), ErrorCode::InvalidParameter);
    }
}

#[test]
fn algorithm_usage_and_spec_must_fit_the_key() {
    let fx = Fixture::new();
    let ec = fx.create(KeySpec::EcP256);
    let signer = rsa_key(&fx, KeySpec::Rsa2048, KeyUsage::SignVerify);
    let encrypter = rsa_key(&fx, KeySpec::Rsa2048, KeyUsage::EncryptDecrypt);
    let aes = fx.create(KeySpec::Aes256);
    let d = [3; 32];
    assert_eq!(code(sign(&fx, &signer, SigningAlgorithm::EcdsaSha256, &d)), ErrorCode::InvalidParameter);
    assert_eq!(code(sign(&fx, &ec, SigningAlgorithm::RsaPssSha256, &d)), ErrorCode::InvalidParameter);
    assert_eq!(code(sign(&fx, &encrypter, SigningAlgorithm::RsaPssSha256, &d)), ErrorCode::UnsupportedOperation);
    assert_eq!(code(sign(&fx, &aes, SigningAlgorithm::RsaPssSha256, &d)), ErrorCode::UnsupportedOperation);
    let refused = sign(&fx, &aes, SigningAlgorithm::RsaPssSha256, &d).expect_err("AES does not sign");
    assert!(refused.to_string().contains("signing takes an asymmetric key"), "says what signs: {refused}");
    for key in [&ec, &signer, &aes] {
        let encrypt = asymmetric::encrypt(
            &fx.kms,
            &AsymmetricEncryptRequest {
                key: key.record.key_id.clone(),
                key_version_id: key.record.primary_version.clone(),
                algorithm: AsymmetricAlgorithm::RsaesOaepSha256,
                plaintext: "x".into(),
            },
        );
        assert_eq!(code(encrypt), ErrorCode::UnsupportedOperation, "{}", key.record.key_spec);
    }
    assert_eq!(code(asymmetric::public_key(&fx.kms, &aes.record.key_id, None)), ErrorCode::UnsupportedOperation);
}

#[test]
fn a_version_must_be_the_keys() {
    let fx = Fixture::new();
    let a = fx.create(KeySpec::EcP256);
    let b = fx.create(KeySpec::EcP256);
    let request = SignRequest {
        key: a.record.key_id.clone(),
        key_version_id: b.record.primary_version.clone(),
        algorithm: SigningAlgorithm::EcdsaSha256,
        digest: vec![0; 32],
    };
    assert_eq!(code(asymmetric::sign(&fx.kms, &request)), ErrorCode::ResourceNotFound);
    assert_eq!(
        code(asymmetric::public_key(&fx.kms, &a.record.key_id, Some(&b.record.primary_version))),
        ErrorCode::ResourceNotFound
    );
    let named = asymmetric::public_key(&fx.kms, &a.record.key_id, Some(&a.record.primary_version)).expect("by version");
    assert_eq!(named, asymmetric::public_key(&fx.kms, &a.record.key_id, None).unwrap(), "the primary by default");
}

#[test]
fn rsa_oaep_round_trips_with_sha1_and_sha256() {
    let fx = Fixture::new();
    let key = rsa_key(&fx, KeySpec::Rsa2048, KeyUsage::EncryptDecrypt);
    let public = rsa_public(&fx, &key);
    let request = |algorithm, plaintext: &[u8]| AsymmetricEncryptRequest {
        key: key.record.key_id.clone(),
        key_version_id: key.record.primary_version.clone(),
        algorithm,
        plaintext: SecretBytes::new(plaintext.to_vec()),
    };
    let decrypt = |algorithm, ciphertext: &[u8]| {
        asymmetric::decrypt(
            &fx.kms,
            &AsymmetricDecryptRequest {
                key: key.record.key_id.clone(),
                key_version_id: key.record.primary_version.clone(),
                algorithm,
                ciphertext_blob: ciphertext.to_vec(),
            },
        )
        .map(|d| d.plaintext.expose().to_vec())
    };
    for (algorithm, other, longest) in [
        (AsymmetricAlgorithm::RsaesOaepSha1, AsymmetricAlgorithm::RsaesOaepSha256, 214),
        (AsymmetricAlgorithm::RsaesOaepSha256, AsymmetricAlgorithm::RsaesOaepSha1, 190),
    ] {
        let sealed = asymmetric::encrypt(&fx.kms, &request(algorithm, b"a secret")).expect("encrypts");
        assert_eq!(sealed.ciphertext_blob.len(), 256);
        assert_eq!(decrypt(algorithm, &sealed.ciphertext_blob).unwrap(), b"a secret", "{algorithm}");
        assert_eq!(code(decrypt(other, &sealed.ciphertext_blob)), ErrorCode::InvalidCiphertext, "{algorithm}");
        assert_eq!(code(decrypt(algorithm, &flipped(&sealed.ciphertext_blob, 7))), ErrorCode::InvalidCiphertext);
        // Ciphertext made by a client with the published key.
        let outside = match algorithm {
            AsymmetricAlgorithm::RsaesOaepSha1 => public.encrypt(&mut OsRng, Oaep::new::<Sha1>(), b"from outside"),
            AsymmetricAlgorithm::RsaesOaepSha256 => public.encrypt(&mut OsRng, Oaep::new::<Sha256>(), b"from outside"),
        }
        .unwrap();
        assert_eq!(decrypt(algorithm, &outside).unwrap(), b"from outside", "{algorithm}");
        // The OAEP limit: k - 2 hLen - 2 bytes.
        let fits = asymmetric::encrypt(&fx.kms, &request(algorithm, &vec![5; longest])).expect("the longest plaintext");
        assert_eq!(decrypt(algorithm, &fits.ciphertext_blob).unwrap(), vec![5; longest]);
        assert_eq!(
            code(asymmetric::encrypt(&fx.kms, &request(algorithm, &vec![5; longest + 1]))),
            ErrorCode::InvalidParameter,
            "{algorithm}"
        );
    }
}

/// Runs `openssl pkey` on a PEM public key and returns its text.
fn openssl_text(pem: &str) -> String {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("public.pem");
    std::fs::write(&path, pem).expect("writes the PEM");
    let output = Command::new("openssl")
        .args(["pkey", "-pubin", "-noout", "-text", "-in"])
        .arg(&path)
        .output()
        .expect("the openssl command runs (is it installed?)");
    assert!(output.status.success(), "openssl refuses the PEM: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn get_public_key_gives_a_pem_subject_public_key_info() {
    let fx = Fixture::new();
    // RSA: the encoding module's parser gives back the version's key.
    let rsa = rsa_key(&fx, KeySpec::Rsa2048, KeyUsage::SignVerify);
    let info = asymmetric::public_key(&fx.kms, &rsa.record.key_id, None).unwrap();
    let (n, e) = rsa_public_from_spki(&pem_der(&info.public_key, "PUBLIC KEY")).expect("RSA SPKI");
    let Some(crate::hsm::PublicKey::Rsa { modulus, .. }) = &rsa.versions[0].public_key else { panic!("an RSA key") };
    assert_eq!(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(modulus));
    assert_eq!(e, [1, 0, 1]);
    assert_eq!(rsa_public(&fx, &rsa).n().bits(), 2048);
    assert!(openssl_text(&info.public_key).contains("Public-Key: (2048 bit)"));

    // EC: id-ecPublicKey with the curve's OID, and the uncompressed point.
    for (spec, curve_oid, openssl_name) in [
        (KeySpec::EcP256, &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07][..], "prime256v1"),
        (KeySpec::EcP256K, &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a][..], "secp256k1"),
    ] {
        let key = fx.create(spec);
        let info = asymmetric::public_key(&fx.kms, &key.record.key_id, None).unwrap();
        let der = pem_der(&info.public_key, "PUBLIC KEY");
        let algorithm = [&[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01][..], curve_oid].concat();
        let expected_prefix = [
            &[0x30, (algorithm.len() + 2 + 2 + 66) as u8, 0x30, algorithm.len() as u8][..],
            &algorithm,
            &[0x03, 0x42, 0x00, 0x04],
        ]
        .concat();
        assert_eq!(&der[..expected_prefix.len()], &expected_prefix[..], "{spec}");
        assert_eq!(der.len(), expected_prefix.len() + 64, "{spec}");
        let Some(crate::hsm::PublicKey::Ec { point, .. }) = &key.versions[0].public_key else { panic!("an EC key") };
        assert_eq!(&der[der.len() - 65..], &point[2..], "{spec}: the version's point");
        assert!(openssl_text(&info.public_key).contains(openssl_name), "{spec}");
    }
}

#[test]
fn rsa_3072_keys_sign_and_publish_3072_bits() {
    let fx = Fixture::new();
    let key = rsa_key(&fx, KeySpec::Rsa3072, KeyUsage::SignVerify);
    let public = rsa_public(&fx, &key);
    assert_eq!(public.n().bits(), 3072);
    let d = digest("long key");
    let signature = sign(&fx, &key, SigningAlgorithm::RsaPssSha256, &d).unwrap();
    assert_eq!(signature.len(), 384);
    assert!(public.verify(Pss::new::<Sha256>(), &d, &signature).is_ok());
    assert!(verify(&fx, &key, SigningAlgorithm::RsaPssSha256, &d, &signature).unwrap());
}
