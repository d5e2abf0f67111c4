//! One data-plane connection: the PKCS#11 calls of one module connection,
//! answered on the connection's own thread (the HSM call included), then
//! a short poll for the next frame before sleeping
//! (`sockets.spin_wait_us`, see `p11kms_proto::socket`). A panic in a
//! handler is caught and answered with `CKR_GENERAL_ERROR`.

use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use cryptoki_sys::CKR_GENERAL_ERROR;
use zeroize::Zeroizing;

use p11kms_proto::data::{DataRequest, DataResult};
use p11kms_proto::error::{ProtocolError, ProtocolErrorKind};
use p11kms_proto::frame::{Header, MessageKind, encode_frame};
use p11kms_proto::socket::Spin;
use p11kms_proto::{CkRv, decode_body};

use super::connection::{self, Limits, Plane};
use super::framing::protocol_error;
use super::peer::Peer;
use super::shutdown::ConnectionGuard;
use crate::data::connections::Registration;
use crate::data::{self, ConnectionContext};
use crate::service::Service;

/// The data plane of one connection.
struct DataPlane<'a> {
    service: &'a Service,
    ctx: ConnectionContext,
    registration: &'a Registration<'a>,
}

impl Plane for DataPlane<'_> {
    const REQUEST: MessageKind = MessageKind::DataRequest;
    const NAME: &'static str = "data";

    fn answer(&mut self, header: &Header, body: &[u8]) -> Result<Zeroizing<Vec<u8>>, ProtocolError> {
        let request: DataRequest = decode_body(body).map_err(|error| {
            tracing::warn!(uid = self.ctx.uid, %error, "data connection: malformed request");
            protocol_error(ProtocolErrorKind::MalformedBody, error.to_string())
        })?;
        self.registration.stats().count_request();
        let _busy = self.service.connections.busy.enter();
        let result: DataResult = catch_unwind(AssertUnwindSafe(|| data::handle(self.service, &mut self.ctx, request)))
            .unwrap_or_else(|_| {
                tracing::error!(uid = self.ctx.uid, "data request handler panicked");
                Err(CkRv(CKR_GENERAL_ERROR))
            });
        let frame = encode_frame(MessageKind::DataResponse, header.request_id, &result).or_else(|error| {
            tracing::error!(%error, "cannot encode a data reply");
            encode_frame(MessageKind::DataResponse, header.request_id, &DataResult::Err(CkRv(CKR_GENERAL_ERROR)))
        });
        frame.map(Zeroizing::new).map_err(|error| protocol_error(ProtocolErrorKind::MalformedBody, error.to_string()))
    }

    /// A client that is logged in or holds session objects keeps its
    /// connections: the daemon would end both with its last one.
    fn may_close_when_idle(&self) -> bool {
        self.ctx.client.is_none_or(|client| !self.service.clients.holds_state(&client))
    }
}

/// Serves a connection until the peer closes it, it breaks the protocol,
/// or the daemon shuts down.
pub fn serve(service: Arc<Service>, stream: UnixStream, peer: Peer, guard: ConnectionGuard, limits: Limits) {
    let registration = service.connections.register(peer.uid, peer.pid, service.kms.clock.now());
    let spin = Spin {
        budget: Duration::from_micros(service.config.sockets.spin_wait_us.into()),
        gate: Some(&service.connections.busy),
    };
    let mut plane = DataPlane {
        service: &service,
        ctx: ConnectionContext {
            uid: peer.uid,
            gid: Some(peer.gid),
            pid: peer.pid.and_then(|p| u32::try_from(p).ok()),
            client: None,
        },
        registration: &registration,
    };
    connection::serve(&stream, peer.uid, &limits, spin, &mut plane);
    let client = plane.ctx.client;
    drop(registration);
    if let Some(client) = client {
        service.clients.detach(&client);
    }
    drop(guard);
}
