//! Frame headers and frame streams: `Header::decode` on 16 bytes, and the
//! two stream readers, `frame::read_frame` (over any `Read`) and
//! `socket::FrameReader` (over a Unix socket, as both the daemon and the
//! module read), on the same bytes with the same body limit.
//!
//! Input: a 4-byte big-endian body limit, one byte of reader options, then
//! the bytes a peer sends.
//!
//! Checked: nothing panics; a header that decodes is exactly its 16 bytes
//! again when encoded and respects the limit; a refused header is refused
//! for the right reason; both stream readers hand out the same frames and
//! end the same way (clean end, truncated frame, or the same refusal).
#![no_main]

use std::io::{Cursor, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use p11kms_proto::PROTOCOL_MAJOR;
use p11kms_proto::frame::{FrameError, HEADER_LEN, Header, MAGIC, MAX_BODY_LEN, MessageKind, read_frame};
use p11kms_proto::socket::{FrameReader, Spin};

/// The readers allocate an announced body up to the limit before it
/// arrives (by design: the limit is what bounds it). Limits above this only
/// make every run slower, not the code paths different.
const STREAM_LIMIT_CAP: u32 = 1 << 20;

/// A Unix socket pair's buffer takes this much without blocking the single
/// thread that writes and then reads; the fuzzer's inputs are far smaller.
const SOCKET_INPUT_CAP: usize = 64 * 1024;

/// How a stream of frames ended, comparable across the two readers.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Clean,
    Truncated,
    BadMagic([u8; 4]),
    UnsupportedMajor(u8),
    UnknownKind(u16),
    BodyTooLong { len: u32, limit: u32 },
}

fn end_of(error: FrameError) -> End {
    match error {
        FrameError::Truncated => End::Truncated,
        FrameError::BadMagic(magic) => End::BadMagic(magic),
        FrameError::UnsupportedMajor(major) => End::UnsupportedMajor(major),
        FrameError::UnknownKind(kind) => End::UnknownKind(kind),
        FrameError::BodyTooLong { len, limit } => End::BodyTooLong { len, limit },
        // Neither an in-memory reader nor a socket pair whose writer has
        // closed has anything else to report.
        other => panic!("unexpected frame error: {other}"),
    }
}

/// The header's checks run in the documented order (`docs/wire.md` §2):
/// magic, major, kind, length; a refusal names the first that fails.
fn check_header(bytes: &[u8; HEADER_LEN], limit: u32) {
    let effective = limit.min(MAX_BODY_LEN);
    let magic_ok = bytes[..4] == MAGIC;
    let major_ok = bytes[4] == PROTOCOL_MAJOR;
    let kind_ok = MessageKind::from_u16(u16::from_be_bytes([bytes[6], bytes[7]])).is_some();
    let len_ok = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) <= effective;
    match Header::decode(bytes, limit) {
        Ok(header) => {
            assert!(magic_ok && major_ok && kind_ok && len_ok);
            assert_eq!(&header.encode(), bytes, "a decoded header encodes to its own bytes");
        }
        Err(FrameError::BadMagic(magic)) => {
            assert!(!magic_ok);
            assert_eq!(magic, bytes[..4]);
        }
        Err(FrameError::UnsupportedMajor(major)) => {
            assert!(magic_ok && !major_ok);
            assert_eq!(major, bytes[4]);
        }
        Err(FrameError::UnknownKind(_)) => assert!(magic_ok && major_ok && !kind_ok),
        Err(FrameError::BodyTooLong { len, limit: reported }) => {
            assert!(magic_ok && major_ok && kind_ok && !len_ok);
            assert_eq!(reported, effective);
            assert!(len > effective);
        }
        Err(other) => panic!("a header alone cannot fail with {other}"),
    }
}

/// Every frame `read_frame` finds in `stream`, and how the stream ended.
fn read_all_from_memory(stream: &[u8], limit: u32) -> (Vec<(Header, Vec<u8>)>, End) {
    let mut reader = Cursor::new(stream);
    let mut frames = Vec::new();
    loop {
        match read_frame(&mut reader, limit) {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => return (frames, End::Clean),
            Err(error) => return (frames, end_of(error)),
        }
    }
}

/// Every frame a `FrameReader` gets from a socket `stream` was written to.
fn read_all_from_socket(stream: &[u8], limit: u32, spin: Spin<'_>) -> (Vec<(Header, Vec<u8>)>, End) {
    let (mut writer, reader_end) = UnixStream::pair().expect("a socket pair");
    writer.write_all(stream).expect("the socket buffer takes the input");
    drop(writer);
    let mut reader = FrameReader::new();
    let mut frames = Vec::new();
    loop {
        match reader.read(&reader_end, limit, spin) {
            Ok(Some((header, body))) => frames.push((header, body.to_vec())),
            Ok(None) => return (frames, End::Clean),
            Err(error) => return (frames, end_of(error)),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((limit, rest)) = data.split_first_chunk::<4>() else { return };
    let Some((&options, stream)) = rest.split_first() else { return };
    let limit = u32::from_be_bytes(*limit);

    if let Some(head) = stream.first_chunk::<HEADER_LEN>() {
        check_header(head, limit);
    }

    let stream_limit = limit.min(STREAM_LIMIT_CAP);
    let from_memory = read_all_from_memory(stream, stream_limit);
    if stream.len() <= SOCKET_INPUT_CAP {
        // The first wait may poll (with MSG_DONTWAIT) before it blocks.
        let spin = if options & 1 == 1 { Spin { budget: Duration::from_micros(50), gate: None } } else { Spin::NEVER };
        let from_socket = read_all_from_socket(stream, stream_limit, spin);
        assert_eq!(from_memory, from_socket, "both readers see the same frames");
    }
});
