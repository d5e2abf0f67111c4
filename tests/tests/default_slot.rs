//! The `default` slot through the real module: keys of the `default`
//! instance (material held by the daemon in software, no HSM) used with
//! the mechanisms its token lists — AES-GCM, ECDSA, RSA PKCS#1 v1.5,
//! RSA-OAEP — and random bytes from the daemon's generator. Signatures are
//! checked by openssl too, with the public keys' PKCS#11 attributes.
//!
//! It loads the module, so this file holds one test.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use cryptoki::error::RvError;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

use p11kms_tests::{Daemon, load_module, run, rv, slot_labelled};

/// A DER element (definite length, short or long form).
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    match len {
        0..=0x7f => out.push(len as u8),
        0x80..=0xff => out.extend([0x81, len as u8]),
        _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// A DER INTEGER of a big-endian unsigned value.
fn der_uint(value: &[u8]) -> Vec<u8> {
    let start = value.iter().position(|b| *b != 0).unwrap_or(value.len().saturating_sub(1));
    let value = &value[start..];
    let sign = if value.first().is_some_and(|b| b & 0x80 != 0) { &[0u8][..] } else { &[] };
    der(0x02, &[sign, value].concat())
}

/// The SubjectPublicKeyInfo of an algorithm and its key bits.
fn spki(algorithm: &[u8], key: &[u8]) -> Vec<u8> {
    der(0x30, &[der(0x30, algorithm), der(0x03, &[&[0u8][..], key].concat())].concat())
}

/// A P-256 public key from `CKA_EC_POINT` (an OCTET STRING of the point).
fn p256_spki(ec_point: &[u8]) -> Vec<u8> {
    let ec_public_key = [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    let prime256v1 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    assert_eq!(&ec_point[..2], &[0x04, 0x41], "an uncompressed P-256 point in an OCTET STRING");
    spki(&[&ec_public_key[..], &prime256v1].concat(), &ec_point[2..])
}

/// An RSA public key from `CKA_MODULUS` and `CKA_PUBLIC_EXPONENT`.
fn rsa_spki(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    let rsa_encryption = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
    spki(&rsa_encryption, &der(0x30, &[der_uint(modulus), der_uint(exponent)].concat()))
}

/// `openssl dgst -sha256 -verify` of `signature` over `message`, with a
/// DER public key.
fn openssl_verifies(dir: &Path, public_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    std::fs::write(dir.join("key.der"), public_der).expect("key");
    std::fs::write(dir.join("message"), message).expect("message");
    std::fs::write(dir.join("signature"), signature).expect("signature");
    run(Command::new("openssl")
        .args(["pkey", "-pubin", "-inform", "DER", "-in", "key.der", "-out", "key.pem"])
        .current_dir(dir));
    Command::new("openssl")
        .args(["dgst", "-sha256", "-verify", "key.pem", "-signature", "signature", "message"])
        .current_dir(dir)
        .output()
        .expect("openssl")
        .status
        .success()
}

/// AES-GCM with a 12-byte IV, a 128-bit tag and some additional data.
fn gcm(iv: &mut [u8; 12]) -> Mechanism<'_> {
    Mechanism::AesGcm(GcmParams::new(iv, b"header", 128.into()).expect("GCM params"))
}

/// The one object of `class` labelled `label`.
fn find(session: &Session, class: ObjectClass, label: &str) -> ObjectHandle {
    let found =
        session.find_objects(&[Attribute::Class(class), Attribute::Label(label.as_bytes().to_vec())]).expect("find");
    assert_eq!(found.len(), 1, "one {class:?} labelled {label}");
    found[0]
}

fn bytes_attribute(session: &Session, object: ObjectHandle, ty: AttributeType) -> Vec<u8> {
    match session.get_attributes(object, &[ty]).expect("attribute").pop() {
        Some(Attribute::EcPoint(v) | Attribute::Modulus(v) | Attribute::PublicExponent(v)) => v,
        other => panic!("{ty:?}: {other:?}"),
    }
}

#[test]
fn default_slot_keys_work_in_software() {
    let daemon = Daemon::start();
    for (spec, usage, alias) in [
        ("AES_256", "ENCRYPT/DECRYPT", "alias/d-aes"),
        ("EC_P256", "SIGN/VERIFY", "alias/d-ec"),
        ("RSA_2048", "SIGN/VERIFY", "alias/d-rsa-sign"),
        ("RSA_2048", "ENCRYPT/DECRYPT", "alias/d-rsa-crypt"),
    ] {
        let args = ["key", "create", "--instance", "default", "--key-spec", spec, "--key-usage", usage];
        daemon.cli_json(&[&args[..], &["--alias", alias]].concat());
    }
    let pin = daemon.create_app("software-app", "default");
    let ctx = load_module(&daemon);
    let slot = slot_labelled(&ctx, "default");
    assert!(ctx.get_token_info(slot).expect("token").rng(), "the default token has a generator");
    let mechanisms = ctx.get_mechanism_list(slot).expect("mechanisms");
    for wanted in [MechanismType::AES_GCM, MechanismType::ECDSA, MechanismType::SHA256_RSA_PKCS] {
        assert!(mechanisms.contains(&wanted), "{wanted:?} is listed");
    }
    assert!(!mechanisms.contains(&MechanismType::AES_CBC_PAD), "only what the software vault does");
    let session = ctx.open_rw_session(slot).expect("session");
    session.login(UserType::User, Some(&AuthPin::from(pin))).expect("login with an app of default");
    let dir = tempfile::tempdir().expect("dir");

    // AES-GCM: a round trip, and a changed tag that does not authenticate.
    let aes = find(&session, ObjectClass::SECRET_KEY, "d-aes");
    let mut iv = [9u8; 12];
    let sealed = session.encrypt(&gcm(&mut iv), aes, b"default plaintext").expect("AES-GCM encrypt");
    assert_eq!(sealed.len(), b"default plaintext".len() + 16);
    assert_eq!(session.decrypt(&gcm(&mut iv), aes, &sealed).expect("AES-GCM decrypt"), b"default plaintext");
    let mut tampered = sealed.clone();
    *tampered.last_mut().expect("tag") ^= 1;
    assert_eq!(rv(session.decrypt(&gcm(&mut iv), aes, &tampered)), RvError::EncryptedDataInvalid);

    // A mechanism the slot does not offer.
    assert_eq!(rv(session.encrypt(&Mechanism::AesCbcPad([0; 16]), aes, b"x")), RvError::MechanismInvalid);

    // ECDSA P-256, checked by openssl with CKA_EC_POINT.
    let ec_private = find(&session, ObjectClass::PRIVATE_KEY, "d-ec");
    let ec_public = find(&session, ObjectClass::PUBLIC_KEY, "d-ec");
    let message = b"signed in software".to_vec();
    let signature = session.sign(&Mechanism::EcdsaSha256, ec_private, &message).expect("ECDSA sign");
    assert_eq!(signature.len(), 64, "raw r || s");
    session.verify(&Mechanism::EcdsaSha256, ec_public, &message, &signature).expect("ECDSA verify");
    let mut bad = signature.clone();
    bad[5] ^= 1;
    assert_eq!(rv(session.verify(&Mechanism::EcdsaSha256, ec_public, &message, &bad)), RvError::SignatureInvalid);
    let (r, s) = signature.split_at(32);
    let der_signature = der(0x30, &[der_uint(r), der_uint(s)].concat());
    let point = bytes_attribute(&session, ec_public, AttributeType::EcPoint);
    assert!(openssl_verifies(dir.path(), &p256_spki(&point), &message, &der_signature), "openssl verifies ECDSA");

    // RSA PKCS#1 v1.5 with SHA-256, checked by openssl with the modulus.
    let rsa_private = find(&session, ObjectClass::PRIVATE_KEY, "d-rsa-sign");
    let rsa_public = find(&session, ObjectClass::PUBLIC_KEY, "d-rsa-sign");
    let signature = session.sign(&Mechanism::Sha256RsaPkcs, rsa_private, &message).expect("RSA sign");
    assert_eq!(signature.len(), 256);
    session.verify(&Mechanism::Sha256RsaPkcs, rsa_public, &message, &signature).expect("RSA verify");
    assert_eq!(
        rv(session.verify(&Mechanism::Sha256RsaPkcs, rsa_public, b"another message", &signature)),
        RvError::SignatureInvalid
    );
    let modulus = bytes_attribute(&session, rsa_public, AttributeType::Modulus);
    let exponent = bytes_attribute(&session, rsa_public, AttributeType::PublicExponent);
    assert!(openssl_verifies(dir.path(), &rsa_spki(&modulus, &exponent), &message, &signature), "openssl verifies RSA");
    assert_eq!(rv(session.sign(&Mechanism::Ecdsa, rsa_private, &[1; 32])), RvError::KeyTypeInconsistent);

    // RSA-OAEP with SHA-256: the public object encrypts, the private decrypts.
    let oaep = Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
        MechanismType::SHA256,
        PkcsMgfType::MGF1_SHA256,
        PkcsOaepSource::empty(),
    ));
    let crypt_public = find(&session, ObjectClass::PUBLIC_KEY, "d-rsa-crypt");
    let crypt_private = find(&session, ObjectClass::PRIVATE_KEY, "d-rsa-crypt");
    let sealed = session.encrypt(&oaep, crypt_public, b"for the private half").expect("OAEP encrypt");
    assert_eq!(sealed.len(), 256);
    assert_eq!(session.decrypt(&oaep, crypt_private, &sealed).expect("OAEP decrypt"), b"for the private half");
    let mut garbled = sealed.clone();
    garbled[100] ^= 1;
    assert_eq!(rv(session.decrypt(&oaep, crypt_private, &garbled)), RvError::EncryptedDataInvalid);

    // Random bytes from the daemon's generator.
    let first = session.generate_random_vec(32).expect("random");
    let second = session.generate_random_vec(32).expect("random");
    assert_eq!((first.len(), second.len()), (32, 32));
    assert_ne!(first, second);
}
