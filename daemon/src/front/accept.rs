//! The accept loop of one socket: every connection is accepted at once,
//! then admitted under the socket's caps ([`super::admission`]) and served
//! on an OS thread of its own, or told why not and closed. Nothing a peer
//! does makes the next peer wait in the listen queue: not the caps, not a
//! shortage of file descriptors or threads.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UnixListener;

use p11kms_proto::error::ProtocolErrorKind;
use p11kms_proto::socket::try_send;

use super::admission::{Admission, Ticket};
use super::connection::Limits;
use super::framing::{protocol_error, protocol_error_frame};
use super::peer::{Peer, peer_identity};
use super::shutdown::{ConnectionGuard, Shutdown};
use super::warning::Throttled;
use crate::service::Service;

/// What serves one admitted connection, on its own thread, within the
/// limits.
pub type ServeConnection = fn(Arc<Service>, UnixStream, Peer, ConnectionGuard, Limits);

/// One socket's accept loop and what it needs.
#[derive(Debug)]
pub struct Acceptor {
    /// The service connections are served by.
    pub service: Arc<Service>,
    /// Tells connections to stop.
    pub shutdown: Shutdown,
    /// The socket's caps and counts.
    pub admission: Arc<Admission>,
    /// What each connection may take of the daemon.
    pub limits: Limits,
    /// Name of the connection threads.
    pub thread: &'static str,
    /// Serves one connection.
    pub serve: ServeConnection,
}

impl Acceptor {
    /// Accepts connections until the listener fails for good.
    pub async fn run(self, listener: UnixListener) -> io::Result<()> {
        let mut reserve = DescriptorReserve::new(&listener);
        let mut failures = 0;
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(error) if is_out_of_descriptors(&error) && reserve.refuse_one(&listener) => continue,
                Err(error) => {
                    backoff(error, &mut failures).await;
                    continue;
                }
            };
            failures = 0;
            let peer = match peer_identity(&stream) {
                Ok(peer) => peer,
                Err(error) => {
                    tracing::warn!(%error, "cannot read peer credentials; closing");
                    continue;
                }
            };
            let stream = match stream.into_std() {
                Ok(stream) => stream,
                Err(error) => {
                    tracing::warn!(%error, "cannot take over an accepted connection; closing");
                    continue;
                }
            };
            match self.admission.admit(peer.uid) {
                Ok(ticket) => self.start(stream, peer, ticket),
                Err(message) => refuse(&stream, message),
            }
        }
    }

    /// Starts the thread that serves an admitted connection; a connection
    /// that cannot have one is told so.
    fn start(&self, stream: UnixStream, peer: Peer, ticket: Ticket) {
        if let Err(error) = stream.set_nonblocking(false) {
            tracing::warn!(%error, "cannot make a connection blocking; closing");
            return;
        }
        let guard = match stream.try_clone() {
            Ok(clone) => self.shutdown.guard_blocking(clone),
            Err(error) => {
                refuse(&stream, format!("p11kmsd cannot serve this connection now ({error}); try again later"));
                return;
            }
        };
        // Kept here too, so that the connection can still be told why if
        // the thread cannot start.
        let work = Arc::new(Mutex::new(Some((stream, guard, ticket))));
        let theirs = Arc::clone(&work);
        let (service, serve, limits) = (Arc::clone(&self.service), self.serve, self.limits.clone());
        let spawned = std::thread::Builder::new().name(self.thread.into()).spawn(move || {
            let taken = theirs.lock().ok().and_then(|mut work| work.take());
            if let Some((stream, guard, ticket)) = taken {
                serve(service, stream, peer, guard, limits);
                drop(ticket);
            }
        });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start a connection thread");
            let taken = work.lock().ok().and_then(|mut work| work.take());
            if let Some((stream, _, _)) = taken {
                refuse(
                    &stream,
                    format!("p11kmsd cannot start a thread for this connection ({error}); try again later"),
                );
            }
        }
    }
}

/// Tells a peer why it is not served (a `ProtocolError` of kind
/// `Unavailable`), without waiting for it; the caller closes.
fn refuse(stream: &UnixStream, message: String) {
    tracing::debug!(%message, "connection refused");
    let refusal = protocol_error(ProtocolErrorKind::Unavailable, message);
    let _ = try_send(stream, &protocol_error_frame(&refusal));
}

/// True for the errors of a process (or system) out of file descriptors.
fn is_out_of_descriptors(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Waits after a failed accept before trying again, as mini-redis does.
async fn backoff(error: io::Error, attempt: &mut u32) {
    tracing::error!(%error, "accept failed");
    *attempt = (*attempt + 1).min(6);
    tokio::time::sleep(Duration::from_millis(10 << *attempt)).await;
}

/// One file descriptor held back, so that a process out of descriptors
/// can still accept a connection, tell the peer why, and close it,
/// instead of leaving it and every later peer in the listen queue.
#[derive(Debug)]
struct DescriptorReserve {
    fd: Option<OwnedFd>,
    refusals: Throttled,
}

impl DescriptorReserve {
    fn new(listener: &UnixListener) -> Self {
        Self { fd: listener.as_fd().try_clone_to_owned().ok(), refusals: Throttled::default() }
    }

    /// After an accept failed for want of descriptors: frees the reserve,
    /// accepts and refuses the connection waiting (if one is: Linux takes
    /// the descriptor before it looks at the queue, so the failure does
    /// not say one is), and takes the reserve again. False when nobody
    /// was refused: the caller backs off before trying again.
    fn refuse_one(&mut self, listener: &UnixListener) -> bool {
        let Some(reserve) = self.fd.take() else {
            self.fd = listener.as_fd().try_clone_to_owned().ok();
            return false;
        };
        drop(reserve);
        let waiting = accept_now(listener);
        if let Some(stream) = &waiting {
            let limit = open_file_limit().map_or_else(|| "unknown".to_owned(), |limit| limit.to_string());
            refuse(
                stream,
                format!(
                    "p11kmsd is out of file descriptors (its open-file limit is {limit}); try again later, \
                     or raise the limit (LimitNOFILE) or lower the connection caps"
                ),
            );
            if let Some(refused) = self.refusals.occurred() {
                tracing::warn!(refused, limit, "out of file descriptors: refusing connections");
            }
        }
        let refused = waiting.is_some();
        drop(waiting);
        self.fd = listener.as_fd().try_clone_to_owned().ok();
        refused
    }
}

/// The connection waiting on `listener`, if one is, without waiting (the
/// listener is non-blocking, as tokio keeps it).
fn accept_now(listener: &UnixListener) -> Option<UnixStream> {
    // SAFETY: accept4 with null address pointers writes no memory; it
    // returns a new descriptor, which is owned from here on, or -1.
    let fd =
        unsafe { libc::accept4(listener.as_raw_fd(), std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC) };
    // SAFETY: `fd` was just returned by accept4 and nothing else owns it.
    (fd >= 0).then(|| unsafe { UnixStream::from_raw_fd(fd) })
}

/// The process's soft limit on open files.
pub fn open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one `rlimit`, which lives for the call.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (rc == 0).then_some(limit.rlim_cur)
}
