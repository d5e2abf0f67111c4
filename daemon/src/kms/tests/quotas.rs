//! Quotas (`instances.key_quota`): every key version counts against its
//! instance's quota, and a full quota refuses key creation, manual and
//! scheduled rotation with `Rejected.LimitExceeded`; the quota is per
//! instance and a destroyed key gives its versions back; a creation or a
//! rotation that fails in the vault releases what it reserved (its quota
//! slot, its alias), leaves no object in the vault and nothing in the store.

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{InstanceKind, KeySpec, KeyUsage};

use super::{DAY, code};
use crate::config::Config;
use crate::kms::instances;
use crate::kms::keys::{self, NewKey, lifecycle, rotation};
use crate::kms::testing::{CLUSTER, Fixture, INSTANCE};

fn with_quota(quota: u64) -> Fixture {
    let mut config = Config::default();
    config.instances.key_quota = quota;
    Fixture::with_config(config)
}

fn used(fx: &Fixture) -> u64 {
    fx.kms.registry().unwrap().versions_in(INSTANCE)
}

#[test]
fn a_full_quota_refuses_creation() {
    let fx = with_quota(2);
    fx.create(KeySpec::Aes256);
    fx.create_external();
    assert_eq!(used(&fx), 2, "an EXTERNAL key's version counts before its material arrives");
    let objects = fx.vault.object_count();
    let journal = fx.journal_len();
    let mut new = fx.new_key(KeySpec::EcP256);
    new.alias = Some("alias/third".into());
    assert_eq!(code(keys::create(&fx.kms, new)), ErrorCode::LimitExceeded);
    assert_eq!(fx.kms.registry().unwrap().keys().count(), 2);
    assert_eq!(fx.vault.object_count(), objects, "no material made");
    assert_eq!(fx.journal_len(), journal, "nothing written");
    assert!(!fx.kms.registry().unwrap().alias_taken("alias/third"), "the alias is not left reserved");
    let registry = fx.kms.registry().unwrap();
    let info = instances::info(&fx.kms.config, &registry, registry.instance(INSTANCE).unwrap());
    drop(registry);
    assert_eq!((info.key_quota, info.key_version_count, info.key_count), (2, 2, 2));
    fx.assert_consistent();
}

#[test]
fn a_full_quota_refuses_rotation() {
    let fx = with_quota(2);
    let mut new = fx.new_key(KeySpec::Aes256);
    new.automatic_rotation = true;
    new.rotation_interval = Some(7 * DAY);
    let key = fx.create_with(new).record.key_id;
    rotation::rotate(&fx.kms, &key).expect("the second version fits");
    let primary = fx.key(&key).record.primary_version;
    assert_eq!(code(rotation::rotate(&fx.kms, &key)), ErrorCode::LimitExceeded);
    assert_eq!(fx.key(&key).versions.len(), 2);
    assert_eq!(fx.key(&key).record.primary_version, primary, "the primary stays");
    // The scheduler is refused the same way, says so in describe, and
    // tries again at every pass.
    let pass = fx.advance_days(7);
    assert_eq!((pass.rotated, pass.failed), (0, 1));
    assert_eq!(fx.key(&key).versions.len(), 2);
    let failure = super::describe(&fx, &key).last_rotation_failure.expect("describe shows the failure");
    assert_eq!((failure.time, failure.code.as_str()), (fx.now(), "Rejected.LimitExceeded"));
    assert!(failure.message.contains("quota"), "{}", failure.message);
    let pass = fx.advance_seconds(30);
    assert_eq!(pass.failed, 1, "retried");
    assert_eq!(super::describe(&fx, &key).last_rotation_failure.map(|f| f.time), Some(fx.now()));
    fx.assert_consistent();
}

#[test]
fn the_quota_is_per_instance_and_a_destroyed_key_gives_it_back() {
    let fx = with_quota(1);
    let key = fx.create(KeySpec::Aes256).record.key_id;
    assert_eq!(code(keys::create(&fx.kms, fx.new_key(KeySpec::Aes256))), ErrorCode::LimitExceeded);
    instances::create(&fx.kms, "soft1", InstanceKind::Software, CLUSTER).expect("another instance");
    keys::create(
        &fx.kms,
        NewKey::plain("soft1".into(), KeySpec::Aes256, KeyUsage::EncryptDecrypt, None, "admin:0".into()),
    )
    .expect("another instance has its own quota");
    lifecycle::schedule_deletion(&fx.kms, &key, 7).unwrap();
    assert_eq!(code(keys::create(&fx.kms, fx.new_key(KeySpec::Aes256))), ErrorCode::LimitExceeded, "still counted");
    assert_eq!(fx.advance_days(7).destroyed, 1);
    assert_eq!(used(&fx), 0);
    fx.create(KeySpec::Aes256);
    fx.assert_consistent();
}

#[test]
fn a_failed_creation_releases_its_reservation() {
    let fx = with_quota(1);
    let journal = fx.journal_len();
    fx.vault.fail_writes(true);
    let mut new = fx.new_key(KeySpec::Aes256);
    new.alias = Some("alias/retry".into());
    let failed = keys::create(&fx.kms, new.clone());
    assert_eq!(code(failed), ErrorCode::InternalFailure);
    assert_eq!(fx.vault.object_count(), 0, "no object left in the vault");
    assert_eq!(fx.kms.registry().unwrap().keys().count(), 0);
    assert_eq!(used(&fx), 0, "no quota left reserved");
    assert!(!fx.kms.registry().unwrap().alias_taken("alias/retry"), "no alias left reserved");
    assert_eq!(fx.journal_len(), journal, "nothing in the store");
    fx.assert_consistent();

    fx.vault.fail_writes(false);
    let key = fx.create_with(new).record.key_id;
    assert_eq!(fx.key("alias/retry").record.key_id, key, "the same alias, in the one quota slot");
    fx.assert_consistent();
}

#[test]
fn a_failed_rotation_releases_its_reservation() {
    let fx = with_quota(2);
    let key = fx.create(KeySpec::Aes256).record.key_id;
    fx.vault.fail_writes(true);
    assert_eq!(code(rotation::rotate(&fx.kms, &key)), ErrorCode::InternalFailure);
    assert_eq!(fx.key(&key).versions.len(), 1);
    assert_eq!(used(&fx), 1);
    fx.vault.fail_writes(false);
    rotation::rotate(&fx.kms, &key).expect("the slot is free again");
    assert_eq!(fx.key(&key).versions.len(), 2);
    fx.assert_consistent();
}

#[test]
fn a_failed_scheduled_rotation_is_retried() {
    let fx = Fixture::new();
    let mut new = fx.new_key(KeySpec::Aes256);
    new.automatic_rotation = true;
    new.rotation_interval = Some(7 * DAY);
    let key = fx.create_with(new).record.key_id;
    fx.vault.fail_writes(true);
    let pass = fx.advance_days(7);
    assert_eq!((pass.rotated, pass.failed), (0, 1));
    assert!(super::describe(&fx, &key).last_rotation_failure.is_some());
    fx.vault.fail_writes(false);
    let pass = fx.advance_seconds(30);
    assert_eq!((pass.rotated, pass.failed), (1, 0));
    assert_eq!(fx.key(&key).versions.len(), 2);
    assert_eq!(super::describe(&fx, &key).last_rotation_failure, None, "a success clears it");
    fx.assert_consistent();
}
