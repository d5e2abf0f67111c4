//! Applications: who may log in through PKCS#11, with which PIN, to which
//! instance.

use serde::{Deserialize, Serialize};

use crate::{SecretString, Timestamp};

/// The policy of `--policy all`: every action on every key and secret of
/// the app's instance (what apps made before policies existed keep).
pub const FULL_ACCESS_POLICY: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["kms:*"],"Resource":["*"]}]}"#;

/// The policy of an app created without one: nothing is allowed.
pub const NO_ACCESS_POLICY: &str = r#"{"Version":"1","Statement":[]}"#;

/// Parameters of `app create`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAppRequest {
    /// The new app's name.
    pub name: String,
    /// Instance it may use.
    pub instance: String,
    /// Its access policy, a JSON document (`docs/policies.md`); none: the
    /// app may do nothing until it is given one.
    pub policy: Option<String>,
}

/// Parameters of `app update-policy`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateAppPolicyRequest {
    /// The app.
    pub name: String,
    /// Its new access policy, a JSON document.
    pub policy: String,
}

/// Answer to `app create`: the only time the PIN is ever shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AppCreated {
    /// The app's name.
    pub app_name: String,
    /// Instance it may use.
    pub instance: String,
    /// Its PKCS#11 user PIN. Not stored anywhere in clear.
    pub pin: SecretString,
}

/// An app as `app list` and `app describe` show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AppInfo {
    /// The app's name.
    pub app_name: String,
    /// Instance it may use.
    pub instance: String,
    /// When it was created.
    pub creation_date: Timestamp,
    /// Wrong PINs since the last good one.
    pub failed_logins: u32,
    /// Until when logins are refused after too many wrong PINs.
    pub locked_until: Option<Timestamp>,
    /// Its access policy, the JSON document in force.
    pub policy: String,
}
