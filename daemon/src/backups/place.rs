//! Putting a backed-up key or secret into an instance of this daemon: the
//! one path of a restore from this daemon's backups (`restore`) and of one
//! from another daemon's (`peer`), with every check first, each with its
//! own error: the target instance (of the backup's kind; a hardware
//! backup never into the instance it backed up), a key or secret of that
//! id or name in the region, the target's quota, and for a secret its
//! encrypting key in the target instance.
//!
//! A software backup's key comes with each version's material, handed
//! over wrapped under the backup root key by the caller's `material`: it
//! is unwrapped inside the target cluster's HSMs, each version announced
//! by a creation intent first, so a crash leaves nothing half-made. A
//! hardware backup carries none: the target's cluster must hold the
//! versions (restored from the mirror image of the backed-up cluster),
//! which is checked inside its HSM. A key pending deletion at the moment
//! restored comes back Disabled, its deletion cancelled. The `CKA_ID` an
//! application gave the key comes back when no key of the target
//! instance has it (a warning in the log otherwise).

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{InstanceKind, KeyState, RestoredKey, RestoredSecret};

use super::snapshot::{KeySnapshot, SecretSnapshot};
use crate::hsm::VersionName;
use crate::kms::instances::check_version_room;
use crate::kms::keys::{intents, version_name};
use crate::kms::registry::{KeyEntry, Registry, VersionEntry};
use crate::kms::secrets::SecretEntry;
use crate::kms::{Kms, KmsError};
use crate::store::{AliasRecord, InstanceRecord, IntentPurpose, IntentRecord, KeyAppIdRecord, KeyMechanismsRecord};

/// Where what is restored comes from.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// The backup, for messages.
    pub backup_id: &'a str,
    /// The kind of instance it backed up.
    pub kind: InstanceKind,
    /// The instance it backed up, when the backup is this daemon's: a
    /// hardware backup never restores into it. `None` from another daemon.
    pub instance: Option<&'a str>,
    /// The cluster it backed up (hardware), for messages.
    pub cluster: Option<&'a str>,
}

/// The instance `name`, refused when it is of another kind than the
/// backup's or, for a hardware backup, the instance it backed up.
pub fn target(registry: &Registry, source: &Source<'_>, name: &str) -> Result<InstanceRecord, KmsError> {
    let target = registry.instance(name)?.clone();
    if target.kind != source.kind {
        return Err(KmsError::InvalidParameter(format!(
            "backup '{}' is of a {} instance; '{}' is a {} instance",
            source.backup_id, source.kind, target.name, target.kind
        )));
    }
    if target.kind == InstanceKind::Hardware && source.instance == Some(target.name.as_str()) {
        return Err(KmsError::InvalidParameter(format!(
            "a hardware backup restores only into a new instance attached to a cluster restored from a mirror \
             image of '{}' (p11kms cluster restore, instance create, instance attach-cluster): not into '{}' itself",
            source.cluster.unwrap_or(&target.name),
            target.name
        )));
    }
    Ok(target)
}

/// The refusal of a restore whose key or secret `name` is already in
/// `instance` of the region.
fn exists(what: &'static str, name: &str, instance: &str) -> KmsError {
    KmsError::Exists {
        what,
        name: format!("{name} (in instance '{instance}'): delete it first to restore it from the backup"),
    }
}

/// Refuses a key `key_id` already in the region.
pub fn check_key_free(registry: &Registry, key_id: &str) -> Result<(), KmsError> {
    registry.key(key_id).map_or(Ok(()), |existing| Err(exists("key", key_id, &existing.record.instance)))
}

/// Refuses a secret `name` already in the region.
pub fn check_secret_free(registry: &Registry, name: &str) -> Result<(), KmsError> {
    registry.secret(name).map_or(Ok(()), |existing| Err(exists("secret", name, &existing.record.instance)))
}

/// Refuses one more secret in `target` over its quota.
pub fn check_secret_room(kms: &Kms, registry: &Registry, target: &InstanceRecord) -> Result<(), KmsError> {
    let quota = crate::kms::secrets::quota(&kms.config, target);
    let held = registry.secrets_in(&target.name);
    if held + 1 > quota {
        return Err(KmsError::LimitExceeded(format!(
            "instance '{}' holds {held} secrets, its quota is {quota}",
            target.name
        )));
    }
    Ok(())
}

/// Puts `key` into instance `to_instance` under its own id, as of
/// `as_of`; `material` gives a version's material wrapped under the
/// backup root key (software backups).
pub fn put_key(
    kms: &Kms,
    source: &Source<'_>,
    to_instance: &str,
    key: &KeySnapshot,
    as_of: Timestamp,
    mut material: impl FnMut(&VersionName, &VersionEntry) -> Result<Vec<u8>, KmsError>,
) -> Result<RestoredKey, KmsError> {
    let _writer = kms.writer()?;
    let (target, cluster, free, taken) = {
        let registry = kms.registry()?;
        let target = target(&registry, source, to_instance)?;
        check_key_free(&registry, &key.record.key_id)?;
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
                        source.cluster.unwrap_or("the backed-up cluster")
                    ))
                })?;
                continue;
            }
            let wrapped = material(&name, version)?;
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
    // The application's CKA_ID comes back when no key of the target holds it.
    let app_id = key.app_id.clone().filter(|id| match kms.registry() {
        Ok(registry) => registry.key_with_pkcs11_id(&target.name, id, Some(&record.key_id)).is_none(),
        Err(_) => false,
    });
    if app_id.is_none() && key.app_id.is_some() {
        tracing::warn!(key = %record.key_id, instance = %target.name, "restored without its application CKA_ID: another key of the instance has it");
    }
    let named = app_id.clone().map(|app_id| KeyAppIdRecord {
        key_id: record.key_id.clone(),
        instance: target.name.clone(),
        app_id,
        set_at: now,
    });
    // Its allowed mechanisms come back with it: a restriction is never lost.
    let mechanisms = (!key.allowed_mechanisms.is_empty()).then(|| KeyMechanismsRecord {
        key_id: record.key_id.clone(),
        mechanisms: key.allowed_mechanisms.clone(),
        set_at: now,
    });
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
        named.as_ref().map_or(Ok(()), |named| tx.set_key_app_id(named))?;
        mechanisms.as_ref().map_or(Ok(()), |m| tx.set_key_mechanisms(m))?;
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
    registry.set_app_id(&record.key_id, app_id);
    registry.set_allowed_mechanisms(&record.key_id, key.allowed_mechanisms.clone());
    for intent in &announced {
        registry.remove_intent(&intent.object_id);
    }
    tracing::info!(key = %record.key_id, instance = %target.name, %as_of, backup = %source.backup_id, "key restored from a backup");
    let restored: &KeyEntry = registry.key(&record.key_id)?;
    Ok(RestoredKey {
        key_id: record.key_id.clone(),
        instance: target.name.clone(),
        key_version_ids: restored.versions.iter().map(|v| v.record.version_id.clone()).collect(),
        primary_key_version: record.primary_version.clone(),
        aliases: free,
        aliases_not_restored: taken,
        as_of,
    })
}

/// Puts `secret` into instance `to_instance` under its own name, as of
/// `as_of` (its values stay encrypted under its key, which must be there).
pub fn put_secret(
    kms: &Kms,
    source: &Source<'_>,
    to_instance: &str,
    secret: &SecretSnapshot,
    as_of: Timestamp,
) -> Result<RestoredSecret, KmsError> {
    let _writer = kms.writer()?;
    let target = {
        let registry = kms.registry()?;
        let target = target(&registry, source, to_instance)?;
        check_secret_free(&registry, &secret.record.name)?;
        let key_id = &secret.record.encryption_key_id;
        if registry.key(key_id).map(|k| k.record.instance != target.name).unwrap_or(true) {
            return Err(KmsError::InvalidParameter(format!(
                "secret '{}' is encrypted under key {key_id}, which is not in instance '{}': restore that key first \
                 (p11kms backup restore-key {} --key-id {key_id} --to-instance {})",
                secret.record.name, target.name, source.backup_id, target.name
            )));
        }
        check_secret_room(kms, &registry, &target)?;
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
    tracing::info!(secret = %record.name, instance = %target.name, %as_of, backup = %source.backup_id, "secret restored from a backup");
    Ok(RestoredSecret { secret_name: record.name, instance: target.name, version_ids, as_of })
}
