//! Dropping the points a backup can never show again. What a backup keeps
//! is bounded by the most viewable days its type can reach: a default
//! backup's 7, a system backup's 90, a retained backup's 600 (its viewable
//! days may be extended up to that, and then show older data); uploads
//! keep their one point. The points before the first full inside that
//! horizon go; that full is rewritten to list everything (the fulls it
//! built on are gone), and the objects no point names any more are
//! deleted.

use p11kms_proto::Timestamp;
use p11kms_proto::admin::BackupType;

use super::points::{self, Manifest};
use super::{Backups, Book, lifecycle, take};
use crate::kms::{Kms, KmsError};
use crate::store::PointKind;

/// Days of data a backup of `ty` keeps (none: all).
pub fn kept_days(ty: BackupType) -> Option<u32> {
    match ty {
        BackupType::System => Some(lifecycle::SYSTEM_VIEWABLE_DAYS),
        BackupType::Default => Some(lifecycle::DEFAULT_VIEWABLE_DAYS),
        BackupType::Retained => Some(*lifecycle::RETAINED_VIEWABLE_DAYS.end()),
        BackupType::Upload => None,
    }
}

/// Prunes backup `id` as of `now`; returns how many points went.
pub fn prune(kms: &Kms, backups: &Backups, book: &mut Book, id: &str, now: Timestamp) -> Result<usize, KmsError> {
    let entry = book.get(id)?.clone();
    let Some(days) = kept_days(entry.record.backup_type) else { return Ok(0) };
    let calendar = &kms.config.backups.time_zone;
    let horizon = calendar.start(calendar.day(now) - i64::from(days) + 1);
    let Some(first) = entry.points.iter().find(|p| p.kind == PointKind::Full && p.at >= horizon) else {
        return Ok(0);
    };
    let dropped = entry.points.iter().filter(|p| p.seq < first.seq).count();
    if dropped == 0 {
        return Ok(0);
    }
    let storage = backups.storage();
    let mut first = first.clone();
    let manifest = points::manifest(storage, &first)?;
    if manifest.base.is_some() {
        let state = points::resolve(storage, &entry.points, first.seq)?;
        let complete = Manifest { base: None, put: state.into_iter().collect(), removed: Vec::new(), ..manifest };
        let bytes = serde_json::to_vec(&complete)
            .map_err(|e| KmsError::Internal(format!("backup manifest does not encode: {e}")))?;
        first.sha256 = storage.put_manifest(id, first.seq, &bytes)?;
        first.bytes += bytes.len() as u64;
    }
    kms.store.write(now, |tx| {
        tx.update_backup_point(&first)?;
        tx.delete_backup_points_before(id, first.seq)
    })?;
    storage.delete_manifests_before(id, first.seq)?;
    let stored = book.entries.get_mut(id).ok_or_else(|| KmsError::Internal("a backup vanished".into()))?;
    stored.points.retain(|p| p.seq >= first.seq);
    if let Some(point) = stored.points.first_mut() {
        *point = first;
    }
    take::collect_objects(backups, book)?;
    tracing::info!(backup = id, dropped, "backup points past what it can show pruned");
    Ok(dropped)
}
