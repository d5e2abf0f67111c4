//! The daemon's clock, as the test clock's commands show it.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// Answer to the test clock's commands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClockTime {
    /// The daemon's time now.
    pub now: Timestamp,
    /// Whether it is the manual test clock.
    pub manual: bool,
}

/// Parameters of `clock advance` (test clock only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvanceClockRequest {
    /// Seconds to move forward.
    pub seconds: i64,
}

/// Parameters of `clock set` (test clock only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetClockRequest {
    /// The new time.
    pub time: Timestamp,
}
