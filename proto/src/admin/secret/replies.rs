//! What the secret operations answer: the API's response shapes, with its
//! field names (PascalCase in `--json`).

use serde::{Deserialize, Serialize};

use super::{SecretDataType, SecretType};
use crate::admin::{AutomaticRotation, RotationFailure, Tag};
use crate::{SecretString, Timestamp};

/// The answer of the operations that only confirm (`UpdateSecret`,
/// `UpdateSecretVersionStage`, `RestoreSecret`, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretNamed {
    /// The secret.
    pub secret_name: String,
}

/// Answer to `secret create`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretCreated {
    /// `acs:kms:<region>:<instance>:secret/<SecretName>`.
    pub arn: String,
    /// The first version.
    pub version_id: String,
    /// The secret.
    pub secret_name: String,
    /// Its type.
    pub secret_type: SecretType,
    /// Its rotation.
    pub automatic_rotation: AutomaticRotation,
    /// Rotation interval, as `<seconds>s`.
    pub rotation_interval: Option<String>,
    /// When it rotates next.
    pub next_rotation_date: Option<Timestamp>,
    /// Its instance.
    #[serde(rename = "DKMSInstanceId")]
    pub instance: String,
}

/// Answer to `secret put-value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretVersionPut {
    /// The secret.
    pub secret_name: String,
    /// The version.
    pub version_id: String,
    /// Its stages.
    pub version_stages: Vec<String>,
}

/// Answer to `secret get-value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretValue {
    /// The secret.
    pub secret_name: String,
    /// The version read.
    pub version_id: String,
    /// When the version was made.
    pub create_time: Timestamp,
    /// The value: text, or base64 for a binary value.
    pub secret_data: SecretString,
    /// How `SecretData` is written.
    pub secret_data_type: SecretDataType,
    /// The version's stages.
    pub version_stages: Vec<String>,
    /// The secret's type.
    pub secret_type: SecretType,
    /// The secret's ExtendedConfig, when asked for.
    pub extended_config: Option<String>,
    /// Its rotation.
    pub automatic_rotation: AutomaticRotation,
    /// Rotation interval, as `<seconds>s`.
    pub rotation_interval: Option<String>,
    /// When it last rotated.
    pub last_rotation_date: Option<Timestamp>,
    /// When it rotates next.
    pub next_rotation_date: Option<Timestamp>,
}

/// One version as `secret list-version-ids` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretVersionInfo {
    /// The version.
    pub version_id: String,
    /// When it was made.
    pub create_time: Timestamp,
    /// Its stages (none: deprecated).
    pub version_stages: Vec<String>,
}

/// Answer to `secret list-version-ids`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretVersionList {
    /// The secret.
    pub secret_name: String,
    /// The page's versions, oldest first.
    pub version_ids: Vec<SecretVersionInfo>,
    /// The page.
    pub page_number: u32,
    /// The page's size.
    pub page_size: u32,
    /// Versions listed on every page together.
    pub total_count: u64,
}

/// Answer to `secret describe`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretDescription {
    /// `acs:kms:<region>:<instance>:secret/<SecretName>`.
    pub arn: String,
    /// Its rotation.
    pub automatic_rotation: AutomaticRotation,
    /// When it was created.
    pub create_time: Timestamp,
    /// Free text.
    pub description: String,
    /// The key its values are encrypted under.
    pub encryption_key_id: String,
    /// The type's JSON configuration.
    pub extended_config: Option<String>,
    /// When it last rotated.
    pub last_rotation_date: Option<Timestamp>,
    /// When it rotates next.
    pub next_rotation_date: Option<Timestamp>,
    /// When a pending deletion completes.
    pub planned_delete_time: Option<Timestamp>,
    /// Rotation interval, as `<seconds>s`.
    pub rotation_interval: Option<String>,
    /// The secret.
    pub secret_name: String,
    /// Its type.
    pub secret_type: SecretType,
    /// When anything of it last changed (values, stages, description,
    /// configuration, tags, rotation policy, deletion).
    pub update_time: Timestamp,
    /// Its instance.
    #[serde(rename = "DKMSInstanceId")]
    pub instance: String,
    /// Its tags, when asked for.
    pub tags: Option<Vec<Tag>>,
    /// Why the last automatic rotation failed, while none has succeeded
    /// since (retried at every scheduler pass).
    pub last_rotation_failure: Option<RotationFailure>,
}

/// One secret as `secret list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretListEntry {
    /// The secret.
    pub secret_name: String,
    /// When it was created.
    pub create_time: Timestamp,
    /// When it last changed.
    pub update_time: Timestamp,
    /// When a pending deletion completes.
    pub planned_delete_time: Option<Timestamp>,
    /// Its type.
    pub secret_type: SecretType,
    /// Its instance.
    #[serde(rename = "DKMSInstanceId")]
    pub instance: String,
    /// Its tags, when asked for.
    pub tags: Option<Vec<Tag>>,
}

/// Answer to `secret list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretList {
    /// The page's secrets, by name.
    pub secret_list: Vec<SecretListEntry>,
    /// The page.
    pub page_number: u32,
    /// The page's size.
    pub page_size: u32,
    /// Secrets matching, on every page together.
    pub total_count: u64,
}

/// Answer to `secret delete`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretDeleted {
    /// The secret.
    pub secret_name: String,
    /// When it will be gone (none: it is gone now).
    pub planned_delete_time: Option<Timestamp>,
}

/// Answer to `secret rotate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretRotated {
    /// `acs:kms:<region>:<instance>:secret/<SecretName>`.
    pub arn: String,
    /// The secret.
    pub secret_name: String,
    /// The new ACSCurrent version.
    pub version_id: String,
}
