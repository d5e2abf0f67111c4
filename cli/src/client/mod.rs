//! The admin connection: finds the daemon's admin socket, sends one
//! operation's call at a time over a blocking Unix stream and reads its
//! answer. A call is an `AdminCall` frame (the operation's opcode, then its
//! request); the answer an `AdminAnswer` frame (the operation's reply or an
//! API error), or a `ProtocolError` frame after which the daemon closes the
//! connection. Most commands make one call ([`call`]); `rewrap` makes its
//! batches in turn over one [`Client`].
//!
//! Calls are typed by their [`Operation`]: the request sent is `O::Request`
//! and the reply returned `O::Reply`, so an answer cannot be taken for
//! another operation's.
//!
//! The encoded call, its frame and the answer's body are wiped when
//! dropped: they may carry a secret value (a put, a read), as the typed
//! request and reply do.
//!
//! Every way this can fail is a [`ClientError`]; the spec's API errors are
//! one of them ([`ClientError::Api`]), kept apart from transport and protocol
//! failures so that `main` can give them different exit statuses.

use std::ffi::OsString;
use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use p11kms_proto::admin::Operation;
use p11kms_proto::admin::operation::{decode_answer, encode_call};
use p11kms_proto::error::{ProtocolError, ProtocolErrorKind};
use p11kms_proto::frame::{encode_raw_frame, read_frame, write_frame};
use p11kms_proto::{ApiError, CodecError, FrameError, MAX_BODY_LEN, MessageKind, PROTOCOL_MAJOR, decode_body};
use zeroize::Zeroizing;

#[cfg(test)]
pub(crate) mod test_server;
#[cfg(test)]
mod tests;

/// Environment variable naming the admin socket when `--socket` is absent.
pub const SOCKET_ENV: &str = "P11KMS_ADMIN_SOCKET";

/// The admin socket when neither `--socket` nor [`SOCKET_ENV`] is given.
pub const DEFAULT_SOCKET: &str = "/var/lib/p11kms/admin.sock";

/// The request id of the first call on a connection; each next one takes
/// the next id.
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
    /// The answer's body is not what its frame kind says it is, or not an
    /// answer to the operation called.
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

/// Calls operation `O` with `request` on the daemon listening at `socket`
/// and returns its reply. An API error from the daemon is
/// [`ClientError::Api`].
pub fn call<O: Operation>(socket: &Path, request: &O::Request) -> Result<O::Reply, ClientError> {
    Client::connect(socket)?.call::<O>(request)
}

/// An open admin connection: calls go one at a time, each answered before
/// the next is sent. After any error but [`ClientError::Api`] the daemon
/// has closed it (or broke the protocol): connect again.
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

    /// Calls operation `O` with `request` and returns its reply. An API
    /// error from the daemon is [`ClientError::Api`].
    pub fn call<O: Operation>(&mut self, request: &O::Request) -> Result<O::Reply, ClientError> {
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(FIRST_REQUEST_ID);
        // The encoded call and answer may carry a secret value (a put, a
        // read): wiped when dropped, as the request and reply are.
        let call = Zeroizing::new(encode_call::<O>(request).map_err(ClientError::Encode)?);
        let answer = exchange(&mut self.stream, id, &call)?;
        decode_answer::<O>(&answer).map_err(ClientError::Decode)?.map_err(ClientError::Api)
    }
}

/// One call and its answer over an open stream: sends `call` (an
/// `AdminCall` body) and returns the body of the `AdminAnswer`.
fn exchange<S: io::Read + io::Write>(
    stream: &mut S,
    request_id: u32,
    call: &[u8],
) -> Result<Zeroizing<Vec<u8>>, ClientError> {
    let frame =
        Zeroizing::new(encode_raw_frame(MessageKind::AdminCall, request_id, call).map_err(ClientError::Encode)?);
    let sent = write_frame(stream, &frame).and_then(|()| stream.flush().map_err(FrameError::Io));
    // The daemon may refuse a peer or a frame (and close) before reading
    // the whole call: the write then fails, but the refusal is waiting to
    // be read and says more than "broken pipe".
    let (header, body) = match (sent, read_frame(stream, MAX_BODY_LEN)) {
        (_, Ok(Some(frame))) => frame,
        (Err(error), _) => return Err(ClientError::Send(error)),
        (Ok(()), Ok(None)) => return Err(ClientError::Closed),
        (Ok(()), Err(error)) => return Err(ClientError::Receive(error)),
    };
    let body = Zeroizing::new(body);
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
        MessageKind::AdminAnswer if header.request_id != request_id => {
            Err(ClientError::WrongRequestId { expected: request_id, got: header.request_id })
        }
        MessageKind::AdminAnswer => Ok(body),
        other => Err(ClientError::UnexpectedFrame(other)),
    }
}
