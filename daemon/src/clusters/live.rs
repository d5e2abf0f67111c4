//! The clusters the running daemon has open, by name. Shared by the
//! vault (key material), cluster management and the data plane; a cluster
//! whose members change is replaced as a whole, and requests already
//! running keep the one they started with.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use p11kms_proto::pkcs11::MechanismInfo;

use crate::hsm::Cluster;
use crate::kms::KmsError;

/// A cluster as the running daemon uses it.
#[derive(Debug)]
pub struct LiveCluster {
    /// The members and their sessions.
    pub cluster: Cluster,
    /// Mechanisms the primary offers, among those the daemon supports.
    pub mechanisms: Vec<MechanismInfo>,
}

/// The open clusters.
#[derive(Debug, Default)]
pub struct LiveClusters {
    clusters: RwLock<HashMap<String, Arc<LiveCluster>>>,
}

impl LiveClusters {
    /// The clusters opened at start.
    pub fn new(clusters: HashMap<String, Arc<LiveCluster>>) -> Self {
        Self { clusters: RwLock::new(clusters) }
    }

    /// A live cluster by name.
    pub fn get(&self, name: &str) -> Result<Arc<LiveCluster>, KmsError> {
        let clusters = self.clusters.read().map_err(|_| KmsError::Internal("cluster lock poisoned".into()))?;
        clusters.get(name).cloned().ok_or_else(|| KmsError::NotFound { what: "cluster", name: name.into() })
    }

    /// Replaces (or adds) a cluster. Requests already running keep the
    /// cluster they started with.
    pub fn replace(&self, name: &str, cluster: Arc<LiveCluster>) -> Result<(), KmsError> {
        let mut clusters = self.clusters.write().map_err(|_| KmsError::Internal("cluster lock poisoned".into()))?;
        clusters.insert(name.to_owned(), cluster);
        Ok(())
    }

    /// The names of the open clusters.
    pub fn names(&self) -> Vec<String> {
        self.clusters.read().map(|c| c.keys().cloned().collect()).unwrap_or_default()
    }

    /// True when the cluster is open and serving.
    pub fn contains(&self, name: &str) -> bool {
        self.clusters.read().map(|c| c.contains_key(name)).unwrap_or(false)
    }
}
