//! Deletion: a recovery window of 7 to 30 days (30 by default) during
//! which the secret can be described but not read or changed, restore,
//! the end of the window on the daemon's clock, and deletion at once.

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{DeleteSecretRequest, DescribeSecretRequest, UpdateSecretRequest};

use super::{create, get, put, secret};
use crate::kms::secrets::{lifecycle, read};
use crate::kms::testing::Fixture;
use crate::kms::tests::{DAY, code, tag};

fn delete(
    fx: &Fixture,
    days: Option<u32>,
    force: bool,
) -> Result<Option<p11kms_proto::Timestamp>, crate::kms::KmsError> {
    let request = DeleteSecretRequest {
        secret_name: "db".into(),
        recovery_window_in_days: days,
        force_delete_without_recovery: force,
    };
    lifecycle::delete(&fx.kms, &request).map(|d| d.planned_delete_time)
}

#[test]
fn the_recovery_window_is_7_to_30_days_and_30_by_default() {
    let fx = Fixture::new();
    create(&fx, "db", "pw");
    for days in [0, 6, 31] {
        assert_eq!(code(delete(&fx, Some(days), false)), ErrorCode::InvalidParameter, "{days}");
    }
    assert_eq!(code(delete(&fx, Some(7), true)), ErrorCode::InvalidParameter, "a window or force, not both");
    assert_eq!(delete(&fx, None, false).unwrap(), Some(fx.now().plus_seconds(30 * DAY)));
    assert_eq!(code(delete(&fx, Some(7), false)), ErrorCode::SecretPendingDeletion, "already pending");
    lifecycle::restore(&fx.kms, "db").unwrap();
    assert_eq!(delete(&fx, Some(7), false).unwrap(), Some(fx.now().plus_seconds(7 * DAY)));
}

#[test]
fn a_secret_in_its_window_cannot_be_read_or_changed_until_restored() {
    let fx = Fixture::new();
    create(&fx, "db", "pw");
    delete(&fx, Some(7), false).unwrap();
    assert_eq!(code(get(&fx, "db", None, None)), ErrorCode::SecretPendingDeletion);
    assert_eq!(code(get(&fx, "db", None, None)).to_string(), "Rejected.SecretPendingDeletion");
    assert_eq!(code(put(&fx, "db", "v2", "new", None)), ErrorCode::SecretPendingDeletion);
    assert_eq!(code(lifecycle::tag(&fx.kms, "db", &[tag("a", "b")])), ErrorCode::SecretPendingDeletion);
    let update = UpdateSecretRequest {
        secret_name: "db".into(),
        description: Some("x".into()),
        extended_config_custom_data: None,
    };
    assert_eq!(code(lifecycle::update(&fx.kms, &update)), ErrorCode::SecretPendingDeletion);
    let data_plane = crate::kms::secrets::read::current_value(&fx.kms, crate::kms::testing::INSTANCE, "db");
    assert_eq!(code(data_plane), ErrorCode::SecretPendingDeletion);
    let described =
        read::describe(&fx.kms, &DescribeSecretRequest { secret_name: "db".into(), fetch_tags: false }).unwrap();
    assert_eq!(described.planned_delete_time, Some(fx.now().plus_seconds(7 * DAY)), "it can still be described");
    lifecycle::restore(&fx.kms, "db").unwrap();
    assert_eq!(get(&fx, "db", None, None).unwrap(), "pw", "restored as it was");
    assert_eq!(secret(&fx, "db").record.planned_delete_time, None);
    assert_eq!(code(lifecycle::restore(&fx.kms, "db")), ErrorCode::StateModifiedFailed, "not pending any more");
}

#[test]
fn when_the_window_has_passed_the_secret_and_every_version_are_gone() {
    let fx = Fixture::new();
    create(&fx, "db", "pw");
    put(&fx, "db", "v2", "pw2", None).unwrap();
    delete(&fx, Some(7), false).unwrap();
    let pass = fx.advance_seconds(7 * DAY - 1);
    assert_eq!(pass.secrets_deleted, 0, "not a second early");
    assert!(fx.kms.registry().unwrap().secret_exists("db"));
    let pass = fx.advance_seconds(1);
    assert_eq!(pass.secrets_deleted, 1);
    assert_eq!(code(get(&fx, "db", None, None)), ErrorCode::ResourceNotFound);
    assert!(!fx.reloaded().secret_exists("db"), "gone from the store too");
    let rows = fx.kms.store.dump().unwrap();
    assert!(!rows.lines().any(|l| l.starts_with("secret_versions ") || l.starts_with("secrets ")), "no row is left");
    create(&fx, "db", "reborn");
    assert_eq!(get(&fx, "db", None, None).unwrap(), "reborn", "the name is free again");
}

#[test]
fn a_restore_in_time_keeps_the_secret_past_its_old_date() {
    let fx = Fixture::new();
    create(&fx, "db", "pw");
    delete(&fx, Some(7), false).unwrap();
    fx.advance_days(6);
    lifecycle::restore(&fx.kms, "db").unwrap();
    assert_eq!(fx.advance_days(2).secrets_deleted, 0);
    assert_eq!(get(&fx, "db", None, None).unwrap(), "pw");
}

#[test]
fn a_forced_deletion_removes_the_secret_at_once() {
    let fx = Fixture::new();
    create(&fx, "db", "pw");
    assert_eq!(delete(&fx, None, true).unwrap(), None);
    assert_eq!(code(get(&fx, "db", None, None)), ErrorCode::ResourceNotFound);
    assert!(!fx.reloaded().secret_exists("db"));
    create(&fx, "db", "pw");
    delete(&fx, Some(30), false).unwrap();
    assert_eq!(delete(&fx, None, true).unwrap(), None, "a secret in its window can be forced out");
    assert_eq!(code(delete(&fx, None, true)), ErrorCode::ResourceNotFound);
}
