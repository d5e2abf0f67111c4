//! Finding objects and reading their attributes. Objects of instances the
//! client is not logged in to show only their public keys. Key objects are
//! answered here; objects applications created (and session keys) by
//! [`super::app_objects`]; secrets by [`super::secret_objects`].

use cryptoki_sys::*;

use p11kms_proto::data::{ClientId, DataReply};
use p11kms_proto::pkcs11::{Attribute, ObjectId};

use super::access::Access;
use super::error::{DataError, rv};
use super::lookup::{visible, with_object};
use super::objects::ObjectView;
use super::{app_objects, secret_objects};
use crate::kms::policy::Action;
use crate::service::Service;

/// Most bytes of descriptions one page of a find carries: far below the
/// frame limit, so a page always fits whatever the objects are.
pub const PAGE_BYTES: usize = 1024 * 1024;

/// `FindObjects`: every visible object of the slot matching the template,
/// in one reply (modules of before paging; new ones ask for pages).
pub fn find(service: &Service, client: &ClientId, slot: u64, template: &[Attribute]) -> Result<DataReply, DataError> {
    matches(service, client, slot, template).map(DataReply::Objects)
}

/// `FindObjectsPage`: the matches after `after`, as many as fit
/// [`PAGE_BYTES`] (at least one). When `after` is no longer among the
/// matches (it was destroyed meanwhile) the page starts again from the
/// first: the module drops what it has already, so nothing is skipped.
pub fn find_page(
    service: &Service,
    client: &ClientId,
    slot: u64,
    template: &[Attribute],
    after: Option<ObjectId>,
) -> Result<DataReply, DataError> {
    let all = matches(service, client, slot, template)?;
    let start = after.and_then(|id| all.iter().position(|o| o.id == id)).map_or(0, |at| at + 1);
    let mut objects = Vec::new();
    let mut bytes = 0;
    for object in &all[start..] {
        let size = 16 + object.fixed.iter().map(|a| 16 + a.value.len()).sum::<usize>() + 8 * object.sensitive.len();
        if !objects.is_empty() && bytes + size > PAGE_BYTES {
            break;
        }
        bytes += size;
        objects.push(object.clone());
    }
    let more = start + objects.len() < all.len();
    Ok(DataReply::ObjectsPage { objects, more })
}

/// Every visible object of the slot matching the template, keys first (in
/// creation order), then created objects, then secrets (by name).
fn matches(
    service: &Service,
    client: &ClientId,
    slot: u64,
    template: &[Attribute],
) -> Result<Vec<p11kms_proto::pkcs11::ObjectDescription>, DataError> {
    let registry = service.kms.registry()?;
    let instance = super::slots::instance(&registry, slot)?;
    let access = Access::of(&service.clients, &registry, client, slot);
    let mut objects: Vec<_> = registry
        .keys()
        .filter(|key| key.record.instance == instance.name)
        .flat_map(ObjectView::all_of)
        // The template first: it is cheap and usually leaves one object,
        // where the policy's walk over its statements is not.
        .filter(|object| object.matches(template) && visible(&access, object))
        .map(|object| object.description())
        .collect();
    let instance = instance.clone();
    drop(registry);
    objects.extend(app_objects::find(service, client, slot, &instance, template)?);
    objects.extend(secret_objects::find(service, client, slot, &instance, template)?);
    Ok(objects)
}

/// `GetAttributes`: current values, one answer per type.
pub fn attributes(
    service: &Service,
    client: &ClientId,
    slot: u64,
    object: ObjectId,
    types: &[u64],
) -> Result<DataReply, DataError> {
    if app_objects::is_created(object) {
        return app_objects::attributes(service, client, slot, object, types);
    }
    if secret_objects::is_secret(object) {
        return secret_objects::attributes(service, client, slot, object, types);
    }
    with_object(service, client, slot, object, |_, view, _| {
        Ok(DataReply::Attributes(types.iter().map(|ty| view.attribute(*ty)).collect()))
    })
}

/// `GetObjectSize`: a created object's size; a key's is not available
/// (its material is the HSM's).
pub fn size(service: &Service, client: &ClientId, slot: u64, object: ObjectId) -> Result<DataReply, DataError> {
    if app_objects::is_created(object) {
        return app_objects::size(service, client, slot, object).map(DataReply::Size);
    }
    if secret_objects::is_secret(object) {
        return secret_objects::size(service, client, slot, object);
    }
    with_object(service, client, slot, object, |_, _, _| Ok(DataReply::Size(CK_UNAVAILABLE_INFORMATION)))
}

/// `DestroyObject`: destroying a KMS key schedules its deletion (with the
/// configured window); nothing is destroyed at once, and the operator can
/// cancel it. Destroying any object of a key schedules the whole key.
pub fn destroy(service: &Service, client: &ClientId, slot: u64, object: ObjectId) -> Result<DataReply, DataError> {
    if app_objects::is_created(object) {
        return app_objects::destroy(service, client, slot, object);
    }
    if secret_objects::is_secret(object) {
        return Err(secret_objects::refusal(service, client, slot, object));
    }
    let key_id = with_object(service, client, slot, object, |_, view, access| {
        if !access.is_logged_in() {
            return Err(rv(CKR_USER_NOT_LOGGED_IN));
        }
        access.check_key(Action::ScheduleKeyDeletion, view.key)?;
        Ok(view.key.record.key_id.clone())
    })?;
    let window = service.config.keys.pkcs11_deletion_window_days;
    crate::kms::keys::lifecycle::schedule_deletion(&service.kms, &key_id, window)?;
    tracing::info!(key = key_id, days = window, "key deletion scheduled through PKCS#11");
    Ok(DataReply::Done)
}
