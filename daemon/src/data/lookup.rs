//! The key object an object id names, as a client may see it: objects of
//! an instance the client is not logged in to show only their public
//! keys, and a logged-in app sees only the keys its policy lets it use
//! ([`Access`]). Used by every request that names a key object.

use cryptoki_sys::*;

use p11kms_proto::data::ClientId;
use p11kms_proto::pkcs11::ObjectId;

use super::access::Access;
use super::error::{DataError, rv};
use super::objects::{ObjectView, parse_object_id};
use crate::kms::registry::Registry;
use crate::service::Service;
use crate::store::InstanceRecord;

/// Runs `f` on an object the client may see in `slot`, with the client's
/// rights at this call (to check the action `f` is about).
pub fn with_object<T>(
    service: &Service,
    client: &ClientId,
    slot: u64,
    object: ObjectId,
    f: impl FnOnce(&InstanceRecord, ObjectView<'_>, &Access) -> Result<T, DataError>,
) -> Result<T, DataError> {
    let registry = service.kms.registry()?;
    let instance = super::slots::instance(&registry, slot)?;
    let view = resolve(&registry, instance, object).ok_or(rv(CKR_OBJECT_HANDLE_INVALID))?;
    let access = Access::of(&service.clients, &registry, client, slot);
    if !visible(&access, &view) {
        return Err(rv(CKR_OBJECT_HANDLE_INVALID));
    }
    f(instance, view, &access)
}

/// Whether the caller sees the object: public objects before the login,
/// after it the objects of keys its policy lets it use.
pub fn visible(access: &Access, view: &ObjectView<'_>) -> bool {
    (access.is_logged_in() || !view.is_private()) && access.sees_key(view.key)
}

fn resolve<'r>(registry: &'r Registry, instance: &InstanceRecord, object: ObjectId) -> Option<ObjectView<'r>> {
    let (seq, role) = parse_object_id(object)?;
    let (key, version) = registry.version_by_seq(seq)?;
    let roles_match = key.record.key_spec.is_symmetric() == (role == crate::hsm::ObjectRole::Secret);
    (key.record.instance == instance.name && roles_match).then_some(ObjectView { key, version, role })
}
