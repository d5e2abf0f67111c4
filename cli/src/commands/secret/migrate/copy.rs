//! Making the copy at the destination: the plan's calls in order, with a
//! look at the source before each ([`watch::unchanged`]), then the final
//! reads of both sides, the source first (it must be as it was read at the
//! start). When anything stops it once the secret exists at the
//! destination, what was made is removed (`DeleteSecret` without a
//! recovery window): the destination is left as it was.

use std::collections::BTreeMap;

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{
    CreateSecretRequest, DeleteSecretRequest, PutSecretValueRequest, SecretValue, UpdateSecretVersionStageRequest, op,
};

use super::digest::DigestKey;
use super::error::{Cleanup, LeftCopy, MigrateError};
use super::pause::{self, Pause};
use super::plan::Step;
use super::read::{self, Keep, SecretState};
use super::side::Side;
use super::watch;

/// What makes a copy: both daemons, where the copy goes, and the source as read.
#[derive(Debug)]
pub struct Copier<'a> {
    /// Where the secret is.
    pub source: &'a Side,
    /// Where it goes.
    pub destination: &'a Side,
    /// The destination instance.
    pub to_instance: &'a str,
    /// The destination key for its values (its instance's service key
    /// when none): never the source's, a key of another region.
    pub encryption_key_id: Option<&'a str>,
    /// The source as read at the start.
    pub read: &'a SecretState,
    /// The run's digest key.
    pub key: &'a DigestKey,
    /// The test pause, when armed.
    pub pause: Option<&'a Pause>,
}

impl Copier<'_> {
    fn name(&self) -> &str {
        &self.read.description.secret_name
    }

    /// Makes the copy with `steps`, putting `values` (the source's, in the
    /// order of its versions; each is dropped once sent), and reads it
    /// back. Fails with what became of the copy when it stops after the
    /// secret was created.
    pub fn make(&self, steps: &[Step], values: Vec<SecretValue>) -> Result<SecretState, MigrateError> {
        let mut values: BTreeMap<String, SecretValue> =
            values.into_iter().map(|value| (value.version_id.clone(), value)).collect();
        let Some((first, rest)) = steps.split_first() else {
            return Err(MigrateError::Internal("the plan has no step".into()));
        };
        if let Err(error) = self.call(first, &mut values) {
            // A call that got no answer may have created the secret.
            return Err(match error {
                error @ MigrateError::Transport { .. } => {
                    MigrateError::Stopped { error: Box::new(error), cleanup: Cleanup::Unknown(self.left()) }
                }
                error => error,
            });
        }
        let made = (|| {
            pause::at(self.pause, pause::AFTER_CREATE)?;
            for step in rest {
                watch::unchanged(self.source, &self.read.description)?;
                self.call(step, &mut values)?;
            }
            drop(values);
            pause::at(self.pause, pause::BEFORE_COMPARE)?;
            self.read_back()
        })();
        made.map_err(|error| MigrateError::Stopped { error: Box::new(error), cleanup: self.remove() })
    }

    /// The final reads: the source again, which must be as it was read,
    /// then the copy.
    fn read_back(&self) -> Result<SecretState, MigrateError> {
        let (now, _) = read::state(self.source, read::describe(self.source, self.name())?, self.key, Keep::Digests)?;
        let changes = watch::changes(self.read, &now);
        if !changes.is_empty() {
            return Err(MigrateError::SourceChanged { name: self.name().to_owned(), what: changes.join(", ") });
        }
        let described = read::describe(self.destination, self.name())?;
        Ok(read::state(self.destination, described, self.key, Keep::Digests)?.0)
    }

    /// One step at the destination.
    fn call(&self, step: &Step, values: &mut BTreeMap<String, SecretValue>) -> Result<(), MigrateError> {
        let name = self.name().to_owned();
        let mut value = |version_id: &str| {
            values
                .remove(version_id)
                .ok_or_else(|| MigrateError::Internal(format!("no value was read for version '{version_id}'")))
        };
        match step {
            Step::Create { version_id } => {
                let value = value(version_id)?;
                let source = &self.read.description;
                self.destination.call::<op::CreateSecret>(&CreateSecretRequest {
                    secret_name: name,
                    instance: self.to_instance.to_owned(),
                    secret_data: value.secret_data,
                    secret_data_type: value.secret_data_type,
                    version_id: version_id.clone(),
                    encryption_key_id: self.encryption_key_id.map(str::to_owned),
                    description: source.description.clone(),
                    tags: source.tags.clone().unwrap_or_default(),
                    secret_type: source.secret_type,
                    extended_config: source.extended_config.clone(),
                    // Only Generic secrets migrate, and they do not rotate.
                    enable_automatic_rotation: false,
                    rotation_interval: None,
                })?;
            }
            Step::Put { version_id, version_stages } => {
                let value = value(version_id)?;
                self.destination.call::<op::PutSecretValue>(&PutSecretValueRequest {
                    secret_name: name,
                    version_id: version_id.clone(),
                    secret_data: value.secret_data,
                    secret_data_type: value.secret_data_type,
                    version_stages: Some(version_stages.clone()),
                })?;
            }
            Step::Stage { version_stage, remove_from_version, move_to_version } => {
                self.destination.call::<op::UpdateSecretVersionStage>(&UpdateSecretVersionStageRequest {
                    secret_name: name,
                    version_stage: version_stage.clone(),
                    remove_from_version: remove_from_version.clone(),
                    move_to_version: move_to_version.clone(),
                })?;
            }
        }
        Ok(())
    }

    /// Removes the copy; one already gone counts as removed.
    pub fn remove(&self) -> Cleanup {
        let request = DeleteSecretRequest {
            secret_name: self.name().to_owned(),
            recovery_window_in_days: None,
            force_delete_without_recovery: true,
        };
        match self.destination.call::<op::DeleteSecret>(&request) {
            Ok(_) => Cleanup::Removed,
            Err(error) if error.api_code() == Some(ErrorCode::ResourceNotFound) => Cleanup::Removed,
            Err(error) => Cleanup::Left(self.left(), error.to_string()),
        }
    }

    /// What the operator needs to find a copy left at the destination.
    fn left(&self) -> LeftCopy {
        LeftCopy { name: self.name().to_owned(), socket: self.destination.socket.clone() }
    }
}
