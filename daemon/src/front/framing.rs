//! The protocol-error reply a peer gets before its connection is closed.

use p11kms_proto::PROTOCOL_MAJOR;
use p11kms_proto::error::{ProtocolError, ProtocolErrorKind};
use p11kms_proto::frame::{FrameError, MessageKind, encode_frame};

/// The protocol error to send for a framing failure, if the peer can
/// still be told anything. A time limit is named by its configuration key
/// (the frame loop reports [`FrameError::Idle`] here only for a first
/// frame: a later idle connection is closed without a word).
pub fn frame_error_reply(error: &FrameError) -> Option<ProtocolError> {
    let kind = match error {
        FrameError::Idle(wait) => {
            let message = format!(
                "no request within {} s of connecting (sockets.handshake_timeout_seconds); closing",
                wait.as_secs()
            );
            return Some(protocol_error(ProtocolErrorKind::Unavailable, message));
        }
        FrameError::Stalled(limit) => {
            let message = format!(
                "a frame was not complete {} s after its first byte (sockets.frame_timeout_seconds); closing",
                limit.as_secs()
            );
            return Some(protocol_error(ProtocolErrorKind::Unavailable, message));
        }
        FrameError::BadMagic(_) => ProtocolErrorKind::BadMagic,
        FrameError::UnsupportedMajor(_) => ProtocolErrorKind::UnsupportedMajor,
        FrameError::UnknownKind(_) => ProtocolErrorKind::UnexpectedKind,
        FrameError::BodyTooLong { .. } => ProtocolErrorKind::BodyTooLong,
        FrameError::Truncated | FrameError::Io(_) => return None,
        _ => ProtocolErrorKind::MalformedBody,
    };
    Some(protocol_error(kind, error.to_string()))
}

/// A protocol error body.
pub fn protocol_error(kind: ProtocolErrorKind, message: impl Into<String>) -> ProtocolError {
    ProtocolError { kind, message: message.into(), server_major: PROTOCOL_MAJOR }
}

/// The bytes of a protocol-error frame (request id 0: the request may not
/// have been readable).
pub fn protocol_error_frame(error: &ProtocolError) -> Vec<u8> {
    encode_frame(MessageKind::ProtocolError, 0, error).unwrap_or_default()
}
