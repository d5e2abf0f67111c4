//! General-purpose functions: `C_Initialize`, `C_Finalize`, `C_GetInfo`,
//! and the legacy `C_GetFunctionStatus` and `C_CancelFunction`.

// Names follow the standard so they can be matched against it; the safety
// contract of every export is the standard's (see the crate docs).
#![allow(non_snake_case, clippy::missing_safety_doc)]

use std::ffi::c_void;

use cryptoki_sys::{
    CK_C_INITIALIZE_ARGS, CK_INFO, CK_RV, CK_SESSION_HANDLE, CKF_LIBRARY_CANT_CREATE_OS_THREADS, CKF_OS_LOCKING_OK,
    CKR_ARGUMENTS_BAD, CKR_FUNCTION_NOT_PARALLEL,
};

use crate::args;
use crate::backend::{Backend, Result};
use crate::guard::{OK, guard, initialized, rv};
use crate::info::{encode_info, version};
use crate::types::InitArgs;

/// Checks `C_Initialize`'s arguments for consistency. A null pointer means
/// the application makes no locking demands.
///
/// # Safety
/// A non-null `ptr` points to a `CK_C_INITIALIZE_ARGS`.
unsafe fn init_args(ptr: *const c_void) -> Result<InitArgs> {
    if ptr.is_null() {
        return Ok(InitArgs::default());
    }
    // SAFETY: forwarded from this function's contract.
    let raw = unsafe { args::load(ptr.cast::<CK_C_INITIALIZE_ARGS>()) }?;
    if !raw.pReserved.is_null() {
        return Err(rv(CKR_ARGUMENTS_BAD));
    }
    let callbacks =
        [raw.CreateMutex.is_some(), raw.DestroyMutex.is_some(), raw.LockMutex.is_some(), raw.UnlockMutex.is_some()];
    // The standard allows all four mutex callbacks or none.
    let app_mutexes = callbacks.iter().all(|&set| set);
    if !app_mutexes && callbacks.iter().any(|&set| set) {
        return Err(rv(CKR_ARGUMENTS_BAD));
    }
    Ok(InitArgs {
        os_locking_ok: raw.flags & CKF_OS_LOCKING_OK != 0,
        app_mutexes,
        no_os_threads: raw.flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS != 0,
    })
}

/// `C_Initialize`. The backend decides about locking (`CKR_CANT_LOCK`).
/// The one function of the tables that runs before initialization.
pub unsafe extern "C" fn C_Initialize<B: Backend>(pInitArgs: *mut c_void) -> CK_RV {
    guard(|| {
        // SAFETY: PKCS#11 caller contract.
        let init = unsafe { init_args(pInitArgs) }?;
        B::initialize(init)?;
        OK
    })
}

/// `C_Finalize`.
pub unsafe extern "C" fn C_Finalize<B: Backend>(pReserved: *mut c_void) -> CK_RV {
    initialized::<B>(|| {
        if !pReserved.is_null() {
            return Err(rv(CKR_ARGUMENTS_BAD));
        }
        B::finalize()?;
        OK
    })
}

/// `C_GetInfo`, reporting the cryptoki version of the table it sits in:
/// 2.40 in the 2.40 list, 3.0 in the 3.0 list.
pub unsafe extern "C" fn C_GetInfo<B: Backend, const MAJOR: u8, const MINOR: u8>(pInfo: *mut CK_INFO) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(pInfo)?;
        let info = B::info()?;
        // SAFETY: PKCS#11 caller contract; non-null checked above.
        unsafe { args::store(pInfo, encode_info(&info, version((MAJOR, MINOR)))) }?;
        OK
    })
}

/// `C_GetFunctionStatus`: a legacy function; there is no parallel
/// execution. Before `C_Initialize` it answers
/// `CKR_CRYPTOKI_NOT_INITIALIZED`, as the standard lists.
pub unsafe extern "C" fn C_GetFunctionStatus<B: Backend>(_hSession: CK_SESSION_HANDLE) -> CK_RV {
    initialized::<B>(|| Ok(CKR_FUNCTION_NOT_PARALLEL))
}

/// `C_CancelFunction`: a legacy function; there is no parallel execution.
/// Before `C_Initialize` it answers `CKR_CRYPTOKI_NOT_INITIALIZED`.
pub unsafe extern "C" fn C_CancelFunction<B: Backend>(_hSession: CK_SESSION_HANDLE) -> CK_RV {
    initialized::<B>(|| Ok(CKR_FUNCTION_NOT_PARALLEL))
}
