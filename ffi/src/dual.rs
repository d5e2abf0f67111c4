//! Dual-function updates: `C_DigestEncryptUpdate`,
//! `C_DecryptDigestUpdate`, `C_SignEncryptUpdate`,
//! `C_DecryptVerifyUpdate`. Each continues two active operations at once.

// Names follow the standard so they can be matched against it; the safety
// contract of every export is the standard's (see the crate docs).
#![allow(non_snake_case, clippy::missing_safety_doc)]

use cryptoki_sys::{CK_BYTE, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKR_DATA_LEN_RANGE, CKR_ENCRYPTED_DATA_LEN_RANGE};

use crate::args;
use crate::backend::{Backend, Operation};
use crate::ending::continuing;
use crate::limits::input_len;

/// `C_DigestEncryptUpdate`, under the two-call convention.
pub unsafe extern "C" fn C_DigestEncryptUpdate<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pPart: *mut CK_BYTE,
    ulPartLen: CK_ULONG,
    pEncryptedPart: *mut CK_BYTE,
    pulEncryptedPartLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Digest, Operation::Encrypt], || {
        input_len::<B>(pPart.cast_const(), &[Operation::Digest, Operation::Encrypt], ulPartLen, CKR_DATA_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe {
            args::transform(pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen, |data, out| {
                B::digest_encrypt_update(hSession, data, out)
            })
        }
    })
}

/// `C_DecryptDigestUpdate`, under the two-call convention.
pub unsafe extern "C" fn C_DecryptDigestUpdate<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pEncryptedPart: *mut CK_BYTE,
    ulEncryptedPartLen: CK_ULONG,
    pPart: *mut CK_BYTE,
    pulPartLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Decrypt, Operation::Digest], || {
        let operations = [Operation::Decrypt, Operation::Digest];
        input_len::<B>(pEncryptedPart.cast_const(), &operations, ulEncryptedPartLen, CKR_ENCRYPTED_DATA_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe {
            args::transform(pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen, |data, out| {
                B::decrypt_digest_update(hSession, data, out)
            })
        }
    })
}

/// `C_SignEncryptUpdate`, under the two-call convention.
pub unsafe extern "C" fn C_SignEncryptUpdate<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pPart: *mut CK_BYTE,
    ulPartLen: CK_ULONG,
    pEncryptedPart: *mut CK_BYTE,
    pulEncryptedPartLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Sign, Operation::Encrypt], || {
        input_len::<B>(pPart.cast_const(), &[Operation::Sign, Operation::Encrypt], ulPartLen, CKR_DATA_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe {
            args::transform(pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen, |data, out| {
                B::sign_encrypt_update(hSession, data, out)
            })
        }
    })
}

/// `C_DecryptVerifyUpdate`, under the two-call convention.
pub unsafe extern "C" fn C_DecryptVerifyUpdate<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pEncryptedPart: *mut CK_BYTE,
    ulEncryptedPartLen: CK_ULONG,
    pPart: *mut CK_BYTE,
    pulPartLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Decrypt, Operation::Verify], || {
        let operations = [Operation::Decrypt, Operation::Verify];
        input_len::<B>(pEncryptedPart.cast_const(), &operations, ulEncryptedPartLen, CKR_ENCRYPTED_DATA_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe {
            args::transform(pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen, |data, out| {
                B::decrypt_verify_update(hSession, data, out)
            })
        }
    })
}
