//! CMK migration tasks as the admin API sees them: `key migrate` makes one
//! (after the same checks the diagnostic makes, and the target's), `key
//! describe-migration` and `key list-migrations` read them. The daemon
//! runs them ([`super::run`]).

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{
    InstanceKind, KeyMigrationTask, KeyState, ListKeyMigrationsRequest, MigrateKeyRequest, MigrationStatus,
};

use super::blockers;
use crate::kms::instances::check_version_room;
use crate::kms::keys::service;
use crate::kms::placement::holding_cluster;
use crate::kms::registry::{KeyEntry, Registry};
use crate::kms::{Kms, KmsError};
use crate::store::MigrationTaskRecord;

/// A window's length when `key migrate` gives no end.
pub const DEFAULT_WINDOW_SECONDS: i64 = 3_600;

/// The API's view of a task.
pub fn task_info(t: &MigrationTaskRecord) -> KeyMigrationTask {
    KeyMigrationTask {
        task_id: t.task_id.clone(),
        key_id: t.key_id.clone(),
        from_instance: t.from_instance.clone(),
        to_instance: t.to_instance.clone(),
        window_start: t.window_start,
        window_end: t.window_end,
        status: t.status,
        failure_reason: t.reason.clone(),
        creation_date: t.created_at,
        start_date: t.started_at,
        end_date: t.finished_at,
    }
}

/// Refuses a migration of `key` into `to_instance` that cannot happen:
/// every reason of the diagnostic (a service key apart, with its own
/// code), a target that is not a loaded software or hardware instance, a
/// target without room. Returns the target's cluster.
pub fn check_movable(kms: &Kms, registry: &Registry, key: &KeyEntry, to_instance: &str) -> Result<String, KmsError> {
    let r = &key.record;
    if service::is_service_key(r) {
        return Err(KmsError::ServiceKey { key: r.key_id.clone(), creator: r.creator.clone(), refused: "be migrated" });
    }
    if r.state == KeyState::PendingDeletion {
        return Err(KmsError::PendingDeletion(r.key_id.clone()));
    }
    let from = registry.instance(&r.instance)?;
    let reasons = blockers(key, from.kind);
    if !reasons.is_empty() {
        let said: Vec<String> = reasons.iter().map(|reason| format!("{}: {}", reason.code, reason.message)).collect();
        return Err(KmsError::Unsupported(format!("key '{}' cannot be migrated: {}", r.key_id, said.join("; "))));
    }
    let target = registry.instance(to_instance)?;
    if target.kind == InstanceKind::Default {
        return Err(KmsError::InvalidParameter(
            "keys migrate out of the default instance into a software or hardware instance, not into it".into(),
        ));
    }
    let cluster = holding_cluster(target).filter(|c| kms.vault.serves(c)).ok_or_else(|| {
        KmsError::Unsupported(format!("instance '{}' has no loaded cluster to take keys", target.name))
    })?;
    let moving = key.versions.len() as u64;
    check_version_room(target, registry.versions_in(&target.name), moving)?;
    Ok(cluster)
}

/// `key migrate`: a task, `Scheduled`, that the daemon runs in its window.
pub fn create(kms: &Kms, request: &MigrateKeyRequest) -> Result<KeyMigrationTask, KmsError> {
    let _writer = kms.writer()?;
    let now = kms.clock.now();
    let start = request.window_start.unwrap_or(now);
    let end = request.window_end.unwrap_or(Timestamp(start.unix().saturating_add(DEFAULT_WINDOW_SECONDS)));
    if end <= start {
        return Err(KmsError::InvalidParameter(format!("the window ends ({end}) before it starts ({start})")));
    }
    if end <= now {
        return Err(KmsError::InvalidParameter(format!("the window is over: it ended at {end}, it is {now}")));
    }
    let record = {
        let registry = kms.registry()?;
        let key = registry.key(&request.key)?;
        check_movable(kms, &registry, key, &request.to_instance)?;
        if let Some(open) = registry.open_migration_of(&key.record.key_id) {
            return Err(KmsError::Exists {
                what: "migration task of this key",
                name: format!("{} ({}, to '{}')", open.task_id, open.status, open.to_instance),
            });
        }
        MigrationTaskRecord {
            task_id: format!("mt-{}", uuid::Uuid::new_v4()),
            key_id: key.record.key_id.clone(),
            from_instance: key.record.instance.clone(),
            to_instance: request.to_instance.clone(),
            window_start: start,
            window_end: end,
            status: MigrationStatus::Scheduled,
            step: None,
            reason: None,
            created_at: now,
            started_at: None,
            finished_at: None,
        }
    };
    kms.store.write(now, |tx| tx.put_migration(&record))?;
    kms.registry_mut()?.put_migration(record.clone());
    tracing::info!(task = %record.task_id, key = %record.key_id, to = %record.to_instance, start = %start, end = %end, "key migration scheduled");
    Ok(task_info(&record))
}

/// `key describe-migration TASK_ID`.
pub fn describe(kms: &Kms, task_id: &str) -> Result<KeyMigrationTask, KmsError> {
    Ok(task_info(kms.registry()?.migration(task_id)?))
}

/// `key list-migrations [--key KEY]`: newest first.
pub fn list(kms: &Kms, request: &ListKeyMigrationsRequest) -> Result<Vec<KeyMigrationTask>, KmsError> {
    let registry = kms.registry()?;
    let key_id = request.key.as_deref().map(|k| registry.key(k).map(|e| e.record.key_id.clone())).transpose()?;
    let mut tasks: Vec<KeyMigrationTask> =
        registry.migrations().filter(|t| key_id.as_ref().is_none_or(|k| *k == t.key_id)).map(task_info).collect();
    tasks.reverse();
    Ok(tasks)
}
