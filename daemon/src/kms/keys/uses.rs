//! The record, per key, of the operations the spec's CMK migration refuses
//! a key for: ReEncrypt (as source or destination key), ExportDataKey and
//! GenerateAndExportDataKey. A use is recorded after the operation
//! succeeded and before its answer leaves, with the key's row (journaled,
//! under the writer lock, as every key change), so it survives restarts
//! and does not depend on how long the audit trail is kept.
//!
//! Each key and operation is written once: later uses find the flag set
//! in the registry and cost no store write, which keeps `rewrap` and
//! repeated exports as fast as before. The flags only ever grow: the
//! store and the registry keep the union of a row's flags and a write's
//! (`store::keys`, `Registry::replace_key`).

use p11kms_proto::admin::ExportOperation;

use crate::kms::{Kms, KmsError};

/// Records that `operation` succeeded with the key `key_id`. The key's
/// state is not checked again: the use happened, even if the key was
/// disabled meanwhile. A key deleted meanwhile answers `KeyNotFound`.
pub fn record(kms: &Kms, key_id: &str, operation: ExportOperation) -> Result<(), KmsError> {
    if recorded(kms, key_id, operation)? {
        return Ok(());
    }
    let _writer = kms.writer()?;
    let mut record = kms.registry()?.key(key_id)?.record.clone();
    // Another caller may have recorded it while this one waited.
    if record.export_uses.contains(operation) {
        return Ok(());
    }
    record.export_uses = record.export_uses.with(operation);
    kms.store.write(kms.clock.now(), |tx| tx.update_key(&record))?;
    kms.registry_mut()?.replace_key(record)?;
    tracing::info!(key = key_id, %operation, "first use of the key with this operation recorded");
    Ok(())
}

/// Records `operation` for each of `key_ids` (the source and destination
/// keys of a re-encryption; the same key once).
pub fn record_all(kms: &Kms, key_ids: &[&str], operation: ExportOperation) -> Result<(), KmsError> {
    for (index, key_id) in key_ids.iter().enumerate() {
        if !key_ids[..index].contains(key_id) {
            record(kms, key_id, operation)?;
        }
    }
    Ok(())
}

/// True when the registry has the use already.
fn recorded(kms: &Kms, key_id: &str, operation: ExportOperation) -> Result<bool, KmsError> {
    Ok(kms.registry()?.key(key_id)?.record.export_uses.contains(operation))
}
