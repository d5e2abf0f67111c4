//! Object handles and the attributes cached with them.
//!
//! Handles are this module's own small integers: never the daemon's
//! `ObjectId`s, never an HSM's handles. The same (slot, ObjectId) always
//! gets the same handle, so finding an object twice gives one handle, as
//! applications comparing handles expect. Handles are never reused within a
//! module copy; they survive a daemon restart because object ids are stable.
//!
//! With each object the module keeps what the daemon declared immutable
//! (`fixed` values, `sensitive` types), so most `C_GetAttributeValue` calls
//! and every `…Init` check are answered without a round trip.

use std::collections::HashMap;

use p11kms_ffi::sys::{
    CK_OBJECT_HANDLE, CKA_ALLOWED_MECHANISMS, CKA_CLASS, CKA_ID, CKA_PRIVATE, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY,
    CKO_SECRET_KEY, CKR_OBJECT_HANDLE_INVALID,
};
use p11kms_proto::pkcs11::{
    Attribute, AttributeType, AttributeValue, ObjectDescription, ObjectId, SlotId, find_attribute,
};

use crate::error::{Error, Result};

/// One object the application has a handle for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Its slot.
    pub slot: SlotId,
    /// The daemon's id for it.
    pub id: ObjectId,
    fixed: Vec<Attribute>,
    sensitive: Vec<AttributeType>,
}

impl Object {
    /// The cached answer for an attribute, when it needs no round trip.
    pub fn cached(&self, ty: AttributeType) -> Option<AttributeValue> {
        if let Some(attribute) = find_attribute(&self.fixed, ty) {
            return Some(AttributeValue::Value(attribute.value.clone()));
        }
        self.sensitive.contains(&ty).then_some(AttributeValue::Sensitive)
    }

    /// A cached boolean attribute (`CKA_SIGN`, `CKA_PRIVATE`, …), `None` when
    /// not cached.
    pub fn flag(&self, ty: AttributeType) -> Option<bool> {
        find_attribute(&self.fixed, ty).and_then(Attribute::as_bool)
    }

    /// A cached `CK_ULONG` attribute (`CKA_CLASS`, `CKA_KEY_TYPE`, …), `None`
    /// when not cached.
    pub fn cached_ulong(&self, ty: AttributeType) -> Option<u64> {
        find_attribute(&self.fixed, ty).and_then(Attribute::as_ulong)
    }

    /// False when the cached `CKA_ALLOWED_MECHANISMS` lists mechanisms and
    /// `mechanism` is not among them. Not cached, or empty: allowed here,
    /// and the daemon decides.
    pub fn allows_mechanism(&self, mechanism: u64) -> bool {
        p11kms_proto::pkcs11::mechanism_allowed(find_attribute(&self.fixed, CKA_ALLOWED_MECHANISMS), mechanism)
    }

    /// True when the object is known to be private (visible only after
    /// login).
    pub fn is_private(&self) -> bool {
        self.flag(CKA_PRIVATE) == Some(true)
    }

    /// False when the cached class says this is not a key.
    pub fn may_be_key(&self) -> bool {
        match find_attribute(&self.fixed, CKA_CLASS).and_then(Attribute::as_ulong) {
            Some(class) => matches!(class, CKO_SECRET_KEY | CKO_PUBLIC_KEY | CKO_PRIVATE_KEY),
            None => true,
        }
    }
}

/// All handles of one module copy.
#[derive(Debug)]
pub struct ObjectTable {
    objects: HashMap<CK_OBJECT_HANDLE, Object>,
    handles: HashMap<(SlotId, ObjectId), CK_OBJECT_HANDLE>,
    next: CK_OBJECT_HANDLE,
}

impl Default for ObjectTable {
    fn default() -> Self {
        Self { objects: HashMap::new(), handles: HashMap::new(), next: 1 }
    }
}

impl ObjectTable {
    /// The handle for an object the daemon described, allocating one the
    /// first time; the cached attributes are refreshed from `description`.
    pub fn register(&mut self, slot: SlotId, description: ObjectDescription) -> CK_OBJECT_HANDLE {
        let ObjectDescription { id, fixed, sensitive } = description;
        let object = Object { slot, id, fixed, sensitive };
        if let Some(&handle) = self.handles.get(&(slot, id)) {
            self.objects.insert(handle, object);
            return handle;
        }
        let handle = self.next;
        // Handles are never 0 (CK_INVALID_HANDLE) and never reused.
        self.next = self.next.wrapping_add(1).max(1);
        self.handles.insert((slot, id), handle);
        self.objects.insert(handle, object);
        handle
    }

    /// The object behind a handle, if it belongs to `slot`.
    pub fn get(&self, handle: CK_OBJECT_HANDLE, slot: SlotId) -> Result<&Object> {
        self.objects.get(&handle).filter(|object| object.slot == slot).ok_or(Error::rv(CKR_OBJECT_HANDLE_INVALID))
    }

    /// Stops answering `CKA_ID` from the cache for the key objects of
    /// `slot` that cached `id`: the objects of a key whose id changed
    /// (`C_SetAttributeValue` on one half of a pair). Their next read asks
    /// the daemon.
    pub fn forget_key_id(&mut self, slot: SlotId, id: &[u8]) {
        for object in self.objects.values_mut().filter(|o| o.slot == slot && o.may_be_key()) {
            object.fixed.retain(|a| !(a.ty == CKA_ID && a.value == id));
        }
    }

    /// Forgets a destroyed object.
    pub fn remove(&mut self, handle: CK_OBJECT_HANDLE) {
        if let Some(object) = self.objects.remove(&handle) {
            self.handles.remove(&(object.slot, object.id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p11kms_ffi::sys::{CKA_LABEL, CKA_SIGN, CKA_VALUE, CKO_DATA};

    fn description(id: ObjectId) -> ObjectDescription {
        ObjectDescription {
            id,
            fixed: vec![Attribute::ulong(CKA_CLASS, CKO_PRIVATE_KEY), Attribute::bool(CKA_SIGN, true)],
            sensitive: vec![CKA_VALUE],
        }
    }

    #[test]
    fn handles_are_small_nonzero_and_deduplicated() {
        let mut table = ObjectTable::default();
        let a = table.register(1, description(1000));
        let b = table.register(1, description(2000));
        assert_eq!((a, b), (1, 2));
        assert_eq!(table.register(1, description(1000)), a, "same object, same handle");
        let other_slot = table.register(2, description(1000));
        assert_ne!(other_slot, a, "the same id in another slot is another object");
    }

    #[test]
    fn handles_belong_to_their_slot() {
        let mut table = ObjectTable::default();
        let a = table.register(1, description(1000));
        assert_eq!(table.get(a, 1).map(|o| o.id).ok(), Some(1000));
        assert!(matches!(table.get(a, 2), Err(e) if e.ck_rv().0 == CKR_OBJECT_HANDLE_INVALID));
        assert!(table.get(99, 1).is_err());
        table.remove(a);
        assert!(table.get(a, 1).is_err());
        let again = table.register(1, description(1000));
        assert_ne!(again, a, "handles are not reused");
    }

    #[test]
    fn cached_answers() {
        let mut table = ObjectTable::default();
        let handle = table.register(1, description(1000));
        let object = table.get(handle, 1).expect("registered");
        assert_eq!(object.cached(CKA_SIGN), Some(AttributeValue::Value(vec![1])));
        assert_eq!(object.cached(CKA_VALUE), Some(AttributeValue::Sensitive));
        assert_eq!(object.cached(CKA_LABEL), None, "labels change: ask the daemon");
        assert_eq!(object.flag(CKA_SIGN), Some(true));
        assert!(object.may_be_key());
        assert!(!object.is_private());

        let data = table.register(
            1,
            ObjectDescription { id: 5, fixed: vec![Attribute::ulong(CKA_CLASS, CKO_DATA)], sensitive: vec![] },
        );
        assert!(!table.get(data, 1).expect("registered").may_be_key());
    }

    #[test]
    fn a_changed_key_id_is_forgotten_on_every_half() {
        let mut table = ObjectTable::default();
        let with_id = |id: ObjectId, class, cka_id: &[u8]| ObjectDescription {
            id,
            fixed: vec![Attribute::ulong(CKA_CLASS, class), Attribute::bytes(CKA_ID, cka_id.to_vec())],
            sensitive: vec![],
        };
        let private = table.register(1, with_id(1, CKO_PRIVATE_KEY, b"v1"));
        let public = table.register(1, with_id(2, CKO_PUBLIC_KEY, b"v1"));
        let other = table.register(1, with_id(3, CKO_PUBLIC_KEY, b"v2"));
        let data = table.register(1, with_id(4, CKO_DATA, b"v1"));
        let elsewhere = table.register(2, with_id(1, CKO_PRIVATE_KEY, b"v1"));
        table.forget_key_id(1, b"v1");
        let id = |handle, slot| table.get(handle, slot).expect("registered").cached(CKA_ID);
        assert_eq!((id(private, 1), id(public, 1)), (None, None), "both halves ask the daemon");
        assert_eq!(id(other, 1), Some(AttributeValue::Value(b"v2".to_vec())));
        assert_eq!(id(data, 1), Some(AttributeValue::Value(b"v1".to_vec())), "not a key");
        assert_eq!(id(elsewhere, 2), Some(AttributeValue::Value(b"v1".to_vec())), "another slot");
    }
}
