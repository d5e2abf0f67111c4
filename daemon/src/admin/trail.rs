//! The audit event of one admin call (`crate::audit`): its name, who
//! called, what it named (in the request and the reply), the request's
//! parameters without secrets, and its result. An accepted change is on
//! disk before the reply leaves; everything else within a second.

use serde::Serialize;
use serde_json::Value;

use p11kms_proto::Timestamp;
use p11kms_proto::admin::Operation;
use p11kms_proto::audit::{Event, EventSource, SUCCESS};
use p11kms_proto::error::ApiError;

use super::table::Route;
use super::{Access, Call};
use crate::audit::events;

/// The request's parameters as the trail keeps them (none when the trail
/// is off: nothing is serialized for nothing).
pub fn parameters<T: Serialize>(call: &Call<'_>, request: &T) -> Option<Value> {
    call.service.audit.is_enabled().then(|| events::parameters(request))
}

/// Records the call of `O`.
pub fn record<O: Operation>(
    call: &Call<'_>,
    route: &Route,
    started: Timestamp,
    parameters: Option<Value>,
    outcome: Result<&O::Reply, &ApiError>,
) {
    let trail = &call.service.audit;
    if !trail.is_enabled() {
        return;
    }
    let request = parameters.unwrap_or(Value::Null);
    let group = O::COMMAND.first().copied().unwrap_or_default();
    // The reply is turned into JSON only here, with the trail on: what it
    // names (a new key's id, a decryption's key) is a resource too.
    let reply = outcome.as_ref().map_or(Value::Null, |reply| events::parameters(*reply));
    let named = call.service.kms.registry().map(|r| events::named(group, &request, &reply, &r)).unwrap_or_default();
    let (result, error_code) = match &outcome {
        Ok(_) => (SUCCESS.to_owned(), None),
        Err(error) => (error.code.as_str().to_owned(), Some(error.code.as_str().to_owned())),
    };
    let caller = call.caller;
    let event = Event {
        event_time: started,
        event_name: route.name.to_owned(),
        event_source: EventSource::Admin,
        region: trail.region().to_owned(),
        request_id: trail.request_id(),
        user_identity: trail.identity(caller.uid, caller.gid, caller.pid, None),
        instance: named.instance,
        resource_name: named.resources,
        request_parameters: request,
        result,
        error_code,
        uses: None,
    };
    // An accepted change is durable before its reply, like the journal.
    let durable = outcome.is_ok() && matches!(route.access, Access::Change | Access::TestClock);
    trail.record(&call.service.kms.store, event, durable);
}
