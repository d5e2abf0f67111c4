//! `p11kms audit …`: the audit trail. `lookup-events` finds events by
//! name, resource, caller and time (the spec's ActionTrail lookup, in its
//! shape with `--json`); `verify` walks the hash chain, through the daemon
//! or, with `--dir`, over a copy of the trail's files, and exits 5 at the
//! first record changed, removed, reordered or cut (`docs/audit.md`).

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{LookupEventsReply, LookupEventsRequest, op};
use p11kms_proto::audit::{self, Event, Head, Verification};

use super::values::time;
use super::{DIFFERENCES_FOUND, Invocation, Outcome, RenderError, RequestError, Run, subcommands};
use crate::Failure;
use crate::output::{self, Fields, Format, Table, or_dash};

subcommands! {
    /// The audit trail: who did what, when, to which key or secret.
    pub enum AuditCommand {
        /// Finds events, newest first (LookupEvents).
        LookupEvents(LookupEventsArgs),
        /// Walks the trail's hash chain; exit 5 at the first record changed, removed, reordered or cut.
        #[command(name = "verify")]
        Verify(VerifyAuditArgs),
    }
}

/// `audit lookup-events`.
#[derive(Debug, Args)]
pub struct LookupEventsArgs {
    /// Only events of this name (`Encrypt`, `GetSecretValue`, `Login`, `Sign`, …).
    #[arg(long, value_name = "NAME")]
    event_name: Option<String>,
    /// Only events naming this key id, alias, secret name, `key/…`, `secret/…` or `app/…`.
    #[arg(long, value_name = "RESOURCE")]
    resource: Option<String>,
    /// Only events of this caller: a uid, a user name or an app.
    #[arg(long, value_name = "CALLER")]
    caller: Option<String>,
    /// Not before this time (RFC 3339, `2026-12-06T10:00:00Z`).
    #[arg(long, value_name = "TIME", value_parser = time)]
    start_time: Option<Timestamp>,
    /// Not after this time (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = time)]
    end_time: Option<Timestamp>,
    /// At most this many events (1 to 50; 50 by default).
    #[arg(long, value_name = "N")]
    max_results: Option<u32>,
    /// The `NextToken` of the previous page.
    #[arg(long, value_name = "TOKEN")]
    next_token: Option<String>,
}

/// The ActionTrail shape of a page.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EventsPage {
    events: Vec<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

impl Invocation for LookupEventsArgs {
    type Op = op::LookupEvents;

    fn request(&self) -> Result<LookupEventsRequest, RequestError> {
        Ok(LookupEventsRequest {
            event_name: self.event_name.clone(),
            resource: self.resource.clone(),
            caller: self.caller.clone(),
            start_time: self.start_time,
            end_time: self.end_time,
            max_results: self.max_results,
            next_token: self.next_token.clone(),
        })
    }

    fn render(&self, reply: &LookupEventsReply, format: Format) -> Result<String, RenderError> {
        let events = reply.events.iter().map(|text| serde_json::from_str(text)).collect::<Result<Vec<Event>, _>>()?;
        let page = EventsPage { events, next_token: reply.next_token.clone() };
        Ok(output::show(format, &page, events_table)?)
    }
}

fn events_table(page: &EventsPage) -> String {
    let mut table = Table::new(&["TIME", "EVENT", "SOURCE", "RESULT", "CALLER", "INSTANCE", "RESOURCE", "COUNT"]);
    for event in &page.events {
        let who = &event.user_identity;
        let caller = match (&who.app, &who.user_name) {
            (Some(app), _) => format!("app {app} (uid {})", who.uid),
            (None, Some(name)) => format!("{name} (uid {})", who.uid),
            (None, None) => format!("uid {}", who.uid),
        };
        table.row(vec![
            event.event_time.to_string(),
            event.event_name.clone(),
            format!("{:?}", event.event_source),
            event.result.clone(),
            caller,
            or_dash(event.instance.as_ref()),
            event.resource_name.first().cloned().unwrap_or_else(|| "-".into()),
            event.uses.as_ref().map_or_else(|| "-".into(), |u| u.count.to_string()),
        ]);
    }
    let mut text = table.render();
    if let Some(token) = &page.next_token {
        text.push_str(&format!("More: --next-token {token}\n"));
    }
    text
}

/// `audit verify [--dir DIR [--head-seq N --head-hash HEX]]`.
#[derive(Debug, Args)]
pub struct VerifyAuditArgs {
    /// Verify the files in this directory (a copy of `<state>/audit`) here, without the daemon.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// With --dir: the number of the last record the daemon recorded (from `audit verify --json`, Last.Seq), to catch a cut tail.
    #[arg(long, value_name = "N", requires = "dir", requires = "head_hash")]
    head_seq: Option<u64>,
    /// With --dir: that record's hash (Last.Hash).
    #[arg(long, value_name = "HEX", requires = "head_seq")]
    head_hash: Option<String>,
}

impl Run for VerifyAuditArgs {
    fn run(&self, socket: &Path, format: Format) -> Outcome {
        let verification = match &self.dir {
            None => crate::client::call::<op::VerifyAudit>(socket, &())?,
            Some(dir) => {
                let head = match (self.head_seq, &self.head_hash) {
                    (Some(seq), Some(hex)) => {
                        let hash = audit::parse_hex(hex)
                            .ok_or_else(|| RequestError::Invalid("--head-hash is 64 hex digits".into()))?;
                        Some(Head { seq, hash })
                    }
                    _ => None,
                };
                audit::verify_dir(dir, head)
                    .map_err(|source| Failure::Request(RequestError::Read { path: dir.clone(), source }))?
            }
        };
        let status = if verification.is_intact() { 0 } else { DIFFERENCES_FOUND };
        Ok((output::show(format, &verification, verification_text).map_err(RenderError::from)?, status))
    }

    #[cfg(test)]
    fn leaves() -> Vec<super::Leaf> {
        vec![super::Leaf::of::<op::VerifyAudit>(&["audit", "verify"])]
    }

    #[cfg(test)]
    fn into_leaf(self) -> Box<dyn std::any::Any> {
        Box::new(self)
    }
}

fn verification_text(v: &Verification) -> String {
    let fields = Fields::new()
        .field("Files", v.files)
        .field("Records", v.records)
        .field("FirstRecord", v.first_seq)
        .field("LastRecord", v.last.seq)
        .field("LastHash", audit::hex(&v.last.hash));
    let verdict = match &v.problem {
        None => "Intact: every record chains to the one before it, up to the daemon's head.\n".to_owned(),
        Some(problem) => format!("BROKEN: {problem}\n"),
    };
    format!("{}{verdict}", fields.render())
}
