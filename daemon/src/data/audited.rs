//! The data plane's audit events (`crate::audit`), decided in one place
//! from the request and its outcome: every cryptographic use of a key
//! version (counted per app, version, operation and result, per second),
//! keys made and destroyed through PKCS#11, token objects created,
//! changed and destroyed, secret values read, and policy refusals.
//! Logins are recorded where they are decided ([`super::logins`]): only
//! there is the app a wrong PIN was meant for known.

use p11kms_proto::audit::{Event, EventSource, SUCCESS};
use p11kms_proto::data::{ClientId, DataReply, DataRequest};
use p11kms_proto::pkcs11::ObjectId;

use super::error::DataError;
use super::objects::parse_object_id;
use super::{ConnectionContext, created, secret_objects};
use crate::audit::uses::UseKey;
use crate::service::Service;

/// What of a request the trail will want, taken before the request is
/// handled (it is consumed by its handler).
#[derive(Clone, Copy, Debug)]
pub enum Watched {
    /// Nothing recorded.
    Nothing,
    /// A cryptographic operation with an object.
    Use { slot: u64, object: ObjectId, operation: &'static str },
    /// A key (pair) made on the token.
    KeyCreation { slot: u64 },
    /// An object destroyed (a KMS key: its deletion scheduled).
    Destroy { slot: u64, object: ObjectId },
    /// Attributes read: a secret's value, when the object is a secret's
    /// and `CKA_VALUE` is asked.
    SecretRead { slot: u64, object: ObjectId },
    /// A token object made or changed by the application.
    ObjectChange { slot: u64, object: Option<ObjectId>, name: &'static str },
}

/// What `request` may need recorded.
pub fn watch(request: &DataRequest) -> Watched {
    use DataRequest as R;
    match request {
        R::Sign { slot, object, .. } => Watched::Use { slot: *slot, object: *object, operation: "Sign" },
        R::Verify { slot, object, .. } => Watched::Use { slot: *slot, object: *object, operation: "Verify" },
        R::Encrypt { slot, object, .. } => Watched::Use { slot: *slot, object: *object, operation: "Encrypt" },
        R::Decrypt { slot, object, .. } => Watched::Use { slot: *slot, object: *object, operation: "Decrypt" },
        R::WrapKey { slot, wrapping, .. } => Watched::Use { slot: *slot, object: *wrapping, operation: "WrapKey" },
        R::UnwrapKey { slot, unwrapping, .. } => {
            Watched::Use { slot: *slot, object: *unwrapping, operation: "UnwrapKey" }
        }
        R::DeriveKey { slot, base, .. } => Watched::Use { slot: *slot, object: *base, operation: "DeriveKey" },
        R::GenerateKey { slot, template, .. } if token(template) => Watched::KeyCreation { slot: *slot },
        R::GenerateKeyPair { slot, public_template, private_template, .. }
            if token(public_template) || token(private_template) =>
        {
            Watched::KeyCreation { slot: *slot }
        }
        R::DestroyObject { slot, object } => Watched::Destroy { slot: *slot, object: *object },
        R::GetAttributes { slot, object, types }
            if secret_objects::is_secret(*object) && types.contains(&cryptoki_sys::CKA_VALUE) =>
        {
            Watched::SecretRead { slot: *slot, object: *object }
        }
        R::CreateObject { slot, template } if token(template) => {
            Watched::ObjectChange { slot: *slot, object: None, name: "CreateObject" }
        }
        R::CopyObject { slot, object, .. } => {
            Watched::ObjectChange { slot: *slot, object: Some(*object), name: "CopyObject" }
        }
        R::SetAttributes { slot, object, .. } => {
            Watched::ObjectChange { slot: *slot, object: Some(*object), name: "SetAttributeValue" }
        }
        _ => Watched::Nothing,
    }
}

fn token(template: &[p11kms_proto::pkcs11::Attribute]) -> bool {
    p11kms_proto::pkcs11::find_attribute(template, cryptoki_sys::CKA_TOKEN).is_some_and(|a| a.value.first() == Some(&1))
}

/// Records what `watched` asks, given the outcome.
pub fn record(
    service: &Service,
    ctx: &ConnectionContext,
    client: &ClientId,
    watched: Watched,
    outcome: Result<&DataReply, &DataError>,
) {
    let trail = &service.audit;
    if !trail.is_enabled() || matches!(watched, Watched::Nothing) {
        return;
    }
    // A policy refusal is recorded whatever the request, with what it named.
    if let Err(DataError::Denied { action, resource, .. }) = outcome {
        let slot = slot_of(watched);
        let event = event(service, ctx, client, slot, action.name(), vec![resource.clone()], outcome);
        trail.record(&service.kms.store, event, false);
        return;
    }
    let result = result_of(outcome);
    match watched {
        Watched::Nothing => {}
        Watched::Use { slot, object, operation } => {
            let Some((instance, key_id, version_id)) = key_version(service, slot, object) else {
                return; // a session key or an object the caller could not name
            };
            let key = UseKey {
                uid: ctx.uid,
                app: service.clients.app(client, slot),
                instance,
                key_id,
                version_id,
                operation,
                result,
            };
            trail.key_use(&service.kms.store, key, service.kms.clock.now());
        }
        Watched::KeyCreation { slot } => {
            let keys: Vec<String> = match outcome {
                Ok(DataReply::Objects(objects)) => objects
                    .iter()
                    .filter_map(|o| key_version(service, slot, o.id))
                    .map(|(_, key, _)| format!("key/{key}"))
                    .collect(),
                _ => Vec::new(),
            };
            // Session keys made with CKA_TOKEN false are not KMS keys.
            if keys.is_empty() && outcome.is_ok() {
                return;
            }
            let mut keys = keys;
            keys.dedup();
            let event = event(service, ctx, client, slot, "CreateKey", keys, outcome);
            trail.record(&service.kms.store, event, outcome.is_ok());
        }
        Watched::Destroy { slot, object } => {
            let (name, resources) = match key_version(service, slot, object) {
                Some((_, key, _)) => ("ScheduleKeyDeletion", vec![format!("key/{key}")]),
                None if created::parse_created_id(object)
                    .is_some_and(|id| matches!(id, created::CreatedId::Token(_))) =>
                {
                    ("DestroyObject", vec![format!("object/{object}")])
                }
                None => return,
            };
            let event = event(service, ctx, client, slot, name, resources, outcome);
            trail.record(&service.kms.store, event, outcome.is_ok());
        }
        Watched::SecretRead { slot, object } => {
            let Some(name) = secret_name(service, slot, object) else {
                return;
            };
            let event = event(service, ctx, client, slot, "GetSecretValue", vec![format!("secret/{name}")], outcome);
            trail.record(&service.kms.store, event, false);
        }
        Watched::ObjectChange { slot, object, name } => {
            let made = match outcome {
                Ok(DataReply::Objects(objects)) | Ok(DataReply::ObjectsPage { objects, .. }) => {
                    objects.first().map(|o| o.id)
                }
                _ => None,
            };
            // A session key copied to the token is a new KMS key: named
            // as one (`key/<id>`).
            let named = |id| match key_version(service, slot, id) {
                Some((_, key, _)) => format!("key/{key}"),
                None => format!("object/{id}"),
            };
            let ids: Vec<String> = object.into_iter().chain(made).map(named).collect();
            let event = event(service, ctx, client, slot, name, ids, outcome);
            trail.record(&service.kms.store, event, outcome.is_ok());
        }
    }
}

fn slot_of(watched: Watched) -> Option<u64> {
    match watched {
        Watched::Nothing => None,
        Watched::Use { slot, .. }
        | Watched::KeyCreation { slot }
        | Watched::Destroy { slot, .. }
        | Watched::SecretRead { slot, .. }
        | Watched::ObjectChange { slot, .. } => Some(slot),
    }
}

/// `Success`, or the return value's name (`KeyFunctionNotPermitted`).
fn result_of(outcome: Result<&DataReply, &DataError>) -> String {
    match outcome {
        Ok(_) => SUCCESS.to_owned(),
        Err(error) => error.code_name(),
    }
}

/// A data-plane event of the app logged in to `slot`.
fn event(
    service: &Service,
    ctx: &ConnectionContext,
    client: &ClientId,
    slot: impl Into<Option<u64>>,
    name: &str,
    resources: Vec<String>,
    outcome: Result<&DataReply, &DataError>,
) -> Event {
    let slot = slot.into();
    let trail = &service.audit;
    let app = slot.and_then(|slot| service.clients.app(client, slot));
    let instance = slot.and_then(|slot| super::slots::instance_name(service, slot).ok());
    let result = result_of(outcome);
    Event {
        event_time: service.kms.clock.now(),
        event_name: name.to_owned(),
        event_source: EventSource::Pkcs11,
        region: trail.region().to_owned(),
        request_id: trail.request_id(),
        user_identity: trail.identity(ctx.uid, ctx.gid, ctx.pid, app),
        instance,
        resource_name: resources,
        request_parameters: serde_json::Value::Null,
        error_code: (result != SUCCESS).then(|| result.clone()),
        result,
        uses: None,
    }
}

/// The instance, key id and version id of a KMS key's object in `slot`.
fn key_version(service: &Service, slot: u64, object: ObjectId) -> Option<(String, String, String)> {
    let (seq, _) = parse_object_id(object)?;
    let registry = service.kms.registry().ok()?;
    let instance = super::slots::instance(&registry, slot).ok()?;
    let (key, version) = registry.version_by_seq(seq)?;
    (key.record.instance == instance.name)
        .then(|| (instance.name.clone(), key.record.key_id.clone(), version.record.version_id.clone()))
}

/// The name of the secret an object id names in `slot`'s instance.
fn secret_name(service: &Service, slot: u64, object: ObjectId) -> Option<String> {
    let number = secret_objects::parse_object_id(object)?;
    let instance = super::slots::instance_name(service, slot).ok()?;
    crate::kms::secrets::read::named(&service.kms, &instance, number).ok().flatten()
}
