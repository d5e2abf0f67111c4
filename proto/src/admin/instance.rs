//! Instances: where keys live. An instance is a PKCS#11 slot.

use serde::{Deserialize, Serialize};

use super::names::named_enum;
use crate::Timestamp;

named_enum! {
    /// What protects an instance's key material.
    pub enum InstanceKind {
        /// Held by the daemon, wrapped under its root key; no HSM.
        Default => "default",
        /// In an HSM cluster, extractable only under the cluster's wrapping key.
        Software => "software",
        /// In an HSM cluster, never extractable.
        Hardware => "hardware",
    }
}

/// An instance as `instance list` and `instance describe` show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceInfo {
    /// Instance name; also the PKCS#11 token label.
    pub name: String,
    /// PKCS#11 slot id.
    pub slot_id: u64,
    /// Kind.
    pub kind: InstanceKind,
    /// The cluster holding its keys (none for `default`).
    pub cluster: Option<String>,
    /// How many key versions it may hold.
    pub key_quota: u64,
    /// Keys it holds now.
    pub key_count: u64,
    /// Key versions it holds now (what counts against the quota).
    pub key_version_count: u64,
    /// When it was created.
    pub creation_date: Timestamp,
    /// How many secrets it may hold.
    pub secret_quota: u64,
    /// Secrets it holds now (those pending deletion included).
    pub secret_count: u64,
    /// The region (deployment) it belongs to: `region` in the daemon's
    /// configuration, as in its resources' ARNs.
    pub region: String,
}

/// Parameters of `instance create`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateInstanceRequest {
    /// The new instance's name (also its token label).
    pub name: String,
    /// `hardware` or `software`.
    pub kind: InstanceKind,
    /// The cluster that keeps its keys.
    pub cluster: String,
}

/// Parameters of `instance attach-cluster`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachClusterRequest {
    /// Instance name.
    pub instance: String,
    /// Cluster that holds its keys from now on.
    pub cluster: String,
    /// Attach even though key versions no reachable member of either
    /// cluster holds would be lost (they are recorded lost).
    pub force: bool,
}

/// Parameters of `instance delete`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteInstanceRequest {
    /// Instance name.
    pub name: String,
    /// Delete what it still holds (keys, secrets, apps) with it; without,
    /// an instance that holds any of them is refused.
    pub force: bool,
}
