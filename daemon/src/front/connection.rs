//! The frame loop both sockets share: one connection on its own OS thread
//! reads a frame, has its plane answer it on that same thread, and writes
//! the reply, until the peer closes, breaks the protocol or a time limit,
//! or the daemon shuts down (which shuts the stream's reading half; see
//! `shutdown`).
//!
//! A frame that breaks the rules (bad magic, other major version, a body
//! over the limit, a kind this socket does not take) gets a protocol error
//! and the connection closes; other connections are not affected. What
//! the body means is the plane's business ([`Plane`]).
//!
//! Time limits ([`Limits`], from `[sockets]`): the first frame must begin
//! within the handshake limit; a connection that then sends nothing for
//! the idle limit is closed, unless its plane says closing would cost its
//! client something (a data client's logins); a begun frame must end, and
//! a reply be taken, within the frame limit. So a peer that stalls holds a
//! thread for a bounded time, and only the bytes it really sent.

use std::io;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use p11kms_proto::error::{ProtocolError, ProtocolErrorKind};
use p11kms_proto::frame::{FrameError, HEADER_LEN, Header, MAX_BODY_LEN, MessageKind};
use p11kms_proto::socket::{FrameReader, Patience, Spin, drain, send_some, send_within, try_send};

use super::framing::{frame_error_reply, protocol_error, protocol_error_frame};
use super::unsent::UnsentReplies;
use super::warning::Throttled;
use crate::config::SocketsConfig;

/// After a protocol error, how long the daemon goes on reading (and
/// discarding) what the peer still sends, so that the peer gets to read
/// the error instead of a reset...
const LINGER: Duration = Duration::from_secs(2);
/// ...stopping sooner once the peer has sent nothing for this long...
const LINGER_QUIET: Duration = Duration::from_millis(250);
/// ...or has sent this much.
const LINGER_BYTES: usize = MAX_BODY_LEN as usize + HEADER_LEN;

/// What a connection may take of the daemon: body size, time limits, and
/// its share of the budget of unsent replies (one for the whole daemon).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub body: u32,
    /// Longest wait for the first frame to begin.
    pub handshake: Duration,
    /// Longest wait for a next frame to begin before the connection may be
    /// closed as idle.
    pub idle: Duration,
    /// Longest time from a frame's first byte to its last, and for the
    /// peer to take a reply.
    pub frame: Duration,
    /// Reply bytes held for peers that do not read them, all connections
    /// together.
    pub unsent: Arc<UnsentReplies>,
    /// Replies dropped for want of that budget, and connections closed
    /// for a time limit: warnings an attacker can repeat at will.
    dropped: Arc<Throttled>,
    timed_out: Arc<Throttled>,
}

impl Limits {
    /// The limits `[sockets]` sets.
    pub fn of(config: &SocketsConfig) -> Self {
        Self {
            body: config.max_body_bytes,
            handshake: Duration::from_secs(config.handshake_timeout_seconds),
            idle: Duration::from_secs(config.idle_timeout_seconds),
            frame: Duration::from_secs(config.frame_timeout_seconds),
            unsent: Arc::new(UnsentReplies::new(usize::try_from(config.max_unsent_reply_bytes).unwrap_or(usize::MAX))),
            dropped: Arc::default(),
            timed_out: Arc::default(),
        }
    }

    /// Sends a reply: at once when the socket takes it, as it usually
    /// does; otherwise within the frame limit, held against the budget of
    /// unsent replies (an error when over it: the reply is dropped).
    fn deliver(&self, stream: &UnixStream, frame: &[u8]) -> io::Result<()> {
        let taken = send_some(stream, frame)?;
        if taken == frame.len() {
            return Ok(());
        }
        // The whole reply stays in memory until the peer has taken it.
        let Some(_held) = self.unsent.hold(frame.len()) else {
            if let Some(dropped) = self.dropped.occurred() {
                tracing::warn!(dropped, "replies dropped: peers do not read them (sockets.max_unsent_reply_bytes)");
            }
            return Err(io::Error::other(format!(
                "the replies waiting for peers that do not read them would exceed \
                 sockets.max_unsent_reply_bytes = {}",
                self.unsent.limit()
            )));
        };
        send_within(stream, &frame[taken..], self.frame)
    }
}

/// One plane's side of a connection.
pub trait Plane {
    /// The frame kind this socket takes.
    const REQUEST: MessageKind;
    /// The socket's name, for logs.
    const NAME: &'static str;

    /// Answers one request: the whole reply frame, or a protocol error
    /// after which the connection closes.
    fn answer(&mut self, header: &Header, body: &[u8]) -> Result<Zeroizing<Vec<u8>>, ProtocolError>;

    /// The protocol error for a frame of another kind.
    fn wrong_kind(&self, kind: MessageKind) -> ProtocolError {
        protocol_error(
            ProtocolErrorKind::UnexpectedKind,
            format!("the {} socket does not take {kind:?} frames", Self::NAME),
        )
    }

    /// Whether the connection may be closed after the idle limit: false
    /// while closing it would end something its peer still has.
    fn may_close_when_idle(&self) -> bool {
        true
    }
}

/// Serves `stream` for `plane` until the connection ends. `spin` says how
/// long to poll for the next frame before sleeping in the read.
pub fn serve<P: Plane>(stream: &UnixStream, uid: u32, limits: &Limits, spin: Spin<'_>, plane: &mut P) {
    // Bodies and replies can hold PINs, plaintext and secret values: the
    // reader and both buffers are wiped when dropped.
    let mut reader = FrameReader::new();
    let mut first = true;
    loop {
        let patience =
            Patience { first_byte: if first { limits.handshake } else { limits.idle }, whole_frame: limits.frame };
        let (header, body) = match reader.read_within(stream, limits.body, spin, patience) {
            Ok(Some(frame)) => frame,
            Ok(None) => return,
            Err(FrameError::Idle(_)) if !first => {
                // A request that came just as the wait ended is served.
                if !plane.may_close_when_idle() || reader.input_waiting(stream) {
                    continue;
                }
                tracing::debug!(uid, socket = P::NAME, "closing an idle connection");
                return;
            }
            Err(error) => {
                if !matches!(error, FrameError::Idle(_) | FrameError::Stalled(_)) {
                    tracing::warn!(uid, socket = P::NAME, %error, "bad frame; closing");
                } else if let Some(closed) = limits.timed_out.occurred() {
                    tracing::warn!(uid, socket = P::NAME, %error, closed, "closing connections over a time limit");
                }
                if let Some(refusal) = frame_error_reply(&error) {
                    refuse(stream, &refusal, &error);
                }
                return;
            }
        };
        first = false;
        let reply =
            if header.kind == P::REQUEST { plane.answer(&header, &body) } else { Err(plane.wrong_kind(header.kind)) };
        drop(body);
        match reply {
            Ok(frame) => {
                if let Err(error) = limits.deliver(stream, &frame) {
                    tracing::debug!(uid, socket = P::NAME, %error, "reply not delivered; closing");
                    return;
                }
            }
            Err(refusal) => {
                tracing::warn!(uid, socket = P::NAME, message = %refusal.message, "protocol error; closing");
                try_send(stream, &protocol_error_frame(&refusal)).ok();
                drain(stream, LINGER, LINGER_QUIET, LINGER_BYTES);
                return;
            }
        }
    }
}

/// Sends the refusal for a framing failure without waiting for the peer.
/// After a broken frame the peer may still be sending: that is drained
/// first. A peer that broke a time limit is not waited for any longer.
fn refuse(stream: &UnixStream, refusal: &ProtocolError, error: &FrameError) {
    try_send(stream, &protocol_error_frame(refusal)).ok();
    if !matches!(error, FrameError::Idle(_) | FrameError::Stalled(_)) {
        drain(stream, LINGER, LINGER_QUIET, LINGER_BYTES);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_come_from_the_sockets_section() {
        let config = SocketsConfig {
            handshake_timeout_seconds: 3,
            idle_timeout_seconds: 40,
            frame_timeout_seconds: 5,
            ..SocketsConfig::default()
        };
        let limits = Limits::of(&config);
        assert_eq!(limits.handshake, Duration::from_secs(3));
        assert_eq!(limits.idle, Duration::from_secs(40));
        assert_eq!(limits.frame, Duration::from_secs(5));
        assert_eq!(limits.body, config.max_body_bytes);
        assert_eq!(limits.unsent.limit() as u64, config.max_unsent_reply_bytes);
    }

    #[test]
    fn a_reply_the_peer_does_not_read_is_held_within_the_budget() {
        let config = SocketsConfig {
            frame_timeout_seconds: 1,
            max_unsent_reply_bytes: 8 * 1024 * 1024,
            ..SocketsConfig::default()
        };
        let limits = Limits::of(&config);
        let (daemon, peer) = UnixStream::pair().expect("pair");
        // Far more than the socket buffers, and than the budget.
        let reply = vec![1u8; 9 * 1024 * 1024];
        let refused = limits.deliver(&daemon, &reply).expect_err("over the budget");
        assert!(refused.to_string().contains("sockets.max_unsent_reply_bytes"), "{refused}");
        // Within the budget, the reply waits for the peer: here in vain,
        // for the frame limit.
        let (daemon, _peer) = UnixStream::pair().expect("pair");
        let waited = limits.deliver(&daemon, &reply[..4 * 1024 * 1024]).expect_err("never read");
        assert_eq!(waited.kind(), io::ErrorKind::TimedOut);
        assert!(limits.unsent.hold(8 * 1024 * 1024).is_some(), "nothing stays held after");
        drop(peer);
    }
}
