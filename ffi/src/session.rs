//! Session management: `C_OpenSession`, `C_CloseSession`,
//! `C_CloseAllSessions`, `C_GetSessionInfo`, `C_GetOperationState`,
//! `C_SetOperationState`, `C_Login`, `C_LoginUser`, `C_Logout`,
//! `C_SessionCancel`.

// Names follow the standard so they can be matched against it; the safety
// contract of every export is the standard's (see the crate docs).
#![allow(non_snake_case, clippy::missing_safety_doc)]

use std::ffi::c_void;

use cryptoki_sys::{
    CK_BYTE, CK_FLAGS, CK_NOTIFY, CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_SESSION_INFO, CK_SLOT_ID, CK_ULONG,
    CK_USER_TYPE, CK_UTF8CHAR, CKR_ARGUMENTS_BAD, CKR_PIN_LEN_RANGE, CKR_SAVED_STATE_INVALID,
};

use crate::args;
use crate::backend::Backend;
use crate::guard::{OK, initialized};
use crate::info::encode_session_info;
use crate::limits::{MAX_OPERATION_STATE_LEN, MAX_PIN_LEN, MAX_USERNAME_LEN, given, within};

/// `C_OpenSession`. Notification callbacks are not used, so `pApplication`
/// and `Notify` are ignored.
pub unsafe extern "C" fn C_OpenSession<B: Backend>(
    slotID: CK_SLOT_ID,
    flags: CK_FLAGS,
    _pApplication: *mut c_void,
    _Notify: CK_NOTIFY,
    phSession: *mut CK_SESSION_HANDLE,
) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(phSession)?;
        let session = B::open_session(slotID, flags)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(phSession, session) }?;
        OK
    })
}

/// `C_CloseSession`.
pub unsafe extern "C" fn C_CloseSession<B: Backend>(hSession: CK_SESSION_HANDLE) -> CK_RV {
    initialized::<B>(|| {
        B::close_session(hSession)?;
        OK
    })
}

/// `C_CloseAllSessions`.
pub unsafe extern "C" fn C_CloseAllSessions<B: Backend>(slotID: CK_SLOT_ID) -> CK_RV {
    initialized::<B>(|| {
        B::close_all_sessions(slotID)?;
        OK
    })
}

/// `C_GetSessionInfo`.
pub unsafe extern "C" fn C_GetSessionInfo<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pInfo: *mut CK_SESSION_INFO,
) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(pInfo)?;
        let info = B::session_info(hSession)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(pInfo, encode_session_info(&info)) }?;
        OK
    })
}

/// `C_GetOperationState`, under the two-call convention.
pub unsafe extern "C" fn C_GetOperationState<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pOperationState: *mut CK_BYTE,
    pulOperationStateLen: *mut CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| {
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::output(pOperationState, pulOperationStateLen, |out| B::operation_state(hSession, out)) }
    })
}

/// `C_SetOperationState`.
pub unsafe extern "C" fn C_SetOperationState<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pOperationState: *mut CK_BYTE,
    ulOperationStateLen: CK_ULONG,
    hEncryptionKey: CK_OBJECT_HANDLE,
    hAuthenticationKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| {
        within(ulOperationStateLen, MAX_OPERATION_STATE_LEN, CKR_SAVED_STATE_INVALID)?;
        // SAFETY: PKCS#11 caller contract.
        let state = unsafe { args::slice(pOperationState, ulOperationStateLen) }?;
        B::set_operation_state(hSession, state, hEncryptionKey, hAuthenticationKey)?;
        OK
    })
}

/// `C_Login`. A null PIN with length zero is allowed: it means a protected
/// authentication path.
pub unsafe extern "C" fn C_Login<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    userType: CK_USER_TYPE,
    pPin: *mut CK_UTF8CHAR,
    ulPinLen: CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| {
        given(pPin.cast_const(), ulPinLen)?;
        within(ulPinLen, MAX_PIN_LEN, CKR_PIN_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        let pin = unsafe { args::slice(pPin, ulPinLen) }?;
        B::login(hSession, userType, pin, None)?;
        OK
    })
}

/// `C_LoginUser`. A null user name (with length zero) is passed on as no
/// user name, which makes this `C_Login`.
pub unsafe extern "C" fn C_LoginUser<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    userType: CK_USER_TYPE,
    pPin: *mut CK_UTF8CHAR,
    ulPinLen: CK_ULONG,
    pUsername: *mut CK_UTF8CHAR,
    ulUsernameLen: CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| {
        given(pPin.cast_const(), ulPinLen)?;
        within(ulPinLen, MAX_PIN_LEN, CKR_PIN_LEN_RANGE)?;
        within(ulUsernameLen, MAX_USERNAME_LEN, CKR_ARGUMENTS_BAD)?;
        // SAFETY: PKCS#11 caller contract.
        let pin = unsafe { args::slice(pPin, ulPinLen) }?;
        // SAFETY: PKCS#11 caller contract.
        let username = unsafe { args::slice(pUsername, ulUsernameLen) }?;
        let username = (!pUsername.is_null()).then_some(username);
        B::login(hSession, userType, pin, username)?;
        OK
    })
}

/// `C_Logout`.
pub unsafe extern "C" fn C_Logout<B: Backend>(hSession: CK_SESSION_HANDLE) -> CK_RV {
    initialized::<B>(|| {
        B::logout(hSession)?;
        OK
    })
}

/// `C_SessionCancel` (3.0).
pub unsafe extern "C" fn C_SessionCancel<B: Backend>(hSession: CK_SESSION_HANDLE, flags: CK_FLAGS) -> CK_RV {
    initialized::<B>(|| {
        B::session_cancel(hSession, flags)?;
        OK
    })
}
