//! One data-plane connection, served by its own OS thread: read a frame,
//! answer it on this thread (the HSM call included), write the reply, then
//! poll briefly for the next frame before sleeping (`sockets.spin_wait_us`,
//! see `p11kms_proto::socket`).
//! A frame that breaks the rules gets a protocol error and the connection
//! closes; other connections are not affected. A panic in a handler is
//! caught and answered with `CKR_GENERAL_ERROR`.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use cryptoki_sys::CKR_GENERAL_ERROR;
use zeroize::Zeroizing;

use p11kms_proto::data::{DataRequest, DataResult};
use p11kms_proto::error::ProtocolErrorKind;
use p11kms_proto::frame::{MessageKind, encode_frame};
use p11kms_proto::socket::{FrameReader, Spin};
use p11kms_proto::{CkRv, decode_body};

use super::framing::{frame_error_reply, protocol_error, protocol_error_frame};
use super::shutdown::ConnectionGuard;
use crate::data::{self, ConnectionContext};
use crate::service::Service;

/// Serves a connection until the peer closes it, it breaks the protocol,
/// or the daemon shuts down.
pub fn serve(service: Arc<Service>, mut stream: UnixStream, uid: u32, pid: Option<i32>, guard: ConnectionGuard) {
    let limit = service.config.sockets.max_body_bytes;
    let mut ctx = ConnectionContext { uid, client: None };
    let registration = service.connections.register(uid, pid, service.clock.now());
    let spin = Spin {
        budget: Duration::from_micros(service.config.sockets.spin_wait_us.into()),
        gate: Some(&service.connections.busy),
    };
    // Bodies and replies can hold PINs, plaintext and secret values: the
    // reader and both buffers are wiped when dropped.
    let mut reader = FrameReader::new();
    loop {
        let (header, body) = match reader.read(&stream, limit, spin) {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(error) => {
                tracing::warn!(uid, %error, "data connection: bad frame");
                if let Some(reply) = frame_error_reply(&error) {
                    let _ = stream.write_all(&protocol_error_frame(&reply));
                }
                break;
            }
        };
        if header.kind != MessageKind::DataRequest {
            let reply = protocol_error(ProtocolErrorKind::UnexpectedKind, "the data socket takes data requests only");
            let _ = stream.write_all(&protocol_error_frame(&reply));
            break;
        }
        let request: DataRequest = match decode_body(&body) {
            Ok(request) => request,
            Err(error) => {
                tracing::warn!(uid, %error, "data connection: malformed request");
                let _ = stream.write_all(&protocol_error_frame(&protocol_error(
                    ProtocolErrorKind::MalformedBody,
                    error.to_string(),
                )));
                break;
            }
        };
        registration.stats().count_request();
        let _busy = service.connections.busy.enter();
        let result: DataResult = catch_unwind(AssertUnwindSafe(|| data::handle(&service, &mut ctx, request)))
            .unwrap_or_else(|_| {
                tracing::error!(uid, "data request handler panicked");
                Err(CkRv(CKR_GENERAL_ERROR))
            });
        let frame = encode_frame(MessageKind::DataResponse, header.request_id, &result).or_else(|error| {
            tracing::error!(%error, "cannot encode a data reply");
            encode_frame(MessageKind::DataResponse, header.request_id, &DataResult::Err(CkRv(CKR_GENERAL_ERROR)))
        });
        match frame.map(Zeroizing::new) {
            Ok(frame) if stream.write_all(&frame).is_ok() => {}
            _ => break,
        }
    }
    drop(registration);
    if let Some(client) = ctx.client {
        service.clients.detach(&client);
    }
    drop(guard);
}
