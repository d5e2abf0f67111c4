//! What applications store in token objects reaches no file of the daemon
//! in clear: values are sealed under the daemon's root key in the store
//! and in its journal.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

use p11kms_tests::{Daemon, hsm1, load_module};

/// Every file under `dir`, recursively.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(files(&path)) } else { out.push(path) }
    }
    out
}

#[test]
fn a_token_objects_value_reaches_no_file_of_the_daemon_in_clear() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("keeper", "hsm1");
    let ctx = load_module(&daemon);
    let session = ctx.open_rw_session(hsm1(&ctx)).expect("session");
    session.login(UserType::User, Some(&AuthPin::from(pin))).expect("login");
    let secret = b"db-password: correct horse battery staple".to_vec();
    let note = session
        .create_object(&[
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(true),
            Attribute::Label(b"db-password".to_vec()),
            Attribute::Value(secret.clone()),
        ])
        .expect("a token data object");
    session.update_attributes(note, &[Attribute::Value([secret.as_slice(), b" (rotated)"].concat())]).expect("set");
    // The value the application reads back is the one it wrote...
    assert!(matches!(
        session.get_attributes(note, &[AttributeType::Value]).expect("read").as_slice(),
        [Attribute::Value(v)] if v.starts_with(&secret)
    ));
    // ...and no file the daemon wrote holds it: not the database, not its
    // WAL, not the journal inside them.
    let needle = b"correct horse battery staple";
    for path in files(daemon.state_dir()) {
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{} holds the value in clear", path.display());
    }
}
