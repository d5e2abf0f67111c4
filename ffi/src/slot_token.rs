//! Slot and token management: `C_GetSlotList`, `C_GetSlotInfo`,
//! `C_GetTokenInfo`, `C_GetMechanismList`, `C_GetMechanismInfo`,
//! `C_InitToken`, `C_InitPIN`, `C_SetPIN`, `C_WaitForSlotEvent`.

// Names follow the standard so they can be matched against it; the safety
// contract of every export is the standard's (see the crate docs).
#![allow(non_snake_case, clippy::missing_safety_doc)]

use std::ffi::c_void;

use cryptoki_sys::{
    CK_BBOOL, CK_FLAGS, CK_MECHANISM_INFO, CK_MECHANISM_TYPE, CK_RV, CK_SESSION_HANDLE, CK_SLOT_ID, CK_SLOT_INFO,
    CK_TOKEN_INFO, CK_ULONG, CK_UTF8CHAR, CKR_ARGUMENTS_BAD, CKR_PIN_LEN_RANGE,
};

use crate::args;
use crate::backend::Backend;
use crate::guard::{OK, initialized, rv};
use crate::info::{encode_slot_info, encode_token_info};
use crate::limits::{MAX_PIN_LEN, given, within};

/// `C_GetSlotList`: a null `pSlotList` asks for the count.
pub unsafe extern "C" fn C_GetSlotList<B: Backend>(
    tokenPresent: CK_BBOOL,
    pSlotList: *mut CK_SLOT_ID,
    pulCount: *mut CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(pulCount)?;
        let slots = B::slot_list(tokenPresent != 0)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::list(&slots, pSlotList, pulCount) }
    })
}

/// `C_GetSlotInfo`.
pub unsafe extern "C" fn C_GetSlotInfo<B: Backend>(slotID: CK_SLOT_ID, pInfo: *mut CK_SLOT_INFO) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(pInfo)?;
        let info = B::slot_info(slotID)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(pInfo, encode_slot_info(&info)) }?;
        OK
    })
}

/// `C_GetTokenInfo`.
pub unsafe extern "C" fn C_GetTokenInfo<B: Backend>(slotID: CK_SLOT_ID, pInfo: *mut CK_TOKEN_INFO) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(pInfo)?;
        let info = B::token_info(slotID)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(pInfo, encode_token_info(&info)) }?;
        OK
    })
}

/// `C_GetMechanismList`: a null `pMechanismList` asks for the count.
pub unsafe extern "C" fn C_GetMechanismList<B: Backend>(
    slotID: CK_SLOT_ID,
    pMechanismList: *mut CK_MECHANISM_TYPE,
    pulCount: *mut CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(pulCount)?;
        let mechanisms = B::mechanism_list(slotID)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::list(&mechanisms, pMechanismList, pulCount) }
    })
}

/// `C_GetMechanismInfo`.
pub unsafe extern "C" fn C_GetMechanismInfo<B: Backend>(
    slotID: CK_SLOT_ID,
    type_: CK_MECHANISM_TYPE,
    pInfo: *mut CK_MECHANISM_INFO,
) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(pInfo)?;
        let info = B::mechanism_info(slotID, type_)?;
        let info =
            CK_MECHANISM_INFO { ulMinKeySize: info.min_key_size, ulMaxKeySize: info.max_key_size, flags: info.flags };
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(pInfo, info) }?;
        OK
    })
}

/// `C_InitToken`. A null PIN with length zero is allowed: it means a
/// protected authentication path.
pub unsafe extern "C" fn C_InitToken<B: Backend>(
    slotID: CK_SLOT_ID,
    pPin: *mut CK_UTF8CHAR,
    ulPinLen: CK_ULONG,
    pLabel: *mut CK_UTF8CHAR,
) -> CK_RV {
    initialized::<B>(|| {
        given(pPin.cast_const(), ulPinLen)?;
        within(ulPinLen, MAX_PIN_LEN, CKR_PIN_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        let pin = unsafe { args::slice(pPin, ulPinLen) }?;
        // The label is always 32 blank-padded bytes.
        // SAFETY: PKCS#11 caller contract.
        let label = unsafe { args::load(pLabel.cast::<[u8; 32]>()) }?;
        B::init_token(slotID, pin, &label)?;
        OK
    })
}

/// `C_InitPIN`.
pub unsafe extern "C" fn C_InitPIN<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pPin: *mut CK_UTF8CHAR,
    ulPinLen: CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| {
        given(pPin.cast_const(), ulPinLen)?;
        within(ulPinLen, MAX_PIN_LEN, CKR_PIN_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        let pin = unsafe { args::slice(pPin, ulPinLen) }?;
        B::init_pin(hSession, pin)?;
        OK
    })
}

/// `C_SetPIN`.
pub unsafe extern "C" fn C_SetPIN<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pOldPin: *mut CK_UTF8CHAR,
    ulOldLen: CK_ULONG,
    pNewPin: *mut CK_UTF8CHAR,
    ulNewLen: CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| {
        given(pOldPin.cast_const(), ulOldLen)?;
        given(pNewPin.cast_const(), ulNewLen)?;
        within(ulOldLen, MAX_PIN_LEN, CKR_PIN_LEN_RANGE)?;
        within(ulNewLen, MAX_PIN_LEN, CKR_PIN_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        let old_pin = unsafe { args::slice(pOldPin, ulOldLen) }?;
        // SAFETY: PKCS#11 caller contract.
        let new_pin = unsafe { args::slice(pNewPin, ulNewLen) }?;
        B::set_pin(hSession, old_pin, new_pin)?;
        OK
    })
}

/// `C_WaitForSlotEvent`. `pReserved` must be null, as the standard says.
/// Like every other function, it answers `CKR_CRYPTOKI_NOT_INITIALIZED`
/// before `C_Initialize`, even where the backend does not support it.
pub unsafe extern "C" fn C_WaitForSlotEvent<B: Backend>(
    flags: CK_FLAGS,
    pSlot: *mut CK_SLOT_ID,
    pReserved: *mut c_void,
) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(pSlot)?;
        if !pReserved.is_null() {
            return Err(rv(CKR_ARGUMENTS_BAD));
        }
        let slot = B::wait_for_slot_event(flags)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(pSlot, slot) }?;
        OK
    })
}
