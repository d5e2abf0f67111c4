//! Logins of applications (`C_Login` with an app's PIN) and their PIN
//! changes (`C_SetPIN`), as the data plane answers them; the rules (hashes,
//! lockout) are the KMS's (`kms::apps`).

use cryptoki_sys::*;

use p11kms_proto::data::{ClientId, DataReply};

use super::error::{DataError, rv};
use super::slots;
use crate::kms::apps::{self, LoginError, SetPinError};
use crate::service::Service;

/// `C_Login` as a user: the PIN names its app, which must be one of the
/// slot's instance.
pub fn login(
    service: &Service,
    uid: u32,
    client: &ClientId,
    slot: u64,
    user_type: u64,
    pin: &[u8],
) -> Result<DataReply, DataError> {
    if user_type != CKU_USER {
        // There is no security officer: instances are administered on the
        // admin socket, not through PKCS#11.
        return Err(rv(CKR_USER_TYPE_INVALID));
    }
    let instance = slots::instance_name(service, slot)?;
    if service.clients.is_logged_in(client, slot) {
        return Err(rv(CKR_USER_ALREADY_LOGGED_IN));
    }
    match apps::login(&service.kms, &instance, pin) {
        Ok(app) => {
            service.clients.login(client, slot, app.clone())?;
            tracing::info!(app, instance, uid, "app logged in");
            Ok(DataReply::Done)
        }
        Err(LoginError::Incorrect(app)) => {
            // The app, when the PIN's lookup code names one: who is being
            // guessed at; the peer's uid: who guesses.
            let app = app.as_deref().unwrap_or("(no app of this instance)");
            tracing::warn!(app, instance, uid, "login refused: incorrect PIN");
            Err(rv(CKR_PIN_INCORRECT))
        }
        Err(LoginError::Locked(until)) => {
            tracing::warn!(instance, uid, %until, "login refused: app locked");
            Err(rv(CKR_PIN_LOCKED))
        }
        Err(LoginError::Internal(error)) => {
            tracing::error!(instance, error, "login failed");
            Err(rv(CKR_GENERAL_ERROR))
        }
    }
}

/// `C_SetPIN`: the app logged in to `slot` by this client changes its own
/// PIN. Other clients' logins made with the old PIN stay, as PKCS#11
/// sessions outlive a PIN change.
pub fn set_pin(
    service: &Service,
    client: &ClientId,
    slot: u64,
    old_pin: &[u8],
    new_pin: &[u8],
) -> Result<DataReply, DataError> {
    let instance = slots::instance_name(service, slot)?;
    let app = service.clients.app(client, slot).ok_or(rv(CKR_USER_NOT_LOGGED_IN))?;
    match apps::set_pin(&service.kms, &app, old_pin, new_pin) {
        Ok(()) => {
            tracing::info!(app, instance, "app changed its PIN");
            Ok(DataReply::Done)
        }
        Err(error) => {
            let code = match &error {
                SetPinError::Incorrect => CKR_PIN_INCORRECT,
                SetPinError::Locked(_) => CKR_PIN_LOCKED,
                SetPinError::LenRange => CKR_PIN_LEN_RANGE,
                SetPinError::Invalid => CKR_PIN_INVALID,
                SetPinError::Internal(_) => CKR_GENERAL_ERROR,
            };
            // The error's text describes the rule broken, never the PINs.
            if code == CKR_GENERAL_ERROR {
                tracing::error!(app, instance, %error, "PIN change failed");
            } else {
                tracing::warn!(app, instance, %error, "PIN change refused");
            }
            Err(rv(code))
        }
    }
}
