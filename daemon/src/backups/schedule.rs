//! When backups take their points, on the daemon's clock: a full when a
//! backup is enabled; then a full at the first pass of each day (00:00
//! UTC) and an incremental at the first pass 5 minutes or more after the
//! point before. The daemon's scheduler runs [`run_due`] at every pass
//! (every `keys.scheduler_interval_seconds`, and when the test clock
//! moves), which also makes the system backups and expires retained ones.

use std::collections::HashSet;

use p11kms_proto::Timestamp;
use p11kms_proto::admin::BackupStatus;

use super::points::{self, State};
use super::{Backups, Book, lifecycle};
use crate::kms::{Kms, KmsError};
use crate::store::{BackupPointRecord, PointKind};

/// Seconds between incrementals.
pub const INCREMENTAL_SECONDS: i64 = 300;

const DAY: i64 = 86_400;

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackupPass {
    /// Full points taken.
    pub fulls: usize,
    /// Incremental points taken (a backup with nothing new takes none).
    pub incrementals: usize,
    /// System backups made for instances that had none.
    pub system_backups: usize,
    /// Retained backups that expired.
    pub expired: usize,
    /// Expired backups removed.
    pub removed: usize,
    /// Points pruned (past what their backups can show).
    pub pruned: usize,
    /// Daily drills that passed (`[backups] drill_daily`).
    pub drills_passed: usize,
    /// Daily drills that failed.
    pub drills_failed: usize,
    /// Points that failed (logged; retried at the next pass).
    pub failed: usize,
}

/// Takes a point of backup `id` now (a full when `full`); returns it, none
/// when an incremental found nothing new.
pub fn take_point(
    kms: &Kms,
    backups: &Backups,
    book: &mut Book,
    id: &str,
    full: bool,
) -> Result<Option<BackupPointRecord>, KmsError> {
    let entry = book.get(id)?.clone();
    let current = match (book.current.get(id), entry.points.last()) {
        (Some(state), _) => state.clone(),
        (None, Some(last)) => points::resolve(backups.storage(), &entry.points, last.seq)?,
        (None, None) => State::new(),
    };
    let (point, state, position) =
        points::take(kms, backups.storage(), &entry.record, &entry.points, &current, full, &mut book.materials)?;
    let now = kms.clock.now();
    let mut record = entry.record;
    record.last_point_at = Some(now);
    record.journal_seq = position;
    kms.store.write(now, |tx| {
        if let Some(point) = &point {
            tx.insert_backup_point(point)?;
        }
        tx.put_backup(&record)
    })?;
    let stored = book.entries.get_mut(id).ok_or_else(|| KmsError::Internal("a backup vanished".into()))?;
    stored.record = record;
    stored.points.extend(point.clone());
    book.current.insert(id.to_owned(), state);
    Ok(point)
}

/// Which point backup `entry` owes at `now`: `Some(true)` a full,
/// `Some(false)` an incremental, `None` nothing yet.
fn due(entry: &super::Entry, now: Timestamp) -> Option<bool> {
    let last_full = entry.points.iter().rev().find(|p| p.kind == PointKind::Full).map(|p| p.at);
    match (last_full, entry.record.last_point_at) {
        (None, _) => Some(true),
        (Some(full), _) if now.unix().div_euclid(DAY) > full.unix().div_euclid(DAY) => Some(true),
        (_, Some(last)) if now.unix() - last.unix() < INCREMENTAL_SECONDS => None,
        _ => Some(false),
    }
}

/// Does what is due now (see the module documentation).
pub fn run_due(kms: &Kms, backups: &Backups) -> BackupPass {
    let mut pass = BackupPass::default();
    let now = kms.clock.now();
    match lifecycle::ensure_system_backups(kms, backups) {
        Ok(made) => pass.system_backups = made,
        Err(error) => {
            pass.failed += 1;
            tracing::error!(%error, "cannot make a system backup; retrying at the next pass");
        }
    }
    match lifecycle::expire_due(kms, backups, now) {
        Ok((expired, removed)) => (pass.expired, pass.removed) = (expired, removed),
        Err(error) => {
            pass.failed += 1;
            tracing::error!(%error, "cannot expire backups; retrying at the next pass");
        }
    }
    let Ok(mut book) = backups.book() else {
        pass.failed += 1;
        return pass;
    };
    let instances: HashSet<String> = match kms.registry() {
        Ok(registry) => registry.instances().map(|i| i.name.clone()).collect(),
        Err(_) => return pass,
    };
    let owed: Vec<(String, bool)> = book
        .entries
        .values()
        .filter(|e| e.record.status == BackupStatus::Enabled)
        .filter(|e| e.record.instance.as_ref().is_some_and(|i| instances.contains(i)))
        .filter_map(|e| due(e, now).map(|full| (e.record.backup_id.clone(), full)))
        .collect();
    let mut drilled = Vec::new();
    for (id, full) in owed {
        match take_point(kms, backups, &mut book, &id, full) {
            Ok(Some(_)) if full => {
                pass.fulls += 1;
                drilled.push(id.clone());
                // A new day's full: older points may now be past showing.
                match super::prune::prune(kms, backups, &mut book, &id, now) {
                    Ok(dropped) => pass.pruned += dropped,
                    Err(error) => {
                        pass.failed += 1;
                        tracing::error!(backup = %id, %error, "pruning failed; retrying at the next full");
                    }
                }
            }
            Ok(Some(_)) => pass.incrementals += 1,
            Ok(None) => {}
            Err(error) => {
                pass.failed += 1;
                tracing::error!(backup = %id, %error, "backup point failed; retrying at the next pass");
            }
        }
    }
    drop(book);
    if kms.config.backups.drill_daily {
        for id in drilled {
            match super::drill::drill(kms, backups, &id) {
                Ok(drill) if drill.passed => pass.drills_passed += 1,
                Ok(_) => pass.drills_failed += 1,
                Err(error) => {
                    pass.drills_failed += 1;
                    tracing::error!(backup = %id, %error, "the daily drill could not run");
                }
            }
        }
    }
    if pass.fulls + pass.incrementals + pass.system_backups + pass.expired + pass.removed + pass.failed > 0 {
        tracing::info!(?pass, at = %now, "backups done");
    }
    pass
}

/// Deletes the objects no point of any backup names any more.
pub fn collect_objects(backups: &Backups, book: &mut Book) -> Result<u64, KmsError> {
    let mut kept = HashSet::new();
    for entry in book.entries.values() {
        for point in &entry.points {
            kept.extend(points::manifest(backups.storage(), point)?.put.into_iter().map(|(_, hash)| hash));
        }
    }
    let freed = backups.storage().collect(&kept)?;
    // A material object collected must be wrapped again when named again.
    let stored: HashSet<&String> = kept.iter().collect();
    let cache: Vec<String> =
        book.materials.iter().filter(|(_, h)| !stored.contains(h)).map(|(v, _)| v.clone()).collect();
    for version in cache {
        book.materials.remove(&version);
    }
    Ok(freed)
}
