//! HSM clusters: a primary token and its mirrors.

use serde::{Deserialize, Serialize};

use super::names::named_enum;
use crate::Timestamp;

named_enum! {
    /// A member's part in its cluster.
    pub enum MemberRole {
        /// Receives every write first.
        Primary => "primary",
        /// Holds a copy of every key version.
        Mirror => "mirror",
    }
}

named_enum! {
    /// Whether a member answers.
    pub enum MemberHealth {
        /// Answers and is logged in.
        Healthy => "healthy",
        /// Did not answer the last check.
        Unreachable => "unreachable",
        /// Answers, but the daemon does not use it: it failed at the device
        /// or lacks key versions other members hold, until healing makes it
        /// whole again.
        OutOfService => "out-of-service",
    }
}

/// One member in `cluster status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MemberStatus {
    /// Position in the cluster.
    pub index: u32,
    /// Token label.
    pub token_label: String,
    /// Token serial number.
    pub serial: String,
    /// PKCS#11 module path.
    pub module: String,
    /// Role.
    pub role: MemberRole,
    /// Health at the time of the call.
    pub health: MemberHealth,
    /// Whether it holds every key version the store knows of.
    pub in_sync: bool,
    /// Key objects on the token (the cluster's own key excluded).
    pub object_count: u64,
    /// Key versions the store expects that the member lacks: its lag.
    pub missing_versions: u64,
    /// When the daemon last found it holding every version (this run).
    pub last_sync: Option<Timestamp>,
    /// Key objects the store does not know, and no creation announced.
    pub unexpected_objects: u64,
    /// Leftovers of unacknowledged creations (recognised by their creation
    /// intents), waiting to be destroyed by the next heal.
    pub orphans: u64,
}

/// Answer to `cluster status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterStatus {
    /// Cluster name.
    pub cluster_name: String,
    /// Key versions the store says the cluster holds.
    pub expected_objects: u64,
    /// Members, primary first.
    pub members: Vec<MemberStatus>,
    /// When the status was read.
    pub checked_at: Timestamp,
}

/// One cluster in `cluster list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterSummary {
    /// Cluster name.
    pub cluster_name: String,
    /// Number of members.
    pub member_count: u32,
    /// Instances whose keys it holds.
    pub instances: Vec<String>,
    /// When it was created.
    pub creation_date: Timestamp,
}

/// One member's differences from the store in `cluster verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MemberDifferences {
    /// Position in the cluster.
    pub index: u32,
    /// Token label.
    pub token_label: String,
    /// Role.
    pub role: MemberRole,
    /// Whether it answered.
    pub health: MemberHealth,
    /// Key versions the store places here that the member lacks, as
    /// `KEY_ID/VERSION_ID`.
    pub missing: Vec<String>,
    /// Key objects on the member that the store does not know (version ids).
    pub unexpected: Vec<String>,
    /// Leftovers of unacknowledged creations: objects whose creation was
    /// announced by an intent but never committed (a crash in between), as
    /// `VERSION_UUID (label)`. Not a difference: healing destroys them.
    pub orphans: Vec<String>,
}

/// Answer to `cluster verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterVerification {
    /// Cluster name.
    pub cluster_name: String,
    /// Key versions the store places in the cluster.
    pub expected_versions: u64,
    /// True when every member answered and holds exactly what the store
    /// says (leftovers of unacknowledged creations aside).
    pub consistent: bool,
    /// Every member, primary first.
    pub members: Vec<MemberDifferences>,
}

/// Answer to `cluster resync`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResyncReport {
    /// Cluster name.
    pub cluster_name: String,
    /// Key versions copied to members that lacked them.
    pub copied: u64,
    /// Copies that failed (the member stays out of sync).
    pub failed: u64,
    /// Members that answered again and were taken back into service.
    pub recovered: Vec<String>,
    /// The mirror promoted to primary, when the primary was out of service.
    pub promoted: Option<String>,
    /// Leftovers of unacknowledged creations destroyed (their labels).
    pub orphans_destroyed: Vec<String>,
    /// Key versions no member that answered holds (`KEY_ID/VERSION_ID`):
    /// nothing to copy them from.
    pub unheld: Vec<String>,
    /// Members still out of service after the pass (unreachable, or not
    /// whole).
    pub out_of_service: Vec<String>,
}

/// One mirror image in `cluster image list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInfo {
    /// Image id.
    pub image_id: String,
    /// The cluster it was taken of.
    pub cluster_name: String,
    /// When it was taken (daemon clock).
    pub creation_date: Timestamp,
    /// Key versions in it.
    pub versions: u64,
    /// SHA-256 of the image file, hex.
    pub sha256: String,
    /// Whether the file still matches its manifest (and, for an image that
    /// can be authenticated, its MAC verifies inside an HSM).
    pub intact: bool,
    /// Why it is not intact (what was checked and failed), when it is not.
    pub damage: Option<String>,
    /// Image format (1: SHA-256 manifest only; 2: authenticated by a MAC
    /// made inside an HSM).
    pub format: u32,
}

/// Parameters of `cluster create`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateClusterRequest {
    /// The new cluster's name.
    pub name: String,
    /// Members (2 to 8).
    pub members: u32,
}

/// Parameters of `cluster remove-member`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveClusterMemberRequest {
    /// Cluster name.
    pub name: String,
    /// The member's index.
    pub index: u32,
}

/// Parameters of `cluster image list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListClusterImagesRequest {
    /// Only this cluster's images.
    pub name: Option<String>,
}

/// Parameters of `cluster restore`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreClusterRequest {
    /// The image.
    pub image_id: String,
    /// Name of the new cluster (must not exist).
    pub name: String,
    /// Members of the new cluster (at least 2).
    pub members: u32,
}
