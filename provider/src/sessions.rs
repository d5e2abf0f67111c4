//! The session table and the per-slot login state.
//!
//! Session handles are this module's own small integers (never 0, never
//! reused). Login is per slot for the whole module copy, as PKCS#11 has it:
//! every session of a slot sees the same state.
//!
//! Every session and login remembers the [`Stamp`] it was made in (see
//! [`crate::client::pool`]): when the daemon restarts, sessions and logins
//! of the older boot epoch are gone; when the daemon forgot this client's
//! logins because every connection closed, logins of the older link
//! generation are gone (sessions stay).

use std::collections::{HashMap, HashSet};

use p11kms_ffi::SessionInfo;
use p11kms_ffi::sys::{
    CK_FLAGS, CK_OBJECT_HANDLE, CK_SESSION_HANDLE, CK_STATE, CK_USER_TYPE, CKF_RW_SESSION, CKF_SERIAL_SESSION,
    CKR_OPERATION_ACTIVE, CKR_OPERATION_NOT_INITIALIZED, CKR_SESSION_HANDLE_INVALID,
    CKR_SESSION_PARALLEL_NOT_SUPPORTED, CKR_SESSION_READ_ONLY_EXISTS, CKR_SESSION_READ_WRITE_SO_EXISTS,
    CKR_USER_ALREADY_LOGGED_IN, CKR_USER_ANOTHER_ALREADY_LOGGED_IN, CKR_USER_NOT_LOGGED_IN, CKS_RO_PUBLIC_SESSION,
    CKS_RO_USER_FUNCTIONS, CKS_RW_PUBLIC_SESSION, CKS_RW_SO_FUNCTIONS, CKS_RW_USER_FUNCTIONS, CKU_SO, CKU_USER,
};
use p11kms_proto::pkcs11::SlotId;

use crate::client::Stamp;
use crate::digest::DigestOp;
use crate::error::{Error, Result};
use crate::find::FindState;
use crate::operations::{CryptoOp, OpKind};

/// One open session.
#[derive(Debug)]
pub struct Session {
    /// Its slot.
    pub slot: SlotId,
    /// Opened with `CKF_RW_SESSION`.
    pub rw: bool,
    /// The daemon boot epoch it was opened in.
    pub epoch: u64,
    /// A search in progress.
    pub find: Option<FindState>,
    /// A digest in progress.
    pub digest: Option<DigestOp>,
    /// Session objects this session made: destroyed when it closes.
    pub created: Vec<CK_OBJECT_HANDLE>,
    ops: [Option<CryptoOp>; OpKind::COUNT],
}

impl Session {
    /// The slot for an operation kind.
    pub fn op_mut(&mut self, kind: OpKind) -> &mut Option<CryptoOp> {
        &mut self.ops[kind.index()]
    }

    /// The active operation of a kind.
    pub fn active_op(&mut self, kind: OpKind) -> Result<&mut CryptoOp> {
        self.op_mut(kind).as_mut().ok_or(Error::rv(CKR_OPERATION_NOT_INITIALIZED))
    }

    /// Fails with `CKR_OPERATION_ACTIVE` when an operation of this kind runs.
    pub fn ensure_idle(&self, kind: OpKind) -> Result<()> {
        match self.ops[kind.index()] {
            Some(_) => Err(Error::rv(CKR_OPERATION_ACTIVE)),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Login {
    user_type: CK_USER_TYPE,
    stamp: Stamp,
}

/// All sessions and logins of one module copy.
#[derive(Debug)]
pub struct SessionTable {
    sessions: HashMap<CK_SESSION_HANDLE, Session>,
    logins: HashMap<SlotId, Login>,
    /// Slots this process has sent a login to: the daemon shows a token's
    /// user-PIN flags only to a process that tried its PIN there.
    tried: HashSet<SlotId>,
    next: CK_SESSION_HANDLE,
    next_op: u64,
}

impl Default for SessionTable {
    fn default() -> Self {
        Self { sessions: HashMap::new(), logins: HashMap::new(), tried: HashSet::new(), next: 1, next_op: 1 }
    }
}

impl SessionTable {
    /// `C_OpenSession` on a slot already known to have a token.
    pub fn open(&mut self, slot: SlotId, flags: CK_FLAGS, now: Stamp) -> Result<CK_SESSION_HANDLE> {
        if flags & CKF_SERIAL_SESSION == 0 {
            return Err(Error::rv(CKR_SESSION_PARALLEL_NOT_SUPPORTED));
        }
        let rw = flags & CKF_RW_SESSION != 0;
        if !rw && self.login(slot, now) == Some(CKU_SO) {
            return Err(Error::rv(CKR_SESSION_READ_WRITE_SO_EXISTS));
        }
        let handle = self.next;
        self.next = self.next.wrapping_add(1).max(1);
        let session = Session {
            slot,
            rw,
            epoch: now.boot,
            find: None,
            digest: None,
            created: Vec::new(),
            ops: Default::default(),
        };
        self.sessions.insert(handle, session);
        Ok(handle)
    }

    /// A live session. A session from before a daemon restart is removed
    /// and reported invalid.
    pub fn get(&mut self, handle: CK_SESSION_HANDLE, now: Stamp) -> Result<&mut Session> {
        match self.sessions.get(&handle) {
            None => return Err(Error::rv(CKR_SESSION_HANDLE_INVALID)),
            Some(session) if session.epoch != now.boot => {
                self.sessions.remove(&handle);
                return Err(Error::rv(CKR_SESSION_HANDLE_INVALID));
            }
            Some(_) => {}
        }
        self.sessions.get_mut(&handle).ok_or(Error::rv(CKR_SESSION_HANDLE_INVALID))
    }

    /// A session still open (whatever its now), for finishing a call that
    /// started before a concurrent close.
    pub fn get_open(&mut self, handle: CK_SESSION_HANDLE) -> Option<&mut Session> {
        self.sessions.get_mut(&handle)
    }

    /// A fresh operation id.
    pub fn next_op_id(&mut self) -> u64 {
        let id = self.next_op;
        self.next_op = self.next_op.wrapping_add(1);
        id
    }

    /// `C_CloseSession`. Returns the slot when this was its last session
    /// and the slot was logged in: PKCS#11 ends the login then, and the
    /// caller tells the daemon.
    pub fn close(&mut self, handle: CK_SESSION_HANDLE, now: Stamp) -> Result<Option<SlotId>> {
        let slot = self.get(handle, now)?.slot;
        self.sessions.remove(&handle);
        Ok(self.end_login_if_unused(slot, now))
    }

    /// The session objects of a session about to close (none for an
    /// unknown or stale session: the daemon dropped those with the boot).
    pub fn take_created(&mut self, handle: CK_SESSION_HANDLE, now: Stamp) -> Vec<CK_OBJECT_HANDLE> {
        self.get(handle, now).map(|s| std::mem::take(&mut s.created)).unwrap_or_default()
    }

    /// The session objects of every live session of a slot about to close.
    pub fn take_created_in(&mut self, slot: SlotId, now: Stamp) -> Vec<CK_OBJECT_HANDLE> {
        self.sessions
            .values_mut()
            .filter(|s| s.slot == slot && s.epoch == now.boot)
            .flat_map(|s| std::mem::take(&mut s.created))
            .collect()
    }

    /// `C_CloseAllSessions`. Returns true when the slot was logged in.
    pub fn close_all(&mut self, slot: SlotId, now: Stamp) -> bool {
        self.sessions.retain(|_, session| session.slot != slot);
        self.end_login_if_unused(slot, now).is_some()
    }

    /// True when a (live) session is open on the slot.
    pub fn has_sessions(&self, slot: SlotId, now: Stamp) -> bool {
        self.sessions.values().any(|s| s.slot == slot && s.epoch == now.boot)
    }

    fn end_login_if_unused(&mut self, slot: SlotId, now: Stamp) -> Option<SlotId> {
        if self.has_sessions(slot, now) {
            return None;
        }
        let was = self.login(slot, now).is_some();
        self.logins.remove(&slot);
        was.then_some(slot)
    }

    /// The user logged in to a slot, if the login is still valid.
    pub fn login(&self, slot: SlotId, now: Stamp) -> Option<CK_USER_TYPE> {
        self.logins.get(&slot).filter(|l| l.stamp == now).map(|l| l.user_type)
    }

    /// Notes that a login to `slot` is being sent to the daemon.
    pub fn note_login_attempt(&mut self, slot: SlotId) {
        self.tried.insert(slot);
    }

    /// True once this process sent a login to `slot`: only then can the
    /// token's user-PIN flags be other than none.
    pub fn tried_login(&self, slot: SlotId) -> bool {
        self.tried.contains(&slot)
    }

    /// True when the normal user (or SO) is logged in to the slot.
    pub fn is_logged_in(&self, slot: SlotId, now: Stamp) -> bool {
        self.login(slot, now).is_some()
    }

    /// Slots with a valid login.
    pub fn logged_in_slots(&self, now: Stamp) -> Vec<SlotId> {
        self.logins.iter().filter(|(_, l)| l.stamp == now).map(|(slot, _)| *slot).collect()
    }

    /// The local rules of `C_Login`, checked before asking the daemon.
    pub fn check_login(&self, slot: SlotId, user_type: CK_USER_TYPE, now: Stamp) -> Result<()> {
        match (self.login(slot, now), user_type) {
            (Some(current), CKU_USER | CKU_SO) if current == user_type => Err(Error::rv(CKR_USER_ALREADY_LOGGED_IN)),
            (Some(_), CKU_USER | CKU_SO) => Err(Error::rv(CKR_USER_ANOTHER_ALREADY_LOGGED_IN)),
            (None, CKU_SO) if self.sessions.values().any(|s| s.slot == slot && s.epoch == now.boot && !s.rw) => {
                Err(Error::rv(CKR_SESSION_READ_ONLY_EXISTS))
            }
            // Context-specific logins and unknown user types are the
            // daemon's to judge.
            _ => Ok(()),
        }
    }

    /// Records a successful `C_Login`. Context-specific logins do not change
    /// the session state.
    pub fn logged_in(&mut self, slot: SlotId, user_type: CK_USER_TYPE, now: Stamp) {
        if matches!(user_type, CKU_USER | CKU_SO) {
            self.logins.insert(slot, Login { user_type, stamp: now });
        }
    }

    /// The local rule of `C_Logout`.
    pub fn check_logout(&self, slot: SlotId, now: Stamp) -> Result<()> {
        match self.login(slot, now) {
            Some(_) => Ok(()),
            None => Err(Error::rv(CKR_USER_NOT_LOGGED_IN)),
        }
    }

    /// Records a logout.
    pub fn logged_out(&mut self, slot: SlotId) {
        self.logins.remove(&slot);
    }

    /// `C_GetSessionInfo` for a live session.
    pub fn info(&mut self, handle: CK_SESSION_HANDLE, now: Stamp) -> Result<SessionInfo> {
        let (slot, rw) = {
            let session = self.get(handle, now)?;
            (session.slot, session.rw)
        };
        let state: CK_STATE = match (self.login(slot, now), rw) {
            (Some(CKU_SO), _) => CKS_RW_SO_FUNCTIONS,
            (Some(_), true) => CKS_RW_USER_FUNCTIONS,
            (Some(_), false) => CKS_RO_USER_FUNCTIONS,
            (None, true) => CKS_RW_PUBLIC_SESSION,
            (None, false) => CKS_RO_PUBLIC_SESSION,
        };
        let flags = CKF_SERIAL_SESSION | if rw { CKF_RW_SESSION } else { 0 };
        Ok(SessionInfo { slot_id: slot, state, flags, device_error: 0 })
    }

    /// (all, read/write) live sessions on a slot, for `C_GetTokenInfo`.
    pub fn counts(&self, slot: SlotId, now: Stamp) -> (u64, u64) {
        let live = self.sessions.values().filter(|s| s.slot == slot && s.epoch == now.boot);
        live.fold((0, 0), |(all, rw), s| (all + 1, rw + u64::from(s.rw)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p11kms_ffi::sys::CKU_CONTEXT_SPECIFIC;

    const NOW: Stamp = Stamp { boot: 0, link: 0 };
    const RO: CK_FLAGS = CKF_SERIAL_SESSION;
    const RW: CK_FLAGS = CKF_SERIAL_SESSION | CKF_RW_SESSION;

    fn rv(result: Result<impl std::fmt::Debug>) -> u64 {
        match result {
            Ok(value) => panic!("expected an error, got {value:?}"),
            Err(e) => e.ck_rv().0,
        }
    }

    fn state(table: &mut SessionTable, handle: CK_SESSION_HANDLE) -> CK_STATE {
        table.info(handle, NOW).expect("open session").state
    }

    #[test]
    fn serial_flag_is_required_and_handles_are_nonzero() {
        let mut table = SessionTable::default();
        assert_eq!(rv(table.open(1, CKF_RW_SESSION, NOW)), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
        let a = table.open(1, RO, NOW).expect("opens");
        let b = table.open(1, RW, NOW).expect("opens");
        assert_eq!((a, b), (1, 2));
        assert_eq!(table.counts(1, NOW), (2, 1));
        assert_eq!(table.counts(2, NOW), (0, 0));
    }

    #[test]
    fn session_state_follows_the_slot_login() {
        let mut table = SessionTable::default();
        let ro = table.open(1, RO, NOW).expect("opens");
        let rw = table.open(1, RW, NOW).expect("opens");
        let other = table.open(2, RW, NOW).expect("opens");
        assert_eq!(state(&mut table, ro), CKS_RO_PUBLIC_SESSION);
        assert_eq!(state(&mut table, rw), CKS_RW_PUBLIC_SESSION);

        assert!(table.check_login(1, CKU_USER, NOW).is_ok());
        table.logged_in(1, CKU_USER, NOW);
        assert_eq!(state(&mut table, ro), CKS_RO_USER_FUNCTIONS);
        assert_eq!(state(&mut table, rw), CKS_RW_USER_FUNCTIONS);
        assert_eq!(state(&mut table, other), CKS_RW_PUBLIC_SESSION, "login is per slot");
        assert_eq!(rv(table.check_login(1, CKU_USER, NOW)), CKR_USER_ALREADY_LOGGED_IN);
        assert_eq!(rv(table.check_login(1, CKU_SO, NOW)), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
        assert!(table.check_login(1, CKU_CONTEXT_SPECIFIC, NOW).is_ok());

        assert!(table.check_logout(1, NOW).is_ok());
        table.logged_out(1);
        assert_eq!(state(&mut table, ro), CKS_RO_PUBLIC_SESSION);
        assert_eq!(rv(table.check_logout(1, NOW)), CKR_USER_NOT_LOGGED_IN);
    }

    #[test]
    fn so_rules() {
        let mut table = SessionTable::default();
        let ro = table.open(1, RO, NOW).expect("opens");
        assert_eq!(rv(table.check_login(1, CKU_SO, NOW)), CKR_SESSION_READ_ONLY_EXISTS);
        assert!(table.close(ro, NOW).is_ok());
        let rw = table.open(1, RW, NOW).expect("opens");
        table.logged_in(1, CKU_SO, NOW);
        assert_eq!(state(&mut table, rw), CKS_RW_SO_FUNCTIONS);
        assert_eq!(rv(table.open(1, RO, NOW)), CKR_SESSION_READ_WRITE_SO_EXISTS);
    }

    #[test]
    fn closing_the_last_session_ends_the_login() {
        let mut table = SessionTable::default();
        let a = table.open(1, RO, NOW).expect("opens");
        let b = table.open(1, RO, NOW).expect("opens");
        table.logged_in(1, CKU_USER, NOW);
        assert_eq!(table.close(a, NOW).ok(), Some(None), "another session remains");
        assert!(table.is_logged_in(1, NOW));
        assert_eq!(table.close(b, NOW).ok(), Some(Some(1)), "last session: log out");
        assert!(!table.is_logged_in(1, NOW));
        assert_eq!(rv(table.close(b, NOW)), CKR_SESSION_HANDLE_INVALID);

        let _c = table.open(1, RO, NOW).expect("opens");
        let _d = table.open(1, RW, NOW).expect("opens");
        table.logged_in(1, CKU_USER, NOW);
        assert!(table.close_all(1, NOW));
        assert_eq!(table.counts(1, NOW), (0, 0));
        assert!(!table.close_all(1, NOW), "nothing logged in any more");
    }

    #[test]
    fn a_new_boot_epoch_invalidates_sessions_and_logins() {
        let mut table = SessionTable::default();
        let a = table.open(1, RW, NOW).expect("opens");
        table.logged_in(1, CKU_USER, NOW);
        assert!(table.get(a, NOW).is_ok());
        let restarted = Stamp { boot: 1, link: 1 };
        assert!(!table.is_logged_in(1, restarted));
        assert_eq!(rv(table.get(a, restarted)), CKR_SESSION_HANDLE_INVALID);
        assert_eq!(rv(table.get(a, NOW)), CKR_SESSION_HANDLE_INVALID, "removed for good");
        assert!(table.check_login(1, CKU_USER, restarted).is_ok());
    }

    #[test]
    fn a_lost_link_ends_logins_but_not_sessions() {
        let mut table = SessionTable::default();
        let a = table.open(1, RW, NOW).expect("opens");
        table.logged_in(1, CKU_USER, NOW);
        let relinked = Stamp { boot: 0, link: 1 };
        assert_eq!(table.info(a, relinked).map(|i| i.state).ok(), Some(CKS_RW_PUBLIC_SESSION));
        assert_eq!(table.close(a, relinked).ok(), Some(None), "no login left to end");
    }

    #[test]
    fn one_operation_of_each_kind() {
        let mut table = SessionTable::default();
        let handle = table.open(1, RO, NOW).expect("opens");
        let id = table.next_op_id();
        let session = table.get(handle, NOW).expect("open");
        assert_eq!(rv(session.active_op(OpKind::Sign)), CKR_OPERATION_NOT_INITIALIZED);
        *session.op_mut(OpKind::Sign) = Some(CryptoOp::new(id, 5, p11kms_proto::pkcs11::Mechanism::new(1), None));
        assert_eq!(rv(session.ensure_idle(OpKind::Sign)), CKR_OPERATION_ACTIVE);
        assert!(session.ensure_idle(OpKind::Encrypt).is_ok());
        assert!(session.active_op(OpKind::Sign).is_ok());
    }
}
