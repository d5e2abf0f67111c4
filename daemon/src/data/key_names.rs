//! Names applications give KMS keys through PKCS#11: a `CKA_ID` of their
//! choosing (at generation, or with `C_SetAttributeValue`) and a
//! `CKA_LABEL`, which is an alias (`docs/pkcs11.md`, "Keys that
//! applications name"). Java's keystore, OpenSC, p11tool and libp11 pair a
//! key with its certificate by `CKA_ID`, so a key must keep the id the
//! application asked for, and a search by it must find that key alone:
//! an application id is unique among the keys of an instance, and may not
//! be another key's version id.
//!
//! The id lives in the store (`key_app_ids`, journaled with the change);
//! the label is the key's oldest alias, so setting it creates
//! `alias/<label>` under the alias rules, in the same transaction as the
//! id when a template carries both.

use cryptoki_sys::*;

use p11kms_proto::data::{ClientId, DataReply};
use p11kms_proto::pkcs11::{Attribute, AttributeValue, ObjectId, find_attribute};

use super::error::{DataError, rv};
use super::lookup::with_object;
use crate::kms::keys::rules::{self, Operation};
use crate::kms::keys::service;
use crate::kms::names::{ALIAS_PREFIX, check_alias};
use crate::kms::registry::Registry;
use crate::service::Service;
use crate::store::{AliasRecord, KeyAppIdRecord};

/// Longest application id: far above what clients use (a SHA-1 of the
/// public key is 20 bytes), small enough to keep in every search.
pub const MAX_APP_ID_BYTES: usize = 128;

/// The `CKA_ID` generation templates ask for: `None` when none does (or
/// the id is empty, which names nothing). The halves of a pair may not
/// ask for different ids.
pub fn app_id_of(templates: &[&[Attribute]]) -> Result<Option<Vec<u8>>, DataError> {
    let mut asked: Option<&[u8]> = None;
    for id in templates.iter().filter_map(|t| find_attribute(t, CKA_ID)).map(|a| &a.value[..]) {
        match asked {
            Some(earlier) if earlier != id => return Err(rv(CKR_TEMPLATE_INCONSISTENT)),
            _ => asked = Some(id),
        }
    }
    match asked {
        None | Some([]) => Ok(None),
        Some(id) if id.len() > MAX_APP_ID_BYTES => Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)),
        Some(id) => Ok(Some(id.to_vec())),
    }
}

/// Refuses an id another key of `instance` already answers to.
pub fn check_free(registry: &Registry, instance: &str, id: &[u8], key_id: Option<&str>) -> Result<(), DataError> {
    match registry.key_with_pkcs11_id(instance, id, key_id) {
        None => Ok(()),
        Some(other) => {
            tracing::info!(
                instance,
                other = other.record.key_id,
                "CKA_ID refused: another key of the instance has it (an application id names one key)"
            );
            Err(rv(CKR_ATTRIBUTE_VALUE_INVALID))
        }
    }
}

/// Gives a just-created key the application's id (its own transaction:
/// the key is committed already). The id was checked before creation;
/// it is checked again here, under the writer lock, for a racing writer.
pub fn assign(service: &Service, instance: &str, key_id: &str, id: Vec<u8>) -> Result<(), DataError> {
    let kms = &service.kms;
    let _writer = kms.writer()?;
    check_free(&*kms.registry()?, instance, &id, Some(key_id))?;
    let record =
        KeyAppIdRecord { key_id: key_id.into(), instance: instance.into(), app_id: id, set_at: kms.clock.now() };
    kms.store.write(record.set_at, |tx| tx.set_key_app_id(&record)).map_err(crate::kms::KmsError::from)?;
    kms.registry_mut()?.set_app_id(key_id, Some(record.app_id));
    Ok(())
}

/// The alias a label names: `alias/<label>`, or the label itself when it
/// starts with `alias/`.
pub fn alias_of_label(label: &[u8]) -> Result<String, DataError> {
    let text = std::str::from_utf8(label).map_err(|_| rv(CKR_ATTRIBUTE_VALUE_INVALID))?;
    Ok(if text.starts_with(ALIAS_PREFIX) { text.to_owned() } else { format!("{ALIAS_PREFIX}{text}") })
}

/// What a `C_SetAttributeValue` of a key object changes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Change {
    /// `Some(None)`: the application id goes (an empty `CKA_ID`).
    app_id: Option<Option<Vec<u8>>>,
    alias: Option<String>,
}

/// `SetAttributes` of a KMS key's object: `CKA_ID` and `CKA_LABEL` change
/// the key's names; any other attribute is read-only unless the template
/// gives it its present value.
pub fn set_attributes(
    service: &Service,
    client: &ClientId,
    slot: u64,
    object: ObjectId,
    template: &[Attribute],
) -> Result<DataReply, DataError> {
    let kms = &service.kms;
    let _writer = kms.writer()?;
    let (key_id, instance, change) = with_object(service, client, slot, object, |instance, view, access| {
        if !access.is_logged_in() {
            return Err(rv(CKR_USER_NOT_LOGGED_IN));
        }
        // Naming a key is the app's as much as making one.
        access.check_create(&instance.name)?;
        let mut change = Change::default();
        for attribute in template {
            match attribute.ty {
                CKA_ID if attribute.value == view.pkcs11_id() => {}
                CKA_ID if attribute.value.is_empty() => change.app_id = Some(None),
                CKA_ID if attribute.value.len() > MAX_APP_ID_BYTES => return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)),
                CKA_ID => change.app_id = Some(Some(attribute.value.clone())),
                CKA_LABEL => {
                    let text = std::str::from_utf8(&attribute.value).map_err(|_| rv(CKR_ATTRIBUTE_VALUE_INVALID))?;
                    if view.label() == text || (view.is_primary() && view.key.is_named(text)) {
                        continue;
                    }
                    change.alias = Some(new_alias(view.key, &attribute.value)?);
                }
                ty if view.attribute(ty) == AttributeValue::Value(attribute.value.clone()) => {}
                ty if view.attribute(ty) == AttributeValue::Invalid => return Err(rv(CKR_ATTRIBUTE_TYPE_INVALID)),
                _ => return Err(rv(CKR_ATTRIBUTE_READ_ONLY)),
            }
        }
        if change.alias.is_some() || change.app_id.is_some() {
            rules::check(Operation::Alias, &view.key.record)?;
        }
        Ok((view.key.record.key_id.clone(), instance.name.clone(), change))
    })?;
    if let Some(Some(id)) = &change.app_id {
        check_free(&*kms.registry()?, &instance, id, Some(&key_id))?;
    }
    if let Some(alias) = &change.alias {
        if kms.registry()?.alias_taken(alias) {
            tracing::info!(alias, key = key_id, "CKA_LABEL refused: the alias names another key");
            return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID));
        }
    }
    if change != Change::default() {
        commit(service, &key_id, &instance, &change)?;
    }
    let description = with_object(service, client, slot, object, |_, view, _| Ok(view.description()))?;
    Ok(DataReply::Objects(vec![description]))
}

/// The alias a new label makes. A key that already has an alias keeps its
/// label: aliases are shared names (other apps, the operator's scripts
/// use them), so an application does not take one away; the operator
/// changes them (`p11kms alias`).
fn new_alias(key: &crate::kms::registry::KeyEntry, label: &[u8]) -> Result<String, DataError> {
    if !key.aliases.is_empty() {
        tracing::info!(key = key.record.key_id, "CKA_LABEL refused: the key has an alias already, which is its label");
        return Err(rv(CKR_ATTRIBUTE_READ_ONLY));
    }
    let alias = alias_of_label(label)?;
    if let Err(error) = check_alias(&alias) {
        tracing::info!(%error, "CKA_LABEL refused: not a valid alias");
        return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID));
    }
    service::check_user_alias(&alias)?;
    Ok(alias)
}

/// Writes a change in one transaction (journaled), then shows it.
fn commit(service: &Service, key_id: &str, instance: &str, change: &Change) -> Result<(), DataError> {
    let kms = &service.kms;
    let now = kms.clock.now();
    let alias = change.alias.as_ref().map(|a| AliasRecord { alias: a.clone(), key_id: key_id.into(), created_at: now });
    let app_id = change.app_id.as_ref().map(|id| {
        id.as_ref().map(|id| KeyAppIdRecord {
            key_id: key_id.into(),
            instance: instance.into(),
            app_id: id.clone(),
            set_at: now,
        })
    });
    kms.store
        .write(now, |tx| {
            if let Some(alias) = &alias {
                tx.insert_alias(alias)?;
            }
            match &app_id {
                Some(Some(record)) => tx.set_key_app_id(record),
                Some(None) => tx.clear_key_app_id(key_id),
                None => Ok(()),
            }
        })
        .map_err(crate::kms::KmsError::from)?;
    let mut registry = kms.registry_mut()?;
    if let Some(alias) = alias {
        registry.add_alias(alias)?;
    }
    if let Some(app_id) = app_id {
        registry.set_app_id(key_id, app_id.map(|r| r.app_id));
    }
    tracing::info!(key = key_id, alias = change.alias, app_id = change.app_id.is_some(), "key named through PKCS#11");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_templates_give_one_id() {
        let id = |v: &[u8]| [Attribute::bytes(CKA_ID, v.to_vec())];
        assert_eq!(app_id_of(&[&id(b"JK"), &id(b"JK")]), Ok(Some(b"JK".to_vec())));
        assert_eq!(app_id_of(&[&[], &id(b"JK")]), Ok(Some(b"JK".to_vec())));
        assert_eq!(app_id_of(&[&id(b"JK"), &id(b"JL")]), Err(rv(CKR_TEMPLATE_INCONSISTENT)));
        assert_eq!(app_id_of(&[&id(b"")]), Ok(None), "an empty id names nothing");
        assert_eq!(app_id_of(&[&[]]), Ok(None));
        assert_eq!(app_id_of(&[&id(&[7; MAX_APP_ID_BYTES + 1])]), Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)));
    }

    #[test]
    fn labels_are_aliases() {
        assert_eq!(alias_of_label(b"k1"), Ok("alias/k1".into()));
        assert_eq!(alias_of_label(b"alias/k2"), Ok("alias/k2".into()));
        assert_eq!(alias_of_label(&[0xff]), Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)));
        let named = crate::data::objects::tests::key(
            p11kms_proto::admin::KeySpec::EcP256,
            p11kms_proto::admin::KeyUsage::SignVerify,
            &["v1"],
        );
        assert_eq!(new_alias(&named, b"other"), Err(rv(CKR_ATTRIBUTE_READ_ONLY)), "an alias is not taken away");
        let mut bare = named.clone();
        bare.aliases.clear();
        assert_eq!(new_alias(&bare, b"other"), Ok("alias/other".into()));
        assert_eq!(new_alias(&bare, b"bad label!"), Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)));
    }
}
