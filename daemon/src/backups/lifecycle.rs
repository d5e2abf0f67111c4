//! The backups themselves: `backup create`, `enable`, `list`,
//! `describe`, `extend`, `renew` and `reset`, each with the spec's rules
//! for its type (`docs/backups.md`), and the daemon's own doings: a
//! `system` backup for every software and hardware instance, the expiry
//! of retained backups and their removal 15 days after.

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{
    BackupInfo, BackupStatus, BackupType, CreateBackupRequest, EnableBackupRequest, ExtendBackupRequest, InstanceKind,
    ListBackupsRequest, MemberRole, RenewBackupRequest,
};

use super::{Backups, Book, Entry, take};
use crate::kms::{Kms, KmsError};
use crate::store::BackupRecord;

/// Viewable days of a system backup (never extended).
pub const SYSTEM_VIEWABLE_DAYS: u32 = 90;
/// Viewable days of a default backup (never extended).
pub const DEFAULT_VIEWABLE_DAYS: u32 = 7;
/// Viewable days a retained backup may have.
pub const RETAINED_VIEWABLE_DAYS: std::ops::RangeInclusive<u32> = 7..=600;
/// Days a retained backup may be made or renewed for at once.
pub const DURATION_DAYS: std::ops::RangeInclusive<u32> = 1..=3650;
/// An expired backup is removed this many days after its expiry.
pub const REMOVED_DAYS_AFTER_EXPIRY: i64 = 15;
/// A system backup's data is kept this many days after its instance is
/// deleted, then removed.
pub const SYSTEM_KEPT_DAYS_AFTER_INSTANCE: i64 = 90;

const DAY: i64 = 86_400;

/// The API's view of a backup.
pub fn info(entry: &Entry) -> BackupInfo {
    let r = &entry.record;
    let last_full = entry.points.iter().rev().find(|p| p.kind == crate::store::PointKind::Full).map(|p| p.at);
    BackupInfo {
        backup_id: r.backup_id.clone(),
        alias: r.alias.clone(),
        backup_type: r.backup_type,
        status: r.status,
        instance: r.instance.clone(),
        instance_kind: r.instance_kind,
        creation_date: r.created_at,
        enable_date: r.enabled_at,
        viewable_days: r.viewable_days,
        expire_date: r.expires_at,
        cluster: r.cluster.clone(),
        primary_member: r.primary_member.clone(),
        point_count: entry.points.len() as u64,
        last_full,
        last_point: r.last_point_at,
        stored_bytes: entry.points.iter().map(|p| p.bytes).sum(),
        last_drill: r.last_drill.clone(),
    }
}

/// Commits a backup's row and puts it in the book.
pub(super) fn commit(kms: &Kms, book: &mut Book, record: BackupRecord) -> Result<BackupInfo, KmsError> {
    kms.store.write(kms.clock.now(), |tx| tx.put_backup(&record))?;
    let entry = book
        .entries
        .entry(record.backup_id.clone())
        .and_modify(|e| e.record = record.clone())
        .or_insert_with(|| Entry { record, points: Vec::new() });
    Ok(info(entry))
}

fn check_alias(alias: Option<&str>) -> Result<(), KmsError> {
    match alias {
        Some(a) if a.is_empty() || a.chars().count() > 64 || a.chars().any(char::is_control) => {
            Err(KmsError::InvalidParameter("a backup alias has 1 to 64 printable characters".into()))
        }
        _ => Ok(()),
    }
}

fn new_record(
    kms: &Kms,
    backup_type: BackupType,
    kind: InstanceKind,
    alias: Option<String>,
    days: u32,
) -> BackupRecord {
    BackupRecord {
        backup_id: format!("backup-{}", uuid::Uuid::new_v4().simple()),
        alias,
        backup_type,
        status: BackupStatus::Disabled,
        instance: None,
        instance_kind: kind,
        created_at: kms.clock.now(),
        enabled_at: None,
        viewable_days: days,
        expires_at: None,
        cluster: None,
        primary_member: None,
        last_point_at: None,
        journal_seq: 0,
        last_drill: None,
    }
}

/// `backup create`: a `default` or `retained` backup, not yet enabled.
pub fn create(kms: &Kms, backups: &Backups, request: &CreateBackupRequest) -> Result<BackupInfo, KmsError> {
    check_alias(request.alias.as_deref())?;
    if request.instance_kind == InstanceKind::Default {
        return Err(KmsError::InvalidParameter(
            "backups are of software or hardware instances; the default instance's keys are not backed up".into(),
        ));
    }
    let (days, expires) = match request.backup_type {
        BackupType::System | BackupType::Upload => {
            return Err(KmsError::InvalidParameter(format!(
                "a {} backup is not created by hand: the daemon makes system backups with their instances, \
                 `backup upload` makes upload backups; create a default or retained backup",
                request.backup_type
            )));
        }
        BackupType::Default => {
            if request.viewable_days.is_some_and(|d| d != DEFAULT_VIEWABLE_DAYS) || request.duration_days.is_some() {
                return Err(KmsError::InvalidParameter(format!(
                    "a default backup has {DEFAULT_VIEWABLE_DAYS} viewable days and no duration; a retained backup \
                     chooses both"
                )));
            }
            (DEFAULT_VIEWABLE_DAYS, None)
        }
        BackupType::Retained => {
            let days = request.viewable_days.filter(|d| RETAINED_VIEWABLE_DAYS.contains(d)).ok_or_else(|| {
                KmsError::InvalidParameter("a retained backup takes --viewable-days from 7 to 600".into())
            })?;
            let duration = request.duration_days.filter(|d| DURATION_DAYS.contains(d)).ok_or_else(|| {
                KmsError::InvalidParameter("a retained backup takes --duration-days from 1 to 3650".into())
            })?;
            (days, Some(Timestamp(kms.clock.now().unix() + i64::from(duration) * DAY)))
        }
    };
    let mut record = new_record(kms, request.backup_type, request.instance_kind, request.alias.clone(), days);
    record.expires_at = expires;
    let mut book = backups.book()?;
    let info = commit(kms, &mut book, record)?;
    tracing::info!(backup = %info.backup_id, kind = %info.backup_type, "backup created");
    Ok(info)
}

/// Refuses everything but renewal on an expired backup.
fn check_not_expired(record: &BackupRecord) -> Result<(), KmsError> {
    if record.status == BackupStatus::Expired {
        return Err(KmsError::BackupExpired(record.backup_id.clone()));
    }
    Ok(())
}

/// Binds `record` to `instance` (checked by the caller) and takes its
/// first full.
fn bind(
    kms: &Kms,
    backups: &Backups,
    book: &mut Book,
    mut record: BackupRecord,
    instance: &str,
) -> Result<BackupInfo, KmsError> {
    let (cluster, primary) = {
        let registry = kms.registry()?;
        let target = registry.instance(instance)?;
        let cluster = target.cluster.clone().filter(|_| target.kind == InstanceKind::Hardware);
        let primary = cluster
            .as_deref()
            .and_then(|c| registry.cluster(c).ok())
            .and_then(|c| c.members.iter().find(|m| m.role == MemberRole::Primary).map(|m| m.token_label.clone()));
        (cluster, primary)
    };
    record.status = BackupStatus::Enabled;
    record.instance = Some(instance.to_owned());
    record.enabled_at = Some(kms.clock.now());
    record.cluster = cluster;
    record.primary_member = primary;
    record.journal_seq = 0;
    let id = record.backup_id.clone();
    commit(kms, book, record)?;
    take::take_point(kms, backups, book, &id, true)?;
    tracing::info!(backup = %id, instance, "backup enabled");
    Ok(info(book.get(&id)?))
}

/// `backup enable`: binds a backup to an instance of its kind; a full
/// backup is taken at once.
pub fn enable(kms: &Kms, backups: &Backups, request: &EnableBackupRequest) -> Result<BackupInfo, KmsError> {
    check_alias(request.alias.as_deref())?;
    let mut book = backups.book()?;
    let mut record = book.get(&request.backup_id)?.record.clone();
    check_not_expired(&record)?;
    match record.backup_type {
        BackupType::System => {
            return Err(KmsError::Unsupported("a system backup is enabled by the daemon, with its instance".into()));
        }
        BackupType::Upload => {
            return Err(KmsError::Unsupported("an uploaded backup is viewed and restored, never enabled".into()));
        }
        BackupType::Default | BackupType::Retained => {}
    }
    if record.status == BackupStatus::Enabled {
        return Err(KmsError::StateModifiedFailed(format!(
            "backup '{}' is enabled on instance '{}' already: reset it first to back up another",
            record.backup_id,
            record.instance.as_deref().unwrap_or("?")
        )));
    }
    let kind = kms.registry()?.instance(&request.instance)?.kind;
    if kind != record.instance_kind {
        return Err(KmsError::InvalidParameter(format!(
            "backup '{}' takes {} instances; '{}' is a {kind} instance",
            record.backup_id, record.instance_kind, request.instance
        )));
    }
    if request.alias.is_some() {
        record.alias.clone_from(&request.alias);
    }
    bind(kms, backups, &mut book, record, &request.instance)
}

/// `backup list`.
pub fn list(kms: &Kms, backups: &Backups, request: &ListBackupsRequest) -> Result<Vec<BackupInfo>, KmsError> {
    if let Some(instance) = &request.instance {
        kms.registry()?.instance(instance)?;
    }
    let book = backups.book()?;
    Ok(book
        .entries
        .values()
        .filter(|e| request.instance.is_none() || e.record.instance == request.instance)
        .filter(|e| request.backup_type.is_none_or(|t| e.record.backup_type == t))
        .map(info)
        .collect())
}

/// `backup describe`.
pub fn describe(backups: &Backups, backup_id: &str) -> Result<BackupInfo, KmsError> {
    Ok(info(backups.book()?.get(backup_id)?))
}

/// `backup extend`: more viewable days for a retained backup, never fewer.
pub fn extend(kms: &Kms, backups: &Backups, request: &ExtendBackupRequest) -> Result<BackupInfo, KmsError> {
    let mut book = backups.book()?;
    let mut record = book.get(&request.backup_id)?.record.clone();
    check_not_expired(&record)?;
    if record.backup_type != BackupType::Retained {
        return Err(KmsError::Unsupported(format!(
            "the viewable days of a {} backup ({}) cannot be extended: only retained backups' can",
            record.backup_type, record.viewable_days
        )));
    }
    if request.viewable_days <= record.viewable_days || request.viewable_days > *RETAINED_VIEWABLE_DAYS.end() {
        return Err(KmsError::InvalidParameter(format!(
            "viewable days only grow: from {} to at most {}; {} is refused",
            record.viewable_days,
            RETAINED_VIEWABLE_DAYS.end(),
            request.viewable_days
        )));
    }
    record.viewable_days = request.viewable_days;
    commit(kms, &mut book, record)
}

/// `backup renew`: a retained backup valid longer (and usable again if it
/// had expired).
pub fn renew(kms: &Kms, backups: &Backups, request: &RenewBackupRequest) -> Result<BackupInfo, KmsError> {
    let mut book = backups.book()?;
    let mut record = book.get(&request.backup_id)?.record.clone();
    if record.backup_type != BackupType::Retained {
        return Err(KmsError::Unsupported(format!(
            "a {} backup has no expiry to renew: only retained backups do",
            record.backup_type
        )));
    }
    if !DURATION_DAYS.contains(&request.duration_days) {
        return Err(KmsError::InvalidParameter("a renewal takes --duration-days from 1 to 3650".into()));
    }
    let now = kms.clock.now();
    let from = record.expires_at.map_or(now, |e| e.max(now));
    record.expires_at = Some(Timestamp(from.unix() + i64::from(request.duration_days) * DAY));
    if record.status == BackupStatus::Expired {
        record.status = if record.instance.is_some() { BackupStatus::Enabled } else { BackupStatus::Disabled };
    }
    commit(kms, &mut book, record)
}

/// Deletes every point of a backup, rows and files, and the objects no
/// other point names.
pub(super) fn drop_points(kms: &Kms, backups: &Backups, book: &mut Book, backup_id: &str) -> Result<(), KmsError> {
    kms.store.write(kms.clock.now(), |tx| tx.delete_backup_points(backup_id))?;
    backups.storage().delete_backup(backup_id)?;
    if let Some(entry) = book.entries.get_mut(backup_id) {
        entry.points.clear();
    }
    book.current.remove(backup_id);
    take::collect_objects(backups, book)?;
    Ok(())
}

/// `backup reset`: every backed-up byte deleted, unbound, `Disabled`.
pub fn reset(kms: &Kms, backups: &Backups, backup_id: &str) -> Result<BackupInfo, KmsError> {
    let mut book = backups.book()?;
    let mut record = book.get(backup_id)?.record.clone();
    check_not_expired(&record)?;
    if matches!(record.backup_type, BackupType::System | BackupType::Upload) {
        return Err(KmsError::Unsupported(format!(
            "a {} backup cannot be reset: only default and retained backups can",
            record.backup_type
        )));
    }
    drop_points(kms, backups, &mut book, backup_id)?;
    record.status = BackupStatus::Disabled;
    record.instance = None;
    record.enabled_at = None;
    record.cluster = None;
    record.primary_member = None;
    record.last_point_at = None;
    record.journal_seq = 0;
    let info = commit(kms, &mut book, record)?;
    tracing::warn!(backup = backup_id, "backup reset: every backed-up byte deleted");
    Ok(info)
}

/// Makes and enables a system backup for every software and hardware
/// instance that has none. Returns how many it made.
pub fn ensure_system_backups(kms: &Kms, backups: &Backups) -> Result<usize, KmsError> {
    let instances: Vec<(String, InstanceKind)> = kms
        .registry()?
        .instances()
        .filter(|i| i.kind != InstanceKind::Default)
        .map(|i| (i.name.clone(), i.kind))
        .collect();
    let mut book = backups.book()?;
    let mut made = 0;
    for (instance, kind) in instances {
        let has = book.entries.values().any(|e| {
            e.record.backup_type == BackupType::System && e.record.instance.as_deref() == Some(instance.as_str())
        });
        if has {
            continue;
        }
        let record =
            new_record(kms, BackupType::System, kind, Some(format!("system-{instance}")), SYSTEM_VIEWABLE_DAYS);
        bind(kms, backups, &mut book, record, &instance)?;
        made += 1;
    }
    Ok(made)
}

/// Unbinds the backups of instances deleted since: a system backup keeps
/// its data [`SYSTEM_KEPT_DAYS_AFTER_INSTANCE`] days (its expiry, then
/// it is removed); the others keep theirs and may be enabled elsewhere.
fn release_orphans(kms: &Kms, book: &mut Book, now: Timestamp) -> Result<(), KmsError> {
    let gone: Vec<BackupRecord> = {
        let registry = kms.registry()?;
        book.entries
            .values()
            .filter(|e| e.record.instance.as_deref().is_some_and(|i| registry.instance(i).is_err()))
            .map(|e| e.record.clone())
            .collect()
    };
    for mut record in gone {
        tracing::warn!(backup = %record.backup_id, instance = ?record.instance, "the backed-up instance was deleted; the backup is unbound");
        if record.backup_type == BackupType::System {
            record.expires_at = Some(Timestamp(now.unix() + SYSTEM_KEPT_DAYS_AFTER_INSTANCE * DAY));
        }
        record.status = BackupStatus::Disabled;
        record.instance = None;
        commit(kms, book, record)?;
    }
    Ok(())
}

/// Expires retained backups past their date, and removes those expired
/// more than [`REMOVED_DAYS_AFTER_EXPIRY`] days ago, and system backups
/// of deleted instances at their expiry. Returns (expired, removed).
pub fn expire_due(kms: &Kms, backups: &Backups, now: Timestamp) -> Result<(usize, usize), KmsError> {
    let mut book = backups.book()?;
    release_orphans(kms, &mut book, now)?;
    let due: Vec<BackupRecord> = book
        .entries
        .values()
        .filter(|e| e.record.expires_at.is_some_and(|t| t <= now))
        .map(|e| e.record.clone())
        .collect();
    let (mut expired, mut removed) = (0, 0);
    for mut record in due {
        let grace = if record.backup_type == BackupType::System { 0 } else { REMOVED_DAYS_AFTER_EXPIRY * DAY };
        let gone_at = record.expires_at.map_or(i64::MAX, |t| t.unix() + grace);
        if gone_at <= now.unix() {
            drop_points(kms, backups, &mut book, &record.backup_id)?;
            kms.store.write(now, |tx| tx.delete_backup(&record.backup_id))?;
            book.entries.remove(&record.backup_id);
            tracing::warn!(backup = %record.backup_id, "expired backup removed");
            removed += 1;
        } else if record.status != BackupStatus::Expired {
            record.status = BackupStatus::Expired;
            tracing::warn!(backup = %record.backup_id, "backup expired: renew it within 15 days or it is removed");
            commit(kms, &mut book, record)?;
            expired += 1;
        }
    }
    Ok((expired, removed))
}
