//! The registry's secrets, by name and by their data-plane number.

use p11kms_proto::admin::RotationFailure;

use super::super::error::KmsError;
use super::super::secrets::SecretEntry;
use super::Registry;

impl Registry {
    /// All secrets, by name.
    pub fn secrets(&self) -> impl Iterator<Item = &SecretEntry> {
        self.secrets.values()
    }

    /// A secret by name.
    pub fn secret(&self, name: &str) -> Result<&SecretEntry, KmsError> {
        self.secrets.get(name).ok_or_else(|| KmsError::SecretNotFound(name.into()))
    }

    /// True when a secret has this name.
    pub fn secret_exists(&self, name: &str) -> bool {
        self.secrets.contains_key(name)
    }

    /// Secrets an instance holds (those pending deletion too).
    pub fn secrets_in(&self, instance: &str) -> u64 {
        self.secrets.values().filter(|s| s.record.instance == instance).count() as u64
    }

    /// The secret whose [`SecretEntry::number`] is `number`.
    pub fn secret_by_number(&self, number: u64) -> Option<&SecretEntry> {
        self.secret_numbers.get(&number).and_then(|name| self.secrets.get(name))
    }

    /// Adds or replaces a secret (after the store committed it).
    pub fn put_secret(&mut self, secret: SecretEntry) {
        let name = secret.record.name.clone();
        // Two names with one number (odds of about 10^-11 for a thousand
        // secrets): the first keeps it, and the data plane, which lists
        // only secrets the number leads back to, does not show the other.
        let taken = self.secret_numbers.entry(secret.number()).or_insert_with(|| name.clone());
        if *taken != name {
            tracing::warn!(secret = name, with = taken.as_str(), "two secrets share a data-plane number");
        }
        self.secrets.insert(name, secret);
    }

    /// Forgets a secret (after the store deleted it).
    pub fn remove_secret(&mut self, name: &str) {
        let Some(gone) = self.secrets.remove(name) else {
            return;
        };
        if self.secret_numbers.get(&gone.number()).is_some_and(|n| n == name) {
            self.secret_numbers.remove(&gone.number());
            // A secret that shared the number takes it over.
            if let Some(other) = self.secrets.values().find(|s| s.number() == gone.number()) {
                self.secret_numbers.insert(gone.number(), other.record.name.clone());
            }
        }
    }

    /// Records how the last automatic rotation of a secret ended (`None`:
    /// it succeeded).
    pub fn note_secret_rotation(&mut self, name: &str, failure: Option<RotationFailure>) {
        if let Some(secret) = self.secrets.get_mut(name) {
            secret.rotation_failure = failure;
        }
    }
}
