//! `C_CopyObject` of session keys (`docs/pkcs11.md` §2a and "Keys that
//! applications name"): what becomes a KMS key and what does not, copies
//! that stay session keys, public keys copied as created objects; and the
//! guard that makes storing possible: a generated key is extractable on
//! its HSM (for the cluster key), yet the application can neither wrap it
//! nor read it unless it asked for an extractable key.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::error::RvError;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

use p11kms_tests::keys::{P256, session_aes};
use p11kms_tests::{Daemon, hsm1, load_module, rv};

fn gcm(iv: &mut [u8; 12]) -> Mechanism<'_> {
    Mechanism::AesGcm(cryptoki::mechanism::aead::GcmParams::new(iv, &[], 128.into()).expect("GCM parameters"))
}

fn to_token(session: &Session, key: ObjectHandle, extra: &[Attribute]) -> Result<ObjectHandle, cryptoki::error::Error> {
    let mut template = vec![Attribute::Token(true)];
    template.extend_from_slice(extra);
    session.copy_object(key, &template)
}

fn key_count(daemon: &Daemon) -> serde_json::Value {
    daemon.cli_json(&["key", "list", "--instance", "hsm1"])["TotalCount"].clone()
}

#[test]
fn session_keys_copy_by_their_origin() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("copier", "hsm1");
    let ctx = load_module(&daemon);
    let session = ctx.open_rw_session(hsm1(&ctx)).expect("session");
    session.login(UserType::User, Some(&AuthPin::from(pin))).expect("login");

    // Not extractable for the application: not wrapped, not read, although
    // the HSM object could be wrapped by the daemon's cluster key.
    let wrapping = session_aes(&session, &[Attribute::Wrap(true), Attribute::Unwrap(true)]);
    let kept = session_aes(&session, &[Attribute::Sensitive(false)]);
    assert_eq!(rv(session.wrap_key(&Mechanism::AesKeyWrapPad, wrapping, kept)), RvError::KeyUnextractable);
    assert_eq!(
        session.get_attributes(kept, &[AttributeType::Value]).expect("attributes"),
        vec![],
        "a non-extractable key's value stays hidden (CKR_ATTRIBUTE_SENSITIVE) even when not sensitive"
    );
    // Extractable when asked: wrapped and read, and never a KMS key.
    let open = session_aes(&session, &[Attribute::Extractable(true), Attribute::Sensitive(false)]);
    let wrapped = session.wrap_key(&Mechanism::AesKeyWrapPad, wrapping, open).expect("wrap an extractable key");
    assert_eq!(wrapped.len(), 40);
    let value = session.get_attributes(open, &[AttributeType::Value]).expect("attributes");
    assert!(matches!(value.as_slice(), [Attribute::Value(v)] if v.len() == 32), "{value:?}");
    assert_eq!(
        session.get_attributes(open, &[AttributeType::NeverExtractable]).expect("attribute"),
        vec![Attribute::NeverExtractable(false)]
    );
    assert_eq!(rv(to_token(&session, open, &[])), RvError::ActionProhibited, "its material has been out");
    // Imported, unwrapped: material from outside.
    let imported = session
        .create_object(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Value(vec![7; 32]),
            Attribute::Encrypt(true),
        ])
        .expect("import a session key");
    assert_eq!(rv(to_token(&session, imported, &[])), RvError::ActionProhibited);
    let unwrapped = session
        .unwrap_key(
            &Mechanism::AesKeyWrapPad,
            wrapping,
            &wrapped,
            &[Attribute::Class(ObjectClass::SECRET_KEY), Attribute::KeyType(KeyType::AES), Attribute::Encrypt(true)],
        )
        .expect("unwrap");
    assert_eq!(rv(to_token(&session, unwrapped, &[])), RvError::ActionProhibited);
    // Shapes no KeySpec has.
    let small_rsa = session
        .generate_key_pair(
            &Mechanism::RsaPkcsKeyPairGen,
            &[Attribute::ModulusBits(1024.into()), Attribute::PublicExponent(vec![1, 0, 1])],
            &[Attribute::Sign(true)],
        )
        .expect("RSA-1024 session pair");
    assert_eq!(rv(to_token(&session, small_rsa.1, &[])), RvError::ActionProhibited);
    // A KMS key is private.
    let fine = session_aes(&session, &[]);
    assert_eq!(rv(to_token(&session, fine, &[Attribute::Private(false)])), RvError::TemplateInconsistent);
    assert_eq!(rv(to_token(&session, fine, &[Attribute::Encrypt(false)])), RvError::AttributeReadOnly);
    assert_eq!(key_count(&daemon), 0, "no refusal made a key");

    // A generated AES key with a label: an AES-256 KMS key under that alias.
    let stored = to_token(&session, fine, &[Attribute::Label(b"stored-aes".to_vec())]).expect("store the AES key");
    assert_eq!(key_count(&daemon), 1);
    let described = daemon.cli_json(&["key", "describe", "alias/stored-aes"]);
    assert_eq!(described["KeyMetadata"]["KeySpec"], "AES_256", "{described}");
    let sealed = session.encrypt(&gcm(&mut [9; 12]), fine, b"one key").expect("encrypt with the session key");
    assert_eq!(session.decrypt(&gcm(&mut [9; 12]), stored, &sealed).expect("decrypt with the KMS key"), b"one key");
    // A key's CKA_ALLOWED_MECHANISMS goes with it.
    let restricted = session_aes(&session, &[Attribute::AllowedMechanisms(vec![MechanismType::AES_GCM])]);
    let restricted = to_token(&session, restricted, &[Attribute::Label(b"gcm-only".to_vec())]).expect("stored");
    assert_eq!(
        session.get_attributes(restricted, &[AttributeType::AllowedMechanisms]).expect("attribute"),
        vec![Attribute::AllowedMechanisms(vec![MechanismType::AES_GCM])]
    );
    assert_eq!(rv(session.encrypt(&Mechanism::AesCbcPad([0; 16]), restricted, b"x")), RvError::MechanismInvalid);
    let described = daemon.cli_json(&["key", "describe", "alias/gcm-only"]);
    assert_eq!(described["Pkcs11AllowedMechanisms"], serde_json::json!(["CKM_AES_GCM"]), "the operator sees it");
    assert_eq!(key_count(&daemon), 2);
    // An EC pair: the public half comes from the session pair.
    let (ec_public, ec_private) = session
        .generate_key_pair(&Mechanism::EccKeyPairGen, &[Attribute::EcParams(P256.to_vec())], &[Attribute::Sign(true)])
        .expect("EC session pair");
    let ec_stored = to_token(&session, ec_private, &[Attribute::Id(vec![0x4a, 0x4b])]).expect("store the EC key");
    let signature = session.sign(&Mechanism::Ecdsa, ec_stored, &[5; 32]).expect("sign");
    session.verify(&Mechanism::Ecdsa, ec_public, &[5; 32], &signature).expect("the session public key verifies");

    // A session copy of a session key: another session key, same material.
    let twin = session.copy_object(fine, &[Attribute::Label(b"twin".to_vec())]).expect("session copy");
    assert_eq!(session.decrypt(&gcm(&mut [9; 12]), twin, &sealed).expect("decrypt with the copy"), b"one key");
    assert_eq!(
        session.get_attributes(twin, &[AttributeType::Token, AttributeType::Label]).expect("attributes"),
        vec![Attribute::Token(false), Attribute::Label(b"twin".to_vec())]
    );
    // A session public key copied to the token: a created public key.
    let public_copy = to_token(&session, ec_public, &[Attribute::Id(b"pub".to_vec())]).expect("copy a public key");
    assert_eq!(
        session.get_attributes(public_copy, &[AttributeType::Token, AttributeType::EcPoint]).expect("attributes"),
        session
            .get_attributes(ec_public, &[AttributeType::Token, AttributeType::EcPoint])
            .map(|mut a| {
                a[0] = Attribute::Token(true);
                a
            })
            .expect("attributes")
    );
    session.verify(&Mechanism::Ecdsa, public_copy, &[5; 32], &signature).expect("the copy verifies");
    assert_eq!(key_count(&daemon), 3, "two AES keys and the EC key");
}
