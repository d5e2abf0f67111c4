//! Before `C_Initialize`: every function of both tables (but `C_Initialize`
//! and the table getters) answers `CKR_CRYPTOKI_NOT_INITIALIZED` without
//! reading its arguments, as a PKCS#11 test suite calls them: with
//! structures it never filled in.
//!
//! Every pointer passed points into the kernel's half of the address
//! space, so reading any of them would kill this test process with
//! SIGSEGV; every length and count is huge. Passing means nothing was read
//! and nothing was allocated.

use std::collections::BTreeSet;
use std::mem::offset_of;
use std::ptr::without_provenance_mut;

use cryptoki_sys::*;

use super::backend::{TestBackend, state};
use super::tables::entries;
use crate::Exported;

/// An address no user-space memory can have (x86-64 and AArch64 alike).
const UNMAPPED: usize = 0xffff_8000_0000_0000;
/// A length or count no caller's memory can hold.
const HUGE: CK_ULONG = 0x7fff_ffff_ffff_fff0;

/// A pointer that must never be read or written.
fn p<T>() -> *mut T {
    without_provenance_mut(UNMAPPED)
}

/// The address of a function-list entry (0 when unset).
macro_rules! address {
    ($entry:expr) => {
        $entry.map_or(0, |function| function as usize)
    };
}

/// Calls each named entry of a function list with the given arguments and
/// records (name, address, return value).
macro_rules! call_each {
    ($calls:ident, $list:expr; $($name:ident($($arg:expr),*);)*) => {
        $({
            let function = $list.$name.expect(stringify!($name));
            // SAFETY: the arguments are garbage on purpose; an export that
            // honours "not initialized" reads none of them.
            let code = unsafe { function($($arg),*) };
            $calls.push((stringify!($name), function as usize, code));
        })*
    };
}

/// The functions both tables have, called with garbage.
macro_rules! call_2_40_functions {
    ($calls:ident, $list:expr) => {
        call_each!($calls, $list;
            C_Finalize(p());
            C_GetInfo(p());
            C_GetSlotList(CK_TRUE, p(), p());
            C_GetSlotInfo(HUGE, p());
            C_GetTokenInfo(HUGE, p());
            C_GetMechanismList(HUGE, p(), p());
            C_GetMechanismInfo(HUGE, HUGE, p());
            C_InitToken(HUGE, p(), HUGE, p());
            C_InitPIN(HUGE, p(), HUGE);
            C_SetPIN(HUGE, p(), HUGE, p(), HUGE);
            C_OpenSession(HUGE, HUGE, p(), None, p());
            C_CloseSession(HUGE);
            C_CloseAllSessions(HUGE);
            C_GetSessionInfo(HUGE, p());
            C_GetOperationState(HUGE, p(), p());
            C_SetOperationState(HUGE, p(), HUGE, HUGE, HUGE);
            C_Login(HUGE, HUGE, p(), HUGE);
            C_Logout(HUGE);
            C_CreateObject(HUGE, p(), HUGE, p());
            C_CopyObject(HUGE, HUGE, p(), HUGE, p());
            C_DestroyObject(HUGE, HUGE);
            C_GetObjectSize(HUGE, HUGE, p());
            C_GetAttributeValue(HUGE, HUGE, p(), HUGE);
            C_SetAttributeValue(HUGE, HUGE, p(), HUGE);
            C_FindObjectsInit(HUGE, p(), HUGE);
            C_FindObjects(HUGE, p(), HUGE, p());
            C_FindObjectsFinal(HUGE);
            C_EncryptInit(1, p(), 1);
            C_Encrypt(HUGE, p(), 0x8000_0000, p(), p());
            C_EncryptUpdate(HUGE, p(), HUGE, p(), p());
            C_EncryptFinal(HUGE, p(), p());
            C_DecryptInit(1, p(), 1);
            C_Decrypt(HUGE, p(), HUGE, p(), p());
            C_DecryptUpdate(HUGE, p(), HUGE, p(), p());
            C_DecryptFinal(HUGE, p(), p());
            C_DigestInit(HUGE, p());
            C_Digest(HUGE, p(), HUGE, p(), p());
            C_DigestUpdate(HUGE, p(), HUGE);
            C_DigestKey(HUGE, HUGE);
            C_DigestFinal(HUGE, p(), p());
            C_SignInit(HUGE, p(), HUGE);
            C_Sign(HUGE, p(), HUGE, p(), p());
            C_SignUpdate(HUGE, p(), HUGE);
            C_SignFinal(HUGE, p(), p());
            C_SignRecoverInit(HUGE, p(), HUGE);
            C_SignRecover(HUGE, p(), HUGE, p(), p());
            C_VerifyInit(HUGE, p(), HUGE);
            C_Verify(HUGE, p(), HUGE, p(), HUGE);
            C_VerifyUpdate(HUGE, p(), HUGE);
            C_VerifyFinal(HUGE, p(), HUGE);
            C_VerifyRecoverInit(HUGE, p(), HUGE);
            C_VerifyRecover(HUGE, p(), HUGE, p(), p());
            C_DigestEncryptUpdate(HUGE, p(), HUGE, p(), p());
            C_DecryptDigestUpdate(HUGE, p(), HUGE, p(), p());
            C_SignEncryptUpdate(HUGE, p(), HUGE, p(), p());
            C_DecryptVerifyUpdate(HUGE, p(), HUGE, p(), p());
            C_GenerateKey(HUGE, p(), p(), HUGE, p());
            C_GenerateKeyPair(HUGE, p(), p(), HUGE, p(), HUGE, p(), p());
            C_WrapKey(HUGE, p(), HUGE, HUGE, p(), p());
            C_UnwrapKey(HUGE, p(), HUGE, p(), HUGE, p(), HUGE, p());
            C_DeriveKey(HUGE, p(), HUGE, p(), HUGE, p());
            C_SeedRandom(HUGE, p(), HUGE);
            C_GenerateRandom(HUGE, p(), HUGE);
            C_GetFunctionStatus(HUGE);
            C_CancelFunction(HUGE);
            C_WaitForSlotEvent(0, p(), p());
        )
    };
}

/// Every entry's address, but those of the functions that run before
/// `C_Initialize`.
fn guarded_entries<T>(list: &T, first: usize, unguarded: &[usize]) -> BTreeSet<usize> {
    entries(list, first)
        .into_iter()
        .flatten()
        .map(|function| function as usize)
        .filter(|address| !unguarded.contains(address))
        .collect()
}

/// Checks the calls: all answered "not initialized", and together they are
/// every guarded entry of the table.
fn assert_all_not_initialized(calls: &[(&str, usize, CK_RV)], expected: &BTreeSet<usize>) {
    for (name, _, code) in calls {
        assert_eq!(*code, CKR_CRYPTOKI_NOT_INITIALIZED, "{name}");
    }
    let called: BTreeSet<usize> = calls.iter().map(|(_, address, _)| *address).collect();
    assert_eq!(&called, expected, "every function of the table but the unguarded ones was called");
}

#[test]
fn before_initialize_every_function_refuses_without_reading_its_arguments() {
    state(|s| s.initialized = false);
    let v2 = TestBackend::function_list_2_40();
    let v3 = TestBackend::function_list_3_0();

    let mut calls = Vec::new();
    call_2_40_functions!(calls, v2);
    assert_eq!(calls.len(), 66, "68 entries, less C_Initialize and C_GetFunctionList");
    let unguarded = [address!(v2.C_Initialize), address!(v2.C_GetFunctionList)];
    let expected = guarded_entries(v2, offset_of!(CK_FUNCTION_LIST, C_Initialize), &unguarded);
    assert_all_not_initialized(&calls, &expected);

    let mut calls = Vec::new();
    call_2_40_functions!(calls, v3);
    call_each!(calls, v3;
        C_LoginUser(HUGE, HUGE, p(), HUGE, p(), HUGE);
        C_SessionCancel(HUGE, HUGE);
        C_MessageEncryptInit(HUGE, p(), HUGE);
        C_EncryptMessage(HUGE, p(), HUGE, p(), HUGE, p(), HUGE, p(), p());
        C_EncryptMessageBegin(HUGE, p(), HUGE, p(), HUGE);
        C_EncryptMessageNext(HUGE, p(), HUGE, p(), HUGE, p(), p(), HUGE);
        C_MessageEncryptFinal(HUGE);
        C_MessageDecryptInit(HUGE, p(), HUGE);
        C_DecryptMessage(HUGE, p(), HUGE, p(), HUGE, p(), HUGE, p(), p());
        C_DecryptMessageBegin(HUGE, p(), HUGE, p(), HUGE);
        C_DecryptMessageNext(HUGE, p(), HUGE, p(), HUGE, p(), p(), HUGE);
        C_MessageDecryptFinal(HUGE);
        C_MessageSignInit(HUGE, p(), HUGE);
        C_SignMessage(HUGE, p(), HUGE, p(), HUGE, p(), p());
        C_SignMessageBegin(HUGE, p(), HUGE);
        C_SignMessageNext(HUGE, p(), HUGE, p(), HUGE, p(), p());
        C_MessageSignFinal(HUGE);
        C_MessageVerifyInit(HUGE, p(), HUGE);
        C_VerifyMessage(HUGE, p(), HUGE, p(), HUGE, p(), HUGE);
        C_VerifyMessageBegin(HUGE, p(), HUGE);
        C_VerifyMessageNext(HUGE, p(), HUGE, p(), HUGE, p(), HUGE);
        C_MessageVerifyFinal(HUGE);
    );
    assert_eq!(calls.len(), 88, "92 entries, less C_Initialize and the three getters");
    let unguarded = [
        address!(v3.C_Initialize),
        address!(v3.C_GetFunctionList),
        address!(v3.C_GetInterfaceList),
        address!(v3.C_GetInterface),
    ];
    let expected = guarded_entries(v3, offset_of!(CK_FUNCTION_LIST_3_0, C_Initialize), &unguarded);
    assert_all_not_initialized(&calls, &expected);

    assert_eq!(state(|s| s.calls), 0, "no backend method ran");
}

#[test]
fn initialize_and_finalize_open_and_close_the_gate() {
    let l = TestBackend::function_list_3_0();
    state(|s| s.initialized = false);
    let mut slot: CK_SLOT_ID = 0;
    // SAFETY: every pointer refers to a live local, or is null where the
    // standard allows it.
    unsafe {
        assert_eq!(l.C_WaitForSlotEvent.unwrap()(0, &mut slot, std::ptr::null_mut()), CKR_CRYPTOKI_NOT_INITIALIZED);
        assert_eq!(l.C_Initialize.unwrap()(std::ptr::null_mut()), CKR_OK);
        // Initialized, the backend's own answer comes through.
        assert_eq!(l.C_WaitForSlotEvent.unwrap()(0, &mut slot, std::ptr::null_mut()), CKR_FUNCTION_NOT_SUPPORTED);
        assert_eq!(l.C_GetFunctionStatus.unwrap()(1), CKR_FUNCTION_NOT_PARALLEL);
        assert_eq!(l.C_Finalize.unwrap()(std::ptr::null_mut()), CKR_OK);
        assert_eq!(l.C_Finalize.unwrap()(std::ptr::null_mut()), CKR_CRYPTOKI_NOT_INITIALIZED);
        assert_eq!(l.C_GetFunctionStatus.unwrap()(1), CKR_CRYPTOKI_NOT_INITIALIZED);
    }
}
