//! Rows as Rust values. The same structs feed the in-memory registry and,
//! serialized to JSON, the journal's payloads (which never hold secrets:
//! an app's PIN hash is left out of its payload).

use serde::Serialize;

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{
    BackupStatus, BackupType, ExportOperation, InstanceKind, KeySpec, KeyState, KeyUsage, MemberRole, MigrationStatus,
    Origin, SecretDataType, SecretType, Tag, WrappingAlgorithm,
};

/// A cluster and its members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterRecord {
    /// Unique name.
    pub name: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Members, by index.
    pub members: Vec<MemberRecord>,
    /// The cluster directory whose SoftHSM library instance holds the
    /// managed tokens, when not the cluster's own (a restored cluster's
    /// tokens live in the instance of the cluster it was restored beside).
    pub library: Option<String>,
}

impl ClusterRecord {
    /// The cluster directory of the library instance of its managed tokens.
    pub fn library_dir(&self) -> &str {
        self.library.as_deref().unwrap_or(&self.name)
    }
}

/// One member token of a cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemberRecord {
    /// Position in the cluster.
    pub index: u32,
    /// PKCS#11 module path (for managed SoftHSM tokens, the system library;
    /// the daemon loads its private copy).
    pub module: String,
    /// A SoftHSM token the daemon created and whose PINs it keeps.
    pub managed: bool,
    /// Token label.
    pub token_label: String,
    /// Token serial.
    pub serial: String,
    /// Role.
    pub role: MemberRole,
    /// Holds every key version the store knows of.
    pub in_sync: bool,
}

/// An instance (a PKCS#11 slot).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstanceRecord {
    /// Unique name; the token label.
    pub name: String,
    /// Slot id.
    pub slot_id: u64,
    /// Kind.
    pub kind: InstanceKind,
    /// Cluster holding its keys (none for `default`).
    pub cluster: Option<String>,
    /// Key versions it may hold.
    pub key_quota: u64,
    /// Creation time.
    pub created_at: Timestamp,
    /// Secrets it may hold; none: the configured quota of its kind (an
    /// instance created before secrets existed).
    pub secret_quota: Option<u64>,
}

/// An application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppRecord {
    /// Unique name.
    pub name: String,
    /// Instance it may use.
    pub instance: String,
    /// Public part of the PIN, used to find the app at login.
    pub pin_lookup: String,
    /// PHC string of the slow hash of the PIN's secret part.
    #[serde(skip)]
    pub pin_hash: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Wrong PINs since the last good one.
    pub failed_logins: u32,
    /// Logins refused until then.
    pub locked_until: Option<Timestamp>,
    /// The app's access policy, a JSON document (`kms::policy`).
    pub policy: String,
}

/// A KMS key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct KeyRecord {
    /// Key id.
    pub key_id: String,
    /// Instance.
    pub instance: String,
    /// Material kind.
    pub key_spec: KeySpec,
    /// Usage.
    pub key_usage: KeyUsage,
    /// Origin.
    pub origin: Origin,
    /// State.
    pub state: KeyState,
    /// Free text.
    pub description: String,
    /// `admin:<uid>` or `app:<name>`.
    pub creator: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Primary version id.
    pub primary_version: String,
    /// When a pending deletion completes.
    pub delete_date: Option<Timestamp>,
    /// Deletion is refused while set.
    pub deletion_protection: bool,
    /// Rotates on schedule (when Enabled).
    pub automatic_rotation: bool,
    /// Rotation interval in seconds, kept while rotation is off or suspended.
    pub rotation_interval: Option<i64>,
    /// When imported material expires.
    pub material_expire_time: Option<Timestamp>,
    /// Tags, sorted by key.
    pub tags: Vec<Tag>,
    /// Which of the operations the CMK migration refuses ever succeeded
    /// with the key. Only ever grows: the store and the registry keep the
    /// union of what is there and what a write brings.
    pub export_uses: ExportUses,
}

/// Whether ReEncrypt, ExportDataKey and GenerateAndExportDataKey ever
/// succeeded with a key (`keys.used_*`, one column each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ExportUses {
    /// ReEncrypt, the key as source or destination.
    pub re_encrypt: bool,
    /// ExportDataKey of a blob of the key.
    pub export_data_key: bool,
    /// GenerateAndExportDataKey with the key.
    pub generate_and_export_data_key: bool,
}

impl ExportUses {
    /// True when `operation` was used.
    pub fn contains(self, operation: ExportOperation) -> bool {
        match operation {
            ExportOperation::ReEncrypt => self.re_encrypt,
            ExportOperation::ExportDataKey => self.export_data_key,
            ExportOperation::GenerateAndExportDataKey => self.generate_and_export_data_key,
        }
    }

    /// These uses and `operation`.
    pub fn with(mut self, operation: ExportOperation) -> Self {
        match operation {
            ExportOperation::ReEncrypt => self.re_encrypt = true,
            ExportOperation::ExportDataKey => self.export_data_key = true,
            ExportOperation::GenerateAndExportDataKey => self.generate_and_export_data_key = true,
        }
        self
    }

    /// The uses of either.
    pub fn union(self, other: Self) -> Self {
        Self {
            re_encrypt: self.re_encrypt || other.re_encrypt,
            export_data_key: self.export_data_key || other.export_data_key,
            generate_and_export_data_key: self.generate_and_export_data_key || other.generate_and_export_data_key,
        }
    }

    /// The operations used, in the order of [`ExportOperation::ALL`].
    pub fn operations(self) -> Vec<ExportOperation> {
        ExportOperation::ALL.iter().copied().filter(|op| self.contains(*op)).collect()
    }
}

/// A key version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct VersionRecord {
    /// Stable sequence number (names the version's PKCS#11 objects).
    pub seq: u64,
    /// Version id (a UUID).
    pub version_id: String,
    /// Its key.
    pub key_id: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// The public half of an asymmetric version (JSON of `hsm::PublicKey`).
    pub public_key: Option<String>,
    /// Whether the HSMs hold its material (false for an EXTERNAL key
    /// waiting for, or after deleting, imported material).
    pub has_material: bool,
    /// Key check value of imported material: AES-ECB of a zero block,
    /// computed inside the HSM, so a re-import can be checked for sameness.
    pub kcv: Option<Vec<u8>>,
}

/// An import token: a wrapping key pair on the primary, for one key, for
/// 24 hours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportTokenRecord {
    /// The token the user passes back (random, 32 characters).
    #[serde(skip)]
    pub token: String,
    /// The key it is for.
    pub key_id: String,
    /// Version-style id of the wrapping key pair's objects (a UUID).
    pub wrapping_key: String,
    /// How the material must be wrapped.
    pub algorithm: WrappingAlgorithm,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// An alias.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AliasRecord {
    /// `alias/...`.
    pub alias: String,
    /// The key it names.
    pub key_id: String,
    /// Creation time.
    pub created_at: Timestamp,
}

/// An object an application created through PKCS#11.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectRecord {
    /// Its number, assigned by the store; 0 before insertion.
    pub object_no: u64,
    /// The instance (slot) it belongs to.
    pub instance: String,
    /// `CKA_CLASS`.
    pub class: u64,
    /// Every attribute, as `crate::data::created` checked them.
    pub attributes: Vec<p11kms_proto::pkcs11::Attribute>,
    /// Who created it (`app:NAME`).
    pub creator: String,
    /// When.
    pub created_at: Timestamp,
}

/// What a creation intent announces: HSM objects about to be made in a
/// cluster, under one `CKA_ID`, whose metadata is not committed yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntentPurpose {
    /// A key version's material (key creation, rotation, a first import).
    KeyVersion,
    /// The scratch copy a re-import compares against the material it has.
    ImportCheck,
    /// The RSA key pair of an import token.
    WrappingKey,
}

impl IntentPurpose {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyVersion => "key-version",
            Self::ImportCheck => "import-check",
            Self::WrappingKey => "wrapping-key",
        }
    }
}

impl std::str::FromStr for IntentPurpose {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::KeyVersion, Self::ImportCheck, Self::WrappingKey]
            .into_iter()
            .find(|p| p.as_str() == text)
            .ok_or_else(|| format!("unknown intent purpose '{text}'"))
    }
}

/// A creation intent, recorded before the HSM call and removed in the
/// transaction that commits what it made (or once the objects are gone
/// again). One left in the store names objects of an unacknowledged
/// creation: a crash came between the HSM write and the commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IntentRecord {
    /// The 16-byte id (hex) the objects are made under: a version's UUID,
    /// or an import token's wrapping-key id.
    pub object_id: String,
    /// The cluster whose members receive the objects.
    pub cluster: String,
    /// What is being made.
    pub purpose: IntentPurpose,
    /// `KEY_ID/VERSION_ID` or the like, for the log.
    pub label: String,
    /// When the intent was recorded.
    pub created_at: Timestamp,
}

/// A key version whose material no reachable HSM holds any more: recorded
/// when an instance is attached to a cluster that lacks it (`--force`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LostVersionRecord {
    /// The version.
    pub version_id: String,
    /// Its key.
    pub key_id: String,
    /// The cluster the instance was attached to when it was lost.
    pub cluster: String,
    /// When it was recorded lost.
    pub lost_at: Timestamp,
}

/// A secret (its metadata; its values are in its versions, encrypted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SecretRecord {
    /// Unique name in the region.
    pub name: String,
    /// Its instance.
    pub instance: String,
    /// What it holds.
    pub secret_type: SecretType,
    /// The key id its values' data keys are encrypted under.
    pub encryption_key_id: String,
    /// Free text.
    pub description: String,
    /// The type's JSON configuration.
    pub extended_config: Option<String>,
    /// Tags, sorted by key.
    pub tags: Vec<Tag>,
    /// `admin:<uid>`.
    pub creator: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// When anything of it last changed.
    pub updated_at: Timestamp,
    /// When its recovery window ends (pending deletion while set).
    pub planned_delete_time: Option<Timestamp>,
    /// Rotates on schedule (managed types).
    pub automatic_rotation: bool,
    /// Rotation interval in seconds.
    pub rotation_interval: Option<i64>,
    /// When the daemon last rotated it.
    pub last_rotation_date: Option<Timestamp>,
}

/// One version's value as it is kept: encrypted, never in clear.
#[derive(Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SealedValue {
    /// The version's data key, as a ciphertext blob of the secret's key
    /// (it names the key version that made it).
    #[serde(with = "p11kms_proto::bytes")]
    pub encrypted_data_key: Vec<u8>,
    /// The AES-256-GCM IV of the value.
    #[serde(with = "p11kms_proto::bytes")]
    pub iv: Vec<u8>,
    /// The value under the data key, the GCM tag appended.
    #[serde(with = "p11kms_proto::bytes")]
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for SealedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedValue(<{} bytes encrypted>)", self.ciphertext.len())
    }
}

/// A secret version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SecretVersionRecord {
    /// Sequence number (0 before insertion).
    pub seq: u64,
    /// Its secret.
    pub secret_name: String,
    /// Version id, unique in its secret.
    pub version_id: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Its stages (none: deprecated).
    pub stages: Vec<String>,
    /// How its value is given and returned.
    pub data_type: SecretDataType,
    /// Its value, encrypted.
    pub sealed: SealedValue,
}

/// A CMK migration task (`key migrate`), and where a running one is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MigrationTaskRecord {
    /// The task's id (`mt-` and a UUID).
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
    /// What a crash would interrupt (see [`MigrationStep`]).
    pub step: Option<MigrationStep>,
    /// Why it failed.
    pub reason: Option<String>,
    /// When it was asked for.
    pub created_at: Timestamp,
    /// When the daemon started it.
    pub started_at: Option<Timestamp>,
    /// When it succeeded or failed.
    pub finished_at: Option<Timestamp>,
}

/// The unfinished part of a migration task, recorded before it starts so
/// that a daemon that stopped in it finishes or undoes it at its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum MigrationStep {
    /// `Running`: the key's versions are being copied into the target's
    /// cluster; the key is still only in its old instance. Undone at start:
    /// the copies are destroyed, the task scheduled again.
    Copying,
    /// `Succeeded`: the key is in its new instance; the material it left
    /// behind is being destroyed. Finished at start.
    Cleaning,
}

impl MigrationStep {
    /// The column's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Copying => "copying",
            Self::Cleaning => "cleaning",
        }
    }
}

impl std::str::FromStr for MigrationStep {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "copying" => Ok(Self::Copying),
            "cleaning" => Ok(Self::Cleaning),
            _ => Err(()),
        }
    }
}

/// An instance backup (`docs/backups.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BackupRecord {
    /// `backup-` and 32 hex digits.
    pub backup_id: String,
    /// A name for people.
    pub alias: Option<String>,
    /// Its type.
    pub backup_type: BackupType,
    /// Enabled, Disabled or Expired.
    pub status: BackupStatus,
    /// The instance it backs up, while enabled.
    pub instance: Option<String>,
    /// The kind of instance it accepts.
    pub instance_kind: InstanceKind,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was last enabled.
    pub enabled_at: Option<Timestamp>,
    /// Days of data that can be viewed.
    pub viewable_days: u32,
    /// Retained: when it expires.
    pub expires_at: Option<Timestamp>,
    /// Hardware: the cluster whose images hold the material.
    pub cluster: Option<String>,
    /// Hardware: its primary member when enabled.
    pub primary_member: Option<String>,
    /// The last time the backup was brought up to date (a point was
    /// written, or nothing had changed).
    pub last_point_at: Option<Timestamp>,
    /// The journal position its last point covers.
    pub journal_seq: i64,
    /// Its last restore drill.
    pub last_drill: Option<p11kms_proto::admin::BackupDrill>,
}

/// One point of a backup: a full or an incremental, whose manifest is a
/// file (`backups::storage`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BackupPointRecord {
    /// The backup.
    pub backup_id: String,
    /// 1, 2, … within the backup.
    pub seq: i64,
    /// `full` or `incremental`.
    pub kind: PointKind,
    /// When it was taken (daemon clock).
    pub at: Timestamp,
    /// The journal position it covers.
    pub journal_seq: i64,
    /// SHA-256 of its manifest, hex.
    pub sha256: String,
    /// Bytes it added to the store of objects (its manifest and the
    /// objects it wrote first).
    pub bytes: u64,
}

/// A backup point's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PointKind {
    /// Everything, as of its time.
    Full,
    /// What changed since the point before.
    Incremental,
}

impl PointKind {
    /// The column's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Incremental => "incremental",
        }
    }
}

impl std::str::FromStr for PointKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "full" => Ok(Self::Full),
            "incremental" => Ok(Self::Incremental),
            _ => Err(()),
        }
    }
}
