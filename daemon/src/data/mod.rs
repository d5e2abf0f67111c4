//! The data plane's back end: one handler per `DataRequest`, run on the
//! connection's own thread (see `front::data_connection`). Handlers read
//! the in-memory registry, call the HSMs through the cluster's members, and
//! answer with the `CK_RV` the application will see.

pub mod app_objects;
pub mod clients;
pub mod connections;
pub mod created;
mod crypto;
pub mod emulated;
mod find;
mod keygen;
pub mod objects;
pub mod session_keys;
mod slots;

use cryptoki_sys::*;

use p11kms_proto::CkRv;
use p11kms_proto::data::{ClientId, DataReply, DataRequest, DataResult};

use crate::kms::apps::{self, LoginError, SetPinError};
use crate::service::Service;
use crypto::Crypt;

/// What the data plane knows about one connection.
#[derive(Debug)]
pub struct ConnectionContext {
    /// Uid of the peer process (from the kernel).
    pub uid: u32,
    /// The client id from the connection's Hello.
    pub client: Option<ClientId>,
}

/// Answers one request.
pub fn handle(service: &Service, ctx: &mut ConnectionContext, request: DataRequest) -> DataResult {
    let client = match (&request, ctx.client) {
        (DataRequest::Hello { client_id, module_version }, None) => {
            service.clients.attach(*client_id, ctx.uid).map_err(CkRv)?;
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
    let result = match request {
        DataRequest::Hello { .. } => Err(CKR_GENERAL_ERROR),
        DataRequest::ListSlots => slots::list(service).map(DataReply::Slots),
        DataRequest::Login { slot, user_type, pin } => login(service, &client, slot, user_type, pin.expose()),
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
            set_pin(service, &client, slot, old_pin.expose(), new_pin.expose())
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
    };
    result.map_err(CkRv)
}

fn login(service: &Service, client: &ClientId, slot: u64, user_type: u64, pin: &[u8]) -> Result<DataReply, CK_RV> {
    if user_type != CKU_USER {
        // There is no security officer: instances are administered on the
        // admin socket, not through PKCS#11.
        return Err(CKR_USER_TYPE_INVALID);
    }
    let instance = service
        .kms
        .registry()
        .map_err(|e| e.ck_rv())?
        .instance_by_slot(slot)
        .map(|i| i.name.clone())
        .ok_or(CKR_SLOT_ID_INVALID)?;
    if service.clients.is_logged_in(client, slot) {
        return Err(CKR_USER_ALREADY_LOGGED_IN);
    }
    match apps::login(&service.kms, &instance, pin) {
        Ok(app) => {
            service.clients.login(client, slot, app.clone())?;
            tracing::info!(app, instance, "app logged in");
            Ok(DataReply::Done)
        }
        Err(LoginError::Incorrect) => {
            tracing::warn!(instance, "login refused: incorrect PIN");
            Err(CKR_PIN_INCORRECT)
        }
        Err(LoginError::Locked(until)) => {
            tracing::warn!(instance, %until, "login refused: app locked");
            Err(CKR_PIN_LOCKED)
        }
        Err(LoginError::Internal(error)) => {
            tracing::error!(instance, error, "login failed");
            Err(CKR_GENERAL_ERROR)
        }
    }
}

/// `C_SetPIN`: the app logged in to `slot` by this client changes its own
/// PIN. Other clients' logins made with the old PIN stay, as PKCS#11
/// sessions outlive a PIN change.
fn set_pin(
    service: &Service,
    client: &ClientId,
    slot: u64,
    old_pin: &[u8],
    new_pin: &[u8],
) -> Result<DataReply, CK_RV> {
    let instance = service
        .kms
        .registry()
        .map_err(|e| e.ck_rv())?
        .instance_by_slot(slot)
        .map(|i| i.name.clone())
        .ok_or(CKR_SLOT_ID_INVALID)?;
    let app = service.clients.app(client, slot).ok_or(CKR_USER_NOT_LOGGED_IN)?;
    match apps::set_pin(&service.kms, &app, old_pin, new_pin) {
        Ok(()) => {
            tracing::info!(app, instance, "app changed its PIN");
            Ok(DataReply::Done)
        }
        Err(error) => {
            let rv = match &error {
                SetPinError::Incorrect => CKR_PIN_INCORRECT,
                SetPinError::Locked(_) => CKR_PIN_LOCKED,
                SetPinError::LenRange => CKR_PIN_LEN_RANGE,
                SetPinError::Invalid => CKR_PIN_INVALID,
                SetPinError::Internal(_) => CKR_GENERAL_ERROR,
            };
            // The error's text describes the rule broken, never the PINs.
            if rv == CKR_GENERAL_ERROR {
                tracing::error!(app, instance, %error, "PIN change failed");
            } else {
                tracing::warn!(app, instance, %error, "PIN change refused");
            }
            Err(rv)
        }
    }
}
