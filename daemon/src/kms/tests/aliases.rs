//! Aliases (`aliases.rs`): create, update, delete and list; an alias
//! resolves to its key wherever a key is named; names are checked
//! (`alias/` prefix, characters, the reserved `alias/acs/` space) and
//! unique (AliasAlreadyExists), also against an alias given at key
//! creation; the oldest alias is the key's PKCS#11 label; every change
//! reaches the store; an alias goes with its key.

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{EncryptRequest, KeySpec};

use super::{DAY, code};
use crate::kms::aliases;
use crate::kms::envelope;
use crate::kms::keys::lifecycle;
use crate::kms::testing::{Fixture, INSTANCE};

#[test]
fn an_alias_resolves_to_its_key() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let journal = fx.journal_len();
    aliases::create(&fx.kms, "alias/web/signing-key_1", &key).expect("creates");
    assert!(fx.journal_len() > journal, "journaled");
    assert_eq!(fx.kms.registry().unwrap().key("alias/web/signing-key_1").unwrap().record.key_id, key);
    assert_eq!(fx.reloaded().key("alias/web/signing-key_1").unwrap().record.key_id, key, "and after a restart");
    // Operations take the alias wherever they take a key.
    let sealed = envelope::encrypt(
        &fx.kms,
        &EncryptRequest {
            key: "alias/web/signing-key_1".into(),
            plaintext: "x".into(),
            encryption_context: Default::default(),
        },
    )
    .expect("encrypts through the alias");
    assert_eq!(sealed.key_id, key, "the blob names the key, not the alias");
    lifecycle::disable(&fx.kms, "alias/web/signing-key_1").expect("disables through the alias");
    assert_eq!(fx.key(&key).record.state, p11kms_proto::admin::KeyState::Disabled);
    // An alias can also name a key through another alias.
    aliases::create(&fx.kms, "alias/second", "alias/web/signing-key_1").expect("creates");
    assert_eq!(fx.key("alias/second").record.key_id, key);
    fx.assert_consistent();
}

#[test]
fn the_oldest_alias_is_the_label() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    assert_eq!(fx.key(&key).label(), key, "without an alias, the key id");
    aliases::create(&fx.kms, "alias/first", &key).unwrap();
    fx.advance_days(1);
    aliases::create(&fx.kms, "alias/a-second", &key).unwrap();
    let entry = fx.key(&key);
    assert_eq!(entry.label(), "first");
    assert!(entry.is_named("first") && entry.is_named("alias/a-second") && entry.is_named(&key));
    assert_eq!(fx.reloaded().key(&key).unwrap().label(), "first", "the same after a restart");
}

#[test]
fn names_must_be_aliases_outside_the_reserved_space() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let journal = fx.journal_len();
    let long = format!("alias/{}", "x".repeat(256));
    for bad in ["web", "alias/", "alias/a b", "alias/é", long.as_str(), ""] {
        assert_eq!(code(aliases::create(&fx.kms, bad, &key)), ErrorCode::InvalidParameter, "{bad:?}");
    }
    // The service keys' space (`tests/service_keys.rs` has the rest).
    for reserved in ["alias/acs", "alias/acs/ecs"] {
        assert_eq!(code(aliases::create(&fx.kms, reserved, &key)), ErrorCode::UnsupportedOperation, "{reserved:?}");
    }
    let longest = format!("alias/{}", "x".repeat(255));
    aliases::create(&fx.kms, &longest, &key).expect("255 characters after the prefix");
    assert_eq!(fx.journal_len(), journal + 1, "only the good name was written");
    let mut new = fx.new_key(KeySpec::Aes256);
    new.alias = Some("alias/acs/kms".into());
    assert_eq!(code(crate::kms::keys::create(&fx.kms, new)), ErrorCode::UnsupportedOperation);
    assert_eq!(fx.kms.registry().unwrap().keys().count(), 1);
}

#[test]
fn an_alias_is_unique() {
    let fx = Fixture::new();
    let a = fx.create(KeySpec::Aes256).record.key_id;
    let b = fx.create(KeySpec::Aes256).record.key_id;
    aliases::create(&fx.kms, "alias/one", &a).unwrap();
    assert_eq!(code(aliases::create(&fx.kms, "alias/one", &a)), ErrorCode::AliasAlreadyExists);
    assert_eq!(code(aliases::create(&fx.kms, "alias/one", &b)), ErrorCode::AliasAlreadyExists);
    assert_eq!(fx.key("alias/one").record.key_id, a, "the alias still names the first key");
    // Also against the alias of `key create`: no key, no material made.
    let objects = fx.vault.object_count();
    let mut new = fx.new_key(KeySpec::Aes256);
    new.alias = Some("alias/one".into());
    assert_eq!(code(crate::kms::keys::create(&fx.kms, new)), ErrorCode::AliasAlreadyExists);
    assert_eq!(fx.kms.registry().unwrap().keys().count(), 2);
    assert_eq!(fx.vault.object_count(), objects);
    // An alias given at creation is taken like any other.
    let mut new = fx.new_key(KeySpec::Aes256);
    new.alias = Some("alias/two".into());
    let c = fx.create_with(new).record.key_id;
    assert_eq!(fx.key("alias/two").record.key_id, c);
    assert_eq!(code(aliases::create(&fx.kms, "alias/two", &a)), ErrorCode::AliasAlreadyExists);
    fx.assert_consistent();
}

#[test]
fn an_alias_of_a_missing_key_is_refused() {
    let fx = Fixture::new();
    assert_eq!(
        code(aliases::create(&fx.kms, "alias/x", "key-00000000000000000000000000000000")),
        ErrorCode::KeyNotFound
    );
    assert_eq!(code(aliases::create(&fx.kms, "alias/x", "alias/nothing")), ErrorCode::AliasNotFound);
    assert_eq!(fx.kms.registry().unwrap().aliases().count(), 0);
}

#[test]
fn update_points_the_alias_at_another_key() {
    let fx = Fixture::new();
    let a = fx.create(KeySpec::Aes256).record.key_id;
    let b = fx.create(KeySpec::Aes256).record.key_id;
    aliases::create(&fx.kms, "alias/current", &a).unwrap();
    let journal = fx.journal_len();
    aliases::update(&fx.kms, "alias/current", &b).expect("updates");
    assert!(fx.journal_len() > journal);
    assert_eq!(fx.key("alias/current").record.key_id, b);
    assert!(fx.key(&a).aliases.is_empty());
    assert_eq!(fx.key(&b).aliases, vec!["alias/current".to_owned()]);
    assert_eq!(fx.reloaded().key("alias/current").unwrap().record.key_id, b);
    assert_eq!(code(aliases::update(&fx.kms, "alias/none", &b)), ErrorCode::AliasNotFound);
    assert_eq!(
        code(aliases::update(&fx.kms, "alias/current", "key-00000000000000000000000000000000")),
        ErrorCode::KeyNotFound
    );
    assert_eq!(fx.key("alias/current").record.key_id, b, "a refused update changes nothing");
    fx.assert_consistent();
}

#[test]
fn delete_removes_the_alias_only() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    aliases::create(&fx.kms, "alias/gone", &key).unwrap();
    aliases::create(&fx.kms, "alias/stays", &key).unwrap();
    let journal = fx.journal_len();
    aliases::delete(&fx.kms, "alias/gone").expect("deletes");
    assert!(fx.journal_len() > journal);
    assert_eq!(code(fx.kms.registry().unwrap().key("alias/gone").map(drop)), ErrorCode::AliasNotFound);
    assert_eq!(code(fx.reloaded().key("alias/gone").map(drop)), ErrorCode::AliasNotFound);
    assert_eq!(fx.key(&key).aliases, vec!["alias/stays".to_owned()]);
    assert_eq!(code(aliases::delete(&fx.kms, "alias/gone")), ErrorCode::AliasNotFound);
    // The name is free again.
    aliases::create(&fx.kms, "alias/gone", &key).expect("re-creates");
    fx.assert_consistent();
}

#[test]
fn list_shows_every_alias_or_those_of_one_key() {
    let fx = Fixture::new();
    let a = fx.create(KeySpec::Aes256).record.key_id;
    let b = fx.create(KeySpec::EcP256).record.key_id;
    aliases::create(&fx.kms, "alias/a1", &a).unwrap();
    aliases::create(&fx.kms, "alias/a2", &a).unwrap();
    aliases::create(&fx.kms, "alias/b1", &b).unwrap();
    let all = aliases::list(&fx.kms, None).unwrap();
    let mut names: Vec<_> = all.iter().map(|i| i.alias_name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["alias/a1", "alias/a2", "alias/b1"]);
    let b1 = all.iter().find(|i| i.alias_name == "alias/b1").unwrap();
    assert_eq!(b1.key_id, b);
    assert_eq!(b1.alias_arn, format!("acs:kms:{}:{INSTANCE}:alias/b1", fx.kms.region()));
    let of_a = aliases::list(&fx.kms, Some("alias/a2")).unwrap();
    assert_eq!(of_a.len(), 2);
    assert!(of_a.iter().all(|i| i.key_id == a));
    assert_eq!(code(aliases::list(&fx.kms, Some("alias/none"))), ErrorCode::AliasNotFound);
}

#[test]
fn aliases_go_with_their_key() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    aliases::create(&fx.kms, "alias/mortal", &key).unwrap();
    lifecycle::schedule_deletion(&fx.kms, &key, 7).unwrap();
    assert_eq!(fx.key("alias/mortal").record.key_id, key, "still there while pending deletion");
    fx.advance_seconds(7 * DAY);
    assert!(aliases::list(&fx.kms, None).unwrap().is_empty());
    assert_eq!(fx.reloaded().aliases().count(), 0);
    fx.assert_consistent();
}

#[test]
fn update_refuses_a_name_that_is_not_an_alias() {
    let fx = Fixture::new();
    let a = fx.create(KeySpec::Aes256).record.key_id;
    let b = fx.create(KeySpec::Aes256).record.key_id;
    let refusal = code(aliases::update(&fx.kms, &a, &b));
    assert!(matches!(refusal, ErrorCode::AliasNotFound | ErrorCode::InvalidParameter), "{refusal:?}");
    assert!(fx.key(&b).aliases.is_empty(), "and it did not become one: {:?}", fx.key(&b).aliases);
    fx.assert_consistent();
}

#[test]
fn delete_refuses_a_name_that_is_not_an_alias() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let journal = fx.journal_len();
    let refusal = code(aliases::delete(&fx.kms, &key));
    assert!(matches!(refusal, ErrorCode::AliasNotFound | ErrorCode::InvalidParameter), "{refusal:?}");
    assert_eq!(fx.journal_len(), journal, "nothing to journal");
}

#[test]
fn a_moved_alias_orders_the_same_after_a_restart() {
    let fx = Fixture::new();
    let a = fx.create(KeySpec::Aes256).record.key_id;
    aliases::create(&fx.kms, "alias/moved", &a).unwrap();
    fx.advance_days(1);
    let b = fx.create(KeySpec::Aes256).record.key_id;
    aliases::create(&fx.kms, "alias/own", &b).unwrap();
    fx.advance_days(1);
    aliases::update(&fx.kms, "alias/moved", &b).unwrap();
    let live = fx.key(&b);
    let stored = fx.reloaded().key(&b).unwrap().clone();
    assert_eq!(live.aliases, stored.aliases, "alias order (oldest first)");
    assert_eq!(live.label(), stored.label(), "the PKCS#11 label");
}
