//! The module's own exports, in process, called the way two third-party
//! PKCS#11 test suites called them: before `C_Initialize` with structures
//! never filled in, and after it with impossible lengths. No daemon runs:
//! every answer here must come from the module at once.
//!
//! One test, because the module's state is process-wide (this file is its
//! own test binary). Each hostile call runs on a thread joined with a
//! timeout: the bound turns a hang into a failure and is not a performance
//! target.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ptr::{null_mut, without_provenance_mut};
use std::sync::mpsc;
use std::time::Duration;

use p11kms::P11Kms;
use p11kms_ffi::Exported;
use p11kms_ffi::sys::*;

/// An address no user-space memory can have: reading it kills the test.
const UNMAPPED: usize = 0xffff_8000_0000_0000;
/// About 140 TB, an uninitialized `ulParameterLen` the suites produced.
const WILD: CK_ULONG = 0x7f6e_5d4c_3b2a;

fn unmapped<T>() -> *mut T {
    without_provenance_mut(UNMAPPED)
}

/// Runs `call` on its own thread and returns its result; 60 s only turns a
/// hang into a failure (the calls take microseconds).
fn returns<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(call());
    });
    result.recv_timeout(Duration::from_secs(60)).expect("the call came back (no hang, no abort)")
}

/// The calls that took hosts down, with garbage where the suites had it.
/// Returns what `C_EncryptInit`, `C_Encrypt`, `C_CreateObject` and
/// `C_WaitForSlotEvent` answered.
fn hostile_calls() -> [CK_RV; 4] {
    returns(|| {
        let l = P11Kms::function_list_3_0();
        let mut mechanism = CK_MECHANISM { mechanism: CKM_AES_GCM, pParameter: unmapped(), ulParameterLen: WILD };
        let mut data = [0u8; 16];
        let mut out = [0u8; 16];
        let mut out_len: CK_ULONG = 16;
        let mut handle: CK_OBJECT_HANDLE = 0;
        let mut slot: CK_SLOT_ID = 0;
        // SAFETY: the pointers are live locals, or unmapped on purpose
        // behind lengths the module must refuse before reading them.
        unsafe {
            [
                l.C_EncryptInit.unwrap()(1, &mut mechanism, 1),
                l.C_Encrypt.unwrap()(1, data.as_mut_ptr(), 0x8000_0000, out.as_mut_ptr(), &mut out_len),
                l.C_CreateObject.unwrap()(1, unmapped(), WILD, &mut handle),
                l.C_WaitForSlotEvent.unwrap()(0, &mut slot, null_mut()),
            ]
        }
    })
}

#[test]
fn the_module_answers_hostile_calls_before_and_after_initialize() {
    let l = P11Kms::function_list_3_0();
    assert_eq!(hostile_calls(), [CKR_CRYPTOKI_NOT_INITIALIZED; 4], "before C_Initialize");

    // No daemon behind this socket: nothing below may need one.
    let dir = tempfile::tempdir().expect("temp dir");
    // SAFETY: this binary holds one test; nothing else reads the environment.
    unsafe { std::env::set_var("P11KMS_SOCKET", dir.path().join("no-daemon.sock")) };
    // SAFETY: a null argument is allowed.
    assert_eq!(unsafe { l.C_Initialize.unwrap()(null_mut()) }, CKR_OK);
    assert_eq!(
        hostile_calls(),
        [CKR_MECHANISM_PARAM_INVALID, CKR_DATA_LEN_RANGE, CKR_ARGUMENTS_BAD, CKR_FUNCTION_NOT_SUPPORTED],
        "after C_Initialize"
    );

    // SAFETY: a null argument is what the standard asks for.
    assert_eq!(unsafe { l.C_Finalize.unwrap()(null_mut()) }, CKR_OK);
    assert_eq!(hostile_calls(), [CKR_CRYPTOKI_NOT_INITIALIZED; 4], "after C_Finalize");
}
