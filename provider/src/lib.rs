//! libp11kms.so: the PKCS#11 module of p11kms.
//!
//! It implements the safe [`p11kms_ffi::Backend`] trait by talking to the
//! daemon `p11kmsd` over its data socket; the `ffi` crate turns that into
//! the exported C function tables. Everything here is blocking and
//! thread-safe with OS locks only: the module lives inside other people's
//! processes, so it starts no threads and no async runtime.
//!
//! Map of the crate:
//!
//! * [`state`]: initialized or not, for which process (fork detection);
//! * [`config`]: where the daemon's socket is;
//! * [`client`]: connections, framing, the pool, daemon restarts;
//! * [`module`]: one initialized copy; [`calls`] implements the PKCS#11
//!   functions on it;
//! * [`sessions`], [`objects`], [`slots`], [`find`], [`operations`],
//!   [`digest`]: the local tables and state machines, free of I/O;
//! * [`params`], [`key_fit`]: the mechanism parameter and key checks of
//!   `…Init`;
//! * [`error`]: the error type and its single mapping to `CK_RV`.
//!
//! Round trips are the expensive part (see the design notes): `…Init`
//! calls, find paging, cached attributes, digests and all argument checks
//! are answered locally; each cryptographic operation costs one round trip.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod calls;
pub mod chaining;
pub mod client;
pub mod config;
pub mod digest;
pub mod error;
pub mod find;
pub mod key_fit;
pub mod module;
pub mod objects;
pub mod operations;
pub mod params;
pub mod sessions;
pub mod slots;
pub mod state;

#[cfg(test)]
mod testutil;

use std::sync::{Mutex, MutexGuard, PoisonError};

use p11kms_ffi::limits::MAX_DATA_LEN;
use p11kms_ffi::sys::{CK_FLAGS, CK_MECHANISM_TYPE, CK_OBJECT_HANDLE, CK_SESSION_HANDLE, CK_SLOT_ID, CK_USER_TYPE};
use p11kms_ffi::{Backend, Delivery, Info, InitArgs, Operation, OutBuf, Result, SessionInfo, SlotInfo, TokenInfo};
use p11kms_proto::pkcs11::{Attribute, AttributeType, AttributeValue, Mechanism, MechanismInfo};

use crate::calls::Part;
use crate::operations::OpKind;
use crate::state::with;

/// Locks a mutex, recovering from poisoning: a panic in another thread was
/// already reported by the boundary's guard, and refusing every later call
/// would turn one failed call into a dead module.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The p11kms PKCS#11 implementation.
#[derive(Debug)]
pub struct P11Kms;

p11kms_ffi::export_pkcs11!(P11Kms);

impl Backend for P11Kms {
    fn is_initialized() -> bool {
        state::is_initialized()
    }

    fn max_input_len(operation: Operation) -> usize {
        state::module().map_or(MAX_DATA_LEN, |m| m.max_input_len(operation))
    }

    fn end_operation(session: CK_SESSION_HANDLE, operation: Operation) {
        if let Ok(m) = state::module() {
            m.end_operation(session, operation);
        }
    }

    fn initialize(args: InitArgs) -> Result<()> {
        state::initialize(args)
    }

    fn finalize() -> Result<()> {
        state::finalize()
    }

    fn info() -> Result<Info> {
        state::module()?;
        Ok(Info {
            manufacturer: slots::MANUFACTURER.into(),
            description: "p11kms PKCS#11 module".into(),
            library_version: slots::module_version(),
        })
    }

    fn slot_list(token_present: bool) -> Result<Vec<CK_SLOT_ID>> {
        with(|m| m.slot_list(token_present))
    }

    fn slot_info(slot: CK_SLOT_ID) -> Result<SlotInfo> {
        with(|m| m.slot_info(slot))
    }

    fn token_info(slot: CK_SLOT_ID) -> Result<TokenInfo> {
        with(|m| m.token_info(slot))
    }

    fn mechanism_list(slot: CK_SLOT_ID) -> Result<Vec<CK_MECHANISM_TYPE>> {
        with(|m| m.mechanism_list(slot))
    }

    fn mechanism_info(slot: CK_SLOT_ID, mechanism: CK_MECHANISM_TYPE) -> Result<MechanismInfo> {
        with(|m| m.mechanism_info(slot, mechanism))
    }

    fn set_pin(session: CK_SESSION_HANDLE, old_pin: &[u8], new_pin: &[u8]) -> Result<()> {
        with(|m| m.set_pin(session, old_pin, new_pin))
    }

    fn open_session(slot: CK_SLOT_ID, flags: CK_FLAGS) -> Result<CK_SESSION_HANDLE> {
        with(|m| m.open_session(slot, flags))
    }

    fn close_session(session: CK_SESSION_HANDLE) -> Result<()> {
        with(|m| m.close_session(session))
    }

    fn close_all_sessions(slot: CK_SLOT_ID) -> Result<()> {
        with(|m| m.close_all_sessions(slot))
    }

    fn session_info(session: CK_SESSION_HANDLE) -> Result<SessionInfo> {
        with(|m| m.session_info(session))
    }

    fn login(session: CK_SESSION_HANDLE, user_type: CK_USER_TYPE, pin: &[u8], username: Option<&[u8]>) -> Result<()> {
        with(|m| m.login(session, user_type, pin, username))
    }

    fn logout(session: CK_SESSION_HANDLE) -> Result<()> {
        with(|m| m.logout(session))
    }

    fn destroy_object(session: CK_SESSION_HANDLE, object: CK_OBJECT_HANDLE) -> Result<()> {
        with(|m| m.destroy_object(session, object))
    }

    fn create_object(session: CK_SESSION_HANDLE, template: &[Attribute]) -> Result<CK_OBJECT_HANDLE> {
        with(|m| m.create_object(session, template))
    }

    fn copy_object(
        session: CK_SESSION_HANDLE,
        object: CK_OBJECT_HANDLE,
        template: &[Attribute],
    ) -> Result<CK_OBJECT_HANDLE> {
        with(|m| m.copy_object(session, object, template))
    }

    fn set_attribute_values(
        session: CK_SESSION_HANDLE,
        object: CK_OBJECT_HANDLE,
        template: &[Attribute],
    ) -> Result<()> {
        with(|m| m.set_attribute_values(session, object, template))
    }

    fn object_size(session: CK_SESSION_HANDLE, object: CK_OBJECT_HANDLE) -> Result<p11kms_ffi::sys::CK_ULONG> {
        with(|m| m.object_size(session, object))
    }

    fn attribute_values(
        session: CK_SESSION_HANDLE,
        object: CK_OBJECT_HANDLE,
        types: &[AttributeType],
    ) -> Result<Vec<AttributeValue>> {
        with(|m| m.attribute_values(session, object, types))
    }

    fn find_objects_init(session: CK_SESSION_HANDLE, template: &[Attribute]) -> Result<()> {
        with(|m| m.find_objects_init(session, template))
    }

    fn find_objects(session: CK_SESSION_HANDLE, max: usize) -> Result<Vec<CK_OBJECT_HANDLE>> {
        with(|m| m.find_objects(session, max))
    }

    fn find_objects_final(session: CK_SESSION_HANDLE) -> Result<()> {
        with(|m| m.find_objects_final(session))
    }

    fn encrypt_init(session: CK_SESSION_HANDLE, mechanism: &Mechanism, key: CK_OBJECT_HANDLE) -> Result<()> {
        with(|m| m.crypto_init(session, OpKind::Encrypt, mechanism, key))
    }

    fn encrypt(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        with(|m| m.crypto_output(session, OpKind::Encrypt, Part::Single(data), out))
    }

    fn encrypt_update(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        with(|m| m.crypto_update_output(session, OpKind::Encrypt, data, out))
    }

    fn encrypt_final(session: CK_SESSION_HANDLE, out: &mut OutBuf<'_>) -> Result<Delivery> {
        with(|m| m.crypto_output(session, OpKind::Encrypt, Part::Final, out))
    }

    fn decrypt_init(session: CK_SESSION_HANDLE, mechanism: &Mechanism, key: CK_OBJECT_HANDLE) -> Result<()> {
        with(|m| m.crypto_init(session, OpKind::Decrypt, mechanism, key))
    }

    fn decrypt(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        with(|m| m.crypto_output(session, OpKind::Decrypt, Part::Single(data), out))
    }

    fn decrypt_update(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        with(|m| m.crypto_update_output(session, OpKind::Decrypt, data, out))
    }

    fn decrypt_final(session: CK_SESSION_HANDLE, out: &mut OutBuf<'_>) -> Result<Delivery> {
        with(|m| m.crypto_output(session, OpKind::Decrypt, Part::Final, out))
    }

    fn digest_init(session: CK_SESSION_HANDLE, mechanism: &Mechanism) -> Result<()> {
        with(|m| m.digest_init(session, mechanism))
    }

    fn digest(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        with(|m| m.digest(session, data, out))
    }

    fn digest_update(session: CK_SESSION_HANDLE, data: &[u8]) -> Result<()> {
        with(|m| m.digest_update(session, data))
    }

    fn digest_key(session: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE) -> Result<()> {
        with(|m| m.digest_key(session, key))
    }

    fn digest_final(session: CK_SESSION_HANDLE, out: &mut OutBuf<'_>) -> Result<Delivery> {
        with(|m| m.digest_final(session, out))
    }

    fn sign_init(session: CK_SESSION_HANDLE, mechanism: &Mechanism, key: CK_OBJECT_HANDLE) -> Result<()> {
        with(|m| m.crypto_init(session, OpKind::Sign, mechanism, key))
    }

    fn sign(session: CK_SESSION_HANDLE, data: &[u8], out: &mut OutBuf<'_>) -> Result<Delivery> {
        with(|m| m.crypto_output(session, OpKind::Sign, Part::Single(data), out))
    }

    fn sign_update(session: CK_SESSION_HANDLE, data: &[u8]) -> Result<()> {
        with(|m| m.crypto_update(session, OpKind::Sign, data))
    }

    fn sign_final(session: CK_SESSION_HANDLE, out: &mut OutBuf<'_>) -> Result<Delivery> {
        with(|m| m.crypto_output(session, OpKind::Sign, Part::Final, out))
    }

    fn verify_init(session: CK_SESSION_HANDLE, mechanism: &Mechanism, key: CK_OBJECT_HANDLE) -> Result<()> {
        with(|m| m.crypto_init(session, OpKind::Verify, mechanism, key))
    }

    fn verify(session: CK_SESSION_HANDLE, data: &[u8], signature: &[u8]) -> Result<()> {
        with(|m| m.verify_call(session, Part::Single(data), signature))
    }

    fn verify_update(session: CK_SESSION_HANDLE, data: &[u8]) -> Result<()> {
        with(|m| m.crypto_update(session, OpKind::Verify, data))
    }

    fn verify_final(session: CK_SESSION_HANDLE, signature: &[u8]) -> Result<()> {
        with(|m| m.verify_call(session, Part::Final, signature))
    }

    fn generate_key(
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        template: &[Attribute],
    ) -> Result<CK_OBJECT_HANDLE> {
        with(|m| m.generate_key(session, mechanism, template))
    }

    fn generate_key_pair(
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        public_template: &[Attribute],
        private_template: &[Attribute],
    ) -> Result<(CK_OBJECT_HANDLE, CK_OBJECT_HANDLE)> {
        with(|m| m.generate_key_pair(session, mechanism, public_template, private_template))
    }

    fn seed_random(session: CK_SESSION_HANDLE, _seed: &[u8]) -> Result<()> {
        with(|m| m.seed_random(session))
    }

    fn wrap_key(
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        wrapping_key: CK_OBJECT_HANDLE,
        key: CK_OBJECT_HANDLE,
        out: &mut OutBuf<'_>,
    ) -> Result<Delivery> {
        with(|m| m.wrap_key(session, mechanism, wrapping_key, key, out))
    }

    fn unwrap_key(
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        unwrapping_key: CK_OBJECT_HANDLE,
        wrapped: &[u8],
        template: &[Attribute],
    ) -> Result<CK_OBJECT_HANDLE> {
        with(|m| m.unwrap_key(session, mechanism, unwrapping_key, wrapped, template))
    }

    fn derive_key(
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        base_key: CK_OBJECT_HANDLE,
        template: &[Attribute],
    ) -> Result<CK_OBJECT_HANDLE> {
        with(|m| m.derive_key(session, mechanism, base_key, template))
    }

    fn generate_random(session: CK_SESSION_HANDLE, out: &mut [u8]) -> Result<()> {
        with(|m| m.generate_random(session, out))
    }
}
