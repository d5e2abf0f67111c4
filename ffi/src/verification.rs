//! Verification of signatures and MACs: `C_VerifyInit`, `C_Verify`,
//! `C_VerifyUpdate`, `C_VerifyFinal`, `C_VerifyRecoverInit`,
//! `C_VerifyRecover`.

// Names follow the standard so they can be matched against it; the safety
// contract of every export is the standard's (see the crate docs).
#![allow(non_snake_case, clippy::missing_safety_doc)]

use cryptoki_sys::{
    CK_BYTE, CK_MECHANISM, CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKR_DATA_LEN_RANGE,
    CKR_SIGNATURE_LEN_RANGE,
};

use crate::backend::{Backend, Operation};
use crate::ending::continuing;
use crate::guard::{OK, initialized};
use crate::limits::input_len;
use crate::{args, mechanism};

/// `C_VerifyInit`.
pub unsafe extern "C" fn C_VerifyInit<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| {
        // SAFETY: PKCS#11 caller contract.
        let mechanism = unsafe { mechanism::decode(pMechanism) }?;
        B::verify_init(hSession, &mechanism, hKey)?;
        OK
    })
}

/// `C_Verify`.
pub unsafe extern "C" fn C_Verify<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pData: *mut CK_BYTE,
    ulDataLen: CK_ULONG,
    pSignature: *mut CK_BYTE,
    ulSignatureLen: CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Verify], || {
        input_len::<B>(pData.cast_const(), &[Operation::Verify], ulDataLen, CKR_DATA_LEN_RANGE)?;
        input_len::<B>(pSignature.cast_const(), &[Operation::Verify], ulSignatureLen, CKR_SIGNATURE_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        let data = unsafe { args::slice(pData, ulDataLen) }?;
        // SAFETY: PKCS#11 caller contract.
        let signature = unsafe { args::slice(pSignature, ulSignatureLen) }?;
        B::verify(hSession, data, signature)?;
        OK
    })
}

/// `C_VerifyUpdate`.
pub unsafe extern "C" fn C_VerifyUpdate<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pPart: *mut CK_BYTE,
    ulPartLen: CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Verify], || {
        input_len::<B>(pPart.cast_const(), &[Operation::Verify], ulPartLen, CKR_DATA_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        let data = unsafe { args::slice(pPart, ulPartLen) }?;
        B::verify_update(hSession, data)?;
        OK
    })
}

/// `C_VerifyFinal`.
pub unsafe extern "C" fn C_VerifyFinal<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pSignature: *mut CK_BYTE,
    ulSignatureLen: CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Verify], || {
        input_len::<B>(pSignature.cast_const(), &[Operation::Verify], ulSignatureLen, CKR_SIGNATURE_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        let signature = unsafe { args::slice(pSignature, ulSignatureLen) }?;
        B::verify_final(hSession, signature)?;
        OK
    })
}

/// `C_VerifyRecoverInit`.
pub unsafe extern "C" fn C_VerifyRecoverInit<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| {
        // SAFETY: PKCS#11 caller contract.
        let mechanism = unsafe { mechanism::decode(pMechanism) }?;
        B::verify_recover_init(hSession, &mechanism, hKey)?;
        OK
    })
}

/// `C_VerifyRecover`, under the two-call convention.
pub unsafe extern "C" fn C_VerifyRecover<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pSignature: *mut CK_BYTE,
    ulSignatureLen: CK_ULONG,
    pData: *mut CK_BYTE,
    pulDataLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::VerifyRecover], || {
        input_len::<B>(pSignature.cast_const(), &[Operation::VerifyRecover], ulSignatureLen, CKR_SIGNATURE_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe {
            args::transform(pSignature, ulSignatureLen, pData, pulDataLen, |data, out| {
                B::verify_recover(hSession, data, out)
            })
        }
    })
}
