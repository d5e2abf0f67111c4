//! Key objects are made in two steps: staged as session objects, then
//! copied to the token in one write.
//!
//! Why: SoftHSM's file store rewrites an object's file once for every
//! attribute it sets while creating the object (about 35 rewrites for a
//! key, some 7 ms), but writes a copy once. A version's key objects are
//! therefore generated, unwrapped or created as session objects
//! ([`super::templates`] stages them: `CKA_TOKEN` false and still
//! modifiable), and [`persist`] copies each to the token with
//! [`super::templates::PERSIST`] (on the token, read-only from then on)
//! and destroys the session object. The copy keeps every attribute,
//! `CKA_LOCAL`, `CKA_ALWAYS_SENSITIVE` and `CKA_KEY_GEN_MECHANISM`
//! included. `docs/performance.md` has the measurements.
//!
//! A staged object lives in the session that made it: it must be
//! persisted in the same session (inside one `Member::with_session`).

use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;

use super::error::{Context, HsmError};
use super::templates::PERSIST;

/// Copies the staged object to the token and destroys the staged one,
/// whether or not the copy worked. Returns the token object.
pub fn persist(s: &Session, staged: ObjectHandle, what: &str) -> Result<ObjectHandle, HsmError> {
    let stored = s.copy_object(staged, &PERSIST).context(|| format!("storing {what} on the token"));
    if let Err(error) = s.destroy_object(staged) {
        // It goes when its session closes; until then it only takes memory.
        tracing::warn!(%error, what, "cannot destroy a staged session object");
    }
    stored
}

/// [`persist`] for a key pair: both halves or neither (a private half
/// already stored is destroyed when the public half fails).
pub fn persist_pair(
    s: &Session,
    public: ObjectHandle,
    private: ObjectHandle,
    what: &str,
) -> Result<(ObjectHandle, ObjectHandle), HsmError> {
    let private = match persist(s, private, what) {
        Ok(private) => private,
        Err(error) => {
            let _ = s.destroy_object(public);
            return Err(error);
        }
    };
    match persist(s, public, what) {
        Ok(public) => Ok((public, private)),
        Err(error) => {
            let _ = s.destroy_object(private);
            Err(error)
        }
    }
}
