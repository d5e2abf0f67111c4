//! Rotation of Rds, RAMCredentials and ECS secrets (Generic secrets are
//! rotated by their owners: `Rejected.UnsupportedOperation`).
//!
//! * `NextRotationDate = (LastRotationDate, else CreateTime) +
//!   RotationInterval`; a policy whose date has passed rotates at once;
//! * a rotation makes a new value ([`super::managed::rotated_value`])
//!   from the vault's random bytes, as a new version the daemon names
//!   (or `RotateSecret` does) with ACSCurrent, the old one ACSPrevious;
//! * a secret pending deletion is not rotated (`Suspended`);
//! * a failed automatic rotation is kept on the secret (DescribeSecret's
//!   `LastRotationFailure`) and retried at every scheduler pass.

use zeroize::Zeroizing;

use p11kms_proto::Timestamp;
use p11kms_proto::admin::secret::ACS_CURRENT;
use p11kms_proto::admin::{AutomaticRotation, RotationFailure, SecretDataType, UpdateSecretRotationPolicyRequest};

use super::managed::{self, Random};
use super::versions::{NewVersion, add_version};
use super::write::{Changed, Pending, change_secret};
use super::{SecretEntry, limits, values};
use crate::kms::{Kms, KmsError};

/// `AutomaticRotation` as DescribeSecret reports it.
pub fn status(entry: &SecretEntry) -> AutomaticRotation {
    match (entry.record.automatic_rotation, entry.is_pending_deletion()) {
        (false, _) => AutomaticRotation::Disabled,
        (true, false) => AutomaticRotation::Enabled,
        (true, true) => AutomaticRotation::Suspended,
    }
}

/// When the next automatic rotation is due (none when not scheduled).
pub fn next_rotation(entry: &SecretEntry) -> Option<Timestamp> {
    let interval = entry.record.rotation_interval?;
    let last = entry.record.last_rotation_date.unwrap_or(entry.record.created_at);
    (status(entry) == AutomaticRotation::Enabled).then(|| last.plus_seconds(interval))
}

fn refuse_generic(entry: &SecretEntry) -> Result<(), KmsError> {
    if entry.record.secret_type.is_managed() {
        return Ok(());
    }
    Err(KmsError::Unsupported(format!(
        "secret '{}' is Generic: generic secrets are rotated by their owners (put-value), not by the daemon",
        entry.record.name
    )))
}

/// `secret update-rotation-policy`. A policy whose next date has passed
/// rotates at once.
pub fn update_policy(kms: &Kms, request: &UpdateSecretRotationPolicyRequest) -> Result<(), KmsError> {
    if let Some(interval) = request.rotation_interval {
        limits::check_rotation_interval(interval)?;
    }
    let name = request.secret_name.as_str();
    change_secret(kms, name, Pending::Refuse, |entry, _| {
        refuse_generic(entry)?;
        let interval = request.rotation_interval.or(entry.record.rotation_interval);
        if request.enable_automatic_rotation && interval.is_none() {
            return Err(KmsError::InvalidParameter("RotationInterval is required to enable automatic rotation".into()));
        }
        entry.record.automatic_rotation = request.enable_automatic_rotation;
        entry.record.rotation_interval = interval;
        Ok((Changed::Yes, ()))
    })?;
    rotate_if_due(kms, name)?;
    Ok(())
}

/// The vault's random bytes, fetched 64 at a time.
struct VaultRandom<'a> {
    kms: &'a Kms,
    cluster: String,
    buffer: Zeroizing<Vec<u8>>,
}

impl Random for VaultRandom<'_> {
    fn bytes(&mut self, len: usize) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        if self.buffer.len() < len {
            let fresh = self.kms.vault.random(&self.cluster, len.max(64))?;
            self.buffer.extend_from_slice(fresh.expose());
        }
        let rest = self.buffer.split_off(len);
        Ok(std::mem::replace(&mut self.buffer, Zeroizing::new(rest)))
    }
}

/// Rotates secret `name` now: its new value becomes ACSCurrent as version
/// `version_id` (a new UUID when none). Returns the new version's id.
pub fn rotate(kms: &Kms, name: &str, version_id: Option<&str>) -> Result<String, KmsError> {
    let version_id = version_id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    limits::check_version_id(&version_id)?;
    change_secret(kms, name, Pending::Refuse, |entry, now| {
        refuse_generic(entry)?;
        let record = &entry.record;
        if entry.version(&version_id).is_some() {
            return Err(KmsError::Exists { what: "secret version", name: format!("{name}/{version_id}") });
        }
        let current = entry.current()?;
        let held = values::open(kms, &record.encryption_key_id, name, &current.version_id, &current.sealed)?;
        let cluster = kms.cluster_of(&record.instance)?;
        let mut random = VaultRandom { kms, cluster, buffer: Zeroizing::new(Vec::new()) };
        let config = record.extended_config.as_deref();
        let value = managed::rotated_value(record.secret_type, config, held.expose(), &mut random)?;
        let sealed = values::seal(kms, &record.encryption_key_id, name, &version_id, &value)?;
        let new = NewVersion {
            version_id: version_id.clone(),
            data_type: SecretDataType::Text,
            sealed,
            stages: vec![ACS_CURRENT.to_owned()],
        };
        add_version(entry, new, now, kms.config.secrets.max_versions)?;
        entry.record.last_rotation_date = Some(now);
        Ok((Changed::Yes, ()))
    })?;
    tracing::info!(secret = name, version = %version_id, "secret rotated");
    Ok(version_id)
}

/// Rotates a secret whose next rotation date has come; returns whether
/// it did.
pub fn rotate_if_due(kms: &Kms, name: &str) -> Result<bool, KmsError> {
    let _pass = kms.schedule()?;
    let due = next_rotation(kms.registry()?.secret(name)?).is_some_and(|next| next <= kms.clock.now());
    if due {
        rotate_on_schedule(kms, name)?;
    }
    Ok(due)
}

/// An automatic rotation: as [`rotate`], and its outcome kept on the
/// secret until one succeeds.
pub fn rotate_on_schedule(kms: &Kms, name: &str) -> Result<String, KmsError> {
    let result = rotate(kms, name, None);
    let failure = result.as_ref().err().map(|error| {
        let api = error.to_api();
        RotationFailure { time: kms.clock.now(), code: api.code.to_string(), message: api.message }
    });
    kms.registry_mut()?.note_secret_rotation(name, failure);
    result
}

/// What a scheduler pass did with secrets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Secrets rotated.
    pub rotated: usize,
    /// Secrets deleted at the end of their recovery window.
    pub deleted: usize,
    /// Actions that failed (logged; retried at the next pass).
    pub failed: usize,
}

/// Does the secrets' time-driven work that is due now: ends recovery
/// windows, rotates. The caller holds the schedule lock.
pub fn run_due(kms: &Kms, now: Timestamp) -> Pass {
    let mut pass = Pass::default();
    let due: Vec<(String, bool)> = match kms.registry() {
        Ok(registry) => registry
            .secrets()
            .filter_map(|s| {
                let delete = s.record.planned_delete_time.is_some_and(|t| t <= now);
                let rotate = next_rotation(s).is_some_and(|t| t <= now);
                (delete || rotate).then(|| (s.record.name.clone(), delete))
            })
            .collect(),
        Err(error) => {
            tracing::error!(%error, "scheduler cannot read the secrets");
            pass.failed += 1;
            return pass;
        }
    };
    for (name, delete) in due {
        let result = if delete {
            super::lifecycle::destroy_if_due(kms, &name).map(|done| pass.deleted += usize::from(done))
        } else {
            rotate_on_schedule(kms, &name).map(|_| pass.rotated += 1)
        };
        if let Err(error) = result {
            pass.failed += 1;
            tracing::error!(secret = name, %error, "scheduled secret work failed; retrying at the next pass");
        }
    }
    pass
}
