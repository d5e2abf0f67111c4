//! A KMS context for unit tests, with nothing real under it but SQLite:
//! an in-memory store holding what a first start creates (a hardware
//! instance `hsm1` on cluster `c1`, and `default`), the manual clock, and
//! the in-memory vault.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{KeySpec, KeyUsage, MemberRole, Origin};

use super::keys::{self, NewKey};
use super::registry::{KeyEntry, Registry};
use super::scheduler::{self, Pass};
use super::vault::memory::MemoryVault;
use super::{Kms, instances};
use crate::clock::Clock;
use crate::config::{ClockMode, Config};
use crate::store::{ClusterRecord, MemberRecord, Store};

/// The hardware instance of the fixture.
pub const INSTANCE: &str = "hsm1";
/// Its cluster.
pub const CLUSTER: &str = "c1";

/// A KMS over memory, and its vault (to look inside).
#[derive(Debug)]
pub struct Fixture {
    /// The context under test.
    pub kms: Kms,
    /// Its vault.
    pub vault: Arc<MemoryVault>,
}

impl Fixture {
    /// A fresh KMS with the default configuration.
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    /// A fresh KMS with `config` (the clock is made manual).
    pub fn with_config(mut config: Config) -> Self {
        config.clock = ClockMode::Manual;
        config.bootstrap.hardware_instance = INSTANCE.into();
        let clock = Clock::new(ClockMode::Manual);
        let now = clock.now();
        let store = Store::open_in_memory().expect("an in-memory store");
        let cluster = ClusterRecord {
            name: CLUSTER.into(),
            created_at: now,
            members: vec![MemberRecord {
                index: 0,
                module: "memory".into(),
                managed: false,
                token_label: "c1-0".into(),
                serial: "0".into(),
                role: MemberRole::Primary,
                in_sync: true,
            }],
            library: None,
        };
        let [hardware, default] = instances::bootstrap_records(&config, CLUSTER, now);
        store
            .write(now, |tx| {
                tx.insert_cluster(&cluster)?;
                tx.insert_instance(&hardware)?;
                tx.insert_instance(&default)
            })
            .expect("bootstrap rows");
        let registry = Registry::from_snapshot(store.load().expect("loads")).expect("indexes");
        let vault = Arc::new(MemoryVault::new(&[CLUSTER]));
        let kms = Kms::new(Arc::new(config), store, registry, vault.clone(), clock);
        Self { kms, vault }
    }

    /// Now, on the fixture's clock.
    pub fn now(&self) -> Timestamp {
        self.kms.clock.now()
    }

    /// Moves the clock `days` forward and runs the scheduler, as
    /// `p11kms clock advance` does.
    pub fn advance_days(&self, days: i64) -> Pass {
        self.kms.clock.advance(days * 86_400).expect("the manual clock moves");
        scheduler::run_due(&self.kms)
    }

    /// A new key of `spec` in `hsm1`, as `key create` makes it.
    pub fn create(&self, spec: KeySpec) -> KeyEntry {
        self.create_with(NewKey::plain(INSTANCE.into(), spec, spec.default_usage(), None, "admin:0".into()))
    }

    /// A new key as `new` says.
    pub fn create_with(&self, new: NewKey) -> KeyEntry {
        keys::create(&self.kms, new).expect("the key is created")
    }

    /// A new EXTERNAL key (no material yet).
    pub fn create_external(&self) -> KeyEntry {
        let mut new = NewKey::plain(INSTANCE.into(), KeySpec::Aes256, KeyUsage::EncryptDecrypt, None, "admin:0".into());
        new.origin = Origin::External;
        self.create_with(new)
    }

    /// A key as the registry has it now.
    pub fn key(&self, key: &str) -> KeyEntry {
        self.kms.registry().expect("registry").key(key).expect("the key exists").clone()
    }

    /// The same rows, read again from the store: what a restart would see.
    pub fn reloaded(&self) -> Registry {
        Registry::from_snapshot(self.kms.store.load().expect("loads")).expect("indexes")
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}
