//! The user-PIN flags of a token (`CKF_USER_PIN_COUNT_LOW`,
//! `CKF_USER_PIN_FINAL_TRY`, `CKF_USER_PIN_LOCKED`) as one client sees
//! them in `ListSlots`.
//!
//! A slot is shared by every app of its instance, and each app has its own
//! PIN, failure count and lock. So the flags a client sees on a slot are
//! those of the app its last login attempt there named (by the PIN's lookup
//! code), as that app's record stands now: its failures count whoever made
//! them, since they are what locks it. A client that has not tried sees
//! none; a wrong PIN that named no app shows `CKF_USER_PIN_COUNT_LOW`
//! alone, as a wrong secret would, so the flags do not tell an unknown
//! lookup code from a known one. The rule is in `docs/pkcs11.md`.

use cryptoki_sys::{CK_FLAGS, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED};

use p11kms_proto::data::ClientId;

use super::clients::LastAttempt;
use crate::kms::apps::{PinStatus, pin_status};
use crate::kms::registry::Registry;
use crate::service::Service;

/// The user-PIN flags of `slot` (of `instance`) for `client`.
pub fn flags(service: &Service, registry: &Registry, client: &ClientId, slot: u64, instance: &str) -> CK_FLAGS {
    let status = match service.clients.last_attempt(client, slot) {
        None => PinStatus::default(),
        Some(LastAttempt::NoApp) => PinStatus { count_low: true, ..PinStatus::default() },
        Some(LastAttempt::App(name)) => match registry.app(&name) {
            // An app deleted since (or, never, of another instance) has no
            // PIN left to describe.
            Ok(app) if app.instance == instance => {
                pin_status(app, service.kms.config.apps.max_failed_logins, service.kms.clock.now())
            }
            _ => PinStatus::default(),
        },
    };
    to_flags(status)
}

/// The `CKF_*` bits of a status.
fn to_flags(status: PinStatus) -> CK_FLAGS {
    let bit = |on: bool, flag: CK_FLAGS| if on { flag } else { 0 };
    bit(status.count_low, CKF_USER_PIN_COUNT_LOW)
        | bit(status.final_try, CKF_USER_PIN_FINAL_TRY)
        | bit(status.locked, CKF_USER_PIN_LOCKED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_sets_its_own_bit() {
        assert_eq!(to_flags(PinStatus::default()), 0);
        let all = PinStatus { count_low: true, final_try: true, locked: true };
        assert_eq!(to_flags(all), CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED);
        assert_eq!(to_flags(PinStatus { final_try: true, ..PinStatus::default() }), CKF_USER_PIN_FINAL_TRY);
        assert_eq!(to_flags(PinStatus { locked: true, ..PinStatus::default() }), CKF_USER_PIN_LOCKED);
    }
}
