//! An instance's token objects stop at its budget (`[objects]`:
//! a count and bytes), with `CKR_DEVICE_MEMORY`, and a value over the
//! largest size is refused as such.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::error::RvError;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

use p11kms_tests::{Daemon, hsm1, load_module, rv};

#[test]
fn token_objects_stop_at_the_instances_budget() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("p11kmsd.toml");
    std::fs::write(&config, "[objects]\ntoken_objects_per_instance = 3\ntoken_bytes_per_instance = 131072\n")
        .expect("config");
    let daemon = Daemon::start_with(&["--config", config.to_str().expect("path")]);
    let pin = daemon.create_app("web", "hsm1");
    let ctx = load_module(&daemon);
    let session = ctx.open_rw_session(hsm1(&ctx)).expect("session");
    session.login(UserType::User, Some(&AuthPin::from(pin))).expect("login");
    let data =
        |len: usize| [Attribute::Class(ObjectClass::DATA), Attribute::Token(true), Attribute::Value(vec![3; len])];
    // Two of 60 KB fit in 128 KiB; a third does not (bytes)...
    let first = session.create_object(&data(60_000)).expect("1");
    session.create_object(&data(60_000)).expect("2");
    assert_eq!(rv(session.create_object(&data(60_000))), RvError::DeviceMemory, "the bytes budget");
    // ...a smaller one does, and a fourth object of any size does not (count).
    session.create_object(&data(8_000)).expect("3");
    assert_eq!(rv(session.create_object(&data(10))), RvError::DeviceMemory, "the count budget");
    // Growing an object is held to the bytes budget too; destroying frees.
    assert_eq!(rv(session.update_attributes(first, &[Attribute::Value(vec![4; 65_000])])), RvError::DeviceMemory);
    session.destroy_object(first).expect("destroyed");
    session.create_object(&data(60_000)).expect("room again");
    // A value over the largest size is refused as such.
    assert_eq!(rv(session.create_object(&data(64 * 1024 + 1))), RvError::AttributeValueInvalid);
}
