//! `LookupEvents`: the trail's events, newest first, filtered by event
//! name, resource, caller and time, a page at a time. The next token is
//! the number of the last record returned; the next page starts below it.

use std::io::BufRead;
use std::path::Path;

use p11kms_proto::admin::{LookupEventsReply, LookupEventsRequest};
use p11kms_proto::audit::{self, Event, Record};

use super::AuditError;

/// Most events in one page (the API's limit).
pub const MAX_RESULTS: u32 = 50;

/// A lookup: the request, and the key id its resource's alias names now
/// (so a lookup by alias also finds the calls that named the key by id,
/// and its PKCS#11 uses).
#[derive(Debug)]
pub struct Query<'a> {
    /// The filters.
    pub request: &'a LookupEventsRequest,
    /// `key/<id>` of the alias given as the resource, if it names a key.
    pub also: Option<String>,
}

/// Whether `event` passes the query's filters.
pub fn matches(query: &Query<'_>, event: &Event) -> bool {
    let request = query.request;
    request.event_name.as_ref().is_none_or(|name| &event.event_name == name)
        && request.start_time.is_none_or(|start| event.event_time >= start)
        && request.end_time.is_none_or(|end| event.event_time <= end)
        && request.resource.as_ref().is_none_or(|resource| {
            names_resource(event, resource) || query.also.as_ref().is_some_and(|key| names_resource(event, key))
        })
        && request.caller.as_ref().is_none_or(|caller| is_caller(event, caller))
}

/// A resource given as `key/<id>`, `alias/<name>`, `secret/<name>`, a
/// key id or a secret name: its own events and its versions'.
fn names_resource(event: &Event, wanted: &str) -> bool {
    let forms = [wanted.to_owned(), format!("key/{wanted}"), format!("secret/{wanted}")];
    event.resource_name.iter().any(|resource| {
        forms.iter().any(|form| {
            resource == form || resource.strip_prefix(form.as_str()).is_some_and(|r| r.starts_with("/version/"))
        })
    })
}

/// A caller given as a uid, a user name or an app.
fn is_caller(event: &Event, wanted: &str) -> bool {
    let who = &event.user_identity;
    who.uid.to_string() == wanted || who.user_name.as_deref() == Some(wanted) || who.app.as_deref() == Some(wanted)
}

/// The page the query asks for, from the trail in `dir`.
pub fn page(dir: &Path, query: &Query<'_>) -> Result<LookupEventsReply, AuditError> {
    let request = query.request;
    let limit = request.max_results.unwrap_or(MAX_RESULTS).clamp(1, MAX_RESULTS) as usize;
    let below: Option<u64> = match &request.next_token {
        None => None,
        Some(token) => Some(token.parse().map_err(|_| {
            AuditError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a next token of this trail"))
        })?),
    };
    let mut found: Vec<Record> = Vec::new();
    let mut more = false;
    'files: for path in audit::files(dir)?.iter().rev() {
        let records = read_file(path)?;
        for record in records.into_iter().rev() {
            if below.is_some_and(|below| record.seq >= below) || !matches(query, &record.event) {
                continue;
            }
            if found.len() == limit {
                more = true;
                break 'files;
            }
            found.push(record);
        }
    }
    let next_token = if more { found.last().map(|r| r.seq.to_string()) } else { None };
    let events = found.into_iter().map(|r| serde_json::to_string(&r.event)).collect::<Result<_, _>>()?;
    Ok(LookupEventsReply { events, next_token })
}

fn read_file(path: &Path) -> Result<Vec<Record>, AuditError> {
    let mut records = Vec::new();
    for line in std::io::BufReader::new(std::fs::File::open(path)?).lines() {
        if let Some(read) = audit::decode_line(&line?) {
            records.push(read.record);
        }
    }
    Ok(records)
}
