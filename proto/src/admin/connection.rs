//! Live data-plane connections, as `p11kms connection list` shows them.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// One open connection to the data socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectionInfo {
    /// The daemon's number for it, unique while the daemon runs.
    pub connection_id: u64,
    /// The peer's uid (from the kernel).
    pub uid: u32,
    /// The peer's pid (from the kernel), when known.
    pub pid: Option<i32>,
    /// When it was accepted.
    pub opened: Timestamp,
    /// Request frames it has carried: each is one round trip.
    pub requests: u64,
}
