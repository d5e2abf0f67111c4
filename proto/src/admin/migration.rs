//! The CMK migration diagnostic (`key check-migration`): which keys of the
//! default instance may move into a software or hardware instance, and
//! every reason of the spec's (`shared/spec/cmk-migration.txt`) why one
//! may not.

use serde::{Deserialize, Serialize};

use super::key::KeyManagerType;
use super::names::named_enum;
use crate::Timestamp;

/// Parameters of `key check-migration [KEY]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckKeyMigrationRequest {
    /// One key (id, alias or ARN); none: every CMK of the default instance.
    pub key: Option<String>,
}

named_enum! {
    /// Why a key cannot be migrated, in the spec's terms, in the order
    /// the diagnostic gives them.
    pub enum MigrationBlocker {
        /// A service key: the daemon's, never migrated.
        ServiceKey => "ServiceKey",
        /// Not in the default instance: only its CMKs migrate.
        NotInDefaultInstance => "NotInDefaultInstance",
        /// Its material was imported (`Origin` `EXTERNAL`).
        ExternalKeyMaterial => "ExternalKeyMaterial",
        /// Automatic rotation is on.
        AutomaticRotationEnabled => "AutomaticRotationEnabled",
        /// It has more than one version.
        MultipleVersions => "MultipleVersions",
        /// `ReEncrypt`, `ExportDataKey` or `GenerateAndExportDataKey` was
        /// used with it.
        UsedWithExportOperations => "UsedWithExportOperations",
    }
}

/// One reason, with what it means for this key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MigrationReason {
    /// The kind of reason.
    pub code: MigrationBlocker,
    /// The reason for this key, and what can be done about it, if anything.
    pub message: String,
}

/// The diagnostic of one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMigrationCheck {
    /// The key.
    pub key_id: String,
    /// Its instance.
    pub instance: String,
    /// `CMK` or `Service Key`.
    pub key_manager_type: KeyManagerType,
    /// True when no reason stands in the way.
    pub migratable: bool,
    /// Every reason it cannot be migrated (none when it can).
    pub reasons: Vec<MigrationReason>,
}

/// Answer to `key check-migration`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMigrationChecks {
    /// One per key, in creation order.
    pub keys: Vec<KeyMigrationCheck>,
}

/// Parameters of `key migrate KEY --to-instance I [--window-start T
/// --window-end T]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrateKeyRequest {
    /// The key (id, alias or ARN), a CMK of the default instance.
    pub key: String,
    /// The software or hardware instance it moves into.
    pub to_instance: String,
    /// When the daemon may start (default: now).
    pub window_start: Option<Timestamp>,
    /// When it must have started by (default: an hour after the start).
    pub window_end: Option<Timestamp>,
}

/// Parameters of `key describe-migration TASK_ID`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationTaskRef {
    /// The task's id (`mt-…`).
    pub task_id: String,
}

/// Parameters of `key list-migrations [--key KEY]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListKeyMigrationsRequest {
    /// Only the tasks of this key (id, alias or ARN).
    pub key: Option<String>,
}

named_enum! {
    /// Where a migration task is.
    pub enum MigrationStatus {
        /// Waiting for its window.
        Scheduled => "Scheduled",
        /// The daemon is copying the key into its new instance.
        Running => "Running",
        /// The key is in its new instance.
        Succeeded => "Succeeded",
        /// The key stayed where it was; the reason says why.
        Failed => "Failed",
    }
}

/// A CMK migration task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMigrationTask {
    /// The task's id.
    pub task_id: String,
    /// The key it moves.
    pub key_id: String,
    /// The instance the key leaves.
    pub from_instance: String,
    /// The instance the key goes into.
    pub to_instance: String,
    /// When the daemon may start.
    pub window_start: Timestamp,
    /// When it must have started by.
    pub window_end: Timestamp,
    /// Where it is.
    pub status: MigrationStatus,
    /// Why it failed (`Failed` only).
    pub failure_reason: Option<String>,
    /// When it was asked for.
    pub creation_date: Timestamp,
    /// When the daemon started it.
    pub start_date: Option<Timestamp>,
    /// When it succeeded or failed.
    pub end_date: Option<Timestamp>,
}

/// Where a migrated key came from, as `key describe` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMigrationOrigin {
    /// The instance it left.
    pub from_instance: String,
    /// When it arrived in its instance.
    pub migration_date: Timestamp,
    /// The task that moved it.
    pub task_id: String,
}
