//! Taking a point of one backup now (`points::take`, then its row and the
//! in-memory picture), and deleting the objects no point names any more:
//! what the schedule, enabling a backup and pruning all do.

use std::collections::HashSet;

use super::points::{self, State};
use super::{Backups, Book};
use crate::kms::{Kms, KmsError};
use crate::store::BackupPointRecord;

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
