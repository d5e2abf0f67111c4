//! Tests of the admin connection against stand-in daemons: the frames a
//! call sends, the answers it accepts, and every way it fails.

use std::os::unix::net::UnixListener;
use std::thread;

use p11kms_proto::admin::{InstanceInfo, KeyRef, Opcode, ResourceName, op};
use p11kms_proto::frame::encode_frame;
use p11kms_proto::{ErrorCode, Timestamp};

use super::test_server::{Call, Server, answer, socket_path};
use super::*;

#[test]
fn socket_comes_from_the_flag_then_the_environment_then_the_default() {
    let flag = Some(PathBuf::from("/flag.sock"));
    let env = Some(OsString::from("/env.sock"));
    assert_eq!(resolve_socket(flag.clone(), env.clone()), PathBuf::from("/flag.sock"));
    assert_eq!(resolve_socket(flag, None), PathBuf::from("/flag.sock"));
    assert_eq!(resolve_socket(None, env), PathBuf::from("/env.sock"));
    assert_eq!(resolve_socket(None, None), PathBuf::from(DEFAULT_SOCKET));
    assert_eq!(resolve_socket(None, Some(OsString::new())), PathBuf::from(DEFAULT_SOCKET));
}

/// Serves one connection: checks that it carries an admin call frame,
/// hands the call to the test and writes the bytes `answer` returns (whole
/// frames, or nothing).
fn serve_once(answer: impl FnOnce(u32, &Call) -> Vec<u8> + Send + 'static) -> (PathBuf, thread::JoinHandle<Call>) {
    let path = socket_path();
    let listener = UnixListener::bind(&path).expect("bind");
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let (header, body) = read_frame(&mut stream, MAX_BODY_LEN).expect("reads").expect("a frame");
        assert_eq!(header.kind, MessageKind::AdminCall);
        let call = Call::from_body(&body);
        let reply = answer(header.request_id, &call);
        io::Write::write_all(&mut stream, &reply).expect("writes");
        call
    });
    (path, handle)
}

/// A whole `AdminAnswer` frame to call `O`.
fn answer_frame<O: Operation>(request_id: u32, result: Result<O::Reply, ApiError>) -> Vec<u8> {
    encode_raw_frame(MessageKind::AdminAnswer, request_id, &answer::<O>(result)).expect("frames")
}

fn instance() -> InstanceInfo {
    InstanceInfo {
        name: "hsm1".into(),
        slot_id: 2,
        kind: p11kms_proto::admin::InstanceKind::Hardware,
        cluster: Some("c1".into()),
        key_quota: 1000,
        key_count: 0,
        key_version_count: 0,
        creation_date: Timestamp(1_700_000_000),
        secret_quota: 1000,
        secret_count: 0,
        region: "local".into(),
    }
}

#[test]
fn sends_an_admin_call_frame_and_decodes_the_reply() {
    let (path, server) = serve_once(|id, _| answer_frame::<op::DescribeInstance>(id, Ok(instance())));
    let request = ResourceName { name: "hsm1".into() };
    let reply = call::<op::DescribeInstance>(&path, &request).expect("a reply");
    assert_eq!(reply, instance());
    let seen = server.join().expect("server");
    assert_eq!(seen.opcode, op::DescribeInstance::OPCODE);
    assert_eq!(seen.request::<op::DescribeInstance>(), request);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn an_api_error_is_returned_as_such_and_prints_code_first() {
    let (path, server) = serve_once(|id, _| {
        answer_frame::<op::DescribeKey>(id, Err(ApiError::new(ErrorCode::KeyNotFound, "key 'k-1' does not exist")))
    });
    let err = call::<op::DescribeKey>(&path, &KeyRef { key: "k-1".into() }).expect_err("an API error");
    assert!(matches!(&err, ClientError::Api(api) if api.code == ErrorCode::KeyNotFound));
    assert_eq!(err.to_string(), "Forbidden.KeyNotFound: key 'k-1' does not exist");
    server.join().expect("server");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_protocol_error_frame_is_a_refusal() {
    let (path, server) = serve_once(|_, _| {
        let refusal = ProtocolError {
            kind: ProtocolErrorKind::NotAuthorized,
            message: "uid 1000 is not allowed".into(),
            server_major: PROTOCOL_MAJOR,
        };
        encode_frame(MessageKind::ProtocolError, 0, &refusal).expect("encodes")
    });
    let err = call::<op::ListInstances>(&path, &()).expect_err("refused");
    assert!(matches!(err, ClientError::Refused { kind: ProtocolErrorKind::NotAuthorized, .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("uid 1000 is not allowed") && text.contains("not allowed on the admin socket"), "{text}");
    server.join().expect("server");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_closed_connection_and_a_wrong_id_are_errors() {
    let (path, server) = serve_once(|_, _| Vec::new());
    let err = call::<op::ListInstances>(&path, &()).expect_err("closed");
    assert!(matches!(err, ClientError::Closed), "{err:?}");
    server.join().expect("server");
    let _ = std::fs::remove_file(&path);

    let (path, server) = serve_once(|id, _| answer_frame::<op::ListInstances>(id + 1, Ok(vec![])));
    let err = call::<op::ListInstances>(&path, &()).expect_err("wrong id");
    assert!(matches!(err, ClientError::WrongRequestId { .. }), "{err:?}");
    server.join().expect("server");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_garbled_answer_is_a_decode_error() {
    let (path, server) =
        serve_once(|id, _| encode_raw_frame(MessageKind::AdminAnswer, id, &[0xff, 0xff]).expect("frames"));
    let err = call::<op::ListInstances>(&path, &()).expect_err("garbled");
    assert!(matches!(err, ClientError::Decode(_)), "{err:?}");
    server.join().expect("server");
    let _ = std::fs::remove_file(&path);
}

/// A typed call cannot return another operation's reply: an answer shaped
/// as another operation's does not decode as this one's, in either
/// direction (too short, or with bytes left over).
#[test]
fn an_answer_of_another_operation_is_a_decode_error() {
    let (path, server) = serve_once(|id, _| answer_frame::<op::DeleteApp>(id, Ok(())));
    let err = call::<op::DescribeInstance>(&path, &ResourceName { name: "hsm1".into() }).expect_err("a Done answer");
    assert!(matches!(err, ClientError::Decode(_)), "{err:?}");
    assert!(err.to_string().starts_with("p11kmsd sent a malformed answer: "), "{err}");
    server.join().expect("server");
    let _ = std::fs::remove_file(&path);

    let (path, server) = serve_once(|id, _| answer_frame::<op::ListInstances>(id, Ok(vec![instance()])));
    let err = call::<op::DeleteApp>(&path, &ResourceName { name: "web".into() }).expect_err("a list answer");
    assert!(matches!(err, ClientError::Decode(_)), "{err:?}");
    server.join().expect("server");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_frame_of_another_kind_is_unexpected() {
    let (path, server) =
        serve_once(|id, _| encode_raw_frame(MessageKind::LegacyAdminResponse, id, &[0]).expect("frames"));
    let err = call::<op::ListInstances>(&path, &()).expect_err("a retired frame kind");
    assert!(matches!(err, ClientError::UnexpectedFrame(MessageKind::LegacyAdminResponse)), "{err:?}");
    assert_eq!(err.to_string(), "p11kmsd sent an unexpected LegacyAdminResponse frame");
    server.join().expect("server");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn one_connection_carries_several_requests_each_with_its_own_id() {
    let server = Server::start(MAX_BODY_LEN, |call| {
        if call.opcode == op::ListInstances::OPCODE {
            answer::<op::ListInstances>(Ok(vec![instance()]))
        } else {
            answer::<op::DescribeKey>(Err(ApiError::new(ErrorCode::KeyNotFound, "no such key")))
        }
    });
    let mut client = Client::connect(server.path()).expect("connects");
    assert_eq!(client.call::<op::ListInstances>(&()).expect("a reply"), vec![instance()]);
    let err = client.call::<op::DescribeKey>(&KeyRef { key: "k".into() }).expect_err("an API error");
    assert!(matches!(err, ClientError::Api(_)), "{err:?}");
    assert!(client.call::<op::ListInstances>(&()).is_ok(), "an API error leaves the connection usable");
    drop(client);
    let seen = server.finish();
    assert_eq!(seen.iter().map(|s| (s.connection, s.request_id)).collect::<Vec<_>>(), [(0, 1), (0, 2), (0, 3)]);
    let opcodes: Vec<Opcode> = seen.iter().filter_map(|s| s.request.as_ref().map(|call| call.opcode)).collect();
    assert_eq!(opcodes, [op::ListInstances::OPCODE, op::DescribeKey::OPCODE, op::ListInstances::OPCODE]);
}

#[test]
fn a_frame_over_the_limit_is_refused_as_such() {
    let server = Server::start(64, |_| answer::<op::DescribeKey>(Err(ApiError::new(ErrorCode::KeyNotFound, "-"))));
    let big = KeyRef { key: "k".repeat(1024 * 1024) };
    let err = call::<op::DescribeKey>(server.path(), &big).expect_err("too long");
    assert!(matches!(err, ClientError::Refused { kind: ProtocolErrorKind::BodyTooLong, .. }), "{err:?}");
    let seen = server.finish();
    assert!(seen.len() == 1 && seen[0].request.is_none(), "{seen:?}");
}

#[test]
fn a_missing_socket_says_where_it_looked_and_what_to_do() {
    let path = socket_path();
    let err = call::<op::ListInstances>(&path, &()).expect_err("no daemon");
    let text = err.to_string();
    assert!(text.starts_with(&format!("cannot reach p11kmsd at {}: ", path.display())), "{text}");
    assert!(text.ends_with("(is the daemon running? set --socket or P11KMS_ADMIN_SOCKET)"), "{text}");
}
