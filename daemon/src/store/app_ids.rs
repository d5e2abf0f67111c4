//! Rows of `key_app_ids`: the `CKA_ID` an application chose for a KMS key
//! (`docs/pkcs11.md`, "Keys that applications name"). One per key at
//! most, unique among the keys of an instance (the table's `UNIQUE`
//! guards the rule even against two writers racing past the registry's
//! check). Every write journals the change in the same transaction.

use rusqlite::{Connection, params};
use serde::Serialize;

use p11kms_proto::Timestamp;

use super::{StoreError, Tx};

/// A key's application-chosen `CKA_ID`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyAppIdRecord {
    /// The key.
    pub key_id: String,
    /// Its instance (the scope of uniqueness).
    pub instance: String,
    /// The bytes the application gave.
    #[serde(with = "hex::serde")]
    pub app_id: Vec<u8>,
    /// When it was set.
    pub set_at: Timestamp,
}

impl Tx<'_> {
    /// Gives a key its application id, replacing any it had.
    pub fn set_key_app_id(&self, record: &KeyAppIdRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO key_app_ids (key_id, instance, app_id, set_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key_id) DO UPDATE SET instance = excluded.instance, app_id = excluded.app_id,
             set_at = excluded.set_at",
            params![record.key_id, record.instance, record.app_id, record.set_at.unix()],
        )?;
        self.journal("key_app_id", &record.key_id, "update", record)
    }

    /// Takes a key's application id away (its `CKA_ID` is its version
    /// ids' again).
    pub fn clear_key_app_id(&self, key_id: &str) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM key_app_ids WHERE key_id = ?1", [key_id])?;
        self.journal("key_app_id", key_id, "delete", &serde_json::json!({ "key_id": key_id }))
    }
}

/// Every key's application id.
pub(super) fn load_key_app_ids(conn: &Connection) -> Result<Vec<KeyAppIdRecord>, StoreError> {
    let mut stmt = conn.prepare("SELECT key_id, instance, app_id, set_at FROM key_app_ids ORDER BY key_id")?;
    let rows = stmt.query_map([], |row| {
        Ok(KeyAppIdRecord {
            key_id: row.get(0)?,
            instance: row.get(1)?,
            app_id: row.get(2)?,
            set_at: Timestamp(row.get(3)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn named(key_id: &str, id: &[u8]) -> KeyAppIdRecord {
        KeyAppIdRecord { key_id: key_id.into(), instance: "i1".into(), app_id: id.to_vec(), set_at: Timestamp(7) }
    }

    #[test]
    fn app_ids_are_journaled_unique_per_instance_and_go_with_their_key() {
        let store = Store::open_in_memory().expect("store");
        let (k1, v1) = crate::store::tests::key("key-1");
        let (k2, v2) = crate::store::tests::key("key-2");
        store
            .write(Timestamp(1), |tx| -> Result<(), StoreError> {
                tx.insert_cluster(&crate::store::tests::cluster())?;
                tx.insert_instance(&crate::store::tests::instance("i1", 0))?;
                tx.insert_key(&k1, &v1, None)?;
                tx.insert_key(&k2, &v2, None)?;
                tx.set_key_app_id(&named("key-1", b"JK"))
            })
            .expect("writes");
        assert_eq!(store.load().expect("loads").key_app_ids, vec![named("key-1", b"JK")]);
        let taken = store.write(Timestamp(2), |tx| tx.set_key_app_id(&named("key-2", b"JK")));
        assert!(taken.is_err(), "one key per id in an instance");
        store.write(Timestamp(3), |tx| tx.set_key_app_id(&named("key-1", b"JL"))).expect("replaces");
        store.write(Timestamp(4), |tx| tx.set_key_app_id(&named("key-2", b"JK"))).expect("free again");
        store.write(Timestamp(5), |tx| tx.clear_key_app_id("key-2")).expect("clears");
        store.write(Timestamp(6), |tx| tx.delete_key("key-1")).expect("a key with an id can go");
        assert!(store.load().expect("loads").key_app_ids.is_empty());
        let journal = store.journal_since(0, 100).expect("journal");
        let named = journal.iter().filter(|e| e.entity == "key_app_id").count();
        assert_eq!(named, 4, "every change journaled");
    }
}
