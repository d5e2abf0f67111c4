//! `C_WrapKey`, `C_UnwrapKey`, `C_DeriveKey`: each one round trip. The
//! daemon decides what may be wrapped (session keys only: KMS keys never
//! leave their HSMs) and makes unwrapped and derived keys session keys of
//! the calling session.
//!
//! A `C_WrapKey` length query makes the round trip and answers the length;
//! the call with the buffer makes it again (wrapping is cheap, and keeping
//! wrapped key material in the module between calls is not).

use p11kms_ffi::sys::{
    CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CKF_DERIVE, CKF_UNWRAP, CKF_WRAP, CKR_KEY_HANDLE_INVALID,
    CKR_UNWRAPPING_KEY_HANDLE_INVALID, CKR_USER_NOT_LOGGED_IN, CKR_WRAPPING_KEY_HANDLE_INVALID,
};
use p11kms_ffi::{Delivery, OutBuf};
use p11kms_proto::data::{DataReply, DataRequest};
use p11kms_proto::pkcs11::{Attribute, Mechanism, SlotId};

use crate::client::Stamp;
use crate::error::{Error, Result};
use crate::module::Module;

impl Module {
    /// The slot of a logged-in session, after checking the mechanism may
    /// be used for `function` there.
    fn key_management_slot(
        &self,
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        function: p11kms_ffi::sys::CK_FLAGS,
    ) -> Result<(SlotId, Stamp)> {
        let now = self.stamp();
        let slot = {
            let mut tables = self.tables();
            let slot = tables.sessions.get(session, now)?.slot;
            if !tables.sessions.is_logged_in(slot, now) {
                return Err(Error::rv(CKR_USER_NOT_LOGGED_IN));
            }
            slot
        };
        self.fresh_slots()?.check_mechanism(slot, mechanism.ty, function)?;
        Ok((slot, now))
    }

    /// The daemon's id of a visible key to be wrapped; a handle that names
    /// none is `CKR_KEY_HANDLE_INVALID`, the code for a key argument.
    fn wrapped_key_id(&self, session: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE, now: Stamp) -> Result<u64> {
        let mut tables = self.tables();
        let (target, _) = tables.visible_object(session, key, now).map_err(|e| e.for_handle(CKR_KEY_HANDLE_INVALID))?;
        Ok(target.id)
    }

    /// The daemon's id of a visible key that `mechanism` may be used with
    /// (its cached `CKA_ALLOWED_MECHANISMS`: [`crate::key_fit::allowed`]);
    /// a handle that names none is `invalid`, PKCS#11's code for the
    /// argument (`CKR_WRAPPING_KEY_HANDLE_INVALID`, …).
    fn key_id(
        &self,
        session: CK_SESSION_HANDLE,
        key: CK_OBJECT_HANDLE,
        mechanism: &Mechanism,
        now: Stamp,
        invalid: CK_RV,
    ) -> Result<u64> {
        let mut tables = self.tables();
        let (_, object) = tables.visible_object(session, key, now).map_err(|e| e.for_handle(invalid))?;
        crate::key_fit::allowed(object, mechanism.ty)?;
        Ok(object.id)
    }

    /// `C_WrapKey`.
    pub fn wrap_key(
        &self,
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        wrapping: CK_OBJECT_HANDLE,
        key: CK_OBJECT_HANDLE,
        out: &mut OutBuf<'_>,
    ) -> Result<Delivery> {
        let (slot, now) = self.key_management_slot(session, mechanism, CKF_WRAP)?;
        let wrapping = self.key_id(session, wrapping, mechanism, now, CKR_WRAPPING_KEY_HANDLE_INVALID)?;
        let key = self.wrapped_key_id(session, key, now)?;
        let request = DataRequest::WrapKey { slot, mechanism: mechanism.clone(), wrapping, key };
        match self.pool.call(&request, Some(now.boot))? {
            DataReply::Bytes(wrapped) => Ok(out.deliver(&wrapped)),
            _ => Err(Error::UnexpectedReply("WrapKey")),
        }
    }

    /// `C_UnwrapKey`.
    pub fn unwrap_key(
        &self,
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        unwrapping: CK_OBJECT_HANDLE,
        wrapped: &[u8],
        template: &[Attribute],
    ) -> Result<CK_OBJECT_HANDLE> {
        let (slot, now) = self.key_management_slot(session, mechanism, CKF_UNWRAP)?;
        let unwrapping = self.key_id(session, unwrapping, mechanism, now, CKR_UNWRAPPING_KEY_HANDLE_INVALID)?;
        let request = DataRequest::UnwrapKey {
            slot,
            mechanism: mechanism.clone(),
            unwrapping,
            wrapped: wrapped.to_vec(),
            template: template.to_vec(),
        };
        self.one_new_key(session, slot, self.pool.call(&request, Some(now.boot))?, "UnwrapKey")
    }

    /// `C_DeriveKey`.
    pub fn derive_key(
        &self,
        session: CK_SESSION_HANDLE,
        mechanism: &Mechanism,
        base: CK_OBJECT_HANDLE,
        template: &[Attribute],
    ) -> Result<CK_OBJECT_HANDLE> {
        let (slot, now) = self.key_management_slot(session, mechanism, CKF_DERIVE)?;
        let base = self.key_id(session, base, mechanism, now, CKR_KEY_HANDLE_INVALID)?;
        let request = DataRequest::DeriveKey { slot, mechanism: mechanism.clone(), base, template: template.to_vec() };
        self.one_new_key(session, slot, self.pool.call(&request, Some(now.boot))?, "DeriveKey")
    }

    fn one_new_key(
        &self,
        session: CK_SESSION_HANDLE,
        slot: SlotId,
        reply: DataReply,
        what: &'static str,
    ) -> Result<CK_OBJECT_HANDLE> {
        let DataReply::Objects(objects) = reply else {
            return Err(Error::UnexpectedReply(what));
        };
        match self.register_created(session, slot, objects)?[..] {
            [key] => Ok(key),
            _ => Err(Error::UnexpectedReply(what)),
        }
    }
}
