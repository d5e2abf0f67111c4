//! The audit trail's head in the store: the last record's number and
//! hash, written after the records it covers, never journaled.

use rusqlite::{OptionalExtension, params};

use p11kms_proto::audit::{Hash, Head};

use super::{Store, StoreError};

impl Store {
    /// The head recorded last; none before the first record.
    pub fn audit_head(&self) -> Result<Option<Head>, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let row: Option<(i64, Vec<u8>)> = conn
            .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        row.map(|(seq, hash)| {
            let hash: Hash = hash.try_into().map_err(|h: Vec<u8>| StoreError::Corrupt {
                column: "audit_head.hash",
                value: format!("{} bytes", h.len()),
            })?;
            Ok(Head { seq: seq as u64, hash })
        })
        .transpose()
    }

    /// Records `head`. Without waiting for the disk, as
    /// [`Store::write_relaxed`]: a `kill -9` keeps it; after a power cut
    /// it may lag behind the trail's files, never run ahead of them (it is
    /// written after them), so a lag is never taken for a cut tail.
    pub fn set_audit_head(&self, head: Head) -> Result<(), StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let result = conn.execute(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2) ON CONFLICT(id) DO UPDATE SET seq = ?1, hash = ?2",
            params![head.seq as i64, head.hash.to_vec()],
        );
        conn.pragma_update(None, "synchronous", "FULL")?;
        result.map(drop).map_err(StoreError::from)
    }
}
