//! An application's session key becoming a KMS key version
//! (`C_CopyObject` of a session key with `CKA_TOKEN` true, as Java's
//! keystore stores the pair `keytool -genkeypair` made).
//!
//! Only a key this daemon generated inside the member, and never let out
//! to the application, comes here (`data::promote` decides). It is copied
//! *inside* that member into the version's objects, with the version's
//! names and usage, private and sensitive, and stored as every version is
//! ([`super::persist`]); the caller then replicates the version to the
//! mirrors under the cluster key. The application's session key stays
//! what it was until its session ends.

use cryptoki::object::ObjectHandle;

use super::error::{Context, HsmError};
use super::member::Member;
use super::objects::{ObjectRole, PublicKey, VersionName};
use super::persist::{persist, persist_pair};
use super::templates;

/// Makes version `v`'s objects on `member` from the session key `key`
/// (the secret key, or the private half of a pair whose public half is
/// `public`) and remembers them. On failure nothing of `v` is left there.
pub fn copy_into_version(
    member: &Member,
    key: ObjectHandle,
    v: &VersionName,
    public: Option<&PublicKey>,
) -> Result<(), HsmError> {
    let protected = if v.spec.is_symmetric() { ObjectRole::Secret } else { ObjectRole::Private };
    let stored = member.with_session(|s| {
        let staged = s
            .copy_object(key, &templates::adopted(v, protected))
            .context(|| format!("copying a session key into {} on '{}'", v.label, member.label()))?;
        let Some(public) = public else {
            return Ok(vec![(protected, persist(s, staged, &v.label)?)]);
        };
        let staged_public = match s.create_object(&templates::public_copy(v, public)) {
            Ok(handle) => handle,
            Err(error) => {
                let _ = s.destroy_object(staged);
                return Err(HsmError::pkcs11(format!("creating the public key of {}", v.label), error));
            }
        };
        let (public, private) = persist_pair(s, staged_public, staged, &v.label)?;
        Ok(vec![(ObjectRole::Public, public), (protected, private)])
    })?;
    for (role, handle) in stored {
        member.remember(&v.id, role, handle);
    }
    Ok(())
}
