//! Bytes that must never be logged and are wiped when dropped: PINs on the
//! wire, key material, secret values.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret byte string. `Debug` prints only its length; memory is zeroized
/// on drop.
/// In human-readable renderings (`--json`) it is base64, as the spec's API
/// shows `Plaintext`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(transparent)]
pub struct SecretBytes(#[serde(with = "crate::bytes")] Vec<u8>);

impl SecretBytes {
    /// Wraps bytes (taking ownership, so no copy is left behind).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The secret, for the moment it is needed.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for SecretBytes {
    fn from(value: &str) -> Self {
        Self(value.as_bytes().to_vec())
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = SecretBytes::from("hunter2");
        let shown = format!("{secret:?}");
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("7 bytes"));
    }
}

/// A secret text shown to a human exactly once (a new app's PIN). Serializes
/// as a plain string so `--json` prints it; `Debug` redacts it; memory is
/// zeroized on drop.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a string (taking ownership).
    pub fn new(text: String) -> Self {
        Self(text)
    }

    /// The secret, for the moment it is needed.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

#[cfg(test)]
mod string_tests {
    use super::*;

    #[test]
    fn secret_string_prints_in_json_but_not_in_debug() {
        let pin = SecretString::new("s3cret".into());
        assert_eq!(serde_json::to_string(&pin).expect("json"), "\"s3cret\"");
        assert!(!format!("{pin:?}").contains("s3cret"));
    }
}
