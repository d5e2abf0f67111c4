//! A session key stored on the token becomes a KMS key (`docs/pkcs11.md`,
//! "Keys that applications name"): Java's keystore generates a session
//! pair and stores it with `C_CopyObject(CKA_TOKEN = true, CKA_ID)`. The
//! new key is a KMS key like one generated on the token: it signs through
//! the module, is listed by the CLI with the application's id, and every
//! mirror holds it, so it still signs after the primary's token is gone.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

use p11kms_proto::bytes::from_base64;
use p11kms_tests::{Daemon, hsm1, load_module, rv};

#[test]
fn a_stored_session_pair_is_a_replicated_kms_key() {
    let mut daemon = Daemon::start();
    let pin = daemon.create_app("java", "hsm1");
    let ctx = load_module(&daemon);
    let session = ctx.open_rw_session(hsm1(&ctx)).expect("session");
    session.login(UserType::User, Some(&AuthPin::from(pin))).expect("login");

    // What SunPKCS11's key pair generator asks: a session pair.
    let (public, private) = session
        .generate_key_pair(
            &Mechanism::RsaPkcsKeyPairGen,
            &[Attribute::ModulusBits(2048.into()), Attribute::PublicExponent(vec![1, 0, 1])],
            &[Attribute::Token(false), Attribute::Sign(true), Attribute::Decrypt(true)],
        )
        .expect("session pair");
    let shown = session
        .get_attributes(
            private,
            &[AttributeType::Extractable, AttributeType::NeverExtractable, AttributeType::Copyable],
        )
        .expect("attributes");
    assert_eq!(
        shown,
        vec![Attribute::Extractable(false), Attribute::NeverExtractable(true), Attribute::Copyable(true)],
        "the application sees the key it asked for (not extractable), and may copy it"
    );
    assert_eq!(daemon.cli_json(&["key", "list", "--instance", "hsm1"])["TotalCount"], 0);

    // What P11KeyStore then does with it.
    let stored = session
        .copy_object(private, &[Attribute::Token(true), Attribute::Id(b"mykey".to_vec())])
        .expect("the session key is stored as a KMS key");
    let read = session
        .get_attributes(stored, &[AttributeType::Token, AttributeType::Class, AttributeType::Id])
        .expect("attributes");
    assert_eq!(
        read,
        vec![Attribute::Token(true), Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(b"mykey".to_vec())]
    );
    let keys = daemon.cli_json(&["key", "list", "--instance", "hsm1"]);
    assert_eq!(keys["TotalCount"], 1, "{keys}");
    let key_id = keys["Keys"][0]["KeyMetadata"]["KeyId"].as_str().expect("key id").to_owned();
    let described = daemon.cli_json(&["key", "describe", &key_id]);
    assert_eq!(described["KeyMetadata"]["KeySpec"], "RSA_2048", "{described}");
    assert_eq!(described["KeyMetadata"]["KeyUsage"], "SIGN/VERIFY", "{described}");

    // The audit trail names the new key.
    let copies = daemon.cli_json(&["audit", "lookup-events", "--event-name", "CopyObject"]);
    let names = &copies["Events"][0]["ResourceName"];
    assert_eq!(names[1], format!("key/{key_id}"), "{copies}");
    assert_eq!(copies["Events"][0]["Result"], "Success", "{copies}");

    // It is the same key: the session public key verifies what the stored
    // key signs, and a search by the application's id finds both halves.
    let message = "signed by the stored key";
    let signature = session.sign(&Mechanism::Sha256RsaPkcs, stored, message.as_bytes()).expect("sign");
    session
        .verify(&Mechanism::Sha256RsaPkcs, public, message.as_bytes(), &signature)
        .expect("the session public key verifies");
    let found = session.find_objects(&[Attribute::Id(b"mykey".to_vec()), Attribute::Token(true)]).expect("find");
    assert_eq!(found.len(), 2, "private and public objects of the KMS key");

    // A second copy under the same id: the id is the first key's.
    let again = session.copy_object(private, &[Attribute::Token(true), Attribute::Id(b"mykey".to_vec())]);
    assert_eq!(rv(again), RvError::AttributeValueInvalid);
    assert_eq!(daemon.cli_json(&["key", "list", "--instance", "hsm1"])["TotalCount"], 1, "nothing half made");
    drop(session);
    drop(ctx);

    // Every mirror holds it: with the primary's token gone, the CLI still
    // signs with it, and the same signature comes out.
    std::fs::remove_dir_all(daemon.token_dir("hsm1-0")).expect("destroy the primary's token files");
    let version = daemon.key_field(&key_id, "KeyMetadata.PrimaryKeyVersion").as_str().expect("version").to_owned();
    let signed = daemon.cli_json(&[
        "sign",
        "--key-id",
        &key_id,
        "--key-version-id",
        &version,
        "--algorithm",
        "RSA_PKCS1_SHA_256",
        "--message",
        message,
    ]);
    let value = signed["Value"].as_str().expect("signature");
    assert_eq!(from_base64(value).expect("base64"), signature, "PKCS#1 v1.5 is deterministic: a mirror holds the key");
    daemon.stop();
}
