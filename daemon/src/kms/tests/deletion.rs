//! Deletion windows (`keys/lifecycle.rs`, `scheduler.rs`): the window is 7
//! to 366 days and DeleteDate = now + window; deletion protection refuses
//! to schedule; the key is destroyed only when the window ends — its
//! metadata gone from the registry and from the store (what a restart
//! sees), its aliases freed, every version's material gone from the
//! vault, its blobs undecryptable — and a destruction a member refuses is
//! retried at the next pass; cancelling brings the key back Enabled (or
//! PendingImport for an EXTERNAL key without material), otherwise
//! unchanged.

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{DeletionProtection, EncryptRequest, KeySpec, KeyState, WrappingAlgorithm, WrappingKeySpec};

use super::{DAY, code, context, describe, imported_key, material, tag};
use crate::kms::keys::{import, lifecycle, rotation};
use crate::kms::testing::{CLUSTER, Fixture};
use crate::kms::{aliases, envelope};

#[test]
fn the_window_is_7_to_366_days() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let journal = fx.journal_len();
    for bad in [0, 1, 6, 367, 1000] {
        assert_eq!(code(lifecycle::schedule_deletion(&fx.kms, &key, bad)), ErrorCode::InvalidParameter, "{bad} days");
    }
    assert_eq!(fx.key(&key).record.state, KeyState::Enabled);
    assert_eq!(fx.journal_len(), journal, "refusals change nothing");
    for good in [7, 366] {
        let fx = Fixture::new();
        let key = fx.create(KeySpec::Aes256).record.key_id;
        lifecycle::schedule_deletion(&fx.kms, &key, good).expect("a window in range");
        assert_eq!(fx.key(&key).record.delete_date, Some(fx.now().plus_seconds(i64::from(good) * DAY)));
    }
}

#[test]
fn scheduling_sets_pending_deletion_and_delete_date_now_plus_the_window() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    fx.advance_days(2);
    let journal = fx.journal_len();
    lifecycle::schedule_deletion(&fx.kms, &key, 30).expect("schedules");
    let metadata = describe(&fx, &key);
    assert_eq!(metadata.key_state, KeyState::PendingDeletion);
    assert_eq!(metadata.delete_date, Some(fx.now().plus_seconds(30 * DAY)));
    assert_eq!(fx.reloaded().key(&key).unwrap().record.delete_date, metadata.delete_date);
    assert!(fx.journal_len() > journal);
    assert_eq!(code(lifecycle::schedule_deletion(&fx.kms, &key, 7)), ErrorCode::StateModifiedFailed, "once only");
    assert_eq!(fx.key(&key).record.delete_date, metadata.delete_date, "the first date stands");
}

#[test]
fn deletion_protection_refuses_schedule_deletion() {
    let fx = Fixture::new();
    let mut new = fx.new_key(KeySpec::Aes256);
    new.deletion_protection = true;
    let key = fx.create_with(new).record.key_id;
    assert_eq!(describe(&fx, &key).deletion_protection, DeletionProtection::Enabled);
    assert_eq!(code(lifecycle::schedule_deletion(&fx.kms, &key, 7)), ErrorCode::StateModifiedFailed);
    let entry = fx.key(&key);
    assert_eq!(entry.record.state, KeyState::Enabled);
    assert_eq!(entry.record.delete_date, None);

    // Protection set later refuses as well; removed, deletion goes ahead.
    let other = fx.create(KeySpec::Aes256).record.key_id;
    lifecycle::set_deletion_protection(&fx.kms, &other, true).expect("protects");
    assert_eq!(code(lifecycle::schedule_deletion(&fx.kms, &other, 7)), ErrorCode::StateModifiedFailed);
    lifecycle::set_deletion_protection(&fx.kms, &key, false).expect("unprotects");
    assert_eq!(describe(&fx, &key).deletion_protection, DeletionProtection::Disabled);
    lifecycle::schedule_deletion(&fx.kms, &key, 7).expect("schedules");
    assert_eq!(fx.key(&key).record.state, KeyState::PendingDeletion);
    fx.assert_consistent();
}

#[test]
fn the_key_is_destroyed_only_when_the_window_ends() {
    let fx = Fixture::new();
    let mut new = fx.new_key(KeySpec::Aes256);
    new.alias = Some("alias/doomed".into());
    let key = fx.create_with(new).record.key_id;
    rotation::rotate(&fx.kms, &key).expect("rotates");
    rotation::rotate(&fx.kms, &key).expect("rotates");
    aliases::create(&fx.kms, "alias/doomed-too", &key).expect("a second alias");
    let keeper = fx.create(KeySpec::Aes256).record.key_id;
    let uuids: Vec<[u8; 16]> = fx.key(&key).versions.iter().map(|v| v.uuid).collect();
    assert_eq!(uuids.len(), 3);
    let context = context(&[("k", "v")]);
    let blob = envelope::encrypt(
        &fx.kms,
        &EncryptRequest { key: key.clone(), plaintext: "bye".into(), encryption_context: context.clone() },
    )
    .unwrap()
    .ciphertext_blob;
    lifecycle::schedule_deletion(&fx.kms, &key, 7).expect("schedules");

    let pass = fx.advance_seconds(7 * DAY - 1);
    assert_eq!(pass.destroyed, 0);
    assert_eq!(fx.key(&key).record.state, KeyState::PendingDeletion, "one second before DeleteDate");
    assert!(uuids.iter().all(|id| fx.vault.holds(CLUSTER, id)));

    let journal = fx.journal_len();
    let pass = fx.advance_seconds(1);
    assert_eq!(pass.destroyed, 1);
    assert_eq!(pass.failed, 0);
    let registry = fx.kms.registry().unwrap();
    assert_eq!(registry.key(&key).unwrap_err().code(), ErrorCode::KeyNotFound);
    assert_eq!(registry.key("alias/doomed").unwrap_err().code(), ErrorCode::AliasNotFound);
    assert!(!registry.alias_taken("alias/doomed") && !registry.alias_taken("alias/doomed-too"));
    assert!(registry.key(&keeper).is_ok(), "other keys stay");
    drop(registry);
    let stored = fx.reloaded();
    assert_eq!(stored.key(&key).unwrap_err().code(), ErrorCode::KeyNotFound, "gone from the store too");
    assert!(stored.aliases().all(|(_, k)| *k != key));
    assert!(uuids.iter().all(|id| !fx.vault.holds(CLUSTER, id)), "every version's material is destroyed");
    assert!(fx.journal_len() > journal, "the destruction is journaled");
    let decrypt = envelope::decrypt(
        &fx.kms,
        &p11kms_proto::admin::DecryptRequest { ciphertext_blob: blob, encryption_context: context },
    );
    assert_eq!(code(decrypt), ErrorCode::KeyNotFound, "its blobs can no longer be decrypted");
    // The alias is free again.
    aliases::create(&fx.kms, "alias/doomed", &keeper).expect("the alias is free");
    fx.assert_consistent();
}

#[test]
fn a_destruction_a_member_refuses_is_retried_at_the_next_pass() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let uuid = fx.key(&key).versions[0].uuid;
    lifecycle::schedule_deletion(&fx.kms, &key, 7).expect("schedules");
    fx.vault.fail_destroys(true);
    let pass = fx.advance_days(7);
    assert_eq!((pass.destroyed, pass.failed), (0, 1));
    assert_eq!(fx.key(&key).record.state, KeyState::PendingDeletion, "the key stays PendingDeletion");
    assert!(fx.reloaded().key(&key).is_ok(), "and in the store");
    assert!(fx.vault.holds(CLUSTER, &uuid));
    fx.vault.fail_destroys(false);
    let pass = fx.advance_seconds(30);
    assert_eq!((pass.destroyed, pass.failed), (1, 0));
    assert!(fx.kms.registry().unwrap().key(&key).is_err());
    assert!(!fx.vault.holds(CLUSTER, &uuid));
    fx.assert_consistent();
}

#[test]
fn cancelling_brings_the_key_back_enabled_and_otherwise_unchanged() {
    for from in [KeyState::Enabled, KeyState::Disabled] {
        let fx = Fixture::new();
        let mut new = fx.new_key(KeySpec::Aes256);
        new.alias = Some("alias/kept".into());
        new.tags = vec![tag("team", "a")];
        new.description = "kept".into();
        new.automatic_rotation = true;
        new.rotation_interval = Some(90 * DAY);
        let key = fx.create_with(new).record.key_id;
        if from == KeyState::Disabled {
            lifecycle::disable(&fx.kms, &key).expect("disables");
        }
        let before = fx.key(&key);
        lifecycle::schedule_deletion(&fx.kms, &key, 7).expect("schedules");
        fx.advance_days(3);
        lifecycle::cancel_deletion(&fx.kms, &key).expect("cancels");
        let after = fx.key(&key);
        assert_eq!(after.record.state, KeyState::Enabled, "cancelled from a key that was {from}");
        assert_eq!(after.record.delete_date, None);
        let mut expected = before.record.clone();
        expected.state = KeyState::Enabled;
        assert_eq!(after.record, expected, "nothing else changed");
        assert_eq!(after.aliases, before.aliases);
        assert_eq!(after.versions.len(), 1);
        assert_eq!(code(lifecycle::cancel_deletion(&fx.kms, &key)), ErrorCode::StateModifiedFailed, "once only");
        assert_eq!(fx.advance_days(30).destroyed, 0, "the old DeleteDate means nothing now");
        assert!(fx.kms.registry().unwrap().key(&key).is_ok());
        fx.assert_consistent();
    }
}

#[test]
fn cancelling_an_external_key_without_material_brings_it_back_pending_import() {
    let fx = Fixture::new();
    let waiting = fx.create_external().record.key_id;
    lifecycle::schedule_deletion(&fx.kms, &waiting, 7).expect("a PendingImport key can be scheduled");
    lifecycle::cancel_deletion(&fx.kms, &waiting).expect("cancels");
    assert_eq!(fx.key(&waiting).record.state, KeyState::PendingImport);

    let imported = imported_key(&fx, &material());
    lifecycle::schedule_deletion(&fx.kms, &imported, 7).expect("schedules");
    lifecycle::cancel_deletion(&fx.kms, &imported).expect("cancels");
    assert_eq!(fx.key(&imported).record.state, KeyState::Enabled, "with material it comes back Enabled");
    fx.assert_consistent();
}

#[test]
fn an_external_key_is_destroyed_with_its_material() {
    let fx = Fixture::new();
    let key = imported_key(&fx, &material());
    let uuid = fx.key(&key).versions[0].uuid;
    assert!(fx.vault.holds(CLUSTER, &uuid));
    let waiting = fx.create_external().record.key_id;
    lifecycle::schedule_deletion(&fx.kms, &key, 7).expect("schedules");
    lifecycle::schedule_deletion(&fx.kms, &waiting, 7).expect("schedules");
    assert_eq!(fx.advance_days(7).destroyed, 2);
    assert!(!fx.vault.holds(CLUSTER, &uuid));
    assert_eq!(fx.vault.object_count(), 0);
    fx.assert_consistent();
}

#[test]
fn destroying_a_key_destroys_the_wrapping_keys_of_its_import_tokens() {
    let fx = Fixture::new();
    let key = fx.create_external().record.key_id;
    import::get_parameters(&fx.kms, &key, WrappingAlgorithm::RsaesOaepSha256, WrappingKeySpec::Rsa2048)
        .expect("a token");
    assert_eq!(fx.vault.wrapping_key_count(), 1);
    lifecycle::schedule_deletion(&fx.kms, &key, 7).expect("schedules");
    let pass = fx.advance_days(7);
    assert_eq!(pass.destroyed, 1);
    assert_eq!(fx.vault.wrapping_key_count(), 0, "the token's wrapping key is left in the vault");
}

#[test]
fn an_unused_token_expires_before_a_stepwise_window_ends() {
    // With passes as the daemon runs them (at least daily here), the token
    // expires first and takes its wrapping key with it.
    let fx = Fixture::new();
    let key = fx.create_external().record.key_id;
    import::get_parameters(&fx.kms, &key, WrappingAlgorithm::RsaesOaepSha256, WrappingKeySpec::Rsa2048)
        .expect("a token");
    lifecycle::schedule_deletion(&fx.kms, &key, 7).expect("schedules");
    let mut expired = 0;
    let mut destroyed = 0;
    for _ in 0..7 {
        let pass = fx.advance_days(1);
        expired += pass.expired_tokens;
        destroyed += pass.destroyed;
    }
    assert_eq!((expired, destroyed), (1, 1));
    assert_eq!(fx.vault.object_count(), 0);
    fx.assert_consistent();
}
