//! One admin connection: an async task that reads requests, runs each on
//! the blocking pool, and writes the answers, until the peer closes or the
//! daemon shuts down.

use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use zeroize::Zeroizing;

use p11kms_proto::admin::{AdminRequest, AdminResult};
use p11kms_proto::error::ProtocolErrorKind;
use p11kms_proto::frame::{MessageKind, encode_frame};
use p11kms_proto::{ApiError, ErrorCode, decode_body};

use super::framing::{frame_error_reply, protocol_error, read_frame, send_protocol_error};
use super::shutdown::{ConnectionGuard, Shutdown};
use crate::admin::{self, Caller};
use crate::service::Service;

/// Serves an admin connection.
pub async fn serve(
    service: Arc<Service>,
    mut stream: UnixStream,
    caller: Caller,
    shutdown: Shutdown,
    guard: ConnectionGuard,
) {
    let limit = service.config.sockets.max_body_bytes;
    let mut stop = shutdown.subscribe();
    loop {
        let frame = tokio::select! {
            frame = read_frame(&mut stream, limit) => frame,
            _ = stop.recv() => break,
        };
        // Bodies and replies can carry plaintext, PINs and secret values:
        // both buffers are wiped when dropped.
        let (header, body) = match frame {
            Ok(Some((header, body))) => (header, Zeroizing::new(body)),
            Ok(None) => break,
            Err(error) => {
                tracing::warn!(uid = caller.uid, %error, "admin connection: bad frame");
                if let Some(reply) = frame_error_reply(&error) {
                    send_protocol_error(&mut stream, &reply).await;
                }
                break;
            }
        };
        if header.kind != MessageKind::AdminRequest {
            let reply = protocol_error(ProtocolErrorKind::UnexpectedKind, "the admin socket takes admin requests only");
            send_protocol_error(&mut stream, &reply).await;
            break;
        }
        let request: AdminRequest = match decode_body(&body) {
            Ok(request) => request,
            Err(error) => {
                send_protocol_error(&mut stream, &protocol_error(ProtocolErrorKind::MalformedBody, error.to_string()))
                    .await;
                break;
            }
        };
        let worker = service.clone();
        let result: AdminResult =
            tokio::task::spawn_blocking(move || admin::handle(&worker, caller, request)).await.unwrap_or_else(
                |error| Err(ApiError::new(ErrorCode::InternalFailure, format!("request handler failed: {error}"))),
            );
        let frame = match encode_frame(MessageKind::AdminResponse, header.request_id, &result) {
            Ok(frame) => Zeroizing::new(frame),
            Err(error) => {
                let fallback: AdminResult = Err(ApiError::new(ErrorCode::InternalFailure, error.to_string()));
                match encode_frame(MessageKind::AdminResponse, header.request_id, &fallback) {
                    Ok(frame) => Zeroizing::new(frame),
                    Err(_) => break,
                }
            }
        };
        if stream.write_all(&frame).await.is_err() {
            break;
        }
    }
    drop(guard);
}
