//! Restoring a backed-up key or secret into another daemon (another
//! region: `backup restore-key … --to-socket DEST`), in three calls the
//! CLI makes: the destination checks the restore and hands out a ticket
//! with a one-time wrapping public key (`backup prepare-restore`); the
//! source packs the key or secret, its material wrapped for that key
//! inside its HSM (`backup export-item`); the destination unwraps it into
//! its own cluster and puts the key or secret in place (`backup
//! import-item`). `docs/backups.md`, "Into another region".

use serde::{Deserialize, Serialize};

use super::backup::{RestoredKey, RestoredSecret};
use super::instance::InstanceKind;
use crate::Timestamp;

/// Parameters of `backup prepare-restore --to-instance I (--key-id K |
/// --secret-name S)`, sent to the destination daemon.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepareRestoreRequest {
    /// The instance the key or secret goes into.
    pub to_instance: String,
    /// The key to restore (one of this and `secret_name`).
    pub key_id: Option<String>,
    /// The secret to restore.
    pub secret_name: Option<String>,
    /// The kind of instance the backup is of (from the source's `backup
    /// describe`): refused at once when the target is of another.
    pub backup_kind: Option<InstanceKind>,
}

/// The destination's answer: a one-time ticket for one restore.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoreTicket {
    /// The ticket, for `backup import-item` (valid once, until `expires_at`).
    pub ticket: String,
    /// The instance it restores into.
    pub instance: String,
    /// Its kind: the backup must be of that kind.
    pub instance_kind: InstanceKind,
    /// The one-time RSA-2048 public key (DER, SubjectPublicKeyInfo) the
    /// source wraps a key's material for; a secret's ticket has none.
    #[serde(with = "crate::bytes::option")]
    pub wrapping_public_key: Option<Vec<u8>>,
    /// When the ticket and its key pair are destroyed, used or not.
    pub expires_at: Timestamp,
}

/// Parameters of `backup export-item BACKUP (--date D | --at T) (--key-id
/// K | --secret-name S) --instance-kind KIND [--wrapping-public-key
/// FILE]`, sent to the source daemon.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportBackupItemRequest {
    /// The backup.
    pub backup_id: String,
    /// As the backup holds it at the end of this day (`YYYY-MM-DD`).
    pub date: Option<String>,
    /// As it was at this second (point in time).
    pub at: Option<Timestamp>,
    /// The key (one of this and `secret_name`).
    pub key_id: Option<String>,
    /// The secret.
    pub secret_name: Option<String>,
    /// The kind of the destination instance (from its ticket).
    pub instance_kind: Option<InstanceKind>,
    /// The ticket's wrapping public key (DER): a software backup's key
    /// material leaves only wrapped for it.
    #[serde(with = "crate::bytes::option")]
    pub wrapping_public_key: Option<Vec<u8>>,
}

/// The source's answer: the key or secret as the backup holds it, packed
/// for the destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupItemPackage {
    /// The backup.
    pub backup_id: String,
    /// The key id or the secret's name.
    pub item: String,
    /// The moment it stands for.
    pub as_of: Timestamp,
    /// Key versions it carries.
    pub version_count: u32,
    /// The package (`docs/backup-files.md`, "Packages"): metadata, and
    /// each version's material wrapped under a one-time key that is
    /// itself wrapped for the ticket's public key.
    #[serde(with = "crate::bytes")]
    pub package: Vec<u8>,
}

/// Parameters of `backup import-item --ticket T --package FILE`, sent to
/// the destination daemon.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportBackupItemRequest {
    /// The ticket of `backup prepare-restore` (spent by this call).
    pub ticket: String,
    /// The source's package.
    #[serde(with = "crate::bytes")]
    pub package: Vec<u8>,
}

/// What `backup import-item` restored: a key or a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoredItem {
    /// The key, when the package carried one.
    pub key: Option<RestoredKey>,
    /// The secret, when the package carried one.
    pub secret: Option<RestoredSecret>,
}
