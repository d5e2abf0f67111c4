//! The CMK migration diagnostic (`key check-migration`): which keys of the
//! default instance may move into a software or hardware instance, and
//! every reason of the spec's (`shared/spec/cmk-migration.txt`) why one
//! may not.

use serde::{Deserialize, Serialize};

use super::key::KeyManagerType;
use super::names::named_enum;

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
