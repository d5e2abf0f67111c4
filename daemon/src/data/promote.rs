//! `C_CopyObject` of a session key with `CKA_TOKEN` true: the key becomes
//! a KMS key. Java's keystore stores the pair `keytool -genkeypair` made
//! this way.
//!
//! Key material enters KMS keys only by key generation or BYOK. A session
//! key qualifies when it *is* a key generation: the daemon generated it in
//! the HSM (not imported, unwrapped or derived) and the application never
//! had it extractable, so its material never left the HSM, as with
//! `C_GenerateKeyPair(CKA_TOKEN = true)`. It is copied inside that HSM
//! into the new version's objects and reaches the mirrors under the
//! cluster key (`hsm::adopt`); the KMS key is then created as by key
//! generation (alias, application id, quota, journal, audit). Its shape
//! must be a KeySpec: AES-128/256, RSA-2048/3072 with exponent 65537,
//! EC P-256 or secp256k1; its `CKA_ALLOWED_MECHANISMS` stays the KMS
//! key's. Every refusal is `CKR_ACTION_PROHIBITED` (the instance's
//! policy) with a line in the daemon's log saying why, or the template's
//! own error.

use cryptoki_sys::*;

use p11kms_proto::admin::{KeySpec, KeyUsage};
use p11kms_proto::data::{ClientId, DataReply};
use p11kms_proto::pkcs11::{Attribute, AttributeValue, find_attribute};

use super::error::{DataError, rv};
use super::key_names;
use super::keygen::{self, Shape};
use super::session_key::SessionKey;
use crate::hsm::objects::{P256_PARAMS, SECP256K1_PARAMS};
use crate::kms::keys::Source;
use crate::kms::vault::SessionMaterial;
use crate::service::Service;

/// The new KMS key's object of the same class as the session key.
pub fn promote(
    service: &Service,
    client: &ClientId,
    slot: u64,
    key: &SessionKey,
    template: &[Attribute],
) -> Result<DataReply, DataError> {
    if !service.clients.is_logged_in(client, slot) {
        return Err(rv(CKR_USER_NOT_LOGGED_IN));
    }
    let (spec, usage) = kms_shape(key).map_err(refused)?;
    let (alias, app_id) = names(key, template)?;
    let cluster = super::slots::cluster(service, slot, super::slots::NO_HSM)?;
    if !std::sync::Arc::ptr_eq(cluster.cluster.primary(), key.member()) {
        // Made before a failover: session keys are not replicated.
        return Err(rv(CKR_KEY_HANDLE_INVALID));
    }
    // The session key's restriction goes with it.
    let allowed_mechanisms = keygen::allowed_mechanisms_of(&[key.attributes()])?;
    let material = SessionMaterial { member: key.member(), handle: key.handle(), public: key.public_key() };
    let shape = Shape { spec, usage, alias, app_id, allowed_mechanisms };
    let reply = keygen::create(service, client, slot, shape, Source::SessionKey(material))?;
    let DataReply::Objects(objects) = reply else {
        return Err(rv(CKR_GENERAL_ERROR));
    };
    let class = |o: &&p11kms_proto::pkcs11::ObjectDescription| {
        find_attribute(&o.fixed, CKA_CLASS).and_then(Attribute::as_ulong) == Some(key.class())
    };
    let object = objects.iter().find(class).cloned().ok_or(rv(CKR_GENERAL_ERROR))?;
    Ok(DataReply::Objects(vec![object]))
}

/// A policy refusal, said in the daemon's log.
fn refused(why: &'static str) -> DataError {
    tracing::info!(why, "C_CopyObject of a session key to the token refused");
    rv(CKR_ACTION_PROHIBITED)
}

/// The KeySpec and KeyUsage a session key would have as a KMS key.
fn kms_shape(key: &SessionKey) -> Result<(KeySpec, KeyUsage), &'static str> {
    if !key.never_left_the_hsm() {
        return Err("only a key generated in the HSM and never extractable becomes a KMS key");
    }
    let attributes = key.attributes();
    let value = |ty| find_attribute(attributes, ty).map(|a| a.value.as_slice()).unwrap_or_default();
    let ulong = |ty| find_attribute(attributes, ty).and_then(Attribute::as_ulong);
    let flag = |ty| key.flag(ty);
    match (key.class(), ulong(CKA_KEY_TYPE)) {
        (CKO_SECRET_KEY, Some(CKK_AES)) => match ulong(CKA_VALUE_LEN) {
            Some(16) => Ok((KeySpec::Aes128, KeyUsage::EncryptDecrypt)),
            Some(32) => Ok((KeySpec::Aes256, KeyUsage::EncryptDecrypt)),
            _ => Err("an AES KMS key is 128 or 256 bits"),
        },
        (CKO_PRIVATE_KEY, Some(CKK_RSA)) => {
            let exponent: Vec<u8> = value(CKA_PUBLIC_EXPONENT).iter().copied().skip_while(|b| *b == 0).collect();
            if exponent != [0x01, 0x00, 0x01] {
                return Err("an RSA KMS key has the public exponent 65537");
            }
            let spec = match value(CKA_MODULUS).iter().skip_while(|b| **b == 0).count() {
                256 => KeySpec::Rsa2048,
                384 => KeySpec::Rsa3072,
                _ => return Err("an RSA KMS key is 2048 or 3072 bits"),
            };
            // One usage per KMS key, as at generation (keygen.rs).
            let decrypt_only = flag(CKA_DECRYPT) && !flag(CKA_SIGN);
            Ok((spec, if decrypt_only { KeyUsage::EncryptDecrypt } else { KeyUsage::SignVerify }))
        }
        (CKO_PRIVATE_KEY, Some(CKK_EC)) if key.public_key().is_some() => match value(CKA_EC_PARAMS) {
            p if p == P256_PARAMS => Ok((KeySpec::EcP256, KeyUsage::SignVerify)),
            p if p == SECP256K1_PARAMS => Ok((KeySpec::EcP256K, KeyUsage::SignVerify)),
            _ => Err("an EC KMS key is on P-256 or secp256k1"),
        },
        _ => Err("no KMS key spec has this key's type"),
    }
}

/// The copy template's names for the new key: `CKA_LABEL` (an alias) and
/// `CKA_ID` (its application id), the session key's own when the template
/// gives none. `CKA_TOKEN` is true (the caller's test) and `CKA_PRIVATE`,
/// if given, true: KMS keys are private. Any other attribute must keep
/// its value (`CKR_ATTRIBUTE_READ_ONLY`).
fn names(key: &SessionKey, template: &[Attribute]) -> Result<(Option<String>, Option<Vec<u8>>), DataError> {
    for given in template {
        match given.ty {
            CKA_TOKEN | CKA_LABEL | CKA_ID => {}
            CKA_PRIVATE if given.as_bool() == Some(true) => {}
            CKA_PRIVATE => return Err(rv(CKR_TEMPLATE_INCONSISTENT)),
            ty => match key.attribute(ty) {
                AttributeValue::Value(value) if value == given.value => {}
                AttributeValue::Invalid => return Err(rv(CKR_ATTRIBUTE_TYPE_INVALID)),
                _ => return Err(rv(CKR_ATTRIBUTE_READ_ONLY)),
            },
        }
    }
    let named = |ty| {
        find_attribute(template, ty).map(|a| a.value.clone()).or_else(|| match key.attribute(ty) {
            AttributeValue::Value(value) => Some(value),
            _ => None,
        })
    };
    let alias = named(CKA_LABEL).filter(|l| !l.is_empty()).map(|l| key_names::alias_of_label(&l)).transpose()?;
    let app_id = match named(CKA_ID) {
        Some(id) => key_names::app_id_of(&[&[Attribute::bytes(CKA_ID, id)]])?,
        None => None,
    };
    Ok((alias, app_id))
}
