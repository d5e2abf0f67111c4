//! Objects applications create: data objects, certificates and public keys
//! through `C_CreateObject`, changed with `C_SetAttributeValue`, copied,
//! destroyed; token objects survive a daemon restart, session
//! objects end with their session; private ones need the login. Through
//! the cryptoki crate, and certificates written by `pkcs11-tool`.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::process::Command;

use cryptoki::error::RvError;
use cryptoki::object::{Attribute, AttributeType, CertificateType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

use p11kms_tests::{Daemon, hsm1, load_module, run, rv};

fn label(session: &Session, object: ObjectHandle) -> Vec<u8> {
    match session.get_attributes(object, &[AttributeType::Label]).expect("label").as_slice() {
        [Attribute::Label(label)] => label.clone(),
        other => panic!("no label: {other:?}"),
    }
}

fn find(session: &Session, template: &[Attribute]) -> Vec<ObjectHandle> {
    session.find_objects(template).expect("find")
}

/// AES-256-ECB of one block with openssl, as an independent reference.
fn openssl_aes_ecb(key: &[u8], block: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut child = Command::new("openssl")
        .args(["enc", "-aes-256-ecb", "-nopad", "-K", &hex])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl");
    child.stdin.take().expect("stdin").write_all(block).expect("write");
    let out = child.wait_with_output().expect("openssl output");
    assert!(out.status.success());
    out.stdout
}

/// A self-signed certificate made by openssl, in DER.
fn certificate(dir: &std::path::Path) -> Vec<u8> {
    let key = dir.join("cert-key.pem");
    let der = dir.join("cert.der");
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"])
        .args([
            "-subj",
            "/CN=objects test",
            "-days",
            "1",
            "-outform",
            "DER",
            "-keyout",
            key.to_str().expect("path"),
            "-out",
            der.to_str().expect("path"),
        ]));
    std::fs::read(der).expect("certificate")
}

#[test]
fn created_objects_follow_the_pkcs11_rules() {
    let mut daemon = Daemon::start();
    let pin = daemon.create_app("maker", "hsm1");
    let ctx = load_module(&daemon);
    let slot = hsm1(&ctx);
    let session = ctx.open_rw_session(slot).expect("session");

    // Without a login: public session objects only.
    let note = [
        Attribute::Class(ObjectClass::DATA),
        Attribute::Private(false),
        Attribute::Label(b"note".to_vec()),
        Attribute::Application(b"tests".to_vec()),
        Attribute::Value(b"hello".to_vec()),
    ];
    let public_note = session.create_object(&note).expect("a public session data object");
    let mut token_note = note.to_vec();
    token_note.push(Attribute::Token(true));
    assert_eq!(rv(session.create_object(&token_note)), RvError::UserNotLoggedIn);
    let private_note = [Attribute::Class(ObjectClass::DATA), Attribute::Label(b"secret-note".to_vec())];
    assert_eq!(rv(session.create_object(&private_note)), RvError::UserNotLoggedIn, "data is private by default");

    session.login(UserType::User, Some(&AuthPin::from(pin.clone()))).expect("login");
    let token_note = session.create_object(&token_note).expect("a token data object");
    let private_note = session.create_object(&private_note).expect("a private data object");
    assert_eq!(find(&session, &[Attribute::Label(b"note".to_vec())]).len(), 2, "session and token copies");
    assert_eq!(
        find(&session, &[Attribute::Label(b"note".to_vec()), Attribute::Token(true)]),
        vec![token_note],
        "the template decides"
    );
    assert_eq!(
        session.get_attributes(token_note, &[AttributeType::Value, AttributeType::Application]).expect("read"),
        vec![Attribute::Value(b"hello".to_vec()), Attribute::Application(b"tests".to_vec())]
    );

    // Certificates: subject and value are required; the check value is computed.
    let dir = tempfile::tempdir().expect("dir");
    let der = certificate(dir.path());
    let cert_template = [
        Attribute::Class(ObjectClass::CERTIFICATE),
        Attribute::CertificateType(CertificateType::X_509),
        Attribute::Token(true),
        Attribute::Label(b"web-cert".to_vec()),
        Attribute::Id(vec![0xc0, 0xde]),
        Attribute::Subject(b"subject".to_vec()),
        Attribute::Value(der.clone()),
    ];
    let cert = session.create_object(&cert_template).expect("certificate");
    let incomplete: Vec<_> = cert_template.iter().filter(|a| !matches!(a, Attribute::Subject(_))).cloned().collect();
    assert_eq!(rv(session.create_object(&incomplete)), RvError::TemplateIncomplete);
    let mut trusted = cert_template.to_vec();
    trusted.push(Attribute::Trusted(true));
    assert_eq!(rv(session.create_object(&trusted)), RvError::AttributeReadOnly, "no SO, no trusted certificates");
    assert!(matches!(
        session.get_attributes(cert, &[AttributeType::CheckValue]).expect("check value").as_slice(),
        [Attribute::CheckValue(v)] if v.len() == 3
    ));

    // Public keys: the values are kept and shown; key material is refused.
    let mut modulus = vec![0xd3u8; 256];
    modulus[0] = 0xc1;
    let public = session
        .create_object(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::RSA),
            Attribute::Token(true),
            Attribute::Label(b"partner".to_vec()),
            Attribute::Modulus(modulus.clone()),
            Attribute::PublicExponent(vec![1, 0, 1]),
        ])
        .expect("public key");
    assert!(matches!(
        session.get_attributes(public, &[AttributeType::ModulusBits]).expect("bits").as_slice(),
        [Attribute::ModulusBits(bits)] if u64::from(*bits) == 2048
    ));
    // Key material by template: a session key, never a KMS key.
    let secret = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Value(vec![7; 32]),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
    ];
    let mut token_secret = secret.to_vec();
    token_secret.push(Attribute::Token(true));
    assert_eq!(rv(session.create_object(&token_secret)), RvError::AttributeValueInvalid, "KMS keys only by BYOK");
    let imported = session.create_object(&secret).expect("an imported session key");
    // AES-256 of the zero block under the key 0x07 x 32, as openssl computes it.
    let ecb = session.encrypt(&cryptoki::mechanism::Mechanism::AesEcb, imported, &[0; 16]).expect("ECB");
    assert_eq!(ecb, openssl_aes_ecb(&[7; 32], &[0; 16]), "the imported value is the key");
    assert!(session.get_attributes(imported, &[AttributeType::Value]).expect("value").is_empty(), "not read back");
    assert_eq!(
        rv(session.create_object(&[Attribute::Class(ObjectClass::DATA), Attribute::Modulus(vec![1])])),
        RvError::AttributeTypeInvalid
    );

    // Set, copy, size, destroy.
    session.update_attributes(cert, &[Attribute::Label(b"renamed-cert".to_vec())]).expect("relabel");
    assert_eq!(label(&session, cert), b"renamed-cert");
    assert_eq!(rv(session.update_attributes(cert, &[Attribute::Value(b"other".to_vec())])), RvError::AttributeReadOnly);
    let copy = session
        .copy_object(public_note, &[Attribute::Token(true), Attribute::Label(b"kept-note".to_vec())])
        .expect("copy");
    assert_eq!(label(&session, copy), b"kept-note");
    session.destroy_object(copy).expect("destroy the copy");
    assert_eq!(rv(session.get_attributes(copy, &[AttributeType::Label])), RvError::ObjectHandleInvalid);

    // Of a key object only the names (CKA_ID, CKA_LABEL: app_key_ids.rs)
    // change; it is not copyable.
    let key_pair_private = find(&session, &[Attribute::Class(ObjectClass::PRIVATE_KEY)]);
    if let Some(private) = key_pair_private.first() {
        assert_eq!(
            rv(session.update_attributes(*private, &[Attribute::Value(b"x".to_vec())])),
            RvError::AttributeReadOnly
        );
        assert_eq!(rv(session.copy_object(*private, &[])), RvError::ActionProhibited);
    }

    // Private objects hide after logout; session objects end with the session.
    session.logout().expect("logout");
    assert!(find(&session, &[Attribute::Label(b"secret-note".to_vec())]).is_empty());
    assert_eq!(find(&session, &[Attribute::Label(b"renamed-cert".to_vec())]), vec![cert], "certificates are public");
    let _ = private_note;
    session.close().expect("close");
    let session = ctx.open_rw_session(slot).expect("new session");
    assert_eq!(
        find(&session, &[Attribute::Label(b"note".to_vec())]),
        vec![token_note],
        "the session object went with its session"
    );

    // Token objects survive a restart.
    drop(session);
    daemon.restart();
    let session = ctx.open_ro_session(slot).expect("session after restart");
    let found = find(&session, &[Attribute::Label(b"renamed-cert".to_vec())]);
    assert_eq!(found.len(), 1);
    assert_eq!(session.get_attributes(found[0], &[AttributeType::Value]).expect("value"), vec![Attribute::Value(der)]);
}
