//! `C_CreateObject`, `C_CopyObject`, `C_SetAttributeValue`,
//! `C_GetObjectSize`: objects applications make (data objects,
//! certificates, public keys). The daemon checks templates and keeps the
//! objects; the module checks what it can locally (a read-only session
//! cannot make token objects), registers the new handle, and remembers
//! which session made each session object so that closing the session
//! destroys them. An object whose cached `CKA_COPYABLE` or
//! `CKA_MODIFIABLE` is false (keys, secrets) is refused here, as the
//! daemon would.

use p11kms_ffi::sys::{
    CK_OBJECT_HANDLE, CK_SESSION_HANDLE, CK_ULONG, CKA_COPYABLE, CKA_ID, CKA_MODIFIABLE, CKA_TOKEN,
    CKR_ACTION_PROHIBITED, CKR_SESSION_READ_ONLY, CKR_TEMPLATE_INCONSISTENT,
};
use p11kms_proto::data::{DataReply, DataRequest};
use p11kms_proto::pkcs11::{Attribute, AttributeValue, SlotId, find_attribute};

use crate::client::Stamp;
use crate::error::{Error, Result};
use crate::module::Module;

/// `CKA_TOKEN` as a template asks for it; `None` when it does not say.
fn wants_token(template: &[Attribute]) -> Result<Option<bool>> {
    match find_attribute(template, CKA_TOKEN) {
        None => Ok(None),
        Some(attribute) => attribute.as_bool().map(Some).ok_or(Error::rv(CKR_TEMPLATE_INCONSISTENT)),
    }
}

impl Module {
    /// The session's slot, after checking that it may write token objects
    /// when `token` asks for one.
    fn writable_slot(&self, session: CK_SESSION_HANDLE, token: bool, now: Stamp) -> Result<SlotId> {
        let mut tables = self.tables();
        let found = tables.sessions.get(session, now)?;
        if token && !found.rw {
            return Err(Error::rv(CKR_SESSION_READ_ONLY));
        }
        Ok(found.slot)
    }

    /// Registers the one object the daemon made for `session`.
    fn adopt(&self, session: CK_SESSION_HANDLE, slot: SlotId, reply: DataReply) -> Result<CK_OBJECT_HANDLE> {
        let DataReply::Objects(descriptions) = reply else {
            return Err(Error::UnexpectedReply("CreateObject"));
        };
        match self.register_created(session, slot, descriptions)?[..] {
            [handle] => Ok(handle),
            _ => Err(Error::UnexpectedReply("CreateObject")),
        }
    }

    /// `C_CreateObject`.
    pub fn create_object(&self, session: CK_SESSION_HANDLE, template: &[Attribute]) -> Result<CK_OBJECT_HANDLE> {
        let now = self.stamp();
        let slot = self.writable_slot(session, wants_token(template)? == Some(true), now)?;
        let request = DataRequest::CreateObject { slot, template: template.to_vec() };
        let reply = self.pool.call(&request, Some(now.boot))?;
        self.adopt(session, slot, reply)
    }

    /// `C_CopyObject`.
    pub fn copy_object(
        &self,
        session: CK_SESSION_HANDLE,
        object: CK_OBJECT_HANDLE,
        template: &[Attribute],
    ) -> Result<CK_OBJECT_HANDLE> {
        let now = self.stamp();
        let target = {
            let mut tables = self.tables();
            let (target, found) = tables.visible_object(session, object, now)?;
            let source_token = found.cached(CKA_TOKEN) == Some(AttributeValue::Value(vec![1]));
            let copyable = found.flag(CKA_COPYABLE) != Some(false);
            let token = wants_token(template)?.unwrap_or(source_token);
            if token && !tables.sessions.get(session, now)?.rw {
                return Err(Error::rv(CKR_SESSION_READ_ONLY));
            }
            if !copyable {
                return Err(Error::rv(CKR_ACTION_PROHIBITED));
            }
            target
        };
        let request = DataRequest::CopyObject { slot: target.slot, object: target.id, template: template.to_vec() };
        let reply = self.pool.call(&request, Some(now.boot))?;
        self.adopt(session, target.slot, reply)
    }

    /// `C_SetAttributeValue`; the daemon answers with the object's new
    /// description, which replaces the cached one.
    pub fn set_attribute_values(
        &self,
        session: CK_SESSION_HANDLE,
        object: CK_OBJECT_HANDLE,
        template: &[Attribute],
    ) -> Result<()> {
        let now = self.stamp();
        let target = {
            let mut tables = self.tables();
            let (target, found) = tables.visible_object(session, object, now)?;
            let token = found.cached(CKA_TOKEN) == Some(AttributeValue::Value(vec![1]));
            let modifiable = found.flag(CKA_MODIFIABLE) != Some(false);
            // A key's CKA_ID is cached on every object of its version (both
            // halves of a pair): a new one must be read again on all.
            let renamed = find_attribute(template, CKA_ID).is_some() && found.may_be_key();
            let cached_id = if renamed { found.cached(CKA_ID) } else { None };
            if token && !tables.sessions.get(session, now)?.rw {
                return Err(Error::rv(CKR_SESSION_READ_ONLY));
            }
            if !modifiable {
                return Err(Error::rv(CKR_ACTION_PROHIBITED));
            }
            (target, cached_id)
        };
        let (target, cached_id) = target;
        let request = DataRequest::SetAttributes { slot: target.slot, object: target.id, template: template.to_vec() };
        match self.pool.call(&request, Some(now.boot))? {
            DataReply::Objects(mut descriptions) if descriptions.len() == 1 => {
                let mut tables = self.tables();
                if let Some(AttributeValue::Value(old)) = cached_id {
                    tables.objects.forget_key_id(target.slot, &old);
                }
                if let Some(description) = descriptions.pop() {
                    tables.objects.register(target.slot, description);
                }
                Ok(())
            }
            _ => Err(Error::UnexpectedReply("SetAttributes")),
        }
    }

    /// `C_GetObjectSize`.
    pub fn object_size(&self, session: CK_SESSION_HANDLE, object: CK_OBJECT_HANDLE) -> Result<CK_ULONG> {
        let now = self.stamp();
        let target = self.tables().visible_object(session, object, now)?.0;
        match self.pool.call(&DataRequest::GetObjectSize { slot: target.slot, object: target.id }, Some(now.boot))? {
            DataReply::Size(size) => Ok(size),
            _ => Err(Error::UnexpectedReply("GetObjectSize")),
        }
    }

    /// Destroys the session objects a closing session made. The close
    /// already succeeded; a failure here leaves them to the daemon, which
    /// drops a client's session objects with its last connection.
    pub(crate) fn destroy_session_objects(&self, slot: SlotId, handles: Vec<CK_OBJECT_HANDLE>, now: Stamp) {
        if handles.is_empty() {
            return;
        }
        let objects = {
            let mut tables = self.tables();
            let ids = handles.iter().filter_map(|h| tables.objects.get(*h, slot).ok().map(|o| o.id)).collect();
            for handle in handles {
                tables.objects.remove(handle);
            }
            ids
        };
        let _ = self.pool.call(&DataRequest::DestroySessionObjects { slot, objects }, Some(now.boot));
    }
}
