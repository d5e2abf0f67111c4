//! The daemon's log, at its most verbose (`RUST_LOG=trace`), carries no
//! PIN, no plaintext, no data key, no imported key material and no value an
//! application stored: each is used through every path that handles it
//! (the CLI, the module, a wrong PIN, an import), then looked for in the
//! log as text, hex and base64.
//!
//! Its own test binary: the module is loaded in this process, which can
//! only load it once.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use p11kms_proto::bytes::{from_base64, to_base64};
use p11kms_tests::{Daemon, hsm1, load_module};

const PLAINTEXT: &str = "plaintext-7f3a9c-never-logged";
const OBJECT_VALUE: &[u8] = b"object-value-51d2e8-never-logged";
const SECRET_VALUE: &[u8] = b"secret-value-c04e71-never-logged";
const WRONG_PIN: &str = "wrong-pin-90ab37";
const MATERIAL: [u8; 32] = [0x5c; 32];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every way a secret could be written into a log line.
fn spellings(secret: &[u8]) -> Vec<String> {
    let mut all = vec![hex(secret), hex(secret).to_uppercase(), to_base64(secret), format!("{secret:?}")];
    if let Ok(text) = std::str::from_utf8(secret) {
        all.push(text.to_owned());
    }
    all
}

#[test]
fn no_pin_plaintext_key_or_value_reaches_the_log_at_trace_level() {
    let mut daemon = Daemon::start();
    daemon.set_env("RUST_LOG", Some("trace"));
    daemon.restart();

    // Admin plane: an app's PIN, encryption, a data key, an import.
    let pin = daemon.create_app("quiet", "hsm1");
    let key = daemon.create_key(&["--key-spec", "AES_256"]);
    let blob = daemon.cli_json(&["encrypt", "--key-id", &key, "--plaintext", PLAINTEXT])["CiphertextBlob"]
        .as_str()
        .expect("blob")
        .to_owned();
    let decrypted = daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob]);
    assert_eq!(from_base64(decrypted["Plaintext"].as_str().expect("Plaintext")).expect("b64"), PLAINTEXT.as_bytes());
    let data_key = daemon.cli_json(&["generate-data-key", "--key-id", &key, "--key-spec", "AES_256"]);
    let data_key = from_base64(data_key["Plaintext"].as_str().expect("Plaintext")).expect("b64");
    let external = daemon.create_key(&["--key-spec", "AES_256", "--origin", "EXTERNAL"]);
    let (code, _, stderr) = daemon.import_material(&external, &MATERIAL, "RSAES_OAEP_SHA_256", &[]);
    assert_eq!(code, Some(0), "{stderr}");
    daemon.create_secret("quiet-secret", "hsm1", SECRET_VALUE, false);

    // Data plane: a wrong PIN, the right one, a stored value, a secret's
    // value, encryption.
    let ctx = load_module(&daemon);
    let session = ctx.open_rw_session(hsm1(&ctx)).expect("session");
    assert!(session.login(UserType::User, Some(&AuthPin::from(WRONG_PIN.to_owned()))).is_err());
    session.login(UserType::User, Some(&AuthPin::from(pin.clone()))).expect("login");
    let object = session
        .create_object(&[
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(true),
            Attribute::Label(b"quiet-note".to_vec()),
            Attribute::Value(OBJECT_VALUE.to_vec()),
        ])
        .expect("data object");
    let read = session.get_attributes(object, &[AttributeType::Value]).expect("read");
    assert!(matches!(read.as_slice(), [Attribute::Value(v)] if v == OBJECT_VALUE));
    let secret = session.find_objects(&[Attribute::Label(b"quiet-secret".to_vec())]).expect("find");
    let read = session.get_attributes(secret[0], &[AttributeType::Value]).expect("read");
    assert!(matches!(read.as_slice(), [Attribute::Value(v)] if v == SECRET_VALUE));
    let aes = session
        .generate_key(&Mechanism::AesKeyGen, &[Attribute::ValueLen(32.into()), Attribute::Encrypt(true)])
        .expect("session key");
    let iv = [9u8; 16];
    session.encrypt(&Mechanism::AesCbcPad(iv), aes, PLAINTEXT.as_bytes()).expect("encrypt");
    drop(session);
    drop(ctx);

    let log = daemon.log();
    // The log really is verbose (the daemon's most detailed lines are at
    // debug level), and saw the calls: a quiet log would pass the checks
    // below for the wrong reason.
    assert!(log.contains("DEBUG"), "the daemon did not log verbosely:\n{log}");
    assert!(log.contains("quiet"), "the log does not mention the app's calls:\n{log}");
    assert!(log.contains("PinIncorrect"), "the wrong PIN was not logged as a failure:\n{log}");

    let secrets: [(&str, &[u8]); 7] = [
        ("the app's PIN", pin.as_bytes()),
        ("a wrong PIN", WRONG_PIN.as_bytes()),
        ("a plaintext", PLAINTEXT.as_bytes()),
        ("a data key", &data_key),
        ("imported key material", &MATERIAL),
        ("an object's value", OBJECT_VALUE),
        ("a secret's value", SECRET_VALUE),
    ];
    for (what, secret) in secrets {
        for spelling in spellings(secret) {
            assert!(!log.contains(&spelling), "the log holds {what} (as {spelling:?})");
        }
    }
    daemon.stop();
}
