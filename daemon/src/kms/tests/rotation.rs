//! Versions and rotation (`keys/rotation.rs`, the scheduler), as
//! `shared/spec/key-rotation.txt` and `docs/keys.md` say: a manual
//! rotation adds a version and moves the primary; only KMS-generated
//! symmetric keys rotate; intervals are 7 to 365 days and enabling needs
//! one; NextRotationDate = LastRotationDate + RotationInterval; the
//! scheduler rotates when that date comes and not before, once however
//! late; a Disabled or PendingDeletion key is Suspended and gets no
//! version, and rotates at once when it comes back overdue; an interval
//! change that puts the date in the past rotates at once.

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{AutomaticRotation, KeySpec, KeyState, UpdateRotationPolicyRequest};

use super::{DAY, code, describe, imported_key, material};
use crate::kms::keys::{NewKey, lifecycle, rotation};
use crate::kms::testing::Fixture;

/// An AES_256 key rotating every `days` days.
fn rotating(fx: &Fixture, days: i64) -> String {
    let mut new = fx.new_key(KeySpec::Aes256);
    new.automatic_rotation = true;
    new.rotation_interval = Some(days * DAY);
    fx.create_with(new).record.key_id
}

fn policy(key: &str, enable: bool, interval: Option<i64>) -> UpdateRotationPolicyRequest {
    UpdateRotationPolicyRequest { key: key.into(), enable_automatic_rotation: enable, rotation_interval: interval }
}

fn versions(fx: &Fixture, key: &str) -> usize {
    fx.key(key).versions.len()
}

#[test]
fn a_manual_rotation_adds_a_version_and_moves_the_primary() {
    for spec in [KeySpec::Aes256, KeySpec::Aes128] {
        let fx = Fixture::new();
        let created = fx.create(spec);
        let key = created.record.key_id.clone();
        let first = created.record.primary_version.clone();
        fx.advance_days(3);
        let journal = fx.journal_len();

        let version = rotation::rotate(&fx.kms, &key).expect("rotates");

        let entry = fx.key(&key);
        assert_eq!(entry.versions.len(), 2);
        assert_ne!(version.record.version_id, first);
        assert_eq!(entry.record.primary_version, version.record.version_id);
        assert!(entry.version(&first).is_some(), "the old version stays for decryption");
        assert_eq!(version.record.created_at, fx.now());
        let metadata = describe(&fx, &key);
        assert_eq!(metadata.primary_key_version, version.record.version_id);
        assert_eq!(metadata.last_rotation_date, fx.now());
        assert_eq!(metadata.automatic_rotation, AutomaticRotation::Disabled);
        assert_eq!(metadata.next_rotation_date, None);
        assert!(fx.journal_len() > journal, "the rotation is journaled");
        fx.assert_consistent();
    }
}

#[test]
fn only_kms_generated_symmetric_keys_rotate() {
    let fx = Fixture::new();
    let ec = fx.create(KeySpec::EcP256).record.key_id;
    let rsa = fx.create(KeySpec::Rsa2048).record.key_id;
    let external = imported_key(&fx, &material());
    let mut service = fx.new_key(KeySpec::Aes256);
    service.creator = "service:secrets".into();
    let service = fx.create_with(service).record.key_id;
    for key in [&ec, &rsa, &external, &service] {
        assert_eq!(code(rotation::rotate(&fx.kms, key)), ErrorCode::UnsupportedOperation, "rotate {key}");
        assert_eq!(
            code(rotation::update_policy(&fx.kms, &policy(key, true, Some(30 * DAY)))),
            ErrorCode::UnsupportedOperation,
            "update-rotation-policy {key}"
        );
        let entry = fx.key(key);
        assert_eq!(entry.versions.len(), 1, "{key} has one version");
        assert!(!entry.record.automatic_rotation);
    }
    fx.assert_consistent();
}

#[test]
fn an_interval_without_automatic_rotation_is_refused_at_create() {
    let fx = Fixture::new();
    let mut new = fx.new_key(KeySpec::Aes256);
    new.rotation_interval = Some(30 * DAY);
    let error = crate::kms::keys::create(&fx.kms, new).expect_err("not stored silently");
    assert_eq!(error.code(), ErrorCode::InvalidParameter);
    assert!(error.to_string().contains("EnableAutomaticRotation"), "{error}");
    assert_eq!(fx.kms.registry().unwrap().keys().count(), 0);
}

#[test]
fn the_rotation_flags_of_create_are_refused_for_keys_that_do_not_rotate() {
    let fx = Fixture::new();
    let flagged = |mut new: NewKey| {
        new.automatic_rotation = true;
        new.rotation_interval = Some(30 * DAY);
        new
    };
    for spec in [KeySpec::EcP256, KeySpec::EcP256K, KeySpec::Rsa2048] {
        let result = crate::kms::keys::create(&fx.kms, flagged(fx.new_key(spec)));
        assert_eq!(code(result), ErrorCode::UnsupportedOperation, "{spec}");
    }
    let mut external = fx.new_key(KeySpec::Aes256);
    external.origin = p11kms_proto::admin::Origin::External;
    external.rotation_interval = Some(30 * DAY);
    assert_eq!(code(crate::kms::keys::create(&fx.kms, external)), ErrorCode::UnsupportedOperation);
    let mut service = flagged(fx.new_key(KeySpec::Aes256));
    service.creator = "service:secrets".into();
    assert_eq!(code(crate::kms::keys::create(&fx.kms, service)), ErrorCode::UnsupportedOperation, "service key");
    assert_eq!(fx.kms.registry().unwrap().keys().count(), 0, "nothing was created");
    assert_eq!(fx.vault.object_count(), 0);
}

#[test]
fn the_interval_is_7_to_365_days() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    for bad in [0, -DAY, 7 * DAY - 1, 365 * DAY + 1, 1000 * DAY] {
        assert_eq!(
            code(rotation::update_policy(&fx.kms, &policy(&key, true, Some(bad)))),
            ErrorCode::InvalidParameter,
            "{bad}s"
        );
        let mut new = fx.new_key(KeySpec::Aes256);
        new.automatic_rotation = true;
        new.rotation_interval = Some(bad);
        assert_eq!(code(crate::kms::keys::create(&fx.kms, new)), ErrorCode::InvalidParameter, "create with {bad}s");
    }
    assert!(!fx.key(&key).record.automatic_rotation, "refused policies change nothing");
    for good in [7 * DAY, 365 * DAY] {
        rotation::update_policy(&fx.kms, &policy(&key, true, Some(good))).expect("an interval in range");
        assert_eq!(fx.key(&key).record.rotation_interval, Some(good));
        assert_eq!(describe(&fx, &key).rotation_interval.as_deref(), Some(format!("{good}s").as_str()));
    }
    assert_eq!(versions(&fx, &key), 1, "no date passed, no rotation");
}

#[test]
fn enabling_automatic_rotation_needs_an_interval() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    assert_eq!(code(rotation::update_policy(&fx.kms, &policy(&key, true, None))), ErrorCode::InvalidParameter);
    assert_eq!(describe(&fx, &key).automatic_rotation, AutomaticRotation::Disabled);

    let mut new = fx.new_key(KeySpec::Aes256);
    new.automatic_rotation = true;
    assert_eq!(code(crate::kms::keys::create(&fx.kms, new)), ErrorCode::InvalidParameter);

    // Once the key has an interval, enabling again may leave it out.
    rotation::update_policy(&fx.kms, &policy(&key, true, Some(30 * DAY))).expect("enables");
    rotation::update_policy(&fx.kms, &policy(&key, false, None)).expect("disables");
    let metadata = describe(&fx, &key);
    assert_eq!(metadata.automatic_rotation, AutomaticRotation::Disabled);
    assert_eq!(metadata.next_rotation_date, None);
    assert_eq!(metadata.rotation_interval.as_deref(), Some("2592000s"), "the interval is kept");
    rotation::update_policy(&fx.kms, &policy(&key, true, None)).expect("enables with the kept interval");
    assert_eq!(describe(&fx, &key).automatic_rotation, AutomaticRotation::Enabled);
    fx.assert_consistent();
}

#[test]
fn next_rotation_date_is_last_rotation_date_plus_the_interval() {
    let fx = Fixture::new();
    let start = fx.now();
    let key = rotating(&fx, 30);
    let metadata = describe(&fx, &key);
    assert_eq!(metadata.automatic_rotation, AutomaticRotation::Enabled);
    assert_eq!(metadata.last_rotation_date, start);
    assert_eq!(metadata.next_rotation_date, Some(start.plus_seconds(30 * DAY)));
    assert_eq!(metadata.rotation_interval.as_deref(), Some("2592000s"));

    // A manual rotation is a rotation: the schedule starts again from it.
    fx.advance_days(10);
    rotation::rotate(&fx.kms, &key).expect("rotates");
    let metadata = describe(&fx, &key);
    assert_eq!(metadata.last_rotation_date, fx.now());
    assert_eq!(metadata.next_rotation_date, Some(fx.now().plus_seconds(30 * DAY)));
}

#[test]
fn the_scheduler_rotates_when_due_and_not_before() {
    let fx = Fixture::new();
    let start = fx.now();
    let key = rotating(&fx, 7);
    let first = fx.key(&key).record.primary_version;

    let pass = fx.advance_seconds(7 * DAY - 1);
    assert_eq!(pass.rotated, 0);
    assert_eq!(versions(&fx, &key), 1, "one second early");

    let pass = fx.advance_seconds(1);
    assert_eq!(pass.rotated, 1);
    assert_eq!(pass.failed, 0);
    let entry = fx.key(&key);
    assert_eq!(entry.versions.len(), 2);
    assert_ne!(entry.record.primary_version, first);
    assert_eq!(entry.primary().unwrap().record.created_at, start.plus_seconds(7 * DAY));
    assert_eq!(describe(&fx, &key).next_rotation_date, Some(start.plus_seconds(14 * DAY)));

    assert_eq!(fx.advance_days(6).rotated, 0);
    assert_eq!(fx.advance_days(1).rotated, 1);
    assert_eq!(versions(&fx, &key), 3);
    fx.assert_consistent();
}

#[test]
fn a_late_scheduler_rotates_once_and_goes_on_from_the_new_version() {
    let fx = Fixture::new();
    let key = rotating(&fx, 7);
    let pass = fx.advance_days(30);
    assert_eq!(pass.rotated, 1, "no catch-up for every missed interval");
    assert_eq!(versions(&fx, &key), 2);
    assert_eq!(describe(&fx, &key).next_rotation_date, Some(fx.now().plus_seconds(7 * DAY)));
    assert_eq!(fx.advance_days(0).rotated, 0, "a second pass at the same time does nothing");
    assert_eq!(versions(&fx, &key), 2);
}

#[test]
fn a_disabled_key_is_suspended_and_rotates_at_once_when_enabled_overdue() {
    let fx = Fixture::new();
    let key = rotating(&fx, 7);
    lifecycle::disable(&fx.kms, &key).expect("disables");
    let metadata = describe(&fx, &key);
    assert_eq!(metadata.automatic_rotation, AutomaticRotation::Suspended);
    assert_eq!(metadata.next_rotation_date, None);
    assert_eq!(metadata.rotation_interval.as_deref(), Some("604800s"), "the policy is kept");

    let pass = fx.advance_days(30);
    assert_eq!(pass.rotated, 0);
    assert_eq!(versions(&fx, &key), 1, "a Disabled key gets no version");

    let primary = fx.key(&key).record.primary_version;
    lifecycle::enable(&fx.kms, &key).expect("enables");
    let entry = fx.key(&key);
    assert_eq!(entry.versions.len(), 2, "the overdue rotation happens at once, before any scheduler pass");
    assert_ne!(entry.record.primary_version, primary);
    let metadata = describe(&fx, &key);
    assert_eq!(metadata.automatic_rotation, AutomaticRotation::Enabled);
    assert_eq!(metadata.next_rotation_date, Some(fx.now().plus_seconds(7 * DAY)));
    assert_eq!(fx.advance_days(6).rotated, 0);
    assert_eq!(fx.advance_days(1).rotated, 1);
    fx.assert_consistent();
}

#[test]
fn enabling_a_key_that_is_not_overdue_does_not_rotate_it() {
    let fx = Fixture::new();
    let key = rotating(&fx, 30);
    lifecycle::disable(&fx.kms, &key).expect("disables");
    fx.advance_days(10);
    lifecycle::enable(&fx.kms, &key).expect("enables");
    assert_eq!(versions(&fx, &key), 1);
    assert_eq!(describe(&fx, &key).next_rotation_date, Some(fx.key(&key).record.created_at.plus_seconds(30 * DAY)));
}

#[test]
fn pending_deletion_suspends_rotation_and_cancelling_resumes_it() {
    let fx = Fixture::new();
    let key = rotating(&fx, 7);
    lifecycle::schedule_deletion(&fx.kms, &key, 30).expect("schedules");
    assert_eq!(describe(&fx, &key).automatic_rotation, AutomaticRotation::Suspended);
    assert_eq!(describe(&fx, &key).next_rotation_date, None);
    assert_eq!(fx.advance_days(10).rotated, 0);
    assert_eq!(versions(&fx, &key), 1);
    lifecycle::cancel_deletion(&fx.kms, &key).expect("cancels");
    assert_eq!(fx.key(&key).record.state, KeyState::Enabled);
    assert_eq!(versions(&fx, &key), 2, "overdue when it came back: rotated at once");
    assert_eq!(describe(&fx, &key).automatic_rotation, AutomaticRotation::Enabled);
    fx.assert_consistent();
}

#[test]
fn an_interval_change_that_puts_the_next_date_in_the_past_rotates_at_once() {
    let fx = Fixture::new();
    let start = fx.now();
    let key = rotating(&fx, 90);
    fx.advance_days(20);
    // 30 days: the next date (start + 30d) is still ahead.
    rotation::update_policy(&fx.kms, &policy(&key, true, Some(30 * DAY))).expect("shortens");
    assert_eq!(versions(&fx, &key), 1);
    assert_eq!(describe(&fx, &key).next_rotation_date, Some(start.plus_seconds(30 * DAY)));
    // 7 days: start + 7d has passed.
    rotation::update_policy(&fx.kms, &policy(&key, true, Some(7 * DAY))).expect("shortens");
    assert_eq!(versions(&fx, &key), 2, "rotated at once");
    assert_eq!(describe(&fx, &key).next_rotation_date, Some(fx.now().plus_seconds(7 * DAY)));
    assert_eq!(fx.advance_days(6).rotated, 0, "then the new schedule");
    assert_eq!(fx.advance_days(1).rotated, 1);
    fx.assert_consistent();
}

#[test]
fn enabling_a_policy_on_an_old_key_rotates_it_at_once() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    fx.advance_days(10);
    rotation::update_policy(&fx.kms, &policy(&key, true, Some(7 * DAY))).expect("enables");
    assert_eq!(versions(&fx, &key), 2);
}

#[test]
fn disabling_automatic_rotation_stops_the_scheduler() {
    let fx = Fixture::new();
    let key = rotating(&fx, 7);
    rotation::update_policy(&fx.kms, &policy(&key, false, None)).expect("disables");
    assert_eq!(describe(&fx, &key).automatic_rotation, AutomaticRotation::Disabled);
    assert_eq!(fx.advance_days(30).rotated, 0);
    assert_eq!(versions(&fx, &key), 1);
}

#[test]
fn the_scheduler_rotates_only_the_keys_that_are_due() {
    let fx = Fixture::new();
    let weekly = rotating(&fx, 7);
    let monthly = rotating(&fx, 30);
    let manual = fx.create(KeySpec::Aes256).record.key_id;
    let asymmetric = fx.create(KeySpec::EcP256).record.key_id;
    assert_eq!(fx.advance_days(7).rotated, 1);
    assert_eq!(
        [&weekly, &monthly, &manual, &asymmetric].map(|k| versions(&fx, k)),
        [2, 1, 1, 1],
        "only the weekly key was due"
    );
    assert_eq!(fx.advance_days(23).rotated, 2, "the weekly (again) and the monthly key");
    assert_eq!([&weekly, &monthly, &manual, &asymmetric].map(|k| versions(&fx, k)), [3, 2, 1, 1]);
    fx.assert_consistent();
}
