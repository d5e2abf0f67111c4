//! The one way metadata of an existing key changes: under the service's
//! writer lock, check the state table, change a copy, commit it with its
//! journal entry, then publish it to the registry.

use p11kms_proto::Timestamp;

use super::rules::{self, Operation};
use crate::kms::Kms;
use crate::kms::KmsError;
use crate::store::KeyRecord;

/// Applies `change` to the key named `key` (id or alias) if its state
/// allows `operation`; returns the key as committed.
pub fn change_key(
    kms: &Kms,
    key: &str,
    operation: Operation,
    change: impl FnOnce(&mut KeyRecord, Timestamp) -> Result<(), KmsError>,
) -> Result<KeyRecord, KmsError> {
    let _writer = kms.writer()?;
    let mut record = kms.registry()?.key(key)?.record.clone();
    rules::check(operation, &record)?;
    let now = kms.clock.now();
    change(&mut record, now)?;
    kms.store.write(now, |tx| tx.update_key(&record))?;
    kms.registry_mut()?.replace_key(record.clone())?;
    Ok(record)
}
