//! The module loaded by the `cryptoki` crate, as a Rust application would.
//!
//! A process can load the module once and the module finds its daemon
//! through the environment, so this file is one test that walks through
//! its scenarios in order against one daemon; scenarios use their own keys.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::vendor_defined::VendorDefinedMechanism;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use p11kms_tests::{Daemon, load_module, module, rv};

fn one(session: &Session, template: &[Attribute]) -> ObjectHandle {
    let found = session.find_objects(template).expect("find");
    assert_eq!(found.len(), 1, "exactly one object for {template:?}");
    found[0]
}

#[test]
fn cryptoki_scenarios() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("rusty", "hsm1");
    let ctx = load_module(&daemon);

    let again = Pkcs11::new(module()).expect("load again");
    assert_eq!(
        rv(again.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))),
        RvError::CryptokiAlreadyInitialized
    );

    let slots = ctx.get_slots_with_token().expect("slots");
    assert_eq!(slots.len(), 2);
    let slot = slots
        .into_iter()
        .find(|s| ctx.get_token_info(*s).map(|t| t.label() == "hsm1").unwrap_or(false))
        .expect("the hsm1 token");
    let session = ctx.open_rw_session(slot).expect("session");
    assert_eq!(rv(session.login(UserType::User, Some(&AuthPin::from("0".repeat(40))))), RvError::PinIncorrect);
    session.login(UserType::User, Some(&AuthPin::from(pin.clone()))).expect("login");

    aes_gcm_and_cbc_pad(&session);
    pkcs11_tool_encrypts_and_cryptoki_decrypts(&daemon, &session, &pin);
    ec_sign_and_verify(&session);
    objects_and_attributes(&session, &daemon);
    envelope_across_rotations(&session, &daemon);
    logout_hides_private_objects(&session, slot, &ctx);
}

fn aes_gcm_and_cbc_pad(session: &Session) {
    let template = [
        Attribute::Token(true),
        Attribute::ValueLen(32.into()),
        Attribute::Label(b"aes-gcm".to_vec()),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
    ];
    let key = session.generate_key(&Mechanism::AesKeyGen, &template).expect("AES key");
    let plaintext = b"attack at dawn, in authenticated mode".to_vec();
    let mut iv = [7u8; 12];
    let aad = b"header";
    fn gcm<'a>(iv: &'a mut [u8; 12], aad: &'a [u8]) -> Mechanism<'a> {
        Mechanism::AesGcm(GcmParams::new(iv, aad, 128.into()).expect("gcm params"))
    }
    let ciphertext = session.encrypt(&gcm(&mut iv, aad), key, &plaintext).expect("GCM encrypt");
    assert_eq!(ciphertext.len(), plaintext.len() + 16, "tag appended");
    assert_eq!(session.decrypt(&gcm(&mut iv, aad), key, &ciphertext).expect("GCM decrypt"), plaintext);
    let mut tampered = ciphertext.clone();
    tampered[3] ^= 1;
    assert_eq!(rv(session.decrypt(&gcm(&mut iv, aad), key, &tampered)), RvError::EncryptedDataInvalid);

    let cbc = Mechanism::AesCbcPad([9; 16]);
    let ciphertext = session.encrypt(&cbc, key, &plaintext).expect("CBC-PAD encrypt");
    assert_eq!(ciphertext.len(), 48, "37 bytes pad to 48");
    assert_eq!(session.decrypt(&cbc, key, &ciphertext).expect("CBC-PAD decrypt"), plaintext);
    // A key is usable for its KMS usage only.
    assert_eq!(rv(session.sign(&Mechanism::AesCMac, key, b"x")), RvError::KeyFunctionNotPermitted);
}

fn pkcs11_tool_encrypts_and_cryptoki_decrypts(daemon: &Daemon, session: &Session, pin: &str) {
    daemon.pkcs11_tool(&["--login", "--pin", pin, "--keygen", "--key-type", "AES:32", "--label", "shared-aes"]);
    let id =
        daemon.cli_json(&["key", "describe", "alias/shared-aes"])["Pkcs11Id"].as_str().expect("Pkcs11Id").to_owned();
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("plain"), b"written by pkcs11-tool").expect("plain");
    let iv = "000102030405060708090a0b0c0d0e0f";
    daemon.pkcs11_tool(&[
        "--login",
        "--pin",
        pin,
        "--encrypt",
        "-m",
        "AES-CBC-PAD",
        "--iv",
        iv,
        // OpenSC 0.23 picks the key of --encrypt by --id, never by label.
        "--id",
        &id,
        "-i",
        dir.path().join("plain").to_str().expect("path"),
        "-o",
        dir.path().join("cipher").to_str().expect("path"),
    ]);
    let ciphertext = std::fs::read(dir.path().join("cipher")).expect("ciphertext");
    let key = one(session, &[Attribute::Label(b"shared-aes".to_vec()), Attribute::Class(ObjectClass::SECRET_KEY)]);
    let iv: [u8; 16] = std::array::from_fn(|i| i as u8);
    let plain = session.decrypt(&Mechanism::AesCbcPad(iv), key, &ciphertext).expect("decrypt");
    assert_eq!(plain, b"written by pkcs11-tool");
}

fn ec_sign_and_verify(session: &Session) {
    let public_t = [
        Attribute::Token(true),
        Attribute::EcParams(vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
        Attribute::Verify(true),
        Attribute::Label(b"ec-rust".to_vec()),
    ];
    let private_t =
        [Attribute::Token(true), Attribute::Sign(true), Attribute::Private(true), Attribute::Sensitive(true)];
    let (public, private) =
        session.generate_key_pair(&Mechanism::EccKeyPairGen, &public_t, &private_t).expect("EC pair");
    let digest = [0x42u8; 32];
    let signature = session.sign(&Mechanism::Ecdsa, private, &digest).expect("sign");
    assert_eq!(signature.len(), 64);
    session.verify(&Mechanism::Ecdsa, public, &digest, &signature).expect("verify");
    let mut bad = signature.clone();
    bad[10] ^= 0x80;
    assert_eq!(rv(session.verify(&Mechanism::Ecdsa, public, &digest, &bad)), RvError::SignatureInvalid);
    let point = session.get_attributes(public, &[AttributeType::EcPoint]).expect("EC point");
    assert!(
        matches!(&point[..], [Attribute::EcPoint(p)] if p.len() == 67),
        "DER OCTET STRING of an uncompressed P-256 point"
    );
}

fn objects_and_attributes(session: &Session, daemon: &Daemon) {
    let private = one(session, &[Attribute::Label(b"ec-rust".to_vec()), Attribute::Class(ObjectClass::PRIVATE_KEY)]);
    let public =
        one(session, &[Attribute::Label(b"alias/ec-rust".to_vec()), Attribute::Class(ObjectClass::PUBLIC_KEY)]);
    let key = daemon.cli_json(&["key", "describe", "alias/ec-rust"]);
    let version = key["KeyMetadata"]["PrimaryKeyVersion"].as_str().expect("version").replace('-', "");
    let id: Vec<u8> = (0..16).map(|i| u8::from_str_radix(&version[2 * i..2 * i + 2], 16).expect("hex")).collect();
    let by_id = session.find_objects(&[Attribute::Id(id)]).expect("find by id");
    assert_eq!(by_id.len(), 2, "both halves of the version share its CKA_ID");
    assert!(by_id.contains(&private) && by_id.contains(&public));
    // The key id names the key too.
    one(
        session,
        &[
            Attribute::Label(key["KeyMetadata"]["KeyId"].as_str().expect("id").as_bytes().to_vec()),
            Attribute::Class(ObjectClass::PRIVATE_KEY),
        ],
    );

    let attrs = session
        .get_attributes(
            private,
            &[AttributeType::KeyType, AttributeType::Extractable, AttributeType::Sensitive, AttributeType::Sign],
        )
        .expect("attributes");
    assert_eq!(
        attrs,
        vec![
            Attribute::KeyType(KeyType::EC),
            Attribute::Extractable(false),
            Attribute::Sensitive(true),
            Attribute::Sign(true)
        ]
    );
    assert!(
        session
            .get_attributes(private, &[AttributeType::Value])
            .expect("a sensitive value is reported, not an error")
            .is_empty(),
        "CKA_VALUE is never revealed"
    );
    let all = session.find_objects(&[]).expect("find all");
    assert_eq!(all.len(), 4, "two AES keys and an EC pair, one version each");
}

fn logout_hides_private_objects(session: &Session, slot: Slot, ctx: &Pkcs11) {
    session.logout().expect("logout");
    let private = session.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)]).expect("find");
    assert!(private.is_empty(), "private keys need a login");
    let public = session.find_objects(&[Attribute::Class(ObjectClass::PUBLIC_KEY)]).expect("find");
    assert!(!public.is_empty(), "public keys stay visible");
    let other = ctx.open_ro_session(slot).expect("read-only session");
    assert_eq!(
        rv(other.generate_key(&Mechanism::AesKeyGen, &[Attribute::Token(true), Attribute::ValueLen(32.into())])),
        RvError::SessionReadOnly,
        "KMS keys need a read/write session"
    );
    assert_eq!(
        rv(other.generate_key(&Mechanism::AesKeyGen, &[Attribute::ValueLen(32.into())])),
        RvError::UserNotLoggedIn,
        "session keys need the login"
    );
}

/// The vendor envelope mechanism: data encrypted through PKCS#11 before
/// three rotations decrypts without naming a version, and the blobs are the
/// admin API's.
fn envelope_across_rotations(session: &Session, daemon: &Daemon) {
    daemon.cli_json(&["key", "create", "--instance", "hsm1", "--key-spec", "AES_256", "--alias", "alias/env"]);
    let envelope = MechanismType::new_vendor_defined(p11kms_proto::pkcs11::CKM_P11KMS_ENVELOPE).expect("vendor type");
    let plain = Mechanism::VendorDefined(VendorDefinedMechanism::new::<u8>(envelope, None));
    let by_label = [Attribute::Label(b"env".to_vec()), Attribute::Class(ObjectClass::SECRET_KEY)];
    let first = one(session, &by_label);
    let first_id = session.get_attributes(first, &[AttributeType::Id]).expect("CKA_ID");
    let blob = session.encrypt(&plain, first, b"before three rotations").expect("envelope encrypt");
    assert_eq!(&blob[..4], b"P11C", "the admin API's blob format");
    let context = *br#"{"app":"rusty"}"#;
    let bound = Mechanism::VendorDefined(VendorDefinedMechanism::new(envelope, Some(&context)));
    let bound_blob = session.encrypt(&bound, first, b"with a context").expect("envelope encrypt with context");

    for _ in 0..3 {
        daemon.cli_json(&["key", "create-version", "alias/env"]);
    }
    let newest = one(session, &by_label);
    let newest_id = session.get_attributes(newest, &[AttributeType::Id]).expect("CKA_ID");
    assert_ne!(first_id, newest_id, "the label now finds the new primary version");
    let Some(Attribute::Id(old)) = first_id.first() else { panic!("no CKA_ID") };
    one(session, &[Attribute::Id(old.clone()), Attribute::Class(ObjectClass::SECRET_KEY)]);
    assert_eq!(session.decrypt(&plain, newest, &blob).expect("envelope decrypt"), b"before three rotations");
    assert_eq!(session.decrypt(&bound, newest, &bound_blob).expect("with its context"), b"with a context");
    assert!(session.decrypt(&plain, newest, &bound_blob).is_err(), "the context is bound");
    let mut tampered = blob.clone();
    tampered[30] ^= 1;
    assert_eq!(rv(session.decrypt(&plain, newest, &tampered)), RvError::EncryptedDataInvalid);

    // The same blob through the admin API.
    let opened = daemon.cli_json(&["decrypt", "--ciphertext-blob", &p11kms_proto::bytes::to_base64(&blob)]);
    assert_eq!(opened["Plaintext"], p11kms_proto::bytes::to_base64(b"before three rotations"));
    let fresh = session.encrypt(&plain, first, b"after").expect("encrypt with an old handle");
    let described = daemon.cli_json(&["decrypt", "--ciphertext-blob", &p11kms_proto::bytes::to_base64(&fresh)]);
    assert_eq!(
        described["KeyVersionId"],
        daemon.cli_json(&["key", "describe", "alias/env"])["KeyMetadata"]["PrimaryKeyVersion"],
        "always the primary version"
    );
}
