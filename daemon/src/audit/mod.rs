//! The audit trail (`docs/audit.md`): one event per admin call, accepted
//! or refused, and per data-plane event (logins, keys made and destroyed,
//! objects created, secrets read, policy refusals, and the uses of key
//! versions counted per second), appended to daily files as a hash chain
//! (`p11kms_proto::audit`) whose head the store keeps.
//!
//! Events are never allowed to fail a call: a trail that cannot be
//! written says so at `error` in the daemon's log (the operator's alarm),
//! and the call's own outcome stands. An admin change's event is durable
//! before its reply; everything else within a second ([`Trail::flush`]).

pub mod events;
mod identity;
pub mod lookup;
pub mod uses;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use p11kms_proto::Timestamp;
use p11kms_proto::audit::{Event, Head, UserIdentity, Verification};

use crate::config::AuditConfig;
use crate::store::{Store, StoreError};
use identity::UserNames;
use uses::{Pending, UseKey};
use writer::Writer;

/// Writing or reading the trail failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A file of the trail.
    #[error("audit trail file: {0}")]
    Io(#[from] std::io::Error),
    /// Encoding a record.
    #[error("audit record: {0}")]
    Encode(#[from] serde_json::Error),
    /// The head in the store.
    #[error("audit head: {0}")]
    Store(#[from] StoreError),
    /// The trail is off (`audit.enabled = false`).
    #[error("the audit trail is off (audit.enabled = false)")]
    Disabled,
}

/// The daemon's trail.
#[derive(Debug)]
pub struct Trail {
    region: String,
    per_call_uses: bool,
    writer: Option<Mutex<Writer>>,
    pending: Mutex<Pending>,
    names: UserNames,
    boot: String,
    next_request: AtomicU64,
}

impl Trail {
    /// Opens the trail in `dir` (or a trail that records nothing, when
    /// `config.enabled` is false).
    pub fn open(
        dir: &Path,
        store: &Store,
        config: &AuditConfig,
        region: &str,
        boot_id: [u8; 16],
    ) -> Result<Self, AuditError> {
        let writer =
            if config.enabled { Some(Mutex::new(Writer::open(dir, store, config.retention_days)?)) } else { None };
        Ok(Self {
            region: region.to_owned(),
            per_call_uses: config.per_call_uses,
            writer,
            pending: Mutex::default(),
            names: UserNames::default(),
            boot: boot_id.iter().take(4).map(|b| format!("{b:02x}")).collect(),
            next_request: AtomicU64::new(1),
        })
    }

    /// True when events are recorded.
    pub fn is_enabled(&self) -> bool {
        self.writer.is_some()
    }

    /// The region events carry.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// A request id unique in the trail: this start's id and a counter.
    pub fn request_id(&self) -> String {
        format!("{}-{}", self.boot, self.next_request.fetch_add(1, Ordering::Relaxed))
    }

    /// Who a peer is, with its user name.
    pub fn identity(&self, uid: u32, gid: Option<u32>, pid: Option<u32>, app: Option<String>) -> UserIdentity {
        UserIdentity { uid, gid, user_name: self.names.name(uid), pid, app }
    }

    /// Appends `event` (durable: on disk before this returns).
    pub fn record(&self, store: &Store, event: Event, durable: bool) {
        let Some(writer) = &self.writer else {
            return;
        };
        let name = event.event_name.clone();
        let written = match writer.lock() {
            Ok(mut writer) => writer.append(store, event, durable).map(drop),
            Err(_) => Err(AuditError::Io(std::io::Error::other("audit writer lock poisoned"))),
        };
        if let Err(error) = written {
            tracing::error!(event = %name, %error, "an audit event could not be recorded");
        }
    }

    /// Counts one cryptographic use of a key version (or records it at
    /// once with `audit.per_call_uses`).
    pub fn key_use(&self, store: &Store, key: UseKey, now: Timestamp) {
        if !self.is_enabled() {
            return;
        }
        if self.per_call_uses {
            let event = uses::event(
                key,
                p11kms_proto::audit::Uses { count: 1, first_time: now, last_time: now },
                &self.region,
                self.request_id(),
            );
            self.record(store, event, false);
            return;
        }
        if let Ok(mut pending) = self.pending.lock() {
            pending.add(key, now);
        }
    }

    /// Writes the uses counted so far and makes every record durable:
    /// run every second, and before the trail is read.
    pub fn flush(&self, store: &Store) {
        let Some(writer) = &self.writer else {
            return;
        };
        let events = match self.pending.lock() {
            Ok(mut pending) if !pending.is_empty() => pending.drain(&self.region, || self.request_id()),
            _ => Vec::new(),
        };
        let Ok(mut writer) = writer.lock() else {
            tracing::error!("audit writer lock poisoned");
            return;
        };
        for event in events {
            if let Err(error) = writer.append(store, event, false) {
                tracing::error!(%error, "audit events of key uses could not be recorded");
            }
        }
        if let Err(error) = writer.sync(store) {
            tracing::error!(%error, "the audit trail could not be synced");
        }
    }

    /// The last record written (none when the trail is off).
    pub fn head(&self) -> Option<Head> {
        self.writer.as_ref().and_then(|w| w.lock().ok().map(|w| w.head()))
    }

    /// The trail's directory (none when off).
    pub fn dir(&self) -> Option<PathBuf> {
        self.writer.as_ref().and_then(|w| w.lock().ok().map(|w| w.dir().to_owned()))
    }

    /// Walks the whole trail against the store's head.
    pub fn verify(&self, store: &Store) -> Result<Verification, AuditError> {
        self.flush(store);
        let dir = self.dir().ok_or(AuditError::Disabled)?;
        let head = store.audit_head()?;
        Ok(p11kms_proto::audit::verify_dir(&dir, head)?)
    }
}

#[cfg(test)]
mod tests;
