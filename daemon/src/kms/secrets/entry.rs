//! A secret as the registry holds it: its row, its versions (oldest
//! first, values encrypted) and how its last automatic rotation ended.

use p11kms_proto::admin::RotationFailure;
use p11kms_proto::admin::secret::{ACS_CURRENT, ACS_PREVIOUS};

use crate::kms::KmsError;
use crate::store::{SecretRecord, SecretVersionRecord};

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
}

impl SecretEntry {
    /// A secret without versions yet.
    pub fn new(record: SecretRecord) -> Self {
        Self { record, versions: Vec::new(), rotation_failure: None }
    }

    /// The secret's name.
    pub fn name(&self) -> &str {
        &self.record.name
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
