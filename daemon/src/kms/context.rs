//! The context every KMS operation runs in ([`Kms`]): the store (what is
//! true), the registry (its in-memory picture, what readers use), the
//! vault (where key material is), the clock and the configuration, with
//! the two locks that order changes.
//!
//! It is narrower than the daemon's `Service`: no sockets, no data-plane
//! clients, no cluster management. Unit tests build one over an in-memory
//! store, a manual clock and the in-memory vault (`kms::testing`).

use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::error::KmsError;
use super::placement::holding_cluster;
use super::registry::Registry;
use super::vault::Vault;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;

/// Everything a KMS operation may use.
#[derive(Debug)]
pub struct Kms {
    /// Configuration in force (region, quotas, login limits).
    pub config: Arc<Config>,
    /// Metadata store (shared with the software vault, which keeps the
    /// default instance's sealed material in it).
    pub store: Arc<Store>,
    /// In-memory view of the store.
    registry: RwLock<Registry>,
    /// Where key material lives.
    pub vault: Arc<dyn Vault>,
    /// The clock (shared with the software vault, which stamps its writes).
    pub clock: Arc<Clock>,
    /// Held by every change to keys, aliases and tokens from its checks to
    /// its commit, so changes apply one at a time while readers (the data
    /// plane) only ever wait for the brief registry update.
    writer: Mutex<()>,
    /// Held by a scheduler pass and by an overdue-rotation check, so time
    /// driven work never runs twice for the same instant.
    schedule: Mutex<()>,
}

impl Kms {
    /// Assembles the context.
    pub fn new(
        config: Arc<Config>,
        store: Arc<Store>,
        registry: Registry,
        vault: Arc<dyn Vault>,
        clock: Arc<Clock>,
    ) -> Self {
        Self {
            config,
            store,
            registry: RwLock::new(registry),
            vault,
            clock,
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

    /// The deployment's region, as ARNs name it.
    pub fn region(&self) -> &str {
        &self.config.region
    }

    /// The cluster holding the keys of `instance`: the `default`
    /// instance's are the daemon's own, in software
    /// ([`super::vault::SOFTWARE_CLUSTER`]).
    pub fn cluster_of(&self, instance: &str) -> Result<String, KmsError> {
        let registry = self.registry()?;
        let record = registry.instance(instance)?;
        holding_cluster(record).ok_or_else(|| {
            KmsError::Unsupported(format!(
                "instance '{}' holds no HSM cluster; its keys cannot be used here",
                record.name
            ))
        })
    }
}
