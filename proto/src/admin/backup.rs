//! Instance backups (`shared/spec/backup-management.txt`,
//! `docs/backups.md`): their lifecycle (`backup create`, `enable`,
//! `extend`, `renew`, `reset`), what they are (`list`, `describe`), and
//! what they hold on a day (`show`, the console's "View Data").

use serde::{Deserialize, Serialize};

use super::instance::InstanceKind;
use super::key::{KeySpec, KeyState, KeyUsage};
use super::names::named_enum;
use super::secret::SecretType;
use crate::Timestamp;

named_enum! {
    /// Where a backup comes from, and so what it may do.
    pub enum BackupType {
        /// Made and enabled by the daemon with its instance ("System
        /// Created"): 90 viewable days, never extended, reset or deleted.
        System => "system",
        /// Made by the operator: 7 viewable days, never extended; reset
        /// allowed; valid indefinitely.
        Default => "default",
        /// The spec's purchased backup: 7 to 600 viewable days, extended
        /// but never reduced, valid until its expiry date (renewable).
        Retained => "retained",
        /// Made by `backup upload`: viewable and restorable, never enabled.
        Upload => "upload",
    }
}

named_enum! {
    /// Whether a backup is backing up an instance.
    pub enum BackupStatus {
        /// Bound to an instance, taking fulls and incrementals.
        Enabled => "Enabled",
        /// Bound to no instance (new, reset, or an upload).
        Disabled => "Disabled",
        /// A retained backup past its expiry date: refuses everything but
        /// renewal, removed 15 days after expiry.
        Expired => "Expired",
    }
}

/// Parameters of `backup create`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateBackupRequest {
    /// `default` or `retained` (the daemon makes `system`; `backup upload`
    /// makes `upload`).
    pub backup_type: BackupType,
    /// The kind of instance it will back up: `software` or `hardware`.
    pub instance_kind: InstanceKind,
    /// A name for people.
    pub alias: Option<String>,
    /// Retained: 7 to 600. Default: 7 or none.
    pub viewable_days: Option<u32>,
    /// Retained: how long it is valid, in days (1 to 3650).
    pub duration_days: Option<u32>,
}

/// A backup by id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRef {
    /// The backup's id (`backup-…`).
    pub backup_id: String,
}

/// Parameters of `backup enable BACKUP --instance I [--alias A]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnableBackupRequest {
    /// The backup.
    pub backup_id: String,
    /// The instance it backs up (of the kind it accepts).
    pub instance: String,
    /// A new alias.
    pub alias: Option<String>,
}

/// Parameters of `backup list [--instance I] [--backup-type T]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListBackupsRequest {
    /// Only the backups bound to this instance.
    pub instance: Option<String>,
    /// Only backups of this type.
    pub backup_type: Option<BackupType>,
}

/// Parameters of `backup extend BACKUP --viewable-days N`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendBackupRequest {
    /// The backup (retained only).
    pub backup_id: String,
    /// The new number of viewable days: more than now, at most 600.
    pub viewable_days: u32,
}

/// Parameters of `backup renew BACKUP --duration-days N`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewBackupRequest {
    /// The backup (retained only).
    pub backup_id: String,
    /// Days added to its validity, from its expiry or from now if later.
    pub duration_days: u32,
}

/// Parameters of `backup show BACKUP --date YYYY-MM-DD`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowBackupRequest {
    /// The backup.
    pub backup_id: String,
    /// The day, `YYYY-MM-DD`, in the region's time zone.
    pub date: String,
}

/// A backup, as `backup describe` and `backup list` show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupInfo {
    /// Its id.
    pub backup_id: String,
    /// Its alias.
    pub alias: Option<String>,
    /// Its type.
    pub backup_type: BackupType,
    /// Whether it is backing up an instance.
    pub status: BackupStatus,
    /// The instance it backs up (none while disabled).
    pub instance: Option<String>,
    /// The kind of instance it accepts.
    pub instance_kind: InstanceKind,
    /// When it was made.
    pub creation_date: Timestamp,
    /// When it was last enabled.
    pub enable_date: Option<Timestamp>,
    /// Days of data that can be viewed and restored, back from today.
    pub viewable_days: u32,
    /// Retained: when it expires.
    pub expire_date: Option<Timestamp>,
    /// Hardware: the cluster whose mirror images hold the key material.
    pub cluster: Option<String>,
    /// Hardware: that cluster's primary member.
    pub primary_member: Option<String>,
    /// Backup points kept (fulls and incrementals).
    pub point_count: u64,
    /// The last full backup.
    pub last_full: Option<Timestamp>,
    /// The last backup point, full or incremental.
    pub last_point: Option<Timestamp>,
    /// Bytes its points wrote: their manifests and the objects they stored
    /// first (an object is stored once, for every point and backup naming it).
    pub stored_bytes: u64,
    /// The last restore drill (`backup drill`).
    pub last_drill: Option<BackupDrill>,
}

/// A restore drill: the backup's latest point restored into scratch
/// objects and checked (`backup drill`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupDrill {
    /// When it ran.
    pub drill_date: Timestamp,
    /// The point it restored.
    pub point_date: Timestamp,
    /// True when everything restored and checked.
    pub passed: bool,
    /// Key versions whose material was restored and checked against the
    /// canary made when they were backed up.
    pub key_versions_checked: u64,
    /// Secret versions whose value decrypted and authenticated.
    pub secret_versions_checked: u64,
    /// What failed, one line each (at most 20).
    pub failures: Vec<String>,
}

/// A key as a backup holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackedUpKey {
    /// The key's id.
    pub key_id: String,
    /// Its aliases then.
    pub aliases: Vec<String>,
    /// Its spec.
    pub key_spec: KeySpec,
    /// Its usage.
    pub key_usage: KeyUsage,
    /// Its state then.
    pub key_state: KeyState,
    /// When it was created.
    pub creation_date: Timestamp,
    /// Its primary version then.
    pub primary_key_version: String,
    /// How many versions it had then.
    pub version_count: u32,
}

/// A secret as a backup holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackedUpSecret {
    /// The secret's name.
    pub secret_name: String,
    /// Its type.
    pub secret_type: SecretType,
    /// The key that encrypts its values.
    pub encryption_key_id: String,
    /// When it was created.
    pub creation_date: Timestamp,
    /// Its version ids then, oldest first.
    pub version_ids: Vec<String>,
}

/// What a backup holds on one day: the spec's six sets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupDay {
    /// The backup.
    pub backup_id: String,
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// Every key as of 00:00 that day (the day's first full).
    pub fully_backed_up_keys: Vec<BackedUpKey>,
    /// Keys new that day.
    pub incrementally_backed_up_keys: Vec<BackedUpKey>,
    /// Keys rotated that day.
    pub rotated_keys: Vec<BackedUpKey>,
    /// Every secret as of 00:00 that day.
    pub fully_backed_up_secrets: Vec<BackedUpSecret>,
    /// Secrets new that day.
    pub incrementally_backed_up_secrets: Vec<BackedUpSecret>,
    /// Secrets rotated that day (a new version with `ACSCurrent`).
    pub rotated_secrets: Vec<BackedUpSecret>,
}

/// Parameters of `backup restore-key BACKUP (--date D | --at T) --key-id K
/// --to-instance I`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreKeyRequest {
    /// The backup.
    pub backup_id: String,
    /// The key as the backup holds it at the end of this day (`YYYY-MM-DD`).
    pub date: Option<String>,
    /// The key as it was at this second (point in time).
    pub at: Option<Timestamp>,
    /// The key's id.
    pub key_id: String,
    /// The instance it is restored into.
    pub to_instance: String,
}

/// Parameters of `backup restore-secret BACKUP (--date D | --at T)
/// --secret-name S --to-instance I`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreSecretRequest {
    /// The backup.
    pub backup_id: String,
    /// The secret as the backup holds it at the end of this day.
    pub date: Option<String>,
    /// The secret as it was at this second (point in time).
    pub at: Option<Timestamp>,
    /// The secret's name.
    pub secret_name: String,
    /// The instance it is restored into.
    pub to_instance: String,
}

/// A restored key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoredKey {
    /// The key's id (the one it had).
    pub key_id: String,
    /// The instance it is in now.
    pub instance: String,
    /// Its versions, oldest first.
    pub key_version_ids: Vec<String>,
    /// Its primary version.
    pub primary_key_version: String,
    /// Its aliases, restored.
    pub aliases: Vec<String>,
    /// Aliases it had that another key holds now (not restored).
    pub aliases_not_restored: Vec<String>,
    /// The moment it was restored as of.
    pub as_of: Timestamp,
}

/// A restored secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoredSecret {
    /// The secret's name.
    pub secret_name: String,
    /// The instance it is in now.
    pub instance: String,
    /// Its versions, oldest first, with their values and stages.
    pub version_ids: Vec<String>,
    /// The moment it was restored as of.
    pub as_of: Timestamp,
}
