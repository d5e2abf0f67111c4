//! The key object an object id names, as a client may see it: objects of
//! an instance the client is not logged in to show only their public
//! keys. Used by every request that names a key object.

use cryptoki_sys::*;

use p11kms_proto::data::ClientId;
use p11kms_proto::pkcs11::ObjectId;

use super::error::{DataError, rv};
use super::objects::{ObjectView, parse_object_id};
use crate::kms::registry::Registry;
use crate::service::Service;
use crate::store::InstanceRecord;

/// Runs `f` on an object the client may see in `slot`.
pub fn with_object<T>(
    service: &Service,
    client: &ClientId,
    slot: u64,
    object: ObjectId,
    f: impl FnOnce(&InstanceRecord, ObjectView<'_>) -> Result<T, DataError>,
) -> Result<T, DataError> {
    let registry = service.kms.registry()?;
    let instance = super::slots::instance(&registry, slot)?;
    let view = resolve(&registry, instance, object).ok_or(rv(CKR_OBJECT_HANDLE_INVALID))?;
    if view.is_private() && !service.clients.is_logged_in(client, slot) {
        return Err(rv(CKR_OBJECT_HANDLE_INVALID));
    }
    f(instance, view)
}

fn resolve<'r>(registry: &'r Registry, instance: &InstanceRecord, object: ObjectId) -> Option<ObjectView<'r>> {
    let (seq, role) = parse_object_id(object)?;
    let (key, version) = registry.version_by_seq(seq)?;
    let roles_match = key.record.key_spec.is_symmetric() == (role == crate::hsm::ObjectRole::Secret);
    (key.record.instance == instance.name && roles_match).then_some(ObjectView { key, version, role })
}
