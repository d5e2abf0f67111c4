//! Attribute templates for the objects the daemon creates in its HSMs.
//!
//! Key material is created `CKA_SENSITIVE` and private to the token's user
//! (only the daemon has the PIN). It is `CKA_EXTRACTABLE` so that the HSM
//! can wrap it under the cluster key for the mirrors; it never leaves a
//! member otherwise, and applications never see it extractable (the data
//! plane shows `CKA_EXTRACTABLE = false`). `docs/cluster.md` explains why
//! `CKA_TRUSTED`/`CKA_WRAP_WITH_TRUSTED` are not used with SoftHSM.
//!
//! The templates of a version's objects are *staged*: session objects,
//! still modifiable, which [`super::persist`] copies to the token with
//! [`PERSIST`] (one file write instead of one per attribute).

use cryptoki::object::{Attribute, KeyType, ObjectClass};

use p11kms_proto::admin::{KeySpec, KeyUsage};

use super::objects::{CLUSTER_KEY_LABEL, ObjectRole, PublicKey, VersionName, aes_len, ec_params, rsa_bits};

/// `CKA_MODIFIABLE = false`, always the last attribute of a template:
/// SoftHSM applies a template in order and refuses every attribute that
/// follows it (the object is no longer modifiable).
const LAST_READ_ONLY: Attribute = Attribute::Modifiable(false);

/// Template of the copy that stores a staged object: on the token, and
/// read-only from then on (a non-modifiable object cannot be copied, so
/// staged objects stay modifiable until this copy).
pub const PERSIST: [Attribute; 2] = [Attribute::Token(true), LAST_READ_ONLY];

/// Where a staged object lives until [`PERSIST`] stores it.
const STAGED: Attribute = Attribute::Token(false);

fn naming(v: &VersionName) -> [Attribute; 2] {
    [Attribute::Id(v.id.to_vec()), Attribute::Label(v.label.as_bytes().to_vec())]
}

fn key_type(spec: KeySpec) -> KeyType {
    match spec {
        KeySpec::Aes256 | KeySpec::Aes128 => KeyType::AES,
        KeySpec::Rsa2048 | KeySpec::Rsa3072 => KeyType::RSA,
        KeySpec::EcP256 | KeySpec::EcP256K => KeyType::EC,
    }
}

/// Usage flags of one object of a version.
fn usage_flags(role: ObjectRole, usage: KeyUsage) -> Vec<Attribute> {
    let crypt = usage == KeyUsage::EncryptDecrypt;
    let sign = usage == KeyUsage::SignVerify;
    match role {
        ObjectRole::Secret => vec![
            Attribute::Encrypt(crypt),
            Attribute::Decrypt(crypt),
            Attribute::Sign(sign),
            Attribute::Verify(sign),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
        ],
        ObjectRole::Private => {
            vec![Attribute::Decrypt(crypt), Attribute::Sign(sign), Attribute::Unwrap(false), Attribute::Derive(false)]
        }
        ObjectRole::Public => vec![Attribute::Encrypt(crypt), Attribute::Verify(sign), Attribute::Wrap(false)],
    }
}

/// Attributes every private or secret key of a version has.
fn protected(v: &VersionName, role: ObjectRole) -> Vec<Attribute> {
    let class = if role == ObjectRole::Secret { ObjectClass::SECRET_KEY } else { ObjectClass::PRIVATE_KEY };
    let mut t = vec![
        Attribute::Class(class),
        Attribute::KeyType(key_type(v.spec)),
        STAGED,
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(true),
    ];
    t.extend(naming(v));
    t.extend(usage_flags(role, v.usage));
    t
}

/// Staged template of `C_GenerateKey` for a symmetric version.
pub fn secret_key(v: &VersionName) -> Vec<Attribute> {
    let mut t = protected(v, ObjectRole::Secret);
    if let Some(len) = aes_len(v.spec) {
        t.push(Attribute::ValueLen(len.into()));
    }
    t
}

/// Staged templates of `C_GenerateKeyPair` for an asymmetric version:
/// (public, private).
pub fn key_pair(v: &VersionName) -> (Vec<Attribute>, Vec<Attribute>) {
    let mut public = vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(key_type(v.spec)),
        STAGED,
        Attribute::Private(false),
    ];
    public.extend(naming(v));
    public.extend(usage_flags(ObjectRole::Public, v.usage));
    if let Some(bits) = rsa_bits(v.spec) {
        public.push(Attribute::ModulusBits(bits.into()));
        public.push(Attribute::PublicExponent(vec![0x01, 0x00, 0x01]));
    }
    if let Some(params) = ec_params(v.spec) {
        public.push(Attribute::EcParams(params.to_vec()));
    }
    (public, protected(v, ObjectRole::Private))
}

/// Staged template of `C_UnwrapKey` (on a mirror, from an image, or for
/// imported material) for a secret or private key.
pub fn unwrapped(v: &VersionName, role: ObjectRole) -> Vec<Attribute> {
    protected(v, role)
}

/// Template of the `C_CopyObject` that makes an application's session key
/// (generated in this HSM, extractable there only so that the cluster key
/// can wrap it: `super::session_keys`) the staged secret or private key of
/// version `v`. Only what a copy may change: the version's names and usage,
/// private and sensitive from now on; class, type and `CKA_LOCAL` stay.
pub fn adopted(v: &VersionName, role: ObjectRole) -> Vec<Attribute> {
    let mut t = vec![STAGED, Attribute::Private(true), Attribute::Sensitive(true)];
    t.extend(naming(v));
    t.extend(usage_flags(role, v.usage));
    t
}

/// Staged template of `C_CreateObject` for a public key copied to a mirror.
pub fn public_copy(v: &VersionName, key: &PublicKey) -> Vec<Attribute> {
    let mut t = vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(key_type(v.spec)),
        STAGED,
        Attribute::Private(false),
    ];
    t.extend(naming(v));
    t.extend(usage_flags(ObjectRole::Public, v.usage));
    match key {
        PublicKey::Rsa { modulus, exponent } => {
            t.push(Attribute::Modulus(modulus.clone()));
            t.push(Attribute::PublicExponent(exponent.clone()));
        }
        PublicKey::Ec { params, point } => {
            t.push(Attribute::EcParams(params.clone()));
            t.push(Attribute::EcPoint(point.clone()));
        }
    }
    t
}

/// Template of the cluster key: AES-256, wraps and unwraps only.
pub fn cluster_key() -> Vec<Attribute> {
    let mut t = cluster_key_unwrap();
    t.insert(0, Attribute::ValueLen(32.into()));
    t
}

/// Template of the cluster key as unwrapped on a new member.
pub fn cluster_key_unwrap() -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        // Extractable only so that a new member can receive it, wrapped
        // under that member's transport key inside the HSMs.
        Attribute::Extractable(true),
        Attribute::Wrap(true),
        Attribute::Unwrap(true),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
        Attribute::Id(CLUSTER_KEY_LABEL.as_bytes().to_vec()),
        Attribute::Label(CLUSTER_KEY_LABEL.as_bytes().to_vec()),
        LAST_READ_ONLY,
    ]
}

/// Templates of a one-time RSA transport key pair on a joining member
/// (session objects: gone when the session closes).
pub fn transport_pair() -> (Vec<Attribute>, Vec<Attribute>) {
    let public = vec![
        Attribute::Token(false),
        Attribute::Private(false),
        Attribute::ModulusBits(3072.into()),
        Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
        Attribute::Wrap(true),
        Attribute::Encrypt(false),
        Attribute::Verify(false),
    ];
    let private = vec![
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Unwrap(true),
        Attribute::Decrypt(false),
        Attribute::Sign(false),
    ];
    (public, private)
}

/// Template of the transport public key imported into the primary.
pub fn transport_public_copy(modulus: Vec<u8>, exponent: Vec<u8>) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(KeyType::RSA),
        Attribute::Token(false),
        Attribute::Private(false),
        Attribute::Wrap(true),
        Attribute::Encrypt(false),
        Attribute::Verify(false),
        Attribute::Modulus(modulus),
        Attribute::PublicExponent(exponent),
    ]
}

/// Bytes of an image's MAC key (HMAC-SHA-256). No key material an image
/// carries has this length (AES keys are 16 or 32 bytes, private keys are
/// PKCS#8), so an image whose MAC-key blob was swapped for the wrapped
/// blob of another key (an imported one, whose value its importer knows)
/// is refused by length.
pub const IMAGE_MAC_KEY_LEN: u64 = 64;

/// Template of `C_GenerateKey` for an image's MAC key: a session object,
/// extractable only to be wrapped under the backup root key.
pub fn image_mac_key() -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(true),
        Attribute::Sign(true),
        Attribute::Verify(true),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Derive(false),
        Attribute::ValueLen(IMAGE_MAC_KEY_LEN.into()),
    ]
}

/// Template of `C_UnwrapKey` for an image's MAC key, to check the image:
/// verifies only, never leaves the HSM.
pub fn image_mac_key_unwrap() -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(false),
        Attribute::Verify(true),
        Attribute::Derive(false),
    ]
}

/// Template of `C_UnwrapKey` for another cluster's key, borrowed as a
/// session object to unwrap one version copied from that cluster: it
/// unwraps only, and goes with its session object.
pub fn borrowed_cluster_key() -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Wrap(false),
        Attribute::Unwrap(true),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
    ]
}
