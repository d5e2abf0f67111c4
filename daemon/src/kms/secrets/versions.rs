//! New versions: `PutSecretValue` (generic secrets; idempotent by version
//! id), and the rules every new version follows, whoever makes it
//! (creation, a put, a rotation): its stages move to it (the version that
//! had ACSCurrent gets ACSPrevious), the secret carries at most 8 stages,
//! and a secret at its version limit loses its oldest version without a
//! stage, or refuses the new one when every version has a stage.

use p11kms_proto::Timestamp;
use p11kms_proto::admin::secret::ACS_CURRENT;
use p11kms_proto::admin::{PutSecretValueRequest, SecretDataType, SecretVersionPut};

use super::limits::{self, MAX_STAGES};
use super::write::{Changed, Pending, change_secret};
use super::{SecretEntry, values};
use crate::kms::{Kms, KmsError};
use crate::store::{SealedValue, SecretVersionRecord};

/// A version about to be added.
#[derive(Debug)]
pub struct NewVersion {
    /// Its id.
    pub version_id: String,
    /// How its value is given and returned.
    pub data_type: SecretDataType,
    /// Its value, encrypted.
    pub sealed: SealedValue,
    /// Its stages.
    pub stages: Vec<String>,
}

/// Adds `new` to `entry` at `now` under the rules of the module
/// documentation; `max_versions` is the configured limit.
pub fn add_version(
    entry: &mut SecretEntry,
    new: NewVersion,
    now: Timestamp,
    max_versions: usize,
) -> Result<(), KmsError> {
    let name = entry.record.name.clone();
    entry.versions.push(SecretVersionRecord {
        seq: 0,
        secret_name: name.clone(),
        version_id: new.version_id.clone(),
        created_at: now,
        stages: Vec::new(),
        data_type: new.data_type,
        sealed: new.sealed,
    });
    for stage in &new.stages {
        entry.move_stage(stage, &new.version_id);
    }
    if entry.stage_count() > MAX_STAGES {
        return Err(KmsError::LimitExceeded(format!(
            "secret '{name}' would carry {} stages; a secret carries at most {MAX_STAGES}",
            entry.stage_count()
        )));
    }
    while entry.versions.len() > max_versions {
        let Some(oldest) = entry.versions.iter().position(|v| v.stages.is_empty() && v.version_id != new.version_id)
        else {
            return Err(KmsError::LimitExceeded(format!(
                "secret '{name}' keeps {max_versions} versions and every one has a stage: remove a stage \
                 (update-version-stage) so that the oldest version without one can go"
            )));
        };
        entry.versions.remove(oldest);
    }
    Ok(())
}

/// The stages a put gives its version: those asked for, or ACSCurrent.
fn stages_of(request: &PutSecretValueRequest) -> Result<Vec<String>, KmsError> {
    let stages = request.version_stages.clone().unwrap_or_else(|| vec![ACS_CURRENT.to_owned()]);
    if stages.is_empty() {
        return Err(KmsError::InvalidParameter("VersionStages must name at least one stage".into()));
    }
    limits::check_stages(&stages)?;
    Ok(stages)
}

/// `secret put-value`: a new version of a generic secret. The same
/// version id again with the same value (and type) succeeds and changes
/// nothing; with another value it is `Rejected.ResourceExist`.
pub fn put_value(kms: &Kms, request: &PutSecretValueRequest) -> Result<SecretVersionPut, KmsError> {
    limits::check_version_id(&request.version_id)?;
    let stages = stages_of(request)?;
    let value = limits::value_bytes(&request.secret_data, request.secret_data_type)?;
    let name = request.secret_name.as_str();
    let (_, version_stages) = change_secret(kms, name, Pending::Refuse, |entry, now| {
        let record = &entry.record;
        if record.secret_type.is_managed() {
            return Err(KmsError::Unsupported(format!(
                "secret '{name}' is of type {}: the daemon makes its values (rotate-secret), not put-value",
                record.secret_type
            )));
        }
        if let Some(existing) = entry.version(&request.version_id) {
            let held = values::open(kms, &record.encryption_key_id, name, &existing.version_id, &existing.sealed)?;
            if existing.data_type == request.secret_data_type && held.expose() == value.as_slice() {
                return Ok((Changed::No, existing.stages.clone()));
            }
            return Err(KmsError::Exists {
                what: "secret version (with another value)",
                name: format!("{name}/{}", request.version_id),
            });
        }
        let sealed = values::seal(kms, &record.encryption_key_id, name, &request.version_id, &value)?;
        let new = NewVersion {
            version_id: request.version_id.clone(),
            data_type: request.secret_data_type,
            sealed,
            stages: stages.clone(),
        };
        add_version(entry, new, now, kms.config.secrets.max_versions)?;
        Ok((Changed::Yes, stages))
    })?;
    tracing::info!(secret = name, version = %request.version_id, "secret value put");
    Ok(SecretVersionPut { secret_name: name.to_owned(), version_id: request.version_id.clone(), version_stages })
}
