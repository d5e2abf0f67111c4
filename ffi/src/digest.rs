//! Message digests: `C_DigestInit`, `C_Digest`, `C_DigestUpdate`,
//! `C_DigestKey`, `C_DigestFinal`.

// Names follow the standard so they can be matched against it; the safety
// contract of every export is the standard's (see the crate docs).
#![allow(non_snake_case, clippy::missing_safety_doc)]

use cryptoki_sys::{CK_BYTE, CK_MECHANISM, CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKR_DATA_LEN_RANGE};

use crate::backend::{Backend, Operation};
use crate::ending::continuing;
use crate::guard::{OK, initialized};
use crate::limits::input_len;
use crate::{args, mechanism};

/// `C_DigestInit`.
pub unsafe extern "C" fn C_DigestInit<B: Backend>(hSession: CK_SESSION_HANDLE, pMechanism: *mut CK_MECHANISM) -> CK_RV {
    initialized::<B>(|| {
        // SAFETY: PKCS#11 caller contract.
        let mechanism = unsafe { mechanism::decode(pMechanism) }?;
        B::digest_init(hSession, &mechanism)?;
        OK
    })
}

/// `C_Digest`, under the two-call convention.
pub unsafe extern "C" fn C_Digest<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pData: *mut CK_BYTE,
    ulDataLen: CK_ULONG,
    pDigest: *mut CK_BYTE,
    pulDigestLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Digest], || {
        input_len::<B>(pData.cast_const(), &[Operation::Digest], ulDataLen, CKR_DATA_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::transform(pData, ulDataLen, pDigest, pulDigestLen, |data, out| B::digest(hSession, data, out)) }
    })
}

/// `C_DigestUpdate`.
pub unsafe extern "C" fn C_DigestUpdate<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pPart: *mut CK_BYTE,
    ulPartLen: CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Digest], || {
        input_len::<B>(pPart.cast_const(), &[Operation::Digest], ulPartLen, CKR_DATA_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        let data = unsafe { args::slice(pPart, ulPartLen) }?;
        B::digest_update(hSession, data)?;
        OK
    })
}

/// `C_DigestKey`.
pub unsafe extern "C" fn C_DigestKey<B: Backend>(hSession: CK_SESSION_HANDLE, hKey: CK_OBJECT_HANDLE) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Digest], || {
        B::digest_key(hSession, hKey)?;
        OK
    })
}

/// `C_DigestFinal`, under the two-call convention.
pub unsafe extern "C" fn C_DigestFinal<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pDigest: *mut CK_BYTE,
    pulDigestLen: *mut CK_ULONG,
) -> CK_RV {
    continuing::<B>(hSession, &[Operation::Digest], || {
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::output(pDigest, pulDigestLen, |out| B::digest_final(hSession, out)) }
    })
}
