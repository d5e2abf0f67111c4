//! One round trip per operation: the daemon counts the request frames of
//! each data connection (`p11kms connection list`), and this test reads
//! that counter around PKCS#11 calls made through the real module.
//!
//! Coalesced: `C_SignInit`+`C_Sign`, `C_EncryptInit`+`C_Encrypt`, a whole
//! find of 100 objects. Local: digests, cached attributes, argument errors.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

use p11kms_tests::{Daemon, load_module};

/// Request frames sent so far by this process's connections.
fn requests(daemon: &Daemon) -> u64 {
    let me = i64::from(std::process::id());
    let rows = daemon.cli_json(&["connection", "list"]);
    let rows = rows["Connections"].as_array().expect("Connections list");
    rows.iter().filter(|row| row["Pid"].as_i64() == Some(me)).map(|row| row["Requests"].as_u64().expect("count")).sum()
}

/// Round trips `f` costs.
fn round_trips(daemon: &Daemon, f: impl FnOnce()) -> u64 {
    let before = requests(daemon);
    f();
    requests(daemon) - before
}

fn aes_key(session: &Session, label: &str) -> cryptoki::object::ObjectHandle {
    let template = [
        Attribute::Token(true),
        Attribute::ValueLen(32.into()),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
    ];
    session.generate_key(&Mechanism::AesKeyGen, &template).expect("AES key")
}

#[test]
fn each_operation_is_one_round_trip() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("counted", "hsm1");
    let ctx = load_module(&daemon);
    let slot = ctx
        .get_slots_with_token()
        .expect("slots")
        .into_iter()
        .find(|s| ctx.get_token_info(*s).map(|t| t.label() == "hsm1").unwrap_or(false))
        .expect("hsm1");
    let session = ctx.open_rw_session(slot).expect("session");
    session.login(UserType::User, Some(&AuthPin::from(pin))).expect("login");

    let (public, private) = session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[
                Attribute::Token(true),
                Attribute::EcParams(vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
                Attribute::Verify(true),
                Attribute::Label(b"counted-ec".to_vec()),
            ],
            &[Attribute::Token(true), Attribute::Sign(true), Attribute::Private(true), Attribute::Sensitive(true)],
        )
        .expect("EC key pair");
    let aes = aes_key(&session, "counted-aes");

    // The counter works at all: a random draw is one request.
    assert_eq!(round_trips(&daemon, || drop(session.generate_random_vec(16).expect("random"))), 1);

    let digest = [0x5a; 32];
    let mut signature = Vec::new();
    assert_eq!(
        round_trips(&daemon, || signature = session.sign(&Mechanism::Ecdsa, private, &digest).expect("sign")),
        1,
        "C_SignInit + C_Sign"
    );
    assert_eq!(
        round_trips(&daemon, || session.verify(&Mechanism::Ecdsa, public, &digest, &signature).expect("verify")),
        1,
        "C_VerifyInit + C_Verify"
    );
    let cbc = Mechanism::AesCbcPad([3; 16]);
    let mut ciphertext = Vec::new();
    assert_eq!(
        round_trips(&daemon, || ciphertext = session.encrypt(&cbc, aes, b"counted plaintext").expect("encrypt")),
        1,
        "C_EncryptInit + C_Encrypt"
    );
    assert_eq!(
        round_trips(&daemon, || assert_eq!(
            session.decrypt(&cbc, aes, &ciphertext).expect("decrypt"),
            b"counted plaintext"
        )),
        1,
        "C_DecryptInit + C_Decrypt"
    );
    assert_eq!(
        round_trips(&daemon, || drop(session.digest(&Mechanism::Sha256, b"local").expect("digest"))),
        0,
        "digests are computed in the module"
    );
    assert_eq!(
        round_trips(&daemon, || {
            let attributes = session
                .get_attributes(private, &[AttributeType::Class, AttributeType::KeyType, AttributeType::Id])
                .expect("attributes");
            assert_eq!(attributes.len(), 3);
        }),
        0,
        "attributes that cannot change come from the module's cache"
    );

    // A find of 100 objects (and more) is answered from one round trip,
    // however the application pages through it.
    for n in 0..100 {
        aes_key(&session, &format!("bulk-{n:03}"));
    }
    let mut found = 0;
    assert_eq!(
        round_trips(&daemon, || found =
            session.find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY)]).expect("find").len()),
        1,
        "C_FindObjectsInit + C_FindObjects (in pages of 10) + C_FindObjectsFinal"
    );
    assert!(found >= 101, "found {found} secret keys");

    // A secret: one round trip to find it, one per read of its value (the
    // cryptoki crate asks the length first: two), none for its label.
    daemon.create_secret("counted-secret", "hsm1", b"counted value", false);
    let mut secret = Vec::new();
    assert_eq!(
        round_trips(&daemon, || secret = session
            .find_objects(&[Attribute::Class(ObjectClass::DATA), Attribute::Label(b"counted-secret".to_vec())])
            .expect("find")),
        1,
        "a find of a secret by label"
    );
    assert_eq!(
        round_trips(&daemon, || drop(session.get_attributes(secret[0], &[AttributeType::Label]).expect("label"))),
        0,
        "a secret's label is cached"
    );
    assert_eq!(
        round_trips(&daemon, || assert_eq!(
            session.get_attributes(secret[0], &[AttributeType::Value]).expect("value"),
            [Attribute::Value(b"counted value".to_vec())]
        )),
        2,
        "the length query and the read: the value is never cached"
    );
}
