//! Session keys on the data plane: `C_GenerateKey`/`C_GenerateKeyPair`
//! with `CKA_TOKEN` false, `C_UnwrapKey`, `C_DeriveKey` (ECDH), and
//! `C_WrapKey` of a session key. They live on the serving member of the
//! slot's cluster ([`crate::hsm::session_keys`]) and belong to the client
//! that made them; the HSM object is destroyed when the last reference to
//! it goes (the module destroys it when its session closes, the daemon
//! when the client's last connection does).
//!
//! KMS keys stay what the instance's policy makes them: never extractable,
//! never wrapping or unwrapping; keys enter an instance only through key
//! generation and BYOK.

use std::sync::Arc;

use cryptoki::mechanism::Mechanism as CkMechanism;
use cryptoki::object::ObjectHandle;
use cryptoki_sys::*;

use p11kms_proto::data::{ClientId, DataReply};
use p11kms_proto::pkcs11::{Attribute, AttributeValue, Mechanism, ObjectDescription, ObjectId, find_attribute};

use super::error::{DataError, rv};
use crate::hsm::Member;
use crate::hsm::session_keys as hsm;
use crate::service::Service;

/// An HSM object of a session key; destroyed on the HSM when dropped.
#[derive(Debug)]
pub struct KeyHandle {
    member: Arc<Member>,
    handle: ObjectHandle,
}

impl Drop for KeyHandle {
    fn drop(&mut self) {
        hsm::destroy(&self.member, self.handle);
    }
}

/// A session key as the daemon shows it: the HSM object and the attributes
/// the application sees (the HSM's, with the application's label and id).
#[derive(Clone, Debug)]
pub struct SessionKey {
    key: Arc<KeyHandle>,
    attributes: Vec<Attribute>,
}

/// Attributes the application sets that the daemon keeps (the HSM object
/// carries the daemon's mark instead).
const KEPT_BY_DAEMON: &[CK_ATTRIBUTE_TYPE] = &[CKA_LABEL, CKA_ID, CKA_START_DATE, CKA_END_DATE, CKA_SUBJECT];

impl SessionKey {
    /// Describes a new HSM object; `generated_by` is the key generation
    /// mechanism (none for unwrapped and derived keys).
    fn new(
        member: &Arc<Member>,
        handle: ObjectHandle,
        template: &[Attribute],
        generated_by: Option<u64>,
    ) -> Result<Self, DataError> {
        let key = Arc::new(KeyHandle { member: member.clone(), handle });
        let mut attributes = hsm::describe(member, handle)?;
        attributes.push(Attribute::ulong(CKA_KEY_GEN_MECHANISM, generated_by.unwrap_or(CK_UNAVAILABLE_INFORMATION)));
        for ty in KEPT_BY_DAEMON {
            let value = find_attribute(template, *ty).map(|a| a.value.clone()).unwrap_or_default();
            attributes.push(Attribute::bytes(*ty, value));
        }
        let public = find_attribute(&attributes, CKA_CLASS).and_then(Attribute::as_ulong) == Some(CKO_PUBLIC_KEY);
        attributes.extend([
            Attribute::bool(CKA_TOKEN, false),
            Attribute::bool(CKA_PRIVATE, !public),
            Attribute::bool(CKA_MODIFIABLE, true),
            Attribute::bool(CKA_COPYABLE, false),
            Attribute::bool(CKA_DESTROYABLE, true),
        ]);
        attributes.sort_by_key(|a| a.ty);
        Ok(Self { key, attributes })
    }

    /// The member holding it.
    pub fn member(&self) -> &Arc<Member> {
        &self.key.member
    }

    /// Its HSM handle on that member.
    pub fn handle(&self) -> ObjectHandle {
        self.key.handle
    }

    /// A boolean attribute (false when absent).
    pub fn flag(&self, ty: CK_ATTRIBUTE_TYPE) -> bool {
        find_attribute(&self.attributes, ty).and_then(Attribute::as_bool) == Some(true)
    }

    /// `CKA_CLASS`.
    pub fn class(&self) -> u64 {
        find_attribute(&self.attributes, CKA_CLASS).and_then(Attribute::as_ulong).unwrap_or(CK_UNAVAILABLE_INFORMATION)
    }

    /// True when PKCS#11 lets the key's value be read: extractable and not
    /// sensitive (a secret key only; private key parts stay hidden).
    fn value_readable(&self) -> bool {
        self.class() == CKO_SECRET_KEY && self.flag(CKA_EXTRACTABLE) && !self.flag(CKA_SENSITIVE)
    }

    fn sensitive(&self) -> Vec<CK_ATTRIBUTE_TYPE> {
        match self.class() {
            CKO_PUBLIC_KEY => Vec::new(),
            CKO_SECRET_KEY if self.value_readable() => Vec::new(),
            CKO_PRIVATE_KEY => hsm::SECRET_PARTS.to_vec(),
            _ => vec![CKA_VALUE],
        }
    }

    /// What the module caches: everything but what can change.
    pub fn description(&self, id: ObjectId) -> ObjectDescription {
        let fixed = self.attributes.iter().filter(|a| !KEPT_BY_DAEMON.contains(&a.ty)).cloned().collect();
        ObjectDescription { id, fixed, sensitive: self.sensitive() }
    }

    /// One attribute's value. The value of a secret key that is
    /// extractable and not sensitive is read from the HSM, as PKCS#11
    /// allows; every other key value stays hidden.
    pub fn attribute(&self, ty: CK_ATTRIBUTE_TYPE) -> AttributeValue {
        if self.sensitive().contains(&ty) {
            return AttributeValue::Sensitive;
        }
        if ty == CKA_VALUE && self.value_readable() {
            return match hsm::secret_value(self.member(), self.handle()) {
                Ok(value) => AttributeValue::Value(value.to_vec()),
                Err(_) => AttributeValue::Sensitive,
            };
        }
        match find_attribute(&self.attributes, ty) {
            Some(a) => AttributeValue::Value(a.value.clone()),
            None => AttributeValue::Invalid,
        }
    }

    /// True when every attribute of `template` has the same value here.
    pub fn matches(&self, template: &[Attribute]) -> bool {
        template.iter().all(|w| find_attribute(&self.attributes, w.ty).is_some_and(|h| h.value == w.value))
    }

    /// `C_SetAttributeValue`: label, id and dates may change; the rest is
    /// the HSM's.
    pub fn modified(&self, template: &[Attribute]) -> Result<Self, DataError> {
        let mut next = self.clone();
        for given in template {
            let current = find_attribute(&self.attributes, given.ty).ok_or(rv(CKR_ATTRIBUTE_TYPE_INVALID))?;
            if current.value == given.value {
                continue;
            }
            if !KEPT_BY_DAEMON.contains(&given.ty) {
                return Err(rv(CKR_ATTRIBUTE_READ_ONLY));
            }
            if let Some(slot) = next.attributes.iter_mut().find(|a| a.ty == given.ty) {
                slot.value = given.value.clone();
            }
        }
        Ok(next)
    }
}

/// The serving member of the slot's cluster, for a logged-in client.
fn member_for(service: &Service, client: &ClientId, slot: u64) -> Result<Arc<Member>, DataError> {
    require_login(service, client, slot)?;
    let cluster = super::slots::cluster(service, slot, CKR_FUNCTION_NOT_SUPPORTED)?;
    let member = cluster.cluster.serving_member()?;
    Ok(member.clone())
}

/// Key generation mechanisms for session keys.
fn generation_mechanism(mechanism: &Mechanism) -> Result<CkMechanism<'static>, DataError> {
    let none = matches!(mechanism.param, p11kms_proto::pkcs11::MechParam::None);
    let m = match mechanism.ty {
        CKM_AES_KEY_GEN => CkMechanism::AesKeyGen,
        CKM_GENERIC_SECRET_KEY_GEN => CkMechanism::GenericSecretKeyGen,
        CKM_EC_KEY_PAIR_GEN => CkMechanism::EccKeyPairGen,
        CKM_RSA_PKCS_KEY_PAIR_GEN => CkMechanism::RsaPkcsKeyPairGen,
        CKM_EC_EDWARDS_KEY_PAIR_GEN => CkMechanism::EccEdwardsKeyPairGen,
        _ => return Err(rv(CKR_MECHANISM_INVALID)),
    };
    if none { Ok(m) } else { Err(rv(CKR_MECHANISM_PARAM_INVALID)) }
}

fn keep(service: &Service, client: &ClientId, slot: u64, key: SessionKey) -> Result<ObjectDescription, DataError> {
    let id = service.clients.add_key(client, slot, key.clone())?;
    Ok(key.description(id))
}

/// `GenerateKey` of a session key.
pub fn generate_key(
    service: &Service,
    client: &ClientId,
    slot: u64,
    mechanism: &Mechanism,
    template: &[Attribute],
) -> Result<DataReply, DataError> {
    let ck = generation_mechanism(mechanism)?;
    if !matches!(mechanism.ty, CKM_AES_KEY_GEN | CKM_GENERIC_SECRET_KEY_GEN) {
        return Err(rv(CKR_MECHANISM_INVALID));
    }
    let member = member_for(service, client, slot)?;
    let hsm_template = hsm::hsm_template(template, true).map_err(rv)?;
    let handle = hsm::generate_key(&member, &ck, &hsm_template)?;
    let key = SessionKey::new(&member, handle, template, Some(mechanism.ty))?;
    Ok(DataReply::Objects(vec![keep(service, client, slot, key)?]))
}

/// `CreateObject` of a secret or private key with its values: a session
/// key only. Key material enters KMS keys through BYOK alone, so a token
/// template is `CKR_ATTRIBUTE_VALUE_INVALID`.
pub fn import(service: &Service, client: &ClientId, slot: u64, template: &[Attribute]) -> Result<DataReply, DataError> {
    if find_attribute(template, CKA_TOKEN).and_then(Attribute::as_bool) == Some(true) {
        return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID));
    }
    let member = member_for(service, client, slot)?;
    let hsm_template = hsm::import_template(template).map_err(rv)?;
    let handle = hsm::import(&member, &hsm_template)?;
    let key = SessionKey::new(&member, handle, template, None)?;
    Ok(DataReply::Objects(vec![keep(service, client, slot, key)?]))
}

/// `GenerateKeyPair` of a session key pair; the public key comes first.
pub fn generate_key_pair(
    service: &Service,
    client: &ClientId,
    slot: u64,
    mechanism: &Mechanism,
    public_template: &[Attribute],
    private_template: &[Attribute],
) -> Result<DataReply, DataError> {
    let ck = generation_mechanism(mechanism)?;
    if matches!(mechanism.ty, CKM_AES_KEY_GEN | CKM_GENERIC_SECRET_KEY_GEN) {
        return Err(rv(CKR_MECHANISM_INVALID));
    }
    let member = member_for(service, client, slot)?;
    let public = hsm::hsm_template(public_template, false).map_err(rv)?;
    let private = hsm::hsm_template(private_template, true).map_err(rv)?;
    let (public_handle, private_handle) = hsm::generate_key_pair(&member, &ck, &public, &private)?;
    let public_key = SessionKey::new(&member, public_handle, public_template, Some(mechanism.ty))?;
    let private_key = SessionKey::new(&member, private_handle, private_template, Some(mechanism.ty))?;
    let public = keep(service, client, slot, public_key)?;
    let private = keep(service, client, slot, private_key)?;
    Ok(DataReply::Objects(vec![public, private]))
}

/// The session key `object` of the client in `slot`.
pub fn session_key(service: &Service, client: &ClientId, slot: u64, object: ObjectId) -> Option<SessionKey> {
    service.clients.key(client, slot, object)
}

fn require_login(service: &Service, client: &ClientId, slot: u64) -> Result<(), DataError> {
    if service.clients.is_logged_in(client, slot) { Ok(()) } else { Err(rv(CKR_USER_NOT_LOGGED_IN)) }
}

/// The template of a key made from others (unwrapped, derived): a session
/// key, never a token one, which would import key material past BYOK.
fn new_key_template(template: &[Attribute]) -> Result<Vec<cryptoki::object::Attribute>, DataError> {
    if find_attribute(template, CKA_TOKEN).and_then(Attribute::as_bool) == Some(true) {
        return Err(rv(CKR_TEMPLATE_INCONSISTENT));
    }
    hsm::hsm_template(template, true).map_err(rv)
}

/// `WrapKey`: a session key, wrapped by a session key. KMS keys are never
/// extractable (`CKR_KEY_UNEXTRACTABLE`) and never wrap
/// (`CKR_WRAPPING_KEY_HANDLE_INVALID`).
pub fn wrap(
    service: &Service,
    client: &ClientId,
    slot: u64,
    mechanism: &mut Mechanism,
    wrapping: ObjectId,
    key: ObjectId,
) -> Result<DataReply, DataError> {
    require_login(service, client, slot)?;
    let wrapping = session_key(service, client, slot, wrapping).ok_or(rv(CKR_WRAPPING_KEY_HANDLE_INVALID))?;
    let key = session_key(service, client, slot, key).ok_or(rv(CKR_KEY_UNEXTRACTABLE))?;
    if !wrapping.flag(CKA_WRAP) {
        return Err(rv(CKR_KEY_FUNCTION_NOT_PERMITTED));
    }
    if !key.flag(CKA_EXTRACTABLE) {
        return Err(rv(CKR_KEY_UNEXTRACTABLE));
    }
    if !Arc::ptr_eq(wrapping.member(), key.member()) {
        return Err(rv(CKR_KEY_HANDLE_INVALID));
    }
    let mut storage = crate::hsm::mechanism::ParamStorage::default();
    let ck = crate::hsm::mechanism::to_cryptoki(mechanism, &mut storage).map_err(rv)?;
    hsm::wrap(wrapping.member(), &ck, wrapping.handle(), key.handle()).map(DataReply::Bytes).map_err(DataError::from)
}

/// `UnwrapKey` into a new session key. Unwrapping into a token object
/// would import key material past BYOK: `CKR_TEMPLATE_INCONSISTENT`.
pub fn unwrap(
    service: &Service,
    client: &ClientId,
    slot: u64,
    mechanism: &mut Mechanism,
    unwrapping: ObjectId,
    wrapped: &[u8],
    template: &[Attribute],
) -> Result<DataReply, DataError> {
    require_login(service, client, slot)?;
    let hsm_template = new_key_template(template)?;
    let unwrapping = session_key(service, client, slot, unwrapping).ok_or(rv(CKR_UNWRAPPING_KEY_HANDLE_INVALID))?;
    if !unwrapping.flag(CKA_UNWRAP) {
        return Err(rv(CKR_KEY_FUNCTION_NOT_PERMITTED));
    }
    let mut storage = crate::hsm::mechanism::ParamStorage::default();
    let ck = crate::hsm::mechanism::to_cryptoki(mechanism, &mut storage).map_err(rv)?;
    let member = unwrapping.member().clone();
    let handle = hsm::unwrap(&member, &ck, unwrapping.handle(), wrapped, &hsm_template)?;
    let key = SessionKey::new(&member, handle, template, None)?;
    Ok(DataReply::Objects(vec![keep(service, client, slot, key)?]))
}

/// `DeriveKey` (ECDH) from a session private key into a new session key.
pub fn derive(
    service: &Service,
    client: &ClientId,
    slot: u64,
    mechanism: &mut Mechanism,
    base: ObjectId,
    template: &[Attribute],
) -> Result<DataReply, DataError> {
    require_login(service, client, slot)?;
    let hsm_template = new_key_template(template)?;
    let base = session_key(service, client, slot, base).ok_or(rv(CKR_KEY_HANDLE_INVALID))?;
    if !base.flag(CKA_DERIVE) {
        return Err(rv(CKR_KEY_FUNCTION_NOT_PERMITTED));
    }
    let mut storage = crate::hsm::mechanism::ParamStorage::default();
    let ck = crate::hsm::mechanism::to_cryptoki(mechanism, &mut storage).map_err(rv)?;
    let member = base.member().clone();
    let handle = hsm::derive(&member, &ck, base.handle(), &hsm_template)?;
    let key = SessionKey::new(&member, handle, template, None)?;
    Ok(DataReply::Objects(vec![keep(service, client, slot, key)?]))
}
