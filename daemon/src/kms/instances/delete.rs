//! `instance delete NAME [--force]`: an instance released, with its slot.
//!
//! The `default` instance is never deleted. Without `--force` an instance
//! is deleted only once it holds nothing anyone still uses: every key
//! pending deletion (the daemon's own service keys excepted: they go with
//! the secrets they protect), every secret in its recovery window, no app
//! and no CMK migration task scheduled or running into or out of it; the
//! refusal names what is in the way and what to do. With `--force` all of
//! it goes with the instance.
//!
//! Order, as at the end of a key's deletion window: key material first
//! (on every member of the instance's cluster, through the vault), then
//! the metadata in one transaction that journals each row it deletes, so
//! a restart sees the instance either whole or gone. A key whose material
//! could not all be destroyed does not stop the deletion (the operator
//! insisted): it is logged, and its objects are recorded as creation
//! intents in the same transaction, which the sweep destroys later since
//! no metadata owns them any more. The cluster stays: it may be attached
//! to another instance. Backups of the instance outlive it.

use p11kms_proto::admin::{InstanceInfo, KeyState, MigrationStatus};

use super::{DEFAULT_INSTANCE, info};
use crate::kms::keys::lifecycle::destroy_material;
use crate::kms::keys::{service, version_name};
use crate::kms::migration::run::mark_failed;
use crate::kms::names::version_bytes;
use crate::kms::placement::holding_cluster;
use crate::kms::registry::{KeyEntry, Registry};
use crate::kms::{Kms, KmsError};
use crate::store::{InstanceRecord, IntentPurpose, IntentRecord, MigrationTaskRecord};

/// How many names a refusal lists of each kind of holding.
const LISTED: usize = 5;

/// What `instance delete` did: the instance as it was, and the apps that
/// went with it (whose data-plane logins the caller ends).
#[derive(Debug)]
pub struct Deleted {
    /// The instance before its deletion.
    pub info: InstanceInfo,
    /// Its apps, deleted with it.
    pub apps: Vec<String>,
}

/// Everything an instance holds, read under the writer lock.
struct Holdings {
    instance: InstanceRecord,
    keys: Vec<KeyEntry>,
    /// Secret names, and whether each is in its recovery window.
    secrets: Vec<(String, bool)>,
    apps: Vec<String>,
    objects: Vec<u64>,
    /// Migration tasks scheduled or running into or out of it.
    migrations: Vec<MigrationTaskRecord>,
}

impl Holdings {
    fn of(registry: &Registry, name: &str) -> Result<Self, KmsError> {
        let instance = registry.instance(name)?.clone();
        Ok(Self {
            keys: registry.keys().filter(|k| k.record.instance == name).cloned().collect(),
            secrets: registry
                .secrets()
                .filter(|s| s.record.instance == name)
                .map(|s| (s.record.name.clone(), s.is_pending_deletion()))
                .collect(),
            apps: registry.apps().filter(|a| a.instance == name).map(|a| a.name.clone()).collect(),
            objects: registry.objects_of(name).map(|o| o.object_no).collect(),
            migrations: registry
                .migrations()
                .filter(|t| matches!(t.status, MigrationStatus::Scheduled | MigrationStatus::Running))
                .filter(|t| t.from_instance == name || t.to_instance == name)
                .cloned()
                .collect(),
            instance,
        })
    }

    /// What stops a deletion: without `force`, anything still in use;
    /// with it, only a migration task that is running (its copy would
    /// race the deletion; it settles at the daemon's next start).
    fn obstacles(&self, force: bool) -> Vec<String> {
        let mut found = Vec::new();
        let running: Vec<&str> = self
            .migrations
            .iter()
            .filter(|t| t.status == MigrationStatus::Running)
            .map(|t| t.task_id.as_str())
            .collect();
        if force {
            listed(&mut found, &running, "CMK migration task", "running");
            return found;
        }
        let keys: Vec<&str> = self
            .keys
            .iter()
            .filter(|k| k.record.state != KeyState::PendingDeletion && !service::is_service_key(&k.record))
            .map(|k| k.record.key_id.as_str())
            .collect();
        listed(&mut found, &keys, "key", "not pending deletion");
        let secrets: Vec<&str> = self.secrets.iter().filter(|(_, pending)| !pending).map(|(n, _)| n.as_str()).collect();
        listed(&mut found, &secrets, "secret", "not pending deletion");
        let apps: Vec<&str> = self.apps.iter().map(String::as_str).collect();
        listed(&mut found, &apps, "app", "");
        let tasks: Vec<&str> = self.migrations.iter().map(|t| t.task_id.as_str()).collect();
        listed(&mut found, &tasks, "CMK migration task", "scheduled or running into or out of it");
        found
    }
}

/// Adds "N <what>s <state> (a, b, …)" to `found` when `names` has any.
fn listed(found: &mut Vec<String>, names: &[&str], what: &str, state: &str) {
    if names.is_empty() {
        return;
    }
    let plural = if names.len() == 1 { "" } else { "s" };
    let mut shown = names.iter().take(LISTED).copied().collect::<Vec<_>>().join(", ");
    if names.len() > LISTED {
        shown.push_str(", …");
    }
    let state = if state.is_empty() { String::new() } else { format!(" {state}") };
    found.push(format!("{} {what}{plural}{state} ({shown})", names.len()));
}

/// `instance delete NAME [--force]` (see the module documentation).
pub fn delete(kms: &Kms, name: &str, force: bool) -> Result<Deleted, KmsError> {
    if name == DEFAULT_INSTANCE {
        return Err(KmsError::InvalidParameter(
            "the default instance cannot be deleted: it keeps the keys of the old console (migrate them instead)"
                .into(),
        ));
    }
    // Held to the end: no key, secret or app of the instance can be made
    // (nor a migration start) while it is taken apart.
    let _writes = kms.writer()?;
    let (holdings, before) = {
        let registry = kms.registry()?;
        let holdings = Holdings::of(&registry, name)?;
        let before = info(&kms.config, &registry, &holdings.instance);
        (holdings, before)
    };
    let obstacles = holdings.obstacles(force);
    if !obstacles.is_empty() {
        let advice = if force {
            "wait until the task finishes (or restart the daemon, which settles it)"
        } else {
            "disable its keys and schedule their deletion (p11kms key schedule-deletion), delete its secrets \
             (p11kms secret delete) and its apps (p11kms app delete), let its migration tasks finish, \
             or delete all of it now with --force"
        };
        return Err(KmsError::StateModifiedFailed(format!(
            "instance '{name}' still has {}: {advice}",
            obstacles.join(", ")
        )));
    }
    let leftovers = destroy_keys_material(kms, &holdings);
    commit(kms, &holdings, &leftovers)?;
    tracing::info!(
        instance = name,
        slot = holdings.instance.slot_id,
        cluster = ?holdings.instance.cluster,
        keys = holdings.keys.len(),
        secrets = holdings.secrets.len(),
        apps = holdings.apps.len(),
        objects = holdings.objects.len(),
        left_to_sweep = leftovers.len(),
        force,
        "instance deleted"
    );
    Ok(Deleted { info: before, apps: holdings.apps })
}

/// Destroys the material of every key of the instance in its cluster;
/// returns intents naming the objects of keys whose material could not
/// all be destroyed, for the sweep.
fn destroy_keys_material(kms: &Kms, holdings: &Holdings) -> Vec<IntentRecord> {
    let Some(cluster) = holding_cluster(&holdings.instance) else {
        return Vec::new();
    };
    let mut leftovers = Vec::new();
    for entry in &holdings.keys {
        let key = entry.record.key_id.as_str();
        let failure = match destroy_material(kms, &cluster, entry) {
            Ok(0) => continue,
            Ok(left) => format!("{left} objects are left"),
            Err(error) => error.to_string(),
        };
        tracing::error!(
            instance = %holdings.instance.name,
            key,
            %cluster,
            failure,
            "instance delete: key material not destroyed; its metadata goes anyway and the sweep destroys the objects later"
        );
        leftovers.extend(intents_of(kms, &cluster, entry));
    }
    leftovers
}

/// Intents for every object a key may have left in `cluster`: its
/// versions, and its import tokens' wrapping keys.
fn intents_of(kms: &Kms, cluster: &str, entry: &KeyEntry) -> Vec<IntentRecord> {
    let now = kms.clock.now();
    let intent = |purpose, id: &[u8], label: String| IntentRecord {
        object_id: hex::encode(id),
        cluster: cluster.to_owned(),
        purpose,
        label,
        created_at: now,
    };
    let mut intents: Vec<IntentRecord> = entry
        .versions
        .iter()
        .map(|v| {
            let name = version_name(&entry.record, v);
            intent(IntentPurpose::KeyVersion, &name.id, name.label)
        })
        .collect();
    if let Ok(registry) = kms.registry() {
        for token in registry.import_tokens().filter(|t| t.key_id == entry.record.key_id) {
            match version_bytes(&token.wrapping_key) {
                Some(id) => {
                    let label = format!("p11kms-import/{}", entry.record.key_id);
                    intents.push(intent(IntentPurpose::WrappingKey, &id, label));
                }
                None => tracing::error!(key = %entry.record.key_id, "an import token with a malformed wrapping key id"),
            }
        }
    }
    intents
}

/// Deletes the instance's rows (and records the leftovers' intents) in one
/// transaction, then forgets them in the registry.
fn commit(kms: &Kms, holdings: &Holdings, leftovers: &[IntentRecord]) -> Result<(), KmsError> {
    let name = holdings.instance.name.as_str();
    let now = kms.clock.now();
    let failed: Vec<MigrationTaskRecord> = holdings
        .migrations
        .iter()
        .cloned()
        .map(|mut task| {
            mark_failed(&mut task, format!("instance '{name}' was deleted"), now);
            task
        })
        .collect();
    kms.store.write(now, |tx| {
        for task in &failed {
            tx.put_migration(task)?;
        }
        for (secret, _) in &holdings.secrets {
            tx.delete_secret(secret)?;
        }
        for key in &holdings.keys {
            tx.delete_key(&key.record.key_id)?;
        }
        for app in &holdings.apps {
            tx.delete_app(app)?;
        }
        for object in &holdings.objects {
            tx.delete_object(*object)?;
        }
        for intent in leftovers {
            tx.insert_intent(intent)?;
        }
        tx.delete_instance(name)
    })?;
    let mut registry = kms.registry_mut()?;
    for task in failed {
        registry.put_migration(task);
    }
    for (secret, _) in &holdings.secrets {
        registry.remove_secret(secret);
    }
    for key in &holdings.keys {
        registry.remove_key(&key.record.key_id);
    }
    for app in &holdings.apps {
        registry.remove_app(app);
    }
    for object in &holdings.objects {
        registry.remove_object(*object);
    }
    for intent in leftovers {
        // Nobody works on them: the sweep's from now on.
        registry.put_intent(intent.clone(), false);
    }
    registry.remove_instance(name);
    Ok(())
}
