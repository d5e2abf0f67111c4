//! A secret's life: deletion with a recovery window (7 to 30 days) or at
//! once, restore, the end of a window (the secret and every version
//! gone), and its description, CustomData and tags.
//!
//! During the window the secret can be described and listed but not read
//! or changed: `Rejected.SecretPendingDeletion`.

use p11kms_proto::admin::{DeleteSecretRequest, SecretDeleted, SecretNamed, Tag, UpdateSecretRequest};

use super::limits;
use super::managed;
use super::write::{Changed, Pending, change_secret};
use crate::kms::keys::tags;
use crate::kms::{Kms, KmsError};

/// `secret delete`: a recovery window, or (ForceDeleteWithoutRecovery)
/// the secret and every version gone now.
pub fn delete(kms: &Kms, request: &DeleteSecretRequest) -> Result<SecretDeleted, KmsError> {
    let name = request.secret_name.as_str();
    if request.force_delete_without_recovery {
        if request.recovery_window_in_days.is_some() {
            return Err(KmsError::InvalidParameter(
                "give RecoveryWindowInDays or ForceDeleteWithoutRecovery, not both".into(),
            ));
        }
        remove(kms, name, |_| true)?;
        tracing::info!(secret = name, "secret deleted without recovery");
        return Ok(SecretDeleted { secret_name: name.to_owned(), planned_delete_time: None });
    }
    let days = limits::recovery_days(request.recovery_window_in_days)?;
    let (entry, ()) = change_secret(kms, name, Pending::Refuse, |entry, now| {
        entry.record.planned_delete_time = Some(now.plus_seconds(i64::from(days) * 86_400));
        Ok((Changed::Yes, ()))
    })?;
    tracing::info!(secret = name, planned = ?entry.record.planned_delete_time, "secret deletion scheduled");
    Ok(SecretDeleted { secret_name: name.to_owned(), planned_delete_time: entry.record.planned_delete_time })
}

/// `secret restore`: ends a recovery window; the secret is as it was.
pub fn restore(kms: &Kms, name: &str) -> Result<SecretNamed, KmsError> {
    change_secret(kms, name, Pending::Allow, |entry, _| {
        if !entry.is_pending_deletion() {
            return Err(KmsError::StateModifiedFailed(format!("secret '{name}' is not pending deletion")));
        }
        entry.record.planned_delete_time = None;
        Ok((Changed::Yes, ()))
    })?;
    tracing::info!(secret = name, "secret restored");
    Ok(SecretNamed { secret_name: name.to_owned() })
}

/// Removes a secret with every version, if `due` says so of it (checked
/// under the writer lock).
fn remove(kms: &Kms, name: &str, due: impl FnOnce(&super::SecretEntry) -> bool) -> Result<bool, KmsError> {
    let _writer = kms.writer()?;
    let entry = kms.registry()?.secret(name)?.clone();
    if !due(&entry) {
        return Ok(false);
    }
    kms.store.write(kms.clock.now(), |tx| tx.delete_secret(name))?;
    kms.registry_mut()?.remove_secret(name);
    Ok(true)
}

/// Ends a recovery window that has passed: the secret and every version
/// are gone. Returns whether it did (a restore may have come first).
pub fn destroy_if_due(kms: &Kms, name: &str) -> Result<bool, KmsError> {
    let now = kms.clock.now();
    let done = remove(kms, name, |entry| entry.record.planned_delete_time.is_some_and(|t| t <= now))?;
    if done {
        tracing::info!(secret = name, "secret deleted at the end of its recovery window");
    }
    Ok(done)
}

/// `secret update`: a new description, a new CustomData, or both.
pub fn update(kms: &Kms, request: &UpdateSecretRequest) -> Result<SecretNamed, KmsError> {
    let name = request.secret_name.as_str();
    if request.description.is_none() && request.extended_config_custom_data.is_none() {
        return Err(KmsError::InvalidParameter("give Description, ExtendedConfig.CustomData, or both".into()));
    }
    if let Some(description) = &request.description {
        limits::check_description(description)?;
    }
    change_secret(kms, name, Pending::Refuse, |entry, _| {
        let record = &mut entry.record;
        if let Some(custom) = &request.extended_config_custom_data {
            let config = managed::with_custom_data(record.secret_type, record.extended_config.as_deref(), custom)?;
            record.extended_config = Some(config);
        }
        if let Some(description) = &request.description {
            record.description = description.clone();
        }
        Ok((Changed::Yes, ()))
    })?;
    Ok(SecretNamed { secret_name: name.to_owned() })
}

/// `secret tag`: adds tags, overwriting the values of keys already there.
pub fn tag(kms: &Kms, name: &str, added: &[Tag]) -> Result<(), KmsError> {
    tags::check(added)?;
    change_secret(kms, name, Pending::Refuse, |entry, _| {
        let merged = tags::merge(&entry.record.tags, added);
        tags::check(&merged)?;
        entry.record.tags = merged;
        Ok((Changed::Yes, ()))
    })?;
    Ok(())
}

/// `secret untag`: removes tags by key (absent keys are ignored).
pub fn untag(kms: &Kms, name: &str, tag_keys: &[String]) -> Result<(), KmsError> {
    change_secret(kms, name, Pending::Refuse, |entry, _| {
        entry.record.tags.retain(|t| !tag_keys.contains(&t.tag_key));
        Ok((Changed::Yes, ()))
    })?;
    Ok(())
}
