//! Public session keys (`docs/pkcs11.md` §2a): a session that has not
//! logged in makes session keys whose template says `CKA_PRIVATE` false
//! (AES, and an EC pair), uses them, and finds them; a key that would be
//! private (the default of secret and private keys), a KMS key (token
//! object), and wrapping need the login. A KMS key a logged-in
//! application sees never wraps or derives: `CKR_KEY_FUNCTION_NOT_PERMITTED`
//! (as SoftHSM answers), not an invalid handle.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::object::{Attribute, KeyType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

use p11kms_tests::keys::P256;
use p11kms_tests::{Daemon, hsm1, load_module, rv};

#[test]
fn a_public_session_makes_and_uses_public_session_keys() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("public", "hsm1");
    let ctx = load_module(&daemon);
    let slot = hsm1(&ctx);
    let session = ctx.open_rw_session(slot).expect("session");

    // Not logged in: a public AES key is made and works.
    let public_aes = [
        Attribute::ValueLen(32.into()),
        Attribute::Private(false),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Label(b"anon".to_vec()),
    ];
    let key = session.generate_key(&Mechanism::AesKeyGen, &public_aes).expect("a public session key");
    let cbc = Mechanism::AesCbcPad([3; 16]);
    let sealed = session.encrypt(&cbc, key, b"public session").expect("encrypt");
    assert_eq!(session.decrypt(&cbc, key, &sealed).expect("decrypt"), b"public session");
    assert_eq!(session.find_objects(&[Attribute::Label(b"anon".to_vec())]).expect("find"), vec![key]);
    assert_eq!(
        session.get_attributes(key, &[cryptoki::object::AttributeType::Private]).expect("attribute"),
        vec![Attribute::Private(false)]
    );
    // A public EC pair signs.
    let (public, private) = session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[Attribute::EcParams(P256.to_vec()), Attribute::Verify(true)],
            &[Attribute::Private(false), Attribute::Sign(true)],
        )
        .expect("a public session pair");
    let signature = session.sign(&Mechanism::Ecdsa, private, &[7; 32]).expect("sign");
    session.verify(&Mechanism::Ecdsa, public, &[7; 32], &signature).expect("verify");

    // What needs the login: a private key (the default), a KMS key.
    let default = [Attribute::ValueLen(32.into()), Attribute::Encrypt(true)];
    assert_eq!(rv(session.generate_key(&Mechanism::AesKeyGen, &default)), RvError::UserNotLoggedIn);
    let private_pair = session.generate_key_pair(
        &Mechanism::EccKeyPairGen,
        &[Attribute::EcParams(P256.to_vec())],
        &[Attribute::Sign(true)],
    );
    assert_eq!(rv(private_pair), RvError::UserNotLoggedIn);
    let token = [Attribute::Token(true), Attribute::Private(false), Attribute::ValueLen(32.into())];
    assert_eq!(rv(session.generate_key(&Mechanism::AesKeyGen, &token)), RvError::UserNotLoggedIn);
    assert_eq!(daemon.cli_json(&["key", "list", "--instance", "hsm1"])["TotalCount"], 0, "no KMS key made");

    // Logged in: a KMS key never wraps or derives.
    session.login(UserType::User, Some(&AuthPin::from(pin))).expect("login");
    let kms_aes = session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Token(true),
                Attribute::ValueLen(32.into()),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
            ],
        )
        .expect("a KMS key");
    let wrappable = session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[Attribute::ValueLen(32.into()), Attribute::Extractable(true), Attribute::Sensitive(false)],
        )
        .expect("a session key to wrap");
    assert_eq!(rv(session.wrap_key(&Mechanism::AesKeyWrapPad, kms_aes, wrappable)), RvError::KeyFunctionNotPermitted);
    let (_, kms_ec) = session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[Attribute::Token(true), Attribute::EcParams(P256.to_vec())],
            &[Attribute::Token(true), Attribute::Sign(true)],
        )
        .expect("a KMS EC key");
    let peer = [4u8; 65];
    let derived = session.derive_key(
        &Mechanism::Ecdh1Derive(Ecdh1DeriveParams::new(EcKdf::null(), &peer)),
        kms_ec,
        &[Attribute::Class(ObjectClass::SECRET_KEY), Attribute::KeyType(KeyType::AES), Attribute::ValueLen(32.into())],
    );
    assert_eq!(rv(derived), RvError::KeyFunctionNotPermitted);
}
