//! Key versions as PKCS#11 objects.
//!
//! A symmetric version is one secret-key object; an asymmetric version is a
//! private-key and a public-key object. Object ids are derived from the
//! version's sequence number in the store (never reused), so an object
//! keeps its id for life: `seq << 2 | role`.
//!
//! The primary version's `CKA_LABEL` is the key's name (its oldest alias
//! without `alias/`, else its key id), and a search by label also accepts
//! any alias, with or without the prefix, and the key id. Other versions
//! are labelled `<name>#<version id>`, so a search by the key's name finds
//! exactly one object per class: the primary version. Every version keeps
//! `CKA_ID` = its version id's 16 bytes, except that the primary version
//! of a key an application gave a `CKA_ID` (`KeyEntry::app_id`) shows
//! that id; a search finds a version by either. Such a key's `CKA_ID` is
//! left out of the cached attributes, since a rotation moves it.

use cryptoki_sys::*;

use p11kms_proto::admin::{KeySpec, KeyUsage, Origin};
use p11kms_proto::pkcs11::{Attribute, AttributeValue, ObjectDescription, ObjectId, find_attribute, mechanisms_value};

use crate::hsm::objects::{aes_len, ec_params};
use crate::hsm::{ObjectRole, PublicKey};
use crate::kms::registry::{KeyEntry, VersionEntry};

/// The object id of one object of a version.
pub fn object_id(seq: u64, role: ObjectRole) -> ObjectId {
    let code = match role {
        ObjectRole::Secret => 1,
        ObjectRole::Private => 2,
        ObjectRole::Public => 3,
    };
    (seq << 2) | code
}

/// The version sequence number and role behind an object id (none for the
/// top bit's ids, which are secrets').
pub fn parse_object_id(id: ObjectId) -> Option<(u64, ObjectRole)> {
    if id & super::object_ids::SECRET_BIT != 0 {
        return None;
    }
    let role = match id & 3 {
        1 => ObjectRole::Secret,
        2 => ObjectRole::Private,
        3 => ObjectRole::Public,
        _ => return None,
    };
    Some((id >> 2, role))
}

/// One object of one version of one key.
#[derive(Clone, Copy, Debug)]
pub struct ObjectView<'a> {
    /// The key.
    pub key: &'a KeyEntry,
    /// The version.
    pub version: &'a VersionEntry,
    /// Which object of the version.
    pub role: ObjectRole,
}

impl<'a> ObjectView<'a> {
    /// Every object of a key, all versions.
    pub fn all_of(key: &'a KeyEntry) -> impl Iterator<Item = ObjectView<'a>> {
        key.versions.iter().filter(|v| v.record.has_material).flat_map(move |version| {
            let roles: &'static [ObjectRole] = if key.record.key_spec.is_symmetric() {
                &[ObjectRole::Secret]
            } else {
                &[ObjectRole::Private, ObjectRole::Public]
            };
            roles.iter().map(move |role| ObjectView { key, version, role: *role })
        })
    }

    /// This object's id.
    pub fn id(&self) -> ObjectId {
        object_id(self.version.record.seq, self.role)
    }

    /// True for the primary version's objects.
    pub fn is_primary(&self) -> bool {
        self.version.record.version_id == self.key.record.primary_version
    }

    /// `CKA_PRIVATE`: whether the object needs a login to be seen.
    pub fn is_private(&self) -> bool {
        self.role != ObjectRole::Public
    }

    /// `CKA_LABEL`.
    pub fn label(&self) -> String {
        if self.is_primary() {
            self.key.label()
        } else {
            format!("{}#{}", self.key.label(), self.version.record.version_id)
        }
    }

    /// `CKA_ID`: the application's id on the primary version of a key that
    /// has one, else the version id.
    pub fn pkcs11_id(&self) -> Vec<u8> {
        match &self.key.app_id {
            Some(id) if self.is_primary() => id.clone(),
            _ => self.version.uuid.to_vec(),
        }
    }

    /// Attribute values that never change for this object (and that the
    /// module may cache).
    pub fn fixed(&self) -> Vec<Attribute> {
        let r = &self.key.record;
        let crypt = r.key_usage == KeyUsage::EncryptDecrypt;
        let sign = r.key_usage == KeyUsage::SignVerify;
        let (class, key_type, generation) = match (self.role, r.key_spec) {
            (ObjectRole::Secret, _) => (CKO_SECRET_KEY, CKK_AES, CKM_AES_KEY_GEN),
            (role, KeySpec::Rsa2048 | KeySpec::Rsa3072) => (class_of(role), CKK_RSA, CKM_RSA_PKCS_KEY_PAIR_GEN),
            (role, _) => (class_of(role), CKK_EC, CKM_EC_KEY_PAIR_GEN),
        };
        let mut a = vec![
            Attribute::ulong(CKA_CLASS, class),
            Attribute::bool(CKA_TOKEN, true),
            Attribute::bool(CKA_PRIVATE, self.is_private()),
            // Only CKA_ID and CKA_LABEL may change (key_names).
            Attribute::bool(CKA_MODIFIABLE, true),
            Attribute::bool(CKA_COPYABLE, false),
            Attribute::bool(CKA_DESTROYABLE, true),
            Attribute::ulong(CKA_KEY_TYPE, key_type),
            Attribute::bool(CKA_LOCAL, r.origin == Origin::AliyunKms),
            Attribute::ulong(CKA_KEY_GEN_MECHANISM, generation),
            Attribute::bool(CKA_DERIVE, false),
            Attribute::bytes(CKA_START_DATE, Vec::new()),
            Attribute::bytes(CKA_END_DATE, Vec::new()),
            Attribute::bytes(CKA_ALLOWED_MECHANISMS, mechanisms_value(&self.key.allowed_mechanisms)),
        ];
        if self.key.app_id.is_none() {
            a.push(Attribute::bytes(CKA_ID, self.version.uuid.to_vec()));
        }
        let protected = [
            Attribute::bool(CKA_SENSITIVE, true),
            Attribute::bool(CKA_EXTRACTABLE, false),
            Attribute::bool(CKA_ALWAYS_SENSITIVE, true),
            Attribute::bool(CKA_NEVER_EXTRACTABLE, true),
            Attribute::bool(CKA_ALWAYS_AUTHENTICATE, false),
            Attribute::bool(CKA_WRAP_WITH_TRUSTED, false),
        ];
        match self.role {
            ObjectRole::Secret => {
                a.extend(protected);
                a.extend([
                    Attribute::bool(CKA_ENCRYPT, crypt),
                    Attribute::bool(CKA_DECRYPT, crypt),
                    Attribute::bool(CKA_SIGN, sign),
                    Attribute::bool(CKA_VERIFY, sign),
                    Attribute::bool(CKA_WRAP, false),
                    Attribute::bool(CKA_UNWRAP, false),
                    Attribute::bool(CKA_TRUSTED, false),
                    Attribute::ulong(CKA_VALUE_LEN, aes_len(r.key_spec).unwrap_or(0)),
                ]);
            }
            ObjectRole::Private => {
                a.extend(protected);
                a.extend([
                    Attribute::bytes(CKA_SUBJECT, Vec::new()),
                    Attribute::bool(CKA_DECRYPT, crypt),
                    Attribute::bool(CKA_SIGN, sign),
                    Attribute::bool(CKA_SIGN_RECOVER, false),
                    Attribute::bool(CKA_UNWRAP, false),
                ]);
                a.extend(self.public_parts(false));
            }
            ObjectRole::Public => {
                a.extend([
                    Attribute::bytes(CKA_SUBJECT, Vec::new()),
                    Attribute::bool(CKA_ENCRYPT, crypt),
                    Attribute::bool(CKA_VERIFY, sign),
                    Attribute::bool(CKA_VERIFY_RECOVER, false),
                    Attribute::bool(CKA_WRAP, false),
                    Attribute::bool(CKA_TRUSTED, false),
                ]);
                a.extend(self.public_parts(true));
            }
        }
        a
    }

    /// The public values an asymmetric object shows.
    fn public_parts(&self, public_object: bool) -> Vec<Attribute> {
        match &self.version.public_key {
            Some(PublicKey::Rsa { modulus, exponent }) => {
                let mut a = vec![
                    Attribute::bytes(CKA_MODULUS, modulus.clone()),
                    Attribute::bytes(CKA_PUBLIC_EXPONENT, exponent.clone()),
                ];
                if public_object {
                    let bits = self.version.public_key.as_ref().and_then(PublicKey::modulus_bits).unwrap_or(0);
                    a.push(Attribute::ulong(CKA_MODULUS_BITS, bits));
                }
                a
            }
            Some(PublicKey::Ec { params, point }) => {
                let mut a = vec![Attribute::bytes(CKA_EC_PARAMS, params.clone())];
                if public_object {
                    a.push(Attribute::bytes(CKA_EC_POINT, point.clone()));
                }
                a
            }
            None => ec_params(self.key.record.key_spec)
                .map(|p| vec![Attribute::bytes(CKA_EC_PARAMS, p.to_vec())])
                .unwrap_or_default(),
        }
    }

    /// Attribute types the object has but never reveals.
    pub fn sensitive(&self) -> Vec<u64> {
        match (self.role, self.key.record.key_spec) {
            // CKA_CHECK_VALUE would be 3 bytes of E_K(0), which for an
            // AES-GCM key is GHASH's subkey H (docs/pkcs11.md).
            (ObjectRole::Secret, _) => vec![CKA_VALUE, CKA_CHECK_VALUE],
            (ObjectRole::Private, KeySpec::Rsa2048 | KeySpec::Rsa3072) => {
                vec![CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT]
            }
            (ObjectRole::Private, _) => vec![CKA_VALUE],
            (ObjectRole::Public, _) => Vec::new(),
        }
    }

    /// What the module caches about the object.
    pub fn description(&self) -> ObjectDescription {
        ObjectDescription { id: self.id(), fixed: self.fixed(), sensitive: self.sensitive() }
    }

    /// One attribute's current value.
    pub fn attribute(&self, ty: u64) -> AttributeValue {
        if ty == CKA_LABEL {
            return AttributeValue::Value(self.label().into_bytes());
        }
        if ty == CKA_ID {
            return AttributeValue::Value(self.pkcs11_id());
        }
        if self.sensitive().contains(&ty) {
            return AttributeValue::Sensitive;
        }
        match find_attribute(&self.fixed(), ty) {
            Some(a) => AttributeValue::Value(a.value.clone()),
            None => AttributeValue::Invalid,
        }
    }

    /// True when every attribute of `template` matches this object.
    pub fn matches(&self, template: &[Attribute]) -> bool {
        let fixed = self.fixed();
        template.iter().all(|wanted| {
            if wanted.ty == CKA_LABEL {
                let Ok(text) = std::str::from_utf8(&wanted.value) else {
                    return false;
                };
                return if self.is_primary() { self.key.is_named(text) } else { self.label() == text };
            }
            if wanted.ty == CKA_ID {
                // The version id finds every version; the app's id, the primary.
                return wanted.value[..] == self.version.uuid[..] || wanted.value == self.pkcs11_id();
            }
            find_attribute(&fixed, wanted.ty).is_some_and(|have| have.value == wanted.value)
        })
    }
}

fn class_of(role: ObjectRole) -> u64 {
    match role {
        ObjectRole::Secret => CKO_SECRET_KEY,
        ObjectRole::Private => CKO_PRIVATE_KEY,
        ObjectRole::Public => CKO_PUBLIC_KEY,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::hsm::objects::P256_PARAMS;
    use crate::store::{KeyRecord, VersionRecord};
    use p11kms_proto::Timestamp;
    use p11kms_proto::admin::KeyState;

    /// Key `key-1` (alias `alias/k1`, creator `test`) with `versions`.
    pub(crate) fn key(spec: KeySpec, usage: KeyUsage, versions: &[&str]) -> KeyEntry {
        let versions: Vec<VersionEntry> = versions
            .iter()
            .enumerate()
            .map(|(i, id)| VersionEntry {
                record: VersionRecord {
                    seq: i as u64 + 10,
                    version_id: (*id).into(),
                    key_id: "key-1".into(),
                    created_at: Timestamp(0),
                    public_key: None,
                    has_material: true,
                    kcv: None,
                },
                uuid: [i as u8; 16],
                public_key: (!spec.is_symmetric())
                    .then(|| PublicKey::Ec { params: P256_PARAMS.to_vec(), point: vec![4, 4, 1, 2] }),
                lost: None,
            })
            .collect();
        KeyEntry {
            record: KeyRecord {
                key_id: "key-1".into(),
                instance: "hsm1".into(),
                key_spec: spec,
                key_usage: usage,
                origin: Origin::AliyunKms,
                state: KeyState::Enabled,
                description: String::new(),
                creator: "test".into(),
                created_at: Timestamp(0),
                primary_version: versions.last().map(|v| v.record.version_id.clone()).unwrap_or_default(),
                delete_date: None,
                deletion_protection: false,
                automatic_rotation: false,
                rotation_interval: None,
                material_expire_time: None,
                tags: Vec::new(),
                export_uses: crate::store::ExportUses::default(),
            },
            versions,
            aliases: vec!["alias/k1".into()],
            rotation_failure: None,
            migrated: None,
            app_id: None,
            allowed_mechanisms: Vec::new(),
        }
    }

    #[test]
    fn object_ids_round_trip() {
        for role in [ObjectRole::Secret, ObjectRole::Private, ObjectRole::Public] {
            assert_eq!(parse_object_id(object_id(42, role)), Some((42, role)));
        }
        assert_eq!(parse_object_id(42 << 2), None);
    }

    #[test]
    fn label_search_finds_only_the_primary_version() {
        let key = key(KeySpec::Aes256, KeyUsage::EncryptDecrypt, &["v-old", "v-new"]);
        let by_label = [Attribute::bytes(CKA_LABEL, b"k1".to_vec())];
        let found: Vec<_> = ObjectView::all_of(&key).filter(|o| o.matches(&by_label)).collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].version.record.version_id, "v-new");
        for name in ["alias/k1", "key-1"] {
            let template = [Attribute::bytes(CKA_LABEL, name.as_bytes().to_vec())];
            assert_eq!(ObjectView::all_of(&key).filter(|o| o.matches(&template)).count(), 1, "{name}");
        }
        let old = ObjectView::all_of(&key).find(|o| !o.is_primary()).expect("old version");
        assert_eq!(old.label(), "k1#v-old");
        let by_id = [Attribute::bytes(CKA_ID, vec![0; 16])];
        assert_eq!(ObjectView::all_of(&key).filter(|o| o.matches(&by_id)).count(), 1, "each version by CKA_ID");
    }

    #[test]
    fn an_application_id_names_the_primary_version() {
        let mut key = key(KeySpec::EcP256, KeyUsage::SignVerify, &["v-old", "v-new"]);
        key.app_id = Some(vec![0x4a, 0x4b]);
        let by_app_id = [Attribute::bytes(CKA_ID, vec![0x4a, 0x4b])];
        let found: Vec<_> = ObjectView::all_of(&key).filter(|o| o.matches(&by_app_id)).collect();
        assert_eq!(found.len(), 2, "the primary's private and public objects");
        assert!(found.iter().all(|o| o.is_primary()));
        assert!(found.iter().all(|o| o.attribute(CKA_ID) == AttributeValue::Value(vec![0x4a, 0x4b])));
        assert!(found.iter().all(|o| find_attribute(&o.fixed(), CKA_ID).is_none()), "not cached: rotation moves it");
        let by_version = [Attribute::bytes(CKA_ID, vec![1; 16])];
        assert_eq!(ObjectView::all_of(&key).filter(|o| o.matches(&by_version)).count(), 2, "version id still finds");
        let old = ObjectView::all_of(&key).find(|o| !o.is_primary()).expect("old version");
        assert_eq!(old.attribute(CKA_ID), AttributeValue::Value(vec![0; 16]));
        assert_eq!(old.attribute(CKA_MODIFIABLE), AttributeValue::Value(vec![1]));
    }

    #[test]
    fn key_pairs_show_public_values_and_hide_private_ones() {
        let key = key(KeySpec::EcP256, KeyUsage::SignVerify, &["v1"]);
        let objects: Vec<_> = ObjectView::all_of(&key).collect();
        assert_eq!(objects.len(), 2);
        let public = objects.iter().find(|o| o.role == ObjectRole::Public).expect("public");
        assert_eq!(public.attribute(CKA_EC_POINT), AttributeValue::Value(vec![4, 4, 1, 2]));
        assert_eq!(public.attribute(CKA_VERIFY), AttributeValue::Value(vec![1]));
        assert!(!public.is_private());
        let private = objects.iter().find(|o| o.role == ObjectRole::Private).expect("private");
        assert_eq!(private.attribute(CKA_VALUE), AttributeValue::Sensitive);
        assert_eq!(private.attribute(CKA_EXTRACTABLE), AttributeValue::Value(vec![0]));
        assert_eq!(private.attribute(CKA_MODULUS), AttributeValue::Invalid);
        let by_class = [Attribute::ulong(CKA_CLASS, CKO_PRIVATE_KEY), Attribute::bool(CKA_SIGN, true)];
        assert_eq!(ObjectView::all_of(&key).filter(|o| o.matches(&by_class)).count(), 1);
    }
}
