//! Graceful shutdown, after mini-redis: a broadcast tells every task to
//! stop, and each connection holds a guard whose drop tells the listener
//! it is gone, so `serve` can wait until the last one has finished its
//! request. Data-plane threads block in `read`, so their streams are also
//! registered here and shut down to wake them.

use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc};

/// The shutdown signal and the count of live connections.
#[derive(Debug, Clone)]
pub struct Shutdown {
    notify: broadcast::Sender<()>,
    alive: mpsc::Sender<()>,
    streams: Arc<Mutex<HashMap<u64, UnixStream>>>,
    next_id: Arc<AtomicU64>,
}

/// Held by a connection while it lives.
#[derive(Debug)]
pub struct ConnectionGuard {
    _alive: mpsc::Sender<()>,
    id: Option<u64>,
    streams: Arc<Mutex<HashMap<u64, UnixStream>>>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if let (Some(id), Ok(mut streams)) = (self.id, self.streams.lock()) {
            streams.remove(&id);
        }
    }
}

impl Shutdown {
    /// A new signal; the receiver completes when every guard is dropped.
    pub fn new() -> (Self, mpsc::Receiver<()>) {
        let (notify, _) = broadcast::channel(1);
        let (alive, done) = mpsc::channel(1);
        let shutdown =
            Self { notify, alive, streams: Arc::new(Mutex::new(HashMap::new())), next_id: Arc::new(AtomicU64::new(1)) };
        (shutdown, done)
    }

    /// Subscribes to the stop signal.
    pub fn subscribe(&self) -> broadcast::Receiver<()> {
        self.notify.subscribe()
    }

    /// A guard for an async connection.
    pub fn guard(&self) -> ConnectionGuard {
        ConnectionGuard { _alive: self.alive.clone(), id: None, streams: self.streams.clone() }
    }

    /// A guard for a blocking connection whose stream must be woken at
    /// shutdown. `stream` is a clone of the connection's stream.
    pub fn guard_blocking(&self, stream: UnixStream) -> ConnectionGuard {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut streams) = self.streams.lock() {
            streams.insert(id, stream);
        }
        ConnectionGuard { _alive: self.alive.clone(), id: Some(id), streams: self.streams.clone() }
    }

    /// Tells everyone to stop and wakes blocked readers. A connection in the
    /// middle of a request finishes it first: only the reading half is
    /// shut down.
    pub fn trigger(&self) {
        let _ = self.notify.send(());
        if let Ok(streams) = self.streams.lock() {
            for stream in streams.values() {
                let _ = stream.shutdown(std::net::Shutdown::Read);
            }
        }
    }

    /// Drops this handle's own liveness sender, so that the receiver
    /// completes once the connections' guards are gone.
    pub fn into_waiting(self) {}
}
