//! A backend for the tests: a few canned answers, one encryption operation
//! per session, and a count of calls so tests can tell whether a bad
//! argument was refused before the backend was asked.
//!
//! State is per thread: every export runs on the caller's thread, and the
//! test harness runs tests in parallel.

use std::cell::RefCell;
use std::collections::HashMap;

use cryptoki_sys::*;
use p11kms_proto::CkRv;
use p11kms_proto::pkcs11::{Attribute, AttributeType, AttributeValue, Mechanism, MechanismInfo};

use crate::backend::{Backend, Operation, Result};
use crate::output::{Delivery, OutBuf};
use crate::types::{Info, InitArgs, SessionInfo, SlotInfo, TokenInfo};

/// The backend.
#[derive(Debug)]
pub(crate) struct TestBackend;

crate::export_pkcs11!(TestBackend);

/// A session whose `C_GetSessionInfo` panics.
pub(crate) const PANIC_SESSION: CK_SESSION_HANDLE = 666;
/// An object whose `C_GetAttributeValue` answers with too few values.
pub(crate) const SHORT_OBJECT: CK_OBJECT_HANDLE = 99;
/// A session whose `C_FindObjects` returns more handles than asked for.
pub(crate) const GREEDY_SESSION: CK_SESSION_HANDLE = 13;
/// The handles a search finds.
pub(crate) const FOUND: [CK_OBJECT_HANDLE; 3] = [10, 11, 12];

#[derive(Debug)]
pub(crate) struct State {
    /// False between `C_Finalize` and the next `C_Initialize`. Tests start
    /// initialized, as an application is after `C_Initialize`; the
    /// boundary's own questions ([`Backend::is_initialized`],
    /// [`Backend::max_input_len`]) are not counted in `calls`.
    pub initialized: bool,
    /// What [`Backend::max_input_len`] answers.
    pub max_input_len: usize,
    /// Operations the boundary ended ([`Backend::end_operation`]).
    pub ended: Vec<(CK_SESSION_HANDLE, Operation)>,
    /// Backend methods called so far.
    pub calls: usize,
    /// The last `C_Initialize` arguments.
    pub init: Option<InitArgs>,
    /// Active encryption operations, by session, with their mechanism.
    pub encrypting: HashMap<CK_SESSION_HANDLE, Mechanism>,
    /// The last template received.
    pub template: Vec<Attribute>,
    /// Handles a search has yet to return, by session.
    pub pending: HashMap<CK_SESSION_HANDLE, Vec<CK_OBJECT_HANDLE>>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            initialized: true,
            max_input_len: MAX_INPUT_LEN,
            ended: Vec::new(),
            calls: 0,
            init: None,
            encrypting: HashMap::new(),
            template: Vec::new(),
            pending: HashMap::new(),
        }
    }
}

/// The longest input the test backend takes by default: small, like a
/// daemon configured with a small body limit.
pub(crate) const MAX_INPUT_LEN: usize = 1024;

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Reads or changes this thread's backend state.
pub(crate) fn state<T>(f: impl FnOnce(&mut State) -> T) -> T {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

/// Counts a call and runs `f` on the state.
fn call<T>(f: impl FnOnce(&mut State) -> T) -> T {
    state(|s| {
        s.calls += 1;
        f(s)
    })
}

fn err(code: CK_RV) -> CkRv {
    CkRv(code)
}

/// What `C_Encrypt` produces from `data`: the bytes reversed, then `!`.
pub(crate) fn ciphertext(data: &[u8]) -> Vec<u8> {
    data.iter().rev().copied().chain(*b"!").collect()
}

impl Backend for TestBackend {
    fn is_initialized() -> bool {
        state(|s| s.initialized)
    }

    fn max_input_len(_operation: Operation) -> usize {
        state(|s| s.max_input_len)
    }

    fn end_operation(session: CK_SESSION_HANDLE, operation: Operation) {
        state(|s| {
            s.ended.push((session, operation));
            if operation == Operation::Encrypt {
                s.encrypting.remove(&session);
            }
        });
    }

    fn initialize(args: InitArgs) -> Result<()> {
        call(|s| {
            s.init = Some(args);
            s.initialized = true;
        });
        Ok(())
    }

    fn finalize() -> Result<()> {
        call(|s| s.initialized = false);
        Ok(())
    }

    fn info() -> Result<Info> {
        call(|_| {
            Ok(Info {
                manufacturer: "p11kms tests".into(),
                description: "test backend".into(),
                library_version: (0, 7),
            })
        })
    }

    fn slot_list(token_present: bool) -> Result<Vec<CK_SLOT_ID>> {
        call(|_| Ok(if token_present { vec![1, 2] } else { vec![1, 2, 3] }))
    }

    fn slot_info(_slot: CK_SLOT_ID) -> Result<SlotInfo> {
        call(|_| {
            Ok(SlotInfo {
                description: "slot one".into(),
                manufacturer: "p11kms".into(),
                flags: CKF_TOKEN_PRESENT,
                ..SlotInfo::default()
            })
        })
    }

    fn token_info(_slot: CK_SLOT_ID) -> Result<TokenInfo> {
        call(|_| {
            Ok(TokenInfo {
                label: "default".into(),
                model: "software".into(),
                serial: "42".into(),
                max_pin_len: 64,
                ..TokenInfo::default()
            })
        })
    }

    fn mechanism_list(_slot: CK_SLOT_ID) -> Result<Vec<CK_MECHANISM_TYPE>> {
        call(|_| Ok(vec![CKM_AES_GCM, CKM_SHA256]))
    }

    fn mechanism_info(_slot: CK_SLOT_ID, mechanism: CK_MECHANISM_TYPE) -> Result<MechanismInfo> {
        call(|_| Ok(MechanismInfo { ty: mechanism, min_key_size: 16, max_key_size: 32, flags: CKF_ENCRYPT }))
    }

    fn open_session(slot: CK_SLOT_ID, _flags: CK_FLAGS) -> Result<CK_SESSION_HANDLE> {
        call(|_| Ok(1000 + slot))
    }

    fn close_session(_session: CK_SESSION_HANDLE) -> Result<()> {
        call(|_| Ok(()))
    }

    fn close_all_sessions(_slot: CK_SLOT_ID) -> Result<()> {
        call(|_| Ok(()))
    }

    fn session_info(session: CK_SESSION_HANDLE) -> Result<SessionInfo> {
        call(|_| ());
        if session == PANIC_SESSION {
            panic!("the test backend panics on purpose");
        }
        Ok(SessionInfo { slot_id: 1, state: CKS_RO_PUBLIC_SESSION, flags: CKF_SERIAL_SESSION, device_error: 0 })
    }

    fn login(
        _session: CK_SESSION_HANDLE,
        _user_type: CK_USER_TYPE,
        _pin: &[u8],
        _username: Option<&[u8]>,
    ) -> Result<()> {
        call(|_| Ok(()))
    }

    fn logout(_session: CK_SESSION_HANDLE) -> Result<()> {
        call(|_| Ok(()))
    }

    fn create_object(_session: CK_SESSION_HANDLE, template: &[Attribute]) -> Result<CK_OBJECT_HANDLE> {
        call(|s| s.template = template.to_vec());
        Ok(7)
    }

    fn attribute_values(
        _session: CK_SESSION_HANDLE,
        object: CK_OBJECT_HANDLE,
        types: &[AttributeType],
    ) -> Result<Vec<AttributeValue>> {
        call(|_| ());
        if object == SHORT_OBJECT {
            return Ok(vec![]);
        }
        Ok(types
            .iter()
            .map(|&ty| match ty {
                CKA_LABEL => AttributeValue::Value(b"label".to_vec()),
                CKA_ID => AttributeValue::Value(b"0123456789".to_vec()),
                CKA_VALUE => AttributeValue::Sensitive,
                _ => AttributeValue::Invalid,
            })
            .collect())
    }

    fn find_objects_init(session: CK_SESSION_HANDLE, template: &[Attribute]) -> Result<()> {
        call(|s| {
            s.template = template.to_vec();
            s.pending.insert(session, FOUND.to_vec());
        });
        Ok(())
    }

    fn find_objects(session: CK_SESSION_HANDLE, max: usize) -> Result<Vec<CK_OBJECT_HANDLE>> {
        call(|s| {
            let pending = s.pending.get_mut(&session).ok_or(err(CKR_OPERATION_NOT_INITIALIZED))?;
            let take = if session == GREEDY_SESSION { pending.len() } else { max.min(pending.len()) };
            Ok(pending.drain(..take).collect())
        })
    }

    fn find_objects_final(session: CK_SESSION_HANDLE) -> Result<()> {
        call(|s| s.pending.remove(&session).map(|_| ()).ok_or(err(CKR_OPERATION_NOT_INITIALIZED)))
    }

    fn encrypt_init(session: CK_SESSION_HANDLE, mechanism: &Mechanism, _key: CK_OBJECT_HANDLE) -> Result<()> {
        call(|s| s.encrypting.insert(session, mechanism.clone()));
        Ok(())
    }

    fn encrypt(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        call(|s| {
            if !s.encrypting.contains_key(&session) {
                return Err(err(CKR_OPERATION_NOT_INITIALIZED));
            }
            let delivery = out.deliver(&ciphertext(data));
            // The operation ends only when the caller got the data.
            if delivery.is_complete() {
                s.encrypting.remove(&session);
            }
            Ok(delivery)
        })
    }

    fn generate_random(_session: CK_SESSION_HANDLE, out: &mut [u8]) -> Result<()> {
        call(|_| out.fill(0xAB));
        Ok(())
    }
}
