//! The audit trail of the data plane, through the real module (cryptoki):
//! a wrong PIN and a login, 300 signatures recorded as counted uses of
//! one key version (not 300 records), a secret read, a key made through
//! PKCS#11, a policy refusal with its app and resource; no PIN and no
//! secret value in the trail's files.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use serde_json::Value;

use p11kms_tests::{Daemon, hsm1, load_module, rv};

const POLICY: &str = r#"{"Version": "1", "Statement": [
  {"Effect": "Allow", "Action": ["kms:Sign", "kms:GetPublicKey"], "Resource": "alias/signer"},
  {"Effect": "Allow", "Action": "kms:GetPublicKey", "Resource": "alias/look-only"},
  {"Effect": "Allow", "Action": "kms:GetSecretValue", "Resource": "secret/db"},
  {"Effect": "Allow", "Action": "kms:CreateKey", "Resource": "key/*"}
]}"#;

const SECRET_VALUE: &str = "audit-me-never-7f3a9c";

fn events(daemon: &Daemon, name: &str) -> Vec<Value> {
    daemon.cli_json(&["audit", "lookup-events", "--event-name", name])["Events"].as_array().expect("events").clone()
}

#[test]
fn the_data_plane_is_audited_without_its_secrets() {
    let daemon = Daemon::start();
    let signer = daemon.create_key(&["--key-spec", "EC_P256", "--alias", "alias/signer"]);
    let look_only = daemon.create_key(&["--key-spec", "EC_P256", "--alias", "alias/look-only"]);
    daemon.create_secret("db", "hsm1", SECRET_VALUE.as_bytes(), false);
    let pin = daemon.create_app_with_policy("web", "hsm1", POLICY);

    let ctx = load_module(&daemon);
    let session = ctx.open_rw_session(hsm1(&ctx)).expect("session");
    // The right lookup code with a wrong secret: the app is known.
    let wrong = format!("{}{}", &pin[..8], "x".repeat(pin.len() - 8));
    assert_eq!(rv(session.login(UserType::User, Some(&AuthPin::from(wrong.clone())))), RvError::PinIncorrect);
    session.login(UserType::User, Some(&AuthPin::from(pin.clone()))).expect("login");

    let key = |label: &str| {
        let found = session
            .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Label(label.into())])
            .expect("find");
        found[0]
    };
    let signing = key("signer");
    for _ in 0..300 {
        session.sign(&Mechanism::Ecdsa, signing, &[1; 32]).expect("sign");
    }
    assert_eq!(rv(session.sign(&Mechanism::Ecdsa, key("look-only"), &[1; 32])), RvError::KeyFunctionNotPermitted);
    let secret = session
        .find_objects(&[Attribute::Class(ObjectClass::DATA), Attribute::Label(b"db".to_vec())])
        .expect("find the secret")[0];
    session.get_attributes(secret, &[AttributeType::Value]).expect("read the secret");
    let public_t = [
        Attribute::Token(true),
        Attribute::EcParams(vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
        Attribute::Verify(true),
        Attribute::Label(b"made-by-web".to_vec()),
    ];
    let private_t = [Attribute::Token(true), Attribute::Sign(true), Attribute::Private(true)];
    session.generate_key_pair(&Mechanism::EccKeyPairGen, &public_t, &private_t).expect("keygen");

    // Logins: the refused one and the accepted one, both naming the app.
    let logins = events(&daemon, "Login");
    let results: Vec<&str> = logins.iter().map(|e| e["Result"].as_str().unwrap()).collect();
    assert_eq!(results, ["Success", "PinIncorrect"], "newest first");
    assert!(logins.iter().all(|e| e["UserIdentity"]["App"] == "web" && e["EventSource"] == "Pkcs11"));

    // 300 signatures: a few records of counted uses of one version.
    let signs: Vec<Value> = events(&daemon, "Sign").into_iter().filter(|e| e["Result"] == "Success").collect();
    assert!(!signs.is_empty() && signs.len() < 10, "counted, not one record each: {}", signs.len());
    let counted: u64 = signs.iter().map(|e| e["Uses"]["Count"].as_u64().expect("count")).sum();
    assert_eq!(counted, 300);
    let version = daemon.key_field(&signer, "KeyMetadata.PrimaryKeyVersion");
    let resource = format!("key/{signer}/version/{}", version.as_str().expect("version"));
    assert!(signs.iter().all(|e| e["ResourceName"].as_array().unwrap().iter().any(|r| r == resource.as_str())));
    assert!(signs.iter().all(|e| e["UserIdentity"]["App"] == "web"));

    // The refusal by the policy, with the key.
    let refused: Vec<Value> = events(&daemon, "Sign").into_iter().filter(|e| e["Result"] != "Success").collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["Result"], "KeyFunctionNotPermitted");
    assert_eq!(refused[0]["ResourceName"][0], format!("key/{look_only}"));

    // The secret read and the key made, from the data plane.
    let reads: Vec<Value> =
        events(&daemon, "GetSecretValue").into_iter().filter(|e| e["EventSource"] == "Pkcs11").collect();
    // cryptoki asks the value's length, then the value: two reads.
    assert_eq!(reads.len(), 2);
    assert!(reads.iter().all(|r| r["ResourceName"][0] == "secret/db" && r["UserIdentity"]["App"] == "web"));
    let made: Vec<Value> = events(&daemon, "CreateKey").into_iter().filter(|e| e["EventSource"] == "Pkcs11").collect();
    assert_eq!(made.len(), 1);
    let made_id = daemon.key_field("alias/made-by-web", "KeyMetadata.KeyId");
    assert_eq!(made[0]["ResourceName"][0], format!("key/{}", made_id.as_str().unwrap()));

    // Nothing secret in the files, in any spelling.
    let report = daemon.cli_json(&["audit", "verify"]);
    assert!(report["Problem"].is_null(), "{report}");
    let b64 = |text: &str| p11kms_proto::bytes::to_base64(text.as_bytes());
    for entry in std::fs::read_dir(daemon.state_dir().join("audit")).expect("audit dir") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
        for secret in [SECRET_VALUE, pin.as_str(), wrong.as_str(), &pin[8..]] {
            assert!(!text.contains(secret) && !text.contains(&b64(secret)), "a secret in the trail");
        }
    }
}
