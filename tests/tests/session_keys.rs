//! Session keys: generated with `CKA_TOKEN` false (PKCS#11's default),
//! unwrapped or derived; used like any key, wrapped when extractable, gone
//! when their session closes. KMS keys stay unextractable. Also: a public
//! key created from values verifies signatures.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

use p11kms_tests::keys::{P256, session_aes};
use p11kms_tests::{Daemon, hsm1, load_module, rv};

fn ec_pair(session: &Session) -> (ObjectHandle, ObjectHandle) {
    session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[Attribute::EcParams(P256.to_vec()), Attribute::Verify(true)],
            &[Attribute::Sign(true), Attribute::Derive(true)],
        )
        .expect("session EC pair")
}

/// The raw uncompressed point inside a public key's CKA_EC_POINT (a DER
/// OCTET STRING).
fn point(session: &Session, public: ObjectHandle) -> Vec<u8> {
    match session.get_attributes(public, &[AttributeType::EcPoint]).expect("point").as_slice() {
        [Attribute::EcPoint(der)] => {
            assert_eq!(der[0], 0x04, "OCTET STRING");
            der[2..].to_vec()
        }
        other => panic!("no EC point: {other:?}"),
    }
}

fn derive(session: &Session, private: ObjectHandle, peer: &[u8]) -> ObjectHandle {
    let params = Ecdh1DeriveParams::new(EcKdf::null(), peer);
    session
        .derive_key(
            &Mechanism::Ecdh1Derive(params),
            private,
            &[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::ValueLen(32.into()),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
            ],
        )
        .expect("ECDH")
}

#[test]
fn session_keys_live_and_die_with_their_session() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("ephemeral", "hsm1");
    let ctx = load_module(&daemon);
    let slot = hsm1(&ctx);
    // A read-only session may make session keys.
    let session = ctx.open_ro_session(slot).expect("session");
    assert_eq!(
        rv(session.generate_key(&Mechanism::AesKeyGen, &[Attribute::ValueLen(32.into())])),
        RvError::UserNotLoggedIn
    );
    session.login(UserType::User, Some(&AuthPin::from(pin))).expect("login");

    // A session AES key works and is no KMS key.
    let key = session_aes(&session, &[Attribute::Label(b"scratch".to_vec())]);
    let cbc = Mechanism::AesCbcPad([1; 16]);
    let sealed = session.encrypt(&cbc, key, b"session secret").expect("encrypt");
    assert_eq!(session.decrypt(&cbc, key, &sealed).expect("decrypt"), b"session secret");
    assert_eq!(
        session.get_attributes(key, &[AttributeType::Token, AttributeType::Label]).expect("attributes"),
        vec![Attribute::Token(false), Attribute::Label(b"scratch".to_vec())]
    );
    // cryptoki leaves out what the module answers CKR_ATTRIBUTE_SENSITIVE for.
    assert!(session.get_attributes(key, &[AttributeType::Value]).expect("value").is_empty(), "CKA_VALUE is sensitive");
    assert_eq!(daemon.cli_json(&["key", "list", "--instance", "hsm1"])["TotalCount"], 0, "no KMS key made");
    assert_eq!(session.find_objects(&[Attribute::Label(b"scratch".to_vec())]).expect("find"), vec![key]);
    let token_aes =
        session.generate_key(&Mechanism::AesKeyGen, &[Attribute::Token(true), Attribute::ValueLen(32.into())]);
    assert_eq!(rv(token_aes), RvError::SessionReadOnly, "KMS keys need a read/write session");

    // Wrap an extractable session key, unwrap it, and the copy decrypts.
    let rw = ctx.open_rw_session(slot).expect("rw session");
    let kek = session_aes(&rw, &[Attribute::Wrap(true), Attribute::Unwrap(true)]);
    let movable = session_aes(&rw, &[Attribute::Extractable(true), Attribute::Sensitive(true)]);
    let sealed = rw.encrypt(&cbc, movable, b"moved key").expect("encrypt");
    let wrapped = rw.wrap_key(&Mechanism::AesKeyWrapPad, kek, movable).expect("wrap");
    assert_eq!(wrapped.len(), 40, "AES key wrap with padding of a 32-byte key");
    let unwrapped = rw
        .unwrap_key(
            &Mechanism::AesKeyWrapPad,
            kek,
            &wrapped,
            &[Attribute::Class(ObjectClass::SECRET_KEY), Attribute::KeyType(KeyType::AES), Attribute::Decrypt(true)],
        )
        .expect("unwrap");
    assert_eq!(rw.decrypt(&cbc, unwrapped, &sealed).expect("decrypt with the unwrapped key"), b"moved key");
    assert_eq!(rv(rw.wrap_key(&Mechanism::AesKeyWrapPad, kek, key)), RvError::KeyUnextractable);
    // A handle that names no object (any more): each argument's own code.
    let nothing = session_aes(&rw, &[]);
    rw.destroy_object(nothing).expect("destroy");
    let wrap = |wrapping, key| rv(rw.wrap_key(&Mechanism::AesKeyWrapPad, wrapping, key));
    assert_eq!(wrap(nothing, movable), RvError::WrappingKeyHandleInvalid);
    assert_eq!(wrap(kek, nothing), RvError::KeyHandleInvalid);
    let class = [Attribute::Class(ObjectClass::SECRET_KEY), Attribute::KeyType(KeyType::AES)];
    let unwrap = rw.unwrap_key(&Mechanism::AesKeyWrapPad, nothing, &wrapped, &class);
    assert_eq!(rv(unwrap), RvError::UnwrappingKeyHandleInvalid);
    let token_unwrap = rw.unwrap_key(
        &Mechanism::AesKeyWrapPad,
        kek,
        &wrapped,
        &[Attribute::Class(ObjectClass::SECRET_KEY), Attribute::KeyType(KeyType::AES), Attribute::Token(true)],
    );
    assert_eq!(rv(token_unwrap), RvError::TemplateInconsistent, "no key import through PKCS#11");

    // An extractable, non-sensitive secret key shows its value, as PKCS#11
    // allows; a sensitive one does not.
    let open_key = rw
        .create_object(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Value(vec![0x5c; 16]),
            Attribute::Extractable(true),
            Attribute::Sensitive(false),
        ])
        .expect("imported session key");
    assert_eq!(
        rw.get_attributes(open_key, &[AttributeType::Value]).expect("value"),
        vec![Attribute::Value(vec![0x5c; 16])]
    );
    assert!(rw.get_attributes(movable, &[AttributeType::Value]).expect("value").is_empty(), "sensitive stays hidden");

    // KMS keys are never extractable.
    let kms = rw
        .generate_key(&Mechanism::AesKeyGen, &[Attribute::Token(true), Attribute::ValueLen(32.into())])
        .expect("KMS key");
    assert_eq!(rv(rw.wrap_key(&Mechanism::AesKeyWrapPad, kek, kms)), RvError::KeyUnextractable);

    // ECDH: both sides derive the same key.
    let (alice_public, alice_private) = ec_pair(&rw);
    let (bob_public, bob_private) = ec_pair(&rw);
    let alice = derive(&rw, alice_private, &point(&rw, bob_public));
    let bob = derive(&rw, bob_private, &point(&rw, alice_public));
    let sealed = rw.encrypt(&cbc, alice, b"agreed").expect("encrypt with Alice's key");
    assert_eq!(rw.decrypt(&cbc, bob, &sealed).expect("decrypt with Bob's key"), b"agreed");

    // A public key created from values verifies what the session key signed.
    let digest = rw.digest(&Mechanism::Sha256, b"signed by a session key").expect("digest");
    let signature = rw.sign(&Mechanism::Ecdsa, alice_private, &digest).expect("sign");
    let ec_point = match rw.get_attributes(alice_public, &[AttributeType::EcPoint]).expect("point").as_slice() {
        [Attribute::EcPoint(der)] => der.clone(),
        other => panic!("{other:?}"),
    };
    let imported = rw
        .create_object(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::EcParams(P256.to_vec()),
            Attribute::EcPoint(ec_point),
        ])
        .expect("public key object");
    rw.verify(&Mechanism::Ecdsa, imported, &digest, &signature).expect("verified with the created public key");
    let mut wrong = digest.clone();
    wrong[0] ^= 1;
    assert_eq!(rv(rw.verify(&Mechanism::Ecdsa, imported, &wrong, &signature)), RvError::SignatureInvalid);
    // A created public key answers by its own values: in repeated use, next
    // to another key, and when the same values are created again.
    for _ in 0..20 {
        rw.verify(&Mechanism::Ecdsa, imported, &digest, &signature).expect("verified again");
    }
    let bob_point = match rw.get_attributes(bob_public, &[AttributeType::EcPoint]).expect("point").as_slice() {
        [Attribute::EcPoint(der)] => der.clone(),
        other => panic!("{other:?}"),
    };
    let public_template = |point: Vec<u8>| {
        [
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::EcParams(P256.to_vec()),
            Attribute::EcPoint(point),
        ]
    };
    let bobs = rw.create_object(&public_template(bob_point)).expect("Bob's public key");
    assert_eq!(rv(rw.verify(&Mechanism::Ecdsa, bobs, &digest, &signature)), RvError::SignatureInvalid);
    let bob_signature = rw.sign(&Mechanism::Ecdsa, bob_private, &digest).expect("Bob signs");
    rw.verify(&Mechanism::Ecdsa, bobs, &digest, &bob_signature).expect("Bob's key verifies Bob");
    assert_eq!(rv(rw.verify(&Mechanism::Ecdsa, imported, &digest, &bob_signature)), RvError::SignatureInvalid);
    let ec_point = match rw.get_attributes(imported, &[AttributeType::EcPoint]).expect("point").as_slice() {
        [Attribute::EcPoint(der)] => der.clone(),
        other => panic!("{other:?}"),
    };
    rw.destroy_object(imported).expect("destroy the created public key");
    let again = rw.create_object(&public_template(ec_point)).expect("the same values again");
    rw.verify(&Mechanism::Ecdsa, again, &digest, &signature).expect("verified by the values created again");

    // MACs on session keys: HMAC on a generic secret, CMAC on AES.
    let hmac_key = rw
        .generate_key(
            &Mechanism::GenericSecretKeyGen,
            // 64 bytes: SoftHSM wants an HMAC key at least as long as the hash.
            &[Attribute::ValueLen(64.into()), Attribute::Sign(true), Attribute::Verify(true)],
        )
        .expect("generic secret");
    for mechanism in [Mechanism::Sha256Hmac, Mechanism::Sha384Hmac, Mechanism::Sha512Hmac] {
        let mac = rw.sign(&mechanism, hmac_key, b"authenticated").expect("HMAC");
        rw.verify(&mechanism, hmac_key, b"authenticated", &mac).expect("HMAC verifies");
        assert_eq!(rv(rw.verify(&mechanism, hmac_key, b"tampered", &mac)), RvError::SignatureInvalid);
    }
    let cmac_key = session_aes(&rw, &[Attribute::Sign(true), Attribute::Verify(true)]);
    let mac = rw.sign(&Mechanism::AesCMac, cmac_key, b"authenticated").expect("CMAC");
    assert_eq!(mac.len(), 16);
    rw.verify(&Mechanism::AesCMac, cmac_key, b"authenticated", &mac).expect("CMAC verifies");

    // Ed25519, where the HSM has EdDSA.
    if ctx.get_mechanism_list(slot).expect("mechanisms").contains(&cryptoki::mechanism::MechanismType::EDDSA) {
        // OID 1.3.101.112 (id-Ed25519).
        let (public, private) = rw
            .generate_key_pair(
                &Mechanism::EccEdwardsKeyPairGen,
                &[Attribute::EcParams(vec![0x06, 0x03, 0x2b, 0x65, 0x70]), Attribute::Verify(true)],
                &[Attribute::Sign(true)],
            )
            .expect("Ed25519 pair");
        let eddsa = Mechanism::Eddsa(cryptoki::mechanism::eddsa::EddsaParams::new(
            cryptoki::mechanism::eddsa::EddsaSignatureScheme::Pure,
        ));
        let signature = rw.sign(&eddsa, private, b"edwards").expect("EdDSA sign");
        assert_eq!(signature.len(), 64);
        rw.verify(&eddsa, public, b"edwards", &signature).expect("EdDSA verify");
    }

    // Closing the session destroys its session keys; the other session's stay.
    rw.close().expect("close");
    assert_eq!(rv(session.decrypt(&cbc, unwrapped, b"0123456789abcdef")), RvError::KeyHandleInvalid);
    assert_eq!(session.decrypt(&cbc, key, &session.encrypt(&cbc, key, b"still").expect("e")).expect("d"), b"still");
}
