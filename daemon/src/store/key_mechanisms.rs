//! Rows of `key_mechanisms`: the `CKA_ALLOWED_MECHANISMS` an application
//! gave a KMS key when it made it (`C_GenerateKey*` with `CKA_TOKEN` true,
//! or a session key copied to the token). Fixed for the key's life, as
//! PKCS#11 has it; every key without a row allows every mechanism its
//! KeyUsage does. Written in the transaction that creates the key (or
//! restores or migrates it), journaled there.

use rusqlite::{Connection, params};
use serde::Serialize;

use p11kms_proto::Timestamp;
use p11kms_proto::pkcs11::{mechanisms_of, mechanisms_value};

use super::{StoreError, Tx};

/// A key's allowed mechanisms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyMechanismsRecord {
    /// The key.
    pub key_id: String,
    /// The `CK_MECHANISM_TYPE`s, in the order the application gave them.
    pub mechanisms: Vec<u64>,
    /// When they were set.
    pub set_at: Timestamp,
}

impl Tx<'_> {
    /// Records a key's allowed mechanisms.
    pub fn set_key_mechanisms(&self, record: &KeyMechanismsRecord) -> Result<(), StoreError> {
        let bytes = mechanisms_value(&record.mechanisms);
        self.tx.execute(
            "INSERT INTO key_mechanisms (key_id, mechanisms, set_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (key_id) DO UPDATE SET mechanisms = excluded.mechanisms, set_at = excluded.set_at",
            params![record.key_id, bytes, record.set_at.unix()],
        )?;
        self.journal("key_mechanisms", &record.key_id, "update", record)
    }
}

/// Every key's allowed mechanisms.
pub(super) fn load_key_mechanisms(conn: &Connection) -> Result<Vec<KeyMechanismsRecord>, StoreError> {
    let mut stmt = conn.prepare("SELECT key_id, mechanisms, set_at FROM key_mechanisms ORDER BY key_id")?;
    let rows = stmt.query_map([], |row| {
        let bytes: Vec<u8> = row.get(1)?;
        // A damaged list must not read as "no restriction".
        let damaged = || rusqlite::Error::InvalidColumnType(1, "mechanisms".into(), rusqlite::types::Type::Blob);
        let mechanisms = mechanisms_of(&bytes).ok_or_else(damaged)?;
        Ok(KeyMechanismsRecord { key_id: row.get(0)?, mechanisms, set_at: Timestamp(row.get(2)?) })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn mechanisms_are_kept_journaled_and_go_with_their_key() {
        let store = Store::open_in_memory().expect("store");
        let (key, version) = crate::store::tests::key("key-1");
        let record =
            KeyMechanismsRecord { key_id: "key-1".into(), mechanisms: vec![0x1087, 0x40], set_at: Timestamp(7) };
        store
            .write(Timestamp(1), |tx| -> Result<(), StoreError> {
                tx.insert_cluster(&crate::store::tests::cluster())?;
                tx.insert_instance(&crate::store::tests::instance("i1", 0))?;
                tx.insert_key(&key, &version, None)?;
                tx.set_key_mechanisms(&record)
            })
            .expect("write");
        assert_eq!(store.load().expect("load").key_mechanisms, vec![record]);
        let journal = store.journal_since(0, 100).expect("journal");
        assert!(journal.iter().any(|e| e.entity == "key_mechanisms" && e.payload.contains("4231")), "{journal:?}");
        store.write(Timestamp(2), |tx| tx.delete_key("key-1")).expect("delete the key");
        assert!(store.load().expect("load").key_mechanisms.is_empty(), "gone with its key");
    }
}
