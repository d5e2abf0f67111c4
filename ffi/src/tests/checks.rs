//! Argument checks at the boundary: null pointers, `C_Initialize`'s
//! arguments, the panic guard, and the functions that never reach the
//! backend.

use std::ffi::c_void;
use std::ptr::null_mut;

use cryptoki_sys::*;

use super::backend::{PANIC_SESSION, TestBackend, state};
use crate::Exported;

fn v2() -> &'static CK_FUNCTION_LIST {
    TestBackend::function_list_2_40()
}

fn v3() -> &'static CK_FUNCTION_LIST_3_0 {
    TestBackend::function_list_3_0()
}

fn calls() -> usize {
    state(|s| s.calls)
}

#[test]
fn null_pointers_are_bad_arguments_and_never_reach_the_backend() {
    let before = calls();
    let mut len: CK_ULONG = 16;
    let mut buf = [0u8; 16];
    let mut handle: CK_OBJECT_HANDLE = 0;
    let mut count: CK_ULONG = 0;
    let l = v2();
    // SAFETY: every non-null pointer refers to a live local of the stated
    // size; the null ones are what is being tested.
    let codes = unsafe {
        [
            ("C_GetInfo", l.C_GetInfo.unwrap()(null_mut())),
            ("C_GetSlotList count", l.C_GetSlotList.unwrap()(CK_TRUE, null_mut(), null_mut())),
            ("C_GetSlotInfo", l.C_GetSlotInfo.unwrap()(1, null_mut())),
            ("C_GetTokenInfo", l.C_GetTokenInfo.unwrap()(1, null_mut())),
            ("C_GetMechanismList count", l.C_GetMechanismList.unwrap()(1, null_mut(), null_mut())),
            ("C_GetMechanismInfo", l.C_GetMechanismInfo.unwrap()(1, CKM_AES_GCM, null_mut())),
            ("C_InitToken label", l.C_InitToken.unwrap()(1, null_mut(), 0, null_mut())),
            ("C_Login pin", l.C_Login.unwrap()(1, CKU_USER, null_mut(), 4)),
            ("C_OpenSession", l.C_OpenSession.unwrap()(1, CKF_SERIAL_SESSION, null_mut(), None, null_mut())),
            ("C_GetSessionInfo", l.C_GetSessionInfo.unwrap()(1, null_mut())),
            ("C_EncryptInit mechanism", l.C_EncryptInit.unwrap()(1, null_mut(), 5)),
            ("C_DigestInit mechanism", l.C_DigestInit.unwrap()(1, null_mut())),
            ("C_Encrypt data", l.C_Encrypt.unwrap()(1, null_mut(), 4, buf.as_mut_ptr(), &mut len)),
            ("C_Encrypt length", l.C_Encrypt.unwrap()(1, buf.as_mut_ptr(), 4, buf.as_mut_ptr(), null_mut())),
            ("C_Sign length", l.C_Sign.unwrap()(1, buf.as_mut_ptr(), 4, null_mut(), null_mut())),
            ("C_Verify signature", l.C_Verify.unwrap()(1, buf.as_mut_ptr(), 4, null_mut(), 8)),
            ("C_DigestFinal length", l.C_DigestFinal.unwrap()(1, buf.as_mut_ptr(), null_mut())),
            ("C_CreateObject template", l.C_CreateObject.unwrap()(1, null_mut(), 2, &mut handle)),
            ("C_CreateObject handle", l.C_CreateObject.unwrap()(1, null_mut(), 0, null_mut())),
            ("C_GetAttributeValue template", l.C_GetAttributeValue.unwrap()(1, 2, null_mut(), 1)),
            ("C_FindObjectsInit template", l.C_FindObjectsInit.unwrap()(1, null_mut(), 3)),
            ("C_FindObjects count", l.C_FindObjects.unwrap()(1, &mut handle, 1, null_mut())),
            ("C_FindObjects handles", l.C_FindObjects.unwrap()(1, null_mut(), 1, &mut count)),
            ("C_GenerateKey mechanism", l.C_GenerateKey.unwrap()(1, null_mut(), null_mut(), 0, &mut handle)),
            ("C_WrapKey length", l.C_WrapKey.unwrap()(1, null_mut(), 1, 2, null_mut(), null_mut())),
            ("C_GenerateRandom", l.C_GenerateRandom.unwrap()(1, null_mut(), 4)),
            ("C_Finalize reserved", l.C_Finalize.unwrap()(buf.as_mut_ptr().cast())),
            ("C_WaitForSlotEvent", l.C_WaitForSlotEvent.unwrap()(0, null_mut(), null_mut())),
            ("C_GetFunctionList", l.C_GetFunctionList.unwrap()(null_mut())),
            ("C_GetInterface", v3().C_GetInterface.unwrap()(null_mut(), null_mut(), null_mut(), 0)),
            ("C_GetInterfaceList", v3().C_GetInterfaceList.unwrap()(null_mut(), null_mut())),
        ]
    };
    for (what, code) in codes {
        assert_eq!(code, CKR_ARGUMENTS_BAD, "{what}");
    }
    assert_eq!(calls(), before, "the backend was called despite a bad argument");
}

#[test]
fn a_null_pointer_with_zero_length_is_an_empty_input() {
    let mut out = [0u8; 4];
    // SAFETY: the null pointer comes with length 0; `out` is live.
    let code = unsafe { v2().C_GenerateRandom.unwrap()(1, null_mut(), 0) };
    assert_eq!(code, CKR_OK);
    // SAFETY: `out` is a live local of the stated size.
    let code = unsafe { v2().C_GenerateRandom.unwrap()(1, out.as_mut_ptr(), 4) };
    assert_eq!((code, out), (CKR_OK, [0xAB; 4]));
}

unsafe extern "C" fn create_mutex(_mutex: *mut *mut c_void) -> CK_RV {
    CKR_OK
}
unsafe extern "C" fn mutex_op(_mutex: *mut c_void) -> CK_RV {
    CKR_OK
}

fn init_args(flags: CK_FLAGS) -> CK_C_INITIALIZE_ARGS {
    CK_C_INITIALIZE_ARGS {
        CreateMutex: None,
        DestroyMutex: None,
        LockMutex: None,
        UnlockMutex: None,
        flags,
        pReserved: null_mut(),
    }
}

fn initialize(args: Option<&mut CK_C_INITIALIZE_ARGS>) -> (CK_RV, Option<crate::InitArgs>) {
    state(|s| s.init = None);
    let ptr = args.map_or(null_mut(), |a| std::ptr::from_mut(a).cast::<c_void>());
    // SAFETY: `ptr` is null or a live CK_C_INITIALIZE_ARGS.
    let code = unsafe { v2().C_Initialize.unwrap()(ptr) };
    (code, state(|s| s.init))
}

#[test]
fn initialize_without_arguments_makes_no_demands() {
    assert_eq!(initialize(None), (CKR_OK, Some(crate::InitArgs::default())));
}

#[test]
fn initialize_passes_the_flags_on() {
    let mut args = init_args(CKF_OS_LOCKING_OK | CKF_LIBRARY_CANT_CREATE_OS_THREADS);
    let expected = crate::InitArgs { os_locking_ok: true, app_mutexes: false, no_os_threads: true };
    assert_eq!(initialize(Some(&mut args)), (CKR_OK, Some(expected)));

    let mut args = init_args(0);
    args.CreateMutex = Some(create_mutex);
    args.DestroyMutex = Some(mutex_op);
    args.LockMutex = Some(mutex_op);
    args.UnlockMutex = Some(mutex_op);
    let expected = crate::InitArgs { os_locking_ok: false, app_mutexes: true, no_os_threads: false };
    assert_eq!(initialize(Some(&mut args)), (CKR_OK, Some(expected)));
}

#[test]
fn initialize_refuses_reserved_pointer_and_partial_callbacks() {
    let mut reserved = 0u8;
    let mut args = init_args(CKF_OS_LOCKING_OK);
    args.pReserved = std::ptr::from_mut(&mut reserved).cast();
    assert_eq!(initialize(Some(&mut args)), (CKR_ARGUMENTS_BAD, None));

    let mut args = init_args(CKF_OS_LOCKING_OK);
    args.CreateMutex = Some(create_mutex);
    args.LockMutex = Some(mutex_op);
    assert_eq!(initialize(Some(&mut args)), (CKR_ARGUMENTS_BAD, None));

    let mut args = init_args(0);
    args.UnlockMutex = Some(mutex_op);
    assert_eq!(initialize(Some(&mut args)), (CKR_ARGUMENTS_BAD, None));
}

#[test]
fn a_panicking_backend_yields_general_error() {
    let mut info = CK_SESSION_INFO::default();
    // SAFETY: `info` is a live local.
    let code = unsafe { v2().C_GetSessionInfo.unwrap()(PANIC_SESSION, &mut info) };
    assert_eq!(code, CKR_GENERAL_ERROR);
    // The boundary is still usable afterwards.
    // SAFETY: as above.
    let code = unsafe { v2().C_GetSessionInfo.unwrap()(1, &mut info) };
    assert_eq!((code, info.slotID, info.flags), (CKR_OK, 1, CKF_SERIAL_SESSION));
}

#[test]
fn legacy_functions_are_not_parallel() {
    // SAFETY: no pointers.
    unsafe {
        assert_eq!(v2().C_GetFunctionStatus.unwrap()(1), CKR_FUNCTION_NOT_PARALLEL);
        assert_eq!(v2().C_CancelFunction.unwrap()(1), CKR_FUNCTION_NOT_PARALLEL);
        assert_eq!(v3().C_CancelFunction.unwrap()(1), CKR_FUNCTION_NOT_PARALLEL);
    }
}

#[test]
fn message_functions_and_unimplemented_defaults_are_not_supported() {
    let mut data = [0u8; 4];
    let mut len: CK_ULONG = 4;
    // SAFETY: every pointer refers to a live local or is null.
    unsafe {
        let l = v3();
        assert_eq!(l.C_MessageEncryptInit.unwrap()(1, null_mut(), 2), CKR_FUNCTION_NOT_SUPPORTED);
        let p = data.as_mut_ptr();
        let code = l.C_EncryptMessage.unwrap()(1, null_mut(), 0, p, 4, p, 4, p, &mut len);
        assert_eq!(code, CKR_FUNCTION_NOT_SUPPORTED);
        assert_eq!(l.C_MessageVerifyFinal.unwrap()(1), CKR_FUNCTION_NOT_SUPPORTED);
        // A backend method left at its default.
        assert_eq!(l.C_DigestKey.unwrap()(1, 2), CKR_FUNCTION_NOT_SUPPORTED);
        assert_eq!(l.C_SessionCancel.unwrap()(1, CKF_ENCRYPT), CKR_FUNCTION_NOT_SUPPORTED);
    }
}
