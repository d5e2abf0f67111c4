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
mod tests {
    use std::io::Write;

    use super::*;
    use crate::MAX_BODY_LEN;
    use crate::frame::{MessageKind, encode_frame};

    fn frame(id: u32, body: &[u8]) -> Vec<u8> {
        encode_frame(MessageKind::DataRequest, id, &body.to_vec()).unwrap_or_default()
    }

    #[test]
    fn reads_frames_sent_together_one_at_a_time() {
        let (mut a, b) = UnixStream::pair().expect("pair");
        let mut both = frame(1, b"first");
        both.extend(frame(2, b"second"));
        a.write_all(&both).expect("write");
        let mut reader = FrameReader::new();
        let (h1, b1) = reader.read(&b, MAX_BODY_LEN, Spin::NEVER).expect("read").expect("frame");
        assert_eq!(h1.request_id, 1);
        assert!(reader.pending() > 0, "the second frame waits in the buffer");
        let (h2, b2) = reader.read(&b, MAX_BODY_LEN, Spin::NEVER).expect("read").expect("frame");
        assert_eq!(h2.request_id, 2);
        assert_ne!(b1.as_slice(), b2.as_slice());
        assert_eq!(reader.pending(), 0);
        drop(a);
        assert!(reader.read(&b, MAX_BODY_LEN, Spin::NEVER).expect("eof").is_none());
    }

    #[test]
    fn a_body_larger_than_the_buffer_arrives_whole() {
        let (mut a, b) = UnixStream::pair().expect("pair");
        let big: Vec<u8> = (0..CHUNK * 3 + 17).map(|i| i as u8).collect();
        let sent = frame(9, &big);
        let writer = std::thread::spawn(move || a.write_all(&sent).map(|()| a));
        let mut reader = FrameReader::new();
        let (header, body) = reader.read(&b, MAX_BODY_LEN, Spin::NEVER).expect("read").expect("frame");
        assert_eq!(header.request_id, 9);
        let decoded: Vec<u8> = crate::decode_body(&body).expect("body");
        assert_eq!(decoded, big);
        assert!(writer.join().is_ok());
    }

    #[test]
    fn a_frame_cut_short_is_truncated_and_a_bad_header_refused() {
        let (mut a, b) = UnixStream::pair().expect("pair");
        let whole = frame(3, b"cut");
        a.write_all(&whole[..whole.len() - 1]).expect("write");
        drop(a);
        let mut reader = FrameReader::new();
        assert!(matches!(reader.read(&b, MAX_BODY_LEN, Spin::NEVER), Err(FrameError::Truncated)));

        let (mut a, b) = UnixStream::pair().expect("pair");
        a.write_all(&[0xff; HEADER_LEN]).expect("write");
        let mut reader = FrameReader::new();
        assert!(reader.read(&b, MAX_BODY_LEN, Spin::NEVER).is_err());
    }

    #[test]
    fn a_spinning_wait_picks_up_a_late_frame_and_leaves_the_gate() {
        let gate = SpinGate::with_limit(1);
        let (mut a, b) = UnixStream::pair().expect("pair");
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            a.write_all(&frame(4, b"late")).map(|()| a)
        });
        let mut reader = FrameReader::new();
        // The budget runs out before the frame comes: the read then blocks.
        let spin = Spin { budget: Duration::from_micros(200), gate: Some(&gate) };
        let (header, _) = reader.read(&b, MAX_BODY_LEN, spin).expect("read").expect("frame");
        assert_eq!(header.request_id, 4);
        assert!(!reader.caught_polling(), "the frame came after the poll gave up");
        assert_eq!(gate.active(), 0, "a thread that stopped spinning is not counted");
        assert!(late.join().is_ok());
    }

    #[test]
    fn a_frame_already_there_is_caught_while_polling() {
        let (mut a, b) = UnixStream::pair().expect("pair");
        a.write_all(&frame(6, b"ready")).expect("write");
        let mut reader = FrameReader::new();
        let spin = Spin { budget: Duration::from_millis(5), gate: None };
        assert!(reader.read(&b, MAX_BODY_LEN, spin).expect("read").is_some());
        assert!(reader.caught_polling());
        a.write_all(&frame(7, b"again")).expect("write");
        assert!(reader.read(&b, MAX_BODY_LEN, Spin::NEVER).expect("read").is_some());
        assert!(!reader.caught_polling(), "no poll, no catch");
    }

    #[test]
    fn the_gate_admits_up_to_its_limit() {
        let gate = SpinGate::with_limit(2);
        let first = gate.try_enter();
        let second = gate.enter();
        assert!(first.is_some());
        assert!(gate.try_enter().is_none(), "two active threads fill a gate of two");
        drop(second);
        assert!(gate.try_enter().is_some());
        assert!(SpinGate::new().limit() >= 1);
    }

    #[test]
    fn sending_to_a_closed_peer_is_an_error_not_a_signal() {
        let (a, b) = UnixStream::pair().expect("pair");
        drop(b);
        // In a child with the default SIGPIPE action (as in a C program
        // that loads the module), so that a signal would kill it. The child
        // only makes async-signal-safe calls before `_exit`.
        // SAFETY: see above; the parent only waits for the child.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            // SAFETY: resetting a signal disposition and exiting are
            // async-signal-safe.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                let code = match send_all(&a, b"to nobody") {
                    Err(e) if e.raw_os_error() == Some(libc::EPIPE) => 0,
                    _ => 1,
                };
                libc::_exit(code);
            }
        }
        let mut status = 0;
        // SAFETY: waits for the child forked above.
        let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(waited, pid);
        assert!(libc::WIFEXITED(status), "the child was killed by signal {}", libc::WTERMSIG(status));
        assert_eq!(libc::WEXITSTATUS(status), 0, "the send did not fail with EPIPE");
    }

    #[test]
    fn send_all_delivers_a_frame_larger_than_the_socket_buffer() {
        let (a, b) = UnixStream::pair().expect("pair");
        let big: Vec<u8> = (0..CHUNK * 40).map(|i| (i % 251) as u8).collect();
        let sent = frame(5, &big);
        let writer = std::thread::spawn(move || send_all(&a, &sent).map(|()| a));
        let mut reader = FrameReader::new();
        let (_, body) = reader.read(&b, MAX_BODY_LEN, Spin::NEVER).expect("read").expect("frame");
        let decoded: Vec<u8> = crate::decode_body(&body).expect("body");
        assert_eq!(decoded, big);
        assert!(writer.join().is_ok_and(|r| r.is_ok()));
    }

    /// Records the largest allocation made by a thread that asked for it,
    /// so a test can see what reading a frame allocates. Other threads'
    /// allocations are not recorded.
    mod largest_allocation {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        struct Recording;

        thread_local! {
            static RECORDING: Cell<bool> = const { Cell::new(false) };
            static LARGEST: Cell<usize> = const { Cell::new(0) };
        }

        fn note(size: usize) {
            if RECORDING.with(Cell::get) {
                LARGEST.with(|largest| largest.set(largest.get().max(size)));
            }
        }

        // SAFETY: every call is passed on to the system allocator
        // unchanged; recording touches only const-initialized thread
        // locals, which never allocate.
        unsafe impl GlobalAlloc for Recording {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                note(layout.size());
                // SAFETY: the caller's contract, passed on.
                unsafe { System.alloc(layout) }
            }
            unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
                note(layout.size());
                // SAFETY: the caller's contract, passed on.
                unsafe { System.alloc_zeroed(layout) }
            }
            unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
                note(new_size);
                // SAFETY: the caller's contract, passed on.
                unsafe { System.realloc(ptr, layout, new_size) }
            }
            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                // SAFETY: the caller's contract, passed on.
                unsafe { System.dealloc(ptr, layout) }
            }
        }

        #[global_allocator]
        static ALLOCATOR: Recording = Recording;

        /// Runs `f` and returns its result with the largest allocation it
        /// made on this thread.
        pub fn during<T>(f: impl FnOnce() -> T) -> (T, usize) {
            LARGEST.with(|largest| largest.set(0));
            RECORDING.with(|recording| recording.set(true));
            let result = f();
            RECORDING.with(|recording| recording.set(false));
            (result, LARGEST.with(Cell::get))
        }
    }

    const PATIENT: Patience = Patience { first_byte: Duration::from_secs(30), whole_frame: Duration::from_secs(30) };

    #[test]
    fn a_body_is_allocated_as_it_arrives_and_a_stalled_one_is_refused() {
        let (mut a, b) = UnixStream::pair().expect("pair");
        let announced = 4 * 1024 * 1024;
        let arrived = 20 * 1024;
        a.write_all(&Header::new(MessageKind::DataRequest, 1, announced).encode()).expect("header");
        a.write_all(&vec![1u8; arrived]).expect("some of the body");
        let mut reader = FrameReader::new();
        let patience = Patience { first_byte: Duration::from_secs(30), whole_frame: Duration::from_millis(100) };
        let (result, largest) =
            largest_allocation::during(|| reader.read_within(&b, MAX_BODY_LEN, Spin::NEVER, patience));
        assert!(matches!(result, Err(FrameError::Stalled(limit)) if limit == patience.whole_frame), "{result:?}");
        // Doubling steps from what arrived: at most twice that (or the
        // first step), nowhere near the 4 MiB announced.
        assert!(largest <= 2 * arrived.max(CHUNK), "allocated {largest} bytes for {arrived} received");
    }

    #[test]
    fn a_body_sent_in_pieces_arrives_whole_within_the_limits() {
        let (mut a, b) = UnixStream::pair().expect("pair");
        let big: Vec<u8> = (0..CHUNK * 100 + 5).map(|i| (i % 249) as u8).collect();
        let sent = frame(8, &big);
        let writer = std::thread::spawn(move || {
            for piece in sent.chunks(CHUNK * 7) {
                a.write_all(piece)?;
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok::<_, io::Error>(a)
        });
        let mut reader = FrameReader::new();
        let (header, body) = reader.read_within(&b, MAX_BODY_LEN, Spin::NEVER, PATIENT).expect("read").expect("frame");
        assert_eq!(header.request_id, 8);
        assert_eq!(crate::decode_body::<Vec<u8>>(&body).expect("body"), big);
        assert!(writer.join().is_ok_and(|r| r.is_ok()));
    }

    #[test]
    fn a_reply_of_the_protocol_cap_still_arrives_whole() {
        // The module reads replies up to 16 MiB with `read`.
        let (a, b) = UnixStream::pair().expect("pair");
        let big = vec![0x5au8; MAX_BODY_LEN as usize - 8];
        let sent = frame(11, &big);
        assert!(sent.len() - HEADER_LEN <= MAX_BODY_LEN as usize);
        let writer = std::thread::spawn(move || send_all(&a, &sent).map(|()| a));
        let mut reader = FrameReader::new();
        let (header, body) = reader.read(&b, MAX_BODY_LEN, Spin::NEVER).expect("read").expect("frame");
        assert_eq!((header.request_id, body.len()), (11, header.body_len as usize));
        assert_eq!(crate::decode_body::<Vec<u8>>(&body).expect("body"), big);
        assert!(writer.join().is_ok_and(|r| r.is_ok()));
    }

    #[test]
    fn a_frame_that_does_not_begin_in_time_is_idle_and_the_reader_goes_on() {
        let (mut a, b) = UnixStream::pair().expect("pair");
        let mut reader = FrameReader::new();
        let short = Patience { first_byte: Duration::from_millis(30), whole_frame: Duration::from_secs(30) };
        let result = reader.read_within(&b, MAX_BODY_LEN, Spin::NEVER, short);
        assert!(matches!(result, Err(FrameError::Idle(wait)) if wait == short.first_byte), "{result:?}");
        assert!(!reader.input_waiting(&b));
        a.write_all(&frame(12, b"late but welcome")).expect("write");
        assert!(reader.input_waiting(&b));
        let (header, _) = reader.read_within(&b, MAX_BODY_LEN, Spin::NEVER, PATIENT).expect("read").expect("frame");
        assert_eq!(header.request_id, 12);
        drop(a);
        assert!(reader.read_within(&b, MAX_BODY_LEN, Spin::NEVER, PATIENT).expect("eof").is_none());
    }

    #[test]
    fn a_header_cut_short_stalls_too() {
        let (mut a, b) = UnixStream::pair().expect("pair");
        a.write_all(&frame(13, b"x")[..5]).expect("write");
        let mut reader = FrameReader::new();
        let patience = Patience { first_byte: Duration::from_secs(30), whole_frame: Duration::from_millis(30) };
        assert!(matches!(reader.read_within(&b, MAX_BODY_LEN, Spin::NEVER, patience), Err(FrameError::Stalled(_))));
    }

    #[test]
    fn a_read_timeout_is_reported_as_timed_out() {
        let (_a, b) = UnixStream::pair().expect("pair");
        b.set_read_timeout(Some(Duration::from_millis(10))).expect("timeout");
        let mut reader = FrameReader::new();
        match reader.read(&b, MAX_BODY_LEN, Spin::NEVER) {
            Err(FrameError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::TimedOut),
            other => panic!("expected a timeout, got {other:?}"),
        }
    }
}
