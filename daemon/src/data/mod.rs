//! The data plane's back end: one handler per `DataRequest`, run on the
//! connection's own thread (see `front::data_connection`). Handlers read
//! the in-memory registry, call the HSMs through the cluster's members (or,
//! for the `default` instance, the daemon's software vault: `software`),
//! and answer with the `CK_RV` the application will see.

pub mod access;
pub mod app_objects;
mod audited;
pub mod clients;
pub mod connections;
pub mod created;
mod crypt;
mod crypto;
pub mod emulated;
pub mod error;
mod find;
mod key_names;
mod keygen;
mod logins;
mod lookup;
pub mod object_ids;
pub mod objects;
mod pin_flags;
mod promote;
pub mod secret_objects;
mod session_copy;
pub mod session_key;
pub mod session_keys;
mod slots;
mod software;

use cryptoki_sys::*;

use p11kms_proto::CkRv;
use p11kms_proto::data::{ClientId, DataReply, DataRequest, DataResult};

use crate::service::Service;
use crypt::Crypt;
use error::rv;

/// What the data plane knows about one connection.
#[derive(Debug)]
pub struct ConnectionContext {
    /// Uid of the peer process (from the kernel).
    pub uid: u32,
    /// Its gid (from the kernel).
    pub gid: Option<u32>,
    /// Its pid (from the kernel).
    pub pid: Option<u32>,
    /// The client id from the connection's Hello.
    pub client: Option<ClientId>,
}

/// Answers one request.
pub fn handle(service: &Service, ctx: &mut ConnectionContext, request: DataRequest) -> DataResult {
    let client = match (&request, ctx.client) {
        (DataRequest::Hello { client_id, module_version }, None) => {
            service.clients.attach(*client_id, ctx.uid).map_err(|e| CkRv(e.ck_rv()))?;
            ctx.client = Some(*client_id);
            tracing::debug!(uid = ctx.uid, module_version, "data client connected");
            return Ok(DataReply::Welcome {
                daemon_version: env!("CARGO_PKG_VERSION").into(),
                boot_id: service.boot_id,
                max_body_len: service.config.sockets.max_body_bytes,
            });
        }
        // A second Hello, or any request before the first, breaks the protocol.
        (DataRequest::Hello { .. }, Some(_)) | (_, None) => return Err(CkRv(CKR_GENERAL_ERROR)),
        (_, Some(client)) => client,
    };
    let watched = audited::watch(&request);
    let result = match request {
        DataRequest::Hello { .. } => Err(rv(CKR_GENERAL_ERROR)),
        DataRequest::ListSlots => slots::list(service, &client).map(DataReply::Slots),
        DataRequest::Login { slot, user_type, pin } => {
            logins::login(service, ctx, &client, slot, user_type, pin.expose())
        }
        DataRequest::Logout { slot } => service.clients.logout(&client, slot).map(|()| DataReply::Done),
        DataRequest::FindObjects { slot, template } => find::find(service, &client, slot, &template),
        DataRequest::GetAttributes { slot, object, types } => find::attributes(service, &client, slot, object, &types),
        DataRequest::GenerateKey { slot, mechanism, template } => {
            keygen::generate_key(service, &client, slot, &mechanism, &template)
        }
        DataRequest::GenerateKeyPair { slot, mechanism, public_template, private_template } => {
            keygen::generate_key_pair(service, &client, slot, &mechanism, &public_template, &private_template)
        }
        DataRequest::DestroyObject { slot, object } => find::destroy(service, &client, slot, object),
        DataRequest::Sign { slot, object, mut mechanism, data } => {
            crypto::operate(service, &client, slot, object, &mut mechanism, Crypt::Sign(&data))
        }
        DataRequest::Verify { slot, object, mut mechanism, data, signature } => {
            crypto::operate(service, &client, slot, object, &mut mechanism, Crypt::Verify(&data, &signature))
        }
        DataRequest::Encrypt { slot, object, mut mechanism, data } => {
            crypto::operate(service, &client, slot, object, &mut mechanism, Crypt::Encrypt(data.expose()))
        }
        DataRequest::Decrypt { slot, object, mut mechanism, data } => {
            crypto::operate(service, &client, slot, object, &mut mechanism, Crypt::Decrypt(&data))
        }
        DataRequest::GenerateRandom { slot, length } => crypto::random(service, slot, length),
        DataRequest::SetPin { slot, old_pin, new_pin } => {
            logins::set_pin(service, &client, slot, old_pin.expose(), new_pin.expose())
        }
        DataRequest::CreateObject { slot, template } => app_objects::create(service, &client, slot, &template),
        DataRequest::CopyObject { slot, object, template } => {
            app_objects::copy(service, &client, slot, object, &template)
        }
        DataRequest::SetAttributes { slot, object, template } => {
            app_objects::set_attributes(service, &client, slot, object, &template)
        }
        DataRequest::GetObjectSize { slot, object } => find::size(service, &client, slot, object),
        DataRequest::DestroySessionObjects { slot, objects } => {
            Ok(app_objects::destroy_session_objects(service, &client, slot, &objects))
        }
        DataRequest::WrapKey { slot, mut mechanism, wrapping, key } => {
            session_keys::wrap(service, &client, slot, &mut mechanism, wrapping, key)
        }
        DataRequest::UnwrapKey { slot, mut mechanism, unwrapping, wrapped, template } => {
            session_keys::unwrap(service, &client, slot, &mut mechanism, unwrapping, &wrapped, &template)
        }
        DataRequest::DeriveKey { slot, mut mechanism, base, template } => {
            session_keys::derive(service, &client, slot, &mut mechanism, base, &template)
        }
        DataRequest::FindObjectsPage { slot, template, after } => {
            find::find_page(service, &client, slot, &template, after)
        }
    };
    audited::record(service, ctx, &client, watched, result.as_ref());
    result.map_err(|error| {
        // Refusals are the application's business (debug); faults are the
        // operator's. Neither line carries request data: it can be secret.
        if error.is_fault() {
            tracing::error!(uid = ctx.uid, %error, "data request failed");
        } else if error.is_denial() {
            // Until the audit trail records it (issue 15), the log does.
            tracing::info!(uid = ctx.uid, %error, "data request refused by the app's policy");
        } else {
            tracing::debug!(uid = ctx.uid, %error, "data request refused");
        }
        CkRv(error.ck_rv())
    })
}
