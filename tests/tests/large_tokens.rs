//! A token full of large objects stays searchable by every application:
//! a find answers in pages, large values are read on demand, and no reply
//! nears the frame limit (issue: 320 certificates of 60 KB once made every
//! unfiltered find fail).

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

use p11kms_tests::{Daemon, hsm1, load_module};

#[test]
fn a_token_full_of_large_objects_stays_searchable_by_everyone() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("web", "hsm1");
    let ctx = load_module(&daemon);
    let session = ctx.open_rw_session(hsm1(&ctx)).expect("session");
    session.login(UserType::User, Some(&AuthPin::from(pin))).expect("login");
    // 320 objects of 60 KB: 19 MB of values, more than one frame may carry.
    let before = daemon.rss_kib();
    for n in 0..320u32 {
        let mut value = vec![0x61; 60_000];
        value[..4].copy_from_slice(&n.to_be_bytes());
        session
            .create_object(&[
                Attribute::Class(ObjectClass::DATA),
                Attribute::Token(true),
                Attribute::Private(false),
                Attribute::Label(format!("big-{n}").into_bytes()),
                Attribute::Value(value),
            ])
            .expect("a large token object");
    }
    // An unfiltered find answers them all (in pages, values on demand)...
    let all = session.find_objects(&[]).expect("an unfiltered find works");
    assert!(all.len() >= 320, "{} objects", all.len());
    // ...and a value is read when asked for.
    let found = session.find_objects(&[Attribute::Label(b"big-7".to_vec())]).expect("find");
    let value =
        match session.get_attributes(found[0], &[cryptoki::object::AttributeType::Value]).expect("read").as_slice() {
            [Attribute::Value(v)] => v.clone(),
            other => panic!("{other:?}"),
        };
    assert_eq!((value.len(), &value[..4]), (60_000, &7u32.to_be_bytes()[..]));
    // Another application, not logged in, finds the public ones too.
    let other = ctx.open_ro_session(hsm1(&ctx)).expect("another session");
    drop(session);
    assert!(other.find_objects(&[Attribute::Class(ObjectClass::DATA)]).expect("find").len() >= 320);
    // The daemon holds the 19 MB of values, and not several copies of them
    // per find (generous bound: about memory that grows with each find).
    let grown_kib = daemon.rss_kib().saturating_sub(before);
    assert!(grown_kib < 96 * 1024, "the daemon grew by {grown_kib} KiB for 19 MB of objects");
}
