//! What a backup holds of one key or secret at a moment: the end of a
//! day (`--date`), from the last point of that day; or any second within
//! the viewable days (`--at`, point in time), from the last point before
//! it and the journal after it, replayed up to that second.

use p11kms_proto::Timestamp;

use super::Entry;
use super::points::{self, State};
use super::snapshot::{self, Entity, KeySnapshot, SecretSnapshot};
use super::storage::Storage;
use super::view::{check_viewable, parse_day};
use crate::calendar::Calendar;
use crate::kms::{Kms, KmsError};
use crate::store::{
    AliasRecord, BackupPointRecord, JournalEntry, KeyRecord, SecretRecord, SecretVersionRecord, VersionRecord,
};

/// A moment of a backup's data: the point it starts from, what that point
/// holds, and the second it stands for.
#[derive(Debug)]
pub struct Moment<'a> {
    /// The last point at or before the moment.
    pub point: &'a BackupPointRecord,
    /// What that point holds.
    pub state: State,
    /// The second restored as of.
    pub as_of: Timestamp,
    /// True for a point in time: the journal fills the gap after the point.
    pub exact: bool,
}

/// The moment `date` or `at` names, checked against the viewable days.
pub fn moment<'a>(
    calendar: &Calendar,
    storage: &Storage,
    entry: &'a Entry,
    date: Option<&str>,
    at: Option<Timestamp>,
    now: Timestamp,
) -> Result<Moment<'a>, KmsError> {
    let upload = entry.record.backup_type == p11kms_proto::admin::BackupType::Upload;
    let (as_of, exact) = match (date, at) {
        (Some(date), None) => {
            let day = parse_day(calendar, date)?;
            check_viewable(calendar, entry, day, now)?;
            let end = calendar.end(day).unix() - 1;
            (Timestamp(if upload { end } else { end.min(now.unix()) }), false)
        }
        (None, Some(_)) if upload => {
            return Err(KmsError::InvalidParameter(format!(
                "uploaded backup '{}' holds one moment, not a journal: restore with --date",
                entry.record.backup_id
            )));
        }
        (None, Some(at)) => {
            if at > now {
                return Err(KmsError::InvalidParameter(format!("{at} is in the future")));
            }
            check_viewable(calendar, entry, calendar.day(at), now)?;
            (at, true)
        }
        _ => return Err(KmsError::InvalidParameter("give the day (--date) or the second (--at) to restore".into())),
    };
    let point = entry.points.iter().rev().find(|p| p.at <= as_of).ok_or_else(|| {
        KmsError::InvalidParameter(format!("backup '{}' holds nothing as of {as_of}", entry.record.backup_id))
    })?;
    let state = points::resolve(storage, &entry.points, point.seq)?;
    Ok(Moment { point, state, as_of, exact })
}

/// The journal's entries after the moment's point, up to its second.
fn gap(kms: &Kms, moment: &Moment<'_>) -> Result<Vec<JournalEntry>, KmsError> {
    let mut out = Vec::new();
    if !moment.exact {
        return Ok(out);
    }
    let mut position = moment.point.journal_seq;
    loop {
        let entries = kms.store.journal_since(position, 1_000)?;
        let Some(last) = entries.last() else { break };
        position = last.seq;
        let done = last.at > moment.as_of;
        out.extend(entries.into_iter().filter(|e| e.at <= moment.as_of));
        if done {
            break;
        }
    }
    Ok(out)
}

fn payload<T: serde::de::DeserializeOwned>(entry: &JournalEntry) -> Result<T, KmsError> {
    serde_json::from_str(&entry.payload)
        .map_err(|e| KmsError::Internal(format!("journal entry {} does not decode: {e}", entry.seq)))
}

fn field(entry: &JournalEntry, name: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(&entry.payload).ok()?.get(name)?.as_str().map(str::to_owned)
}

/// Key `key_id` at the moment; `None` when it did not exist then.
pub fn key_at(
    kms: &Kms,
    storage: &Storage,
    moment: &Moment<'_>,
    key_id: &str,
) -> Result<Option<KeySnapshot>, KmsError> {
    let mut key = match moment.state.get(&Entity::Key(key_id.to_owned())) {
        Some(hash) => Some(snapshot::decode_key(&storage.object(hash)?)?),
        None => None,
    };
    for entry in gap(kms, moment)? {
        match (entry.entity.as_str(), entry.operation.as_str()) {
            ("key", "delete") if entry.entity_id == key_id => key = None,
            ("key", _) if entry.entity_id == key_id => {
                let record: KeyRecord = payload(&entry)?;
                match &mut key {
                    Some(k) => k.record = record,
                    None => key = Some(KeySnapshot::new(record)),
                }
            }
            ("key_version", _) if field(&entry, "key_id").as_deref() == Some(key_id) => {
                let version: VersionRecord = payload(&entry)?;
                if let Some(k) = &mut key {
                    match k.versions.iter_mut().find(|v| v.version_id == version.version_id) {
                        Some(v) => *v = version,
                        None => k.versions.push(version),
                    }
                }
            }
            ("key_app_id", operation) if entry.entity_id == key_id => {
                let Some(k) = &mut key else { continue };
                k.app_id = if operation == "delete" {
                    None
                } else {
                    field(&entry, "app_id").and_then(|text| hex::decode(text).ok())
                };
            }
            ("key_mechanisms", _) if entry.entity_id == key_id => {
                let Some(k) = &mut key else { continue };
                /// A `key_mechanisms` entry (`store::KeyMechanismsRecord`).
                #[derive(serde::Deserialize)]
                struct Listed {
                    mechanisms: Vec<u64>,
                }
                k.allowed_mechanisms = payload::<Listed>(&entry)?.mechanisms;
            }
            ("alias", operation) => {
                let Some(k) = &mut key else { continue };
                k.aliases.retain(|a| *a != entry.entity_id);
                if operation != "delete" {
                    let alias: AliasRecord = payload(&entry)?;
                    if alias.key_id == key_id {
                        k.aliases.push(alias.alias);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(key)
}

/// Secret `name` at the moment; `None` when it did not exist then.
pub fn secret_at(
    kms: &Kms,
    storage: &Storage,
    moment: &Moment<'_>,
    name: &str,
) -> Result<Option<SecretSnapshot>, KmsError> {
    let mut secret = match moment.state.get(&Entity::Secret(name.to_owned())) {
        Some(hash) => Some(snapshot::decode_secret(&storage.object(hash)?)?),
        None => None,
    };
    for entry in gap(kms, moment)? {
        match (entry.entity.as_str(), entry.operation.as_str()) {
            ("secret", "delete") if entry.entity_id == name => secret = None,
            ("secret", _) if entry.entity_id == name => {
                let record: SecretRecord = payload(&entry)?;
                match &mut secret {
                    Some(s) => s.record = record,
                    None => secret = Some(SecretSnapshot { record, versions: Vec::new() }),
                }
            }
            ("secret_version", operation) if field(&entry, "secret_name").as_deref() == Some(name) => {
                let Some(s) = &mut secret else { continue };
                let version_id = field(&entry, "version_id").unwrap_or_default();
                match operation {
                    "create" => {
                        let version: SecretVersionRecord = payload(&entry)?;
                        s.versions.retain(|v| v.version_id != version_id);
                        s.versions.push(version);
                        s.versions.sort_by_key(|v| v.seq);
                    }
                    // A stage move journals the version's new stages only.
                    "update" => {
                        #[derive(serde::Deserialize)]
                        struct Stages {
                            stages: Vec<String>,
                        }
                        let stages: Stages = payload(&entry)?;
                        if let Some(v) = s.versions.iter_mut().find(|v| v.version_id == version_id) {
                            v.stages = stages.stages;
                        }
                    }
                    _ => s.versions.retain(|v| v.version_id != version_id),
                }
            }
            _ => {}
        }
    }
    Ok(secret)
}

/// The moment a request names (`date` or `at`), on the daemon's calendar
/// and clock.
pub fn requested<'a>(
    kms: &Kms,
    storage: &Storage,
    entry: &'a Entry,
    date: Option<&str>,
    at: Option<Timestamp>,
) -> Result<Moment<'a>, KmsError> {
    moment(&kms.config.backups.time_zone, storage, entry, date, at, kms.clock.now())
}

/// Key `key_id` as `moment` of backup `entry` holds it; `KeyNotFound`
/// when it holds none then.
pub fn held_key(
    kms: &Kms,
    storage: &Storage,
    entry: &Entry,
    moment: &Moment<'_>,
    key_id: &str,
) -> Result<KeySnapshot, KmsError> {
    key_at(kms, storage, moment, key_id)?.ok_or_else(|| {
        KmsError::KeyNotFound(format!(
            "{key_id} (backup '{}' holds no such key as of {})",
            entry.record.backup_id, moment.as_of
        ))
    })
}

/// Secret `name` as `moment` of backup `entry` holds it; `SecretNotFound`
/// when it holds none then.
pub fn held_secret(
    kms: &Kms,
    storage: &Storage,
    entry: &Entry,
    moment: &Moment<'_>,
    name: &str,
) -> Result<SecretSnapshot, KmsError> {
    secret_at(kms, storage, moment, name)?.ok_or_else(|| {
        KmsError::SecretNotFound(format!(
            "{name} (backup '{}' holds no such secret as of {})",
            entry.record.backup_id, moment.as_of
        ))
    })
}
