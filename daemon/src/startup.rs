//! Bringing the daemon up on a state directory: lock it, open the store,
//! create the first instances on a first start, open every cluster, load
//! the registry and reconcile it with the HSMs.
//!
//! This runs before any thread is started: SoftHSM instances read their
//! configuration from the environment (see `hsm::module`).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::sync::Arc;

use crate::audit::Trail;
use crate::backups::Backups;
use crate::clock::Clock;
use crate::clusters::open::{self as clusters, Modules};
use crate::clusters::sync::record_roles;
use crate::clusters::{HsmVault, LiveClusters, RoutedVault};
use crate::config::Config;
use crate::kms::instances;
use crate::kms::registry::Registry;
use crate::kms::vault::software::SoftwareVault;
use crate::kms::{Kms, KmsError};
use crate::paths::StatePaths;
use crate::root_key::RootKey;
use crate::service::Service;
use crate::store::{InstanceRecord, Store};

/// The daemon could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The state directory is unusable.
    #[error("state directory {path}: {source}")]
    StateDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Another daemon runs on this state directory.
    #[error("another p11kmsd is running on {0}")]
    Locked(String),
    /// Opening the store, bootstrapping or opening clusters failed.
    #[error(transparent)]
    Kms(#[from] KmsError),
    /// The audit trail cannot be opened.
    #[error("{0}")]
    Audit(String),
}

/// Holds the state-directory lock for the life of the process.
#[derive(Debug)]
pub struct StateLock(#[allow(dead_code)] File);

fn lock(paths: &StatePaths) -> Result<StateLock, StartError> {
    let path = paths.lock_file();
    let state_err = |source| StartError::StateDir { path: path.display().to_string(), source };
    let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(state_err)?;
    // SAFETY: the descriptor belongs to `file`, which outlives the call.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(StartError::Locked(paths.root().display().to_string()));
    }
    Ok(StateLock(file))
}

/// Prepares everything; returns the service and the lock to keep.
pub fn start(config: Config, paths: StatePaths) -> Result<(Arc<Service>, StateLock), StartError> {
    paths.create().map_err(|source| StartError::StateDir { path: paths.root().display().to_string(), source })?;
    let state_lock = lock(&paths)?;
    let clock = Clock::persistent(config.clock, &paths.test_clock()).map_err(|e| StartError::StateDir {
        path: paths.test_clock().display().to_string(),
        source: std::io::Error::other(e),
    })?;
    let root_key = RootKey::load(&paths.secrets_dir())
        .map_err(|source| StartError::StateDir { path: paths.secrets_dir().display().to_string(), source })?;
    let store = Arc::new(Store::open(&paths.database(), Arc::new(root_key)).map_err(KmsError::from)?);
    let clock = Arc::new(clock);
    let mut modules = Modules::new();
    let mut live = HashMap::new();

    let mut snapshot = store.load().map_err(KmsError::from)?;
    if snapshot.instances.is_empty() {
        let name = config.bootstrap.hardware_instance.clone();
        tracing::info!(state = %paths.root().display(), "first start: creating the default and '{name}' instances");
        let now = clock.now();
        let (record, cluster) =
            clusters::create_managed(&paths, &config, &name, config.bootstrap.mirrors, now, &mut modules)?;
        let [hardware, default] = instances::bootstrap_records(&config, &name, now);
        store
            .write(now, |tx| {
                tx.insert_cluster(&record)?;
                tx.insert_instance(&hardware)?;
                tx.insert_instance(&default)
            })
            .map_err(KmsError::from)?;
        live.insert(name, cluster);
        snapshot = store.load().map_err(KmsError::from)?;
    }

    // Clusters of configured tokens the store does not know yet.
    for external in &config.clusters {
        if snapshot.clusters.iter().any(|c| c.name == external.name) {
            continue;
        }
        let now = clock.now();
        let (record, cluster) = clusters::adopt_external(&paths, &config, external, now, &mut modules)?;
        let instance = external.instance.as_ref().map(|name| InstanceRecord {
            name: name.clone(),
            slot_id: snapshot.instances.iter().map(|i| i.slot_id + 1).max().unwrap_or(0),
            kind: p11kms_proto::admin::InstanceKind::Hardware,
            cluster: Some(external.name.clone()),
            key_quota: config.instances.key_quota,
            created_at: now,
            secret_quota: Some(config.instances.secret_quota),
        });
        store
            .write(now, |tx| {
                tx.insert_cluster(&record)?;
                instance.iter().try_for_each(|i| tx.insert_instance(i))
            })
            .map_err(KmsError::from)?;
        live.insert(external.name.clone(), cluster);
        snapshot = store.load().map_err(KmsError::from)?;
    }

    let backups = Backups::new(
        paths.backups_dir(),
        std::mem::take(&mut snapshot.backups),
        std::mem::take(&mut snapshot.backup_points),
    );
    // No backup data file outlives its daemon's transfer of it.
    crate::backups::transfer::files::Transfers::new(&paths.backups_dir()).clear();
    let registry = Registry::from_snapshot(snapshot)?;
    for record in registry.clusters() {
        if live.contains_key(&record.name) {
            continue;
        }
        let expected = clusters::expected_versions(&registry, &record.name);
        match clusters::open(&paths, &config, record, &mut modules, &expected) {
            Ok(cluster) => {
                live.insert(record.name.clone(), cluster);
            }
            // A cluster that cannot open leaves its instances without a
            // token; the others keep serving.
            Err(error) => tracing::error!(cluster = %record.name, %error, "cannot open cluster"),
        }
    }
    for (name, cluster) in &live {
        clusters::reconcile(cluster, &registry, name);
    }
    let config = Arc::new(config);
    let clusters = Arc::new(LiveClusters::new(live));
    // The default instance's keys are the daemon's, in software.
    let software = Arc::new(SoftwareVault::new(store.clone(), clock.clone()));
    let vault = Arc::new(RoutedVault::new(Arc::new(HsmVault::new(clusters.clone(), paths.secrets_dir())), software));
    let kms = Kms::new(config.clone(), store, registry, vault, clock);
    let boot_id = *uuid::Uuid::new_v4().as_bytes();
    let audit = Trail::open(&paths.audit_dir(), &kms.store, &config.audit, &config.region, boot_id)
        .map_err(|error| StartError::Audit(error.to_string()))?;
    let service = Service::new(config, paths, kms, clusters, boot_id, audit, backups);
    // Roles as opened (a primary that could not be opened was replaced).
    for name in service.clusters.names() {
        let recorded = service.clusters.get(&name).and_then(|live| record_roles(&service.kms, &live));
        if let Err(error) = recorded {
            tracing::error!(cluster = %name, %error, "cannot record member roles");
        }
    }
    // A CMK migration a stopped daemon was running: finished or undone.
    if let Err(error) = crate::kms::migration::run::recover(&service.kms) {
        tracing::error!(%error, "cannot settle an interrupted key migration; it is retried at the next start");
    }
    // What a daemon killed between an HSM write and its commit left.
    crate::clusters::sync::sweep_leftovers_at_start(&service);
    Ok((Arc::new(service), state_lock))
}
