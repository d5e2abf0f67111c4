//! A stand-in for p11kmsd in tests: a Unix socket of its own, served by a
//! thread that answers admin calls as a closure says, the way the daemon's
//! admin connections do: several calls per connection, in turn, over as
//! many connections as the client opens; a frame over the body limit is
//! refused with a `ProtocolError` and the connection closed.

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::{self, JoinHandle};

use p11kms_proto::admin::operation::{decode_request, encode_answer, split_call};
use p11kms_proto::admin::{Opcode, Operation};
use p11kms_proto::error::{ProtocolError, ProtocolErrorKind};
use p11kms_proto::frame::{encode_frame, read_frame, write_frame};
use p11kms_proto::{ApiError, FrameError, MessageKind, PROTOCOL_MAJOR};

/// A socket path of its own for each test.
pub fn socket_path() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("p11kms-cli-{}-{n}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// An admin call as the server received it: an opcode and its request's
/// bytes.
#[derive(Clone, Debug)]
pub struct Call {
    /// The operation called.
    pub opcode: Opcode,
    /// Its request, encoded.
    pub request: Vec<u8>,
}

impl Call {
    /// Splits an `AdminCall` body.
    pub fn from_body(body: &[u8]) -> Self {
        let (opcode, request) = split_call(body).expect("an opcode and a request");
        Self { opcode, request: request.to_vec() }
    }

    /// The request, which must be one of operation `O`.
    pub fn request<O: Operation>(&self) -> O::Request {
        assert_eq!(self.opcode, O::OPCODE, "a call of {} was expected", O::NAME);
        decode_request::<O>(&self.request).expect("the request decodes")
    }
}

/// The body of an `AdminAnswer` to a call of operation `O`.
pub fn answer<O: Operation>(result: Result<O::Reply, ApiError>) -> Vec<u8> {
    encode_answer(&result).expect("the answer encodes")
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
    /// The call, or `None` when it was refused as too long.
    pub request: Option<Call>,
}

/// A running stand-in daemon.
#[derive(Debug)]
pub struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Vec<Seen>>,
}

impl Server {
    /// Serves with a body limit of `limit` bytes, answering each call with
    /// the `AdminAnswer` body `answer` returns (see [`answer`]).
    pub fn start(limit: u32, mut answer: impl FnMut(&Call) -> Vec<u8> + Send + 'static) -> Self {
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
    answer: &mut impl FnMut(&Call) -> Vec<u8>,
    seen: &mut Vec<Seen>,
) {
    loop {
        match read_frame(stream, limit) {
            Ok(Some((header, body))) => {
                assert_eq!(header.kind, MessageKind::AdminCall);
                let call = Call::from_body(&body);
                let reply =
                    p11kms_proto::frame::encode_raw_frame(MessageKind::AdminAnswer, header.request_id, &answer(&call))
                        .expect("frames");
                seen.push(Seen {
                    connection,
                    request_id: header.request_id,
                    body_len: header.body_len,
                    request: Some(call),
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
