//! Encryption: `C_EncryptInit`, `C_Encrypt`, `C_EncryptUpdate`,
//! `C_EncryptFinal`. PKCS#11 allows in-place encryption (input and output
//! in the same buffer); overlapping input is copied before the output
//! buffer is borrowed.

// Names follow the standard so they can be matched against it; the safety
// contract of every export is the standard's (see the crate docs).
#![allow(non_snake_case, clippy::missing_safety_doc)]

use cryptoki_sys::{CK_BYTE, CK_MECHANISM, CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKR_DATA_LEN_RANGE};

use crate::backend::{Backend, Operation};
use crate::ending::continuing;
use crate::guard::{OK, initialized};
use crate::limits::input_len;
use crate::{args, mechanism};

/// `C_EncryptInit`.
pub unsafe extern "C" fn C_EncryptInit<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| {
        // SAFETY: PKCS#11 caller contract.
        let mechanism = unsafe { mechanism::decode(pMechanism) }?;
        B::encrypt_init(hSession, &mechanism, hKey)?;
        OK
    })
}

/// `C_Encrypt`, under the two-call convention.
pub unsafe extern "C" fn C_Encrypt<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pData: *mut CK_BYTE,
    ulDataLen: CK_ULONG,
    pEncryptedData: *mut CK_BYTE,
    pulEncryptedDataLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Encrypt], || {
        input_len::<B>(pData.cast_const(), &[Operation::Encrypt], ulDataLen, CKR_DATA_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe {
            args::transform(pData, ulDataLen, pEncryptedData, pulEncryptedDataLen, |data, out| {
                B::encrypt(hSession, data, out)
            })
        }
    })
}

/// `C_EncryptUpdate`, under the two-call convention.
pub unsafe extern "C" fn C_EncryptUpdate<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pPart: *mut CK_BYTE,
    ulPartLen: CK_ULONG,
    pEncryptedPart: *mut CK_BYTE,
    pulEncryptedPartLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Encrypt], || {
        input_len::<B>(pPart.cast_const(), &[Operation::Encrypt], ulPartLen, CKR_DATA_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe {
            args::transform(pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen, |data, out| {
                B::encrypt_update(hSession, data, out)
            })
        }
    })
}

/// `C_EncryptFinal`, under the two-call convention.
pub unsafe extern "C" fn C_EncryptFinal<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pLastEncryptedPart: *mut CK_BYTE,
    pulLastEncryptedPartLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Encrypt], || {
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::output(pLastEncryptedPart, pulLastEncryptedPartLen, |out| B::encrypt_final(hSession, out)) }
    })
}
