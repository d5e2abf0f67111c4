//! The admin connection: finds the daemon's admin socket, sends
//! [`AdminRequest`] frames over a blocking Unix stream and reads the answers
//! (an `AdminResponse` carrying an [`p11kms_proto::admin::AdminResult`], or a
//! `ProtocolError` frame after which the daemon closes the connection).
//! Most commands send one request ([`call`]); `rewrap` sends its batches in
//! turn over one [`Client`].
//!
//! Every way this can fail is a [`ClientError`]; the spec's API errors are
//! one of them ([`ClientError::Api`]), kept apart from transport and protocol
//! failures so that `main` can give them different exit statuses.

use std::ffi::OsString;
use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use p11kms_proto::admin::{AdminReply, AdminRequest, AdminResult};
use p11kms_proto::error::{ProtocolError, ProtocolErrorKind};
use p11kms_proto::frame::{encode_frame, read_frame, write_frame};
use p11kms_proto::{ApiError, CodecError, FrameError, MAX_BODY_LEN, MessageKind, PROTOCOL_MAJOR, decode_body};

/// Environment variable naming the admin socket when `--socket` is absent.
pub const SOCKET_ENV: &str = "P11KMS_ADMIN_SOCKET";

/// The admin socket when neither `--socket` nor [`SOCKET_ENV`] is given.
pub const DEFAULT_SOCKET: &str = "/var/lib/p11kms/admin.sock";

/// The request id of the first request on a connection; each next one
/// takes the next id.
const FIRST_REQUEST_ID: u32 = 1;

/// Picks the admin socket: the `--socket` flag, else the environment
/// variable (when set and not empty), else [`DEFAULT_SOCKET`].
pub fn resolve_socket(flag: Option<PathBuf>, env: Option<OsString>) -> PathBuf {
    flag.or_else(|| env.filter(|value| !value.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET))
}

/// Why a call to the daemon did not produce a reply.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The daemon answered with an API error (the spec's code and message).
    /// Printed exactly as `Code: message`.
    #[error("{0}")]
    Api(ApiError),
    /// The socket could not be connected to.
    #[error("cannot reach p11kmsd at {}: {source} ({})", path.display(), connect_hint(source))]
    Connect {
        /// The socket tried.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The request could not be encoded (a bug on this side).
    #[error("cannot encode the request: {0}")]
    Encode(CodecError),
    /// The request could not be written.
    #[error("cannot send the request to p11kmsd: {0}")]
    Send(FrameError),
    /// The answer could not be read.
    #[error("cannot read p11kmsd's answer: {0}")]
    Receive(FrameError),
    /// The daemon closed the connection without answering.
    #[error("p11kmsd closed the connection without answering")]
    Closed,
    /// The daemon refused the request before reading it as a message.
    #[error("p11kmsd refused the request: {message} ({})", protocol_hint(*kind, *server_major))]
    Refused {
        /// The rule the daemon says was broken.
        kind: ProtocolErrorKind,
        /// The daemon's explanation.
        message: String,
        /// The protocol major version the daemon speaks.
        server_major: u8,
    },
    /// The answer's body is not what its frame kind says it is.
    #[error("p11kmsd sent a malformed answer: {0}")]
    Decode(CodecError),
    /// The answer is a frame of a kind that makes no sense here.
    #[error("p11kmsd sent an unexpected {0:?} frame")]
    UnexpectedFrame(MessageKind),
    /// The answer carries another request's id.
    #[error("p11kmsd answered request {got} instead of request {expected}")]
    WrongRequestId {
        /// The id sent.
        expected: u32,
        /// The id received.
        got: u32,
    },
    /// A batch was answered with another number of outcomes than it had
    /// items.
    #[error("p11kmsd answered a batch of {sent} items with {got} outcomes")]
    WrongOutcomeCount {
        /// Items sent.
        sent: usize,
        /// Outcomes received.
        got: usize,
    },
    /// The answer is a reply of another operation than the one asked for.
    #[error("p11kmsd answered {operation} with a {reply} reply")]
    UnexpectedReply {
        /// The operation asked for, as the user typed it.
        operation: &'static str,
        /// The reply variant received.
        reply: &'static str,
    },
}

fn connect_hint(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::PermissionDenied => {
            "the admin socket is only open to the users p11kmsd allows; run as one of them"
        }
        _ => "is the daemon running? set --socket or P11KMS_ADMIN_SOCKET",
    }
}

fn protocol_hint(kind: ProtocolErrorKind, server_major: u8) -> String {
    match kind {
        ProtocolErrorKind::NotAuthorized => "this user is not allowed on the admin socket".into(),
        ProtocolErrorKind::UnsupportedMajor => {
            format!("p11kmsd speaks protocol {server_major}, this p11kms speaks {PROTOCOL_MAJOR}")
        }
        ProtocolErrorKind::Unavailable => "p11kmsd is busy or shutting down; try again".into(),
        other => format!("{other:?}"),
    }
}

/// Sends `request` to the daemon listening at `socket` and returns its
/// reply. An API error from the daemon is [`ClientError::Api`].
pub fn call(socket: &Path, request: &AdminRequest) -> Result<AdminReply, ClientError> {
    Client::connect(socket)?.call(request)
}

/// An open admin connection: requests go one at a time, each answered
/// before the next is sent. After any error but [`ClientError::Api`] the
/// daemon has closed it (or broke the protocol): connect again.
#[derive(Debug)]
pub struct Client {
    stream: UnixStream,
    next_id: u32,
}

impl Client {
    /// Connects to the daemon listening at `socket`.
    pub fn connect(socket: &Path) -> Result<Self, ClientError> {
        let stream = UnixStream::connect(socket)
            .map_err(|source| ClientError::Connect { path: socket.to_path_buf(), source })?;
        Ok(Self { stream, next_id: FIRST_REQUEST_ID })
    }

    /// Sends `request` and returns its reply. An API error from the daemon
    /// is [`ClientError::Api`].
    pub fn call(&mut self, request: &AdminRequest) -> Result<AdminReply, ClientError> {
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(FIRST_REQUEST_ID);
        exchange(&mut self.stream, id, request)?.map_err(ClientError::Api)
    }
}

/// One request and its answer over an open stream.
fn exchange<S: io::Read + io::Write>(
    stream: &mut S,
    request_id: u32,
    request: &AdminRequest,
) -> Result<AdminResult, ClientError> {
    let frame = encode_frame(MessageKind::AdminRequest, request_id, request).map_err(ClientError::Encode)?;
    let sent = write_frame(stream, &frame).and_then(|()| stream.flush().map_err(FrameError::Io));
    // The daemon may refuse a peer or a frame (and close) before reading
    // the whole request: the write then fails, but the refusal is waiting
    // to be read and says more than "broken pipe".
    let (header, body) = match (sent, read_frame(stream, MAX_BODY_LEN)) {
        (_, Ok(Some(frame))) => frame,
        (Err(error), _) => return Err(ClientError::Send(error)),
        (Ok(()), Ok(None)) => return Err(ClientError::Closed),
        (Ok(()), Err(error)) => return Err(ClientError::Receive(error)),
    };
    match header.kind {
        // A protocol error may come before the daemon read our header, so
        // its request id is not checked.
        MessageKind::ProtocolError => {
            let refusal: ProtocolError = decode_body(&body).map_err(ClientError::Decode)?;
            Err(ClientError::Refused {
                kind: refusal.kind,
                message: refusal.message,
                server_major: refusal.server_major,
            })
        }
        MessageKind::AdminResponse if header.request_id != request_id => {
            Err(ClientError::WrongRequestId { expected: request_id, got: header.request_id })
        }
        MessageKind::AdminResponse => decode_body::<AdminResult>(&body).map_err(ClientError::Decode),
        other => Err(ClientError::UnexpectedFrame(other)),
    }
}

#[cfg(test)]
pub(crate) mod test_server {
    //! A stand-in for p11kmsd in tests: a Unix socket of its own, served by
    //! a thread that answers admin request frames as a closure says, the way
    //! the daemon's admin connections do: several requests per connection,
    //! in turn, over as many connections as the client opens; a frame over
    //! the body limit is refused with a `ProtocolError` and the connection
    //! closed.

    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::thread::{self, JoinHandle};

    use p11kms_proto::admin::{AdminRequest, AdminResult};
    use p11kms_proto::error::{ProtocolError, ProtocolErrorKind};
    use p11kms_proto::frame::{encode_frame, read_frame, write_frame};
    use p11kms_proto::{FrameError, MessageKind, PROTOCOL_MAJOR, decode_body};

    /// A socket path of its own for each test.
    pub fn socket_path() -> PathBuf {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("p11kms-cli-{}-{n}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        path
    }

    /// One frame the server received.
    #[derive(Debug)]
    pub struct Seen {
        /// Which connection it came on (0 for the first).
        pub connection: usize,
        /// Its request id.
        pub request_id: u32,
        /// Its body length.
        pub body_len: u32,
        /// The request, or `None` when it was refused as too long.
        pub request: Option<AdminRequest>,
    }

    /// A running stand-in daemon.
    #[derive(Debug)]
    pub struct Server {
        path: PathBuf,
        stop: Arc<AtomicBool>,
        handle: JoinHandle<Vec<Seen>>,
    }

    impl Server {
        /// Serves with a body limit of `limit` bytes, answering each
        /// request with `answer`.
        pub fn start(limit: u32, mut answer: impl FnMut(AdminRequest) -> AdminResult + Send + 'static) -> Self {
            let path = socket_path();
            let listener = UnixListener::bind(&path).expect("bind");
            let stop = Arc::new(AtomicBool::new(false));
            let stopped = stop.clone();
            let handle = thread::spawn(move || {
                let mut seen = Vec::new();
                for connection in 0.. {
                    let (mut stream, _) = listener.accept().expect("accept");
                    if stopped.load(Ordering::SeqCst) {
                        break;
                    }
                    serve(&mut stream, connection, limit, &mut answer, &mut seen);
                }
                seen
            });
            Self { path, stop, handle }
        }

        /// The socket to connect to.
        pub fn path(&self) -> &Path {
            &self.path
        }

        /// Stops the server and returns the frames it received, in order.
        pub fn finish(self) -> Vec<Seen> {
            self.stop.store(true, Ordering::SeqCst);
            // Wakes the accept loop so that it sees the flag.
            let _ = UnixStream::connect(&self.path);
            let seen = self.handle.join().expect("the server thread");
            let _ = std::fs::remove_file(&self.path);
            seen
        }
    }

    fn serve(
        stream: &mut UnixStream,
        connection: usize,
        limit: u32,
        answer: &mut impl FnMut(AdminRequest) -> AdminResult,
        seen: &mut Vec<Seen>,
    ) {
        loop {
            match read_frame(stream, limit) {
                Ok(Some((header, body))) => {
                    assert_eq!(header.kind, MessageKind::AdminRequest);
                    let request: AdminRequest = decode_body(&body).expect("an AdminRequest");
                    let reply = encode_frame(MessageKind::AdminResponse, header.request_id, &answer(request.clone()))
                        .expect("encodes");
                    seen.push(Seen {
                        connection,
                        request_id: header.request_id,
                        body_len: header.body_len,
                        request: Some(request),
                    });
                    write_frame(stream, &reply).expect("writes");
                }
                Ok(None) => return,
                Err(FrameError::BodyTooLong { len, .. }) => {
                    seen.push(Seen { connection, request_id: 0, body_len: len, request: None });
                    let refusal = ProtocolError {
                        kind: ProtocolErrorKind::BodyTooLong,
                        message: format!("body of {len} bytes is over the limit of {limit} bytes"),
                        server_major: PROTOCOL_MAJOR,
                    };
                    let frame = encode_frame(MessageKind::ProtocolError, 0, &refusal).expect("encodes");
                    let _ = write_frame(stream, &frame);
                    return;
                }
                Err(error) => panic!("the test server read a bad frame: {error}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixListener;
    use std::thread;

    use p11kms_proto::admin::InstanceInfo;
    use p11kms_proto::{ErrorCode, Timestamp};

    use super::test_server::{Server, socket_path};
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

    /// Serves one connection: checks that it carries an admin request frame,
    /// hands the decoded request to the test and writes the frames `answer`
    /// returns.
    fn serve_once(
        answer: impl FnOnce(u32, AdminRequest) -> Vec<u8> + Send + 'static,
    ) -> (PathBuf, thread::JoinHandle<AdminRequest>) {
        let path = socket_path();
        let listener = UnixListener::bind(&path).expect("bind");
        let handle = thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let (header, body) = read_frame(&mut stream, MAX_BODY_LEN).expect("reads").expect("a frame");
            assert_eq!(header.kind, MessageKind::AdminRequest);
            let request: AdminRequest = decode_body(&body).expect("an AdminRequest");
            let reply = answer(header.request_id, request.clone());
            io::Write::write_all(&mut stream, &reply).expect("writes");
            request
        });
        (path, handle)
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
        }
    }

    #[test]
    fn sends_an_admin_request_frame_and_decodes_the_reply() {
        let (path, server) = serve_once(|id, _| {
            let result: AdminResult = Ok(AdminReply::Instances(vec![instance()]));
            encode_frame(MessageKind::AdminResponse, id, &result).expect("encodes")
        });
        let request = AdminRequest::InstanceDescribe { name: "hsm1".into() };
        let reply = call(&path, &request).expect("a reply");
        assert_eq!(reply, AdminReply::Instances(vec![instance()]));
        assert_eq!(server.join().expect("server"), request);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn an_api_error_is_returned_as_such_and_prints_code_first() {
        let (path, server) = serve_once(|id, _| {
            let result: AdminResult = Err(ApiError::new(ErrorCode::KeyNotFound, "key 'k-1' does not exist"));
            encode_frame(MessageKind::AdminResponse, id, &result).expect("encodes")
        });
        let err = call(&path, &AdminRequest::KeyDescribe { key: "k-1".into() }).expect_err("an API error");
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
        let err = call(&path, &AdminRequest::InstanceList).expect_err("refused");
        assert!(matches!(err, ClientError::Refused { kind: ProtocolErrorKind::NotAuthorized, .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("uid 1000 is not allowed") && text.contains("not allowed on the admin socket"), "{text}");
        server.join().expect("server");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_closed_connection_and_a_wrong_id_are_errors() {
        let (path, server) = serve_once(|_, _| Vec::new());
        let err = call(&path, &AdminRequest::InstanceList).expect_err("closed");
        assert!(matches!(err, ClientError::Closed), "{err:?}");
        server.join().expect("server");
        let _ = std::fs::remove_file(&path);

        let (path, server) = serve_once(|id, _| {
            let result: AdminResult = Ok(AdminReply::Done);
            encode_frame(MessageKind::AdminResponse, id + 1, &result).expect("encodes")
        });
        let err = call(&path, &AdminRequest::InstanceList).expect_err("wrong id");
        assert!(matches!(err, ClientError::WrongRequestId { .. }), "{err:?}");
        server.join().expect("server");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_garbled_answer_is_a_decode_error() {
        let (path, server) = serve_once(|id, _| {
            let mut frame = encode_frame(MessageKind::AdminResponse, id, &0xffu8).expect("encodes");
            frame.push(0xff);
            let len = (frame.len() - p11kms_proto::HEADER_LEN) as u32;
            frame[12..16].copy_from_slice(&len.to_be_bytes());
            frame
        });
        let err = call(&path, &AdminRequest::InstanceList).expect_err("garbled");
        assert!(matches!(err, ClientError::Decode(_)), "{err:?}");
        server.join().expect("server");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn one_connection_carries_several_requests_each_with_its_own_id() {
        let server = Server::start(MAX_BODY_LEN, |request| match request {
            AdminRequest::InstanceList => Ok(AdminReply::Instances(vec![instance()])),
            _ => Err(ApiError::new(ErrorCode::KeyNotFound, "no such key")),
        });
        let mut client = Client::connect(server.path()).expect("connects");
        assert_eq!(client.call(&AdminRequest::InstanceList).expect("a reply"), AdminReply::Instances(vec![instance()]));
        let err = client.call(&AdminRequest::KeyDescribe { key: "k".into() }).expect_err("an API error");
        assert!(matches!(err, ClientError::Api(_)), "{err:?}");
        assert!(client.call(&AdminRequest::InstanceList).is_ok(), "an API error leaves the connection usable");
        drop(client);
        let seen = server.finish();
        assert_eq!(seen.iter().map(|s| (s.connection, s.request_id)).collect::<Vec<_>>(), [(0, 1), (0, 2), (0, 3)]);
    }

    #[test]
    fn a_frame_over_the_limit_is_refused_as_such() {
        let server = Server::start(64, |_| Ok(AdminReply::Done));
        let big = AdminRequest::KeyDescribe { key: "k".repeat(1024 * 1024) };
        let err = call(server.path(), &big).expect_err("too long");
        assert!(matches!(err, ClientError::Refused { kind: ProtocolErrorKind::BodyTooLong, .. }), "{err:?}");
        let seen = server.finish();
        assert!(seen.len() == 1 && seen[0].request.is_none(), "{seen:?}");
    }

    #[test]
    fn a_missing_socket_says_where_it_looked_and_what_to_do() {
        let path = socket_path();
        let err = call(&path, &AdminRequest::InstanceList).expect_err("no daemon");
        let text = err.to_string();
        assert!(text.starts_with(&format!("cannot reach p11kmsd at {}: ", path.display())), "{text}");
        assert!(text.ends_with("(is the daemon running? set --socket or P11KMS_ADMIN_SOCKET)"), "{text}");
    }
}
