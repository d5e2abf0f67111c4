//! Running CMK migration tasks: the scheduler starts each one inside its
//! window ([`run_due`]); a daemon that stopped in one finishes or undoes it
//! at its next start ([`recover`]).
//!
//! A run, under the writer lock (no other change to keys meanwhile):
//!
//! 1. Check again what `key migrate` checked (the key may have changed
//!    since: rotated, its quota taken); a refusal fails the task, the key
//!    stays where it is.
//! 2. Commit `Running` / [`MigrationStep::Copying`], then copy each version
//!    into the target's cluster (`Vault::copy_version`: from the software
//!    vault, wrapped for a transport key the HSM generated). The key is
//!    still only in its old instance; a crash here is undone at start (the
//!    copies destroyed, the task scheduled again).
//! 3. Commit, in one transaction, the key in its new instance and the task
//!    `Succeeded` / [`MigrationStep::Cleaning`]. From here the key is only
//!    in the new instance: its id, aliases, tags, description, dates and
//!    state are the same row's.
//! 4. Destroy the material the key left behind, then commit the task done.
//!    A crash before that is finished at start.
//!
//! So at every instant the key is usable in exactly one instance.

use p11kms_proto::Timestamp;
use p11kms_proto::admin::MigrationStatus;

use super::tasks::check_movable;
use crate::kms::keys::{crash_point, version_name};
use crate::kms::placement::holding_cluster;
use crate::kms::registry::KeyEntry;
use crate::kms::{Kms, KmsError};
use crate::store::{KeyAppIdRecord, MigrationStep, MigrationTaskRecord};

/// After the task is recorded `Running`, before anything is copied.
pub const MIGRATION_STARTED: &str = "migration-started";
/// After the versions are copied, before the key moves.
pub const MIGRATION_COPIED: &str = "migration-copied";
/// After the key moved, before the material it left is destroyed.
pub const MIGRATION_SWITCHED: &str = "migration-switched";

/// What a pass of the scheduler did with migration tasks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MigrationPass {
    /// Keys moved.
    pub migrated: usize,
    /// Tasks that failed (their keys stayed).
    pub failed: usize,
}

fn commit(kms: &Kms, task: &MigrationTaskRecord) -> Result<(), KmsError> {
    kms.store.write(kms.clock.now(), |tx| tx.put_migration(task))?;
    kms.registry_mut()?.put_migration(task.clone());
    Ok(())
}

fn fail(kms: &Kms, mut task: MigrationTaskRecord, reason: String, now: Timestamp) -> Result<(), KmsError> {
    tracing::warn!(task = %task.task_id, key = %task.key_id, %reason, "key migration failed; the key stays where it was");
    mark_failed(&mut task, reason, now);
    commit(kms, &task)
}

/// Ends a task as Failed for `reason` (the caller commits it): also how
/// `instance delete --force` ends the scheduled tasks of its instance.
pub fn mark_failed(task: &mut MigrationTaskRecord, reason: String, now: Timestamp) {
    task.status = MigrationStatus::Failed;
    task.step = None;
    task.reason = Some(reason);
    task.finished_at = Some(now);
}

/// Starts every task whose window is open; fails those whose window
/// passed before they could start.
pub fn run_due(kms: &Kms, now: Timestamp) -> MigrationPass {
    let mut pass = MigrationPass::default();
    let due: Vec<MigrationTaskRecord> = match kms.registry() {
        Ok(registry) => registry
            .migrations()
            .filter(|t| t.status == MigrationStatus::Scheduled && t.window_start <= now)
            .cloned()
            .collect(),
        Err(error) => {
            tracing::error!(%error, "migration pass cannot read the registry");
            pass.failed += 1;
            return pass;
        }
    };
    for task in due {
        let id = task.task_id.clone();
        let result = if task.window_end < now {
            let reason = format!(
                "its window ended at {} before the daemon could start it (it was not running then)",
                task.window_end
            );
            fail(kms, task, reason, now).map(|()| false)
        } else {
            run(kms, task)
        };
        match result {
            Ok(true) => pass.migrated += 1,
            Ok(false) => pass.failed += 1,
            Err(error) => {
                pass.failed += 1;
                tracing::error!(task = %id, %error, "key migration could not be recorded; retrying at the next pass");
            }
        }
    }
    pass
}

/// Runs one task (see the module documentation); true when the key moved.
fn run(kms: &Kms, mut task: MigrationTaskRecord) -> Result<bool, KmsError> {
    let _writer = kms.writer()?;
    let now = kms.clock.now();
    let checked = {
        let registry = kms.registry()?;
        let key = registry.key(&task.key_id).cloned();
        key.and_then(|key| {
            if key.record.instance != task.from_instance {
                return Err(KmsError::Unsupported(format!(
                    "the key is in instance '{}' now, not '{}'",
                    key.record.instance, task.from_instance
                )));
            }
            let to = check_movable(kms, &registry, &key, &task.to_instance)?;
            let from = registry
                .instance(&task.from_instance)
                .ok()
                .and_then(holding_cluster)
                .ok_or_else(|| KmsError::Internal("the key's instance holds no keys".into()))?;
            Ok((key, from, to))
        })
    };
    let (key, from, to) = match checked {
        Ok(checked) => checked,
        Err(error) => return fail(kms, task, format!("{}: {error}", error.code()), now).map(|()| false),
    };
    task.status = MigrationStatus::Running;
    task.step = Some(MigrationStep::Copying);
    task.started_at = Some(now);
    commit(kms, &task)?;
    tracing::info!(task = %task.task_id, key = %task.key_id, from = %from, to = %to, "key migration running");
    crash_point::reached(kms, MIGRATION_STARTED);
    if let Err(error) = copy(kms, &key, &from, &to) {
        destroy_copies(kms, &key, &to);
        return fail(kms, task, format!("copying the key's material failed: {error}"), kms.clock.now()).map(|()| false);
    }
    crash_point::reached(kms, MIGRATION_COPIED);
    switch(kms, &mut task, &key)?;
    crash_point::reached(kms, MIGRATION_SWITCHED);
    clean(kms, task, &key, &from)?;
    Ok(true)
}

fn copy(kms: &Kms, key: &KeyEntry, from: &str, to: &str) -> Result<(), KmsError> {
    for version in &key.versions {
        let name = version_name(&key.record, version);
        kms.vault.copy_version(from, to, &name, version.public_key.as_ref())?;
    }
    Ok(())
}

/// Destroys what a copy into `to` made (nothing else there has these ids).
fn destroy_copies(kms: &Kms, key: &KeyEntry, to: &str) {
    for version in &key.versions {
        let name = version_name(&key.record, version);
        match kms.vault.destroy_version(to, &name) {
            Ok(0) => {}
            Ok(left) => tracing::warn!(version = %name.label, cluster = to, left, "copies could not all be destroyed"),
            Err(error) => tracing::warn!(version = %name.label, cluster = to, %error, "copies could not be destroyed"),
        }
    }
}

/// The key into its new instance and the task `Succeeded`, in one commit.
fn switch(kms: &Kms, task: &mut MigrationTaskRecord, key: &KeyEntry) -> Result<(), KmsError> {
    let now = kms.clock.now();
    let mut record = key.record.clone();
    record.instance = task.to_instance.clone();
    // An application's CKA_ID goes with the key, unique in its new instance.
    let app_id = key.app_id.clone().map(|app_id| KeyAppIdRecord {
        key_id: record.key_id.clone(),
        instance: record.instance.clone(),
        app_id,
        set_at: now,
    });
    if let Some(named) = &app_id
        && let Some(other) = kms.registry()?.key_with_pkcs11_id(&record.instance, &named.app_id, Some(&record.key_id))
    {
        return Err(KmsError::InvalidParameter(format!(
            "key {} of instance '{}' already has the CKA_ID {} that applications gave key {}: change one of them",
            other.record.key_id,
            record.instance,
            hex::encode(&named.app_id),
            record.key_id
        )));
    }
    task.status = MigrationStatus::Succeeded;
    task.step = Some(MigrationStep::Cleaning);
    task.finished_at = Some(now);
    kms.store.write(now, |tx| {
        tx.update_key(&record)?;
        app_id.as_ref().map_or(Ok(()), |named| tx.set_key_app_id(named))?;
        tx.put_migration(task)
    })?;
    let mut registry = kms.registry_mut()?;
    registry.replace_key(record)?;
    registry.put_migration(task.clone());
    tracing::info!(task = %task.task_id, key = %task.key_id, to = %task.to_instance, "key migrated");
    Ok(())
}

/// Destroys the material the key left in `from`; the task is done.
fn clean(kms: &Kms, mut task: MigrationTaskRecord, key: &KeyEntry, from: &str) -> Result<(), KmsError> {
    for version in &key.versions {
        let name = version_name(&key.record, version);
        if kms.vault.destroy_version(from, &name)? > 0 {
            return Err(KmsError::Internal(format!("the material of {} left in '{from}' is not all gone", name.label)));
        }
    }
    task.step = None;
    commit(kms, &task)
}

/// At start, before any request: finishes or undoes what a stopped daemon
/// left of a task (see the module documentation). Returns how many tasks
/// it settled.
pub fn recover(kms: &Kms) -> Result<usize, KmsError> {
    let _writer = kms.writer()?;
    let unfinished: Vec<MigrationTaskRecord> =
        kms.registry()?.migrations().filter(|t| t.step.is_some()).cloned().collect();
    let now = kms.clock.now();
    for mut task in unfinished.iter().cloned() {
        let key = kms.registry()?.key(&task.key_id)?.clone();
        match task.step {
            Some(MigrationStep::Copying) => {
                let to = kms.cluster_of(&task.to_instance)?;
                destroy_copies(kms, &key, &to);
                task.status = MigrationStatus::Scheduled;
                task.step = None;
                task.started_at = None;
                tracing::warn!(task = %task.task_id, key = %task.key_id, "the daemon stopped while a key migration copied; its copies are destroyed and it is scheduled again");
                if task.window_end < now {
                    let reason = "the daemon stopped while it copied the key, and its window is over".to_owned();
                    fail(kms, task, reason, now)?;
                } else {
                    commit(kms, &task)?;
                }
            }
            Some(MigrationStep::Cleaning) => {
                let from = kms.cluster_of(&task.from_instance)?;
                tracing::warn!(task = %task.task_id, key = %task.key_id, "the daemon stopped after a key migrated; destroying what it left behind");
                clean(kms, task, &key, &from)?;
            }
            None => {}
        }
    }
    Ok(unfinished.len())
}
