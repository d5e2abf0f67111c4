//! Live data-plane connections and how many requests each has carried:
//! the admin stat that shows whether a client coalesces its calls (the
//! module promises one round trip per operation, and a test counts them).
//! Also the gate that decides whether a connection's thread may poll for
//! its next request instead of sleeping.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use p11kms_proto::Timestamp;
use p11kms_proto::admin::ConnectionInfo;
use p11kms_proto::socket::SpinGate;

/// One connection's counters, shared by its thread and the table.
#[derive(Debug)]
pub struct ConnectionStats {
    id: u64,
    uid: u32,
    pid: Option<i32>,
    opened: Timestamp,
    requests: AtomicU64,
}

impl ConnectionStats {
    /// Counts one request frame.
    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
}

/// All open data connections.
#[derive(Debug, Default)]
pub struct Connections {
    next_id: AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<ConnectionStats>>>,
    /// Connection threads serving a request or polling for one: a thread
    /// polls only while this leaves a CPU free.
    pub busy: SpinGate,
}

/// Removes its connection from the table when dropped, so a connection
/// thread that ends in any way leaves no stale row.
#[derive(Debug)]
pub struct Registration<'a> {
    table: &'a Connections,
    stats: Arc<ConnectionStats>,
}

impl Registration<'_> {
    /// The connection's counters.
    pub fn stats(&self) -> &ConnectionStats {
        &self.stats
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.table.with(|open| open.remove(&self.stats.id));
    }
}

impl Connections {
    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<u64, Arc<ConnectionStats>>) -> T) -> T {
        match self.open.lock() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Records a new connection from `uid`/`pid`, opened at `now`.
    pub fn register(&self, uid: u32, pid: Option<i32>, now: Timestamp) -> Registration<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let stats = Arc::new(ConnectionStats { id, uid, pid, opened: now, requests: AtomicU64::new(0) });
        self.with(|open| open.insert(id, stats.clone()));
        Registration { table: self, stats }
    }

    /// The open connections, oldest first.
    pub fn list(&self) -> Vec<ConnectionInfo> {
        self.with(|open| {
            open.values()
                .map(|c| ConnectionInfo {
                    connection_id: c.id,
                    uid: c.uid,
                    pid: c.pid,
                    opened: c.opened,
                    requests: c.requests.load(Ordering::Relaxed),
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_connection_and_forgets_closed_ones() {
        let table = Connections::default();
        let first = table.register(1000, Some(42), Timestamp(1));
        let second = table.register(1000, Some(43), Timestamp(2));
        first.stats().count_request();
        first.stats().count_request();
        second.stats().count_request();
        let rows = table.list();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].pid, rows[0].requests), (Some(42), 2));
        assert_eq!((rows[1].pid, rows[1].requests), (Some(43), 1));
        assert!(rows[0].connection_id < rows[1].connection_id);
        drop(first);
        let rows = table.list();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].pid, Some(43));
    }
}
