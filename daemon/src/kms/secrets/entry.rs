//! A secret as the registry holds it: its row, its versions (oldest
//! first, values encrypted), how its last automatic rotation ended, and
//! the number that names it on the data plane.

use p11kms_proto::admin::RotationFailure;
use p11kms_proto::admin::secret::{ACS_CURRENT, ACS_PREVIOUS};

use sha2::{Digest, Sha256};

use crate::kms::KmsError;
use crate::store::{SecretRecord, SecretVersionRecord};

/// Bits of a secret's [`object_number`].
pub const OBJECT_NUMBER_BITS: u32 = 56;

/// The number that names secret `name` on the data plane (its PKCS#11
/// object id is made of it, `data::secret_objects`): the first 56 bits of
/// SHA-256 over a domain label and the name. A secret has no number in
/// the store, and its name never changes, so the number is as stable as
/// the name: across restarts, new values and stages. A secret deleted and
/// made again under the same name gets the same number, which is right for
/// an object an application finds by that name. Two names of one region
/// share a number with odds of about n²/2⁵⁷ (10⁻¹¹ for a thousand).
pub fn object_number(name: &str) -> u64 {
    let digest = Sha256::new().chain_update(b"p11kms secret object\0").chain_update(name.as_bytes()).finalize();
    let mut bytes = [0u8; 8];
    bytes[1..].copy_from_slice(&digest[..7]);
    u64::from_be_bytes(bytes)
}

/// A secret and its versions.
#[derive(Clone, Debug)]
pub struct SecretEntry {
    /// The secret's row.
    pub record: SecretRecord,
    /// Versions, oldest first.
    pub versions: Vec<SecretVersionRecord>,
    /// The last automatic rotation's failure, until one succeeds. Kept in
    /// memory only: after a restart the scheduler tries again at once.
    pub rotation_failure: Option<RotationFailure>,
    /// [`object_number`] of its name, computed once.
    number: u64,
}

impl SecretEntry {
    /// A secret without versions yet.
    pub fn new(record: SecretRecord) -> Self {
        let number = object_number(&record.name);
        Self { record, versions: Vec::new(), rotation_failure: None, number }
    }

    /// The secret's name.
    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// The number that names it on the data plane ([`object_number`]).
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The same secret under another number: two names sharing one, which
    /// SHA-256 will not produce on demand.
    #[cfg(test)]
    pub fn with_number(self, number: u64) -> Self {
        Self { number, ..self }
    }

    /// True in the recovery window of a deletion.
    pub fn is_pending_deletion(&self) -> bool {
        self.record.planned_delete_time.is_some()
    }

    /// Refuses a secret in its recovery window.
    pub fn check_not_pending(&self) -> Result<(), KmsError> {
        if self.is_pending_deletion() {
            return Err(KmsError::SecretPendingDeletion(self.record.name.clone()));
        }
        Ok(())
    }

    /// A version by id.
    pub fn version(&self, version_id: &str) -> Option<&SecretVersionRecord> {
        self.versions.iter().find(|v| v.version_id == version_id)
    }

    /// A version by id, or `SecretVersionNotFound`.
    pub fn version_or_err(&self, version_id: &str) -> Result<&SecretVersionRecord, KmsError> {
        self.version(version_id).ok_or_else(|| KmsError::SecretVersionNotFound {
            secret: self.record.name.clone(),
            version: format!("'{version_id}'"),
        })
    }

    /// The version with `stage`, or `SecretVersionNotFound`.
    pub fn with_stage(&self, stage: &str) -> Result<&SecretVersionRecord, KmsError> {
        self.versions.iter().find(|v| v.stages.iter().any(|s| s == stage)).ok_or_else(|| {
            KmsError::SecretVersionNotFound {
                secret: self.record.name.clone(),
                version: format!("with stage '{stage}'"),
            }
        })
    }

    /// The version in use (ACSCurrent).
    pub fn current(&self) -> Result<&SecretVersionRecord, KmsError> {
        self.with_stage(ACS_CURRENT)
    }

    /// How many stages its versions carry together.
    pub fn stage_count(&self) -> usize {
        self.versions.iter().map(|v| v.stages.len()).sum()
    }

    /// Puts `stage` on `version_id` alone (taking it from the version that
    /// has it). Moving ACSCurrent gives the version that had it
    /// ACSPrevious, as the API does.
    pub fn move_stage(&mut self, stage: &str, version_id: &str) {
        let had = self.versions.iter().find(|v| v.stages.iter().any(|s| s == stage)).map(|v| v.version_id.clone());
        if had.as_deref() == Some(version_id) {
            return;
        }
        self.remove_stage(stage);
        if let Some(version) = self.versions.iter_mut().find(|v| v.version_id == version_id) {
            version.stages.push(stage.to_owned());
        }
        if stage == ACS_CURRENT {
            if let Some(previous) = had {
                self.move_stage(ACS_PREVIOUS, &previous);
            }
        }
    }

    /// Takes `stage` off whichever version has it.
    pub fn remove_stage(&mut self, stage: &str) {
        for version in &mut self.versions {
            version.stages.retain(|s| s != stage);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_numbers_are_stable_distinct_and_56_bits() {
        assert_eq!(object_number("db"), object_number("db"), "the same name, the same number");
        assert_ne!(object_number("db"), object_number("db2"));
        assert_ne!(object_number("a/b"), object_number("a/c"));
        for name in ["db", "x", "acs/ecs/i-1/root", &"n".repeat(192)] {
            assert!(object_number(name) < 1 << OBJECT_NUMBER_BITS, "{name}");
        }
        // Pinned: a changed derivation would change every secret's handle
        // in applications that stored it across a daemon upgrade.
        assert_eq!(object_number("db"), 0x00d3_9503_0282_b1a1);
    }
}
