//! The daemon's shared state: configuration, store, registry, live
//! clusters, clock and data-plane logins. One `Arc<Service>` is handed to
//! every connection; each part carries its own lock, held only briefly and
//! never across an HSM call or an await.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use p11kms_proto::pkcs11::MechanismInfo;

use crate::clock::Clock;
use crate::config::Config;
use crate::data::clients::Clients;
use crate::data::connections::Connections;
use crate::hsm::Cluster;
use crate::kms::error::KmsError;
use crate::kms::registry::Registry;
use crate::paths::StatePaths;
use crate::store::Store;

/// A cluster as the running daemon uses it.
#[derive(Debug)]
pub struct LiveCluster {
    /// The members and their sessions.
    pub cluster: Cluster,
    /// Mechanisms the primary offers, among those the daemon supports.
    pub mechanisms: Vec<MechanismInfo>,
}

/// Everything a request handler may need.
#[derive(Debug)]
pub struct Service {
    /// Configuration in force.
    pub config: Config,
    /// State directory layout.
    pub paths: StatePaths,
    /// Metadata store.
    pub store: Store,
    /// In-memory view of the store.
    registry: RwLock<Registry>,
    /// Clusters by name.
    clusters: RwLock<HashMap<String, Arc<LiveCluster>>>,
    /// The clock.
    pub clock: Clock,
    /// Changes at every start; lets the module notice a restart.
    pub boot_id: [u8; 16],
    /// Data-plane clients and their logins.
    pub clients: Clients,
    /// Open data connections and their request counts.
    pub connections: Connections,
    /// Held by every change to keys, aliases and tokens from its checks to
    /// its commit, so changes apply one at a time while readers (the data
    /// plane) only ever wait for the brief registry update.
    writer: Mutex<()>,
    /// Held by a scheduler pass and by an overdue-rotation check, so time
    /// driven work never runs twice for the same instant.
    schedule: Mutex<()>,
}

impl Service {
    /// Assembles the service.
    pub fn new(
        config: Config,
        paths: StatePaths,
        store: Store,
        registry: Registry,
        clusters: HashMap<String, Arc<LiveCluster>>,
        clock: Clock,
    ) -> Self {
        Self {
            config,
            paths,
            store,
            registry: RwLock::new(registry),
            clusters: RwLock::new(clusters),
            clock,
            boot_id: *uuid::Uuid::new_v4().as_bytes(),
            clients: Clients::default(),
            connections: Connections::default(),
            writer: Mutex::new(()),
            schedule: Mutex::new(()),
        }
    }

    /// Reads the registry.
    pub fn registry(&self) -> Result<RwLockReadGuard<'_, Registry>, KmsError> {
        self.registry.read().map_err(|_| KmsError::Internal("registry lock poisoned".into()))
    }

    /// Changes the registry (only after the store committed the change).
    pub fn registry_mut(&self) -> Result<RwLockWriteGuard<'_, Registry>, KmsError> {
        self.registry.write().map_err(|_| KmsError::Internal("registry lock poisoned".into()))
    }

    /// Serializes a change (see the `writer` field).
    pub fn writer(&self) -> Result<MutexGuard<'_, ()>, KmsError> {
        self.writer.lock().map_err(|_| KmsError::Internal("writer lock poisoned".into()))
    }

    /// Serializes time-driven work (see the `schedule` field).
    pub fn schedule(&self) -> Result<MutexGuard<'_, ()>, KmsError> {
        self.schedule.lock().map_err(|_| KmsError::Internal("schedule lock poisoned".into()))
    }

    /// A live cluster by name.
    pub fn cluster(&self, name: &str) -> Result<Arc<LiveCluster>, KmsError> {
        let clusters = self.clusters.read().map_err(|_| KmsError::Internal("cluster lock poisoned".into()))?;
        clusters.get(name).cloned().ok_or_else(|| KmsError::NotFound { what: "cluster", name: name.into() })
    }

    /// Replaces a loaded cluster (its members changed). Requests already
    /// running keep the cluster they started with.
    pub fn replace_cluster(&self, name: &str, cluster: Arc<LiveCluster>) -> Result<(), KmsError> {
        let mut clusters = self.clusters.write().map_err(|_| KmsError::Internal("cluster lock poisoned".into()))?;
        clusters.insert(name.to_owned(), cluster);
        Ok(())
    }

    /// The names of the loaded clusters.
    pub fn cluster_names(&self) -> Vec<String> {
        self.clusters.read().map(|c| c.keys().cloned().collect()).unwrap_or_default()
    }

    /// True when the cluster is loaded and serving.
    pub fn has_cluster(&self, name: &str) -> bool {
        self.clusters.read().map(|c| c.contains_key(name)).unwrap_or(false)
    }
}
