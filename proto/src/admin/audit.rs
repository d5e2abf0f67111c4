//! The audit trail's admin operations: `LookupEvents` (the spec's
//! ActionTrail lookup) and `VerifyAudit`. Events travel as their JSON
//! text, the trail's own format ([`crate::audit::Event`]): their request
//! parameters are free-form JSON, which postcard does not carry.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// Parameters of `audit lookup-events`; every filter optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupEventsRequest {
    /// Only events of this name (`Encrypt`, `GetSecretValue`, `Login`).
    pub event_name: Option<String>,
    /// Only events naming this resource: a key id, `alias/…`, a secret
    /// name, `key/…`, `secret/…`, `app/…` (versions included).
    pub resource: Option<String>,
    /// Only events of this caller: a uid, a user name or an app.
    pub caller: Option<String>,
    /// Not before.
    pub start_time: Option<Timestamp>,
    /// Not after.
    pub end_time: Option<Timestamp>,
    /// At most this many (1 to 50; default 50).
    pub max_results: Option<u32>,
    /// Where the previous page ended.
    pub next_token: Option<String>,
}

/// One page of events, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupEventsReply {
    /// Each event as JSON ([`crate::audit::Event`]).
    pub events: Vec<String>,
    /// Give it back for the next page; none on the last.
    pub next_token: Option<String>,
}
