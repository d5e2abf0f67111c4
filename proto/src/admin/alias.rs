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
