//! Secrets as PKCS#11 objects: every secret of an instance that
//! `kms::secrets::read::visible` lists is one `CKO_DATA` token object of
//! the instance's slot, seen only by a session logged in there whose app's
//! policy allows reading it (`data::access`).
//!
//! Its label is the secret's name, its application [`APPLICATION`], and it
//! can be neither changed, copied nor destroyed through PKCS#11
//! (`CKR_ACTION_PROHIBITED`: secrets change on the admin side). Its
//! `CKA_VALUE` is the ACSCurrent value, decrypted for the one
//! `GetAttributes` that asks for it and never kept: it may change at any
//! moment, so it is never among the attributes the module caches.
//!
//! Object ids: `1 << 63 | number << 3`, where the number is the secret's
//! (`kms::secrets::entry::object_number`, from its name). Key objects and
//! created objects never have the top bit (`data::objects`,
//! `data::created`), so no id names two things.

use cryptoki_sys::*;

use p11kms_proto::data::{ClientId, DataReply};
use p11kms_proto::pkcs11::{Attribute, AttributeType, AttributeValue, ObjectDescription, ObjectId, find_attribute};

use super::access::Access;
use super::error::{DataError, rv};
use crate::kms::secrets::read::{self, VisibleSecret};
use crate::service::Service;
use crate::store::InstanceRecord;

/// `CKA_APPLICATION` of every secret's object: a find by it lists the
/// secrets.
pub const APPLICATION: &str = "p11kms secret";

pub use super::object_ids::SECRET_BIT;

/// The object id of the secret numbered `number`.
pub fn object_id(number: u64) -> ObjectId {
    SECRET_BIT | (number << 3)
}

/// The secret's number behind an object id, if the id names a secret.
pub fn parse_object_id(id: ObjectId) -> Option<u64> {
    (id & SECRET_BIT != 0 && id & 7 == 0).then_some((id & !SECRET_BIT) >> 3)
}

/// True when `id` names a secret rather than a key or a created object.
pub fn is_secret(id: ObjectId) -> bool {
    parse_object_id(id).is_some()
}

/// The attributes of secret `name`'s object that never change: the module
/// caches them. `CKA_OBJECT_ID` is empty, the class's default.
pub fn fixed(name: &str) -> Vec<Attribute> {
    vec![
        Attribute::ulong(CKA_CLASS, CKO_DATA),
        Attribute::bool(CKA_TOKEN, true),
        Attribute::bool(CKA_PRIVATE, true),
        Attribute::bool(CKA_MODIFIABLE, false),
        Attribute::bool(CKA_COPYABLE, false),
        Attribute::bool(CKA_DESTROYABLE, false),
        Attribute::bytes(CKA_LABEL, name.as_bytes().to_vec()),
        Attribute::bytes(CKA_APPLICATION, APPLICATION.as_bytes().to_vec()),
        Attribute::bytes(CKA_OBJECT_ID, Vec::new()),
    ]
}

/// What the module learns of a secret's object with a find.
fn description(secret: &VisibleSecret) -> ObjectDescription {
    ObjectDescription { id: object_id(secret.number), fixed: fixed(&secret.name), sensitive: Vec::new() }
}

/// True when every attribute of `template` has the object's value. A
/// template with `CKA_VALUE` never matches: a find does not decrypt.
fn matches(fixed: &[Attribute], template: &[Attribute]) -> bool {
    template.iter().all(|wanted| find_attribute(fixed, wanted.ty).is_some_and(|have| have.value == wanted.value))
}

/// The secrets' objects of `slot` that match `template`: none before the
/// login. A template with a label looks that one name up.
pub fn find(
    service: &Service,
    client: &ClientId,
    slot: u64,
    instance: &InstanceRecord,
    template: &[Attribute],
) -> Result<Vec<ObjectDescription>, DataError> {
    if !service.clients.is_logged_in(client, slot) {
        return Ok(Vec::new());
    }
    let secrets: Vec<VisibleSecret> = match find_attribute(template, CKA_LABEL).map(|a| std::str::from_utf8(&a.value)) {
        Some(Ok(name)) => read::visible_named(&service.kms, &instance.name, name)?.into_iter().collect(),
        // No secret name is anything but UTF-8.
        Some(Err(_)) => Vec::new(),
        None => read::visible(&service.kms, &instance.name)?,
    };
    // The template first (a find of keys matches no secret), then what the
    // app's policy does not let it read, it does not find.
    let matching: Vec<(&VisibleSecret, ObjectDescription)> =
        secrets.iter().map(|s| (s, description(s))).filter(|(_, d)| matches(&d.fixed, template)).collect();
    if matching.is_empty() {
        return Ok(Vec::new());
    }
    let registry = service.kms.registry()?;
    let access = Access::of(&service.clients, &registry, client, slot);
    Ok(matching
        .into_iter()
        .filter(|(secret, _)| registry.secret(&secret.name).is_ok_and(|entry| access.sees_secret(entry)))
        .map(|(_, description)| description)
        .collect())
}

/// The secret `object` names, as the client may see it in `slot`: a
/// secret of the slot's instance (in its recovery window too: its handle
/// is still the secret's), after the login, that the app's policy lets it
/// see.
struct Resolved {
    instance: String,
    name: String,
    access: Access,
}

fn resolve(service: &Service, client: &ClientId, slot: u64, object: ObjectId) -> Result<Resolved, DataError> {
    let number = parse_object_id(object).ok_or(rv(CKR_OBJECT_HANDLE_INVALID))?;
    let instance = super::slots::instance_name(service, slot)?;
    if !service.clients.is_logged_in(client, slot) {
        return Err(rv(CKR_OBJECT_HANDLE_INVALID));
    }
    let name = read::named(&service.kms, &instance, number)?.ok_or(rv(CKR_OBJECT_HANDLE_INVALID))?;
    let registry = service.kms.registry()?;
    let access = Access::of(&service.clients, &registry, client, slot);
    if !registry.secret(&name).is_ok_and(|entry| access.sees_secret(entry)) {
        return Err(rv(CKR_OBJECT_HANDLE_INVALID));
    }
    drop(registry);
    Ok(Resolved { instance, name, access })
}

/// Allows reading the value of the resolved secret now (the policy, as
/// at every call).
fn check_read(service: &Service, resolved: &Resolved) -> Result<(), DataError> {
    let registry = service.kms.registry()?;
    let entry = registry.secret(&resolved.name)?;
    resolved.access.check_secret(entry)
}

/// `GetAttributes` of a secret's object. `CKA_VALUE` is the ACSCurrent
/// value read now, with the secret's own refusals (in its recovery window
/// `CKR_ACTION_PROHIBITED`, its key's codes); asked twice in one template
/// it is read once.
pub fn attributes(
    service: &Service,
    client: &ClientId,
    slot: u64,
    object: ObjectId,
    types: &[AttributeType],
) -> Result<DataReply, DataError> {
    let resolved = resolve(service, client, slot, object)?;
    let (instance, name) = (&resolved.instance, &resolved.name);
    let fixed = fixed(name);
    let mut value = None;
    let mut answers = Vec::with_capacity(types.len());
    for ty in types {
        answers.push(match *ty {
            CKA_VALUE => {
                if value.is_none() {
                    check_read(service, &resolved)?;
                    value = Some(read::current_value(&service.kms, instance, name)?);
                }
                AttributeValue::Secret(value.clone().unwrap_or_default())
            }
            ty => {
                find_attribute(&fixed, ty).map_or(AttributeValue::Invalid, |a| AttributeValue::Value(a.value.clone()))
            }
        });
    }
    Ok(DataReply::Attributes(answers))
}

/// `GetObjectSize`: not available, since the value may change at any time.
pub fn size(service: &Service, client: &ClientId, slot: u64, object: ObjectId) -> Result<DataReply, DataError> {
    resolve(service, client, slot, object)?;
    Ok(DataReply::Size(CK_UNAVAILABLE_INFORMATION))
}

/// The answer to `SetAttributes`, `CopyObject` and `DestroyObject` of a
/// secret's object: `CKA_MODIFIABLE`, `CKA_COPYABLE` and `CKA_DESTROYABLE`
/// are false, which PKCS#11 answers with `CKR_ACTION_PROHIBITED`; a handle
/// the client may not see is invalid first.
pub fn refusal(service: &Service, client: &ClientId, slot: u64, object: ObjectId) -> DataError {
    match resolve(service, client, slot, object) {
        Ok(_) => rv(CKR_ACTION_PROHIBITED),
        Err(invisible) => invisible,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::created::parse_created_id;
    use crate::data::objects::parse_object_id as parse_key_object_id;
    use crate::kms::secrets::entry::{OBJECT_NUMBER_BITS, object_number};

    #[test]
    fn secret_ids_round_trip_and_meet_no_other_id() {
        for name in ["db", "api/token", &"n".repeat(192)] {
            let number = object_number(name);
            let id = object_id(number);
            assert_eq!(parse_object_id(id), Some(number), "{name}");
            assert_eq!(parse_created_id(id), None, "not a created object");
            assert_eq!(parse_key_object_id(id), None, "not a key object");
        }
        let largest = (1 << OBJECT_NUMBER_BITS) - 1;
        assert_eq!(parse_object_id(object_id(largest)), Some(largest), "56 bits fit below the marker");
        for other in [8, 12, 5, 6, 7, 1 << 40] {
            assert!(!is_secret(other), "{other}: a created or key object id");
        }
        assert!(!is_secret(SECRET_BIT | 4), "low bits set: not a secret's");
    }

    #[test]
    fn the_object_is_a_private_read_only_token_data_object() {
        let fixed = fixed("db/orders");
        let get = |ty| find_attribute(&fixed, ty).map(|a| a.value.clone());
        assert_eq!(get(CKA_CLASS), Some(CKO_DATA.to_le_bytes().to_vec()));
        for (ty, value) in
            [(CKA_TOKEN, 1), (CKA_PRIVATE, 1), (CKA_MODIFIABLE, 0), (CKA_COPYABLE, 0), (CKA_DESTROYABLE, 0)]
        {
            assert_eq!(get(ty), Some(vec![value]), "{ty:#x}");
        }
        assert_eq!(get(CKA_LABEL), Some(b"db/orders".to_vec()));
        assert_eq!(get(CKA_APPLICATION), Some(b"p11kms secret".to_vec()));
        assert_eq!(get(CKA_OBJECT_ID), Some(Vec::new()));
        assert_eq!(get(CKA_VALUE), None, "never cached: read at each call");
    }

    #[test]
    fn templates_match_by_the_fixed_attributes_only() {
        let fixed = fixed("db");
        let by = |attributes: &[Attribute]| matches(&fixed, attributes);
        assert!(by(&[]), "an empty template matches everything");
        assert!(by(&[Attribute::ulong(CKA_CLASS, CKO_DATA)]));
        assert!(by(&[Attribute::bytes(CKA_LABEL, b"db".to_vec()), Attribute::bool(CKA_TOKEN, true)]));
        assert!(by(&[Attribute::bytes(CKA_APPLICATION, APPLICATION.as_bytes().to_vec())]));
        assert!(!by(&[Attribute::bytes(CKA_LABEL, b"db2".to_vec())]));
        assert!(!by(&[Attribute::ulong(CKA_CLASS, CKO_SECRET_KEY)]));
        assert!(!by(&[Attribute::bool(CKA_TOKEN, false)]));
        assert!(!by(&[Attribute::bytes(CKA_VALUE, b"pw".to_vec())]), "a find never decrypts");
        assert!(!by(&[Attribute::bytes(CKA_ID, Vec::new())]), "no CKA_ID");
    }
}
