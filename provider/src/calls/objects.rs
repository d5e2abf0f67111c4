//! `C_FindObjectsInit`, `C_FindObjects`, `C_FindObjectsFinal`,
//! `C_GetAttributeValue`, `C_DestroyObject`.

use p11kms_ffi::sys::{
    CK_OBJECT_HANDLE, CK_SESSION_HANDLE, CKA_DESTROYABLE, CKA_TOKEN, CKR_ACTION_PROHIBITED, CKR_DEVICE_ERROR,
    CKR_OBJECT_HANDLE_INVALID, CKR_OPERATION_ACTIVE, CKR_OPERATION_NOT_INITIALIZED, CKR_SESSION_CLOSED,
    CKR_SESSION_READ_ONLY,
};
use p11kms_proto::data::{DataReply, DataRequest};
use p11kms_proto::pkcs11::{Attribute, AttributeType, AttributeValue, ObjectDescription, ObjectId, SlotId};

use crate::client::Stamp;
use crate::error::{Error, Result};
use crate::find::FindState;
use crate::module::{Module, Tables};

/// What a call needs to know about an object, copied out of the tables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ObjectRef {
    pub slot: SlotId,
    pub id: ObjectId,
    pub now: Stamp,
}

impl Tables {
    /// An object the session may see: same slot, and not private unless
    /// the slot is logged in (PKCS#11 hides private objects from public
    /// sessions, so their handles are invalid there).
    pub(crate) fn visible_object(
        &mut self,
        session: CK_SESSION_HANDLE,
        object: CK_OBJECT_HANDLE,
        now: Stamp,
    ) -> Result<(ObjectRef, &crate::objects::Object)> {
        let slot = self.sessions.get(session, now)?.slot;
        let logged_in = self.sessions.is_logged_in(slot, now);
        let found = self.objects.get(object, slot)?;
        if found.is_private() && !logged_in {
            return Err(Error::rv(CKR_OBJECT_HANDLE_INVALID));
        }
        Ok((ObjectRef { slot, id: found.id, now }, found))
    }
}

/// Most pages one find reads (a million objects at the smallest page).
const MAX_FIND_PAGES: usize = 1_000_000;

impl Module {
    /// `C_FindObjectsInit`: one round trip fetches every match.
    pub fn find_objects_init(&self, session: CK_SESSION_HANDLE, template: &[Attribute]) -> Result<()> {
        let now = self.stamp();
        let slot = {
            let mut tables = self.tables();
            let found = tables.sessions.get(session, now)?;
            if found.find.is_some() {
                return Err(Error::rv(CKR_OPERATION_ACTIVE));
            }
            found.slot
        };
        let descriptions = self.find_pages(slot, template, now.boot)?;
        let mut guard = self.tables();
        let tables = &mut *guard;
        let handles = descriptions.into_iter().map(|d| tables.objects.register(slot, d)).collect();
        let found = tables.sessions.get_open(session).ok_or(Error::rv(CKR_SESSION_CLOSED))?;
        if found.find.is_some() {
            // Another thread started a search on this session meanwhile.
            return Err(Error::rv(CKR_OPERATION_ACTIVE));
        }
        found.find = Some(FindState::new(handles));
        Ok(())
    }

    /// Every match of a find, page after page (the daemon ends a page well
    /// below the frame limit). A page that starts again from the first
    /// (the object it was to follow was destroyed meanwhile) brings objects
    /// already seen: they are kept once, so nothing is skipped or doubled.
    fn find_pages(&self, slot: SlotId, template: &[Attribute], boot: u64) -> Result<Vec<ObjectDescription>> {
        let mut found: Vec<ObjectDescription> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut after = None;
        for _ in 0..MAX_FIND_PAGES {
            let request = DataRequest::FindObjectsPage { slot, template: template.to_vec(), after };
            let DataReply::ObjectsPage { objects, more } = self.pool.call(&request, Some(boot))? else {
                return Err(Error::UnexpectedReply("FindObjectsPage"));
            };
            after = objects.last().map(|o| o.id).or(after);
            found.extend(objects.into_iter().filter(|o| seen.insert(o.id)));
            if !more {
                return Ok(found);
            }
        }
        // Only objects destroyed as fast as pages come could get here.
        Err(Error::rv(CKR_DEVICE_ERROR))
    }

    /// `C_FindObjects`: the next page, from memory.
    pub fn find_objects(&self, session: CK_SESSION_HANDLE, max: usize) -> Result<Vec<CK_OBJECT_HANDLE>> {
        let now = self.stamp();
        let mut tables = self.tables();
        let found = tables.sessions.get(session, now)?;
        let find = found.find.as_mut().ok_or(Error::rv(CKR_OPERATION_NOT_INITIALIZED))?;
        Ok(find.next(max))
    }

    /// `C_FindObjectsFinal`.
    pub fn find_objects_final(&self, session: CK_SESSION_HANDLE) -> Result<()> {
        let now = self.stamp();
        let mut tables = self.tables();
        let found = tables.sessions.get(session, now)?;
        found.find.take().map(drop).ok_or(Error::rv(CKR_OPERATION_NOT_INITIALIZED))
    }

    /// `C_GetAttributeValue`: cached values and sensitive types are
    /// answered here; the rest in one round trip.
    pub fn attribute_values(
        &self,
        session: CK_SESSION_HANDLE,
        object: CK_OBJECT_HANDLE,
        types: &[AttributeType],
    ) -> Result<Vec<AttributeValue>> {
        let now = self.stamp();
        let (target, mut answers) = {
            let mut tables = self.tables();
            let (target, found) = tables.visible_object(session, object, now)?;
            let answers: Vec<Option<AttributeValue>> = types.iter().map(|ty| found.cached(*ty)).collect();
            (target, answers)
        };
        let missing: Vec<AttributeType> =
            types.iter().zip(&answers).filter(|(_, answer)| answer.is_none()).map(|(ty, _)| *ty).collect();
        if !missing.is_empty() {
            let count = missing.len();
            let request = DataRequest::GetAttributes { slot: target.slot, object: target.id, types: missing };
            let values = match self.pool.call(&request, Some(target.now.boot))? {
                DataReply::Attributes(values) if values.len() == count => values,
                _ => return Err(Error::UnexpectedReply("GetAttributes")),
            };
            let mut values = values.into_iter();
            for answer in answers.iter_mut().filter(|answer| answer.is_none()) {
                *answer = values.next();
            }
        }
        Ok(answers.into_iter().map(|answer| answer.unwrap_or(AttributeValue::Invalid)).collect())
    }

    /// `C_DestroyObject`: the daemon schedules a KMS key's deletion, or
    /// removes a created object or session key; the handle is gone at once.
    /// An object whose cached `CKA_DESTROYABLE` is false (a secret) is
    /// refused here, as the daemon would.
    pub fn destroy_object(&self, session: CK_SESSION_HANDLE, object: CK_OBJECT_HANDLE) -> Result<()> {
        let now = self.stamp();
        let target = {
            let mut tables = self.tables();
            let rw = tables.sessions.get(session, now)?.rw;
            let (target, found) = tables.visible_object(session, object, now)?;
            // Session objects may go in a read-only session; token objects not.
            if !rw && found.cached(CKA_TOKEN) != Some(AttributeValue::Value(vec![0])) {
                return Err(Error::rv(CKR_SESSION_READ_ONLY));
            }
            if found.flag(CKA_DESTROYABLE) == Some(false) {
                return Err(Error::rv(CKR_ACTION_PROHIBITED));
            }
            target
        };
        match self.pool.call(&DataRequest::DestroyObject { slot: target.slot, object: target.id }, Some(now.boot))? {
            DataReply::Done => {
                self.tables().objects.remove(object);
                Ok(())
            }
            _ => Err(Error::UnexpectedReply("DestroyObject")),
        }
    }
}
