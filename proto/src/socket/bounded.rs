//! Socket I/O with a time limit, for the side that must not let a peer
//! hold it forever (the daemon): how long a read may wait
//! ([`Patience`]), a reply the peer must take within a limit
//! ([`send_within`]), a refusal sent without waiting at all
//! ([`try_send`]), and the bounded discard of what a refused peer is still
//! sending ([`drain`]), so that it reads the refusal instead of a reset.
//!
//! Waits here (within a frame, for a reply to be taken) try the call
//! without blocking first and only then `poll(2)` for the time left, so the
//! limits cost no system call while bytes flow. The wait for a frame to
//! begin uses the socket's read timeout instead, set only when it changes
//! (see [`super::FrameReader`]): that is the wait every request ends.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// How long [`super::FrameReader::read_within`] waits for a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// Longest wait for the first byte of the next frame, after the spin.
    /// Not zero.
    pub first_byte: Duration,
    /// Longest time from a frame's first byte to its last.
    pub whole_frame: Duration,
}

/// A point in time a wait must not pass, and the limit it came from (for
/// the error message).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Instant,
    limit: Duration,
}

impl Deadline {
    /// `limit` from now.
    pub(crate) fn after(limit: Duration) -> Self {
        Self { at: Instant::now() + limit, limit }
    }

    /// The limit this deadline was set with.
    pub(crate) fn limit(&self) -> Duration {
        self.limit
    }

    /// Time left; zero once passed.
    fn left(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Waits until `stream` is ready for `events` (`POLLIN`, `POLLOUT`) or
    /// the deadline passes. True: ready, or a condition the next call will
    /// report (hang-up, error, a signal).
    pub(crate) fn wait(&self, stream: &UnixStream, events: libc::c_short) -> io::Result<bool> {
        let left = self.left();
        if left.is_zero() {
            return Ok(false);
        }
        // Rounded up, so that a wait never ends before the deadline.
        let millis = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
        let mut poll = libc::pollfd { fd: stream.as_raw_fd(), events, revents: 0 };
        // SAFETY: `poll` reads and writes the one `pollfd` it is given,
        // which lives for the call; the descriptor is owned by `stream`.
        let ready = unsafe { libc::poll(&mut poll, 1, millis) };
        if ready >= 0 {
            return Ok(ready > 0);
        }
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::Interrupted { Ok(true) } else { Err(error) }
    }
}

/// Sends all of `frame` unless the peer has not taken it within `limit`
/// ([`io::ErrorKind::TimedOut`]). A closed peer is an `EPIPE` error, never
/// a signal. Costs one `send` when the socket has room, as it usually has.
pub fn send_within(stream: &UnixStream, frame: &[u8], limit: Duration) -> io::Result<()> {
    let deadline = Deadline::after(limit);
    let mut sent = 0;
    while sent < frame.len() {
        match send_nowait(stream, &frame[sent..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !deadline.wait(stream, libc::POLLOUT)? {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the peer took {sent} of {} bytes in {limit:?}", frame.len()),
                    ));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sends `frame` only if the socket takes all of it at once: a refusal to a
/// peer that may not be reading. A short write is reported as
/// [`io::ErrorKind::WouldBlock`] (the peer gets a cut frame and then the
/// end of the stream).
pub fn try_send(stream: &UnixStream, frame: &[u8]) -> io::Result<()> {
    let n = send_some(stream, frame)?;
    if n == frame.len() { Ok(()) } else { Err(io::Error::from(io::ErrorKind::WouldBlock)) }
}

/// Sends what of `bytes` the socket takes now, without waiting: returns
/// how many it took (0 when it has no room).
pub fn send_some(stream: &UnixStream, bytes: &[u8]) -> io::Result<usize> {
    match send_nowait(stream, bytes) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
        other => other,
    }
}

/// After a refusal: ends this side's writing (the peer reads the refusal,
/// then the end of the stream) and reads and discards what the peer still
/// sends, until it stops (end of stream, or nothing for `quiet`), `limit`
/// has passed, or `max_bytes` were discarded. Closing a Unix socket with
/// unread bytes makes the peer's next read or write fail with a reset, and
/// a peer still writing its request would never get to read the refusal.
/// Returns the bytes discarded.
pub fn drain(stream: &UnixStream, limit: Duration, quiet: Duration, max_bytes: usize) -> usize {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let deadline = Deadline::after(limit);
    let mut scratch = [0u8; 8 * 1024];
    let mut discarded = 0;
    while discarded < max_bytes {
        match super::recv(stream, &mut scratch, libc::MSG_DONTWAIT) {
            Ok(0) => break,
            Ok(n) => discarded += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let pause = Deadline::after(quiet.min(deadline.left()));
                if !matches!(pause.wait(stream, libc::POLLIN), Ok(true)) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    discarded
}

/// One non-blocking `send` without `SIGPIPE`, retried on `EINTR`.
fn send_nowait(stream: &UnixStream, bytes: &[u8]) -> io::Result<usize> {
    // SAFETY: `send` reads at most `bytes.len()` bytes from `bytes`, which
    // is live for the call; the descriptor is owned by `stream`.
    super::retrying_eintr(|| unsafe {
        libc::send(stream.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT)
    })
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    #[test]
    fn a_reply_the_peer_does_not_take_times_out() {
        let (a, _silent) = UnixStream::pair().expect("pair");
        // Far more than a Unix socket buffers.
        let big = vec![7u8; 16 * 1024 * 1024];
        let start = Instant::now();
        let error = send_within(&a, &big, Duration::from_millis(100)).expect_err("nobody reads");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        // Generous: the wait is 100 ms; a loaded machine may add a lot.
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_reply_the_peer_takes_arrives_whole() {
        let (a, mut b) = UnixStream::pair().expect("pair");
        let big: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 253) as u8).collect();
        let expected = big.clone();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            b.read_to_end(&mut got).map(|_| got)
        });
        send_within(&a, &big, Duration::from_secs(60)).expect("taken");
        drop(a);
        assert!(reader.join().is_ok_and(|got| got.is_ok_and(|got| got == expected)));
    }

    #[test]
    fn try_send_and_send_some_never_wait() {
        let (a, _silent) = UnixStream::pair().expect("pair");
        assert!(try_send(&a, b"small").is_ok());
        let big = vec![0u8; 16 * 1024 * 1024];
        assert_eq!(try_send(&a, &big).expect_err("no room").kind(), io::ErrorKind::WouldBlock);
        assert_eq!(send_some(&a, &big).expect("nothing taken is no error"), 0, "the buffer is full now");
        let (b, _silent) = UnixStream::pair().expect("pair");
        let taken = send_some(&b, &big).expect("some taken");
        assert!(taken > 0 && taken < big.len(), "a part: {taken}");
    }

    #[test]
    fn draining_lets_a_writing_peer_finish_and_read_the_refusal() {
        let (daemon, mut peer) = UnixStream::pair().expect("pair");
        let request = vec![1u8; 2 * 1024 * 1024];
        let writer = std::thread::spawn(move || {
            // More than the socket holds: this write only completes because
            // the other side drains.
            let written = peer.write_all(&request);
            let mut answer = Vec::new();
            let read = peer.read_to_end(&mut answer);
            (written.is_ok(), read.is_ok(), answer)
        });
        try_send(&daemon, b"refusal").expect("sent");
        let discarded = drain(&daemon, Duration::from_secs(30), Duration::from_secs(5), 64 * 1024 * 1024);
        assert_eq!(discarded, 2 * 1024 * 1024);
        drop(daemon);
        let (written, read, answer) = writer.join().expect("writer");
        assert!(written && read, "no reset on either side");
        assert_eq!(answer, b"refusal");
    }

    #[test]
    fn draining_a_silent_peer_stops_after_the_quiet_time() {
        let (daemon, _silent) = UnixStream::pair().expect("pair");
        let start = Instant::now();
        assert_eq!(drain(&daemon, Duration::from_secs(30), Duration::from_millis(50), 1024), 0);
        // Generous: the quiet time is 50 ms; the limit, 30 s, must not be waited for.
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
