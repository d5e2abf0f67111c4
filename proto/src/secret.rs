//! Bytes that must never be logged and are wiped when dropped: PINs on the
//! wire, key material, secret values.

use std::cell::Cell;

use serde::{Deserialize, Serialize, Serializer};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// What a secret serializes as inside [`redacting`].
pub const REDACTED: &str = "[redacted]";

thread_local! {
    static REDACTING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with every [`SecretBytes`] and [`SecretString`] it serializes
/// written as [`REDACTED`]: how the audit trail records a request's
/// parameters, by the type of each field rather than by a list of names.
pub fn redacting<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            REDACTING.with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(REDACTING.with(|r| r.replace(true)));
    f()
}

fn is_redacting() -> bool {
    REDACTING.with(Cell::get)
}

/// A secret byte string. `Debug` prints only its length; memory is zeroized
/// on drop.
/// In human-readable renderings (`--json`) it is base64, as the spec's API
/// shows `Plaintext`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(transparent)]
pub struct SecretBytes(#[serde(with = "crate::bytes")] Vec<u8>);

impl Serialize for SecretBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if is_redacting() { serializer.serialize_str(REDACTED) } else { crate::bytes::serialize(&self.0, serializer) }
    }
}

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
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(transparent)]
pub struct SecretString(String);

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if is_redacting() { REDACTED } else { &self.0 })
    }
}

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

    #[test]
    fn redacting_hides_secrets_by_type_and_leaves_the_wire_alone() {
        let pin = SecretString::new("s3cret".into());
        let bytes = SecretBytes::from("hunter2");
        let wire = postcard::to_allocvec(&(&pin, &bytes)).expect("postcard");
        let shown = redacting(|| serde_json::to_string(&(&pin, &bytes)).expect("json"));
        assert_eq!(shown, format!("[\"{REDACTED}\",\"{REDACTED}\"]"));
        assert_eq!(
            redacting(|| postcard::to_allocvec(&(&pin, &bytes)).expect("postcard")).len(),
            2 + 2 * REDACTED.len()
        );
        assert_eq!(serde_json::to_string(&pin).expect("json"), "\"s3cret\"", "only inside redacting");
        assert_eq!(postcard::to_allocvec(&(&pin, &bytes)).expect("postcard"), wire);
    }
}
