//! The backup root key (`<state>/secrets/backup-root.key`) inside an HSM:
//! brought into a member as a session object for one task and destroyed
//! after, so key material wrapped under it (mirror images, software
//! instances' backups) never exists outside an HSM in clear. Here: the
//! key's object, wrapping a version under it, and installing a wrapped
//! version on a member (a private key checked, inside the HSM, to be the
//! other half of the public key the caller gives).

use std::path::Path;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

use crate::hsm::error::Context;
use crate::hsm::image_auth::pair_matches;
use crate::hsm::persist::persist;
use crate::hsm::{HsmError, Member, ObjectRole, PublicKey, VersionName, templates};
use crate::private_files::backup_root_key;

/// AES key `value` as a session object of `s` that wraps and unwraps and
/// does nothing else, never leaving the HSM (`what` names it in errors).
pub fn wrapping_key_object(s: &Session, value: &[u8], what: &str) -> Result<ObjectHandle, HsmError> {
    let template = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Wrap(true),
        Attribute::Unwrap(true),
        Attribute::Value(value.to_vec()),
    ];
    s.create_object(&template).context(|| format!("importing {what}"))
}

/// The backup root key of `secrets_dir` as a session object of `s`.
pub fn root_key_object(secrets_dir: &Path, s: &Session) -> Result<ObjectHandle, HsmError> {
    let key = backup_root_key(secrets_dir)?;
    wrapping_key_object(s, &key[..], "the backup root key")
}

/// Runs `f` with the backup root key as a session object of a session of
/// `member`, and destroys the object afterwards.
pub fn with_root_key<T>(
    secrets_dir: &Path,
    member: &Member,
    f: impl FnOnce(&Session, ObjectHandle) -> Result<T, HsmError>,
) -> Result<T, HsmError> {
    member.with_session(|s| {
        let root = root_key_object(secrets_dir, s)?;
        let result = f(s, root);
        let _ = s.destroy_object(root);
        result
    })
}

/// The role of a version's secret part: its AES key or its private key.
pub fn protected_role(v: &VersionName) -> ObjectRole {
    if v.spec.is_symmetric() { ObjectRole::Secret } else { ObjectRole::Private }
}

/// Wraps `handle` (version `v`'s secret part on the session's member)
/// under the backup root key, in session `s`.
pub fn wrap(secrets_dir: &Path, s: &Session, v: &VersionName, handle: ObjectHandle) -> Result<Vec<u8>, HsmError> {
    let root = root_key_object(secrets_dir, s)?;
    let wrapped = s.wrap_key(&Mechanism::AesKeyWrapPad, root, handle);
    let _ = s.destroy_object(root);
    wrapped.context(|| format!("wrapping {} under the backup root key", v.label))
}

/// What installing a wrapped version on a member came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Installed {
    /// It is on the member, its public half with it.
    Done,
    /// The wrapped key does not unwrap under the backup root key.
    DoesNotUnwrap,
    /// The private key is not the other half of the public key given.
    PairMismatch,
}

/// Unwraps version `v` from `wrapped` (under the backup root key) onto
/// `member` and stores its public half from `public`, checking inside
/// the HSM that the two halves belong together.
pub fn install(
    secrets_dir: &Path,
    member: &Member,
    v: &VersionName,
    wrapped: &[u8],
    public: Option<&PublicKey>,
) -> Result<Installed, HsmError> {
    let role = protected_role(v);
    let unwrapped = with_root_key(secrets_dir, member, |s, root| {
        match s.unwrap_key(&Mechanism::AesKeyWrapPad, root, wrapped, &templates::unwrapped(v, role)) {
            Ok(staged) => persist(s, staged, &v.label).map(Some),
            Err(error) => {
                let error = HsmError::pkcs11(format!("unwrapping {}", v.label), error);
                if error.is_device_fault() { Err(error) } else { Ok(None) }
            }
        }
    })?;
    let Some(handle) = unwrapped else { return Ok(Installed::DoesNotUnwrap) };
    member.remember(&v.id, role, handle);
    let Some(public) = public else { return Ok(Installed::Done) };
    let matches = member.with_session(|s| {
        let staged =
            s.create_object(&templates::public_copy(v, public)).context(|| format!("public key of {}", v.label))?;
        let public_handle = persist(s, staged, &v.label)?;
        member.remember(&v.id, ObjectRole::Public, public_handle);
        pair_matches(s, handle, public_handle, public)
    })?;
    Ok(if matches { Installed::Done } else { Installed::PairMismatch })
}
