//! A session key as the data plane holds it ([`SessionKey`]): the HSM
//! object on a member of the slot's cluster, destroyed on the HSM when the
//! last reference goes, and the attributes the application sees. The
//! requests that make and use them are in [`super::session_keys`].

use std::sync::Arc;

use cryptoki::object::ObjectHandle;
use cryptoki_sys::*;

use p11kms_proto::pkcs11::{Attribute, AttributeValue, ObjectDescription, ObjectId, find_attribute};

use super::error::{DataError, rv};
use crate::hsm::session_keys as hsm;
use crate::hsm::{Member, PublicKey};

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
/// the application sees (the HSM's, with the application's label and id,
/// and its own `CKA_EXTRACTABLE`).
#[derive(Clone, Debug)]
pub struct SessionKey {
    key: Arc<KeyHandle>,
    attributes: Vec<Attribute>,
    /// Generated in the HSM by the daemon (not imported, unwrapped or
    /// derived): its material was never outside the HSM.
    generated: bool,
    /// The public half of a generated pair, kept with the private half
    /// (an EC private key does not carry its point).
    public: Option<Arc<PublicKey>>,
}

/// Attributes the application sets that the daemon keeps (the HSM object
/// carries the daemon's mark instead).
const KEPT_BY_DAEMON: &[CK_ATTRIBUTE_TYPE] = &[CKA_LABEL, CKA_ID, CKA_START_DATE, CKA_END_DATE, CKA_SUBJECT];

impl SessionKey {
    /// Bytes it takes in the daemon's memory (the key itself is the
    /// HSM's): its attributes, and a fixed share for its handle.
    pub fn size(&self) -> usize {
        64 + self.attributes.iter().map(|a| a.value.len() + 16).sum::<usize>()
    }

    /// Describes a new HSM object; `generated_by` is the key generation
    /// mechanism (none for unwrapped and derived keys).
    pub(super) fn new(
        member: &Arc<Member>,
        handle: ObjectHandle,
        template: &[Attribute],
        generated_by: Option<u64>,
    ) -> Result<Self, DataError> {
        let key = Arc::new(KeyHandle { member: member.clone(), handle });
        let mut attributes = hsm::describe(member, handle)?;
        attributes.push(Attribute::ulong(CKA_KEY_GEN_MECHANISM, generated_by.unwrap_or(CK_UNAVAILABLE_INFORMATION)));
        let class = find_attribute(&attributes, CKA_CLASS).and_then(Attribute::as_ulong);
        if generated_by.is_some() && matches!(class, Some(CKO_SECRET_KEY | CKO_PRIVATE_KEY)) {
            // The HSM object is extractable so that the cluster key can
            // wrap it should the application store it as a KMS key
            // (`hsm::session_keys::generation_template`); the application
            // sees, and the daemon enforces, what it asked (PKCS#11's and
            // SoftHSM's default: not extractable).
            let extractable = find_attribute(template, CKA_EXTRACTABLE).and_then(Attribute::as_bool) == Some(true);
            attributes.retain(|a| !matches!(a.ty, CKA_EXTRACTABLE | CKA_NEVER_EXTRACTABLE));
            attributes.push(Attribute::bool(CKA_EXTRACTABLE, extractable));
            attributes.push(Attribute::bool(CKA_NEVER_EXTRACTABLE, !extractable));
        }
        for ty in KEPT_BY_DAEMON.iter().chain([&CKA_ALLOWED_MECHANISMS]) {
            let value = find_attribute(template, *ty).map(|a| a.value.clone()).unwrap_or_default();
            attributes.push(Attribute::bytes(*ty, value));
        }
        let public = find_attribute(&attributes, CKA_CLASS).and_then(Attribute::as_ulong) == Some(CKO_PUBLIC_KEY);
        // Private as the template says; by default a secret or private key
        // is, a public key is not (SoftHSM's defaults).
        let asked = find_attribute(template, CKA_PRIVATE).and_then(Attribute::as_bool);
        let private = asked.unwrap_or(!public);
        attributes.extend([
            Attribute::bool(CKA_TOKEN, false),
            Attribute::bool(CKA_PRIVATE, private),
            Attribute::bool(CKA_MODIFIABLE, true),
            Attribute::bool(CKA_COPYABLE, true),
            Attribute::bool(CKA_DESTROYABLE, true),
        ]);
        attributes.sort_by_key(|a| a.ty);
        Ok(Self { key, attributes, generated: generated_by.is_some(), public: None })
    }

    /// The private half of a generated pair, knowing its public half.
    pub(super) fn with_public(self, public: &SessionKey) -> Self {
        let value = |ty| find_attribute(&public.attributes, ty).map(|a| a.value.clone());
        let key = match (value(CKA_MODULUS), value(CKA_PUBLIC_EXPONENT), value(CKA_EC_PARAMS), value(CKA_EC_POINT)) {
            (Some(modulus), Some(exponent), ..) => Some(PublicKey::Rsa { modulus, exponent }),
            (_, _, Some(params), Some(point)) => Some(PublicKey::Ec { params, point }),
            _ => None,
        };
        Self { public: key.map(Arc::new), ..self }
    }

    /// A copy of this key as another HSM object `handle` on the same
    /// member (`C_CopyObject` within the session), with `template`'s
    /// changes already checked by [`SessionKey::modified`].
    pub(super) fn copied_as(&self, handle: ObjectHandle, changed: &SessionKey) -> Self {
        let key = Arc::new(KeyHandle { member: self.key.member.clone(), handle });
        Self { key, ..changed.clone() }
    }

    /// True when its material never left the HSM: generated there, and
    /// never extractable for the application. Only such a key may become
    /// a KMS key (`super::promote`).
    pub fn never_left_the_hsm(&self) -> bool {
        self.generated && self.flag(CKA_NEVER_EXTRACTABLE) && !self.flag(CKA_EXTRACTABLE)
    }

    /// The public half of a generated pair (on its private half).
    pub fn public_key(&self) -> Option<&PublicKey> {
        self.public.as_deref()
    }

    /// All its attributes, as the application sees them (values hidden by
    /// [`SessionKey::attribute`] included: for the daemon's own use).
    pub(super) fn attributes(&self) -> &[Attribute] {
        &self.attributes
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

    /// False when the key's `CKA_ALLOWED_MECHANISMS` (fixed at creation,
    /// kept by the daemon: [`crate::hsm::session_keys::hsm_template`])
    /// lists mechanisms and `mechanism` is not among them.
    pub fn allows(&self, mechanism: u64) -> bool {
        p11kms_proto::pkcs11::mechanism_allowed(find_attribute(&self.attributes, CKA_ALLOWED_MECHANISMS), mechanism)
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
