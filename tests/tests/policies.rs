//! App access policies end to end with the real module, through the
//! cryptoki crate: two apps of one instance with different policies each
//! find and use only their own keys and secrets; a handle learned by one
//! is invalid for the other; an action outside the policy is
//! `CKR_KEY_FUNCTION_NOT_PERMITTED`, creating or destroying a key without
//! the right `CKR_ACTION_PROHIBITED`; an envelope blob opens only with
//! `Decrypt` on its key; keys an app makes are its own to use; a policy
//! change and a tag change apply to an open session at its next call; the
//! refusals reach the daemon's log with the app and the resource.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::error::RvError;
use cryptoki::mechanism::vendor_defined::VendorDefinedMechanism;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

use p11kms_tests::{Daemon, hsm1, load_module, rv};

/// Signs with keys tagged for the payments team, reads the payments
/// secrets.
const PAYMENTS: &str = r#"{"Version": "1", "Statement": [
  {"Effect": "Allow", "Action": ["kms:Sign", "kms:Verify", "kms:GetPublicKey"], "Resource": "tag:team=payments"},
  {"Effect": "Allow", "Action": "kms:GetSecretValue", "Resource": "secret/payments/*"}
]}"#;

/// Uses its AES key by alias, reads its own secrets, makes keys.
const WEB: &str = r#"{"Version": "1", "Statement": [
  {"Effect": "Allow", "Action": "RbacPermission/Template/CryptoServiceKeyUser", "Resource": "alias/web-aes"},
  {"Effect": "Allow", "Action": "RbacPermission/Template/CryptoServiceSecretUser", "Resource": "secret/web/*"},
  {"Effect": "Allow", "Action": "kms:CreateKey", "Resource": "key/*"}
]}"#;

const DIGEST: [u8; 32] = [0x5a; 32];

fn labels(session: &Session, template: &[Attribute]) -> Vec<String> {
    let mut labels: Vec<String> = session
        .find_objects(template)
        .expect("find")
        .into_iter()
        .map(|object| match session.get_attributes(object, &[cryptoki::object::AttributeType::Label]) {
            Ok(values) => match values.as_slice() {
                [Attribute::Label(label)] => String::from_utf8_lossy(label).into_owned(),
                other => panic!("no label: {other:?}"),
            },
            Err(error) => panic!("label: {error}"),
        })
        .collect();
    labels.sort();
    labels
}

fn private_keys(session: &Session) -> Vec<String> {
    labels(session, &[Attribute::Class(ObjectClass::PRIVATE_KEY)])
}

fn secret_keys(session: &Session) -> Vec<String> {
    labels(session, &[Attribute::Class(ObjectClass::SECRET_KEY)])
}

fn secrets(session: &Session) -> Vec<String> {
    labels(session, &[Attribute::Class(ObjectClass::DATA)])
}

fn one(session: &Session, class: ObjectClass, label: &str) -> ObjectHandle {
    let found = session.find_objects(&[Attribute::Class(class), Attribute::Label(label.into())]).expect("find");
    assert_eq!(found.len(), 1, "{label}");
    found[0]
}

fn login(session: &Session, pin: &str) {
    session.login(UserType::User, Some(&AuthPin::from(pin.to_owned()))).expect("login");
}

fn envelope() -> Mechanism<'static> {
    let ty = MechanismType::new_vendor_defined(p11kms_proto::pkcs11::CKM_P11KMS_ENVELOPE).expect("vendor type");
    Mechanism::VendorDefined(VendorDefinedMechanism::new::<u8>(ty, None))
}

fn ec_templates(label: &str) -> ([Attribute; 4], [Attribute; 3]) {
    (
        [
            Attribute::Token(true),
            Attribute::EcParams(vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
            Attribute::Verify(true),
            Attribute::Label(label.into()),
        ],
        [Attribute::Token(true), Attribute::Sign(true), Attribute::Private(true)],
    )
}

#[test]
fn two_apps_see_and_use_only_what_their_policies_name() {
    let daemon = Daemon::start();
    daemon.create_key(&["--key-spec", "EC_P256", "--alias", "alias/pay-sign", "--tag", "team=payments"]);
    daemon.create_key(&["--key-spec", "EC_P256", "--alias", "alias/ops-sign", "--tag", "team=ops"]);
    daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/web-aes"]);
    daemon.create_secret("payments/db", "hsm1", b"payments password", false);
    daemon.create_secret("web/token", "hsm1", b"web token", false);
    let payments_pin = daemon.create_app_with_policy("payments", "hsm1", PAYMENTS);
    let web_pin = daemon.create_app_with_policy("web", "hsm1", WEB);
    let nobody_pin =
        daemon.cli_json(&["app", "create", "nobody", "--instance", "hsm1"])["Pin"].as_str().expect("Pin").to_owned();

    let ctx = load_module(&daemon);
    let session = ctx.open_rw_session(hsm1(&ctx)).expect("session");

    // web: its AES key and secret; a blob it makes opens again.
    login(&session, &web_pin);
    assert_eq!(private_keys(&session), Vec::<String>::new());
    assert_eq!(secret_keys(&session), ["web-aes"]);
    assert_eq!(secrets(&session), ["web/token"]);
    let web_aes = one(&session, ObjectClass::SECRET_KEY, "web-aes");
    let web_token = one(&session, ObjectClass::DATA, "web/token");
    let blob = session.encrypt(&envelope(), web_aes, b"web data").expect("envelope encrypt");
    assert_eq!(session.decrypt(&envelope(), web_aes, &blob).expect("envelope decrypt"), b"web data");
    // web may make keys, and use what it made though no statement names it.
    let (public_t, private_t) = ec_templates("web-made");
    let (made_public, made_private) =
        session.generate_key_pair(&Mechanism::EccKeyPairGen, &public_t, &private_t).expect("web makes a key");
    let signature = session.sign(&Mechanism::Ecdsa, made_private, &DIGEST).expect("its own key");
    session.verify(&Mechanism::Ecdsa, made_public, &DIGEST, &signature).expect("verify with its own key");
    assert_eq!(private_keys(&session), ["web-made"]);
    session.logout().expect("logout");

    // payments: the key tagged for its team and its secret; nothing of web's.
    login(&session, &payments_pin);
    assert_eq!(private_keys(&session), ["pay-sign"]);
    assert_eq!(secret_keys(&session), Vec::<String>::new());
    assert_eq!(secrets(&session), ["payments/db"]);
    let pay_sign = one(&session, ObjectClass::PRIVATE_KEY, "pay-sign");
    let pay_public = one(&session, ObjectClass::PUBLIC_KEY, "pay-sign");
    let signature = session.sign(&Mechanism::Ecdsa, pay_sign, &DIGEST).expect("sign with pay-sign");
    session.verify(&Mechanism::Ecdsa, pay_public, &DIGEST, &signature).expect("verify");
    let payments_db = one(&session, ObjectClass::DATA, "payments/db");
    let value = session.get_attributes(payments_db, &[cryptoki::object::AttributeType::Value]).expect("value");
    assert_eq!(value, [Attribute::Value(b"payments password".to_vec())]);
    // web's handles are invalid for payments, decided by the daemon.
    assert_eq!(rv(session.encrypt(&envelope(), web_aes, b"x")), RvError::KeyHandleInvalid);
    assert_eq!(rv(session.decrypt(&envelope(), web_aes, &blob)), RvError::KeyHandleInvalid);
    assert_eq!(rv(session.sign(&Mechanism::Ecdsa, made_private, &DIGEST)), RvError::KeyHandleInvalid);
    assert_eq!(
        rv(session.get_attributes(web_token, &[cryptoki::object::AttributeType::Value])),
        RvError::ObjectHandleInvalid
    );
    // No CreateKey, no ScheduleKeyDeletion: PKCS#11's "policy restrictions".
    let (public_t, private_t) = ec_templates("pay-made");
    assert_eq!(
        rv(session.generate_key_pair(&Mechanism::EccKeyPairGen, &public_t, &private_t)),
        RvError::ActionProhibited
    );
    assert_eq!(rv(session.destroy_object(pay_sign)), RvError::ActionProhibited);
    assert_eq!(daemon.cli_json(&["key", "describe", "alias/pay-sign"])["KeyMetadata"]["KeyState"], "Enabled");

    // A policy change applies at the session's next call: Sign removed
    // (the key stays visible through GetPublicKey) ...
    daemon.update_app_policy(
        "payments",
        r#"{"Version": "1", "Statement": [
          {"Effect": "Allow", "Action": ["kms:Verify", "kms:GetPublicKey"], "Resource": "tag:team=payments"},
          {"Effect": "Deny", "Action": "kms:Sign", "Resource": "*"}
        ]}"#,
    );
    assert_eq!(rv(session.sign(&Mechanism::Ecdsa, pay_sign, &DIGEST)), RvError::KeyFunctionNotPermitted);
    session.verify(&Mechanism::Ecdsa, pay_public, &DIGEST, &signature).expect("verify is still allowed");
    assert_eq!(secrets(&session), Vec::<String>::new(), "the secret statement is gone");
    assert_eq!(
        rv(session.get_attributes(payments_db, &[cryptoki::object::AttributeType::Value])),
        RvError::ObjectHandleInvalid
    );
    // ... and back.
    daemon.update_app_policy("payments", PAYMENTS);
    session.sign(&Mechanism::Ecdsa, pay_sign, &DIGEST).expect("sign again");

    // A tag statement follows the tag: untagged, the key is gone for
    // payments; tagged again, it is back with the same handle.
    daemon.cli_json(&["key", "untag", "alias/pay-sign", "--tag-key", "team"]);
    assert_eq!(private_keys(&session), Vec::<String>::new());
    assert_eq!(rv(session.sign(&Mechanism::Ecdsa, pay_sign, &DIGEST)), RvError::KeyHandleInvalid);
    daemon.cli_json(&["key", "tag", "alias/ops-sign", "--tag", "team=payments"]);
    assert_eq!(private_keys(&session), ["ops-sign"], "a key newly tagged for the team");
    daemon.cli_json(&["key", "tag", "alias/pay-sign", "--tag", "team=payments"]);
    assert_eq!(one(&session, ObjectClass::PRIVATE_KEY, "pay-sign"), pay_sign);
    session.sign(&Mechanism::Ecdsa, pay_sign, &DIGEST).expect("sign with the key tagged again");
    session.logout().expect("logout");

    // An envelope blob opens only with Decrypt on the key it names.
    daemon.update_app_policy(
        "web",
        r#"{"Version": "1", "Statement": [
          {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "alias/web-aes"}
        ]}"#,
    );
    login(&session, &web_pin);
    session.encrypt(&envelope(), web_aes, b"more").expect("encrypt is allowed");
    assert_eq!(rv(session.decrypt(&envelope(), web_aes, &blob)), RvError::KeyFunctionNotPermitted);
    assert_eq!(private_keys(&session), Vec::<String>::new(), "without CreateKey its own keys are not its own");
    session.logout().expect("logout");

    // An app created without a policy may do nothing.
    login(&session, &nobody_pin);
    assert_eq!(labels(&session, &[]), Vec::<String>::new(), "no key, no secret");
    let (public_t, private_t) = ec_templates("nobody");
    assert_eq!(
        rv(session.generate_key_pair(&Mechanism::EccKeyPairGen, &public_t, &private_t)),
        RvError::ActionProhibited
    );
    session.logout().expect("logout");

    // Before any login, public keys are public, as PKCS#11 has them.
    assert!(labels(&session, &[Attribute::Class(ObjectClass::PUBLIC_KEY)]).contains(&"pay-sign".to_owned()));

    // The refusals are in the log with the app and the resource.
    let log = daemon.log();
    assert!(log.contains("app 'payments' may not kms:Sign on key/"), "{log}");
    assert!(log.contains("app 'web' may not kms:Decrypt on key/"), "{log}");
    assert!(log.contains("app 'nobody' may not kms:CreateKey on instance/hsm1"), "{log}");
    assert!(!log.contains("payments password") && !log.contains("web token"));
}
