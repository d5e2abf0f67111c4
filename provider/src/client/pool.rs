//! A pool of connections, so that several application threads can have
//! requests in flight at once, and the place where daemon restarts are
//! noticed.
//!
//! A call takes an idle connection (probed for liveness) or opens a new one,
//! uses it without holding any lock, and returns it afterwards. A connection
//! that failed is dropped; the next call opens a fresh one. Nothing is
//! retried: a request may have reached the daemon before the failure, and
//! PKCS#11 has no way to say "maybe".
//!
//! Restarts: every new connection's `Welcome` carries the daemon's boot id.
//! When it differs from the one seen before, the daemon lost all sessions'
//! login state: the pool bumps its *boot epoch*, and sessions and logins of
//! older epochs are treated as gone (see [`crate::sessions`]). A call made
//! for a session passes the session's epoch and fails with
//! `CKR_SESSION_HANDLE_INVALID` instead of being sent to the new daemon.
//!
//! Links: the daemon ends a client's logins when the client's last
//! connection closes. The pool counts its open connections and bumps a
//! *link generation* whenever the count drops to zero (after I/O errors,
//! typically); a login is only valid in the generation it was made in, so
//! the module never claims a login the daemon has already forgotten.
//! Sessions survive this: the daemon keeps no session state.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use p11kms_proto::MAX_BODY_LEN;
use p11kms_proto::data::{ClientId, DataReply, DataRequest};

use super::connection::{BootId, Connection};
use crate::config::DEFAULT_SPIN_WAIT;
use crate::error::{Error, Result};
use crate::lock;

/// Idle connections kept for reuse; more are closed when returned.
const MAX_IDLE: usize = 32;

/// When a login or session was made: the daemon's boot epoch and the link
/// generation (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stamp {
    /// Bumped when the daemon's boot id changes.
    pub boot: u64,
    /// Bumped when the last connection to the daemon closed.
    pub link: u64,
}

/// Open connections and the link generation.
#[derive(Debug, Default)]
struct Links {
    open: usize,
    generation: u64,
}

/// A connection counted in [`Links`] while it exists.
#[derive(Debug)]
struct Tracked {
    connection: Connection,
    links: Arc<Mutex<Links>>,
}

impl Tracked {
    fn new(connection: Connection, links: &Arc<Mutex<Links>>) -> Self {
        lock(links).open += 1;
        Self { connection, links: Arc::clone(links) }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let mut links = lock(&self.links);
        links.open = links.open.saturating_sub(1);
        if links.open == 0 {
            // The daemon forgets this client's logins now.
            links.generation += 1;
        }
    }
}

/// Connections of one module copy to the daemon.
#[derive(Debug)]
pub struct Pool {
    socket: PathBuf,
    client_id: ClientId,
    idle: Mutex<Vec<Tracked>>,
    links: Arc<Mutex<Links>>,
    boot_id: Mutex<Option<BootId>>,
    epoch: AtomicU64,
    max_body_len: AtomicU32,
    /// How long a call polls for its reply before sleeping.
    spin_wait: Duration,
}

impl Pool {
    /// A pool for a socket; nothing is connected yet.
    pub fn new(socket: PathBuf, client_id: ClientId) -> Self {
        Self {
            socket,
            client_id,
            idle: Mutex::new(Vec::new()),
            links: Arc::default(),
            boot_id: Mutex::new(None),
            epoch: AtomicU64::new(0),
            max_body_len: AtomicU32::new(MAX_BODY_LEN),
            spin_wait: DEFAULT_SPIN_WAIT,
        }
    }

    /// How long each call polls for its reply before sleeping.
    pub fn set_spin_wait(&mut self, spin_wait: Duration) {
        self.spin_wait = spin_wait;
    }

    /// The socket this pool connects to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The current daemon boot epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The current boot epoch and link generation.
    pub fn stamp(&self) -> Stamp {
        // Link first: a bump of either after these reads only makes the
        // stamp look older, never newer than the truth.
        let link = lock(&self.links).generation;
        Stamp { boot: self.epoch(), link }
    }

    /// The largest request body the daemon last said it accepts.
    pub fn body_limit(&self) -> usize {
        self.max_body_len.load(Ordering::Relaxed) as usize
    }

    /// One request, one answer. `epoch`: the boot epoch of the session the
    /// call is made for, if any.
    pub fn call(&self, request: &DataRequest, epoch: Option<u64>) -> Result<DataReply> {
        self.exchange(request, epoch).map(|(reply, _)| reply)
    }

    /// [`Pool::call`], also returning the stamp the answer was given in
    /// (read while the connection was still open, so that the link
    /// generation cannot have moved on during the exchange).
    pub fn exchange(&self, request: &DataRequest, epoch: Option<u64>) -> Result<(DataReply, Stamp)> {
        let mut connection = self.checkout()?;
        if epoch.is_some_and(|epoch| epoch != self.epoch()) {
            self.checkin(connection);
            return Err(Error::DaemonRestarted);
        }
        match connection.connection.round_trip(request) {
            Ok(answer) => {
                let stamp = self.stamp();
                self.checkin(connection);
                answer.map(|reply| (reply, stamp)).map_err(Error::Rv)
            }
            Err(error) => {
                if error.keeps_connection() {
                    self.checkin(connection);
                }
                Err(error)
            }
        }
    }

    /// An idle live connection, or a new one.
    fn checkout(&self) -> Result<Tracked> {
        loop {
            let candidate = lock(&self.idle).pop();
            match candidate {
                Some(tracked) if tracked.connection.is_alive() => return Ok(tracked),
                // Dead: dropped here, outside the lock; try the next one.
                Some(_) => continue,
                None => break,
            }
        }
        let connection = Connection::open(&self.socket, self.client_id, self.spin_wait)?;
        self.max_body_len.store(connection.max_body_len(), Ordering::Relaxed);
        self.note_boot(connection.boot_id());
        Ok(Tracked::new(connection, &self.links))
    }

    /// Records the boot id of a new connection; a change starts an epoch.
    fn note_boot(&self, boot_id: BootId) {
        let stale = {
            let mut known = lock(&self.boot_id);
            match *known {
                Some(previous) if previous == boot_id => return,
                Some(_) => {
                    *known = Some(boot_id);
                    self.epoch.fetch_add(1, Ordering::AcqRel);
                    // Connections to the previous daemon are useless.
                    std::mem::take(&mut *lock(&self.idle))
                }
                None => {
                    *known = Some(boot_id);
                    return;
                }
            }
        };
        drop(stale);
    }

    /// Returns a connection after a clean exchange. One that is not
    /// kept is dropped outside the lock (its drop takes the links lock).
    fn checkin(&self, tracked: Tracked) {
        if *lock(&self.boot_id) != Some(tracked.connection.boot_id()) {
            return;
        }
        let surplus = {
            let mut idle = lock(&self.idle);
            if idle.len() < MAX_IDLE {
                idle.push(tracked);
                None
            } else {
                Some(tracked)
            }
        };
        drop(surplus);
    }

    /// Notices a daemon restart before something new is stamped with the
    /// current boot epoch (a session being opened): if the most recently
    /// used idle connection was closed by the daemon, the idle ones are
    /// dropped and a new connection learns the new boot id. Normally one
    /// non-blocking peek and no round trip; a failure to connect is left
    /// for the next call to report.
    pub fn notice_restart(&self) {
        let last = lock(&self.idle).pop();
        match last {
            Some(tracked) if tracked.connection.is_alive() => self.checkin(tracked),
            Some(dead) => {
                drop(dead);
                let stale = std::mem::take(&mut *lock(&self.idle));
                drop(stale);
                if let Ok(fresh) = self.checkout() {
                    self.checkin(fresh);
                }
            }
            None => {}
        }
    }

    /// Closes every idle connection.
    pub fn clear(&self) {
        let idle = std::mem::take(&mut *lock(&self.idle));
        drop(idle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{Action, FakeDaemon, temp_dir};
    use p11kms_ffi::sys::{CKR_DEVICE_ERROR, CKR_PIN_INCORRECT, CKR_SESSION_HANDLE_INVALID};
    use p11kms_proto::CkRv;
    use p11kms_proto::error::ProtocolError;
    use p11kms_proto::error::ProtocolErrorKind;

    fn rv(error: Error) -> u64 {
        error.ck_rv().0
    }

    #[test]
    fn hello_first_then_requests_with_echoed_ids_on_one_connection() {
        let daemon = FakeDaemon::start(|_| Action::Reply(Ok(DataReply::Done)));
        let pool = Pool::new(daemon.path(), [7; 16]);
        for _ in 0..3 {
            assert!(matches!(pool.call(&DataRequest::Logout { slot: 1 }, None), Ok(DataReply::Done)));
        }
        let seen = daemon.frames();
        assert_eq!(seen.len(), 4, "one Hello and three requests: {seen:?}");
        assert!(matches!(&seen[0].1, DataRequest::Hello { client_id, .. } if *client_id == [7; 16]));
        let ids: Vec<u32> = seen.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, vec![1, 2, 3, 4], "ids grow per connection");
        assert_eq!(daemon.connections(), 1, "the idle connection is reused");
    }

    #[test]
    fn daemon_ck_rv_passes_through_and_keeps_the_connection() {
        let daemon = FakeDaemon::start(|_| Action::Reply(Err(CkRv(CKR_PIN_INCORRECT))));
        let pool = Pool::new(daemon.path(), [7; 16]);
        for _ in 0..2 {
            let err = pool.call(&DataRequest::ListSlots, None).expect_err("refused");
            assert_eq!(rv(err), CKR_PIN_INCORRECT);
        }
        assert_eq!(daemon.connections(), 1);
    }

    #[test]
    fn protocol_error_is_a_device_error_and_drops_the_connection() {
        let daemon = FakeDaemon::start(|request| match request {
            DataRequest::ListSlots => Action::Refuse(ProtocolError {
                kind: ProtocolErrorKind::MalformedBody,
                message: "no".into(),
                server_major: 1,
            }),
            _ => Action::Reply(Ok(DataReply::Done)),
        });
        let pool = Pool::new(daemon.path(), [7; 16]);
        let err = pool.call(&DataRequest::ListSlots, None).expect_err("refused");
        assert!(matches!(err, Error::Refused(_)));
        assert_eq!(rv(err), CKR_DEVICE_ERROR);
        assert!(pool.call(&DataRequest::Logout { slot: 1 }, None).is_ok());
        assert_eq!(daemon.connections(), 2, "a new connection after the refusal");
    }

    #[test]
    fn wrong_request_id_and_hangup_are_device_errors() {
        let daemon = FakeDaemon::start(|request| match request {
            DataRequest::ListSlots => Action::WrongId(Ok(DataReply::Done)),
            DataRequest::Logout { .. } => Action::Hangup,
            _ => Action::Reply(Ok(DataReply::Done)),
        });
        let pool = Pool::new(daemon.path(), [7; 16]);
        let err = pool.call(&DataRequest::ListSlots, None).expect_err("mismatch");
        assert!(matches!(err, Error::RequestIdMismatch { .. }), "{err:?}");
        assert_eq!(rv(err), CKR_DEVICE_ERROR);
        let err = pool.call(&DataRequest::Logout { slot: 1 }, None).expect_err("hung up");
        assert_eq!(rv(err), CKR_DEVICE_ERROR);
        assert!(pool.call(&DataRequest::Login { slot: 1, user_type: 1, pin: "1".into() }, None).is_ok());
        assert_eq!(daemon.connections(), 3);
    }

    #[test]
    fn no_daemon_is_a_device_error_and_a_later_daemon_is_found() {
        let dir = temp_dir("pool");
        let path = dir.path().join("data.sock");
        let pool = Pool::new(path.clone(), [7; 16]);
        let err = pool.call(&DataRequest::ListSlots, None).expect_err("nobody there");
        assert!(matches!(err, Error::Connect { .. }));
        assert_eq!(rv(err), CKR_DEVICE_ERROR);
        let _daemon = FakeDaemon::start_at(path, |_| Action::Reply(Ok(DataReply::Done)));
        assert!(pool.call(&DataRequest::ListSlots, None).is_ok());
    }

    #[test]
    fn restart_starts_a_new_epoch() {
        let daemon = FakeDaemon::start(|_| Action::Reply(Ok(DataReply::Done)));
        let pool = Pool::new(daemon.path(), [7; 16]);
        assert!(pool.call(&DataRequest::ListSlots, Some(0)).is_ok());
        assert_eq!(pool.epoch(), 0);
        daemon.restart();
        // The idle connection is found dead before use, a new one shows the
        // new boot id, and the call for an epoch-0 session is not sent.
        let err = pool.call(&DataRequest::ListSlots, Some(0)).expect_err("restarted");
        assert_eq!(rv(err), CKR_SESSION_HANDLE_INVALID);
        assert_eq!(pool.epoch(), 1);
        assert!(pool.call(&DataRequest::ListSlots, Some(1)).is_ok());
        assert!(pool.call(&DataRequest::ListSlots, None).is_ok());
        let requests = daemon.requests();
        assert_eq!(requests.len(), 3, "the stale session's request never went out: {requests:?}");
    }

    #[test]
    fn oversized_requests_are_refused_locally() {
        let daemon = FakeDaemon::start(|_| Action::Reply(Ok(DataReply::Done)));
        daemon.set_max_body_len(64);
        let pool = Pool::new(daemon.path(), [7; 16]);
        let big = DataRequest::Sign {
            slot: 1,
            object: 1,
            mechanism: p11kms_proto::pkcs11::Mechanism::new(1),
            data: vec![0; 100],
        };
        let err = pool.call(&big, None).expect_err("too large");
        assert!(matches!(err, Error::TooLarge { limit: 64, .. }));
        assert_eq!(pool.body_limit(), 64);
        assert!(pool.call(&DataRequest::ListSlots, None).is_ok());
        assert_eq!(daemon.connections(), 1, "nothing was sent: the connection stays");
    }

    #[test]
    fn losing_every_connection_starts_a_new_link_generation() {
        let daemon = FakeDaemon::start(|request| match request {
            DataRequest::Logout { .. } => Action::Hangup,
            _ => Action::Reply(Ok(DataReply::Done)),
        });
        let pool = Pool::new(daemon.path(), [7; 16]);
        let (_, first) = pool.exchange(&DataRequest::ListSlots, None).expect("answered");
        assert_eq!(pool.stamp(), first);
        pool.call(&DataRequest::Logout { slot: 1 }, None).expect_err("hung up");
        let after = pool.stamp();
        assert_eq!(after.boot, first.boot, "same daemon");
        assert_ne!(after.link, first.link, "but it forgot this client's logins");
        let (_, again) = pool.exchange(&DataRequest::ListSlots, None).expect("answered");
        assert_eq!(again, after, "a new connection does not start a generation");
    }
}
