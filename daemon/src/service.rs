//! The daemon's shared state: configuration, the KMS context (store,
//! registry, vault, clock), the open clusters and the data plane's
//! clients and connections. One `Arc<Service>` is handed to every
//! connection; each part carries its own lock, held only briefly and
//! never across an HSM call or an await.

use std::sync::Arc;

use crate::audit::Trail;
use crate::backups::Backups;
use crate::clusters::{LiveCluster, LiveClusters};
use crate::config::Config;
use crate::data::clients::{Clients, SessionBudget};
use crate::data::connections::Connections;
use crate::kms::{Kms, KmsError};
use crate::paths::StatePaths;

/// Everything a request handler may need.
#[derive(Debug)]
pub struct Service {
    /// Configuration in force (the same the KMS context reads).
    pub config: Arc<Config>,
    /// State directory layout.
    pub paths: StatePaths,
    /// The KMS model and what it runs on.
    pub kms: Kms,
    /// The open clusters (also behind `kms.vault`).
    pub clusters: Arc<LiveClusters>,
    /// Changes at every start; lets the module notice a restart.
    pub boot_id: [u8; 16],
    /// Data-plane clients and their logins.
    pub clients: Clients,
    /// Open data connections and their request counts.
    pub connections: Connections,
    /// The audit trail.
    pub audit: Trail,
    /// Instance backups.
    pub backups: Backups,
    /// Wakes the background scheduler before its next tick: work was made
    /// that is due now (a CMK migration whose window is open).
    pub scheduler_wake: tokio::sync::Notify,
}

impl Service {
    /// Assembles the service; `boot_id` is this start's (the trail's
    /// request ids carry it too).
    pub fn new(
        config: Arc<Config>,
        paths: StatePaths,
        kms: Kms,
        clusters: Arc<LiveClusters>,
        boot_id: [u8; 16],
        audit: Trail,
        backups: Backups,
    ) -> Self {
        let budget =
            SessionBudget { per_uid: config.objects.session_bytes_per_uid, total: config.objects.session_bytes_total };
        Self {
            config,
            paths,
            kms,
            clusters,
            boot_id,
            clients: Clients::new(budget),
            connections: Connections::default(),
            audit,
            backups,
            scheduler_wake: tokio::sync::Notify::new(),
        }
    }

    /// The open cluster holding the keys of `instance`.
    pub fn cluster_of(&self, instance: &str) -> Result<Arc<LiveCluster>, KmsError> {
        self.clusters.get(&self.kms.cluster_of(instance)?)
    }
}
