//! The function tables: every entry of the 2.40 and 3.0 function lists,
//! filled with the generic exports for one backend.
//!
//! They are `const fn`s so [`export_pkcs11!`](crate::export_pkcs11) can
//! build them into immutable statics at compile time. The two tables share
//! every function except `C_GetInfo`, which reports its own table's
//! cryptoki version.

use cryptoki_sys::{CK_FUNCTION_LIST, CK_FUNCTION_LIST_3_0, CK_VERSION};

use crate::interface::Exported;
use crate::{
    decryption, digest, dual, encryption, general, interface, keys, message, object, random, session, signing,
    slot_token, verification,
};

/// A function list of type `$list` for backend `$B`: the 2.40 functions
/// (shared by both interfaces, with `C_GetInfo` reporting `$major.$minor`),
/// then the `$extra` entries only the newer list has.
macro_rules! function_table {
    ($list:ident, $B:ty, $major:literal, $minor:literal $(, $extra:ident: $value:expr)* $(,)?) => {
        $list {
            version: CK_VERSION { major: $major, minor: $minor },
            C_Initialize: Some(general::C_Initialize::<$B>),
            C_Finalize: Some(general::C_Finalize::<$B>),
            C_GetInfo: Some(general::C_GetInfo::<$B, $major, $minor>),
            C_GetFunctionList: Some(interface::C_GetFunctionList::<$B>),
            C_GetSlotList: Some(slot_token::C_GetSlotList::<$B>),
            C_GetSlotInfo: Some(slot_token::C_GetSlotInfo::<$B>),
            C_GetTokenInfo: Some(slot_token::C_GetTokenInfo::<$B>),
            C_GetMechanismList: Some(slot_token::C_GetMechanismList::<$B>),
            C_GetMechanismInfo: Some(slot_token::C_GetMechanismInfo::<$B>),
            C_InitToken: Some(slot_token::C_InitToken::<$B>),
            C_InitPIN: Some(slot_token::C_InitPIN::<$B>),
            C_SetPIN: Some(slot_token::C_SetPIN::<$B>),
            C_OpenSession: Some(session::C_OpenSession::<$B>),
            C_CloseSession: Some(session::C_CloseSession::<$B>),
            C_CloseAllSessions: Some(session::C_CloseAllSessions::<$B>),
            C_GetSessionInfo: Some(session::C_GetSessionInfo::<$B>),
            C_GetOperationState: Some(session::C_GetOperationState::<$B>),
            C_SetOperationState: Some(session::C_SetOperationState::<$B>),
            C_Login: Some(session::C_Login::<$B>),
            C_Logout: Some(session::C_Logout::<$B>),
            C_CreateObject: Some(object::C_CreateObject::<$B>),
            C_CopyObject: Some(object::C_CopyObject::<$B>),
            C_DestroyObject: Some(object::C_DestroyObject::<$B>),
            C_GetObjectSize: Some(object::C_GetObjectSize::<$B>),
            C_GetAttributeValue: Some(object::C_GetAttributeValue::<$B>),
            C_SetAttributeValue: Some(object::C_SetAttributeValue::<$B>),
            C_FindObjectsInit: Some(object::C_FindObjectsInit::<$B>),
            C_FindObjects: Some(object::C_FindObjects::<$B>),
            C_FindObjectsFinal: Some(object::C_FindObjectsFinal::<$B>),
            C_EncryptInit: Some(encryption::C_EncryptInit::<$B>),
            C_Encrypt: Some(encryption::C_Encrypt::<$B>),
            C_EncryptUpdate: Some(encryption::C_EncryptUpdate::<$B>),
            C_EncryptFinal: Some(encryption::C_EncryptFinal::<$B>),
            C_DecryptInit: Some(decryption::C_DecryptInit::<$B>),
            C_Decrypt: Some(decryption::C_Decrypt::<$B>),
            C_DecryptUpdate: Some(decryption::C_DecryptUpdate::<$B>),
            C_DecryptFinal: Some(decryption::C_DecryptFinal::<$B>),
            C_DigestInit: Some(digest::C_DigestInit::<$B>),
            C_Digest: Some(digest::C_Digest::<$B>),
            C_DigestUpdate: Some(digest::C_DigestUpdate::<$B>),
            C_DigestKey: Some(digest::C_DigestKey::<$B>),
            C_DigestFinal: Some(digest::C_DigestFinal::<$B>),
            C_SignInit: Some(signing::C_SignInit::<$B>),
            C_Sign: Some(signing::C_Sign::<$B>),
            C_SignUpdate: Some(signing::C_SignUpdate::<$B>),
            C_SignFinal: Some(signing::C_SignFinal::<$B>),
            C_SignRecoverInit: Some(signing::C_SignRecoverInit::<$B>),
            C_SignRecover: Some(signing::C_SignRecover::<$B>),
            C_VerifyInit: Some(verification::C_VerifyInit::<$B>),
            C_Verify: Some(verification::C_Verify::<$B>),
            C_VerifyUpdate: Some(verification::C_VerifyUpdate::<$B>),
            C_VerifyFinal: Some(verification::C_VerifyFinal::<$B>),
            C_VerifyRecoverInit: Some(verification::C_VerifyRecoverInit::<$B>),
            C_VerifyRecover: Some(verification::C_VerifyRecover::<$B>),
            C_DigestEncryptUpdate: Some(dual::C_DigestEncryptUpdate::<$B>),
            C_DecryptDigestUpdate: Some(dual::C_DecryptDigestUpdate::<$B>),
            C_SignEncryptUpdate: Some(dual::C_SignEncryptUpdate::<$B>),
            C_DecryptVerifyUpdate: Some(dual::C_DecryptVerifyUpdate::<$B>),
            C_GenerateKey: Some(keys::C_GenerateKey::<$B>),
            C_GenerateKeyPair: Some(keys::C_GenerateKeyPair::<$B>),
            C_WrapKey: Some(keys::C_WrapKey::<$B>),
            C_UnwrapKey: Some(keys::C_UnwrapKey::<$B>),
            C_DeriveKey: Some(keys::C_DeriveKey::<$B>),
            C_SeedRandom: Some(random::C_SeedRandom::<$B>),
            C_GenerateRandom: Some(random::C_GenerateRandom::<$B>),
            C_GetFunctionStatus: Some(general::C_GetFunctionStatus::<$B>),
            C_CancelFunction: Some(general::C_CancelFunction::<$B>),
            C_WaitForSlotEvent: Some(slot_token::C_WaitForSlotEvent::<$B>),
            $($extra: $value,)*
        }
    };
}

/// The 2.40 function list for backend `B`.
pub const fn function_list_2_40<B: Exported>() -> CK_FUNCTION_LIST {
    function_table!(CK_FUNCTION_LIST, B, 2, 40)
}

/// The 3.0 function list for backend `B`.
pub const fn function_list_3_0<B: Exported>() -> CK_FUNCTION_LIST_3_0 {
    function_table!(
        CK_FUNCTION_LIST_3_0,
        B,
        3,
        0,
        C_GetInterfaceList: Some(interface::C_GetInterfaceList::<B>),
        C_GetInterface: Some(interface::C_GetInterface::<B>),
        C_LoginUser: Some(session::C_LoginUser::<B>),
        C_SessionCancel: Some(session::C_SessionCancel::<B>),
        C_MessageEncryptInit: Some(message::C_MessageEncryptInit::<B>),
        C_EncryptMessage: Some(message::C_EncryptMessage::<B>),
        C_EncryptMessageBegin: Some(message::C_EncryptMessageBegin::<B>),
        C_EncryptMessageNext: Some(message::C_EncryptMessageNext::<B>),
        C_MessageEncryptFinal: Some(message::C_MessageEncryptFinal::<B>),
        C_MessageDecryptInit: Some(message::C_MessageDecryptInit::<B>),
        C_DecryptMessage: Some(message::C_DecryptMessage::<B>),
        C_DecryptMessageBegin: Some(message::C_DecryptMessageBegin::<B>),
        C_DecryptMessageNext: Some(message::C_DecryptMessageNext::<B>),
        C_MessageDecryptFinal: Some(message::C_MessageDecryptFinal::<B>),
        C_MessageSignInit: Some(message::C_MessageSignInit::<B>),
        C_SignMessage: Some(message::C_SignMessage::<B>),
        C_SignMessageBegin: Some(message::C_SignMessageBegin::<B>),
        C_SignMessageNext: Some(message::C_SignMessageNext::<B>),
        C_MessageSignFinal: Some(message::C_MessageSignFinal::<B>),
        C_MessageVerifyInit: Some(message::C_MessageVerifyInit::<B>),
        C_VerifyMessage: Some(message::C_VerifyMessage::<B>),
        C_VerifyMessageBegin: Some(message::C_VerifyMessageBegin::<B>),
        C_VerifyMessageNext: Some(message::C_VerifyMessageNext::<B>),
        C_MessageVerifyFinal: Some(message::C_MessageVerifyFinal::<B>),
    )
}
