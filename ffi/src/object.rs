//! Object management: `C_CreateObject`, `C_CopyObject`, `C_DestroyObject`,
//! `C_GetObjectSize`, `C_GetAttributeValue`, `C_SetAttributeValue`,
//! `C_FindObjectsInit`, `C_FindObjects`, `C_FindObjectsFinal`.

// Names follow the standard so they can be matched against it; the safety
// contract of every export is the standard's (see the crate docs).
#![allow(non_snake_case, clippy::missing_safety_doc)]

use cryptoki_sys::{CK_ATTRIBUTE, CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKR_GENERAL_ERROR};

use crate::backend::Backend;
use crate::guard::{OK, initialized, rv};
use crate::{args, template};

/// `C_CreateObject`.
pub unsafe extern "C" fn C_CreateObject<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pTemplate: *mut CK_ATTRIBUTE,
    ulCount: CK_ULONG,
    phObject: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(phObject)?;
        // SAFETY: PKCS#11 caller contract.
        let template = unsafe { template::decode(pTemplate, ulCount) }?;
        let object = B::create_object(hSession, &template)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(phObject, object) }?;
        OK
    })
}

/// `C_CopyObject`.
pub unsafe extern "C" fn C_CopyObject<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    hObject: CK_OBJECT_HANDLE,
    pTemplate: *mut CK_ATTRIBUTE,
    ulCount: CK_ULONG,
    phNewObject: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(phNewObject)?;
        // SAFETY: PKCS#11 caller contract.
        let template = unsafe { template::decode(pTemplate, ulCount) }?;
        let object = B::copy_object(hSession, hObject, &template)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(phNewObject, object) }?;
        OK
    })
}

/// `C_DestroyObject`.
pub unsafe extern "C" fn C_DestroyObject<B: Backend>(hSession: CK_SESSION_HANDLE, hObject: CK_OBJECT_HANDLE) -> CK_RV {
    initialized::<B>(|| {
        B::destroy_object(hSession, hObject)?;
        OK
    })
}

/// `C_GetObjectSize`.
pub unsafe extern "C" fn C_GetObjectSize<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    hObject: CK_OBJECT_HANDLE,
    pulSize: *mut CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(pulSize)?;
        let size = B::object_size(hSession, hObject)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(pulSize, size) }?;
        OK
    })
}

/// `C_GetAttributeValue`: the backend answers per type; the per-attribute
/// rules of PKCS#11 2.40 §5.7 and the return value are applied here.
pub unsafe extern "C" fn C_GetAttributeValue<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    hObject: CK_OBJECT_HANDLE,
    pTemplate: *mut CK_ATTRIBUTE,
    ulCount: CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| {
        // SAFETY: PKCS#11 caller contract.
        let request = unsafe { template::request(pTemplate, ulCount) }?;
        let answers = B::attribute_values(hSession, hObject, &template::requested_types(request))?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { template::fill(request, answers) }
    })
}

/// `C_SetAttributeValue`.
pub unsafe extern "C" fn C_SetAttributeValue<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    hObject: CK_OBJECT_HANDLE,
    pTemplate: *mut CK_ATTRIBUTE,
    ulCount: CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| {
        // SAFETY: PKCS#11 caller contract.
        let template = unsafe { template::decode(pTemplate, ulCount) }?;
        B::set_attribute_values(hSession, hObject, &template)?;
        OK
    })
}

/// `C_FindObjectsInit`.
pub unsafe extern "C" fn C_FindObjectsInit<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pTemplate: *mut CK_ATTRIBUTE,
    ulCount: CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| {
        // SAFETY: PKCS#11 caller contract.
        let template = unsafe { template::decode(pTemplate, ulCount) }?;
        B::find_objects_init(hSession, &template)?;
        OK
    })
}

/// `C_FindObjects`: up to `ulMaxObjectCount` handles. The count says how
/// much room the caller has, nothing more: it is never the size of an
/// allocation or of a borrowed slice; only the handles found are written.
pub unsafe extern "C" fn C_FindObjects<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    phObject: *mut CK_OBJECT_HANDLE,
    ulMaxObjectCount: CK_ULONG,
    pulObjectCount: *mut CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(pulObjectCount)?;
        let room = args::writable(phObject, ulMaxObjectCount)?;
        let found = B::find_objects(hSession, room)?;
        // More than asked for would be lost: a backend bug, not the caller's.
        if found.len() > room {
            return Err(rv(CKR_GENERAL_ERROR));
        }
        // SAFETY: PKCS#11 caller contract: the array holds `room` handles,
        // and `found.len() <= room` (checked above).
        let dest = unsafe { args::slice_mut(phObject, args::to_ulong(found.len())?) }?;
        dest.copy_from_slice(&found);
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(pulObjectCount, args::to_ulong(found.len())?) }?;
        OK
    })
}

/// `C_FindObjectsFinal`.
pub unsafe extern "C" fn C_FindObjectsFinal<B: Backend>(hSession: CK_SESSION_HANDLE) -> CK_RV {
    initialized::<B>(|| {
        B::find_objects_final(hSession)?;
        OK
    })
}
