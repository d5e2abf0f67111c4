//! `C_SetPIN`: a logged-in app replaces its own PIN.
//!
//! What can be judged without the daemon is checked here (the session and
//! its read/write state, the login, empty PINs); the PINs themselves are judged by the daemon, which
//! holds the hashes and the lockout counts.

use p11kms_ffi::sys::{CK_SESSION_HANDLE, CKR_ARGUMENTS_BAD, CKR_SESSION_READ_ONLY, CKR_USER_NOT_LOGGED_IN, CKU_USER};
use p11kms_proto::SecretBytes;
use p11kms_proto::data::{DataReply, DataRequest};

use crate::error::{Error, Result};
use crate::module::Module;

impl Module {
    /// `C_SetPIN`. PKCS#11 lets a session that is not logged in change the
    /// user's PIN; here the PIN names the app, so only the app logged in to
    /// the slot may change its own, and the change costs one round trip.
    pub fn set_pin(&self, session: CK_SESSION_HANDLE, old_pin: &[u8], new_pin: &[u8]) -> Result<()> {
        let now = self.stamp();
        let slot = {
            let mut tables = self.tables();
            let found = tables.sessions.get(session, now)?;
            let (slot, rw) = (found.slot, found.rw);
            // PKCS#11 allows C_SetPIN only in read/write session states.
            if !rw {
                return Err(Error::rv(CKR_SESSION_READ_ONLY));
            }
            if tables.sessions.login(slot, now) != Some(CKU_USER) {
                return Err(Error::rv(CKR_USER_NOT_LOGGED_IN));
            }
            slot
        };
        // The ffi layer turns a null pointer with a zero length into an
        // empty slice; a PIN is never empty, so both are bad arguments.
        if old_pin.is_empty() || new_pin.is_empty() {
            return Err(Error::rv(CKR_ARGUMENTS_BAD));
        }
        let request = DataRequest::SetPin {
            slot,
            old_pin: SecretBytes::new(old_pin.to_vec()),
            new_pin: SecretBytes::new(new_pin.to_vec()),
        };
        match self.pool.call(&request, Some(now.boot))? {
            DataReply::Done => Ok(()),
            _ => Err(Error::UnexpectedReply("SetPin")),
        }
    }
}

#[cfg(test)]
mod tests {
    use p11kms_ffi::sys::{CKR_PIN_INCORRECT, CKR_SESSION_HANDLE_INVALID};

    use super::super::tests::{PIN, RO, RW, code, count, logged_in_session, module, world};
    use super::*;

    fn set_pins(daemon: &crate::testutil::FakeDaemon) -> usize {
        count(daemon, |r| matches!(r, DataRequest::SetPin { .. }))
    }

    #[test]
    fn local_rules_cost_no_round_trip() {
        let daemon = world();
        let m = module(&daemon);
        let session = m.open_session(1, RW).expect("open");
        let read_only = m.open_session(1, RO).expect("open");
        assert_eq!(code(m.set_pin(session, PIN, b"5678")), CKR_USER_NOT_LOGGED_IN);
        assert_eq!(code(m.set_pin(read_only, PIN, b"5678")), CKR_SESSION_READ_ONLY);
        assert_eq!(code(m.set_pin(999, PIN, b"5678")), CKR_SESSION_HANDLE_INVALID);
        m.login(session, CKU_USER, PIN, None).expect("login");
        assert_eq!(code(m.set_pin(read_only, PIN, b"5678")), CKR_SESSION_READ_ONLY, "logged in, still read-only");
        assert_eq!(code(m.set_pin(session, b"", b"5678")), CKR_ARGUMENTS_BAD);
        assert_eq!(code(m.set_pin(session, PIN, b"")), CKR_ARGUMENTS_BAD);
        assert_eq!(set_pins(&daemon), 0, "all decided locally");
    }

    #[test]
    fn the_daemon_judges_the_pins() {
        let daemon = world();
        let m = module(&daemon);
        let session = logged_in_session(&m, RW);
        assert_eq!(code(m.set_pin(session, b"wrong", b"5678")), CKR_PIN_INCORRECT);
        m.set_pin(session, PIN, b"5678").expect("set pin");
        assert_eq!(set_pins(&daemon), 2);
        let requests = daemon.requests();
        let sent = requests.iter().rev().find_map(|r| match r {
            DataRequest::SetPin { slot, old_pin, new_pin } => Some((*slot, old_pin.expose(), new_pin.expose())),
            _ => None,
        });
        assert_eq!(sent, Some((1, PIN, b"5678".as_slice())));
        // The login survives the change.
        assert_eq!(m.tables().sessions.login(1, m.stamp()), Some(CKU_USER));
    }
}
