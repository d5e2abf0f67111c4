//! Key management: `C_GenerateKey`, `C_GenerateKeyPair`, `C_WrapKey`,
//! `C_UnwrapKey`, `C_DeriveKey`.

// Names follow the standard so they can be matched against it; the safety
// contract of every export is the standard's (see the crate docs).
#![allow(non_snake_case, clippy::missing_safety_doc)]

use cryptoki_sys::{
    CK_ATTRIBUTE, CK_BYTE, CK_MECHANISM, CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_ULONG,
    CKR_WRAPPED_KEY_LEN_RANGE,
};

use crate::backend::Backend;
use crate::guard::{OK, initialized};
use crate::limits::{MAX_WRAPPED_KEY_LEN, given, within};
use crate::{args, mechanism, template};

/// `C_GenerateKey`.
pub unsafe extern "C" fn C_GenerateKey<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    pTemplate: *mut CK_ATTRIBUTE,
    ulCount: CK_ULONG,
    phKey: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(phKey)?;
        // SAFETY: PKCS#11 caller contract.
        let mechanism = unsafe { mechanism::decode(pMechanism) }?;
        // SAFETY: PKCS#11 caller contract.
        let template = unsafe { template::decode(pTemplate, ulCount) }?;
        let key = B::generate_key(hSession, &mechanism, &template)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(phKey, key) }?;
        OK
    })
}

/// `C_GenerateKeyPair`.
#[allow(clippy::too_many_arguments)] // the standard's signature
pub unsafe extern "C" fn C_GenerateKeyPair<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    pPublicKeyTemplate: *mut CK_ATTRIBUTE,
    ulPublicKeyAttributeCount: CK_ULONG,
    pPrivateKeyTemplate: *mut CK_ATTRIBUTE,
    ulPrivateKeyAttributeCount: CK_ULONG,
    phPublicKey: *mut CK_OBJECT_HANDLE,
    phPrivateKey: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(phPublicKey)?;
        args::non_null(phPrivateKey)?;
        // SAFETY: PKCS#11 caller contract.
        let mechanism = unsafe { mechanism::decode(pMechanism) }?;
        // SAFETY: PKCS#11 caller contract.
        let public = unsafe { template::decode(pPublicKeyTemplate, ulPublicKeyAttributeCount) }?;
        // SAFETY: PKCS#11 caller contract.
        let private = unsafe { template::decode(pPrivateKeyTemplate, ulPrivateKeyAttributeCount) }?;
        let (public_key, private_key) = B::generate_key_pair(hSession, &mechanism, &public, &private)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(phPublicKey, public_key) }?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(phPrivateKey, private_key) }?;
        OK
    })
}

/// `C_WrapKey`, under the two-call convention.
pub unsafe extern "C" fn C_WrapKey<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hWrappingKey: CK_OBJECT_HANDLE,
    hKey: CK_OBJECT_HANDLE,
    pWrappedKey: *mut CK_BYTE,
    pulWrappedKeyLen: *mut CK_ULONG,
) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(pulWrappedKeyLen)?;
        // SAFETY: PKCS#11 caller contract.
        let mechanism = unsafe { mechanism::decode(pMechanism) }?;
        // SAFETY: PKCS#11 caller contract.
        unsafe {
            args::output(pWrappedKey, pulWrappedKeyLen, |out| {
                B::wrap_key(hSession, &mechanism, hWrappingKey, hKey, out)
            })
        }
    })
}

/// `C_UnwrapKey`.
#[allow(clippy::too_many_arguments)] // the standard's signature
pub unsafe extern "C" fn C_UnwrapKey<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hUnwrappingKey: CK_OBJECT_HANDLE,
    pWrappedKey: *mut CK_BYTE,
    ulWrappedKeyLen: CK_ULONG,
    pTemplate: *mut CK_ATTRIBUTE,
    ulAttributeCount: CK_ULONG,
    phKey: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(phKey)?;
        // SAFETY: PKCS#11 caller contract.
        let mechanism = unsafe { mechanism::decode(pMechanism) }?;
        given(pWrappedKey.cast_const(), ulWrappedKeyLen)?;
        within(ulWrappedKeyLen, MAX_WRAPPED_KEY_LEN, CKR_WRAPPED_KEY_LEN_RANGE)?;
        // SAFETY: PKCS#11 caller contract.
        let wrapped = unsafe { args::slice(pWrappedKey, ulWrappedKeyLen) }?;
        // SAFETY: PKCS#11 caller contract.
        let template = unsafe { template::decode(pTemplate, ulAttributeCount) }?;
        let key = B::unwrap_key(hSession, &mechanism, hUnwrappingKey, wrapped, &template)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(phKey, key) }?;
        OK
    })
}

/// `C_DeriveKey`.
pub unsafe extern "C" fn C_DeriveKey<B: Backend>(
    hSession: CK_SESSION_HANDLE,
    pMechanism: *mut CK_MECHANISM,
    hBaseKey: CK_OBJECT_HANDLE,
    pTemplate: *mut CK_ATTRIBUTE,
    ulAttributeCount: CK_ULONG,
    phKey: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    initialized::<B>(|| {
        args::non_null(phKey)?;
        // SAFETY: PKCS#11 caller contract.
        let mechanism = unsafe { mechanism::decode(pMechanism) }?;
        // SAFETY: PKCS#11 caller contract.
        let template = unsafe { template::decode(pTemplate, ulAttributeCount) }?;
        let key = B::derive_key(hSession, &mechanism, hBaseKey, &template)?;
        // SAFETY: PKCS#11 caller contract.
        unsafe { args::store(phKey, key) }?;
        OK
    })
}
