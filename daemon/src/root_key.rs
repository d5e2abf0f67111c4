//! The daemon's root key: an AES-256 key in `<secrets>/root.key` (mode
//! 0600, made at the first start), under which the daemon seals what its
//! store and journal keep that is secret but no HSM's to hold: today the
//! attribute values of objects applications create through PKCS#11.
//!
//! Sealing is AES-256-GCM with a random 96-bit nonce and, as additional
//! data, the name of what the bytes are (`object 42`), so a sealed value
//! moved to another row or entity does not open. A sealed value is
//! `nonce || ciphertext || tag`. Losing the file loses those values;
//! anyone holding it and a copy of the database reads them: it lives with
//! the token PINs, and is backed up as they are.

use std::path::Path;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};

use crate::private_files::key_file;

/// Bytes of a nonce.
const NONCE_LEN: usize = 12;
/// Bytes of a tag.
const TAG_LEN: usize = 16;

/// A sealed value does not open.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// Cut short, changed, of another purpose, or under another key.
    #[error("a sealed value does not open under the root key (damaged, moved, or another state directory's)")]
    Unopenable,
    /// The encryption itself failed (never for sane sizes).
    #[error("the root key cannot seal this value")]
    Seal,
}

/// The root key, ready to seal and open.
pub struct RootKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}

impl RootKey {
    /// The root key of a state directory, made when it has none.
    pub fn load(secrets_dir: &Path) -> std::io::Result<Self> {
        let key = key_file(&secrets_dir.join("root.key"))?;
        Self::from_bytes(&key).map_err(|_| std::io::Error::other("root.key is not an AES-256 key"))
    }

    fn from_bytes(key: &[u8]) -> Result<Self, SealError> {
        Ok(Self { cipher: Aes256Gcm::new_from_slice(key).map_err(|_| SealError::Seal)? })
    }

    /// A key of its own, for tests and in-memory stores.
    #[cfg(test)]
    pub fn random() -> Self {
        let key: zeroize::Zeroizing<[u8; 32]> = zeroize::Zeroizing::new(rand::random());
        Self { cipher: Aes256Gcm::new((&*key).into()) }
    }

    /// Seals `plaintext` as `purpose`.
    pub fn seal(&self, purpose: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: purpose })
            .map_err(|_| SealError::Seal)?;
        Ok([&nonce[..], &sealed].concat())
    }

    /// Opens a value sealed as `purpose`.
    pub fn open(&self, purpose: &[u8], sealed: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Unopenable);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: purpose })
            .map(zeroize::Zeroizing::new)
            .map_err(|_| SealError::Unopenable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_as_what_it_was_sealed_as() {
        let key = RootKey::random();
        let sealed = key.seal(b"object 1", b"secret value").expect("seals");
        assert!(!sealed.windows(12).any(|w| w == b"secret value"), "no plaintext in the sealed bytes");
        assert_eq!(key.open(b"object 1", &sealed).expect("opens").as_slice(), b"secret value");
        assert_eq!(key.open(b"object 2", &sealed), Err(SealError::Unopenable), "moved to another row");
        let mut changed = sealed.clone();
        changed[20] ^= 1;
        assert_eq!(key.open(b"object 1", &changed), Err(SealError::Unopenable));
        assert_eq!(RootKey::random().open(b"object 1", &sealed), Err(SealError::Unopenable), "another key");
        assert_eq!(key.open(b"object 1", &sealed[..10]), Err(SealError::Unopenable));
        assert_ne!(key.seal(b"object 1", b"secret value").expect("seals"), sealed, "a fresh nonce each time");
    }

    #[test]
    fn the_key_file_is_made_once_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = RootKey::load(dir.path()).expect("made");
        let sealed = first.seal(b"p", b"v").expect("seals");
        let again = RootKey::load(dir.path()).expect("read");
        assert_eq!(again.open(b"p", &sealed).expect("the same key").as_slice(), b"v");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("root.key")).expect("exists").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(format!("{first:?}"), "RootKey(<redacted>)");
    }
}
