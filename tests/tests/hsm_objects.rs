//! What the daemon stores in its HSMs, read back with SoftHSM itself: a
//! version's key objects are token objects on every member, read-only,
//! sensitive and private to the token's user; generated keys keep
//! `CKA_LOCAL` on the primary; and each member holds exactly one object
//! per key half (key objects are staged as session objects and copied to
//! the token, see `daemon/src/hsm/persist.rs`).

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::Session;

use p11kms_tests::{Daemon, MemberTokens};

/// The boolean attributes that matter, of every object with `id`.
fn flags(session: &Session, id: &[u8; 16]) -> Vec<(ObjectClass, [bool; 5])> {
    let types = [
        AttributeType::Class,
        AttributeType::Token,
        AttributeType::Modifiable,
        AttributeType::Private,
        AttributeType::Sensitive,
        AttributeType::Local,
    ];
    let mut found: Vec<(ObjectClass, [bool; 5])> = session
        .find_objects(&[Attribute::Id(id.to_vec())])
        .expect("find")
        .into_iter()
        .map(|object| {
            let attributes = session.get_attributes(object, &types).expect("attributes");
            let mut class = ObjectClass::DATA;
            let mut values = [false; 5];
            for attribute in attributes {
                match attribute {
                    Attribute::Class(c) => class = c,
                    Attribute::Token(v) => values[0] = v,
                    Attribute::Modifiable(v) => values[1] = v,
                    Attribute::Private(v) => values[2] = v,
                    Attribute::Sensitive(v) => values[3] = v,
                    Attribute::Local(v) => values[4] = v,
                    _ => {}
                }
            }
            (class, values)
        })
        .collect();
    found.sort_by_key(|(class, _)| u64::from(*class));
    found
}

#[test]
fn key_objects_are_read_only_token_objects_on_every_member() {
    let daemon = Daemon::start();
    daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/stored-aes"]);
    daemon.create_key(&["--key-spec", "EC_P256", "--key-usage", "SIGN/VERIFY", "--alias", "alias/stored-ec"]);
    let aes = daemon.version_ids("alias/stored-aes")[0];
    let ec = daemon.version_ids("alias/stored-ec")[0];
    let tokens = MemberTokens::open(&daemon);

    for member in 0..3 {
        let session = tokens.session(member);
        let primary = member == 0;
        // [token, modifiable, private, sensitive, local]
        assert_eq!(
            flags(&session, &aes),
            vec![(ObjectClass::SECRET_KEY, [true, false, true, true, primary])],
            "AES version on member {member}"
        );
        let pair = flags(&session, &ec);
        assert_eq!(pair.len(), 2, "EC version on member {member}: {pair:?}");
        assert_eq!(pair[0].0, ObjectClass::PUBLIC_KEY);
        assert_eq!(pair[0].1[..2], [true, false], "public half on member {member}");
        assert_eq!(pair[1], (ObjectClass::PRIVATE_KEY, [true, false, true, true, primary]), "member {member}");
    }
}
