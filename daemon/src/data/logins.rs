//! Logins of applications (`C_Login` with an app's PIN) and their PIN
//! changes (`C_SetPIN`), as the data plane answers them; the rules (hashes,
//! lockout) are the KMS's (`kms::apps`).

use cryptoki_sys::*;

use p11kms_proto::data::{ClientId, DataReply};

use super::ConnectionContext;
use super::clients::LastAttempt;
use super::error::{DataError, rv};
use super::slots;
use crate::kms::apps::{self, LoginError, SetPinError};
use crate::service::Service;

/// `C_Login` as a user: the PIN names its app, which must be one of the
/// slot's instance.
pub fn login(
    service: &Service,
    ctx: &ConnectionContext,
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
    let uid = ctx.uid;
    let outcome = apps::login(&service.kms, &instance, pin);
    // Whose PIN state the slot's token flags show this client from now on.
    let attempt = match &outcome {
        Ok(app) | Err(LoginError::Incorrect(Some(app)) | LoginError::Locked(app, _)) => {
            Some(LastAttempt::App(app.clone()))
        }
        Err(LoginError::Incorrect(None)) => Some(LastAttempt::NoApp),
        Err(LoginError::Internal(_)) => None,
    };
    if let Some(attempt) = attempt {
        service.clients.record_attempt(client, slot, attempt);
    }
    match outcome {
        Ok(app) => {
            service.clients.login(client, slot, app.clone())?;
            tracing::info!(app, instance, uid, "app logged in");
            audit_login(service, ctx, &instance, Some(&app), p11kms_proto::audit::SUCCESS);
            Ok(DataReply::Done)
        }
        Err(LoginError::Incorrect(app)) => {
            audit_login(service, ctx, &instance, app.as_deref(), "PinIncorrect");
            // The app, when the PIN's lookup code names one: who is being
            // guessed at; the peer's uid: who guesses.
            let app = app.as_deref().unwrap_or("(no app of this instance)");
            tracing::warn!(app, instance, uid, "login refused: incorrect PIN");
            Err(rv(CKR_PIN_INCORRECT))
        }
        Err(LoginError::Locked(_, until)) => {
            audit_login(service, ctx, &instance, None, "PinLocked");
            tracing::warn!(instance, uid, %until, "login refused: app locked");
            Err(rv(CKR_PIN_LOCKED))
        }
        Err(LoginError::Internal(error)) => {
            tracing::error!(instance, error, "login failed");
            Err(rv(CKR_GENERAL_ERROR))
        }
    }
}

/// Records a login attempt in the audit trail: the app it was for (a
/// wrong PIN's lookup code may name one), never the PIN.
fn audit_login(service: &Service, ctx: &ConnectionContext, instance: &str, app: Option<&str>, result: &str) {
    let trail = &service.audit;
    if !trail.is_enabled() {
        return;
    }
    let event = p11kms_proto::audit::Event {
        event_time: service.kms.clock.now(),
        event_name: "Login".into(),
        event_source: p11kms_proto::audit::EventSource::Pkcs11,
        region: trail.region().to_owned(),
        request_id: trail.request_id(),
        user_identity: trail.identity(ctx.uid, ctx.gid, ctx.pid, app.map(str::to_owned)),
        instance: Some(instance.to_owned()),
        resource_name: app.map(|app| vec![format!("app/{app}")]).unwrap_or_default(),
        request_parameters: serde_json::Value::Null,
        result: result.to_owned(),
        error_code: (result != p11kms_proto::audit::SUCCESS).then(|| result.to_owned()),
        uses: None,
    };
    trail.record(&service.kms.store, event, false);
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
