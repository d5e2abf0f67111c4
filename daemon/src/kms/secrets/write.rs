//! The one way a secret changes: under the KMS's writer lock, refuse a
//! secret in its recovery window (unless the change is meant for one),
//! change a copy, commit what differs (the secret's row, new, changed and
//! removed versions) with a journal entry each in one transaction, then
//! publish the copy to the registry. Every change moves `UpdateTime`.

use p11kms_proto::Timestamp;

use super::SecretEntry;
use crate::kms::{Kms, KmsError};
use crate::store::StoreError;

/// Whether a change applies to a secret in its recovery window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pending {
    /// Refused with `Rejected.SecretPendingDeletion`.
    Refuse,
    /// Allowed (restore, deletion).
    Allow,
}

/// What a change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Changed {
    /// Something changed: commit it.
    Yes,
    /// Nothing changed (an idempotent repeat): commit nothing.
    No,
}

/// Applies `change` to secret `name`; returns the secret as it is now and
/// what `change` returned.
pub fn change_secret<T>(
    kms: &Kms,
    name: &str,
    pending: Pending,
    change: impl FnOnce(&mut SecretEntry, Timestamp) -> Result<(Changed, T), KmsError>,
) -> Result<(SecretEntry, T), KmsError> {
    let _writer = kms.writer()?;
    let before = kms.registry()?.secret(name)?.clone();
    if pending == Pending::Refuse {
        before.check_not_pending()?;
    }
    let now = kms.clock.now();
    let mut after = before.clone();
    let (changed, value) = change(&mut after, now)?;
    if changed == Changed::No {
        return Ok((before, value));
    }
    after.record.updated_at = now;
    commit(kms, Some(&before), &mut after, now)?;
    Ok((after, value))
}

/// Commits `after` (a new secret when `before` is none) and publishes it.
/// The caller holds the writer lock. New versions (sequence number 0) get
/// theirs from the store.
pub fn commit(
    kms: &Kms,
    before: Option<&SecretEntry>,
    after: &mut SecretEntry,
    now: Timestamp,
) -> Result<(), KmsError> {
    let stored = kms.store.write(now, |tx| {
        match before {
            None => tx.insert_secret(&after.record)?,
            Some(_) => tx.update_secret(&after.record)?,
        }
        for old in before.map(|b| b.versions.as_slice()).unwrap_or_default() {
            match after.version(&old.version_id) {
                None => tx.delete_secret_version(old)?,
                Some(new) if new.stages != old.stages => tx.update_secret_version_stages(new)?,
                Some(_) => {}
            }
        }
        let mut stored = Vec::new();
        for version in after.versions.iter().filter(|v| v.seq == 0) {
            stored.push(tx.insert_secret_version(version)?);
        }
        Ok::<_, StoreError>(stored)
    })?;
    for version in stored {
        if let Some(slot) = after.versions.iter_mut().find(|v| v.version_id == version.version_id) {
            *slot = version;
        }
    }
    kms.registry_mut()?.put_secret(after.clone());
    Ok(())
}
