//! `C_OpenSession`, `C_CloseSession`, `C_CloseAllSessions` (which destroy
//! the sessions' session objects), `C_GetSessionInfo`, `C_Login`, `C_Logout`.

use p11kms_ffi::SessionInfo;
use p11kms_ffi::sys::{
    CK_FLAGS, CK_SESSION_HANDLE, CK_SLOT_ID, CK_USER_TYPE, CKF_SERIAL_SESSION, CKR_FUNCTION_NOT_SUPPORTED,
    CKR_SESSION_PARALLEL_NOT_SUPPORTED, CKR_SLOT_ID_INVALID, CKR_USER_ALREADY_LOGGED_IN, CKU_USER,
};
use p11kms_proto::SecretBytes;
use p11kms_proto::data::{DataReply, DataRequest};
use p11kms_proto::pkcs11::SlotId;

use crate::client::Stamp;
use crate::error::{Error, Result};
use crate::module::Module;

impl Module {
    /// `C_OpenSession`: local only, once the slot's token is known.
    pub fn open_session(&self, slot: CK_SLOT_ID, flags: CK_FLAGS) -> Result<CK_SESSION_HANDLE> {
        if flags & CKF_SERIAL_SESSION == 0 {
            return Err(Error::rv(CKR_SESSION_PARALLEL_NOT_SUPPORTED));
        }
        self.fresh_slots()?.token(slot)?;
        // A session stamped with a dead daemon's epoch would be invalid at
        // its first call.
        self.pool.notice_restart();
        let now = self.stamp();
        self.tables().sessions.open(slot, flags, now)
    }

    /// `C_CloseSession`; closing a slot's last session logs it out.
    pub fn close_session(&self, session: CK_SESSION_HANDLE) -> Result<()> {
        let now = self.stamp();
        let (slot, created, logout) = {
            let mut tables = self.tables();
            let slot = tables.sessions.get(session, now)?.slot;
            let created = tables.sessions.take_created(session, now);
            (slot, created, tables.sessions.close(session, now)?)
        };
        self.destroy_session_objects(slot, created, now);
        if let Some(slot) = logout {
            self.logout_quietly(slot, now);
        }
        Ok(())
    }

    /// `C_CloseAllSessions`.
    pub fn close_all_sessions(&self, slot: CK_SLOT_ID) -> Result<()> {
        let now = self.stamp();
        let has_sessions = self.tables().sessions.has_sessions(slot, now);
        if !has_sessions && !self.fresh_slots()?.contains(slot) {
            return Err(Error::rv(CKR_SLOT_ID_INVALID));
        }
        let created = self.tables().sessions.take_created_in(slot, now);
        self.destroy_session_objects(slot, created, now);
        if self.tables().sessions.close_all(slot, now) {
            self.logout_quietly(slot, now);
        }
        Ok(())
    }

    /// Tells the daemon a slot's login ended because its sessions did. The
    /// session call already succeeded, so a failure here changes nothing
    /// for the application.
    fn logout_quietly(&self, slot: SlotId, now: Stamp) {
        let _ = self.pool.call(&DataRequest::Logout { slot }, Some(now.boot));
    }

    /// `C_GetSessionInfo`.
    pub fn session_info(&self, session: CK_SESSION_HANDLE) -> Result<SessionInfo> {
        let now = self.stamp();
        self.tables().sessions.info(session, now)
    }

    /// `C_Login` (`C_LoginUser` is not supported: apps have no user names).
    pub fn login(
        &self,
        session: CK_SESSION_HANDLE,
        user_type: CK_USER_TYPE,
        pin: &[u8],
        username: Option<&[u8]>,
    ) -> Result<()> {
        let now = self.stamp();
        let slot = {
            let mut tables = self.tables();
            let slot = tables.sessions.get(session, now)?.slot;
            tables.sessions.check_login(slot, user_type, now)?;
            slot
        };
        if username.is_some() {
            return Err(Error::rv(CKR_FUNCTION_NOT_SUPPORTED));
        }
        self.tables().sessions.note_login_attempt(slot);
        let request = DataRequest::Login { slot, user_type, pin: SecretBytes::new(pin.to_vec()) };
        // The login is recorded with the stamp of the exchange: if every
        // connection had closed in between, the daemon's login is newer
        // than `now`.
        let answer = self.pool.exchange(&request, Some(now.boot));
        drop(request);
        match answer {
            Ok((DataReply::Done, stamp)) => {
                self.tables().sessions.logged_in(slot, user_type, stamp);
                Ok(())
            }
            Ok(_) => Err(Error::UnexpectedReply("Login")),
            Err(Error::Rv(rv)) if rv.0 == CKR_USER_ALREADY_LOGGED_IN && user_type == CKU_USER => {
                // The daemon knows better (a login by another thread, or a
                // logout whose answer was lost): adopt its state.
                let stamp = self.stamp();
                self.tables().sessions.logged_in(slot, user_type, stamp);
                Err(Error::Rv(rv))
            }
            Err(error) => Err(error),
        }
    }

    /// `C_Logout`.
    pub fn logout(&self, session: CK_SESSION_HANDLE) -> Result<()> {
        let now = self.stamp();
        let slot = {
            let mut tables = self.tables();
            let slot = tables.sessions.get(session, now)?.slot;
            tables.sessions.check_logout(slot, now)?;
            slot
        };
        match self.pool.call(&DataRequest::Logout { slot }, Some(now.boot)) {
            Ok(DataReply::Done) => {
                self.tables().sessions.logged_out(slot);
                Ok(())
            }
            Ok(_) => Err(Error::UnexpectedReply("Logout")),
            // The daemon's answer is the truth about its login state (for
            // example CKR_USER_NOT_LOGGED_IN): forget the login and pass it on.
            Err(Error::Rv(rv)) => {
                self.tables().sessions.logged_out(slot);
                Err(Error::Rv(rv))
            }
            // Transport failure: the daemon may still hold the login, so the
            // application keeps it too and may try again.
            Err(error) => Err(error),
        }
    }
}
