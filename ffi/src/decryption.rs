//! Decryption: `C_DecryptInit`, `C_Decrypt`, `C_DecryptUpdate`,
//! `C_DecryptFinal`. PKCS#11 allows in-place decryption (input and output
//! in the same buffer); overlapping input is copied before the output
//! buffer is borrowed.

// Names follow the standard so they can be matched against it; the safety
// contract of every export is the standard's (see the crate docs).
#![allow(non_snake_case, clippy::missing_safety_doc)]

use cryptoki_sys::{
    CK_BYTE, CK_MECHANISM, CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKR_ENCRYPTED_DATA_LEN_RANGE,
};

use crate::backend::{Backend, Operation};
use crate::ending::continuing;
use crate::guard::{OK, initialized};
use crate::limits::input_len;
use crate::{args, mechanism};

/// `C_DecryptInit`.
pub unsafe extern "C" fn C_DecryptInit<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| {
        // SAFETY: PKCS#11 caller contract.
        let mechanism = unsafe { mechanism::decode(pMechanism) }?;
        B::decrypt_init(hSession, &mechanism, hKey)?;
        OK
    })
}

/// `C_Decrypt`, under the two-call convention.
pub unsafe extern "C" fn C_Decrypt<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pEncryptedData: *mut CK_BYTE,
    ulEncryptedDataLen: CK_ULONG,
    pData: *mut CK_BYTE,
    pulDataLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Decrypt], || {
        input_len::<B>(
            pEncryptedData.cast_const(),
            &[Operation::Decrypt],
            ulEncryptedDataLen,
            CKR_ENCRYPTED_DATA_LEN_RANGE,
        )?;
        // SAFETY: PKCS#11 caller contract.
        unsafe {
            args::transform(pEncryptedData, ulEncryptedDataLen, pData, pulDataLen, |data, out| {
                B::decrypt(hSession, data, out)
            })
        }
    })
}

/// `C_DecryptUpdate`, under the two-call convention.
pub unsafe extern "C" fn C_DecryptUpdate<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pEncryptedPart: *mut CK_BYTE,
    ulEncryptedPartLen: CK_ULONG,
    pPart: *mut CK_BYTE,
    pulPartLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Decrypt], || {
        input_len::<B>(
            pEncryptedPart.cast_const(),
            &[Operation::Decrypt],
            ulEncryptedPartLen,
            CKR_ENCRYPTED_DATA_LEN_RANGE,
        )?;
        // SAFETY: PKCS#11 caller contract.
        unsafe {
            args::transform(pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen, |data, out| {
                B::decrypt_update(hSession, data, out)
            })
        }
    })
}

/// `C_DecryptFinal`, under the two-call convention.
pub unsafe extern "C" fn C_DecryptFinal<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pLastPart: *mut CK_BYTE,
    pulLastPartLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Decrypt], || {
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::output(pLastPart, pulLastPartLen, |out| B::decrypt_final(hSession, out)) }
    })
}
