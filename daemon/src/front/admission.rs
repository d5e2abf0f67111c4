//! Caps on the connections one socket has open at once: all peers
//! together, and each peer uid. A connection over a cap is refused as soon
//! as it is accepted (the accept loop tells the peer which cap and closes),
//! never left waiting in the listen queue: that wait is what let a pile of
//! idle connections hang every new client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::warning::Throttled;
use crate::config::SocketsConfig;

/// A socket's two caps and the configuration keys that set them (named in
/// refusals, so an operator knows what to raise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Most connections open at once.
    pub total: usize,
    /// The key of `total`.
    pub total_key: &'static str,
    /// Most connections of one peer uid open at once.
    pub per_uid: usize,
    /// The key of `per_uid`.
    pub per_uid_key: &'static str,
}

impl Caps {
    /// The data socket's caps.
    pub fn data(config: &SocketsConfig) -> Self {
        Self {
            total: config.max_connections,
            total_key: "sockets.max_connections",
            per_uid: config.max_connections_per_uid,
            per_uid_key: "sockets.max_connections_per_uid",
        }
    }

    /// The admin socket's caps.
    pub fn admin(config: &SocketsConfig) -> Self {
        Self {
            total: config.admin_max_connections,
            total_key: "sockets.admin_max_connections",
            per_uid: config.admin_max_connections_per_uid,
            per_uid_key: "sockets.admin_max_connections_per_uid",
        }
    }
}

/// The connections open on one socket, counted against its caps.
#[derive(Debug)]
pub struct Admission {
    socket: &'static str,
    caps: Caps,
    state: Mutex<State>,
    /// An attacker opening thousands of connections must not flood the log.
    refusals: Throttled,
}

#[derive(Debug, Default)]
struct State {
    total: usize,
    by_uid: HashMap<u32, usize>,
}

/// One admitted connection; it stops counting when dropped.
#[derive(Debug)]
pub struct Ticket {
    admission: Arc<Admission>,
    uid: u32,
}

impl Admission {
    /// Counts for the socket named `socket` (for messages) under `caps`.
    pub fn new(socket: &'static str, caps: Caps) -> Arc<Self> {
        Arc::new(Self { socket, caps, state: Mutex::new(State::default()), refusals: Throttled::default() })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits a connection of `uid`, or says which cap it is over.
    pub fn admit(self: &Arc<Self>, uid: u32) -> Result<Ticket, String> {
        let mut state = self.state();
        let mine = state.by_uid.get(&uid).copied().unwrap_or(0);
        let refusal = if mine >= self.caps.per_uid {
            Some(format!(
                "uid {uid} already has {mine} connections open on the {} socket, its cap ({} = {})",
                self.socket, self.caps.per_uid_key, self.caps.per_uid
            ))
        } else if state.total >= self.caps.total {
            Some(format!(
                "the {} socket already has {} connections open, its cap ({} = {})",
                self.socket, state.total, self.caps.total_key, self.caps.total
            ))
        } else {
            None
        };
        if let Some(message) = refusal {
            drop(state);
            if let Some(refused) = self.refusals.occurred() {
                tracing::warn!(socket = self.socket, refused, "refusing connections over a cap; the last: {message}");
            }
            return Err(message);
        }
        state.total += 1;
        *state.by_uid.entry(uid).or_insert(0) += 1;
        Ok(Ticket { admission: Arc::clone(self), uid })
    }

    /// Connections open now, all peers together.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.state().total
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.admission.state();
        state.total = state.total.saturating_sub(1);
        if let Some(count) = state.by_uid.get_mut(&self.uid) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.by_uid.remove(&self.uid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(total: usize, per_uid: usize) -> Caps {
        Caps { total, total_key: "sockets.total", per_uid, per_uid_key: "sockets.per_uid" }
    }

    #[test]
    fn a_uid_over_its_cap_is_refused_and_others_are_not() {
        let admission = Admission::new("data", caps(10, 2));
        let first = admission.admit(1000).expect("first");
        let _second = admission.admit(1000).expect("second");
        let refusal = admission.admit(1000).expect_err("third");
        assert!(refusal.contains("sockets.per_uid = 2"), "{refusal}");
        assert!(refusal.contains("uid 1000") && refusal.contains("data socket"), "{refusal}");
        let _other = admission.admit(1001).expect("another uid is not affected");
        drop(first);
        let _again = admission.admit(1000).expect("a closed connection frees its place");
        assert_eq!(admission.open(), 3);
    }

    #[test]
    fn the_total_cap_holds_whatever_the_uids() {
        let admission = Admission::new("admin", caps(3, 2));
        let tickets: Vec<_> = (0..3).map(|uid| admission.admit(uid).expect("under the cap")).collect();
        let refusal = admission.admit(99).expect_err("over the total");
        assert!(refusal.contains("sockets.total = 3") && refusal.contains("admin socket"), "{refusal}");
        drop(tickets);
        assert_eq!(admission.open(), 0);
        assert!(admission.admit(99).is_ok());
    }

    #[test]
    fn the_caps_come_from_the_sockets_section() {
        let config = SocketsConfig {
            max_connections: 7,
            max_connections_per_uid: 5,
            admin_max_connections: 3,
            admin_max_connections_per_uid: 2,
            ..SocketsConfig::default()
        };
        assert_eq!((Caps::data(&config).total, Caps::data(&config).per_uid), (7, 5));
        assert_eq!((Caps::admin(&config).total, Caps::admin(&config).per_uid), (3, 2));
        assert_eq!(Caps::admin(&config).per_uid_key, "sockets.admin_max_connections_per_uid");
    }
}
