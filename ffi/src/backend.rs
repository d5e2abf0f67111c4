//! The safe side of the boundary: the trait a PKCS#11 implementation
//! provides. The exported `extern "C"` functions check every pointer and
//! length, decode C structures into Rust values, call one method of this
//! trait, and encode its answer back. An implementation never sees a raw
//! pointer.
//!
//! Methods are associated functions (no `self`): a PKCS#11 module is a
//! process-wide singleton, and the implementation owns its global state.
//! Every PKCS#11 method has a default that answers
//! `CKR_FUNCTION_NOT_SUPPORTED`, so an implementation states what it
//! supports by overriding. Three methods answer the boundary's own
//! questions instead: whether the module is initialized, how long an
//! operation's input may be, and ending an operation whose call failed.

use cryptoki_sys::{
    CK_FLAGS, CK_MECHANISM_TYPE, CK_OBJECT_HANDLE, CK_SESSION_HANDLE, CK_SLOT_ID, CK_ULONG, CK_USER_TYPE,
    CKR_FUNCTION_NOT_SUPPORTED,
};
use p11kms_proto::CkRv;
use p11kms_proto::pkcs11::{Attribute, AttributeType, AttributeValue, Mechanism, MechanismInfo};

use crate::output::{Delivery, OutBuf};
use crate::types::{Info, InitArgs, SessionInfo, SlotInfo, TokenInfo};

/// What every method returns: a value, or the `CK_RV` the application gets.
pub type Result<T> = std::result::Result<T, CkRv>;

/// The answer for functions this implementation does not support.
pub const NOT_SUPPORTED: CkRv = CkRv(CKR_FUNCTION_NOT_SUPPORTED);

/// The session operations whose calls carry the application's data, as
/// the boundary names them when it bounds their input or ends them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `C_EncryptInit` … `C_EncryptFinal`.
    Encrypt,
    /// `C_DecryptInit` … `C_DecryptFinal`.
    Decrypt,
    /// `C_DigestInit` … `C_DigestFinal`.
    Digest,
    /// `C_SignInit` … `C_SignFinal`.
    Sign,
    /// `C_SignRecoverInit`, `C_SignRecover`.
    SignRecover,
    /// `C_VerifyInit` … `C_VerifyFinal`.
    Verify,
    /// `C_VerifyRecoverInit`, `C_VerifyRecover`.
    VerifyRecover,
}

/// A PKCS#11 implementation behind the exported tables.
///
/// Output-producing methods receive an [`OutBuf`] and must follow
/// PKCS#11's two-call convention through it: compute the result, hand it to
/// [`OutBuf::deliver`], and end the operation only when that reports
/// [`Delivery::Written`]. A length query or
/// a too-small buffer leaves the operation active.
#[allow(unused_variables)]
pub trait Backend: 'static {
    // ---- the boundary's questions ----------------------------------------

    /// True between a successful `C_Initialize` and `C_Finalize`, in this
    /// process. Every export except `C_Initialize` and the table getters
    /// asks this first and, when it is false, answers
    /// `CKR_CRYPTOKI_NOT_INITIALIZED` without reading any argument. Must be
    /// cheap and must not block on anything a call in progress holds.
    fn is_initialized() -> bool;

    /// The longest input one call of `operation` may carry: the data of a
    /// single-part or `…Update` call, or a signature to verify. A longer
    /// input is refused by the boundary, unread, with the call's
    /// `CKR_*_LEN_RANGE` code, and the operation ends (see
    /// [`Backend::end_operation`]). The boundary caps the answer at
    /// [`MAX_DATA_LEN`](crate::limits::MAX_DATA_LEN); the default is
    /// that cap.
    fn max_input_len(operation: Operation) -> usize {
        p11kms_proto::MAX_BODY_LEN as usize
    }

    /// A call that continues or ends `operation` on `session` failed,
    /// whether the boundary refused it (a null pointer, an input over
    /// [`Backend::max_input_len`]) or the implementation did. PKCS#11 ends
    /// an operation on every error but `CKR_BUFFER_TOO_SMALL`, so the
    /// implementation drops it, if one is active (see `ending.rs` for the
    /// two failures that end nothing). Must not block or talk to anything
    /// remote, and may be asked for an operation already ended; the default
    /// does nothing.
    fn end_operation(session: CK_SESSION_HANDLE, operation: Operation) {}

    // ---- general purpose ------------------------------------------------

    /// `C_Initialize`, with arguments already checked for consistency.
    fn initialize(args: InitArgs) -> Result<()>;
    /// `C_Finalize`.
    fn finalize() -> Result<()>;
    /// `C_GetInfo` (the cryptoki version is filled in by the table in use).
    fn info() -> Result<Info>;

    // ---- slots and tokens -----------------------------------------------

    /// `C_GetSlotList`.
    fn slot_list(token_present: bool) -> Result<Vec<CK_SLOT_ID>>;
    /// `C_GetSlotInfo`.
    fn slot_info(slot: CK_SLOT_ID) -> Result<SlotInfo>;
    /// `C_GetTokenInfo`.
    fn token_info(slot: CK_SLOT_ID) -> Result<TokenInfo>;
    /// `C_GetMechanismList`.
    fn mechanism_list(slot: CK_SLOT_ID) -> Result<Vec<CK_MECHANISM_TYPE>>;
    /// `C_GetMechanismInfo`.
    fn mechanism_info(slot: CK_SLOT_ID, mechanism: CK_MECHANISM_TYPE) -> Result<MechanismInfo>;
    /// `C_InitToken`.
    fn init_token(slot: CK_SLOT_ID, so_pin: &[u8], label: &[u8; 32]) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_InitPIN`.
    fn init_pin(session: CK_SESSION_HANDLE, pin: &[u8]) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_SetPIN`.
    fn set_pin(session: CK_SESSION_HANDLE, old_pin: &[u8], new_pin: &[u8]) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_WaitForSlotEvent`.
    fn wait_for_slot_event(flags: CK_FLAGS) -> Result<CK_SLOT_ID> {
        Err(NOT_SUPPORTED)
    }

    // ---- sessions -------------------------------------------------------

    /// `C_OpenSession` (notification callbacks are not used).
    fn open_session(slot: CK_SLOT_ID, flags: CK_FLAGS) -> Result<CK_SESSION_HANDLE>;
    /// `C_CloseSession`.
    fn close_session(session: CK_SESSION_HANDLE) -> Result<()>;
    /// `C_CloseAllSessions`.
    fn close_all_sessions(slot: CK_SLOT_ID) -> Result<()>;
    /// `C_GetSessionInfo`.
    fn session_info(session: CK_SESSION_HANDLE) -> Result<SessionInfo>;
    /// `C_GetOperationState`.
    fn operation_state(session: CK_SESSION_HANDLE, out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }
    /// `C_SetOperationState`.
    fn set_operation_state(
        session: CK_SESSION_HANDLE,
        state: &[u8],
        encryption_key: CK_OBJECT_HANDLE,
        authentication_key: CK_OBJECT_HANDLE,
    ) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_Login` (and `C_LoginUser` with `username` set).
    fn login(session: CK_SESSION_HANDLE, user_type: CK_USER_TYPE, pin: &[u8], username: Option<&[u8]>) -> Result<()>;
    /// `C_Logout`.
    fn logout(session: CK_SESSION_HANDLE) -> Result<()>;
    /// `C_SessionCancel`.
    fn session_cancel(session: CK_SESSION_HANDLE, flags: CK_FLAGS) -> Result<()> {
        Err(NOT_SUPPORTED)
    }

    // ---- objects --------------------------------------------------------

    /// `C_CreateObject`.
    fn create_object(session: CK_SESSION_HANDLE, template: &[Attribute]) -> Result<CK_OBJECT_HANDLE> {
        Err(NOT_SUPPORTED)
    }
    /// `C_CopyObject`.
    fn copy_object(
        session: CK_SESSION_HANDLE,
        object: CK_OBJECT_HANDLE,
        template: &[Attribute],
    ) -> Result<CK_OBJECT_HANDLE> {
        Err(NOT_SUPPORTED)
    }
    /// `C_DestroyObject`.
    fn destroy_object(session: CK_SESSION_HANDLE, object: CK_OBJECT_HANDLE) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_GetObjectSize`.
    fn object_size(session: CK_SESSION_HANDLE, object: CK_OBJECT_HANDLE) -> Result<CK_ULONG> {
        Err(NOT_SUPPORTED)
    }
    /// `C_GetAttributeValue`: one answer per requested type, in order. The
    /// boundary writes values and lengths and picks the return value
    /// (`CKR_ATTRIBUTE_SENSITIVE`, `CKR_ATTRIBUTE_TYPE_INVALID`,
    /// `CKR_BUFFER_TOO_SMALL`) as the standard prescribes.
    fn attribute_values(
        session: CK_SESSION_HANDLE,
        object: CK_OBJECT_HANDLE,
        types: &[AttributeType],
    ) -> Result<Vec<AttributeValue>>;
    /// `C_SetAttributeValue`.
    fn set_attribute_values(
        session: CK_SESSION_HANDLE,
        object: CK_OBJECT_HANDLE,
        template: &[Attribute],
    ) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_FindObjectsInit`.
    fn find_objects_init(session: CK_SESSION_HANDLE, template: &[Attribute]) -> Result<()>;
    /// `C_FindObjects`: at most `max` handles.
    fn find_objects(session: CK_SESSION_HANDLE, max: usize) -> Result<Vec<CK_OBJECT_HANDLE>>;
    /// `C_FindObjectsFinal`.
    fn find_objects_final(session: CK_SESSION_HANDLE) -> Result<()>;

    // ---- encryption -----------------------------------------------------

    /// `C_EncryptInit`.
    fn encrypt_init(session: CK_SESSION_HANDLE, mechanism: &Mechanism, key: CK_OBJECT_HANDLE) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_Encrypt`.
    fn encrypt(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }
    /// `C_EncryptUpdate`.
    fn encrypt_update(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }
    /// `C_EncryptFinal`.
    fn encrypt_final(session: CK_SESSION_HANDLE, out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }

    // ---- decryption -----------------------------------------------------

    /// `C_DecryptInit`.
    fn decrypt_init(session: CK_SESSION_HANDLE, mechanism: &Mechanism, key: CK_OBJECT_HANDLE) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_Decrypt`.
    fn decrypt(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }
    /// `C_DecryptUpdate`.
    fn decrypt_update(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }
    /// `C_DecryptFinal`.
    fn decrypt_final(session: CK_SESSION_HANDLE, out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }

    // ---- digests --------------------------------------------------------

    /// `C_DigestInit`.
    fn digest_init(session: CK_SESSION_HANDLE, mechanism: &Mechanism) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_Digest`.
    fn digest(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }
    /// `C_DigestUpdate`.
    fn digest_update(session: CK_SESSION_HANDLE, data: &[u8]) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_DigestKey`.
    fn digest_key(session: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_DigestFinal`.
    fn digest_final(session: CK_SESSION_HANDLE, out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }

    // ---- signatures and MACs --------------------------------------------

    /// `C_SignInit`.
    fn sign_init(session: CK_SESSION_HANDLE, mechanism: &Mechanism, key: CK_OBJECT_HANDLE) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_Sign`.
    fn sign(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }
    /// `C_SignUpdate`.
    fn sign_update(session: CK_SESSION_HANDLE, data: &[u8]) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_SignFinal`.
    fn sign_final(session: CK_SESSION_HANDLE, out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }
    /// `C_SignRecoverInit`.
    fn sign_recover_init(session: CK_SESSION_HANDLE, mechanism: &Mechanism, key: CK_OBJECT_HANDLE) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_SignRecover`.
    fn sign_recover(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }
    /// `C_VerifyInit`.
    fn verify_init(session: CK_SESSION_HANDLE, mechanism: &Mechanism, key: CK_OBJECT_HANDLE) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_Verify`.
    fn verify(session: CK_SESSION_HANDLE, data: &[u8], signature: &[u8]) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_VerifyUpdate`.
    fn verify_update(session: CK_SESSION_HANDLE, data: &[u8]) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_VerifyFinal`.
    fn verify_final(session: CK_SESSION_HANDLE, signature: &[u8]) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_VerifyRecoverInit`.
    fn verify_recover_init(session: CK_SESSION_HANDLE, mechanism: &Mechanism, key: CK_OBJECT_HANDLE) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_VerifyRecover`.
    fn verify_recover(session: CK_SESSION_HANDLE, signature: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }

    // ---- dual-function --------------------------------------------------

    /// `C_DigestEncryptUpdate`.
    fn digest_encrypt_update(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }
    /// `C_DecryptDigestUpdate`.
    fn decrypt_digest_update(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }
    /// `C_SignEncryptUpdate`.
    fn sign_encrypt_update(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }
    /// `C_DecryptVerifyUpdate`.
    fn decrypt_verify_update(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }

    // ---- keys -----------------------------------------------------------

    /// `C_GenerateKey`.
    fn generate_key(
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        template: &[Attribute],
    ) -> Result<CK_OBJECT_HANDLE> {
        Err(NOT_SUPPORTED)
    }
    /// `C_GenerateKeyPair`: returns (public, private).
    fn generate_key_pair(
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        public_template: &[Attribute],
        private_template: &[Attribute],
    ) -> Result<(CK_OBJECT_HANDLE, CK_OBJECT_HANDLE)> {
        Err(NOT_SUPPORTED)
    }
    /// `C_WrapKey`.
    fn wrap_key(
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        wrapping_key: CK_OBJECT_HANDLE,
        key: CK_OBJECT_HANDLE,
        out: &mut OutBuf<'_>,
    ) -> Result<Delivery> {
        Err(NOT_SUPPORTED)
    }
    /// `C_UnwrapKey`.
    fn unwrap_key(
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        unwrapping_key: CK_OBJECT_HANDLE,
        wrapped: &[u8],
        template: &[Attribute],
    ) -> Result<CK_OBJECT_HANDLE> {
        Err(NOT_SUPPORTED)
    }
    /// `C_DeriveKey`.
    fn derive_key(
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        base_key: CK_OBJECT_HANDLE,
        template: &[Attribute],
    ) -> Result<CK_OBJECT_HANDLE> {
        Err(NOT_SUPPORTED)
    }

    // ---- random ---------------------------------------------------------

    /// `C_SeedRandom`.
    fn seed_random(session: CK_SESSION_HANDLE, seed: &[u8]) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
    /// `C_GenerateRandom`: fill `out` completely.
    fn generate_random(session: CK_SESSION_HANDLE, out: &mut [u8]) -> Result<()> {
        Err(NOT_SUPPORTED)
    }
}
