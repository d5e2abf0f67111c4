//! The wire protocol against a running daemon, with raw bytes: every
//! broken frame gets a protocol error (or a closed connection), and the
//! daemon keeps serving everyone else.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use p11kms_proto::admin::operation::{Operation, decode_answer, encode_call};
use p11kms_proto::admin::{InstanceInfo, op};
use p11kms_proto::data::{DataReply, DataRequest, DataResult};
use p11kms_proto::error::{ProtocolError, ProtocolErrorKind};
use p11kms_proto::frame::{HEADER_LEN, Header, MAX_BODY_LEN, MessageKind, encode_frame, encode_raw_frame, read_frame};
use p11kms_proto::{ErrorCode, PROTOCOL_MAJOR, decode_body};
use p11kms_tests::Daemon;

fn connect(daemon: &Daemon) -> UnixStream {
    let stream = UnixStream::connect(daemon.data_socket()).expect("connect to the data socket");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    stream
}

/// The body of a call of `O`.
fn call<O: Operation>(request: &O::Request) -> Vec<u8> {
    encode_call::<O>(request).expect("encode")
}

/// An `AdminCall` frame around `body`.
fn admin_call(request_id: u32, body: &[u8]) -> Vec<u8> {
    encode_raw_frame(MessageKind::AdminCall, request_id, body).expect("frames")
}

/// Sends an admin call and reads its answer frame's body.
fn exchange(stream: &mut UnixStream, request_id: u32, body: &[u8]) -> Vec<u8> {
    stream.write_all(&admin_call(request_id, body)).expect("send");
    let (header, answer) = read_frame(stream, MAX_BODY_LEN).expect("an answer").expect("not EOF");
    assert_eq!((header.kind, header.request_id), (MessageKind::AdminAnswer, request_id));
    answer
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
    wrong_socket.write_all(&admin_call(1, &call::<op::ListInstances>(&()))).expect("send");
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
    stream.write_all(b"P11K\x01\x01\x00\x06\x00\x00\x00\x01\xff\xff\xff\xff").expect("send");
    assert_eq!(expect_protocol_error(stream).kind, ProtocolErrorKind::BodyTooLong);
    assert_serving(&daemon);
}

#[test]
fn unknown_opcodes_and_malformed_calls_are_answered_and_the_admin_connection_stays_usable() {
    let daemon = Daemon::start();
    let mut stream = UnixStream::connect(daemon.admin_socket()).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");

    // An opcode no operation has: an API error naming it.
    let answer = exchange(&mut stream, 1, &[0xbe, 0xef, 0x01, 0x02]);
    let error = decode_answer::<op::ListInstances>(&answer).expect("an answer").expect_err("unknown");
    assert_eq!(error.code, ErrorCode::UnknownOperation);
    assert!(error.message.contains("0xbeef"), "{error}");

    // A known opcode with a request that does not decode: an API error
    // naming the operation.
    let mut garbled = call::<op::DescribeKey>(&p11kms_proto::admin::KeyRef { key: "k".into() });
    garbled.truncate(garbled.len() - 1);
    let answer = exchange(&mut stream, 2, &garbled);
    let error = decode_answer::<op::DescribeKey>(&answer).expect("an answer").expect_err("malformed");
    assert_eq!(error.code, ErrorCode::InvalidParameter);
    assert!(error.message.contains("DescribeKey"), "{error}");

    // A body too short to hold an opcode.
    let answer = exchange(&mut stream, 3, &[0x01]);
    let error = decode_answer::<op::ListInstances>(&answer).expect("an answer").expect_err("no opcode");
    assert_eq!(error.code, ErrorCode::InvalidParameter);

    // The same connection still serves a real call.
    let answer = exchange(&mut stream, 4, &call::<op::ListInstances>(&()));
    let instances: Vec<InstanceInfo> = decode_answer::<op::ListInstances>(&answer).expect("decodes").expect("ok");
    assert_eq!(instances.len(), 2, "hsm1 and default");

    // A client of the admin protocol before opcodes is told what to do.
    let mut legacy = UnixStream::connect(daemon.admin_socket()).expect("connect");
    legacy.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    legacy.write_all(&Header::new(MessageKind::LegacyAdminRequest, 1, 1).encode()).expect("send");
    legacy.write_all(&[0]).expect("send");
    let refusal = expect_protocol_error(legacy);
    assert_eq!(refusal.kind, ProtocolErrorKind::UnexpectedKind);
    assert!(refusal.message.contains("p11kms"), "{}", refusal.message);

    assert_serving(&daemon);
    let log = daemon.log();
    assert!(log.contains("unknown opcode"), "the unknown opcode is logged:\n{log}");
}

/// Issue 12, item 12: a bad magic or an unknown major followed by more
/// bytes gets the documented error frame and then the end of the stream,
/// never a reset, on both sockets: the daemon reads and discards what the
/// peer is still sending before it closes.
#[test]
fn a_bad_header_followed_by_more_bytes_gets_the_error_frame_on_both_sockets() {
    let daemon = Daemon::start();
    let mut future = Header::new(MessageKind::AdminCall, 1, 0).encode();
    future[4] = PROTOCOL_MAJOR + 1;
    let cases: [(&[u8], ProtocolErrorKind); 2] = [
        (b"GET / HTTP/1.1\r\nHost: p11kms\r\n\r\n", ProtocolErrorKind::BadMagic),
        (&future, ProtocolErrorKind::UnsupportedMajor),
    ];
    for socket in [daemon.admin_socket(), daemon.data_socket()] {
        for (head, kind) in cases {
            // A few more bytes in the same write, and a megabyte more:
            // more than a Unix socket buffers, so that write only ends
            // because the daemon reads it.
            for more in [64, 1024 * 1024] {
                let mut stream = UnixStream::connect(&socket).expect("connect");
                stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
                let mut sent = head.to_vec();
                sent.resize(head.len() + more, b'x');
                let mut writing = stream.try_clone().expect("clone");
                let writer = std::thread::spawn(move || writing.write_all(&sent));
                let case =
                    format!("{} on {}, {more} more bytes", String::from_utf8_lossy(&head[..4]), socket.display());
                let (header, body) = read_frame(&mut stream, MAX_BODY_LEN)
                    .unwrap_or_else(|e| panic!("{case}: the error frame, not {e}"))
                    .unwrap_or_else(|| panic!("{case}: the error frame, not the end of the stream"));
                assert_eq!(header.kind, MessageKind::ProtocolError, "{case}");
                assert_eq!(decode_body::<ProtocolError>(&body).expect("body").kind, kind, "{case}");
                let mut rest = Vec::new();
                stream.read_to_end(&mut rest).unwrap_or_else(|e| panic!("{case}: the end of the stream, not {e}"));
                assert!(rest.is_empty(), "{case}: nothing follows the error frame");
                assert!(writer.join().is_ok_and(|written| written.is_ok()), "{case}: everything sent was taken");
            }
        }
    }
    assert_serving(&daemon);
}
