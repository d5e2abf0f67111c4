//! Aliases: second names of keys, `alias/...`.

use serde::{Deserialize, Serialize};

/// One alias as `alias list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasInfo {
    /// `alias/...`.
    pub alias_name: String,
    /// Resource name: `acs:kms:<region>:<instance>:alias/...`.
    pub alias_arn: String,
    /// The key it names.
    pub key_id: String,
}

/// Parameters of `alias create` and `alias update`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasRequest {
    /// `alias/...`.
    pub alias: String,
    /// Key id or alias of the key it names (from now on).
    pub key: String,
}

/// An alias, by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasRef {
    /// `alias/...`.
    pub alias: String,
}

/// Parameters of `alias list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListAliasesRequest {
    /// Only this key's aliases (id or alias).
    pub key: Option<String>,
}
