//! Taking backup points. A full lists every key and secret of the
//! instance; an incremental, what the journal says changed since the point
//! before. Each snapshot is a content-addressed object (`storage`), so a
//! point stores only what is new; and a point's manifest lists only what
//! differs from the point it builds on (`base`): a full from the previous
//! full, an incremental from the point before it. Every
//! [`COMPLETE_EVERY`]th full lists everything, so reading a day never
//! walks a long chain. What a point holds is found by [`resolve`].
//!
//! A point is taken under the KMS writer lock: no change is half-way
//! (committed to the store, not yet to the registry) while it reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use p11kms_proto::Timestamp;

use super::snapshot::{self, Entity};
use super::storage::Storage;
use crate::kms::{Kms, KmsError};
use crate::store::{BackupPointRecord, BackupRecord, PointKind};

/// Manifest format written.
pub const FORMAT: u32 = 1;

/// One full in this many lists everything; the others, what changed.
pub const COMPLETE_EVERY: usize = 30;

/// What a point holds: each entity's object.
pub type State = BTreeMap<Entity, String>;

/// A point's manifest file.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The backup.
    pub backup_id: String,
    /// The point.
    pub seq: i64,
    /// Full or incremental.
    pub kind: PointKind,
    /// When it was taken.
    pub at: Timestamp,
    /// The instance it backs up.
    pub instance: String,
    /// The point it builds on; none: it lists everything.
    pub base: Option<i64>,
    /// Entities new or changed since `base`, with their objects.
    pub put: Vec<(Entity, String)>,
    /// Entities gone since `base`.
    pub removed: Vec<Entity>,
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> KmsError {
    KmsError::Internal(format!("backup {what} does not decode: {error}"))
}

/// Reads and checks the manifest of `point`.
pub fn manifest(storage: &Storage, point: &BackupPointRecord) -> Result<Manifest, KmsError> {
    let bytes = storage.manifest(&point.backup_id, point.seq, &point.sha256)?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| corrupt("manifest", e))?;
    if manifest.format != FORMAT || manifest.seq != point.seq || manifest.backup_id != point.backup_id {
        return Err(KmsError::Internal(format!(
            "manifest of point {} of '{}' is not its own",
            point.seq, point.backup_id
        )));
    }
    Ok(manifest)
}

/// What point `seq` of a backup holds, from its `points` (oldest first).
pub fn resolve(storage: &Storage, points: &[BackupPointRecord], seq: i64) -> Result<State, KmsError> {
    let mut chain = Vec::new();
    let mut next = Some(seq);
    while let Some(seq) = next {
        let point = points
            .iter()
            .find(|p| p.seq == seq)
            .ok_or_else(|| KmsError::Internal(format!("a backup point builds on point {seq}, which is gone")))?;
        let manifest = manifest(storage, point)?;
        next = manifest.base;
        chain.push(manifest);
    }
    let mut state = State::new();
    for manifest in chain.into_iter().rev() {
        for entity in manifest.removed {
            state.remove(&entity);
        }
        state.extend(manifest.put);
    }
    Ok(state)
}

/// A point to write: what it is and what it changes.
struct Draft {
    kind: PointKind,
    base: Option<i64>,
    put: Vec<(Entity, String)>,
    removed: Vec<Entity>,
    added_bytes: u64,
}

/// Material objects already stored, by version id: a version never
/// changes, so it is wrapped once (its wrap is deterministic anyway).
pub type MaterialCache = std::collections::HashMap<String, String>;

/// The material entities of key `key_id` as it is now (none when it is
/// gone or not in `instance`): each version with material, wrapped under
/// the backup root key where it is, stored once.
fn materials_of(
    kms: &Kms,
    storage: &Storage,
    instance: &str,
    key_id: &str,
    cache: &mut MaterialCache,
) -> Result<(Vec<(Entity, String)>, u64), KmsError> {
    let key = match kms.registry()?.key(key_id) {
        Ok(key) if key.record.instance == instance => key.clone(),
        _ => return Ok((Vec::new(), 0)),
    };
    let cluster = kms.cluster_of(instance)?;
    let mut out = Vec::new();
    let mut added_bytes = 0;
    for version in key.versions.iter().filter(|v| v.record.has_material && v.lost.is_none()) {
        let entity = Entity::material(key_id, &version.record.version_id);
        let hash = match cache.get(&version.record.version_id) {
            Some(hash) => hash.clone(),
            None => {
                let wrapped =
                    kms.vault.wrap_for_backup(&cluster, &crate::kms::keys::version_name(&key.record, version))?;
                let material = snapshot::MaterialSnapshot {
                    key_id: key_id.to_owned(),
                    version_id: version.record.version_id.clone(),
                    wrapped,
                };
                let bytes = serde_json::to_vec(&material).map_err(|e| corrupt("material", e))?;
                let (hash, added) = storage.put_object(&bytes)?;
                added_bytes += added;
                cache.insert(version.record.version_id.clone(), hash.clone());
                hash
            }
        };
        out.push((entity, hash));
        let canary = Entity::canary(key_id, &version.record.version_id);
        let cached = format!("canary {}", version.record.version_id);
        let hash = match cache.get(&cached) {
            Some(hash) => hash.clone(),
            None => {
                let name = crate::kms::keys::version_name(&key.record, version);
                let made = super::canary::make(kms, &cluster, key_id, &version.record.version_id, &name)?;
                let bytes = serde_json::to_vec(&made).map_err(|e| corrupt("canary", e))?;
                let (hash, added) = storage.put_object(&bytes)?;
                added_bytes += added;
                cache.insert(cached, hash.clone());
                hash
            }
        };
        out.push((canary, hash));
    }
    Ok((out, added_bytes))
}

/// Stores `entity`'s snapshot; its object and the bytes it added.
fn store(kms: &Kms, storage: &Storage, instance: &str, entity: &Entity) -> Result<Option<(String, u64)>, KmsError> {
    let bytes = snapshot::encode(&*kms.registry()?, instance, entity)?;
    bytes.map(|b| storage.put_object(&b)).transpose()
}

/// Takes a point of `backup` (enabled, bound to an instance) now: a full
/// when `full`, else an incremental from `current` (what its last point
/// holds). Returns the point, none when an incremental found nothing
/// new, and what the backup holds after it.
#[allow(clippy::too_many_arguments)]
pub fn take(
    kms: &Kms,
    storage: &Storage,
    backup: &BackupRecord,
    points: &[BackupPointRecord],
    current: &State,
    full: bool,
    cache: &mut MaterialCache,
) -> Result<(Option<BackupPointRecord>, State, i64), KmsError> {
    let instance = backup.instance.clone().ok_or_else(|| KmsError::Internal("a backup point of no instance".into()))?;
    // A software instance's backup carries its keys' material, wrapped in
    // an HSM; a hardware instance's, metadata only (its cluster's mirror
    // images hold the material).
    let with_material = backup.instance_kind == p11kms_proto::admin::InstanceKind::Software;
    let _writer = kms.writer()?;
    let now = kms.clock.now();
    let (draft, state, position) = if full {
        let position = kms.store.journal_head()?;
        let entities = snapshot::entities_of(&*kms.registry()?, &instance);
        let mut state = State::new();
        let mut added_bytes = 0;
        for entity in entities {
            if let Some((hash, added)) = store(kms, storage, &instance, &entity)? {
                added_bytes += added;
                if let (Entity::Key(key_id), true) = (&entity, with_material) {
                    let (materials, added) = materials_of(kms, storage, &instance, key_id, cache)?;
                    added_bytes += added;
                    state.extend(materials);
                }
                state.insert(entity, hash);
            }
        }
        let fulls: Vec<&BackupPointRecord> = points.iter().filter(|p| p.kind == PointKind::Full).collect();
        let since_complete = fulls.len() % COMPLETE_EVERY;
        let base = fulls.last().filter(|_| since_complete != 0).map(|p| p.seq);
        let previous = match base {
            Some(seq) => resolve(storage, points, seq)?,
            None => State::new(),
        };
        let put =
            state.iter().filter(|(e, h)| previous.get(*e) != Some(*h)).map(|(e, h)| (e.clone(), h.clone())).collect();
        let removed = previous.keys().filter(|e| !state.contains_key(*e)).cloned().collect();
        (Draft { kind: PointKind::Full, base, put, removed, added_bytes }, state, position)
    } else {
        let (changed, position) = snapshot::changed_since(kms, backup.journal_seq)?;
        let mut state = current.clone();
        let mut draft = Draft {
            kind: PointKind::Incremental,
            base: points.last().map(|p| p.seq),
            put: Vec::new(),
            removed: Vec::new(),
            added_bytes: 0,
        };
        for entity in changed {
            if let (Entity::Key(key_id), true) = (&entity, with_material) {
                let (materials, added) = materials_of(kms, storage, &instance, key_id, cache)?;
                draft.added_bytes += added;
                let now: State = materials.into_iter().collect();
                let gone: Vec<Entity> =
                    state.keys().filter(|e| e.is_material_of(key_id) && !now.contains_key(*e)).cloned().collect();
                for entity in gone {
                    state.remove(&entity);
                    draft.removed.push(entity);
                }
                for (entity, hash) in now {
                    if state.get(&entity) != Some(&hash) {
                        state.insert(entity.clone(), hash.clone());
                        draft.put.push((entity, hash));
                    }
                }
            }
            match store(kms, storage, &instance, &entity)? {
                Some((hash, added)) if current.get(&entity) != Some(&hash) => {
                    draft.added_bytes += added;
                    state.insert(entity.clone(), hash.clone());
                    draft.put.push((entity, hash));
                }
                Some(_) => {}
                None if current.contains_key(&entity) => {
                    state.remove(&entity);
                    draft.removed.push(entity);
                }
                None => {}
            }
        }
        (draft, state, position)
    };
    if draft.kind == PointKind::Incremental && draft.put.is_empty() && draft.removed.is_empty() {
        return Ok((None, state, position));
    }
    let seq = points.last().map_or(1, |p| p.seq + 1);
    let manifest = Manifest {
        format: FORMAT,
        backup_id: backup.backup_id.clone(),
        seq,
        kind: draft.kind,
        at: now,
        instance,
        base: draft.base,
        put: draft.put,
        removed: draft.removed,
    };
    let bytes = serde_json::to_vec(&manifest).map_err(|e| corrupt("manifest", e))?;
    let sha256 = storage.put_manifest(&backup.backup_id, seq, &bytes)?;
    let point = BackupPointRecord {
        backup_id: backup.backup_id.clone(),
        seq,
        kind: draft.kind,
        at: now,
        journal_seq: position,
        sha256,
        bytes: draft.added_bytes + bytes.len() as u64,
    };
    Ok((Some(point), state, position))
}
