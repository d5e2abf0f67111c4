//! One blocking connection to the daemon's data socket.
//!
//! A connection starts with `Hello` (the module copy's client id) and keeps
//! the daemon's `Welcome`: its boot id and body limit. Then it carries one
//! request at a time: a `DataRequest` frame with a fresh request id, and
//! the `DataResponse` frame echoing that id. Any failure leaves the stream
//! in an unknown position, so the caller drops the connection (see
//! [`crate::error::Error::keeps_connection`]).
//!
//! Frames may carry PINs, plaintext and secrets: the encoded request and the
//! raw reply body are wiped once used.
//!
//! Waiting for a reply: the calling thread polls the socket for up to the
//! pool's spin wait before it sleeps, but only while no other thread of
//! this process has a call in flight: with more, the CPUs are better left
//! to the daemon (see `p11kms_proto::socket`). Each connection also learns
//! from its replies ([`SpinBudget`]): when they keep coming after the poll
//! gave up (slow operations such as RSA signatures), it polls less and
//! less, down to not at all, and tries the full poll again now and then.

use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use p11kms_proto::data::{ClientId, DataReply, DataRequest, DataResult};
use p11kms_proto::error::ProtocolError;
use p11kms_proto::frame::encode_frame;
use p11kms_proto::socket::{FrameReader, Spin, SpinGate, send_all};
use p11kms_proto::{HEADER_LEN, MAX_BODY_LEN, MessageKind, decode_body};
use zeroize::Zeroize;

use crate::error::{Error, Result};

/// The daemon's boot id.
pub type BootId = [u8; 16];

/// Longest wait for a reply. Key generation on an HSM cluster can take
/// seconds; a daemon that is silent this long is treated as broken rather
/// than left to hang the application forever.
const READ_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest wait for the daemon to accept a request's bytes.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Calls of this process waiting for a reply; a call polls only while
/// this leaves a CPU free.
static IN_FLIGHT: LazyLock<SpinGate> = LazyLock::new(SpinGate::new);

/// How long a connection polls for its next reply: the configured wait
/// while replies come within it; halved each time one comes after it, down
/// to nothing; and the full wait again every [`SpinBudget::PROBE_EVERY`]th
/// call, so that a connection whose work became fast learns it.
#[derive(Debug, Clone, Copy)]
struct SpinBudget {
    full: Duration,
    current: Duration,
    calls: u32,
}

impl SpinBudget {
    /// Calls between full polls once polling has stopped paying.
    const PROBE_EVERY: u32 = 32;
    /// Below this a poll is not worth starting.
    const FLOOR: Duration = Duration::from_micros(8);

    fn new(full: Duration) -> Self {
        Self { full, current: full, calls: 0 }
    }

    /// The poll for the next call.
    fn next(&mut self) -> Duration {
        self.calls = self.calls.wrapping_add(1);
        if self.current.is_zero() && self.calls % Self::PROBE_EVERY == 0 { self.full } else { self.current }
    }

    /// Learns from a call that polled: did the reply come while polling?
    /// (A failed probe halves nothing: polling stays off.)
    fn learn(&mut self, caught: bool) {
        self.current = if caught {
            self.full
        } else {
            let half = self.current / 2;
            if half < Self::FLOOR { Duration::ZERO } else { half }
        };
    }
}

/// A connection that has been welcomed by the daemon.
#[derive(Debug)]
pub struct Connection {
    stream: UnixStream,
    reader: FrameReader,
    spin: SpinBudget,
    next_id: u32,
    boot_id: BootId,
    max_body_len: u32,
}

impl Connection {
    /// Connects and says hello. Each call then polls up to `spin_wait` for
    /// its reply before sleeping.
    pub fn open(path: &Path, client_id: ClientId, spin_wait: Duration) -> Result<Self> {
        let stream =
            UnixStream::connect(path).map_err(|source| Error::Connect { path: path.display().to_string(), source })?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
        // Until the daemon states its limit, only the protocol's cap holds.
        let mut connection = Self {
            stream,
            reader: FrameReader::new(),
            spin: SpinBudget::new(spin_wait),
            next_id: 1,
            boot_id: [0; 16],
            max_body_len: MAX_BODY_LEN,
        };
        let hello = DataRequest::Hello { client_id, module_version: env!("CARGO_PKG_VERSION").into() };
        match connection.round_trip(&hello)? {
            Ok(DataReply::Welcome { boot_id, max_body_len, .. }) => {
                connection.boot_id = boot_id;
                connection.max_body_len = max_body_len.min(MAX_BODY_LEN);
                Ok(connection)
            }
            // The daemon may refuse a client with a real CK_RV.
            Err(rv) => Err(Error::Rv(rv)),
            Ok(_) => Err(Error::UnexpectedReply("Hello")),
        }
    }

    /// The boot id the daemon announced.
    pub fn boot_id(&self) -> BootId {
        self.boot_id
    }

    /// The largest request body the daemon accepts.
    pub fn max_body_len(&self) -> u32 {
        self.max_body_len
    }

    /// Sends a request and waits for its answer. The outer error is about
    /// the exchange; the inner result is the daemon's PKCS#11 answer.
    pub fn round_trip(&mut self, request: &DataRequest) -> Result<DataResult> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let mut frame = encode_frame(MessageKind::DataRequest, id, request).map_err(Error::Encode)?;
        let body_len = frame.len().saturating_sub(HEADER_LEN);
        if body_len > self.max_body_len as usize {
            frame.zeroize();
            return Err(Error::TooLarge { len: body_len, limit: self.max_body_len });
        }
        let in_flight = IN_FLIGHT.enter();
        // Never `write`: a daemon that died would raise SIGPIPE, and the
        // application may keep its default action (termination).
        let written = send_all(&self.stream, &frame);
        frame.zeroize();
        written?;

        let budget = if IN_FLIGHT.active() <= IN_FLIGHT.limit() { self.spin.next() } else { Duration::ZERO };
        let received = self.reader.read(&self.stream, MAX_BODY_LEN, Spin { budget, gate: None });
        if !budget.is_zero() {
            self.spin.learn(self.reader.caught_polling());
        }
        drop(in_flight);
        let (header, body) = received?.ok_or(Error::Closed)?;
        let reply = match header.kind {
            MessageKind::DataResponse if header.request_id != id => {
                Err(Error::RequestIdMismatch { expected: id, got: header.request_id })
            }
            MessageKind::DataResponse => decode_body::<DataResult>(&body).map_err(Error::Decode),
            MessageKind::ProtocolError => match decode_body::<ProtocolError>(&body) {
                Ok(refusal) => Err(Error::Refused(refusal)),
                Err(e) => Err(Error::Decode(e)),
            },
            other => Err(Error::UnexpectedKind(other)),
        };
        // `body` is wiped as it is dropped.
        reply
    }

    /// True when the daemon has not closed the connection and sent nothing
    /// unasked, checked without blocking. An idle connection is probed
    /// before reuse so that a daemon restart is noticed before a request
    /// is lost on a dead socket.
    pub fn is_alive(&self) -> bool {
        if self.reader.pending() > 0 {
            return false;
        }
        let mut byte = [0u8; 1];
        // SAFETY: `recv` writes at most 1 byte into `byte`, which lives for
        // the call; the descriptor is owned by `self.stream` and open.
        let n = unsafe {
            libc::recv(
                self.stream.as_raw_fd(),
                byte.as_mut_ptr().cast(),
                byte.len(),
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            // Nothing to read: the normal state of an idle connection.
            let err = std::io::Error::last_os_error();
            return matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted);
        }
        // 0: closed by the daemon; more: bytes nobody asked for (likely a
        // protocol error before closing). Either way, not reusable.
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: Duration = Duration::from_micros(250);

    #[test]
    fn slow_replies_turn_polling_off_and_fast_ones_back_on() {
        let mut spin = SpinBudget::new(FULL);
        let mut polls = Vec::new();
        for _ in 0..6 {
            let budget = spin.next();
            polls.push(budget.as_micros());
            spin.learn(false);
        }
        assert_eq!(polls, [250, 125, 62, 31, 15, 0]);
        assert_eq!(spin.next(), Duration::ZERO);
        // A reply caught while polling restores the whole wait.
        spin.current = FULL / 4;
        spin.learn(true);
        assert_eq!(spin.next(), FULL);
    }

    #[test]
    fn polling_off_is_probed_again_now_and_then() {
        let mut spin = SpinBudget::new(FULL);
        while !spin.next().is_zero() {
            spin.learn(false);
        }
        let mut probes = 0;
        for _ in 0..(3 * SpinBudget::PROBE_EVERY) {
            let budget = spin.next();
            if !budget.is_zero() {
                assert_eq!(budget, FULL);
                probes += 1;
                // A failed probe leaves polling off.
                spin.learn(false);
                assert_eq!(spin.current, Duration::ZERO);
            }
        }
        assert_eq!(probes, 3);
        // A probe that catches its reply turns polling back on.
        while spin.next().is_zero() {}
        spin.learn(true);
        assert_eq!(spin.next(), FULL);
    }

    #[test]
    fn a_zero_wait_never_polls() {
        let mut spin = SpinBudget::new(Duration::ZERO);
        assert!((0..100).all(|_| spin.next().is_zero()));
    }
}
