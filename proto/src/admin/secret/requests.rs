//! What the secret operations carry: their parameters, named as the API
//! names them (in snake case: the CLI's flags are their kebab case).

use serde::{Deserialize, Serialize};

use super::{SecretDataType, SecretType};
use crate::SecretString;
use crate::admin::Tag;

/// A secret, by name: the request of the operations that name one secret
/// and nothing else (`RestoreSecret`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRef {
    /// The secret's name.
    pub secret_name: String,
}

/// Parameters of `secret create`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSecretRequest {
    /// Unique in the region.
    pub secret_name: String,
    /// The instance the secret belongs to (its encrypting key's).
    pub instance: String,
    /// The first version's value: text, or base64 for a binary value.
    pub secret_data: SecretString,
    /// How `secret_data` is given.
    pub secret_data_type: SecretDataType,
    /// The first version's id.
    pub version_id: String,
    /// A symmetric key of the instance; the instance's service key for
    /// secrets when absent.
    pub encryption_key_id: Option<String>,
    /// Free text.
    pub description: String,
    /// Tags.
    pub tags: Vec<Tag>,
    /// What the secret holds.
    pub secret_type: SecretType,
    /// The type's JSON configuration (required for Rds, RAMCredentials,
    /// ECS; none for Generic).
    pub extended_config: Option<String>,
    /// Rotate on schedule (managed types only).
    pub enable_automatic_rotation: bool,
    /// Rotation interval in seconds (6 hours to 365 days).
    pub rotation_interval: Option<i64>,
}

impl CreateSecretRequest {
    /// A generic secret `name` of `instance` whose first version, `v1`,
    /// holds the text `value`, under the instance's service key for
    /// secrets: no description, tags or rotation.
    pub fn generic_text(name: &str, instance: &str, value: SecretString) -> Self {
        Self {
            secret_name: name.to_owned(),
            instance: instance.to_owned(),
            secret_data: value,
            secret_data_type: SecretDataType::Text,
            version_id: "v1".to_owned(),
            encryption_key_id: None,
            description: String::new(),
            tags: Vec::new(),
            secret_type: SecretType::Generic,
            extended_config: None,
            enable_automatic_rotation: false,
            rotation_interval: None,
        }
    }
}

/// Parameters of `secret put-value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutSecretValueRequest {
    /// The secret.
    pub secret_name: String,
    /// The new version's id.
    pub version_id: String,
    /// Its value: text, or base64 for a binary value.
    pub secret_data: SecretString,
    /// How `secret_data` is given.
    pub secret_data_type: SecretDataType,
    /// Its stages; `["ACSCurrent"]` when absent.
    pub version_stages: Option<Vec<String>>,
}

/// Parameters of `secret get-value`: a version by id or by stage
/// (`ACSCurrent` when neither is given).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetSecretValueRequest {
    /// The secret.
    pub secret_name: String,
    /// A version id.
    pub version_id: Option<String>,
    /// A stage.
    pub version_stage: Option<String>,
    /// Return the secret's ExtendedConfig too.
    pub fetch_extended_config: bool,
}

/// Parameters of `secret list-version-ids`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSecretVersionIdsRequest {
    /// The secret.
    pub secret_name: String,
    /// List versions without a stage too.
    pub include_deprecated: bool,
    /// 1-based page (1 when absent).
    pub page_number: Option<u32>,
    /// Versions a page, 1 to 100 (10 when absent).
    pub page_size: Option<u32>,
}

/// Parameters of `secret update-version-stage`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateSecretVersionStageRequest {
    /// The secret.
    pub secret_name: String,
    /// The stage to move or remove.
    pub version_stage: String,
    /// The version that has it now.
    pub remove_from_version: Option<String>,
    /// The version that gets it.
    pub move_to_version: Option<String>,
}

/// Parameters of `secret describe`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeSecretRequest {
    /// The secret.
    pub secret_name: String,
    /// Return its tags too.
    pub fetch_tags: bool,
}

/// Parameters of `secret update`: what is given changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateSecretRequest {
    /// The secret.
    pub secret_name: String,
    /// A new description.
    pub description: Option<String>,
    /// A new `CustomData` of the ExtendedConfig (a JSON object).
    pub extended_config_custom_data: Option<String>,
}

/// One filter of `secret list`: secrets whose `key` matches one of
/// `values` (`SecretName` and `Description` by substring, `TagKey` and
/// `TagValue` exactly).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretFilter {
    /// `SecretName`, `Description`, `TagKey` or `TagValue`.
    pub key: String,
    /// At least one value.
    pub values: Vec<String>,
}

/// Parameters of `secret list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSecretsRequest {
    /// Only the secrets of this instance.
    pub instance: Option<String>,
    /// Return tags too.
    pub fetch_tags: bool,
    /// Secrets matching every filter.
    pub filters: Vec<SecretFilter>,
    /// 1-based page (1 when absent).
    pub page_number: Option<u32>,
    /// Secrets a page, 1 to 100 (10 when absent).
    pub page_size: Option<u32>,
}

/// Parameters of `secret delete`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteSecretRequest {
    /// The secret.
    pub secret_name: String,
    /// Days it can be restored, 7 to 30 (30 when absent).
    pub recovery_window_in_days: Option<u32>,
    /// Delete it and every version now, without a window.
    pub force_delete_without_recovery: bool,
}

/// Parameters of `secret update-rotation-policy`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateSecretRotationPolicyRequest {
    /// The secret.
    pub secret_name: String,
    /// Rotate on schedule.
    pub enable_automatic_rotation: bool,
    /// Rotation interval in seconds (6 hours to 365 days); required to
    /// enable unless the secret already has one.
    pub rotation_interval: Option<i64>,
}

/// Parameters of `secret rotate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotateSecretRequest {
    /// The secret.
    pub secret_name: String,
    /// The new version's id; the daemon makes one when absent.
    pub version_id: Option<String>,
}
