//! Keys that applications name (`docs/pkcs11.md`, "Keys that applications
//! name"): `pkcs11-tool --keypairgen --id 4a4b` makes a KMS key that
//! keeps the id, a certificate written under the same id pairs with it
//! (`pkcs11-tool -O`), and OpenSSL's pkcs11 engine signs with
//! `pkcs11:…;id=%4a%4b;type=private`. Then, with the module loaded in
//! this process: a search by the id and by the version id, and
//! `C_SetAttributeValue` of `CKA_ID` and `CKA_LABEL` on a KMS key, with
//! its refusals and its audit record. One test: the module is loaded in
//! process.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use p11kms_tests::keys::P256;
use p11kms_tests::openssl_engine::{engine_config, engine_openssl};
use p11kms_tests::output::{succeeded, text};
use p11kms_tests::{Daemon, hsm1, load_module, run, rv};

/// The `ID:` lines of `pkcs11-tool -O` for objects of one kind
/// (`Private Key Object`, `Certificate Object`, …).
fn ids_of(listing: &str, kind: &str) -> Vec<String> {
    // Each object starts with an unindented line; its attributes follow.
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in listing.lines() {
        match blocks.last_mut() {
            Some(block) if line.starts_with(' ') => block.push(line),
            _ => blocks.push(vec![line]),
        }
    }
    blocks
        .iter()
        .filter(|block| block[0].starts_with(kind))
        .filter_map(|block| block.iter().find_map(|l| l.trim().strip_prefix("ID:").map(|v| v.trim().to_owned())))
        .collect()
}

fn external_tools_pair_a_key_and_its_certificate(daemon: &Daemon, pin: &str, dir: &Path) {
    let login = ["--login", "--pin", pin];
    let generate = |id: &str, label: &str| {
        daemon.pkcs11_tool_output(
            &[&["--keypairgen", "--key-type", "EC:prime256v1", "--id", id, "--label", label][..], &login].concat(),
        )
    };
    succeeded("keypairgen --id 4a4b", &generate("4a4b", "k1"), daemon);

    // The engine finds the key by its id and signs a self-signed certificate.
    let config = engine_config(dir, Some(pin));
    let uri = "pkcs11:token=hsm1;id=%4a%4b;type=private";
    let req = ["req", "-new", "-x509", "-engine", "pkcs11", "-keyform", "engine", "-key", uri];
    let out = engine_openssl(
        daemon,
        &config,
        dir,
        &[&req[..], &["-subj", "/CN=k1", "-days", "2", "-sha256", "-out", "cert.pem"]].concat(),
    );
    succeeded("openssl req with the key's id", &out, daemon);
    let verify = Command::new("openssl")
        .args(["verify", "-CAfile", "cert.pem", "cert.pem"])
        .current_dir(dir)
        .output()
        .expect("openssl verify");
    succeeded("the certificate's self-signature verifies", &verify, daemon);
    run(Command::new("openssl")
        .args(["x509", "-in", "cert.pem", "-outform", "der", "-out", "cert.der"])
        .current_dir(dir));

    let cert = dir.join("cert.der");
    let cert = cert.to_str().expect("path");
    let written = daemon.pkcs11_tool_output(
        &[&["--write-object", cert, "--type", "cert", "--id", "4a4b", "--label", "k1"][..], &login].concat(),
    );
    succeeded("write the certificate under the key's id", &written, daemon);

    let listing = daemon.pkcs11_tool(&[&["-O"][..], &login].concat());
    assert_eq!(ids_of(&listing, "Private Key Object"), vec!["4a4b"], "{listing}");
    assert_eq!(ids_of(&listing, "Public Key Object"), vec!["4a4b"], "{listing}");
    assert_eq!(ids_of(&listing, "Certificate Object"), vec!["4a4b"], "{listing}");

    // An application id names one key of the instance.
    let again = generate("4a4b", "k9");
    assert!(!again.status.success(), "a second key with id 4a4b: {}", text(&again.stdout));
    let keys = daemon.cli_json(&["key", "list"]);
    assert_eq!(keys["Keys"].as_array().map(Vec::len), Some(1), "the refused key was not made: {keys}");
}

fn find(session: &Session, template: &[Attribute]) -> Vec<ObjectHandle> {
    session.find_objects(template).expect("find")
}

fn id(session: &Session, object: ObjectHandle) -> Vec<u8> {
    match session.get_attributes(object, &[AttributeType::Id]).expect("CKA_ID").pop() {
        Some(Attribute::Id(id)) => id,
        other => panic!("CKA_ID: {other:?}"),
    }
}

fn label(session: &Session, object: ObjectHandle) -> Vec<u8> {
    match session.get_attributes(object, &[AttributeType::Label]).expect("CKA_LABEL").pop() {
        Some(Attribute::Label(label)) => label,
        other => panic!("CKA_LABEL: {other:?}"),
    }
}

fn the_module_finds_and_names_keys(daemon: &Daemon, pin: &str) {
    let ctx = load_module(daemon);
    let session = ctx.open_rw_session(hsm1(&ctx)).expect("session");
    session.login(UserType::User, Some(&AuthPin::from(pin.to_owned()))).expect("login");
    let private = Attribute::Class(ObjectClass::PRIVATE_KEY);

    // Both ids find k1's private key; CKA_ID reads as the application's.
    let by_app_id = find(&session, &[private.clone(), Attribute::Id(vec![0x4a, 0x4b])]);
    assert_eq!(by_app_id.len(), 1);
    assert_eq!(id(&session, by_app_id[0]), vec![0x4a, 0x4b]);
    let version = daemon.version_ids("alias/k1")[0];
    assert_eq!(find(&session, &[private.clone(), Attribute::Id(version.to_vec())]), by_app_id);

    // A key made without a name gets one with C_SetAttributeValue.
    let (public, key) = session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[Attribute::Token(true), Attribute::EcParams(P256.to_vec())],
            &[Attribute::Token(true), Attribute::Sign(true)],
        )
        .expect("generate a KMS key");
    assert_eq!(id(&session, key).len(), 16, "the version id until named");
    assert_eq!(id(&session, public), id(&session, key), "cached on both halves");
    session
        .update_attributes(key, &[Attribute::Id(b"java-1".to_vec()), Attribute::Label(b"k2".to_vec())])
        .expect("name it");
    assert_eq!(id(&session, public), b"java-1", "the other half's cached id is not shown any more");
    session.update_attributes(public, &[Attribute::Id(b"java-1".to_vec())]).expect("the public half too");
    assert_eq!(id(&session, key), b"java-1");
    assert_eq!(id(&session, public), b"java-1");
    assert_eq!(label(&session, key), b"k2");
    assert_eq!(find(&session, &[private.clone(), Attribute::Id(b"java-1".to_vec())]), vec![key]);
    assert_eq!(find(&session, &[private.clone(), Attribute::Label(b"k2".to_vec())]), vec![key]);
    let aliases = daemon.cli_json(&["alias", "list"]).to_string();
    assert!(aliases.contains("alias/k2"), "the label is an alias: {aliases}");
    let signature = session.sign(&Mechanism::Ecdsa, key, &[5; 32]).expect("sign with the named key");
    session.verify(&Mechanism::Ecdsa, public, &[5; 32], &signature).expect("verify");

    // Refusals: a taken id or alias, another attribute, a second label.
    assert_eq!(rv(session.update_attributes(key, &[Attribute::Id(vec![0x4a, 0x4b])])), RvError::AttributeValueInvalid);
    assert_eq!(rv(session.update_attributes(key, &[Attribute::Id(version.to_vec())])), RvError::AttributeValueInvalid);
    assert_eq!(rv(session.update_attributes(key, &[Attribute::Sign(false)])), RvError::AttributeReadOnly);
    assert_eq!(rv(session.update_attributes(key, &[Attribute::Label(b"k3".to_vec())])), RvError::AttributeReadOnly);
    assert_eq!(rv(session.copy_object(key, &[])), RvError::ActionProhibited);
    assert_eq!(id(&session, key), b"java-1", "refusals change nothing");

    drop(session);
    let events = daemon.cli_json(&["audit", "lookup-events", "--event-name", "SetAttributeValue"]);
    let count = events["Events"].as_array().map_or(0, Vec::len);
    assert!(count >= 2, "SetAttributeValue audited: {events}");
    drop(ctx);
}

#[test]
fn applications_name_their_keys() {
    let mut daemon = Daemon::start();
    let pin = daemon.create_app("named", "hsm1");
    let dir = tempfile::tempdir().expect("work dir");
    external_tools_pair_a_key_and_its_certificate(&daemon, &pin, dir.path());
    the_module_finds_and_names_keys(&daemon, &pin);

    // The names survive a restart (store, migration 11).
    daemon.restart();
    let listing = daemon.pkcs11_tool(&["-O", "--login", "--pin", &pin]);
    let mut ids = ids_of(&listing, "Private Key Object");
    ids.sort();
    assert_eq!(ids, vec!["4a4b".to_owned(), hex(b"java-1")], "{listing}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
