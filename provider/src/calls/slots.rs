//! `C_GetSlotList`, `C_GetSlotInfo`, `C_GetTokenInfo`,
//! `C_GetMechanismList`, `C_GetMechanismInfo`.

use std::sync::MutexGuard;

use p11kms_ffi::sys::{CK_MECHANISM_TYPE, CK_SLOT_ID};
use p11kms_ffi::{SlotInfo, TokenInfo};
use p11kms_proto::data::{DataReply, DataRequest};
use p11kms_proto::pkcs11::MechanismInfo;

use crate::error::{Error, Result};
use crate::lock;
use crate::module::Module;
use crate::slots::SlotCache;

impl Module {
    /// Asks the daemon for the slots. An unreachable daemon is not an
    /// error here: its slots show no token until it answers again.
    pub(crate) fn refresh_slots(&self) -> Result<()> {
        let answer = match self.pool.call(&DataRequest::ListSlots, None) {
            Ok(DataReply::Slots(slots)) => Ok(slots),
            Ok(_) => Err(Error::UnexpectedReply("ListSlots")),
            Err(error) => Err(error),
        };
        match answer {
            Ok(slots) => lock(&self.slots).update(slots),
            Err(error) if error.is_transport() => lock(&self.slots).unreachable(),
            Err(error) => return Err(error),
        }
        Ok(())
    }

    /// The slot cache, refreshed first if it was never loaded or the
    /// daemon was unreachable last time.
    pub(crate) fn fresh_slots(&self) -> Result<MutexGuard<'_, SlotCache>> {
        if lock(&self.slots).stale() {
            self.refresh_slots()?;
        }
        Ok(lock(&self.slots))
    }

    /// `C_GetSlotList`: always asks the daemon, so tokens that come and go
    /// are seen.
    pub fn slot_list(&self, token_present: bool) -> Result<Vec<CK_SLOT_ID>> {
        self.refresh_slots()?;
        Ok(lock(&self.slots).ids(token_present))
    }

    /// `C_GetSlotInfo`.
    pub fn slot_info(&self, slot: CK_SLOT_ID) -> Result<SlotInfo> {
        self.fresh_slots()?.slot_info(slot)
    }

    /// `C_GetTokenInfo`. Once this process has tried a PIN on the slot, it
    /// asks the daemon each time, as `C_GetSlotList` does: the token's
    /// user-PIN flags then follow the app's login attempts from any client,
    /// and time (a lock runs out). Before that the daemon shows it none,
    /// and the cached token answers (a round trip costs about 20 times the
    /// cached answer).
    pub fn token_info(&self, slot: CK_SLOT_ID) -> Result<TokenInfo> {
        let (sessions, rw_sessions, tried) = {
            let tables = self.tables();
            let (sessions, rw_sessions) = tables.sessions.counts(slot, self.stamp());
            (sessions, rw_sessions, tables.sessions.tried_login(slot))
        };
        if tried {
            self.refresh_slots()?;
            return lock(&self.slots).token_info(slot, sessions, rw_sessions);
        }
        self.fresh_slots()?.token_info(slot, sessions, rw_sessions)
    }

    /// `C_GetMechanismList`.
    pub fn mechanism_list(&self, slot: CK_SLOT_ID) -> Result<Vec<CK_MECHANISM_TYPE>> {
        Ok(self.fresh_slots()?.mechanisms(slot)?.into_iter().map(|m| m.ty).collect())
    }

    /// `C_GetMechanismInfo`.
    pub fn mechanism_info(&self, slot: CK_SLOT_ID, mechanism: CK_MECHANISM_TYPE) -> Result<MechanismInfo> {
        self.fresh_slots()?.mechanism(slot, mechanism)
    }
}
