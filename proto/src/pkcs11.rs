//! PKCS#11 values as they cross the data plane: attributes, mechanisms with
//! their parameters, slot, token and object descriptions.
//!
//! Values keep PKCS#11's own encodings so the module can copy them into an
//! application's buffers untouched: an attribute value is the bytes the
//! application would see (`CK_BBOOL` one byte, `CK_ULONG` eight bytes little
//! endian, the only layout of the LP64 platforms this project supports).

use serde::{Deserialize, Serialize};

use crate::secret::SecretBytes;

/// The p11kms vendor mechanism for KMS envelope encryption
/// (`CKM_VENDOR_DEFINED | 0x504B01`). `C_Encrypt` with it on any version of
/// an AES key encrypts under the key's *primary* version and returns a
/// ciphertext blob (`crate::blob`) that names the version; `C_Decrypt`
/// picks the version from the blob. The optional parameter is the
/// encryption context as a JSON object of strings, bound to the blob as
/// the admin API's `EncryptionContext` is.
pub const CKM_P11KMS_ENVELOPE: u64 = 0x8050_4B01;

/// The longest attribute value the module takes from an application
/// (64 KiB): room for real certificates (a few KiB) and RSA moduli up to
/// 16384 bits, and the same size the daemon allows a whole created object.
/// A longer value is `CKR_ATTRIBUTE_VALUE_INVALID`, refused before it is
/// copied.
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 64 * 1024;

/// The longest mechanism parameter the module takes from an application
/// (8 KiB), and the longest byte string inside a parameter structure (an
/// IV, GCM's AAD, an OAEP label, an ECDH public value, the envelope
/// mechanism's encryption context). Real parameters are tens of bytes; a
/// longer one is `CKR_MECHANISM_PARAM_INVALID`, refused before it is read.
pub const MAX_MECHANISM_PARAM_LEN: usize = 8 * 1024;

/// A slot id as the application sees it: one slot per KMS instance.
pub type SlotId = u64;
/// The daemon's stable name for an object in a slot. Never an HSM handle.
pub type ObjectId = u64;
/// `CK_ATTRIBUTE_TYPE`.
pub type AttributeType = u64;
/// `CK_MECHANISM_TYPE`.
pub type MechanismType = u64;

/// One attribute: its type and the value's bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    /// `CK_ATTRIBUTE_TYPE`.
    pub ty: AttributeType,
    /// The value as PKCS#11 lays it out.
    #[serde(with = "crate::bytes")]
    pub value: Vec<u8>,
}

impl Attribute {
    /// A `CK_BBOOL` attribute.
    pub fn bool(ty: AttributeType, value: bool) -> Self {
        Self { ty, value: vec![u8::from(value)] }
    }

    /// A `CK_ULONG` attribute.
    pub fn ulong(ty: AttributeType, value: u64) -> Self {
        Self { ty, value: value.to_le_bytes().to_vec() }
    }

    /// A byte-string attribute.
    pub fn bytes(ty: AttributeType, value: impl Into<Vec<u8>>) -> Self {
        Self { ty, value: value.into() }
    }

    /// The value read as `CK_BBOOL`, if it has that shape.
    pub fn as_bool(&self) -> Option<bool> {
        match self.value.as_slice() {
            [b] => Some(*b != 0),
            _ => None,
        }
    }

    /// The value read as `CK_ULONG`, if it has that shape.
    pub fn as_ulong(&self) -> Option<u64> {
        let bytes: [u8; 8] = self.value.as_slice().try_into().ok()?;
        Some(u64::from_le_bytes(bytes))
    }
}

/// Finds an attribute of a type in a template.
pub fn find_attribute(template: &[Attribute], ty: AttributeType) -> Option<&Attribute> {
    template.iter().find(|a| a.ty == ty)
}

/// Whether a key's `CKA_ALLOWED_MECHANISMS` (an array of `CK_ULONG`s,
/// 8 bytes little-endian each, as every `CK_ULONG` on the wire) lets it be
/// used with `mechanism`. No attribute, or an empty list, allows every
/// mechanism (PKCS#11 3.0 §4.4); a value that is not a whole number of
/// `CK_ULONG`s allows none, so a malformed list never widens a key's use.
pub fn mechanism_allowed(allowed: Option<&Attribute>, mechanism: MechanismType) -> bool {
    let Some(list) = allowed else { return true };
    match mechanisms_of(&list.value) {
        Some(mechanisms) => mechanisms.is_empty() || mechanisms.contains(&mechanism),
        None => false,
    }
}

/// The mechanisms a `CKA_ALLOWED_MECHANISMS` value lists (8-byte
/// little-endian `CK_MECHANISM_TYPE`s); `None` when it is not a whole
/// number of them.
pub fn mechanisms_of(value: &[u8]) -> Option<Vec<MechanismType>> {
    if value.len() % 8 != 0 {
        return None;
    }
    Some(value.chunks_exact(8).filter_map(|c| c.try_into().map(u64::from_le_bytes).ok()).collect())
}

/// `mechanisms` as a `CKA_ALLOWED_MECHANISMS` value.
pub fn mechanisms_value(mechanisms: &[MechanismType]) -> Vec<u8> {
    mechanisms.iter().flat_map(|m| m.to_le_bytes()).collect()
}

/// A mechanism with its parameter, decoded from the C structures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mechanism {
    /// `CK_MECHANISM_TYPE`.
    pub ty: MechanismType,
    /// The parameter, in the shape the mechanism defines.
    pub param: MechParam,
}

impl Mechanism {
    /// A mechanism without parameter.
    pub fn new(ty: MechanismType) -> Self {
        Self { ty, param: MechParam::None }
    }
}

/// Mechanism parameters the project understands. Mechanisms whose
/// parameter is a plain byte string (an IV) use [`MechParam::Bytes`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MechParam {
    /// No parameter.
    None,
    /// A byte-string parameter, such as the IV of AES-CBC.
    Bytes(#[serde(with = "crate::bytes")] Vec<u8>),
    /// A `CK_ULONG` parameter, such as a MAC length.
    Ulong(u64),
    /// `CK_GCM_PARAMS`.
    Gcm {
        /// Initialization vector.
        #[serde(with = "crate::bytes")]
        iv: Vec<u8>,
        /// Additional authenticated data.
        #[serde(with = "crate::bytes")]
        aad: Vec<u8>,
        /// Tag length in bits.
        tag_bits: u64,
    },
    /// `CK_RSA_PKCS_PSS_PARAMS`.
    Pss {
        /// Hash mechanism.
        hash: MechanismType,
        /// Mask generation function (`CKG_*`).
        mgf: u64,
        /// Salt length in bytes.
        salt_len: u64,
    },
    /// `CK_RSA_PKCS_OAEP_PARAMS`.
    Oaep {
        /// Hash mechanism.
        hash: MechanismType,
        /// Mask generation function (`CKG_*`).
        mgf: u64,
        /// Encoding parameter source data (label); empty when none.
        #[serde(with = "crate::bytes")]
        source_data: Vec<u8>,
    },
    /// `CK_ECDH1_DERIVE_PARAMS`.
    Ecdh {
        /// Key derivation function (`CKD_*`).
        kdf: u64,
        /// Shared data for the KDF.
        #[serde(with = "crate::bytes")]
        shared_data: Vec<u8>,
        /// The other party's public value.
        #[serde(with = "crate::bytes")]
        public_data: Vec<u8>,
    },
    /// `CK_AES_CTR_PARAMS`.
    Ctr {
        /// Bits of the counter block that are the counter.
        counter_bits: u64,
        /// Initial counter block.
        counter_block: [u8; 16],
    },
    /// `CK_EDDSA_PARAMS` (Ed25519ctx, Ed25519ph, Ed448, Ed448ph).
    Eddsa {
        /// `phFlag`: the pre-hashed variant.
        prehash: bool,
        /// Context data; empty when none.
        #[serde(with = "crate::bytes")]
        context: Vec<u8>,
    },
    /// `CK_AES_CBC_ENCRYPT_DATA_PARAMS` (`CKM_AES_CBC_ENCRYPT_DATA`). The
    /// ECB variant's `CK_KEY_DERIVATION_STRING_DATA` is a plain
    /// [`MechParam::Bytes`].
    CbcEncryptData {
        /// Initialization vector.
        iv: [u8; 16],
        /// The data encrypted into the new key's value.
        #[serde(with = "crate::bytes")]
        data: Vec<u8>,
    },
}

/// `CK_MECHANISM_INFO` for one mechanism.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MechanismInfo {
    /// The mechanism.
    pub ty: MechanismType,
    /// Smallest key size (bits or bytes, as PKCS#11 defines per mechanism).
    pub min_key_size: u64,
    /// Largest key size.
    pub max_key_size: u64,
    /// `CKF_*` flags.
    pub flags: u64,
}

/// What a slot shows; the token is absent when the instance cannot serve.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotDescription {
    /// The slot id.
    pub id: SlotId,
    /// Slot description text.
    pub description: String,
    /// The token, when present.
    pub token: Option<TokenDescription>,
}

/// `CK_TOKEN_INFO`'s fields that come from the daemon, plus the mechanisms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenDescription {
    /// Token label: the instance name.
    pub label: String,
    /// Model: the instance kind.
    pub model: String,
    /// Serial number.
    pub serial: String,
    /// `CKF_*` token flags.
    pub flags: u64,
    /// Shortest PIN accepted.
    pub min_pin_len: u64,
    /// Longest PIN accepted.
    pub max_pin_len: u64,
    /// Mechanisms the token offers, with their sizes and flags.
    pub mechanisms: Vec<MechanismInfo>,
}

/// An object the daemon lets the module see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectDescription {
    /// Stable id of the object in its slot.
    pub id: ObjectId,
    /// Attribute values that can never change for this object: the module
    /// may answer `C_GetAttributeValue` for them without asking again.
    pub fixed: Vec<Attribute>,
    /// Attribute types the object has but never reveals.
    pub sensitive: Vec<AttributeType>,
}

/// The answer for one attribute of a `C_GetAttributeValue`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttributeValue {
    /// The value.
    Value(#[serde(with = "crate::bytes")] Vec<u8>),
    /// The object has it but will not reveal it.
    Sensitive,
    /// The object has no such attribute.
    Invalid,
    /// A value that is secret: a secret's `CKA_VALUE`, read from the
    /// daemon at each call. The module copies it into the caller's buffer
    /// as it does [`AttributeValue::Value`]; both ends wipe it when
    /// dropped. Appended last (protocol minor 2): a module of before does
    /// not decode it.
    Secret(SecretBytes),
}

impl AttributeValue {
    /// The bytes of a value, secret or not; `None` for `Sensitive` and
    /// `Invalid`.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Value(value) => Some(value),
            Self::Secret(value) => Some(value.expose()),
            Self::Sensitive | Self::Invalid => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_helpers_use_pkcs11_layouts() {
        assert_eq!(Attribute::bool(1, true).as_bool(), Some(true));
        assert_eq!(Attribute::ulong(0, 0x1234).value, vec![0x34, 0x12, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Attribute::ulong(0, 99).as_ulong(), Some(99));
        assert_eq!(Attribute::bytes(3, b"abc".to_vec()).as_ulong(), None);
        let template = [Attribute::bool(1, false), Attribute::ulong(2, 5)];
        assert_eq!(find_attribute(&template, 2).and_then(Attribute::as_ulong), Some(5));
        assert!(find_attribute(&template, 9).is_none());
    }

    #[test]
    fn a_secret_value_is_appended_and_reads_as_bytes() {
        let secret = AttributeValue::Secret(SecretBytes::from("s3cret"));
        assert_eq!(secret.bytes(), Some(&b"s3cret"[..]));
        assert_eq!(AttributeValue::Value(vec![1]).bytes(), Some(&[1u8][..]));
        assert_eq!(AttributeValue::Sensitive.bytes(), None);
        assert!(!format!("{secret:?}").contains("s3cret"), "Debug never shows it");
        // Variant 3, after Value, Sensitive and Invalid; then length and bytes.
        let encoded = crate::encode_body(&secret).expect("encodes");
        assert_eq!(encoded, [&[3u8, 6][..], b"s3cret"].concat());
        assert_eq!(crate::decode_body::<AttributeValue>(&encoded).expect("decodes"), secret);
    }

    #[test]
    fn allowed_mechanisms_restrict_only_when_listed() {
        const ALLOWED: AttributeType = 0x4000_0600;
        let list =
            |mechs: &[u64]| Attribute::bytes(ALLOWED, mechs.iter().flat_map(|m| m.to_le_bytes()).collect::<Vec<_>>());
        assert!(mechanism_allowed(None, 0x1087), "no attribute: everything");
        assert!(mechanism_allowed(Some(&list(&[])), 0x1087), "empty list: everything");
        assert!(mechanism_allowed(Some(&list(&[0x1082, 0x1087])), 0x1087));
        assert!(!mechanism_allowed(Some(&list(&[0x1082])), 0x1087));
        assert!(
            !mechanism_allowed(Some(&Attribute::bytes(ALLOWED, vec![0x87, 0x10, 0])), 0x1087),
            "malformed: nothing"
        );
    }
}
