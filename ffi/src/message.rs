//! The message-based functions of PKCS#11 3.0 (`C_MessageEncryptInit`,
//! `C_EncryptMessage`, ... `C_MessageVerifyFinal`).
//!
//! All answer `CKR_FUNCTION_NOT_SUPPORTED`: the data plane has no message
//! API yet, so the [`Backend`] trait has nothing to call. They still sit in
//! the 3.0 table, because a 3.0 function list must have every entry set;
//! applications learn "not supported" instead of calling through a null
//! pointer (or, before `C_Initialize`, `CKR_CRYPTOKI_NOT_INITIALIZED`, as
//! from every function). Arguments are not inspected: nothing reads them.

// Names follow the standard so they can be matched against it; the safety
// contract of every export is the standard's (see the crate docs).
#![allow(non_snake_case, clippy::missing_safety_doc)]

use std::ffi::c_void;

use cryptoki_sys::{CK_BYTE, CK_FLAGS, CK_MECHANISM, CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_ULONG};

use crate::backend::{Backend, NOT_SUPPORTED};
use crate::guard::initialized;

/// `C_MessageEncryptInit`: not supported.
pub unsafe extern "C" fn C_MessageEncryptInit<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pMechanism: *mut CK_MECHANISM,
    _hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_EncryptMessage`: not supported.
#[allow(clippy::too_many_arguments)] // the standard's signature
pub unsafe extern "C" fn C_EncryptMessage<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: *mut c_void,
    _ulParameterLen: CK_ULONG,
    _pAssociatedData: *mut CK_BYTE,
    _ulAssociatedDataLen: CK_ULONG,
    _pPlaintext: *mut CK_BYTE,
    _ulPlaintextLen: CK_ULONG,
    _pCiphertext: *mut CK_BYTE,
    _pulCiphertextLen: *mut CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_EncryptMessageBegin`: not supported.
pub unsafe extern "C" fn C_EncryptMessageBegin<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: *mut c_void,
    _ulParameterLen: CK_ULONG,
    _pAssociatedData: *mut CK_BYTE,
    _ulAssociatedDataLen: CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_EncryptMessageNext`: not supported.
#[allow(clippy::too_many_arguments)] // the standard's signature
pub unsafe extern "C" fn C_EncryptMessageNext<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: *mut c_void,
    _ulParameterLen: CK_ULONG,
    _pPlaintextPart: *mut CK_BYTE,
    _ulPlaintextPartLen: CK_ULONG,
    _pCiphertextPart: *mut CK_BYTE,
    _pulCiphertextPartLen: *mut CK_ULONG,
    _flags: CK_FLAGS,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_MessageEncryptFinal`: not supported.
pub unsafe extern "C" fn C_MessageEncryptFinal<B: Backend>(_hSession: CK_SESSION_HANDLE) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_MessageDecryptInit`: not supported.
pub unsafe extern "C" fn C_MessageDecryptInit<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pMechanism: *mut CK_MECHANISM,
    _hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_DecryptMessage`: not supported.
#[allow(clippy::too_many_arguments)] // the standard's signature
pub unsafe extern "C" fn C_DecryptMessage<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: *mut c_void,
    _ulParameterLen: CK_ULONG,
    _pAssociatedData: *mut CK_BYTE,
    _ulAssociatedDataLen: CK_ULONG,
    _pCiphertext: *mut CK_BYTE,
    _ulCiphertextLen: CK_ULONG,
    _pPlaintext: *mut CK_BYTE,
    _pulPlaintextLen: *mut CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_DecryptMessageBegin`: not supported.
pub unsafe extern "C" fn C_DecryptMessageBegin<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: *mut c_void,
    _ulParameterLen: CK_ULONG,
    _pAssociatedData: *mut CK_BYTE,
    _ulAssociatedDataLen: CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_DecryptMessageNext`: not supported.
#[allow(clippy::too_many_arguments)] // the standard's signature
pub unsafe extern "C" fn C_DecryptMessageNext<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: *mut c_void,
    _ulParameterLen: CK_ULONG,
    _pCiphertextPart: *mut CK_BYTE,
    _ulCiphertextPartLen: CK_ULONG,
    _pPlaintextPart: *mut CK_BYTE,
    _pulPlaintextPartLen: *mut CK_ULONG,
    _flags: CK_FLAGS,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_MessageDecryptFinal`: not supported.
pub unsafe extern "C" fn C_MessageDecryptFinal<B: Backend>(_hSession: CK_SESSION_HANDLE) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_MessageSignInit`: not supported.
pub unsafe extern "C" fn C_MessageSignInit<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pMechanism: *mut CK_MECHANISM,
    _hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_SignMessage`: not supported.
pub unsafe extern "C" fn C_SignMessage<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: *mut c_void,
    _ulParameterLen: CK_ULONG,
    _pData: *mut CK_BYTE,
    _ulDataLen: CK_ULONG,
    _pSignature: *mut CK_BYTE,
    _pulSignatureLen: *mut CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_SignMessageBegin`: not supported.
pub unsafe extern "C" fn C_SignMessageBegin<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: *mut c_void,
    _ulParameterLen: CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_SignMessageNext`: not supported.
pub unsafe extern "C" fn C_SignMessageNext<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: *mut c_void,
    _ulParameterLen: CK_ULONG,
    _pData: *mut CK_BYTE,
    _ulDataLen: CK_ULONG,
    _pSignature: *mut CK_BYTE,
    _pulSignatureLen: *mut CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_MessageSignFinal`: not supported.
pub unsafe extern "C" fn C_MessageSignFinal<B: Backend>(_hSession: CK_SESSION_HANDLE) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_MessageVerifyInit`: not supported.
pub unsafe extern "C" fn C_MessageVerifyInit<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pMechanism: *mut CK_MECHANISM,
    _hKey: CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_VerifyMessage`: not supported.
pub unsafe extern "C" fn C_VerifyMessage<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: *mut c_void,
    _ulParameterLen: CK_ULONG,
    _pData: *mut CK_BYTE,
    _ulDataLen: CK_ULONG,
    _pSignature: *mut CK_BYTE,
    _ulSignatureLen: CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_VerifyMessageBegin`: not supported.
pub unsafe extern "C" fn C_VerifyMessageBegin<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: *mut c_void,
    _ulParameterLen: CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_VerifyMessageNext`: not supported.
pub unsafe extern "C" fn C_VerifyMessageNext<B: Backend>(
    _hSession: CK_SESSION_HANDLE,
    _pParameter: *mut c_void,
    _ulParameterLen: CK_ULONG,
    _pData: *mut CK_BYTE,
    _ulDataLen: CK_ULONG,
    _pSignature: *mut CK_BYTE,
    _ulSignatureLen: CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}

/// `C_MessageVerifyFinal`: not supported.
pub unsafe extern "C" fn C_MessageVerifyFinal<B: Backend>(_hSession: CK_SESSION_HANDLE) -> CK_RV {
    initialized::<B>(|| Err(NOT_SUPPORTED))
}
