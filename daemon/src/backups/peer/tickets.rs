//! The destination's tickets: one per restore from another daemon's
//! backup, made by `backup prepare-restore`, spent by the first `backup
//! import-item` that names it, and kept in memory only, for
//! [`TICKET_LIFETIME`] on the daemon clock. A key's ticket holds an
//! RSA-2048 wrapping key pair inside the target cluster's primary,
//! announced by a creation intent that stays open while the ticket lives:
//! spent or expired, the pair is destroyed and the intent withdrawn;
//! after a crash, the start's sweep of intents destroys it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use p11kms_proto::Timestamp;

use crate::kms::keys::intents;
use crate::kms::vault::VersionId;
use crate::kms::{Kms, KmsError};
use crate::store::IntentRecord;

/// Seconds a ticket lives, used or not.
pub const TICKET_LIFETIME: i64 = 600;

/// Tickets outstanding at once, at most.
pub const MAX_TICKETS: usize = 64;

/// What a ticket restores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A key, by id.
    Key(String),
    /// A secret, by name.
    Secret(String),
}

impl Item {
    /// The item a request names: a key or a secret, exactly one.
    pub fn of(key_id: Option<&str>, secret_name: Option<&str>) -> Result<Self, KmsError> {
        match (key_id, secret_name) {
            (Some(key), None) if !key.is_empty() => Ok(Self::Key(key.to_owned())),
            (None, Some(name)) if !name.is_empty() => Ok(Self::Secret(name.to_owned())),
            _ => Err(KmsError::InvalidParameter("name exactly one of a key (KeyId) and a secret (SecretName)".into())),
        }
    }
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key(id) => write!(f, "key {id}"),
            Self::Secret(name) => write!(f, "secret '{name}'"),
        }
    }
}

/// A key's wrapping key pair, inside the target cluster.
#[derive(Debug)]
pub struct Wrapping {
    /// The pair's id.
    pub id: VersionId,
    /// The intent that announced it.
    pub intent: IntentRecord,
}

/// One restore, prepared.
#[derive(Debug)]
pub struct Ticket {
    /// The instance it restores into.
    pub instance: String,
    /// Its cluster (where the wrapping pair is).
    pub cluster: String,
    /// What it restores.
    pub item: Item,
    /// A key's wrapping key pair; a secret's ticket has none.
    pub wrapping: Option<Wrapping>,
    /// When it expires.
    pub expires_at: Timestamp,
}

/// The outstanding tickets.
#[derive(Debug, Default)]
pub struct Tickets(Mutex<BTreeMap<String, Ticket>>);

impl Tickets {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, BTreeMap<String, Ticket>>, KmsError> {
        self.0.lock().map_err(|_| KmsError::Internal("restore tickets lock poisoned".into()))
    }

    /// Keeps `ticket` under `id`; refused when [`MAX_TICKETS`] are
    /// outstanding, and then the ticket is discarded.
    pub fn insert(&self, kms: &Kms, id: String, ticket: Ticket) -> Result<(), KmsError> {
        let refused = match self.lock() {
            Ok(mut tickets) if tickets.len() < MAX_TICKETS => {
                tickets.insert(id, ticket);
                return Ok(());
            }
            Ok(_) => KmsError::LimitExceeded(format!(
                "{MAX_TICKETS} restores are prepared and not yet imported: import them or let them expire ({} \
                 minutes) first",
                TICKET_LIFETIME / 60
            )),
            Err(error) => error,
        };
        discard(kms, ticket);
        Err(refused)
    }

    /// Takes ticket `id` out: a ticket is spent by its first use.
    pub fn take(&self, id: &str) -> Result<Ticket, KmsError> {
        self.lock()?.remove(id).ok_or_else(|| {
            KmsError::InvalidParameter(format!(
                "no restore ticket '{id}' (unknown, already used, or expired after {} minutes): prepare the restore \
                 again (p11kms backup prepare-restore)",
                TICKET_LIFETIME / 60
            ))
        })
    }

    /// Takes out every ticket expired at `now`.
    pub fn expired(&self, now: Timestamp) -> Vec<Ticket> {
        let Ok(mut tickets) = self.lock() else { return Vec::new() };
        let ids: Vec<String> = tickets.iter().filter(|(_, t)| t.expires_at <= now).map(|(id, _)| id.clone()).collect();
        ids.iter().filter_map(|id| tickets.remove(id)).collect()
    }

    /// How many are outstanding.
    pub fn len(&self) -> usize {
        self.lock().map_or(0, |t| t.len())
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Destroys what a ticket holds: its wrapping key pair, and its intent
/// once the pair is gone (else the sweep of intents finishes the job).
pub fn discard(kms: &Kms, ticket: Ticket) {
    let Some(wrapping) = ticket.wrapping else { return };
    let left = match kms.vault.destroy_wrapping_key(&ticket.cluster, &wrapping.id) {
        Ok(()) => 0,
        Err(error) => {
            tracing::warn!(cluster = %ticket.cluster, %error, "cannot destroy a restore ticket's wrapping key: the sweep of intents will");
            1
        }
    };
    intents::withdraw(kms, Some(&wrapping.intent), left);
}

/// Discards the tickets expired now (each scheduler pass, and each
/// prepare and import).
pub fn sweep(kms: &Kms, tickets: &Tickets) {
    for ticket in tickets.expired(kms.clock.now()) {
        tracing::info!(instance = %ticket.instance, item = %ticket.item, "a restore ticket expired unused");
        discard(kms, ticket);
    }
}
