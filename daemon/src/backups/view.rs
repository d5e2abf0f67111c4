//! `backup show BACKUP --date D`: what a backup holds of one day, as the
//! spec's six sets (its "View Data"): the keys and secrets of the day's
//! full backup (as of 00:00, or of the enable full on the day it was
//! enabled), those that came in that day's incrementals, and those
//! rotated that day. A day outside the viewable days is refused, saying
//! what would make it viewable.

use std::collections::{BTreeMap, BTreeSet};

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{BackedUpKey, BackedUpSecret, BackupDay, BackupStatus, BackupType, ShowBackupRequest};

use super::points::{self, State};
use super::snapshot::{self, Entity, KeySnapshot, SecretSnapshot};
use super::storage::Storage;
use super::{Backups, Entry};
use crate::calendar::Calendar;
use crate::kms::{Kms, KmsError};
use crate::store::{BackupPointRecord, PointKind};

/// The day `date` (`YYYY-MM-DD`) names in `calendar`.
pub fn parse_day(calendar: &Calendar, date: &str) -> Result<i64, KmsError> {
    calendar.parse(date).map_err(KmsError::InvalidParameter)
}

/// Refuses a day the backup cannot show: after today, before its first
/// point, or outside its viewable days (saying how to reach it).
pub fn check_viewable(calendar: &Calendar, entry: &Entry, day_no: i64, now: Timestamp) -> Result<(), KmsError> {
    let r = &entry.record;
    if r.status == BackupStatus::Expired {
        return Err(KmsError::BackupExpired(r.backup_id.clone()));
    }
    let today = calendar.day(now);
    if r.backup_type == BackupType::Upload {
        // An uploaded backup holds one day, whatever this daemon's date.
        let held = entry.points.first().map(|p| p.at);
        return match held {
            Some(at) if calendar.day(at) == day_no => Ok(()),
            _ => Err(KmsError::InvalidParameter(format!(
                "uploaded backup '{}' holds one day: {}",
                r.backup_id,
                held.map(|t| calendar.date_of(t)).unwrap_or_default()
            ))),
        };
    }
    if day_no > today {
        return Err(KmsError::InvalidParameter(format!(
            "{} is after today: nothing is backed up yet",
            calendar.date(day_no)
        )));
    }
    let first_point = entry.points.first().map(|p| p.at).ok_or_else(|| {
        KmsError::InvalidParameter(format!("backup '{}' holds no data yet: it has taken no backup", r.backup_id))
    })?;
    // Enabled when (an upload: its one point); pruned points do not move it.
    let first = r.enabled_at.unwrap_or(first_point);
    if day_no < calendar.day(first) {
        return Err(KmsError::InvalidParameter(format!(
            "backup '{}' holds nothing before it was enabled ({first}), whatever its viewable days",
            r.backup_id
        )));
    }
    let needed = today - day_no + 1;
    if needed > i64::from(r.viewable_days) {
        let how = match r.backup_type {
            BackupType::Retained if needed <= 600 => {
                format!("extend it to at least {needed} viewable days (p11kms backup extend --viewable-days {needed})")
            }
            BackupType::Retained => "a retained backup views at most 600 days".to_owned(),
            other => format!("the viewable days of a {other} backup cannot be extended"),
        };
        return Err(KmsError::InvalidParameter(format!(
            "{} is {needed} days back; backup '{}' views its last {} days: {how}",
            calendar.date(day_no),
            r.backup_id,
            r.viewable_days
        )));
    }
    Ok(())
}

fn key_of(storage: &Storage, hash: &str) -> Result<KeySnapshot, KmsError> {
    snapshot::decode_key(&storage.object(hash)?)
}

fn secret_of(storage: &Storage, hash: &str) -> Result<SecretSnapshot, KmsError> {
    snapshot::decode_secret(&storage.object(hash)?)
}

fn backed_up_key(k: &KeySnapshot) -> BackedUpKey {
    BackedUpKey {
        key_id: k.record.key_id.clone(),
        aliases: k.aliases.clone(),
        key_spec: k.record.key_spec,
        key_usage: k.record.key_usage,
        key_state: k.record.state,
        creation_date: k.record.created_at,
        primary_key_version: k.record.primary_version.clone(),
        version_count: k.versions.len() as u32,
    }
}

fn backed_up_secret(s: &SecretSnapshot) -> BackedUpSecret {
    BackedUpSecret {
        secret_name: s.record.name.clone(),
        secret_type: s.record.secret_type,
        encryption_key_id: s.record.encryption_key_id.clone(),
        creation_date: s.record.created_at,
        version_ids: s.versions.iter().map(|v| v.version_id.clone()).collect(),
    }
}

/// The sets of one day, from the state at its start and its points.
struct Sets {
    full: State,
    incremental: BTreeMap<Entity, String>,
    latest: BTreeMap<Entity, String>,
}

fn sets(storage: &Storage, points: &[BackupPointRecord], start: Timestamp, end: Timestamp) -> Result<Sets, KmsError> {
    let of_day: Vec<&BackupPointRecord> = points.iter().filter(|p| p.at >= start && p.at < end).collect();
    // The day's full; else the state the day began with.
    let full_point = of_day.iter().find(|p| p.kind == PointKind::Full).copied();
    let base = full_point.or_else(|| points.iter().rev().find(|p| p.at < start));
    let full = match base {
        Some(point) => points::resolve(storage, points, point.seq)?,
        None => State::new(),
    };
    let mut incremental = BTreeMap::new();
    let mut latest: BTreeMap<Entity, String> = full.clone();
    for point in of_day.iter().filter(|p| full_point.is_none_or(|f| p.seq > f.seq)) {
        let manifest = points::manifest(storage, point)?;
        for entity in &manifest.removed {
            latest.remove(entity);
        }
        for (entity, hash) in manifest.put {
            if !full.contains_key(&entity) {
                incremental.insert(entity.clone(), hash.clone());
            }
            latest.insert(entity, hash);
        }
    }
    Ok(Sets { full, incremental, latest })
}

fn within(t: Timestamp, start: Timestamp, end: Timestamp) -> bool {
    t >= start && t < end
}

/// `backup show`.
pub fn show(kms: &Kms, backups: &Backups, request: &ShowBackupRequest) -> Result<BackupDay, KmsError> {
    let calendar = &kms.config.backups.time_zone;
    let day_no = parse_day(calendar, &request.date)?;
    let (start, end) = (calendar.start(day_no), calendar.end(day_no));
    let entry = backups.book()?.get(&request.backup_id)?.clone();
    check_viewable(calendar, &entry, day_no, kms.clock.now())?;
    let storage = backups.storage();
    let sets = sets(storage, &entry.points, start, end)?;
    let mut day = BackupDay {
        backup_id: entry.record.backup_id.clone(),
        date: request.date.clone(),
        fully_backed_up_keys: Vec::new(),
        incrementally_backed_up_keys: Vec::new(),
        rotated_keys: Vec::new(),
        fully_backed_up_secrets: Vec::new(),
        incrementally_backed_up_secrets: Vec::new(),
        rotated_secrets: Vec::new(),
    };
    for (entity, hash) in &sets.full {
        match entity {
            Entity::Key(_) => day.fully_backed_up_keys.push(backed_up_key(&key_of(storage, hash)?)),
            Entity::Secret(_) => day.fully_backed_up_secrets.push(backed_up_secret(&secret_of(storage, hash)?)),
            Entity::Material(_) | Entity::Canary(_) => {}
        }
    }
    for (entity, hash) in &sets.incremental {
        match entity {
            Entity::Key(_) => day.incrementally_backed_up_keys.push(backed_up_key(&key_of(storage, hash)?)),
            Entity::Secret(_) => day.incrementally_backed_up_secrets.push(backed_up_secret(&secret_of(storage, hash)?)),
            Entity::Material(_) | Entity::Canary(_) => {}
        }
    }
    // Rotated: a version made that day that is not the first of its key
    // or secret (that one is its creation).
    let mut seen = BTreeSet::new();
    for (entity, hash) in &sets.latest {
        if !seen.insert(entity.clone()) {
            continue;
        }
        match entity {
            Entity::Key(_) => {
                let key = key_of(storage, hash)?;
                if key.versions.iter().skip(1).any(|v| within(v.created_at, start, end)) {
                    day.rotated_keys.push(backed_up_key(&key));
                }
            }
            Entity::Secret(_) => {
                let secret = secret_of(storage, hash)?;
                if secret.versions.iter().skip(1).any(|v| within(v.created_at, start, end)) {
                    day.rotated_secrets.push(backed_up_secret(&secret));
                }
            }
            Entity::Material(_) | Entity::Canary(_) => {}
        }
    }
    Ok(day)
}
