//! How both ends move frames over a Unix socket: wait for the next frame
//! (poll for a short while, then sleep in a blocking read), read it, and
//! send one without raising `SIGPIPE`.
//!
//! Why spin at all: on the virtual machines we run on, a frame that must
//! wake a thread sleeping on the other CPU costs 15 to 50 µs (the idle CPU
//! halts and has to be interrupted), several times what the frame itself
//! costs. A thread that keeps polling its socket for a few tens of
//! microseconds picks the frame up as soon as it lands; between polls it
//! yields, so a runnable thread on the same CPU (the peer, often) is not
//! held up. Spinning burns a CPU, so it is bounded twice: by a time budget
//! per wait, and by a [`SpinGate`] that lets a thread spin only while a CPU
//! is likely to be free for it. `docs/performance.md` has the measurements.
//!
//! [`FrameReader`] also saves a system call per frame: it reads whatever
//! the socket holds into its buffer, usually header and body at once. A
//! body is allocated as its bytes arrive, in doubling steps, never at the
//! length its header announces: a peer that announces 4 MiB and sends
//! nothing more costs the reader a few KiB, not 4 MiB.
//! [`FrameReader::read_within`] also bounds the waits ([`Patience`]): for
//! a frame to begin, and for a begun frame to end; [`bounded`] has the
//! daemon's other time-limited I/O.
//!
//! [`send_all`] uses `MSG_NOSIGNAL`: the module runs inside applications
//! that keep the default `SIGPIPE` action, and a write to a daemon that has
//! just died must fail with `EPIPE`, not kill the application.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use zeroize::{Zeroize, Zeroizing};

use crate::frame::{FrameError, HEADER_LEN, Header};

pub mod bounded;

use bounded::Deadline;
pub use bounded::{Patience, drain, send_some, send_within, try_send};

/// A frame's header and its body (wiped when dropped).
pub type Frame = (Header, Zeroizing<Vec<u8>>);

/// Bytes read from the socket at a time: a 4 KiB payload and its framing
/// arrive in one call; larger bodies are read straight into their own
/// buffer. Kept small because every connection has one (the module keeps
/// up to 32 idle connections).
const CHUNK: usize = 8 * 1024;

/// Counts the threads that use a CPU for the wire (serving a request,
/// waiting for a reply, or spinning) so that a thread spins only while
/// fewer than half the machine's CPUs (at least one) are taken that way.
#[derive(Debug)]
pub struct SpinGate {
    active: AtomicUsize,
    limit: usize,
}

impl SpinGate {
    /// A gate sized for this machine.
    pub fn new() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Self::with_limit((cpus / 2).max(1))
    }

    /// A gate that admits `limit` active threads.
    pub const fn with_limit(limit: usize) -> Self {
        Self { active: AtomicUsize::new(0), limit }
    }

    /// Counts the caller as active until the guard is dropped.
    pub fn enter(&self) -> Active<'_> {
        self.active.fetch_add(1, Ordering::AcqRel);
        Active { gate: self }
    }

    /// Counts the caller as active if the gate still has room.
    pub fn try_enter(&self) -> Option<Active<'_>> {
        self.active
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.limit).then_some(n + 1))
            .ok()
            .map(|_| Active { gate: self })
    }

    /// Active threads now.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// How many active threads the gate admits.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl Default for SpinGate {
    fn default() -> Self {
        Self::new()
    }
}

/// A thread counted by a [`SpinGate`].
#[derive(Debug)]
pub struct Active<'a> {
    gate: &'a SpinGate,
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.gate.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How long a wait may spin before it sleeps, and the gate that must admit
/// the spinning thread (none: the caller already decided).
#[derive(Debug, Clone, Copy)]
pub struct Spin<'a> {
    /// Longest poll before sleeping; zero never spins.
    pub budget: Duration,
    /// Counts the spinning thread while it spins.
    pub gate: Option<&'a SpinGate>,
}

impl Spin<'_> {
    /// Never spin: sleep in the read at once.
    pub const NEVER: Spin<'static> = Spin { budget: Duration::ZERO, gate: None };
}

/// Reads frames from one socket, keeping the bytes that arrived early.
/// Everything it buffers is wiped once handed out and when it is dropped:
/// frames may carry PINs and plaintext.
///
/// A reader serves one stream: [`FrameReader::read_within`] sets the
/// stream's read timeout and remembers what it set.
#[derive(Debug)]
pub struct FrameReader {
    buffer: Zeroizing<Vec<u8>>,
    /// Bytes of `buffer` received and not yet handed out.
    filled: usize,
    /// Whether the last frame's first bytes came while polling.
    caught_polling: bool,
    /// The read timeout this reader last set on its stream (`SO_RCVTIMEO`,
    /// set only when the wait for a first byte changes: between frames,
    /// the limits cost no system call).
    read_timeout: Option<Duration>,
}

impl Default for FrameReader {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self { buffer: Zeroizing::new(vec![0; CHUNK]), filled: 0, caught_polling: false, read_timeout: None }
    }

    /// Whether the last [`FrameReader::read`] got its frame while polling
    /// (false: it slept, or did not poll at all). Lets a caller tune how
    /// long it polls.
    pub fn caught_polling(&self) -> bool {
        self.caught_polling
    }

    /// Bytes received but not yet handed out (a peer that sent more than
    /// one frame at once).
    pub fn pending(&self) -> usize {
        self.filled
    }

    /// The next frame, or `None` when the peer closed the socket between
    /// frames. Waits as `spin` allows, then blocks (honouring the socket's
    /// read timeout, reported as [`io::ErrorKind::TimedOut`]).
    pub fn read(&mut self, stream: &UnixStream, limit: u32, spin: Spin<'_>) -> Result<Option<Frame>, FrameError> {
        self.read_frame(stream, limit, spin, None)
    }

    /// [`FrameReader::read`] with limits on the waits: a frame must begin
    /// within `patience.first_byte` after the spin ([`FrameError::Idle`]),
    /// and end within `patience.whole_frame` of its first byte
    /// ([`FrameError::Stalled`]).
    pub fn read_within(
        &mut self,
        stream: &UnixStream,
        limit: u32,
        spin: Spin<'_>,
        patience: Patience,
    ) -> Result<Option<Frame>, FrameError> {
        self.read_frame(stream, limit, spin, Some(patience))
    }

    /// True when bytes of a next frame are already here (buffered, or
    /// waiting in the socket), checked without blocking.
    pub fn input_waiting(&self, stream: &UnixStream) -> bool {
        let mut byte = [0u8; 1];
        self.filled > 0 || recv(stream, &mut byte, libc::MSG_PEEK | libc::MSG_DONTWAIT).is_ok_and(|n| n > 0)
    }

    fn read_frame(
        &mut self,
        stream: &UnixStream,
        limit: u32,
        spin: Spin<'_>,
        patience: Option<Patience>,
    ) -> Result<Option<Frame>, FrameError> {
        self.caught_polling = false;
        if self.filled == 0 && self.first_bytes(stream, spin, patience.map(|p| p.first_byte))? == 0 {
            return Ok(None);
        }
        let deadline = patience.map(|p| Deadline::after(p.whole_frame));
        while self.filled < HEADER_LEN {
            let at = self.filled;
            match receive(stream, &mut self.buffer[at..], deadline)? {
                0 => return Err(FrameError::Truncated),
                n => self.filled += n,
            }
        }
        let mut head = [0u8; HEADER_LEN];
        head.copy_from_slice(&self.buffer[..HEADER_LEN]);
        let header = Header::decode(&head, limit)?;
        let body_len = header.body_len as usize;
        let buffered = (self.filled - HEADER_LEN).min(body_len);
        // Sized for what is here, or a first step: never for what the
        // header announces.
        let mut body = Zeroizing::new(vec![0; body_len.min(buffered.max(CHUNK))]);
        body[..buffered].copy_from_slice(&self.buffer[HEADER_LEN..HEADER_LEN + buffered]);
        self.consume(HEADER_LEN + buffered);
        let mut at = buffered;
        while at < body_len {
            if at == body.len() {
                body = grown(body, body_len);
            }
            match receive(stream, &mut body[at..], deadline)? {
                0 => return Err(FrameError::Truncated),
                n => at += n,
            }
        }
        Ok(Some((header, body)))
    }

    /// Receives the first bytes of a frame into the empty buffer, first
    /// polling as `spin` allows, then blocking for at most `wait` (or as
    /// the socket's read timeout allows). Returns 0 at end of stream.
    fn first_bytes(
        &mut self,
        stream: &UnixStream,
        spin: Spin<'_>,
        wait: Option<Duration>,
    ) -> Result<usize, FrameError> {
        if !spin.budget.is_zero() {
            let admitted = spin.gate.map(SpinGate::try_enter);
            if !matches!(admitted, Some(None)) {
                let start = Instant::now();
                loop {
                    match recv(stream, &mut self.buffer[..], libc::MSG_DONTWAIT) {
                        Ok(n) => {
                            self.filled = n;
                            self.caught_polling = true;
                            return Ok(n);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(FrameError::Io(e)),
                    }
                    if start.elapsed() >= spin.budget {
                        break;
                    }
                    // SAFETY: sched_yield takes no arguments; it only lets
                    // another runnable thread have this CPU.
                    unsafe { libc::sched_yield() };
                }
            }
        }
        if let Some(wait) = wait.filter(|wait| self.read_timeout != Some(*wait)) {
            stream.set_read_timeout(Some(wait))?;
            self.read_timeout = Some(wait);
        }
        let n = match recv(stream, &mut self.buffer[..], 0) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(match wait {
                    Some(wait) => FrameError::Idle(wait),
                    None => FrameError::Io(io::Error::new(io::ErrorKind::TimedOut, "read timed out")),
                });
            }
            other => other?,
        };
        self.filled = n;
        Ok(n)
    }

    /// Hands out the first `n` buffered bytes: wipes them and moves any
    /// later bytes to the front.
    fn consume(&mut self, n: usize) {
        self.buffer.copy_within(n..self.filled, 0);
        let rest = self.filled - n;
        self.buffer[rest..self.filled].zeroize();
        self.filled = rest;
    }
}

/// `body` (holding `body.len()` received bytes) in a buffer twice as
/// large, but no larger than `cap`. The old buffer is wiped as it goes:
/// a growing `Vec` would leave its old allocation unwiped.
fn grown(body: Zeroizing<Vec<u8>>, cap: usize) -> Zeroizing<Vec<u8>> {
    let mut bigger = Zeroizing::new(vec![0; cap.min(body.len().saturating_mul(2).max(CHUNK))]);
    bigger[..body.len()].copy_from_slice(&body);
    bigger
}

/// Receives into `buf` the next bytes of a begun frame: before `deadline`
/// ([`FrameError::Stalled`] after it), or as the socket's read timeout
/// allows without one. Returns 0 at end of stream.
fn receive(stream: &UnixStream, buf: &mut [u8], deadline: Option<Deadline>) -> Result<usize, FrameError> {
    let Some(deadline) = deadline else {
        return match recv(stream, buf, 0) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                Err(FrameError::Io(io::Error::new(io::ErrorKind::TimedOut, "read timed out")))
            }
            other => Ok(other?),
        };
    };
    loop {
        match recv(stream, buf, libc::MSG_DONTWAIT) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => return Ok(other?),
        }
        if !deadline.wait(stream, libc::POLLIN)? {
            return Err(FrameError::Stalled(deadline.limit()));
        }
    }
}

/// Sends all of `frame`, blocking as needed (and honouring the socket's
/// write timeout, reported as [`io::ErrorKind::TimedOut`]). A closed peer
/// is an `EPIPE` error, never a signal.
pub fn send_all(stream: &UnixStream, frame: &[u8]) -> io::Result<()> {
    let mut sent = 0;
    while sent < frame.len() {
        let rest = &frame[sent..];
        // SAFETY: `send` reads at most `rest.len()` bytes from `rest`, which
        // is live for the call; the descriptor is owned by `stream` and open.
        let n = unsafe { libc::send(stream.as_raw_fd(), rest.as_ptr().cast(), rest.len(), libc::MSG_NOSIGNAL) };
        if n > 0 {
            sent += n as usize;
            continue;
        }
        let error = if n == 0 { io::Error::from(io::ErrorKind::WriteZero) } else { io::Error::last_os_error() };
        match error.kind() {
            io::ErrorKind::Interrupted => {}
            io::ErrorKind::WouldBlock => return Err(io::Error::new(io::ErrorKind::TimedOut, "write timed out")),
            _ => return Err(error),
        }
    }
    Ok(())
}

/// `recv(2)` into `buf` with `flags`, retrying on `EINTR`.
fn recv(stream: &UnixStream, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: `recv` writes at most `buf.len()` bytes into `buf`, which is
    // live and exclusively borrowed for the call; the descriptor is owned
    // by `stream` and open.
    retrying_eintr(|| unsafe { libc::recv(stream.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) })
}

/// Runs a system call that returns a byte count or -1 with `errno`, again
/// while it was interrupted by a signal.
fn retrying_eintr(mut call: impl FnMut() -> isize) -> io::Result<usize> {
    loop {
        let n = call();
        if n >= 0 {
            return Ok(n as usize);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

#[cfg(test)]
mod tests;
