//! How a migration shows and compares values without showing them:
//! HMAC-SHA-256 of a value's bytes (a binary value's decoded bytes, a text
//! value's UTF-8) under a 512-bit key (SHA-256's block) drawn from the OS generator for one
//! run, never shown and wiped when the run ends. Two digests of one run
//! are equal exactly when the bytes are (a collision under an unknown
//! random key is out of reach), so the comparison keeps digests, not
//! values; and a digest printed tells nothing of a value, even a short
//! password (an unkeyed hash could be checked against guesses).

use std::fmt;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use rand::TryRngCore;
use serde::{Serialize, Serializer};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Bytes of a digest shown (as hex): enough to tell values apart by eye.
const SHOWN: usize = 8;

/// The key of one run: as long as SHA-256's block, so HMAC uses it as it
/// is.
pub struct DigestKey(Zeroizing<[u8; 64]>);

impl fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DigestKey(<redacted>)")
    }
}

impl DigestKey {
    /// A new key from the OS generator.
    pub fn new() -> Result<Self, rand::rand_core::OsError> {
        let mut key = Zeroizing::new([0u8; 64]);
        rand::rngs::OsRng.try_fill_bytes(key.as_mut())?;
        Ok(Self(key))
    }

    /// The digest of `bytes`.
    pub fn digest(&self, bytes: &[u8]) -> Digest {
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&(*self.0).into());
        mac.update(bytes);
        Digest(mac.finalize().into_bytes().into())
    }
}

/// A value's digest under the run's key. Compared whole; shown (and
/// serialized) as the hex of its first bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest([u8; 32]);

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0[..SHOWN].iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_equal_for_equal_bytes_under_one_key_only() {
        let key = DigestKey::new().expect("a key");
        assert_eq!(key.digest(b"pw"), key.digest(b"pw"));
        assert_ne!(key.digest(b"pw"), key.digest(b"pw\n"));
        assert_ne!(key.digest(&[0, 255]), key.digest(&[0, 254]));
        let other = DigestKey::new().expect("another key");
        assert_ne!(key.digest(b"pw"), other.digest(b"pw"), "a digest depends on the run's key");
        let shown = key.digest(b"pw").to_string();
        assert_eq!(shown.len(), 2 * SHOWN);
        assert!(shown.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(serde_json::to_value(key.digest(b"pw")).expect("json"), serde_json::Value::String(shown));
        assert_eq!(format!("{key:?}"), "DigestKey(<redacted>)");
    }
}
