//! `UpdateSecretVersionStage` (generic secrets): add a stage to a version
//! (taking it from the version that had it), remove a custom stage, or
//! both at once. A stage names one version at a time; ACSCurrent and
//! ACSPrevious are only ever moved, never removed; a secret carries at
//! most 8 stages.

use p11kms_proto::admin::secret::is_system_stage;
use p11kms_proto::admin::{SecretNamed, UpdateSecretVersionStageRequest};

use super::limits::{self, MAX_STAGES};
use super::write::{Changed, Pending, change_secret};
use crate::kms::{Kms, KmsError};

/// `secret update-version-stage`.
pub fn update_version_stage(kms: &Kms, request: &UpdateSecretVersionStageRequest) -> Result<SecretNamed, KmsError> {
    let stage = request.version_stage.as_str();
    limits::check_stage(stage)?;
    let (remove, add) = (request.remove_from_version.as_deref(), request.move_to_version.as_deref());
    if remove.is_none() && add.is_none() {
        return Err(KmsError::InvalidParameter("give RemoveFromVersion, MoveToVersion, or both".into()));
    }
    if is_system_stage(stage) && add.is_none() {
        return Err(KmsError::InvalidParameter(format!(
            "{stage} is never removed, only moved: give MoveToVersion (the version that gets it)"
        )));
    }
    let name = request.secret_name.as_str();
    change_secret(kms, name, Pending::Refuse, |entry, _| {
        if entry.record.secret_type.is_managed() {
            return Err(KmsError::Unsupported(format!(
                "secret '{name}' is of type {}: its stages follow its rotations",
                entry.record.secret_type
            )));
        }
        if let Some(from) = remove {
            let version = entry.version_or_err(from)?;
            if !version.stages.iter().any(|s| s == stage) {
                return Err(KmsError::InvalidParameter(format!(
                    "version '{from}' of secret '{name}' does not have the stage '{stage}'"
                )));
            }
        }
        match add {
            Some(to) => {
                entry.version_or_err(to)?;
                entry.move_stage(stage, to);
            }
            None => entry.remove_stage(stage),
        }
        if entry.stage_count() > MAX_STAGES {
            return Err(KmsError::LimitExceeded(format!(
                "secret '{name}' would carry {} stages; a secret carries at most {MAX_STAGES}",
                entry.stage_count()
            )));
        }
        Ok((Changed::Yes, ()))
    })?;
    tracing::info!(secret = name, stage, "secret version stage updated");
    Ok(SecretNamed { secret_name: name.to_owned() })
}
