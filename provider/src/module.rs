//! One initialized copy of the module: the connection pool, the session and
//! object tables, the slot cache. Everything between `C_Initialize` and
//! `C_Finalize` lives here; the PKCS#11 calls are implemented on it in
//! [`crate::calls`].
//!
//! Locking: `tables` (sessions, logins, objects) and `slots` are separate
//! mutexes, each held for map lookups and copies only, never across a round
//! trip to the daemon. When both are needed, `tables` is taken first. A call
//! that talks to the daemon copies what it needs out of the tables, releases
//! them, makes the round trip, and then locks again to record the outcome,
//! checking that the session (and operation) it worked for still exists.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use p11kms_proto::data::{ClientId, DataRequest};
use rand::TryRngCore;

use crate::client::{Pool, Stamp};
use crate::error::{Error, Result};
use crate::lock;
use crate::objects::ObjectTable;
use crate::sessions::SessionTable;
use crate::slots::SlotCache;

/// Sessions, logins and object handles: what the calls update together.
#[derive(Debug, Default)]
pub struct Tables {
    /// Sessions and per-slot logins.
    pub sessions: SessionTable,
    /// Object handles and cached attributes.
    pub objects: ObjectTable,
}

/// An initialized module copy.
#[derive(Debug)]
pub struct Module {
    pub(crate) pool: Pool,
    pub(crate) tables: Mutex<Tables>,
    pub(crate) slots: Mutex<SlotCache>,
}

impl Module {
    /// A module copy talking to `socket` as `client_id`. Nothing is
    /// connected yet: the daemon may start later.
    pub fn new(socket: PathBuf, client_id: ClientId) -> Self {
        Self {
            pool: Pool::new(socket, client_id),
            tables: Mutex::new(Tables::default()),
            slots: Mutex::new(SlotCache::default()),
        }
    }

    /// A module copy with a fresh random client id, as `C_Initialize`
    /// creates it, polling `spin_wait` for each reply before sleeping.
    pub fn with_random_client(socket: PathBuf, spin_wait: Duration) -> Result<Self> {
        let mut client_id: ClientId = [0; 16];
        // Straight from the OS: no user-space generator state that a forked
        // child could share with its parent.
        rand::rngs::OsRng.try_fill_bytes(&mut client_id).map_err(Error::Random)?;
        let mut module = Self::new(socket, client_id);
        module.pool.set_spin_wait(spin_wait);
        Ok(module)
    }

    /// The tables, locked.
    pub(crate) fn tables(&self) -> MutexGuard<'_, Tables> {
        lock(&self.tables)
    }

    /// The current boot epoch and link generation.
    pub(crate) fn stamp(&self) -> Stamp {
        self.pool.stamp()
    }

    /// `C_Finalize`'s goodbye: logs out of every slot (the daemon keeps
    /// logins per client id, and this client id ends here) and closes the
    /// connections. Failures are ignored: the application is leaving.
    pub fn shutdown(&self) {
        let now = self.stamp();
        let slots = {
            let mut tables = self.tables();
            let slots = tables.sessions.logged_in_slots(now);
            for slot in &slots {
                tables.sessions.logged_out(*slot);
            }
            slots
        };
        for slot in slots {
            let _ = self.pool.call(&DataRequest::Logout { slot }, Some(now.boot));
        }
        self.pool.clear();
    }
}
