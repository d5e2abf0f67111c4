//! The wire protocol against a running daemon, with raw bytes: every
//! broken frame gets a protocol error (or a closed connection), and the
//! daemon keeps serving everyone else.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use p11kms_proto::data::{DataReply, DataRequest, DataResult};
use p11kms_proto::error::{ProtocolError, ProtocolErrorKind};
use p11kms_proto::frame::{HEADER_LEN, Header, MAX_BODY_LEN, MessageKind, encode_frame, read_frame};
use p11kms_proto::{PROTOCOL_MAJOR, decode_body};
use p11kms_tests::Daemon;

fn connect(daemon: &Daemon) -> UnixStream {
    let stream = UnixStream::connect(daemon.data_socket()).expect("connect to the data socket");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    stream
}

/// Reads what the daemon answers to a broken frame: a protocol error
/// frame, then the end of the stream.
fn expect_protocol_error(mut stream: UnixStream) -> ProtocolError {
    let (header, body) = read_frame(&mut stream, MAX_BODY_LEN).expect("a frame").expect("not EOF");
    assert_eq!(header.kind, MessageKind::ProtocolError);
    let error: ProtocolError = decode_body(&body).expect("protocol error body");
    assert_eq!(error.server_major, PROTOCOL_MAJOR);
    assert_closed(&mut stream);
    error
}

/// The daemon closed the connection: end of stream, or a reset when the
/// daemon closed with our unread bytes still in its buffer.
fn assert_closed(stream: &mut UnixStream) {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "nothing follows a protocol error: {rest:02x?}"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
}

/// A well-behaved client still gets served.
fn assert_serving(daemon: &Daemon) {
    let mut stream = connect(daemon);
    let hello = DataRequest::Hello { client_id: [9; 16], module_version: "test".into() };
    for (id, request) in [(1, hello), (2, DataRequest::ListSlots)] {
        stream.write_all(&encode_frame(MessageKind::DataRequest, id, &request).expect("encode")).expect("send");
        let (header, body) = read_frame(&mut stream, MAX_BODY_LEN).expect("reply").expect("not EOF");
        assert_eq!((header.kind, header.request_id), (MessageKind::DataResponse, id));
        let result: DataResult = decode_body(&body).expect("reply body");
        match (id, result) {
            (1, Ok(DataReply::Welcome { .. })) => {}
            (2, Ok(DataReply::Slots(slots))) => assert_eq!(slots.len(), 2, "hsm1 and default"),
            (_, other) => panic!("unexpected reply {other:?}"),
        }
    }
    let out = daemon.cli(&["instance", "list"]);
    assert!(out.status.success(), "the admin socket still serves");
}

#[test]
fn broken_frames_are_refused_and_the_daemon_keeps_serving() {
    let daemon = Daemon::start();
    // Keep one healthy connection open through all the abuse.
    let bystander = connect(&daemon);

    let mut bad_magic = connect(&daemon);
    bad_magic.write_all(b"GET / HTTP/1.1\r\n\r\n").expect("send");
    assert_eq!(expect_protocol_error(bad_magic).kind, ProtocolErrorKind::BadMagic);

    let mut future = connect(&daemon);
    let mut header = Header::new(MessageKind::DataRequest, 1, 0).encode();
    header[4] = PROTOCOL_MAJOR + 1;
    future.write_all(&header).expect("send");
    assert_eq!(expect_protocol_error(future).kind, ProtocolErrorKind::UnsupportedMajor);

    let mut huge = connect(&daemon);
    huge.write_all(&Header::new(MessageKind::DataRequest, 1, MAX_BODY_LEN).encode()).expect("send");
    assert_eq!(expect_protocol_error(huge).kind, ProtocolErrorKind::BodyTooLong);

    let mut garbage = connect(&daemon);
    let body = [0xff; 32];
    let mut frame = Header::new(MessageKind::DataRequest, 1, body.len() as u32).encode().to_vec();
    frame.extend_from_slice(&body);
    garbage.write_all(&frame).expect("send");
    assert_eq!(expect_protocol_error(garbage).kind, ProtocolErrorKind::MalformedBody);

    let mut wrong_socket = connect(&daemon);
    let admin = p11kms_proto::admin::AdminRequest::InstanceList;
    wrong_socket.write_all(&encode_frame(MessageKind::AdminRequest, 1, &admin).expect("encode")).expect("send");
    assert_eq!(expect_protocol_error(wrong_socket).kind, ProtocolErrorKind::UnexpectedKind);

    // A frame cut short: the daemon just closes that connection.
    let mut truncated = connect(&daemon);
    let hello = DataRequest::Hello { client_id: [1; 16], module_version: "cut short".into() };
    let frame = encode_frame(MessageKind::DataRequest, 1, &hello).expect("encode");
    truncated.write_all(&frame[..HEADER_LEN + 5]).expect("send");
    truncated.shutdown(std::net::Shutdown::Write).expect("half close");
    assert_closed(&mut truncated);

    // A request before Hello is answered with an error, not served.
    let mut rude = connect(&daemon);
    rude.write_all(&encode_frame(MessageKind::DataRequest, 5, &DataRequest::ListSlots).expect("encode")).expect("send");
    let (_, body) = read_frame(&mut rude, MAX_BODY_LEN).expect("reply").expect("not EOF");
    assert!(decode_body::<DataResult>(&body).expect("body").is_err());

    assert_serving(&daemon);
    drop(bystander);
    let log = daemon.log();
    assert!(!log.contains("panicked"), "no handler panicked:\n{log}");
}

#[test]
fn the_admin_socket_refuses_broken_frames_too() {
    let daemon = Daemon::start();
    let mut stream = UnixStream::connect(daemon.admin_socket()).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    stream.write_all(b"P11K\x01\x00\x00\x03\x00\x00\x00\x01\xff\xff\xff\xff").expect("send");
    assert_eq!(expect_protocol_error(stream).kind, ProtocolErrorKind::BodyTooLong);
    assert_serving(&daemon);
}
