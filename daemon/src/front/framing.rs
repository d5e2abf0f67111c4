//! Reading and writing frames on async streams, and the protocol-error
//! reply a peer gets before its connection is closed.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use p11kms_proto::PROTOCOL_MAJOR;
use p11kms_proto::error::{ProtocolError, ProtocolErrorKind};
use p11kms_proto::frame::{FrameError, HEADER_LEN, Header, MessageKind, encode_frame};

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    limit: u32,
) -> Result<Option<(Header, Vec<u8>)>, FrameError> {
    let mut head = [0u8; HEADER_LEN];
    let mut filled = 0;
    while filled < HEADER_LEN {
        match reader.read(&mut head[filled..]).await? {
            0 if filled == 0 => return Ok(None),
            0 => return Err(FrameError::Truncated),
            n => filled += n,
        }
    }
    let header = Header::decode(&head, limit)?;
    let mut body = vec![0u8; header.body_len as usize];
    reader.read_exact(&mut body).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => FrameError::Truncated,
        _ => FrameError::Io(e),
    })?;
    Ok(Some((header, body)))
}

/// The protocol error to send for a framing failure, if the peer can
/// still be told anything.
pub fn frame_error_reply(error: &FrameError) -> Option<ProtocolError> {
    let kind = match error {
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

/// Sends a protocol error and flushes; failures are ignored since the
/// connection closes anyway.
pub async fn send_protocol_error<W: AsyncWrite + Unpin>(writer: &mut W, error: &ProtocolError) {
    let _ = writer.write_all(&protocol_error_frame(error)).await;
    let _ = writer.flush().await;
}
