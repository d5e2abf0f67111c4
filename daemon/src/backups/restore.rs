//! `backup restore-key` and `backup restore-secret`: a key or secret as a
//! backup holds it at a moment (`moment`), put into an instance of the
//! region under its own id or name.
//!
//! Checked first, each with its own error: the target instance (of the
//! backup's kind; a hardware backup never into the instance it backed
//! up), a key or secret of that id or name in the region, the target's
//! quota, and for a secret its encrypting key in the target instance.
//! A software backup carries each version's material wrapped under the
//! backup root key: it is unwrapped inside the target cluster's HSMs,
//! each version announced by a creation intent first, so a crash leaves
//! nothing half-made. A hardware backup carries none: the target's
//! cluster must hold the versions (restored from the mirror image of the
//! backed-up cluster), which is checked inside its HSM. A key pending
//! deletion at that moment comes back Disabled, its deletion cancelled.

use p11kms_proto::admin::{
    InstanceKind, KeyState, RestoreKeyRequest, RestoreSecretRequest, RestoredKey, RestoredSecret,
};

use super::moment::{self, Moment};
use super::snapshot::{self, Entity};
use super::{Backups, Entry};
use crate::kms::instances::check_version_room;
use crate::kms::keys::{intents, version_name};
use crate::kms::registry::{KeyEntry, VersionEntry};
use crate::kms::secrets::SecretEntry;
use crate::kms::{Kms, KmsError};
use crate::store::{AliasRecord, InstanceRecord, IntentPurpose, IntentRecord};

/// The instance a point of `entry` backed up (its manifest says).
fn backed_up_instance(backups: &Backups, moment: &Moment<'_>) -> Result<String, KmsError> {
    Ok(super::points::manifest(backups.storage(), moment.point)?.instance)
}

/// Refuses a target instance of another kind, or, for a hardware backup,
/// the instance it backed up.
fn check_target(entry: &Entry, target: &InstanceRecord, original: &str) -> Result<(), KmsError> {
    if target.kind != entry.record.instance_kind {
        return Err(KmsError::InvalidParameter(format!(
            "backup '{}' is of a {} instance; '{}' is a {} instance",
            entry.record.backup_id, entry.record.instance_kind, target.name, target.kind
        )));
    }
    if target.kind == InstanceKind::Hardware && target.name == original {
        return Err(KmsError::InvalidParameter(format!(
            "a hardware backup restores only into a new instance attached to a cluster restored from a mirror \
             image of '{}' (p11kms cluster restore, instance create, instance attach-cluster): not into '{original}' \
             itself",
            entry.record.cluster.as_deref().unwrap_or(original)
        )));
    }
    Ok(())
}

/// The wrapped material of version `version_id` of `key_id`: in the
/// moment's point, or (a version made after it) in any later point.
fn material(
    backups: &Backups,
    entry: &Entry,
    moment: &Moment<'_>,
    key_id: &str,
    version_id: &str,
) -> Result<Vec<u8>, KmsError> {
    let wanted = Entity::material(key_id, version_id);
    let mut hash = moment.state.get(&wanted).cloned();
    for point in entry.points.iter().rev() {
        if hash.is_some() {
            break;
        }
        hash = super::points::manifest(backups.storage(), point)?
            .put
            .into_iter()
            .find(|(e, _)| *e == wanted)
            .map(|(_, h)| h);
    }
    let hash = hash.ok_or_else(|| {
        KmsError::Internal(format!("backup '{}' holds no material for version {version_id}", entry.record.backup_id))
    })?;
    Ok(snapshot::decode_material(&backups.storage().object(&hash)?)?.wrapped)
}

/// `backup restore-key`.
pub fn restore_key(kms: &Kms, backups: &Backups, request: &RestoreKeyRequest) -> Result<RestoredKey, KmsError> {
    let book = backups.book()?;
    let entry = book.get(&request.backup_id)?.clone();
    let storage = backups.storage();
    let moment = moment::moment(storage, &entry, request.date.as_deref(), request.at, kms.clock.now())?;
    let key = moment::key_at(kms, storage, &moment, &request.key_id)?.ok_or_else(|| {
        KmsError::KeyNotFound(format!(
            "{} (backup '{}' holds no such key as of {})",
            request.key_id, entry.record.backup_id, moment.as_of
        ))
    })?;
    let original = backed_up_instance(backups, &moment)?;
    let _writer = kms.writer()?;
    let (target, cluster, free, taken) = {
        let registry = kms.registry()?;
        let target = registry.instance(&request.to_instance)?.clone();
        check_target(&entry, &target, &original)?;
        if let Ok(existing) = registry.key(&request.key_id) {
            return Err(KmsError::Exists {
                what: "key",
                name: format!(
                    "{} (in instance '{}'): delete it first to restore it from the backup",
                    request.key_id, existing.record.instance
                ),
            });
        }
        check_version_room(&target, registry.versions_in(&target.name), key.versions.len() as u64)?;
        let cluster = kms.cluster_of(&target.name)?;
        let (free, taken): (Vec<String>, Vec<String>) =
            key.aliases.iter().cloned().partition(|a| !registry.alias_taken(a));
        (target, cluster, free, taken)
    };
    let mut record = key.record.clone();
    record.instance = target.name.clone();
    if record.state == KeyState::PendingDeletion {
        record.state = KeyState::Disabled;
        record.delete_date = None;
    }
    let versions: Vec<VersionEntry> = key.versions.iter().cloned().map(VersionEntry::new).collect::<Result<_, _>>()?;
    let first =
        versions.first().cloned().ok_or_else(|| KmsError::Internal("a backed-up key without versions".into()))?;
    // Material first: into the HSMs (software), or found there (hardware).
    let mut announced: Vec<IntentRecord> = Vec::new();
    let placed = (|| {
        for version in versions.iter().filter(|v| v.record.has_material) {
            let name = version_name(&record, version);
            if target.kind == InstanceKind::Hardware {
                kms.vault.wrap_for_backup(&cluster, &name).map_err(|_| {
                    KmsError::Unsupported(format!(
                        "cluster '{cluster}' does not hold version {} of key {}: restore it from a mirror image of \
                         '{}' taken after the version was made",
                        version.record.version_id,
                        record.key_id,
                        entry.record.cluster.as_deref().unwrap_or("the backed-up cluster")
                    ))
                })?;
                continue;
            }
            let wrapped = material(backups, &entry, &moment, &record.key_id, &version.record.version_id)?;
            announced.push(intents::announce(kms, &cluster, IntentPurpose::KeyVersion, &name.id, &name.label)?);
            kms.vault.install_from_backup(&cluster, &name, &wrapped, version.public_key.as_ref())?;
        }
        Ok::<(), KmsError>(())
    })();
    if let Err(error) = placed {
        if target.kind != InstanceKind::Hardware {
            for version in &versions {
                let _ = kms.vault.destroy_version(&cluster, &version_name(&record, version));
            }
        }
        return Err(match error {
            KmsError::MaterialRefused(why) => {
                KmsError::InvalidParameter(format!("the backup's material is refused: {why}"))
            }
            other => other,
        });
    }
    let now = kms.clock.now();
    let aliases: Vec<AliasRecord> =
        free.iter().map(|a| AliasRecord { alias: a.clone(), key_id: record.key_id.clone(), created_at: now }).collect();
    // The store numbers the versions anew (`seq`): the registry takes its rows.
    let stored = kms.store.write(now, |tx| {
        let mut stored = vec![tx.insert_key(&record, &first.record, None)?];
        for version in versions.iter().skip(1) {
            stored.push(tx.insert_version(&version.record)?);
        }
        for alias in &aliases {
            tx.insert_alias(alias)?;
        }
        announced.iter().try_for_each(|i| tx.delete_intent(i))?;
        Ok::<_, KmsError>(stored)
    })?;
    let versions: Vec<VersionEntry> =
        versions.into_iter().zip(stored).map(|(entry, record)| VersionEntry { record, ..entry }).collect();
    let mut registry = kms.registry_mut()?;
    let mut versions = versions.into_iter();
    let first = versions.next().ok_or_else(|| KmsError::Internal("a restored key without versions".into()))?;
    registry.put_new_key(record.clone(), first, None)?;
    for version in versions {
        registry.add_version(version)?;
    }
    for alias in aliases {
        registry.add_alias(alias)?;
    }
    for intent in &announced {
        registry.remove_intent(&intent.object_id);
    }
    drop(book);
    tracing::info!(key = %record.key_id, instance = %target.name, as_of = %moment.as_of, "key restored from a backup");
    let restored: &KeyEntry = registry.key(&record.key_id)?;
    Ok(RestoredKey {
        key_id: record.key_id.clone(),
        instance: target.name.clone(),
        key_version_ids: restored.versions.iter().map(|v| v.record.version_id.clone()).collect(),
        primary_key_version: record.primary_version.clone(),
        aliases: free,
        aliases_not_restored: taken,
        as_of: moment.as_of,
    })
}

/// `backup restore-secret`.
pub fn restore_secret(
    kms: &Kms,
    backups: &Backups,
    request: &RestoreSecretRequest,
) -> Result<RestoredSecret, KmsError> {
    let book = backups.book()?;
    let entry = book.get(&request.backup_id)?.clone();
    let storage = backups.storage();
    let moment = moment::moment(storage, &entry, request.date.as_deref(), request.at, kms.clock.now())?;
    let secret = moment::secret_at(kms, storage, &moment, &request.secret_name)?.ok_or_else(|| {
        KmsError::SecretNotFound(format!(
            "{} (backup '{}' holds no such secret as of {})",
            request.secret_name, entry.record.backup_id, moment.as_of
        ))
    })?;
    let original = backed_up_instance(backups, &moment)?;
    let _writer = kms.writer()?;
    let target = {
        let registry = kms.registry()?;
        let target = registry.instance(&request.to_instance)?.clone();
        check_target(&entry, &target, &original)?;
        if let Ok(existing) = registry.secret(&request.secret_name) {
            return Err(KmsError::Exists {
                what: "secret",
                name: format!(
                    "{} (in instance '{}'): delete it first to restore it from the backup",
                    request.secret_name, existing.record.instance
                ),
            });
        }
        let key_id = &secret.record.encryption_key_id;
        if registry.key(key_id).map(|k| k.record.instance != target.name).unwrap_or(true) {
            return Err(KmsError::InvalidParameter(format!(
                "secret '{}' is encrypted under key {key_id}, which is not in instance '{}': restore that key first \
                 (p11kms backup restore-key {} --key-id {key_id} --to-instance {})",
                request.secret_name, target.name, entry.record.backup_id, target.name
            )));
        }
        let quota = crate::kms::secrets::quota(&kms.config, &target);
        if registry.secrets_in(&target.name) + 1 > quota {
            return Err(KmsError::LimitExceeded(format!(
                "instance '{}' holds {} secrets, its quota is {quota}",
                target.name,
                registry.secrets_in(&target.name)
            )));
        }
        target
    };
    let mut record = secret.record.clone();
    record.instance = target.name.clone();
    record.planned_delete_time = None;
    let now = kms.clock.now();
    let stored = kms.store.write(now, |tx| {
        tx.insert_secret(&record)?;
        secret.versions.iter().map(|v| tx.insert_secret_version(v)).collect::<Result<Vec<_>, _>>()
    })?;
    let mut restored = SecretEntry::new(record.clone());
    restored.versions = stored;
    let version_ids = restored.versions.iter().map(|v| v.version_id.clone()).collect();
    kms.registry_mut()?.put_secret(restored);
    drop(book);
    tracing::info!(secret = %record.name, instance = %target.name, as_of = %moment.as_of, "secret restored from a backup");
    Ok(RestoredSecret { secret_name: record.name, instance: target.name, version_ids, as_of: moment.as_of })
}
