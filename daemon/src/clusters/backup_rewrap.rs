//! Re-wrapping a backed-up version's material between the backup root key
//! and a backup data file's key (`backup download`, `backup upload`), or
//! from a one-time key another daemon sent wrapped for a ticket's RSA key
//! pair (a restore from that daemon's backup: [`from_transport`]), inside
//! an HSM: the material is unwrapped as an extractable, sensitive
//! session object under one key and wrapped under the other
//! (`CKM_AES_KEY_WRAP_PAD`); both keys are session objects too, and every
//! session object is destroyed before returning, so the material is never
//! in clear outside the HSM and nothing of it stays there.

use std::path::Path;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

use p11kms_proto::admin::KeySpec;

use super::backup_key::{protected_role, with_root_key, wrapping_key_object};
use crate::hsm::error::Context;
use crate::hsm::{HsmError, Member, ObjectRole, VersionName};
use crate::kms::vault::Rewrap;

/// Bytes of a backup data file's key.
pub const FILE_KEY_LEN: usize = 32;

fn key_type(spec: KeySpec) -> KeyType {
    match spec {
        KeySpec::Aes256 | KeySpec::Aes128 => KeyType::AES,
        KeySpec::Rsa2048 | KeySpec::Rsa3072 => KeyType::RSA,
        KeySpec::EcP256 | KeySpec::EcP256K => KeyType::EC,
    }
}

/// Template of the material while it passes through: a session object,
/// sensitive, extractable (to be wrapped again), usable for nothing else.
fn passing(v: &VersionName) -> Vec<Attribute> {
    let class =
        if protected_role(v) == ObjectRole::Secret { ObjectClass::SECRET_KEY } else { ObjectClass::PRIVATE_KEY };
    vec![
        Attribute::Class(class),
        Attribute::KeyType(key_type(v.spec)),
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(true),
    ]
}

/// Unwraps `wrapped` under `from` and wraps it under `to`, in session `s`.
/// `None` when it does not unwrap under `from` (another key, or damaged).
fn pass(
    s: &Session,
    v: &VersionName,
    from: ObjectHandle,
    to: ObjectHandle,
    wrapped: &[u8],
) -> Result<Option<Vec<u8>>, HsmError> {
    let material = match s.unwrap_key(&Mechanism::AesKeyWrapPad, from, wrapped, &passing(v)) {
        Ok(handle) => handle,
        Err(error) => {
            let error = HsmError::pkcs11(format!("unwrapping {}", v.label), error);
            return if error.is_device_fault() { Err(error) } else { Ok(None) };
        }
    };
    let rewrapped = s.wrap_key(&Mechanism::AesKeyWrapPad, to, material);
    let _ = s.destroy_object(material);
    rewrapped.context(|| format!("wrapping {} again", v.label)).map(Some)
}

/// Re-wraps version `v`'s material on `member`: under the backup root key
/// of `secrets_dir` to under `file_key` ([`Rewrap::Export`]), or back
/// ([`Rewrap::Import`]). `None` when `wrapped` does not unwrap.
pub fn rewrap(
    secrets_dir: &Path,
    member: &Member,
    direction: Rewrap,
    v: &VersionName,
    wrapped: &[u8],
    file_key: &[u8; FILE_KEY_LEN],
) -> Result<Option<Vec<u8>>, HsmError> {
    with_root_key(secrets_dir, member, |s, root| {
        let file = wrapping_key_object(s, &file_key[..], "a backup file's key")?;
        let result = match direction {
            Rewrap::Export => pass(s, v, root, file, wrapped),
            Rewrap::Import => pass(s, v, file, root, wrapped),
        };
        let _ = s.destroy_object(file);
        result
    })
}

/// Re-wraps version `v`'s material on `member` from a one-time AES key,
/// which comes wrapped for the wrapping key pair `wrapping` held there
/// (`transport_key`, RSA-OAEP with SHA-1), to the backup root key of
/// `secrets_dir`. The one-time key is unwrapped as a session object, used
/// to unwrap the material only, and destroyed. `None` when the one-time
/// key or the material does not unwrap.
pub fn from_transport(
    secrets_dir: &Path,
    member: &Member,
    wrapping: &[u8; 16],
    transport_key: &[u8],
    v: &VersionName,
    wrapped: &[u8],
) -> Result<Option<Vec<u8>>, HsmError> {
    let private = crate::hsm::import::wrapping_private(member, wrapping)?;
    with_root_key(secrets_dir, member, |s, root| {
        let template = crate::hsm::templates::borrowed_cluster_key();
        let one_time = match s.unwrap_key(&crate::hsm::transfer::transport_oaep(), private, transport_key, &template) {
            Ok(handle) => handle,
            Err(error) => {
                let error = HsmError::pkcs11("unwrapping a restore's one-time key", error);
                return if error.is_device_fault() { Err(error) } else { Ok(None) };
            }
        };
        let result = pass(s, v, one_time, root, wrapped);
        let _ = s.destroy_object(one_time);
        result
    })
}
