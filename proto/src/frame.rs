//! The frame: a fixed 16-byte header, then the body.
//!
//! ```text
//! offset  size  field
//!      0     4  magic "P11K"
//!      4     1  protocol major   (a peer with another major is refused)
//!      5     1  protocol minor   (informative: newer minors only append)
//!      6     2  message kind     (big-endian, see MessageKind)
//!      8     4  request id       (big-endian, echoed in the reply)
//!     12     4  body length      (big-endian, at most MAX_BODY_LEN)
//! ```
//!
//! The header is checked before any body byte is read, so a peer that
//! announces a huge body is refused without the reader allocating it; and
//! a body within the limit is allocated as its bytes arrive, never at its
//! announced length up front (see [`crate::socket::FrameReader`]).

use std::io::{self, Read, Write};

use serde::Serialize;

use crate::{PROTOCOL_MAJOR, PROTOCOL_MINOR};

/// The four bytes every frame starts with.
pub const MAGIC: [u8; 4] = *b"P11K";
/// Size of the fixed header.
pub const HEADER_LEN: usize = 16;
/// Hard upper bound of a body, whatever a configuration says: 16 MiB.
pub const MAX_BODY_LEN: u32 = 16 * 1024 * 1024;

/// What a frame's body holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum MessageKind {
    /// A [`crate::data::DataRequest`], module to daemon.
    DataRequest = 1,
    /// A [`crate::data::DataResult`], daemon to module.
    DataResponse = 2,
    /// The admin request of protocol 1.0, before opcodes (a whole request
    /// as a postcard enum). Retired: the daemon refuses it with a protocol
    /// error that says to use the `p11kms` of the same release.
    LegacyAdminRequest = 3,
    /// The answer to a [`MessageKind::LegacyAdminRequest`]; never sent.
    LegacyAdminResponse = 4,
    /// A [`crate::error::ProtocolError`]: the peer broke the framing rules;
    /// the connection closes after it.
    ProtocolError = 5,
    /// An admin call, CLI to daemon: an opcode and its request (see
    /// [`crate::admin::operation`]).
    AdminCall = 6,
    /// The answer to an [`MessageKind::AdminCall`], daemon to CLI.
    AdminAnswer = 7,
}

impl MessageKind {
    /// The kind for a wire value, if it is one.
    pub fn from_u16(value: u16) -> Option<Self> {
        Some(match value {
            1 => Self::DataRequest,
            2 => Self::DataResponse,
            3 => Self::LegacyAdminRequest,
            4 => Self::LegacyAdminResponse,
            5 => Self::ProtocolError,
            6 => Self::AdminCall,
            7 => Self::AdminAnswer,
            _ => return None,
        })
    }
}

/// A decoded, validated frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Minor version the sender speaks.
    pub minor: u8,
    /// What the body holds.
    pub kind: MessageKind,
    /// Chosen by the requester, echoed by the responder.
    pub request_id: u32,
    /// Length of the body that follows.
    pub body_len: u32,
}

/// Why a frame was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The first four bytes are not [`MAGIC`].
    #[error("bad magic {0:02x?}: not a p11kms peer")]
    BadMagic([u8; 4]),
    /// The peer speaks another major version.
    #[error("protocol major version {0} is not supported (this side speaks {PROTOCOL_MAJOR})")]
    UnsupportedMajor(u8),
    /// The message kind is not one this version knows.
    #[error("unknown message kind {0}")]
    UnknownKind(u16),
    /// The announced body is over the limit.
    #[error("body of {len} bytes is over the limit of {limit} bytes")]
    BodyTooLong {
        /// Announced length.
        len: u32,
        /// Limit in force.
        limit: u32,
    },
    /// The stream ended inside a frame.
    #[error("connection closed inside a frame")]
    Truncated,
    /// No frame began within the wait allowed
    /// ([`crate::socket::Patience::first_byte`]).
    #[error("no frame began within {0:?}")]
    Idle(std::time::Duration),
    /// A frame began but did not end within the time allowed
    /// ([`crate::socket::Patience::whole_frame`]).
    #[error("a frame was not complete {0:?} after its first byte")]
    Stalled(std::time::Duration),
    /// Reading or writing failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

impl Header {
    /// Builds a header for a body of `body_len` bytes.
    pub fn new(kind: MessageKind, request_id: u32, body_len: u32) -> Self {
        Self { minor: PROTOCOL_MINOR, kind, request_id, body_len }
    }

    /// Serializes the header.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&MAGIC);
        out[4] = PROTOCOL_MAJOR;
        out[5] = self.minor;
        out[6..8].copy_from_slice(&(self.kind as u16).to_be_bytes());
        out[8..12].copy_from_slice(&self.request_id.to_be_bytes());
        out[12..16].copy_from_slice(&self.body_len.to_be_bytes());
        out
    }

    /// Parses and validates a header against a body limit (which is itself
    /// capped at [`MAX_BODY_LEN`]).
    pub fn decode(bytes: &[u8; HEADER_LEN], limit: u32) -> Result<Self, FrameError> {
        let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
        if magic != MAGIC {
            return Err(FrameError::BadMagic(magic));
        }
        if bytes[4] != PROTOCOL_MAJOR {
            return Err(FrameError::UnsupportedMajor(bytes[4]));
        }
        let kind_raw = u16::from_be_bytes([bytes[6], bytes[7]]);
        let kind = MessageKind::from_u16(kind_raw).ok_or(FrameError::UnknownKind(kind_raw))?;
        let request_id = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let body_len = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
        let limit = limit.min(MAX_BODY_LEN);
        if body_len > limit {
            return Err(FrameError::BodyTooLong { len: body_len, limit });
        }
        Ok(Self { minor: bytes[5], kind, request_id, body_len })
    }
}

/// Serializes `body` and frames it in one buffer, so that a frame goes out
/// in a single write.
pub fn encode_frame<T: Serialize>(kind: MessageKind, request_id: u32, body: &T) -> Result<Vec<u8>, crate::CodecError> {
    let mut out = Vec::with_capacity(HEADER_LEN + 64);
    out.extend_from_slice(&[0u8; HEADER_LEN]);
    let mut out = postcard::to_extend(body, out).map_err(crate::CodecError::Encode)?;
    let body_len = out.len() - HEADER_LEN;
    let body_len =
        u32::try_from(body_len).ok().filter(|len| *len <= MAX_BODY_LEN).ok_or(crate::CodecError::TooLong(body_len))?;
    out[..HEADER_LEN].copy_from_slice(&Header::new(kind, request_id, body_len).encode());
    Ok(out)
}

/// Frames a body that is already encoded (an admin call is an opcode and
/// then its request, not one postcard value), in one buffer.
pub fn encode_raw_frame(kind: MessageKind, request_id: u32, body: &[u8]) -> Result<Vec<u8>, crate::CodecError> {
    let body_len = u32::try_from(body.len())
        .ok()
        .filter(|len| *len <= MAX_BODY_LEN)
        .ok_or(crate::CodecError::TooLong(body.len()))?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&Header::new(kind, request_id, body_len).encode());
    out.extend_from_slice(body);
    Ok(out)
}

/// Reads one frame from a blocking stream. `Ok(None)` means the peer closed
/// the stream cleanly between frames.
pub fn read_frame<R: Read>(reader: &mut R, limit: u32) -> Result<Option<(Header, Vec<u8>)>, FrameError> {
    let mut head = [0u8; HEADER_LEN];
    let mut filled = 0;
    while filled < HEADER_LEN {
        match reader.read(&mut head[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(FrameError::Truncated),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    let header = Header::decode(&head, limit)?;
    // Grows as the bytes arrive, not to the announced length at once.
    let mut body = Vec::new();
    let read = reader.take(header.body_len.into()).read_to_end(&mut body)?;
    if read < header.body_len as usize {
        return Err(FrameError::Truncated);
    }
    Ok(Some((header, body)))
}

/// Writes an already framed buffer (from [`encode_frame`]).
pub fn write_frame<W: Write>(writer: &mut W, frame: &[u8]) -> Result<(), FrameError> {
    writer.write_all(frame)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let header = Header::new(MessageKind::AdminCall, 0xdead_beef, 1234);
        let decoded = Header::decode(&header.encode(), MAX_BODY_LEN).expect("valid header");
        assert_eq!(decoded, header);
    }

    #[test]
    fn bad_magic_is_refused() {
        let mut bytes = Header::new(MessageKind::DataRequest, 1, 0).encode();
        bytes[0] = b'X';
        assert!(matches!(Header::decode(&bytes, MAX_BODY_LEN), Err(FrameError::BadMagic(_))));
    }

    #[test]
    fn unknown_major_is_refused() {
        let mut bytes = Header::new(MessageKind::DataRequest, 1, 0).encode();
        bytes[4] = PROTOCOL_MAJOR + 1;
        assert!(matches!(
            Header::decode(&bytes, MAX_BODY_LEN),
            Err(FrameError::UnsupportedMajor(m)) if m == PROTOCOL_MAJOR + 1
        ));
    }

    #[test]
    fn newer_minor_is_accepted() {
        let mut bytes = Header::new(MessageKind::DataRequest, 1, 0).encode();
        bytes[5] = PROTOCOL_MINOR + 7;
        assert_eq!(Header::decode(&bytes, MAX_BODY_LEN).expect("minor is informative").minor, PROTOCOL_MINOR + 7);
    }

    #[test]
    fn unknown_kind_is_refused() {
        let mut bytes = Header::new(MessageKind::DataRequest, 1, 0).encode();
        bytes[6..8].copy_from_slice(&99u16.to_be_bytes());
        assert!(matches!(Header::decode(&bytes, MAX_BODY_LEN), Err(FrameError::UnknownKind(99))));
    }

    #[test]
    fn body_over_limit_is_refused_before_reading_it() {
        let bytes = Header::new(MessageKind::DataRequest, 1, 4097).encode();
        assert!(matches!(Header::decode(&bytes, 4096), Err(FrameError::BodyTooLong { len: 4097, limit: 4096 })));
        // A configured limit can never raise the hard cap.
        let bytes = Header::new(MessageKind::DataRequest, 1, MAX_BODY_LEN + 1).encode();
        assert!(matches!(Header::decode(&bytes, u32::MAX), Err(FrameError::BodyTooLong { .. })));
    }

    #[test]
    fn frames_round_trip_through_a_stream() {
        let frame = encode_frame(MessageKind::DataRequest, 7, &("hello", 42u32)).expect("encodes");
        let mut stream = io::Cursor::new([frame.clone(), frame].concat());
        for _ in 0..2 {
            let (header, body) = read_frame(&mut stream, MAX_BODY_LEN).expect("reads").expect("a frame");
            assert_eq!(header.kind, MessageKind::DataRequest);
            assert_eq!(header.request_id, 7);
            let (text, number): (String, u32) = postcard::from_bytes(&body).expect("decodes");
            assert_eq!((text.as_str(), number), ("hello", 42));
        }
        assert!(read_frame(&mut stream, MAX_BODY_LEN).expect("clean end").is_none());
    }

    #[test]
    fn a_raw_body_frames_like_an_encoded_one() {
        let body = postcard::to_stdvec(&("hello", 42u32)).expect("encodes");
        let raw = encode_raw_frame(MessageKind::AdminCall, 9, &body).expect("frames");
        assert_eq!(raw, encode_frame(MessageKind::AdminCall, 9, &("hello", 42u32)).expect("frames"));
    }

    #[test]
    fn truncated_frames_are_reported() {
        let frame = encode_frame(MessageKind::DataRequest, 7, &[1u8; 100].as_slice()).expect("encodes");
        for cut in [3, HEADER_LEN, HEADER_LEN + 10] {
            let mut stream = io::Cursor::new(frame[..cut].to_vec());
            assert!(matches!(read_frame(&mut stream, MAX_BODY_LEN), Err(FrameError::Truncated)), "cut at {cut}");
        }
    }
}
