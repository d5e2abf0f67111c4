//! Instance backups (`shared/spec/backup-management.txt`,
//! `docs/backups.md`): backups of the keys and secrets of one instance,
//! taken on the daemon's clock (a full when enabled, then a full each day
//! at 00:00 in `[backups] time_zone` and an incremental every 5 minutes), kept as
//! content-addressed objects and checksummed manifests, and viewed by date.
//!
//! * [`lifecycle`]: the backups themselves (create, enable, extend, renew,
//!   reset, expiry, the system backup of each instance).
//! * [`schedule`]: which point is due; [`take`]: taking one; [`prune`]: dropping
//!   the points a backup can never show again.
//! * [`points`]: what a point is and holds; [`snapshot`]: what it holds
//!   of each key and secret; [`storage`]: the files.
//! * [`view`]: `backup show`, the spec's six sets of a day.
//! * [`moment`]: what a backup holds of a key or secret at the end of a
//!   day or at any second (point in time: the last point before it and
//!   the journal after it); [`restore`]: putting it back, through
//!   [`place`], which [`peer`] takes too for a restore from another
//!   daemon's backup (its key material crossing wrapped for a one-time
//!   key of this daemon's HSM).
//! * [`drill`]: restoring a backup's latest point into scratch objects and
//!   checking it (the [`canary`] of each version, each secret's value).
//!
//! The backups and their points are kept in memory ([`Backups`]), loaded
//! at start; every change is committed to the store first.

pub mod canary;
pub mod drill;
pub mod lifecycle;
pub mod moment;
pub mod peer;
pub mod place;
pub mod points;
pub mod prune;
pub mod restore;
pub mod schedule;
pub mod snapshot;
pub mod storage;
pub mod take;
pub mod transfer;
pub mod view;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use crate::kms::KmsError;
use crate::store::{BackupPointRecord, BackupRecord};

/// A backup with its points.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its row.
    pub record: BackupRecord,
    /// Its points, oldest first.
    pub points: Vec<BackupPointRecord>,
}

/// The in-memory picture of the backups.
#[derive(Debug, Default)]
pub struct Book {
    /// Backups by id.
    pub entries: BTreeMap<String, Entry>,
    /// What each enabled backup's last point holds, once read.
    pub current: HashMap<String, points::State>,
    /// Material objects stored, by version id.
    pub materials: points::MaterialCache,
}

impl Book {
    /// The backup `id`.
    pub fn get(&self, id: &str) -> Result<&Entry, KmsError> {
        self.entries.get(id).ok_or_else(|| KmsError::NotFound { what: "backup", name: id.to_owned() })
    }
}

/// The daemon's backups: their picture and their files.
#[derive(Debug)]
pub struct Backups {
    storage: storage::Storage,
    book: Mutex<Book>,
    tickets: peer::tickets::Tickets,
}

impl Backups {
    /// The backups of `records` with their `points`, files under `root`.
    pub fn new(root: PathBuf, records: Vec<BackupRecord>, points: Vec<BackupPointRecord>) -> Self {
        let mut book = Book::default();
        for record in records {
            book.entries.insert(record.backup_id.clone(), Entry { record, points: Vec::new() });
        }
        for point in points {
            if let Some(entry) = book.entries.get_mut(&point.backup_id) {
                entry.points.push(point);
            }
        }
        Self {
            storage: storage::Storage::new(root),
            book: Mutex::new(book),
            tickets: peer::tickets::Tickets::default(),
        }
    }

    /// The files.
    pub fn storage(&self) -> &storage::Storage {
        &self.storage
    }

    /// The tickets of restores from other daemons' backups, prepared here.
    pub fn tickets(&self) -> &peer::tickets::Tickets {
        &self.tickets
    }

    /// The picture, locked. Held for a whole operation on backups (they
    /// are few and their operations brief, points apart: see `schedule`).
    pub fn book(&self) -> Result<MutexGuard<'_, Book>, KmsError> {
        self.book.lock().map_err(|_| KmsError::Internal("backups lock poisoned".into()))
    }
}
