//! Signatures and MACs: `C_SignInit`, `C_Sign`, `C_SignUpdate`,
//! `C_SignFinal`, `C_SignRecoverInit`, `C_SignRecover`.

// Names follow the standard so they can be matched against it; the safety
// contract of every export is the standard's (see the crate docs).
#![allow(non_snake_case, clippy::missing_safety_doc)]

use cryptoki_sys::{CK_BYTE, CK_MECHANISM, CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKR_DATA_LEN_RANGE};

use crate::backend::{Backend, Operation};
use crate::ending::continuing;
use crate::guard::{OK, initialized};
use crate::limits::input_len;
use crate::{args, mechanism};

/// `C_SignInit`.
pub unsafe extern "C" fn C_SignInit<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| {
        // SAFETY: PKCS#11 caller contract.
        let mechanism = unsafe { mechanism::decode(pMechanism) }?;
        B::sign_init(hSession, &mechanism, hKey)?;
        OK
    })
}

/// `C_Sign`, under the two-call convention.
pub unsafe extern "C" fn C_Sign<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pData: *mut CK_BYTE,
    ulDataLen: CK_ULONG,
    pSignature: *mut CK_BYTE,
    pulSignatureLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Sign], || {
        input_len::<B>(pData.cast_const(), &[Operation::Sign], ulDataLen, CKR_DATA_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe {
            args::transform(pData, ulDataLen, pSignature, pulSignatureLen, |data, out| B::sign(hSession, data, out))
        }
    })
}

/// `C_SignUpdate`.
pub unsafe extern "C" fn C_SignUpdate<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pPart: *mut CK_BYTE,
    ulPartLen: CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Sign], || {
        input_len::<B>(pPart.cast_const(), &[Operation::Sign], ulPartLen, CKR_DATA_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        let data = unsafe { args::slice(pPart, ulPartLen) }?;
        B::sign_update(hSession, data)?;
        OK
    })
}

/// `C_SignFinal`, under the two-call convention.
pub unsafe extern "C" fn C_SignFinal<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pSignature: *mut CK_BYTE,
    pulSignatureLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Sign], || {
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::output(pSignature, pulSignatureLen, |out| B::sign_final(hSession, out)) }
    })
}

/// `C_SignRecoverInit`.
pub unsafe extern "C" fn C_SignRecoverInit<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| {
        // SAFETY: PKCS#11 caller contract.
        let mechanism = unsafe { mechanism::decode(pMechanism) }?;
        B::sign_recover_init(hSession, &mechanism, hKey)?;
        OK
    })
}

/// `C_SignRecover`, under the two-call convention.
pub unsafe extern "C" fn C_SignRecover<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pData: *mut CK_BYTE,
    ulDataLen: CK_ULONG,
    pSignature: *mut CK_BYTE,
    pulSignatureLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::SignRecover], || {
        input_len::<B>(pData.cast_const(), &[Operation::SignRecover], ulDataLen, CKR_DATA_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe {
            args::transform(pData, ulDataLen, pSignature, pulSignatureLen, |data, out| {
                B::sign_recover(hSession, data, out)
            })
        }
    })
}
