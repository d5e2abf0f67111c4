//! One admin connection: the calls of one `p11kms` run, each answered on
//! the connection's own thread by the admin plane's table
//! (`crate::admin`). A malformed call or an unknown opcode is answered
//! with an API error and the connection stays usable; a panic in a
//! handler is answered as `InternalFailure`.

use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use zeroize::Zeroizing;

use p11kms_proto::admin::operation::encode_answer;
use p11kms_proto::error::{ProtocolError, ProtocolErrorKind};
use p11kms_proto::frame::{Header, MessageKind, encode_raw_frame};
use p11kms_proto::socket::{Spin, try_send};
use p11kms_proto::{ApiError, ErrorCode};

use super::connection::{self, Limits, Plane};
use super::framing::{protocol_error, protocol_error_frame};
use super::peer::{AdminPolicy, Peer};
use super::shutdown::ConnectionGuard;
use crate::admin::{self, Caller};
use crate::service::Service;

/// The admin plane of one connection.
struct AdminPlane<'a> {
    service: &'a Service,
    caller: Caller,
}

impl Plane for AdminPlane<'_> {
    const REQUEST: MessageKind = MessageKind::AdminCall;
    const NAME: &'static str = "admin";

    fn answer(&mut self, header: &Header, body: &[u8]) -> Result<Zeroizing<Vec<u8>>, ProtocolError> {
        let answer =
            catch_unwind(AssertUnwindSafe(|| admin::answer(self.service, self.caller, body))).unwrap_or_else(|_| {
                tracing::error!(uid = self.caller.uid, "admin call handler panicked");
                let failed = ApiError::new(ErrorCode::InternalFailure, "the request handler failed");
                encode_answer::<()>(&Err(failed)).unwrap_or_default()
            });
        let answer = Zeroizing::new(answer);
        encode_raw_frame(MessageKind::AdminAnswer, header.request_id, &answer).map(Zeroizing::new).or_else(|error| {
            tracing::error!(%error, "an admin answer does not fit in a frame");
            let failed = ApiError::new(ErrorCode::InternalFailure, format!("the answer cannot be sent: {error}"));
            let answer = encode_answer::<()>(&Err(failed)).unwrap_or_default();
            encode_raw_frame(MessageKind::AdminAnswer, header.request_id, &answer)
                .map(Zeroizing::new)
                .map_err(|error| protocol_error(ProtocolErrorKind::BodyTooLong, error.to_string()))
        })
    }

    fn wrong_kind(&self, kind: MessageKind) -> ProtocolError {
        match kind {
            MessageKind::LegacyAdminRequest => protocol_error(
                ProtocolErrorKind::UnexpectedKind,
                "this p11kms speaks the admin protocol of before opcodes: use the p11kms of p11kmsd's release",
            ),
            other => protocol_error(
                ProtocolErrorKind::UnexpectedKind,
                format!("the admin socket takes admin calls, not {other:?} frames"),
            ),
        }
    }
}

/// Serves an admin connection: a peer the policy does not know is refused
/// with a protocol error; the others are served until they close.
pub fn serve(service: Arc<Service>, stream: UnixStream, peer: Peer, guard: ConnectionGuard, limits: Limits) {
    let policy = AdminPolicy::new(&service.config.sockets);
    let Some(role) = policy.role(peer.uid) else {
        tracing::warn!(uid = peer.uid, "admin connection refused: uid not allowed");
        let refusal =
            protocol_error(ProtocolErrorKind::NotAuthorized, format!("uid {} may not use the admin socket", peer.uid));
        let _ = try_send(&stream, &protocol_error_frame(&refusal));
        return;
    };
    let mut plane = AdminPlane {
        service: &service,
        caller: Caller { uid: peer.uid, gid: Some(peer.gid), pid: peer.pid.and_then(|p| u32::try_from(p).ok()), role },
    };
    connection::serve(&stream, peer.uid, &limits, Spin::NEVER, &mut plane);
    drop(guard);
}
