//! The frame loop both sockets share: one connection on its own OS thread
//! reads a frame, has its plane answer it on that same thread, and writes
//! the reply, until the peer closes, breaks the protocol, or the daemon
//! shuts down (which shuts the stream's reading half; see `shutdown`).
//!
//! A frame that breaks the rules (bad magic, other major version, a body
//! over the limit, a kind this socket does not take) gets a protocol error
//! and the connection closes; other connections are not affected. What
//! the body means is the plane's business ([`Plane`]).

use std::os::unix::net::UnixStream;

use zeroize::Zeroizing;

use p11kms_proto::error::{ProtocolError, ProtocolErrorKind};
use p11kms_proto::frame::{Header, MessageKind};
use p11kms_proto::socket::{FrameReader, Spin, send_all};

use super::framing::{frame_error_reply, protocol_error, protocol_error_frame};

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
}

/// Serves `stream` for `plane` until the connection ends. `spin` says how
/// long to poll for the next frame before sleeping in the read.
pub fn serve<P: Plane>(stream: &UnixStream, uid: u32, limit: u32, spin: Spin<'_>, plane: &mut P) {
    // Bodies and replies can hold PINs, plaintext and secret values: the
    // reader and both buffers are wiped when dropped.
    let mut reader = FrameReader::new();
    loop {
        let (header, body) = match reader.read(stream, limit, spin) {
            Ok(Some(frame)) => frame,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(uid, socket = P::NAME, %error, "bad frame");
                if let Some(reply) = frame_error_reply(&error) {
                    let _ = send_all(stream, &protocol_error_frame(&reply));
                }
                return;
            }
        };
        let reply =
            if header.kind == P::REQUEST { plane.answer(&header, &body) } else { Err(plane.wrong_kind(header.kind)) };
        match reply {
            Ok(frame) => {
                if send_all(stream, &frame).is_err() {
                    return;
                }
            }
            Err(refusal) => {
                tracing::warn!(uid, socket = P::NAME, message = %refusal.message, "protocol error; closing");
                let _ = send_all(stream, &protocol_error_frame(&refusal));
                return;
            }
        }
    }
}
