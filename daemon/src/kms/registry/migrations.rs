//! The registry's CMK migration tasks: by id, by key, and the origin each
//! migrated key shows (`key describe`'s `Migrated`).

use p11kms_proto::admin::{KeyMigrationOrigin, MigrationStatus};

use super::Registry;
use crate::kms::KmsError;
use crate::store::MigrationTaskRecord;

impl Registry {
    /// Puts a task (new or changed, after its commit); a task that
    /// succeeded marks its key as migrated.
    pub fn put_migration(&mut self, task: MigrationTaskRecord) {
        if task.status == MigrationStatus::Succeeded {
            if let Some(key) = self.keys.get_mut(&task.key_id) {
                key.migrated = Some(KeyMigrationOrigin {
                    from_instance: task.from_instance.clone(),
                    migration_date: task.finished_at.unwrap_or(task.created_at),
                    task_id: task.task_id.clone(),
                });
            }
        }
        self.migrations.insert(task.task_id.clone(), task);
    }

    /// The task of that id.
    pub fn migration(&self, task_id: &str) -> Result<&MigrationTaskRecord, KmsError> {
        self.migrations
            .get(task_id)
            .ok_or_else(|| KmsError::NotFound { what: "migration task", name: task_id.to_owned() })
    }

    /// Every task, oldest first.
    pub fn migrations(&self) -> impl Iterator<Item = &MigrationTaskRecord> {
        let mut tasks: Vec<&MigrationTaskRecord> = self.migrations.values().collect();
        tasks.sort_by(|a, b| (a.created_at, &a.task_id).cmp(&(b.created_at, &b.task_id)));
        tasks.into_iter()
    }

    /// The task of `key_id` still to run or running, if any.
    pub fn open_migration_of(&self, key_id: &str) -> Option<&MigrationTaskRecord> {
        self.migrations
            .values()
            .find(|t| t.key_id == key_id && matches!(t.status, MigrationStatus::Scheduled | MigrationStatus::Running))
    }
}
