//! The data plane's side of objects applications create: `C_CreateObject`,
//! `C_CopyObject`, `C_SetAttributeValue`, and the created objects' part of
//! finds, attribute reads, `C_GetObjectSize` and `C_DestroyObject`.
//!
//! Token objects are stored (and journaled) for the instance; session
//! objects are kept for the client. Creating a token object or any private
//! object needs the app's login; public session objects do not, as
//! PKCS#11 has it. The template rules are in [`super::created`].

use cryptoki_sys::*;

use p11kms_proto::data::{ClientId, DataReply};
use p11kms_proto::pkcs11::{Attribute, AttributeType, ObjectDescription, ObjectId};

use super::clients::Held;
use super::created::{CreatedId, CreatedObject, parse_created_id, token_object_id};
use super::error::{DataError, rv};
use crate::service::Service;
use crate::store::{InstanceRecord, ObjectRecord};

/// Refuses a token object that would take an instance over its budget
/// (`objects.token_objects_per_instance`, `objects.token_bytes_per_instance`);
/// `replacing` is the size of the object it replaces, if any.
fn check_token_budget(
    service: &Service,
    registry: &crate::kms::registry::Registry,
    instance: &str,
    object: &CreatedObject,
    replacing: Option<usize>,
) -> Result<(), DataError> {
    let limits = &service.config.objects;
    let held: Vec<usize> =
        registry.objects_of(instance).map(|r| CreatedObject::from_stored(r.attributes.clone()).size()).collect();
    if replacing.is_none() && held.len() >= limits.token_objects_per_instance {
        return Err(rv(CKR_DEVICE_MEMORY));
    }
    let bytes = held.iter().sum::<usize>() - replacing.unwrap_or(0) + object.size();
    if bytes > limits.token_bytes_per_instance {
        tracing::warn!(
            instance,
            bytes,
            limit = limits.token_bytes_per_instance,
            "token object refused: the instance's budget is full"
        );
        return Err(rv(CKR_DEVICE_MEMORY));
    }
    Ok(())
}

/// A created object found for a request, with where it lives.
struct Found {
    id: ObjectId,
    held: Held,
    record: Option<ObjectRecord>,
}

/// True when `object` names a created object rather than a key's.
pub fn is_created(object: ObjectId) -> bool {
    parse_created_id(object).is_some()
}

fn instance_of(service: &Service, slot: u64) -> Result<InstanceRecord, DataError> {
    let registry = service.kms.registry()?;
    super::slots::instance(&registry, slot).cloned()
}

/// The created object `id` as the client may see it in `slot`.
fn lookup(service: &Service, client: &ClientId, slot: u64, id: ObjectId) -> Result<Found, DataError> {
    let instance = instance_of(service, slot)?;
    let found = match parse_created_id(id).ok_or(rv(CKR_OBJECT_HANDLE_INVALID))? {
        CreatedId::Token(object_no) => {
            let registry = service.kms.registry()?;
            let record = registry.object(object_no).filter(|r| r.instance == instance.name).cloned();
            let record = record.ok_or(rv(CKR_OBJECT_HANDLE_INVALID))?;
            let held = Held::Object(CreatedObject::from_stored(record.attributes.clone()));
            Found { id, held, record: Some(record) }
        }
        CreatedId::Session(_) => {
            let session = service.clients.object(client, id).filter(|o| o.slot == slot);
            let session = session.ok_or(rv(CKR_OBJECT_HANDLE_INVALID))?;
            Found { id, held: session.held, record: None }
        }
    };
    if found.held.is_private() && !service.clients.is_logged_in(client, slot) {
        return Err(rv(CKR_OBJECT_HANDLE_INVALID));
    }
    Ok(found)
}

/// The created object or session key `id`, as the client may see it.
pub fn held(service: &Service, client: &ClientId, slot: u64, id: ObjectId) -> Result<Held, DataError> {
    lookup(service, client, slot, id).map(|found| found.held)
}

/// A created object to copy or change. A key object or a secret the client
/// can see is `CKR_ACTION_PROHIBITED`: neither is copyable nor modifiable.
fn lookup_changeable(service: &Service, client: &ClientId, slot: u64, object: ObjectId) -> Result<Found, DataError> {
    if super::secret_objects::is_secret(object) {
        return Err(super::secret_objects::refusal(service, client, slot, object));
    }
    if !is_created(object) {
        super::lookup::with_object(service, client, slot, object, |_, _, _| Ok(()))?;
        return Err(rv(CKR_ACTION_PROHIBITED));
    }
    lookup(service, client, slot, object)
}

/// Keeps a new object where its `CKA_TOKEN` says; returns its description.
fn keep(
    service: &Service,
    client: &ClientId,
    slot: u64,
    mut object: CreatedObject,
) -> Result<ObjectDescription, DataError> {
    let app = service.clients.app(client, slot);
    if (object.is_token() || object.is_private()) && app.is_none() {
        return Err(rv(CKR_USER_NOT_LOGGED_IN));
    }
    if !object.is_token() {
        let id = service.clients.add_object(client, slot, object.clone())?;
        object.set_unique_id(id);
        return Ok(object.description(id));
    }
    let instance = instance_of(service, slot)?;
    let mut registry = service.kms.registry_mut()?;
    check_token_budget(service, &registry, &instance.name, &object, None)?;
    let now = service.kms.clock.now();
    let record = ObjectRecord {
        object_no: 0,
        instance: instance.name.clone(),
        class: object.class(),
        attributes: object.attributes().to_vec(),
        creator: format!("app:{}", app.unwrap_or_default()),
        created_at: now,
    };
    // The unique id is the object id, known once the store numbered it.
    let stored = service
        .kms
        .store
        .write(now, |tx| {
            tx.insert_object(&record, |object_no| {
                object.set_unique_id(token_object_id(object_no));
                object.attributes().to_vec()
            })
        })
        .map_err(crate::kms::KmsError::from)?;
    let object_no = stored.object_no;
    registry.put_object(stored);
    tracing::info!(instance = instance.name, object = object_no, class = object.class(), "object created");
    Ok(object.description(token_object_id(object_no)))
}

/// `CreateObject`. Secret and private keys become session keys
/// ([`super::session_keys::import`]).
pub fn create(service: &Service, client: &ClientId, slot: u64, template: &[Attribute]) -> Result<DataReply, DataError> {
    let class = template.iter().find(|a| a.ty == CKA_CLASS).and_then(Attribute::as_ulong);
    if matches!(class, Some(CKO_SECRET_KEY | CKO_PRIVATE_KEY)) {
        return super::session_keys::import(service, client, slot, template);
    }
    let object = CreatedObject::create(template)?;
    Ok(DataReply::Objects(vec![keep(service, client, slot, object)?]))
}

/// `CopyObject` of a created object or a session key
/// ([`super::session_copy`]); KMS keys' objects are not copyable
/// (`CKA_COPYABLE` false).
pub fn copy(
    service: &Service,
    client: &ClientId,
    slot: u64,
    object: ObjectId,
    template: &[Attribute],
) -> Result<DataReply, DataError> {
    let found = lookup_changeable(service, client, slot, object)?;
    let source = match found.held {
        Held::Object(source) => source,
        Held::Key(key) if key.class() == CKO_PUBLIC_KEY => {
            return create(service, client, slot, &super::session_copy::public_key_template(&key, template));
        }
        Held::Key(key) => return super::session_copy::copy(service, client, slot, &key, template),
    };
    let copy = source.copied(template)?;
    Ok(DataReply::Objects(vec![keep(service, client, slot, copy)?]))
}

/// `SetAttributes`: of a KMS key's object, only its names
/// ([`super::key_names`]).
pub fn set_attributes(
    service: &Service,
    client: &ClientId,
    slot: u64,
    object: ObjectId,
    template: &[Attribute],
) -> Result<DataReply, DataError> {
    if !is_created(object) && !super::secret_objects::is_secret(object) {
        // A KMS key's names (CKA_ID, CKA_LABEL) may change.
        return super::key_names::set_attributes(service, client, slot, object, template);
    }
    let found = lookup_changeable(service, client, slot, object)?;
    let changed = found.held.modified(template)?;
    match (found.record, &changed) {
        (None, _) => service.clients.replace(client, found.id, changed.clone())?,
        (Some(record), Held::Object(changed)) => {
            if service.clients.app(client, slot).is_none() {
                return Err(rv(CKR_USER_NOT_LOGGED_IN));
            }
            let old = CreatedObject::from_stored(record.attributes.clone()).size();
            let record = ObjectRecord { attributes: changed.attributes().to_vec(), ..record };
            let mut registry = service.kms.registry_mut()?;
            check_token_budget(service, &registry, &record.instance, changed, Some(old))?;
            service
                .kms
                .store
                .write(service.kms.clock.now(), |tx| tx.update_object(&record))
                .map_err(crate::kms::KmsError::from)?;
            registry.put_object(record);
        }
        (Some(_), Held::Key(_)) => return Err(rv(CKR_GENERAL_ERROR)),
    }
    Ok(DataReply::Objects(vec![changed.description(found.id)]))
}

/// The created objects of `slot` the client sees that match `template`.
pub fn find(
    service: &Service,
    client: &ClientId,
    slot: u64,
    instance: &InstanceRecord,
    template: &[Attribute],
) -> Result<Vec<ObjectDescription>, DataError> {
    let logged_in = service.clients.is_logged_in(client, slot);
    let registry = service.kms.registry()?;
    let stored = registry
        .objects_of(&instance.name)
        .map(|r| (token_object_id(r.object_no), Held::Object(CreatedObject::from_stored(r.attributes.clone()))))
        .collect::<Vec<_>>();
    drop(registry);
    let session = service.clients.objects_in(client, slot);
    Ok(stored
        .into_iter()
        .chain(session)
        .filter(|(_, o)| (logged_in || !o.is_private()) && o.matches(template))
        .map(|(id, o)| o.description(id))
        .collect())
}

/// `GetAttributes` of a created object.
pub fn attributes(
    service: &Service,
    client: &ClientId,
    slot: u64,
    object: ObjectId,
    types: &[AttributeType],
) -> Result<DataReply, DataError> {
    let found = lookup(service, client, slot, object)?;
    Ok(DataReply::Attributes(types.iter().map(|ty| found.held.attribute(*ty)).collect()))
}

/// `GetObjectSize` of a created object: the bytes its attributes take;
/// `CK_UNAVAILABLE_INFORMATION` for a session key, whose size is the HSM's.
pub fn size(service: &Service, client: &ClientId, slot: u64, object: ObjectId) -> Result<u64, DataError> {
    Ok(match lookup(service, client, slot, object)?.held {
        Held::Object(o) => o.size() as u64,
        Held::Key(_) => CK_UNAVAILABLE_INFORMATION,
    })
}

/// `DestroyObject` of a created object: gone at once.
pub fn destroy(service: &Service, client: &ClientId, slot: u64, object: ObjectId) -> Result<DataReply, DataError> {
    let found = lookup(service, client, slot, object)?;
    if matches!(&found.held, Held::Object(o) if !o.is_destroyable()) {
        return Err(rv(CKR_ACTION_PROHIBITED));
    }
    match found.record {
        None => service.clients.remove_object(client, found.id)?,
        Some(record) => {
            if service.clients.app(client, slot).is_none() {
                return Err(rv(CKR_USER_NOT_LOGGED_IN));
            }
            let mut registry = service.kms.registry_mut()?;
            service
                .kms
                .store
                .write(service.kms.clock.now(), |tx| tx.delete_object(record.object_no))
                .map_err(crate::kms::KmsError::from)?;
            registry.remove_object(record.object_no);
            tracing::info!(instance = record.instance, object = record.object_no, "object destroyed");
        }
    }
    Ok(DataReply::Done)
}

/// `DestroySessionObjects`: a session closed in the module; its session
/// objects go. Ids that are gone already are skipped.
pub fn destroy_session_objects(service: &Service, client: &ClientId, slot: u64, objects: &[ObjectId]) -> DataReply {
    for object in objects {
        if matches!(parse_created_id(*object), Some(CreatedId::Session(_)))
            && service.clients.object(client, *object).is_some_and(|o| o.slot == slot)
        {
            let _ = service.clients.remove_object(client, *object);
        }
    }
    DataReply::Done
}
