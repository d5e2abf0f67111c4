//! `backup drill BACKUP`: a restore rehearsed, so that a backup that
//! cannot restore is known before it is needed. The backup's latest point
//! is read back (manifests and objects checked against their SHA-256);
//! for a software instance's backup, each version's material is unwrapped
//! inside an HSM of a cluster of that kind as a scratch object (a version
//! of a fresh id, announced by a creation intent so a crash leaves
//! nothing) and must answer the canary made with the real version when it
//! was backed up (`canary`), then is destroyed; for a hardware instance's,
//! each version must still be in the backed-up cluster. Each secret
//! version's value must decrypt and authenticate under its key. Scratch
//! objects, not a scratch instance: a key's id is unique in the region,
//! so the backed-up keys could not be restored under their ids beside
//! themselves. The result is kept with the backup (`backup describe`).

use p11kms_proto::admin::{BackupDrill, InstanceKind};

use super::points;
use super::snapshot::{self, Entity};
use super::{Backups, canary, lifecycle};
use crate::hsm::{PublicKey, VersionName};
use crate::kms::keys::intents;
use crate::kms::secrets::values;
use crate::kms::{Kms, KmsError};
use crate::store::IntentPurpose;

/// Failures kept in the result, at most.
const MAX_FAILURES: usize = 20;

/// The cluster scratch versions go to: the bound instance's, else any of
/// the backup's kind.
fn scratch_cluster(kms: &Kms, instance: Option<&str>, kind: InstanceKind) -> Result<String, KmsError> {
    if let Some(instance) = instance {
        if let Ok(cluster) = kms.cluster_of(instance) {
            return Ok(cluster);
        }
    }
    let registry = kms.registry()?;
    registry
        .instances()
        .filter(|i| i.kind == kind)
        .find_map(|i| i.cluster.clone().filter(|c| kms.vault.serves(c)))
        .ok_or_else(|| {
            KmsError::Unsupported(format!("no loaded cluster of a {kind} instance to rehearse a restore in"))
        })
}

/// Restores one version as a scratch object and checks its canary.
fn rehearse(
    kms: &Kms,
    cluster: &str,
    name: &VersionName,
    wrapped: &[u8],
    public: Option<&PublicKey>,
    canary: Option<&canary::CanarySnapshot>,
) -> Result<bool, KmsError> {
    let intent = intents::announce(kms, cluster, IntentPurpose::KeyVersion, &name.id, &name.label)?;
    let result = kms
        .vault
        .install_from_backup(cluster, name, wrapped, public)
        .and_then(|()| canary.map_or(Ok(true), |c| canary::holds(kms, cluster, &name.id, c)));
    let left = kms.vault.destroy_version(cluster, name).unwrap_or(1);
    if left == 0 {
        kms.store.write(kms.clock.now(), |tx| tx.delete_intent(&intent))?;
        kms.registry_mut()?.remove_intent(&intent.object_id);
    }
    result
}

/// `backup drill`.
pub fn drill(kms: &Kms, backups: &Backups, backup_id: &str) -> Result<BackupDrill, KmsError> {
    let mut book = backups.book()?;
    let entry = book.get(backup_id)?.clone();
    if entry.record.status == p11kms_proto::admin::BackupStatus::Expired {
        return Err(KmsError::BackupExpired(backup_id.to_owned()));
    }
    let last = entry.points.last().cloned().ok_or_else(|| {
        KmsError::InvalidParameter(format!("backup '{backup_id}' has taken no backup yet: nothing to rehearse"))
    })?;
    let storage = backups.storage();
    let state = points::resolve(storage, &entry.points, last.seq)?;
    let mut failures = Vec::new();
    let (mut keys_checked, mut secrets_checked) = (0, 0);
    let mut fail = |what: String| {
        if failures.len() < MAX_FAILURES {
            failures.push(what);
        }
    };
    let kind = entry.record.instance_kind;
    let cluster = scratch_cluster(kms, entry.record.instance.as_deref(), kind)?;
    for (entity, hash) in &state {
        match entity {
            Entity::Key(key_id) => {
                let key = match storage.object(hash).and_then(|b| snapshot::decode_key(&b)) {
                    Ok(key) => key,
                    Err(error) => {
                        fail(format!("{key_id}: {error}"));
                        continue;
                    }
                };
                for version in key.versions.iter().filter(|v| v.has_material) {
                    let label = format!("{key_id}/{}", version.version_id);
                    let public = match version.public_key.as_deref().map(PublicKey::from_json).transpose() {
                        Ok(public) => public,
                        Err(error) => {
                            fail(format!("{label}: its public key does not read: {error}"));
                            continue;
                        }
                    };
                    if kind == InstanceKind::Hardware {
                        // The material is the cluster's: it must still hold it.
                        let held = entry.record.cluster.as_deref().is_some_and(|c| {
                            let name = VersionName {
                                id: crate::kms::names::version_bytes(&version.version_id).unwrap_or_default(),
                                label: label.clone(),
                                spec: key.record.key_spec,
                                usage: key.record.key_usage,
                            };
                            kms.vault.wrap_for_backup(c, &name).is_ok()
                        });
                        if held {
                            keys_checked += 1;
                        } else {
                            fail(format!("{label}: the backed-up cluster no longer holds it"));
                        }
                        continue;
                    }
                    let material = state.get(&Entity::material(key_id, &version.version_id));
                    // An uploaded backup carries no canaries: its material
                    // must still unwrap (and a private key match its public
                    // half, checked inside the HSM).
                    let canary = state.get(&Entity::canary(key_id, &version.version_id));
                    let Some(material) = material else {
                        fail(format!("{label}: the backup holds no material for it"));
                        continue;
                    };
                    let read = storage.object(material).and_then(|b| snapshot::decode_material(&b)).and_then(|m| {
                        let c: Option<canary::CanarySnapshot> = canary
                            .map(|hash| {
                                serde_json::from_slice(&storage.object(hash)?)
                                    .map_err(|e| KmsError::Internal(format!("canary does not decode: {e}")))
                            })
                            .transpose()?;
                        Ok((m, c))
                    });
                    let (material, canary) = match read {
                        Ok(read) => read,
                        Err(error) => {
                            fail(format!("{label}: {error}"));
                            continue;
                        }
                    };
                    let scratch = VersionName {
                        id: *uuid::Uuid::new_v4().as_bytes(),
                        label: format!("drill/{label}"),
                        spec: key.record.key_spec,
                        usage: key.record.key_usage,
                    };
                    match rehearse(kms, &cluster, &scratch, &material.wrapped, public.as_ref(), canary.as_ref()) {
                        Ok(true) => keys_checked += 1,
                        Ok(false) => fail(format!("{label}: the restored material does not answer its canary")),
                        Err(error) => fail(format!("{label}: {error}")),
                    }
                }
            }
            Entity::Secret(name) => match storage.object(hash).and_then(|b| snapshot::decode_secret(&b)) {
                Ok(secret) => {
                    for version in &secret.versions {
                        let key = &secret.record.encryption_key_id;
                        match values::open(kms, key, name, &version.version_id, &version.sealed) {
                            Ok(_) => secrets_checked += 1,
                            Err(error) => fail(format!("secret {name}/{}: {error}", version.version_id)),
                        }
                    }
                }
                Err(error) => fail(format!("secret {name}: {error}")),
            },
            Entity::Material(_) | Entity::Canary(_) => {}
        }
    }
    let result = BackupDrill {
        drill_date: kms.clock.now(),
        point_date: last.at,
        passed: failures.is_empty(),
        key_versions_checked: keys_checked,
        secret_versions_checked: secrets_checked,
        failures,
    };
    let mut record = entry.record;
    record.last_drill = Some(result.clone());
    lifecycle::commit(kms, &mut book, record)?;
    if result.passed {
        tracing::info!(backup = backup_id, keys = keys_checked, secrets = secrets_checked, "backup drill passed");
    } else {
        tracing::warn!(
            backup = backup_id,
            failures = result.failures.len(),
            "backup drill FAILED: this backup would not restore"
        );
    }
    Ok(result)
}
