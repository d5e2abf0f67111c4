//! A key's life: enable, disable, tags, deletion protection, scheduling and
//! cancelling deletion, and the end of a deletion window, when the key's
//! material is destroyed on every cluster member and its metadata removed.

use p11kms_proto::admin::{KeyState, Origin, Tag};

use super::rules::Operation;
use super::write::change_key;
use super::{rotation, tags};
use crate::kms::Kms;
use crate::kms::KmsError;

/// Shortest deletion window: 7 days.
pub const MIN_PENDING_DAYS: u32 = 7;
/// Longest deletion window: 366 days.
pub const MAX_PENDING_DAYS: u32 = 366;

/// `key enable`. A rotation policy resumes from LastRotationDate +
/// RotationInterval: if that date has passed, the key rotates now.
pub fn enable(kms: &Kms, key: &str) -> Result<(), KmsError> {
    let record = change_key(kms, key, Operation::Enable, |k, _| {
        k.state = KeyState::Enabled;
        Ok(())
    })?;
    resume_rotation(kms, &record.key_id);
    Ok(())
}

/// Rotates a key that came back to Enabled with its rotation overdue. The
/// state change stands even if the rotation fails (the scheduler retries).
fn resume_rotation(kms: &Kms, key_id: &str) {
    if let Err(error) = rotation::rotate_if_due(kms, key_id) {
        tracing::warn!(key = key_id, %error, "overdue rotation failed; the scheduler will retry");
    }
}

/// `key disable`.
pub fn disable(kms: &Kms, key: &str) -> Result<(), KmsError> {
    change_key(kms, key, Operation::Disable, |k, _| {
        k.state = KeyState::Disabled;
        Ok(())
    })?;
    Ok(())
}

/// `key schedule-deletion`: PendingDeletion until now + the window.
pub fn schedule_deletion(kms: &Kms, key: &str, pending_window_in_days: u32) -> Result<(), KmsError> {
    if !(MIN_PENDING_DAYS..=MAX_PENDING_DAYS).contains(&pending_window_in_days) {
        return Err(KmsError::InvalidParameter(format!(
            "PendingWindowInDays must be between {MIN_PENDING_DAYS} and {MAX_PENDING_DAYS}, not {pending_window_in_days}"
        )));
    }
    let record = change_key(kms, key, Operation::ScheduleDeletion, |k, now| {
        if k.deletion_protection {
            return Err(KmsError::StateModifiedFailed(format!(
                "key '{}' has deletion protection; remove it with `key set-deletion-protection --disable` first",
                k.key_id
            )));
        }
        k.state = KeyState::PendingDeletion;
        k.delete_date = Some(now.plus_seconds(i64::from(pending_window_in_days) * 86_400));
        Ok(())
    })?;
    tracing::info!(key = %record.key_id, delete_date = ?record.delete_date, "key deletion scheduled");
    Ok(())
}

/// `key cancel-deletion`: the key comes back unchanged, Enabled (or
/// PendingImport for an EXTERNAL key without material).
pub fn cancel_deletion(kms: &Kms, key: &str) -> Result<(), KmsError> {
    let has_material = kms.registry()?.key(key)?.versions.iter().any(|v| v.record.has_material);
    let record = change_key(kms, key, Operation::CancelDeletion, |k, _| {
        k.state =
            if k.origin == Origin::External && !has_material { KeyState::PendingImport } else { KeyState::Enabled };
        k.delete_date = None;
        Ok(())
    })?;
    resume_rotation(kms, &record.key_id);
    Ok(())
}

/// `key set-deletion-protection`.
pub fn set_deletion_protection(kms: &Kms, key: &str, enable: bool) -> Result<(), KmsError> {
    change_key(kms, key, Operation::SetDeletionProtection, |k, _| {
        k.deletion_protection = enable;
        Ok(())
    })?;
    Ok(())
}

/// `key tag`: adds tags, overwriting the values of keys already there.
pub fn tag(kms: &Kms, key: &str, added: &[Tag]) -> Result<(), KmsError> {
    tags::check(added)?;
    change_key(kms, key, Operation::Tag, |k, _| {
        let merged = tags::merge(&k.tags, added);
        tags::check(&merged)?;
        k.tags = merged;
        Ok(())
    })?;
    Ok(())
}

/// `key untag`: removes tags by key (absent keys are ignored).
pub fn untag(kms: &Kms, key: &str, tag_keys: &[String]) -> Result<(), KmsError> {
    change_key(kms, key, Operation::Tag, |k, _| {
        k.tags.retain(|t| !tag_keys.contains(&t.tag_key));
        Ok(())
    })?;
    Ok(())
}

/// Ends a deletion window: destroys the key's material on every member,
/// then removes its metadata. If any member still holds some of it, the
/// key stays PendingDeletion and the next pass tries again.
pub fn destroy(kms: &Kms, key_id: &str) -> Result<(), KmsError> {
    let _writer = kms.writer()?;
    let (entry, cluster) = {
        let registry = kms.registry()?;
        let entry = registry.key(key_id)?.clone();
        let cluster = registry.instance(&entry.record.instance)?.cluster.clone();
        (entry, cluster)
    };
    if entry.record.state != KeyState::PendingDeletion {
        return Err(KmsError::StateModifiedFailed(format!("key '{key_id}' is not pending deletion")));
    }
    if let Some(cluster) = cluster {
        let left = destroy_material(kms, &cluster, &entry)?;
        if left > 0 {
            return Err(KmsError::Internal(format!(
                "key '{key_id}': {left} objects could not be destroyed; the deletion will be retried"
            )));
        }
    }
    kms.store.write(kms.clock.now(), |tx| tx.delete_key(key_id))?;
    kms.registry_mut()?.remove_key(key_id);
    tracing::info!(key = key_id, versions = entry.versions.len(), "key destroyed at the end of its deletion window");
    Ok(())
}

/// Destroys a key's material on every member of `cluster`: each version's
/// objects, then, when none is left, the wrapping keys of its unused
/// import tokens (they go with the key). Returns how many version objects
/// are left. Shared by the end of a deletion window ([`destroy`]) and
/// `instance delete --force`, which differ only in what a leftover blocks.
/// The caller holds the writer lock and no registry guard.
pub fn destroy_material(kms: &Kms, cluster: &str, entry: &super::KeyEntry) -> Result<usize, KmsError> {
    let left = super::destroy_versions(kms, cluster, entry)?;
    if left == 0 {
        super::import::destroy_wrapping_keys_of(kms, cluster, &entry.record.key_id)?;
    }
    Ok(left)
}
