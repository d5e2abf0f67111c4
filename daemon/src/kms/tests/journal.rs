//! The journal and restarts: every change a KMS operation makes is
//! appended to the journal in its transaction (entity and operation named,
//! stamped with the clock, sequence strictly increasing), refusals append
//! nothing, no import token reaches it, and after a long run of changes a
//! restart (the registry rebuilt from the store) sees what the registry
//! shows.

use p11kms_proto::admin::{KeySpec, UpdateRotationPolicyRequest, WrappingAlgorithm, WrappingKeySpec};

use super::{DAY, material, tag};
use crate::kms::keys::{import, lifecycle, rotation};
use crate::kms::testing::Fixture;
use crate::kms::{aliases, apps};

/// The (entity, operation) pairs journaled by `step`.
fn journaled(fx: &Fixture, step: impl FnOnce()) -> Vec<(String, String)> {
    let before = fx.kms.store.journal_since(0, 1_000_000).unwrap();
    let last = before.last().map_or(0, |e| e.seq);
    step();
    let added = fx.kms.store.journal_since(last, 1_000_000).unwrap();
    assert!(added.iter().all(|e| e.at == fx.now()), "stamped with the clock");
    assert!(added.windows(2).all(|w| w[0].seq < w[1].seq));
    added.into_iter().map(|e| (e.entity, e.operation)).collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

#[test]
fn every_change_is_journaled() {
    let fx = Fixture::new();
    let mut key = String::new();
    assert_eq!(
        journaled(&fx, || key = fx.create(KeySpec::Aes256).record.key_id),
        pairs(&[
            ("creation_intent", "create"),
            ("key", "create"),
            ("key_version", "create"),
            ("creation_intent", "delete")
        ])
    );
    let k = key.as_str();
    let kms = &fx.kms;
    assert_eq!(journaled(&fx, || aliases::create(kms, "alias/j", k).unwrap()), pairs(&[("alias", "create")]));
    let other = fx.create(KeySpec::Aes256).record.key_id;
    assert_eq!(journaled(&fx, || aliases::update(kms, "alias/j", &other).unwrap()), pairs(&[("alias", "update")]));
    assert_eq!(journaled(&fx, || aliases::delete(kms, "alias/j").unwrap()), pairs(&[("alias", "delete")]));
    let key_update = pairs(&[("key", "update")]);
    assert_eq!(journaled(&fx, || lifecycle::tag(kms, k, &[tag("a", "b")]).unwrap()), key_update);
    assert_eq!(journaled(&fx, || lifecycle::untag(kms, k, &["a".into()]).unwrap()), key_update);
    assert_eq!(journaled(&fx, || lifecycle::disable(kms, k).unwrap()), key_update);
    assert_eq!(journaled(&fx, || lifecycle::enable(kms, k).unwrap()), key_update);
    assert_eq!(journaled(&fx, || lifecycle::set_deletion_protection(kms, k, false).unwrap()), key_update);
    assert_eq!(
        journaled(&fx, || {
            rotation::rotate(kms, k).unwrap();
        }),
        pairs(&[
            ("creation_intent", "create"),
            ("key_version", "create"),
            ("key", "update"),
            ("creation_intent", "delete")
        ])
    );
    let policy = UpdateRotationPolicyRequest {
        key: k.into(),
        enable_automatic_rotation: true,
        rotation_interval: Some(30 * DAY),
    };
    assert_eq!(journaled(&fx, || rotation::update_policy(kms, &policy).unwrap()), key_update);
    assert_eq!(journaled(&fx, || lifecycle::schedule_deletion(kms, k, 7).unwrap()), key_update);
    assert_eq!(journaled(&fx, || lifecycle::cancel_deletion(kms, k).unwrap()), key_update);
    lifecycle::schedule_deletion(kms, k, 7).unwrap();
    fx.kms.clock.advance(7 * DAY).unwrap();
    assert_eq!(
        journaled(&fx, || assert_eq!(crate::kms::scheduler::run_due(kms).destroyed, 1)),
        pairs(&[("key", "delete")])
    );

    let external = fx.create_external().record.key_id;
    let e = external.as_str();
    let mut token = String::new();
    assert_eq!(
        journaled(&fx, || {
            token = import::get_parameters(kms, e, WrappingAlgorithm::RsaesOaepSha1, WrappingKeySpec::Rsa2048)
                .unwrap()
                .import_token;
        }),
        pairs(&[("creation_intent", "create"), ("import_token", "create"), ("creation_intent", "delete")])
    );
    assert_eq!(
        journaled(&fx, || fx.import_material(e, &material(), WrappingAlgorithm::RsaesPkcs1V15, None).unwrap()),
        pairs(&[
            ("creation_intent", "create"),
            ("import_token", "create"),
            ("creation_intent", "delete"),
            ("creation_intent", "create"),
            ("key_version", "update"),
            ("key", "update"),
            ("import_token", "delete"),
            ("creation_intent", "delete")
        ])
    );
    assert_eq!(
        journaled(&fx, || import::delete_material(kms, e).unwrap()),
        pairs(&[("key_version", "update"), ("key", "update")])
    );
    fx.kms.clock.advance(DAY).unwrap();
    assert_eq!(
        journaled(&fx, || assert_eq!(crate::kms::scheduler::run_due(kms).expired_tokens, 1)),
        pairs(&[("import_token", "delete")])
    );
    let all = fx.kms.store.journal_since(0, 1_000_000).unwrap();
    assert!(all.iter().all(|entry| !entry.payload.contains(&token)), "no import token reaches the journal");

    assert_eq!(journaled(&fx, || drop(apps::create(kms, "web", "hsm1", None).unwrap())), pairs(&[("app", "create")]));
    assert_eq!(journaled(&fx, || apps::delete(kms, "web").unwrap()), pairs(&[("app", "delete")]));
    fx.assert_consistent();
}

#[test]
fn refusals_journal_nothing() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let external = fx.create_external().record.key_id;
    let kms = &fx.kms;
    let refused = journaled(&fx, || {
        assert!(lifecycle::schedule_deletion(kms, &key, 6).is_err());
        assert!(lifecycle::cancel_deletion(kms, &key).is_err());
        assert!(lifecycle::tag(kms, &key, &[tag("acs:x", "y")]).is_err());
        assert!(aliases::create(kms, "alias/acs/x", &key).is_err());
        assert!(rotation::rotate(kms, &external).is_err());
        assert!(import::delete_material(kms, &external).is_err());
        assert!(lifecycle::enable(kms, &external).is_err());
        let policy =
            UpdateRotationPolicyRequest { key: key.clone(), enable_automatic_rotation: true, rotation_interval: None };
        assert!(rotation::update_policy(kms, &policy).is_err());
    });
    assert_eq!(refused, pairs(&[]));
}

#[test]
fn a_restart_sees_what_the_registry_shows_after_a_long_run() {
    let fx = Fixture::new();
    let mut new = fx.new_key(KeySpec::Aes256);
    new.automatic_rotation = true;
    new.rotation_interval = Some(7 * DAY);
    new.alias = Some("alias/rotating".into());
    let rotating = fx.create_with(new).record.key_id;
    let ec = fx.create(KeySpec::EcP256).record.key_id;
    let external = fx.create_external().record.key_id;
    let doomed = fx.create(KeySpec::Aes128).record.key_id;
    fx.import_material(&external, &material(), WrappingAlgorithm::RsaesOaepSha256, Some(fx.now().unix() + 20 * DAY))
        .unwrap();
    aliases::create(&fx.kms, "alias/ec", &ec).unwrap();
    lifecycle::tag(&fx.kms, &ec, &[tag("curve", "p256")]).unwrap();
    lifecycle::schedule_deletion(&fx.kms, &doomed, 10).unwrap();
    apps::create(&fx.kms, "web", "hsm1", None).unwrap();
    for _ in 0..5 {
        fx.advance_days(5);
        fx.assert_consistent();
    }
    assert_eq!(fx.key(&rotating).versions.len(), 3, "rotated at the passes of days 10 and 20");
    assert!(fx.kms.registry().unwrap().key(&doomed).is_err(), "destroyed at day 10");
    assert_eq!(fx.key(&external).record.state, p11kms_proto::admin::KeyState::PendingImport, "expired at day 20");
    fx.assert_consistent();
}

#[test]
fn keys_come_back_in_creation_order_after_a_restart() {
    let fx = Fixture::new();
    let first = fx.create(KeySpec::Aes256).record.key_id;
    let second = fx.create(KeySpec::Aes256).record.key_id;
    lifecycle::disable(&fx.kms, &first).unwrap();
    let live: Vec<String> = fx.kms.registry().unwrap().keys().map(|k| k.record.key_id.clone()).collect();
    assert_eq!(live, [first.clone(), second.clone()]);
    let stored: Vec<String> = fx.reloaded().keys().map(|k| k.record.key_id.clone()).collect();
    assert_eq!(stored, live);
}
