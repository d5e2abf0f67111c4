//! `instance delete` (`kms::instances::delete`): the refusals (the
//! `default` instance, an unknown one, and without `--force` whatever is
//! still in use, named), what `--force` removes (keys with their material,
//! import keys and aliases, secrets, apps, scheduled migration tasks
//! ended), material that cannot be destroyed left to the sweep, and the
//! registry, the store and the vault agreeing afterwards.

use p11kms_proto::admin::{
    InstanceKind, KeySpec, MigrateKeyRequest, MigrationStatus, Origin, WrappingAlgorithm, WrappingKeySpec,
};
use p11kms_proto::{ErrorCode, Timestamp};

use super::code;
use super::secrets::generic;
use crate::kms::instances::delete::{Deleted, delete};
use crate::kms::instances::{self, DEFAULT_INSTANCE};
use crate::kms::keys::intents;
use crate::kms::keys::{self, NewKey, import, lifecycle};
use crate::kms::migration::tasks;
use crate::kms::testing::{CLUSTER, Fixture, INSTANCE};
use crate::kms::{KmsError, apps, secrets};

/// The instance the tests delete, on the fixture's cluster.
const SOFT: &str = "soft1";

fn fixture() -> Fixture {
    let fx = Fixture::new();
    instances::create(&fx.kms, SOFT, InstanceKind::Software, CLUSTER).expect("instance created");
    fx
}

/// A new AES key in `instance`; returns its id.
fn key_in(fx: &Fixture, instance: &str, alias: Option<&str>) -> String {
    let mut new = fx.new_key(KeySpec::Aes256);
    new.instance = instance.into();
    new.alias = alias.map(Into::into);
    fx.create_with(new).record.key_id
}

/// A secret of `instance` (its service key comes with the first one).
fn secret_in(fx: &Fixture, instance: &str, name: &str) {
    let mut request = generic(name, "value");
    request.instance = instance.into();
    secrets::create::create(&fx.kms, &request, "admin:0").expect("the secret is created");
}

fn message<T: std::fmt::Debug>(result: Result<T, KmsError>) -> String {
    result.expect_err("refused").to_string()
}

fn keys_of(fx: &Fixture, instance: &str) -> usize {
    fx.kms.registry().expect("registry").keys().filter(|k| k.record.instance == instance).count()
}

#[test]
fn the_default_instance_and_unknown_ones_are_refused() {
    let fx = fixture();
    assert_eq!(code(delete(&fx.kms, DEFAULT_INSTANCE, true)), ErrorCode::InvalidParameter);
    assert_eq!(code(delete(&fx.kms, "nope", true)), ErrorCode::ResourceNotFound);
    assert!(fx.kms.registry().expect("registry").instance(DEFAULT_INSTANCE).is_ok());
    fx.assert_consistent();
}

#[test]
fn without_force_whatever_is_in_use_is_named_with_what_to_do() {
    let fx = fixture();
    let keys: Vec<String> = (0..7).map(|_| key_in(&fx, SOFT, None)).collect();
    secret_in(&fx, SOFT, "db/orders");
    apps::create(&fx.kms, "web", SOFT, None).expect("app created");
    let default_key = keys::create(
        &fx.kms,
        NewKey::plain(
            DEFAULT_INSTANCE.into(),
            KeySpec::Aes256,
            KeySpec::Aes256.default_usage(),
            None,
            "admin:0".into(),
        ),
    )
    .expect("a key of the default instance")
    .record
    .key_id;
    let later = Timestamp(fx.now().unix() + 3 * 86_400);
    let task = tasks::create(
        &fx.kms,
        &MigrateKeyRequest {
            key: default_key,
            to_instance: SOFT.into(),
            window_start: Some(later),
            window_end: Some(Timestamp(later.unix() + 7_200)),
        },
    )
    .expect("a migration into soft1 is scheduled");

    let refused = delete(&fx.kms, SOFT, false);
    assert!(matches!(refused, Err(KmsError::StateModifiedFailed(_))), "{refused:?}");
    assert_eq!(code(delete(&fx.kms, SOFT, false)), ErrorCode::StateModifiedFailed);
    let text = message(delete(&fx.kms, SOFT, false));
    assert!(text.starts_with("instance 'soft1' still has 7 keys not pending deletion ("), "{text}");
    let listed = keys.iter().filter(|k| text.contains(k.as_str())).count();
    assert_eq!(listed, 5, "five key ids are listed, then an ellipsis: {text}");
    assert!(text.contains(", …)"), "{text}");
    assert!(text.contains("1 secret not pending deletion (db/orders)"), "{text}");
    assert!(text.contains("1 app (web)"), "{text}");
    assert!(text.contains(&format!("1 CMK migration task scheduled or running into or out of it ({})", task.task_id)));
    assert!(text.contains("p11kms key schedule-deletion") && text.contains("--force"), "{text}");
    assert!(!text.contains("alias/acs/"), "the secrets' service key is not the operator's to schedule: {text}");

    // Nothing changed.
    assert_eq!(keys_of(&fx, SOFT), 8, "seven keys and the secrets' service key");
    assert!(fx.kms.registry().expect("registry").app("web").is_ok());
    fx.assert_consistent();

    // Each obstacle removed in turn, until none is left.
    for key in &keys {
        lifecycle::disable(&fx.kms, key).expect("disabled");
        lifecycle::schedule_deletion(&fx.kms, key, 7).expect("scheduled");
    }
    let text = message(delete(&fx.kms, SOFT, false));
    assert!(!text.contains("keys not pending deletion"), "keys pending deletion are not in the way: {text}");
    secrets::lifecycle::delete(
        &fx.kms,
        &p11kms_proto::admin::DeleteSecretRequest {
            secret_name: "db/orders".into(),
            recovery_window_in_days: Some(7),
            force_delete_without_recovery: false,
        },
    )
    .expect("secret scheduled for deletion");
    apps::delete(&fx.kms, "web").expect("app deleted");
    let text = message(delete(&fx.kms, SOFT, false));
    assert!(text.starts_with("instance 'soft1' still has 1 CMK migration task"), "{text}");
    fx.advance_days(3);
    assert_eq!(tasks::describe(&fx.kms, &task.task_id).expect("task").status, MigrationStatus::Succeeded);
    // The migrated key is an enabled key of soft1 now.
    let text = message(delete(&fx.kms, SOFT, false));
    assert!(text.contains("1 key not pending deletion"), "{text}");
    lifecycle::disable(&fx.kms, &task.key_id).expect("disabled");
    lifecycle::schedule_deletion(&fx.kms, &task.key_id, 7).expect("scheduled");

    let Deleted { info, apps } = delete(&fx.kms, SOFT, false).expect("nothing in use is left");
    assert_eq!((info.name.as_str(), info.key_count, info.secret_count), (SOFT, 9, 1), "as it was: {info:?}");
    assert!(apps.is_empty());
    assert_eq!(keys_of(&fx, SOFT), 0);
    fx.assert_consistent();
}

#[test]
fn force_removes_keys_material_secrets_apps_and_ends_scheduled_migrations() {
    let fx = fixture();
    let kept = key_in(&fx, INSTANCE, Some("alias/kept"));
    let gone = key_in(&fx, SOFT, Some("alias/gone"));
    keys::rotation::rotate(&fx.kms, &gone).expect("a second version");
    let mut external = fx.new_key(KeySpec::Aes256);
    external.instance = SOFT.into();
    external.origin = Origin::External;
    let external = fx.create_with(external).record.key_id;
    import::get_parameters(&fx.kms, &external, WrappingAlgorithm::RsaesOaepSha256, WrappingKeySpec::Rsa2048)
        .expect("an import token");
    secret_in(&fx, SOFT, "db/a");
    secret_in(&fx, SOFT, "db/b");
    secret_in(&fx, INSTANCE, "db/kept");
    apps::create(&fx.kms, "web", SOFT, None).expect("app created");
    apps::create(&fx.kms, "other", INSTANCE, None).expect("app created");
    let default_key = keys::create(
        &fx.kms,
        NewKey::plain(
            DEFAULT_INSTANCE.into(),
            KeySpec::Aes256,
            KeySpec::Aes256.default_usage(),
            None,
            "admin:0".into(),
        ),
    )
    .expect("a key of the default instance")
    .record
    .key_id;
    let later = Timestamp(fx.now().unix() + 86_400);
    let task = tasks::create(
        &fx.kms,
        &MigrateKeyRequest {
            key: default_key.clone(),
            to_instance: SOFT.into(),
            window_start: Some(later),
            window_end: Some(Timestamp(later.unix() + 7_200)),
        },
    )
    .expect("scheduled");
    assert!(fx.vault.wrapping_key_count() > 0);
    let versions_before = fx.vault.version_count();

    let deleted = delete(&fx.kms, SOFT, true).expect("forced");
    assert_eq!(deleted.info.name, SOFT);
    assert_eq!(deleted.info.key_count, 3, "gone, external and the secrets' service key: {:?}", deleted.info);
    assert_eq!(deleted.info.key_version_count, 4);
    assert_eq!(deleted.info.secret_count, 2);
    assert_eq!(deleted.apps, ["web"]);

    let registry = fx.kms.registry().expect("registry");
    assert!(matches!(registry.instance(SOFT), Err(KmsError::NotFound { .. })));
    assert_eq!(registry.keys().filter(|k| k.record.instance == SOFT).count(), 0);
    assert!(registry.key("alias/gone").is_err() && registry.key(&gone).is_err());
    assert!(registry.key("alias/kept").is_ok() && registry.key(&kept).is_ok(), "other instances keep theirs");
    assert!(registry.secret("db/a").is_err() && registry.secret("db/b").is_err());
    assert!(registry.secret("db/kept").is_ok());
    assert!(registry.app("web").is_err() && registry.app("other").is_ok());
    let task = registry.migration(&task.task_id).expect("the task stays, ended").clone();
    assert_eq!(task.status, MigrationStatus::Failed);
    assert_eq!(task.reason.as_deref(), Some("instance 'soft1' was deleted"));
    assert_eq!(registry.key(&default_key).expect("stayed").record.instance, DEFAULT_INSTANCE);
    drop(registry);
    assert_eq!(
        fx.vault.version_count(),
        versions_before - 3,
        "the material of soft1's versions is destroyed (three: the external key has none)"
    );
    assert_eq!(fx.vault.wrapping_key_count(), 0, "the import token's wrapping key too");

    // A restart sees the same: no instance, no secrets of it.
    let reloaded = fx.reloaded();
    assert!(reloaded.instance(SOFT).is_err());
    assert!(reloaded.secret("db/a").is_err() && reloaded.secret("db/kept").is_ok());
    assert_eq!(reloaded.migration(&task.task_id).expect("stored").status, MigrationStatus::Failed);
    let journal = fx.kms.store.journal_since(0, 1_000_000).expect("journal");
    assert!(journal.iter().any(|e| e.entity == "instance" && e.entity_id == SOFT && e.operation == "delete"));
    assert!(journal.iter().any(|e| e.entity == "key" && e.entity_id == gone && e.operation == "delete"));
    fx.assert_consistent();

    // Time passing does not bring the task back.
    fx.advance_days(2);
    assert_eq!(
        fx.kms.registry().expect("registry").migration(&task.task_id).expect("task").status,
        MigrationStatus::Failed
    );
    fx.assert_consistent();
}

#[test]
fn material_that_cannot_be_destroyed_does_not_block_and_is_left_to_the_sweep() {
    let fx = fixture();
    let key = key_in(&fx, SOFT, None);
    let uuid = fx.key(&key).versions[0].uuid;
    fx.vault.fail_destroys(true);
    delete(&fx.kms, SOFT, true).expect("the metadata goes anyway");
    assert!(fx.kms.registry().expect("registry").instance(SOFT).is_err());
    assert!(fx.vault.holds(CLUSTER, &uuid), "the member kept it");
    assert_eq!(fx.reloaded().intents().count(), 1, "recorded for the sweep, in the same transaction");

    fx.vault.fail_destroys(false);
    let writes = fx.kms.writer().expect("writer");
    let swept = intents::sweep(&fx.kms, CLUSTER, true, &writes).expect("the sweep runs");
    drop(writes);
    assert_eq!(swept.destroyed.len(), 1, "{swept:?}");
    assert!(!fx.vault.holds(CLUSTER, &uuid));
    fx.assert_consistent();
}

#[test]
fn the_bootstrap_hardware_instance_is_not_special() {
    let fx = fixture();
    key_in(&fx, INSTANCE, None);
    assert_eq!(code(delete(&fx.kms, INSTANCE, false)), ErrorCode::StateModifiedFailed);
    let deleted = delete(&fx.kms, INSTANCE, true).expect("forced");
    assert_eq!((deleted.info.slot_id, deleted.info.kind), (instances::BOOTSTRAP_HARDWARE_SLOT, InstanceKind::Hardware));
    let registry = fx.kms.registry().expect("registry");
    assert!(registry.instance_by_slot(instances::BOOTSTRAP_HARDWARE_SLOT).is_none(), "its slot is gone");
    assert!(registry.instance(SOFT).is_ok() && registry.cluster(CLUSTER).is_ok(), "the cluster stays");
    drop(registry);
    assert_eq!(fx.vault.version_count(), 0);
    fx.assert_consistent();
}
