//! `C_CopyObject` of a session key (every session key is `CKA_COPYABLE`):
//!
//! - a secret or private key with `CKA_TOKEN` true becomes a KMS key
//!   ([`super::promote`], where the rules are);
//! - one that stays a session object is copied on its HSM, the copy's
//!   label, id and dates as the template says ([`SessionKey::modified`]);
//! - a public key is copied as a created public key object, on the token
//!   or not ([`super::created`]'s rules), with the template's changes.

use cryptoki_sys::*;

use p11kms_proto::data::{ClientId, DataReply};
use p11kms_proto::pkcs11::{Attribute, find_attribute};

use super::error::{DataError, rv};
use super::session_key::SessionKey;
use crate::hsm::session_keys as hsm;
use crate::service::Service;

/// What a created public key takes from the session key it copies.
const PUBLIC_KEY_PARTS: &[CK_ATTRIBUTE_TYPE] = &[
    CKA_CLASS,
    CKA_KEY_TYPE,
    CKA_PRIVATE,
    CKA_MODULUS,
    CKA_PUBLIC_EXPONENT,
    CKA_EC_PARAMS,
    CKA_EC_POINT,
    CKA_ENCRYPT,
    CKA_VERIFY,
    CKA_WRAP,
    CKA_LABEL,
    CKA_ID,
    CKA_SUBJECT,
    CKA_START_DATE,
    CKA_END_DATE,
];

/// `CopyObject` of the client's secret or private session key `key` (a
/// public one is a created object's template: [`public_key_template`]).
pub fn copy(
    service: &Service,
    client: &ClientId,
    slot: u64,
    key: &SessionKey,
    template: &[Attribute],
) -> Result<DataReply, DataError> {
    let token = match find_attribute(template, CKA_TOKEN) {
        None => false,
        Some(a) => a.as_bool().ok_or(rv(CKR_ATTRIBUTE_VALUE_INVALID))?,
    };
    if token {
        return super::promote::promote(service, client, slot, key, template);
    }
    let changed = key.modified(template)?;
    let handle = hsm::copy(key.member(), key.handle())?;
    let copy = key.copied_as(handle, &changed);
    let id = service.clients.add_key(client, slot, copy.clone())?;
    Ok(DataReply::Objects(vec![copy.description(id)]))
}

/// The template of a created public key with `key`'s values and
/// `template`'s changes (empty dates and subject are left out: a created
/// object has none rather than empty ones).
pub fn public_key_template(key: &SessionKey, template: &[Attribute]) -> Vec<Attribute> {
    let optional = [CKA_SUBJECT, CKA_START_DATE, CKA_END_DATE];
    let mut out: Vec<Attribute> = key
        .attributes()
        .iter()
        .filter(|a| PUBLIC_KEY_PARTS.contains(&a.ty))
        .filter(|a| !(optional.contains(&a.ty) && a.value.is_empty()))
        .filter(|a| find_attribute(template, a.ty).is_none())
        .cloned()
        .collect();
    out.extend(template.iter().cloned());
    out
}
