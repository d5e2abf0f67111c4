//! Objects applications create with `C_CreateObject` or `C_CopyObject`:
//! data objects, X.509 certificates, and RSA or EC public keys. None holds
//! secret key material (that enters only through key generation or BYOK),
//! so the daemon keeps them itself: token objects in the store, session
//! objects in memory for the client that made them.
//!
//! This module is PKCS#11's template rules for those classes, one table
//! per class: which attributes exist, their shape, their default, whether
//! they are required at creation and when they may change afterwards.

use cryptoki_sys::*;

use p11kms_proto::pkcs11::{Attribute, AttributeValue, ObjectDescription, ObjectId, find_attribute};
use sha1::{Digest, Sha1};

/// Where a created object lives, as its object id says. Key objects use
/// ids whose two low bits are not zero (`data::objects`); created objects
/// use the other quarter: token objects `n << 3`, session objects
/// `n << 3 | 4`. Ids with the top bit are secrets' (`data::secret_objects`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreatedId {
    /// A token object: its number in the store.
    Token(u64),
    /// A session object of the asking client.
    Session(ObjectId),
}

/// The object id of stored object `object_no`.
pub fn token_object_id(object_no: u64) -> ObjectId {
    object_no << 3
}

/// The object id of the `n`-th session object.
pub fn session_object_id(n: u64) -> ObjectId {
    (n << 3) | 4
}

/// Which created object an id names, if it names one.
pub fn parse_created_id(id: ObjectId) -> Option<CreatedId> {
    if id & super::object_ids::SECRET_BIT != 0 {
        return None;
    }
    match id & 7 {
        0 if id != 0 => Some(CreatedId::Token(id >> 3)),
        4 => Some(CreatedId::Session(id)),
        _ => None,
    }
}

/// Largest value of one attribute, and of all attributes of an object:
/// the largest value the module takes from an application.
pub const MAX_OBJECT_BYTES: usize = p11kms_proto::pkcs11::MAX_ATTRIBUTE_VALUE_LEN;

/// Largest value the module caches with an object's description; larger
/// ones it asks for when the application reads them.
pub const MAX_CACHED_VALUE: usize = 1024;

/// The shape of an attribute's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// `CK_BBOOL`.
    Bool,
    /// `CK_ULONG`.
    Ulong,
    /// A byte string (DER, UTF-8, opaque).
    Bytes,
    /// `CK_DATE`: empty or eight ASCII digits.
    Date,
}

/// When an attribute may be given or changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    /// Set at creation, changeable with `C_SetAttributeValue` and in a copy.
    Modifiable,
    /// Set at creation only; fixed afterwards.
    OnCreate,
    /// Set at creation or in a copy (`CKA_TOKEN`, `CKA_PRIVATE`,
    /// `CKA_MODIFIABLE`), never with `C_SetAttributeValue`.
    OnCreateOrCopy,
    /// May only go from true to false after creation.
    Lowerable,
    /// Computed by the daemon; an application may not give it.
    Computed,
}

/// One attribute of a class.
#[derive(Clone, Copy, Debug)]
struct Rule {
    ty: CK_ATTRIBUTE_TYPE,
    shape: Shape,
    change: Change,
    required: bool,
    default: Default,
}

/// A default value.
#[derive(Clone, Copy, Debug)]
enum Default {
    Bool(bool),
    Ulong(u64),
    Empty,
    /// No default: absent unless given (or computed).
    None,
}

const fn rule(ty: CK_ATTRIBUTE_TYPE, shape: Shape, change: Change, default: Default) -> Rule {
    Rule { ty, shape, change, required: false, default }
}

const fn required(ty: CK_ATTRIBUTE_TYPE, shape: Shape) -> Rule {
    Rule { ty, shape, change: Change::OnCreate, required: true, default: Default::None }
}

use Change::{Computed, Lowerable, Modifiable, OnCreate, OnCreateOrCopy};
use Shape::{Bool, Bytes, Date, Ulong};

use super::error::{DataError, rv};

/// Attributes every storage object has.
const STORAGE: &[Rule] = &[
    required(CKA_CLASS, Ulong),
    rule(CKA_TOKEN, Bool, OnCreateOrCopy, Default::Bool(false)),
    rule(CKA_MODIFIABLE, Bool, OnCreateOrCopy, Default::Bool(true)),
    rule(CKA_COPYABLE, Bool, Lowerable, Default::Bool(true)),
    rule(CKA_DESTROYABLE, Bool, Lowerable, Default::Bool(true)),
    rule(CKA_LABEL, Bytes, Modifiable, Default::Empty),
    rule(CKA_UNIQUE_ID, Bytes, Computed, Default::None),
];

/// `CKO_DATA`. Private by default: data objects often hold things worth
/// hiding from sessions that are not logged in.
const DATA: &[Rule] = &[
    rule(CKA_PRIVATE, Bool, OnCreateOrCopy, Default::Bool(true)),
    rule(CKA_APPLICATION, Bytes, Modifiable, Default::Empty),
    rule(CKA_OBJECT_ID, Bytes, Modifiable, Default::Empty),
    rule(CKA_VALUE, Bytes, Modifiable, Default::Empty),
];

/// `CKO_CERTIFICATE` of type `CKC_X_509`.
const CERTIFICATE: &[Rule] = &[
    rule(CKA_PRIVATE, Bool, OnCreateOrCopy, Default::Bool(false)),
    required(CKA_CERTIFICATE_TYPE, Ulong),
    // Trusted certificates need the security officer, whom p11kms does not
    // have: only `false` is accepted.
    rule(CKA_TRUSTED, Bool, OnCreate, Default::Bool(false)),
    rule(CKA_CERTIFICATE_CATEGORY, Ulong, OnCreate, Default::Ulong(0)),
    rule(CKA_CHECK_VALUE, Bytes, Computed, Default::None),
    rule(CKA_START_DATE, Date, Modifiable, Default::Empty),
    rule(CKA_END_DATE, Date, Modifiable, Default::Empty),
    rule(CKA_PUBLIC_KEY_INFO, Bytes, OnCreate, Default::Empty),
    required(CKA_SUBJECT, Bytes),
    rule(CKA_ID, Bytes, Modifiable, Default::Empty),
    rule(CKA_ISSUER, Bytes, Modifiable, Default::Empty),
    rule(CKA_SERIAL_NUMBER, Bytes, Modifiable, Default::Empty),
    required(CKA_VALUE, Bytes),
    rule(CKA_URL, Bytes, OnCreate, Default::Empty),
    rule(CKA_HASH_OF_SUBJECT_PUBLIC_KEY, Bytes, OnCreate, Default::Empty),
    rule(CKA_HASH_OF_ISSUER_PUBLIC_KEY, Bytes, OnCreate, Default::Empty),
    rule(CKA_JAVA_MIDP_SECURITY_DOMAIN, Ulong, OnCreate, Default::Ulong(0)),
    rule(CKA_NAME_HASH_ALGORITHM, Ulong, OnCreate, Default::Ulong(CKM_SHA_1)),
];

/// `CKO_PUBLIC_KEY`, any key type.
const PUBLIC_KEY: &[Rule] = &[
    rule(CKA_PRIVATE, Bool, OnCreateOrCopy, Default::Bool(false)),
    required(CKA_KEY_TYPE, Ulong),
    rule(CKA_ID, Bytes, Modifiable, Default::Empty),
    rule(CKA_START_DATE, Date, Modifiable, Default::Empty),
    rule(CKA_END_DATE, Date, Modifiable, Default::Empty),
    rule(CKA_DERIVE, Bool, Modifiable, Default::Bool(false)),
    rule(CKA_LOCAL, Bool, Computed, Default::Bool(false)),
    rule(CKA_KEY_GEN_MECHANISM, Ulong, Computed, Default::Ulong(CK_UNAVAILABLE_INFORMATION)),
    rule(CKA_SUBJECT, Bytes, Modifiable, Default::Empty),
    rule(CKA_ENCRYPT, Bool, Modifiable, Default::Bool(true)),
    rule(CKA_VERIFY, Bool, Modifiable, Default::Bool(true)),
    rule(CKA_VERIFY_RECOVER, Bool, Modifiable, Default::Bool(true)),
    rule(CKA_WRAP, Bool, Modifiable, Default::Bool(true)),
    rule(CKA_TRUSTED, Bool, OnCreate, Default::Bool(false)),
    rule(CKA_PUBLIC_KEY_INFO, Bytes, OnCreate, Default::Empty),
    rule(CKA_ALLOWED_MECHANISMS, Bytes, OnCreate, Default::Empty),
];

/// `CKK_RSA` public keys.
const RSA_PUBLIC: &[Rule] = &[
    required(CKA_MODULUS, Bytes),
    required(CKA_PUBLIC_EXPONENT, Bytes),
    rule(CKA_MODULUS_BITS, Ulong, Computed, Default::None),
];

/// `CKK_EC` public keys.
const EC_PUBLIC: &[Rule] = &[required(CKA_EC_PARAMS, Bytes), required(CKA_EC_POINT, Bytes)];

/// The rules of an object with these class and type attributes.
fn rules_for(template: &[Attribute]) -> Result<Vec<&'static Rule>, DataError> {
    let class = find_attribute(template, CKA_CLASS).ok_or(rv(CKR_TEMPLATE_INCOMPLETE))?;
    let class = class.as_ulong().ok_or(rv(CKR_ATTRIBUTE_VALUE_INVALID))?;
    let mut rules: Vec<&'static Rule> = STORAGE.iter().collect();
    match class {
        CKO_DATA => rules.extend(DATA),
        CKO_CERTIFICATE => {
            let ty = find_attribute(template, CKA_CERTIFICATE_TYPE).ok_or(rv(CKR_TEMPLATE_INCOMPLETE))?;
            if ty.as_ulong() != Some(CKC_X_509) {
                return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID));
            }
            rules.extend(CERTIFICATE);
        }
        CKO_PUBLIC_KEY => {
            let ty = find_attribute(template, CKA_KEY_TYPE).ok_or(rv(CKR_TEMPLATE_INCOMPLETE))?;
            rules.extend(PUBLIC_KEY);
            match ty.as_ulong() {
                Some(CKK_RSA) => rules.extend(RSA_PUBLIC),
                Some(CKK_EC) => rules.extend(EC_PUBLIC),
                _ => return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)),
            }
        }
        // Keys with secret material come from key generation or BYOK;
        // other classes are not kept.
        CKO_SECRET_KEY | CKO_PRIVATE_KEY => return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)),
        _ => return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)),
    }
    Ok(rules)
}

fn check_shape(shape: Shape, attribute: &Attribute) -> Result<(), DataError> {
    let ok = match shape {
        Bool => attribute.as_bool().is_some(),
        Ulong => attribute.as_ulong().is_some(),
        Bytes => attribute.value.len() <= MAX_OBJECT_BYTES,
        Date => {
            attribute.value.is_empty() || (attribute.value.len() == 8 && attribute.value.iter().all(u8::is_ascii_digit))
        }
    };
    if ok { Ok(()) } else { Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)) }
}

/// Refuses a template that names an attribute twice with different values.
fn check_consistent(template: &[Attribute]) -> Result<(), DataError> {
    for (i, a) in template.iter().enumerate() {
        if template[..i].iter().any(|b| b.ty == a.ty && b.value != a.value) {
            return Err(rv(CKR_TEMPLATE_INCONSISTENT));
        }
    }
    Ok(())
}

fn default_value(rule: &Rule) -> Option<Attribute> {
    match rule.default {
        Default::Bool(b) => Some(Attribute::bool(rule.ty, b)),
        Default::Ulong(n) => Some(Attribute::ulong(rule.ty, n)),
        Default::Empty => Some(Attribute::bytes(rule.ty, Vec::new())),
        Default::None => None,
    }
}

/// An object as created: every attribute it has, sorted by type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedObject {
    attributes: Vec<Attribute>,
}

impl CreatedObject {
    /// Checks an application's `C_CreateObject` template and fills in
    /// defaults and computed attributes.
    pub fn create(template: &[Attribute]) -> Result<Self, DataError> {
        check_consistent(template)?;
        let rules = rules_for(template)?;
        for given in template {
            let rule = rules.iter().find(|r| r.ty == given.ty).ok_or(rv(CKR_ATTRIBUTE_TYPE_INVALID))?;
            check_shape(rule.shape, given)?;
            if rule.change == Computed {
                return Err(rv(CKR_ATTRIBUTE_READ_ONLY));
            }
        }
        let mut attributes = Vec::new();
        for rule in &rules {
            let given = find_attribute(template, rule.ty);
            if rule.required && given.is_none() {
                return Err(rv(CKR_TEMPLATE_INCOMPLETE));
            }
            if let Some(value) = given.cloned().or_else(|| default_value(rule)) {
                attributes.push(value);
            }
        }
        let mut object = Self { attributes };
        object.check_values()?;
        object.compute();
        Ok(object)
    }

    /// Rebuilds an object from stored attributes (already checked once).
    pub fn from_stored(attributes: Vec<Attribute>) -> Self {
        Self { attributes }
    }

    /// Value rules that go beyond the shape.
    fn check_values(&self) -> Result<(), DataError> {
        if self.bool(CKA_TRUSTED) == Some(true) {
            // Only the security officer may mark a certificate trusted.
            return Err(rv(CKR_ATTRIBUTE_READ_ONLY));
        }
        if self.class() == CKO_PUBLIC_KEY {
            if let Some(modulus) = self.bytes(CKA_MODULUS) {
                let exponent = self.bytes(CKA_PUBLIC_EXPONENT).unwrap_or_default();
                let bits = modulus_bits(modulus);
                if !(512..=16384).contains(&bits) || exponent.iter().all(|b| *b == 0) || exponent.len() > 8 {
                    return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID));
                }
            }
            if self.bytes(CKA_EC_PARAMS).is_some_and(<[u8]>::is_empty)
                || self.bytes(CKA_EC_POINT).is_some_and(<[u8]>::is_empty)
            {
                return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID));
            }
        }
        if self.class() == CKO_CERTIFICATE && self.bytes(CKA_VALUE).is_some_and(<[u8]>::is_empty) {
            return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID));
        }
        if self.size() > MAX_OBJECT_BYTES {
            return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID));
        }
        Ok(())
    }

    /// Fills in the attributes the daemon computes.
    fn compute(&mut self) {
        let mut computed = Vec::new();
        if self.class() == CKO_CERTIFICATE {
            // PKCS#11 3.0 §4.6.3: the first three bytes of the SHA-1 hash
            // of the certificate's value.
            let digest = Sha1::digest(self.bytes(CKA_VALUE).unwrap_or_default());
            computed.push(Attribute::bytes(CKA_CHECK_VALUE, digest[..3].to_vec()));
        }
        if let Some(modulus) = self.bytes(CKA_MODULUS) {
            computed.push(Attribute::ulong(CKA_MODULUS_BITS, modulus_bits(modulus)));
        }
        for attribute in computed {
            self.put(attribute);
        }
    }

    fn put(&mut self, attribute: Attribute) {
        match self.attributes.iter_mut().find(|a| a.ty == attribute.ty) {
            Some(slot) => *slot = attribute,
            None => self.attributes.push(attribute),
        }
        self.attributes.sort_by_key(|a| a.ty);
    }

    /// Gives the object its unique id (`CKA_UNIQUE_ID`), the object id in
    /// decimal, once it has one.
    pub fn set_unique_id(&mut self, id: ObjectId) {
        self.put(Attribute::bytes(CKA_UNIQUE_ID, id.to_string().into_bytes()));
    }

    /// Every attribute.
    pub fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }

    fn get(&self, ty: CK_ATTRIBUTE_TYPE) -> Option<&Attribute> {
        find_attribute(&self.attributes, ty)
    }

    fn bool(&self, ty: CK_ATTRIBUTE_TYPE) -> Option<bool> {
        self.get(ty).and_then(Attribute::as_bool)
    }

    fn bytes(&self, ty: CK_ATTRIBUTE_TYPE) -> Option<&[u8]> {
        self.get(ty).map(|a| a.value.as_slice())
    }

    /// A boolean attribute, false when absent.
    pub fn flag(&self, ty: CK_ATTRIBUTE_TYPE) -> bool {
        self.bool(ty) == Some(true)
    }

    /// `CKA_CLASS`.
    pub fn class(&self) -> u64 {
        self.get(CKA_CLASS).and_then(Attribute::as_ulong).unwrap_or(CK_UNAVAILABLE_INFORMATION)
    }

    /// `CKA_TOKEN`.
    pub fn is_token(&self) -> bool {
        self.bool(CKA_TOKEN) == Some(true)
    }

    /// `CKA_PRIVATE`: seen only by logged-in sessions.
    pub fn is_private(&self) -> bool {
        self.bool(CKA_PRIVATE) == Some(true)
    }

    /// `CKA_DESTROYABLE`.
    pub fn is_destroyable(&self) -> bool {
        self.bool(CKA_DESTROYABLE) != Some(false)
    }

    /// Bytes the object takes, as `C_GetObjectSize` reports.
    pub fn size(&self) -> usize {
        self.attributes.iter().map(|a| a.value.len() + 16).sum()
    }

    /// `C_SetAttributeValue`: the object after the change.
    pub fn modified(&self, template: &[Attribute]) -> Result<Self, DataError> {
        if self.bool(CKA_MODIFIABLE) == Some(false) {
            return Err(rv(CKR_ACTION_PROHIBITED));
        }
        self.changed(template, false)
    }

    /// `C_CopyObject`: the copy, with the template's changes.
    pub fn copied(&self, template: &[Attribute]) -> Result<Self, DataError> {
        if self.bool(CKA_COPYABLE) == Some(false) {
            return Err(rv(CKR_ACTION_PROHIBITED));
        }
        let mut copy = self.changed(template, true)?;
        copy.attributes.retain(|a| a.ty != CKA_UNIQUE_ID);
        Ok(copy)
    }

    fn changed(&self, template: &[Attribute], copy: bool) -> Result<Self, DataError> {
        check_consistent(template)?;
        let rules = rules_for(&self.attributes)?;
        let mut next = self.clone();
        for given in template {
            let rule = rules.iter().find(|r| r.ty == given.ty).ok_or(rv(CKR_ATTRIBUTE_TYPE_INVALID))?;
            check_shape(rule.shape, given)?;
            let current = self.get(given.ty);
            let unchanged = current.is_some_and(|c| c.value == given.value);
            let allowed = match rule.change {
                Modifiable => true,
                OnCreateOrCopy => copy && (given.ty != CKA_MODIFIABLE || given.as_bool() == Some(false)),
                Lowerable => given.as_bool() == Some(false),
                OnCreate | Computed => false,
            };
            if !allowed && !unchanged {
                return Err(rv(CKR_ATTRIBUTE_READ_ONLY));
            }
            next.put(given.clone());
        }
        next.check_values()?;
        Ok(next)
    }

    /// The attributes that can never change: the module may cache them.
    /// The rest is read from the daemon each time.
    pub fn fixed(&self) -> Vec<Attribute> {
        let Ok(rules) = rules_for(&self.attributes) else {
            return Vec::new();
        };
        let frozen = self.bool(CKA_MODIFIABLE) == Some(false);
        self.attributes
            .iter()
            // Large values (a certificate, a data object's value) are read
            // on demand: a find stays small whatever the objects hold.
            .filter(|a| a.value.len() <= MAX_CACHED_VALUE)
            .filter(|a| {
                rules.iter().any(|r| {
                    r.ty == a.ty
                        && match r.change {
                            OnCreate | Computed | OnCreateOrCopy => true,
                            Modifiable => frozen,
                            Lowerable => false,
                        }
                })
            })
            .cloned()
            .collect()
    }

    /// What the module caches about the object.
    pub fn description(&self, id: ObjectId) -> ObjectDescription {
        ObjectDescription { id, fixed: self.fixed(), sensitive: Vec::new() }
    }

    /// One attribute's current value.
    pub fn attribute(&self, ty: CK_ATTRIBUTE_TYPE) -> AttributeValue {
        match self.get(ty) {
            Some(a) => AttributeValue::Value(a.value.clone()),
            None => AttributeValue::Invalid,
        }
    }

    /// True when every attribute of `template` has the same value here.
    pub fn matches(&self, template: &[Attribute]) -> bool {
        template.iter().all(|wanted| self.get(wanted.ty).is_some_and(|have| have.value == wanted.value))
    }
}

/// The bit length of a big-endian unsigned integer.
fn modulus_bits(modulus: &[u8]) -> u64 {
    let Some(first) = modulus.iter().position(|b| *b != 0) else {
        return 0;
    };
    let rest = (modulus.len() - first - 1) as u64;
    rest * 8 + u64::from(8 - modulus[first].leading_zeros())
}

#[cfg(test)]
mod tests;
