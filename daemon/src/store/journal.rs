//! The journal: an append-only log of every change, written in the same
//! transaction as the change itself. Incremental backups, point-in-time
//! restore and the audit trail read it; nothing else needs to diff state.

use rusqlite::{Connection, params};
use serde::Serialize;

use p11kms_proto::Timestamp;

use super::{StoreError, Tx};

/// One journal entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    /// Sequence number, strictly increasing.
    pub seq: i64,
    /// When the change happened (daemon clock).
    pub at: Timestamp,
    /// Entity kind: `cluster`, `instance`, `app`, `key`, `key_version`, `alias`.
    pub entity: String,
    /// The entity's id or name.
    pub entity_id: String,
    /// What happened: `create`, `update`, `delete`.
    pub operation: String,
    /// The entity after the change, as JSON (never secrets).
    pub payload: String,
}

impl Tx<'_> {
    /// Appends a journal entry for a change made in this transaction.
    pub(super) fn journal<T: Serialize>(
        &self,
        entity: &str,
        entity_id: &str,
        operation: &str,
        payload: &T,
    ) -> Result<(), StoreError> {
        let payload = serde_json::to_string(payload)?;
        self.tx.execute(
            "INSERT INTO journal (at, entity, entity_id, operation, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![self.now.unix(), entity, entity_id, operation, payload],
        )?;
        Ok(())
    }
}

pub(super) fn read_since(conn: &Connection, after_seq: i64, limit: usize) -> Result<Vec<JournalEntry>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, entity, entity_id, operation, payload FROM journal WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after_seq, limit as i64], |row| {
        Ok(JournalEntry {
            seq: row.get(0)?,
            at: Timestamp(row.get(1)?),
            entity: row.get(2)?,
            entity_id: row.get(3)?,
            operation: row.get(4)?,
            payload: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
