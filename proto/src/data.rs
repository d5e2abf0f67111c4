//! The data plane: what `libp11kms.so` asks of the daemon.
//!
//! Requests are coarse on purpose. A round trip costs more than most
//! cryptography, so the module sends an operation whole: `C_SignInit` +
//! `C_Sign` is one [`DataRequest::Sign`], a complete `C_FindObjects*` loop is
//! one [`DataRequest::FindObjects`] whose answer carries the objects'
//! unchangeable attributes for the module to cache. PKCS#11 sessions and
//! operation state live in the module; the daemon keeps, per client, which
//! slots it is logged in to.
//!
//! Every request is answered with a [`DataResult`]: a reply or the `CK_RV`
//! the application will see.

use serde::{Deserialize, Serialize};

use crate::error::CkRv;
use crate::pkcs11::{
    Attribute, AttributeType, AttributeValue, Mechanism, ObjectDescription, ObjectId, SlotDescription, SlotId,
};
use crate::secret::SecretBytes;

/// Identifies one loaded copy of the module (one process, between
/// `C_Initialize` and `C_Finalize`). All connections of that copy share its
/// logins.
pub type ClientId = [u8; 16];

/// A request from the module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataRequest {
    /// First message on every connection: who is speaking.
    Hello {
        /// The module copy this connection belongs to.
        client_id: ClientId,
        /// The module's version, for the daemon's log.
        module_version: String,
    },
    /// All slots with their tokens and mechanisms.
    ListSlots,
    /// `C_Login` as the user: the PIN is an app's credential.
    Login {
        /// Slot (instance) to log in to.
        slot: SlotId,
        /// `CKU_*`.
        user_type: u64,
        /// The PIN.
        pin: SecretBytes,
    },
    /// `C_Logout`.
    Logout {
        /// Slot to log out of.
        slot: SlotId,
    },
    /// A whole `C_FindObjectsInit` / `C_FindObjects` / `C_FindObjectsFinal`.
    FindObjects {
        /// Slot searched.
        slot: SlotId,
        /// Match template; empty matches everything visible.
        template: Vec<Attribute>,
    },
    /// `C_GetAttributeValue` for attributes the module has not cached.
    GetAttributes {
        /// Slot of the object.
        slot: SlotId,
        /// The object.
        object: ObjectId,
        /// Requested attribute types.
        types: Vec<AttributeType>,
    },
    /// `C_GenerateKey`: creates a KMS key.
    GenerateKey {
        /// Slot (instance) the key goes to.
        slot: SlotId,
        /// Key generation mechanism.
        mechanism: Mechanism,
        /// The application's template.
        template: Vec<Attribute>,
    },
    /// `C_GenerateKeyPair`: creates an asymmetric KMS key.
    GenerateKeyPair {
        /// Slot (instance) the key goes to.
        slot: SlotId,
        /// Key pair generation mechanism.
        mechanism: Mechanism,
        /// Public key template.
        public_template: Vec<Attribute>,
        /// Private key template.
        private_template: Vec<Attribute>,
    },
    /// `C_DestroyObject`.
    DestroyObject {
        /// Slot of the object.
        slot: SlotId,
        /// The object.
        object: ObjectId,
    },
    /// `C_SignInit` + `C_Sign` (or the whole multi-part sequence).
    Sign {
        /// Slot of the key.
        slot: SlotId,
        /// Signing key.
        object: ObjectId,
        /// Mechanism.
        mechanism: Mechanism,
        /// Data to sign.
        #[serde(with = "crate::bytes")]
        data: Vec<u8>,
    },
    /// `C_VerifyInit` + `C_Verify`.
    Verify {
        /// Slot of the key.
        slot: SlotId,
        /// Verification key.
        object: ObjectId,
        /// Mechanism.
        mechanism: Mechanism,
        /// Signed data.
        #[serde(with = "crate::bytes")]
        data: Vec<u8>,
        /// Signature to check.
        #[serde(with = "crate::bytes")]
        signature: Vec<u8>,
    },
    /// `C_EncryptInit` + `C_Encrypt`.
    Encrypt {
        /// Slot of the key.
        slot: SlotId,
        /// Encryption key.
        object: ObjectId,
        /// Mechanism.
        mechanism: Mechanism,
        /// Plaintext.
        data: SecretBytes,
    },
    /// `C_DecryptInit` + `C_Decrypt`.
    Decrypt {
        /// Slot of the key.
        slot: SlotId,
        /// Decryption key.
        object: ObjectId,
        /// Mechanism.
        mechanism: Mechanism,
        /// Ciphertext.
        #[serde(with = "crate::bytes")]
        data: Vec<u8>,
    },
    /// `C_GenerateRandom`.
    GenerateRandom {
        /// Slot whose HSM produces the bytes.
        slot: SlotId,
        /// Number of bytes.
        length: u32,
    },
    /// `C_SetPIN` by the app logged in to `slot`: replaces its own PIN.
    /// Appended last, so the variant indices before it stay as they were.
    SetPin {
        /// Slot the session is on; the app is the one logged in there.
        slot: SlotId,
        /// The current PIN.
        old_pin: SecretBytes,
        /// The PIN that replaces it.
        new_pin: SecretBytes,
    },
    /// `C_CreateObject`: a data object, certificate or public key, kept by
    /// the daemon (token) or for the client (session). Answered with the
    /// new object's description.
    CreateObject {
        /// Slot of the session.
        slot: SlotId,
        /// The application's template.
        template: Vec<Attribute>,
    },
    /// `C_CopyObject`: a copy with the template's changes.
    CopyObject {
        /// Slot of the object.
        slot: SlotId,
        /// The object copied.
        object: ObjectId,
        /// Changes for the copy.
        template: Vec<Attribute>,
    },
    /// `C_SetAttributeValue`; answered with the object's new description.
    SetAttributes {
        /// Slot of the object.
        slot: SlotId,
        /// The object.
        object: ObjectId,
        /// New values.
        template: Vec<Attribute>,
    },
    /// `C_GetObjectSize`.
    GetObjectSize {
        /// Slot of the object.
        slot: SlotId,
        /// The object.
        object: ObjectId,
    },
    /// A session closed in the module: destroy the session objects it made.
    DestroySessionObjects {
        /// Slot of the session.
        slot: SlotId,
        /// The objects.
        objects: Vec<ObjectId>,
    },
    /// `C_WrapKey`: answered with the wrapped bytes.
    WrapKey {
        /// Slot of the keys.
        slot: SlotId,
        /// Wrapping mechanism.
        mechanism: Mechanism,
        /// The wrapping key.
        wrapping: ObjectId,
        /// The key wrapped.
        key: ObjectId,
    },
    /// `C_UnwrapKey`: answered with the new session key's description.
    UnwrapKey {
        /// Slot of the unwrapping key.
        slot: SlotId,
        /// Unwrapping mechanism.
        mechanism: Mechanism,
        /// The unwrapping key.
        unwrapping: ObjectId,
        /// The wrapped key.
        #[serde(with = "crate::bytes")]
        wrapped: Vec<u8>,
        /// Template of the new key.
        template: Vec<Attribute>,
    },
    /// `C_DeriveKey`: answered with the new session key's description.
    DeriveKey {
        /// Slot of the base key.
        slot: SlotId,
        /// Derivation mechanism (ECDH).
        mechanism: Mechanism,
        /// The base key.
        base: ObjectId,
        /// Template of the new key.
        template: Vec<Attribute>,
    },
    /// One page of a find: the matches after `after` (from the first when
    /// `None`), in the daemon's order, as many as fit a page. The module
    /// asks for pages until one says there is no more, so no reply is ever
    /// built past the frame limit, whatever a token holds.
    FindObjectsPage {
        /// Slot to search.
        slot: SlotId,
        /// Attributes that must match.
        template: Vec<Attribute>,
        /// The last object of the previous page.
        after: Option<ObjectId>,
    },
}

/// The daemon's answer to a [`DataRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataReply {
    /// Answer to `Hello`.
    Welcome {
        /// The daemon's version.
        daemon_version: String,
        /// Changes at every daemon start: sessions from before a restart are
        /// gone, and the module can tell.
        boot_id: [u8; 16],
        /// Largest body the daemon accepts.
        max_body_len: u32,
    },
    /// Done, nothing to return.
    Done,
    /// Answer to `ListSlots`.
    Slots(Vec<SlotDescription>),
    /// Objects found or created.
    Objects(Vec<ObjectDescription>),
    /// Answer to `GetAttributes`, one entry per requested type.
    Attributes(Vec<AttributeValue>),
    /// Output bytes that are not secret (signature, ciphertext).
    Bytes(#[serde(with = "crate::bytes")] Vec<u8>),
    /// Output bytes that are secret (plaintext, random).
    Secret(SecretBytes),
    /// Answer to `GetObjectSize`.
    Size(u64),
    /// Answer to `FindObjectsPage`.
    ObjectsPage {
        /// The page's matches.
        objects: Vec<ObjectDescription>,
        /// More matches follow: ask again after the last of these.
        more: bool,
    },
}

/// What a `GenerateRandom` reply adds around its bytes, at most: the
/// daemon refuses a length over `max_body_len - RANDOM_REPLY_OVERHEAD`,
/// and the module asks in chunks that fit.
pub const RANDOM_REPLY_OVERHEAD: usize = 64;

/// Most random bytes one `GenerateRandom` asks for (1 MiB): the module
/// asks in chunks of this size, the daemon refuses more, so a small request
/// that needs no login cannot make the daemon build a large reply.
pub const MAX_RANDOM_PER_REQUEST: usize = 1024 * 1024;

/// Body of a data response frame.
pub type DataResult = Result<DataReply, CkRv>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pkcs11::{MechParam, MechanismInfo, TokenDescription};
    use crate::{decode_body, encode_body};

    fn round_trip<T>(value: &T)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let bytes = encode_body(value).expect("encodes");
        let back: T = decode_body(&bytes).expect("decodes");
        assert_eq!(&back, value);
    }

    fn mechanisms() -> Vec<Mechanism> {
        vec![
            Mechanism::new(0x1041),
            Mechanism { ty: 0x1082, param: MechParam::Bytes(vec![7; 16]) },
            Mechanism { ty: 0x1087, param: MechParam::Gcm { iv: vec![1; 12], aad: b"aad".to_vec(), tag_bits: 128 } },
            Mechanism { ty: 0x0d, param: MechParam::Pss { hash: 0x250, mgf: 2, salt_len: 32 } },
            Mechanism { ty: 0x09, param: MechParam::Oaep { hash: 0x250, mgf: 2, source_data: vec![] } },
            Mechanism { ty: 0x1050, param: MechParam::Ecdh { kdf: 1, shared_data: vec![], public_data: vec![4; 65] } },
            Mechanism { ty: 0x1086, param: MechParam::Ctr { counter_bits: 32, counter_block: [9; 16] } },
            Mechanism { ty: 0x1084, param: MechParam::Ulong(8) },
            Mechanism { ty: 0x1057, param: MechParam::Eddsa { prehash: true, context: b"ctx".to_vec() } },
            Mechanism { ty: 0x1105, param: MechParam::CbcEncryptData { iv: [2; 16], data: vec![3; 32] } },
        ]
    }

    #[test]
    fn every_request_round_trips() {
        let template = vec![Attribute::bool(1, true), Attribute::bytes(3, b"k1".to_vec())];
        let mut requests = vec![
            DataRequest::Hello { client_id: [3; 16], module_version: "0.1.0".into() },
            DataRequest::ListSlots,
            DataRequest::Login { slot: 2, user_type: 1, pin: SecretBytes::from("1234") },
            DataRequest::Logout { slot: 2 },
            DataRequest::FindObjects { slot: 2, template: template.clone() },
            DataRequest::GetAttributes { slot: 2, object: 77, types: vec![0x100, 0x11] },
            DataRequest::DestroyObject { slot: 2, object: 77 },
            DataRequest::GenerateRandom { slot: 2, length: 32 },
            DataRequest::SetPin { slot: 2, old_pin: SecretBytes::from("old"), new_pin: SecretBytes::from("new") },
            DataRequest::CreateObject { slot: 2, template: template.clone() },
            DataRequest::CopyObject { slot: 2, object: 8, template: template.clone() },
            DataRequest::SetAttributes { slot: 2, object: 8, template: template.clone() },
            DataRequest::GetObjectSize { slot: 2, object: 8 },
            DataRequest::DestroySessionObjects { slot: 2, objects: vec![4, 12] },
            DataRequest::FindObjectsPage { slot: 2, template: template.clone(), after: Some(77) },
            DataRequest::FindObjectsPage { slot: 2, template: template.clone(), after: None },
        ];
        for mechanism in mechanisms() {
            requests.extend([
                DataRequest::GenerateKey { slot: 2, mechanism: mechanism.clone(), template: template.clone() },
                DataRequest::GenerateKeyPair {
                    slot: 2,
                    mechanism: mechanism.clone(),
                    public_template: template.clone(),
                    private_template: vec![],
                },
                DataRequest::Sign { slot: 2, object: 9, mechanism: mechanism.clone(), data: vec![1, 2] },
                DataRequest::Verify {
                    slot: 2,
                    object: 9,
                    mechanism: mechanism.clone(),
                    data: vec![1],
                    signature: vec![2; 64],
                },
                DataRequest::Encrypt { slot: 2, object: 9, mechanism: mechanism.clone(), data: SecretBytes::from("p") },
                DataRequest::Decrypt { slot: 2, object: 9, mechanism: mechanism.clone(), data: vec![5; 32] },
                DataRequest::WrapKey { slot: 2, mechanism: mechanism.clone(), wrapping: 4, key: 12 },
                DataRequest::UnwrapKey {
                    slot: 2,
                    mechanism: mechanism.clone(),
                    unwrapping: 4,
                    wrapped: vec![1; 40],
                    template: template.clone(),
                },
                DataRequest::DeriveKey { slot: 2, mechanism, base: 4, template: template.clone() },
            ]);
        }
        for request in &requests {
            round_trip(request);
        }
    }

    #[test]
    fn set_pin_is_appended_and_hides_its_pins() {
        let request = DataRequest::SetPin {
            slot: 2,
            old_pin: SecretBytes::from("old-secret"),
            new_pin: SecretBytes::from("fresh"),
        };
        // Variant 14 follows GenerateRandom (13): older variants keep their
        // indices. Then slot, then each PIN as length + bytes.
        let mut expected = vec![14, 2, 10];
        expected.extend_from_slice(b"old-secret");
        expected.push(5);
        expected.extend_from_slice(b"fresh");
        assert_eq!(encode_body(&request).expect("encodes"), expected);
        let shown = format!("{request:?}");
        assert!(!shown.contains("old-secret") && !shown.contains("fresh"), "{shown}");
    }

    #[test]
    fn find_pages_are_appended_after_every_older_variant() {
        let request = DataRequest::FindObjectsPage { slot: 1, template: vec![], after: None };
        assert_eq!(encode_body(&request).expect("encodes"), vec![23, 1, 0, 0], "variant 23, after DeriveKey");
        let reply = DataReply::ObjectsPage { objects: vec![], more: false };
        assert_eq!(encode_body(&reply).expect("encodes"), vec![8, 0, 0], "variant 8, after Size");
    }

    #[test]
    fn every_reply_round_trips() {
        let replies: Vec<DataResult> = vec![
            Ok(DataReply::Welcome { daemon_version: "0.1.0".into(), boot_id: [1; 16], max_body_len: 1 << 20 }),
            Ok(DataReply::Done),
            Ok(DataReply::Slots(vec![
                SlotDescription { id: 1, description: "default".into(), token: None },
                SlotDescription {
                    id: 2,
                    description: "hsm1".into(),
                    token: Some(TokenDescription {
                        label: "hsm1".into(),
                        model: "hardware".into(),
                        serial: "0000000000000002".into(),
                        flags: 0x40d,
                        min_pin_len: 4,
                        max_pin_len: 64,
                        mechanisms: vec![MechanismInfo {
                            ty: 0x1041,
                            min_key_size: 256,
                            max_key_size: 256,
                            flags: 0x800,
                        }],
                    }),
                },
            ])),
            Ok(DataReply::Objects(vec![ObjectDescription {
                id: 5,
                fixed: vec![Attribute::ulong(0, 4)],
                sensitive: vec![0x11],
            }])),
            Ok(DataReply::Attributes(vec![
                AttributeValue::Value(vec![1]),
                AttributeValue::Sensitive,
                AttributeValue::Invalid,
            ])),
            Ok(DataReply::Bytes(vec![0; 64])),
            Ok(DataReply::Secret(SecretBytes::from("plain"))),
            Ok(DataReply::Size(640)),
            Ok(DataReply::ObjectsPage {
                objects: vec![ObjectDescription { id: 9, fixed: vec![Attribute::ulong(0, 1)], sensitive: vec![] }],
                more: true,
            }),
            Err(CkRv(0xa0)),
        ];
        for reply in &replies {
            round_trip(reply);
        }
    }
}
