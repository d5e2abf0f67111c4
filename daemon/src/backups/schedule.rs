//! When backups take their points, on the daemon's clock: a full when a
//! backup is enabled; then a full at the first pass of each day (00:00
//! in `[backups] time_zone`, UTC by default: `calendar`) and an incremental at the first pass 5 minutes or more after the
//! point before. The daemon's scheduler runs [`run_due`] at every pass
//! (every `keys.scheduler_interval_seconds`, and when the test clock
//! moves), which also makes the system backups and expires retained ones.

use std::collections::HashSet;

use p11kms_proto::Timestamp;
use p11kms_proto::admin::BackupStatus;

use super::take::take_point;
use super::{Backups, lifecycle};
use crate::calendar::Calendar;
use crate::kms::Kms;
use crate::store::PointKind;

/// Seconds between incrementals.
pub const INCREMENTAL_SECONDS: i64 = 300;

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

/// Which point backup `entry` owes at `now`: `Some(true)` a full,
/// `Some(false)` an incremental, `None` nothing yet.
fn due(calendar: &Calendar, entry: &super::Entry, now: Timestamp) -> Option<bool> {
    let last_full = entry.points.iter().rev().find(|p| p.kind == PointKind::Full).map(|p| p.at);
    match (last_full, entry.record.last_point_at) {
        (None, _) => Some(true),
        (Some(full), _) if calendar.day(now) > calendar.day(full) => Some(true),
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
        .filter_map(|e| due(&kms.config.backups.time_zone, e, now).map(|full| (e.record.backup_id.clone(), full)))
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
