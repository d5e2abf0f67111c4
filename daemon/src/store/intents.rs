//! Rows of creation intents and of lost key versions. Every write journals
//! the change it makes, in the same transaction.

use rusqlite::{Connection, params};

use p11kms_proto::Timestamp;

use super::records::{IntentRecord, LostVersionRecord};
use super::rows::parse;
use super::{StoreError, Tx};

impl Tx<'_> {
    /// Records a creation intent (before the HSM call it announces).
    pub fn insert_intent(&self, intent: &IntentRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO creation_intents (object_id, cluster, purpose, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![intent.object_id, intent.cluster, intent.purpose.as_str(), intent.label, intent.created_at.unix()],
        )?;
        self.journal("creation_intent", &intent.object_id, "create", intent)
    }

    /// Removes a creation intent: what it announced is committed, or gone.
    pub fn delete_intent(&self, intent: &IntentRecord) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM creation_intents WHERE object_id = ?1", [&intent.object_id])?;
        self.journal("creation_intent", &intent.object_id, "delete", intent)
    }

    /// Records a key version as lost.
    pub fn insert_lost_version(&self, lost: &LostVersionRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT OR REPLACE INTO lost_versions (version_id, key_id, cluster, lost_at) VALUES (?1, ?2, ?3, ?4)",
            params![lost.version_id, lost.key_id, lost.cluster, lost.lost_at.unix()],
        )?;
        self.journal("lost_version", &lost.version_id, "create", lost)
    }

    /// Forgets that a version was lost: a cluster holds it after all.
    pub fn delete_lost_version(&self, lost: &LostVersionRecord) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM lost_versions WHERE version_id = ?1", [&lost.version_id])?;
        self.journal("lost_version", &lost.version_id, "delete", lost)
    }
}

pub(super) fn load_intents(conn: &Connection) -> Result<Vec<IntentRecord>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT object_id, cluster, purpose, label, created_at FROM creation_intents ORDER BY created_at")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get(4)?))
    })?;
    let mut intents = Vec::new();
    for row in rows {
        let (object_id, cluster, purpose, label, created_at) = row?;
        intents.push(IntentRecord {
            object_id,
            cluster,
            purpose: parse("creation_intents.purpose", purpose)?,
            label,
            created_at: Timestamp(created_at),
        });
    }
    Ok(intents)
}

pub(super) fn load_lost_versions(conn: &Connection) -> Result<Vec<LostVersionRecord>, StoreError> {
    let mut stmt = conn.prepare("SELECT version_id, key_id, cluster, lost_at FROM lost_versions ORDER BY lost_at")?;
    let rows = stmt.query_map([], |r| {
        Ok(LostVersionRecord {
            version_id: r.get(0)?,
            key_id: r.get(1)?,
            cluster: r.get(2)?,
            lost_at: Timestamp(r.get(3)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
