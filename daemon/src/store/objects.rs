//! Rows of objects applications created through PKCS#11 (`C_CreateObject`,
//! `C_CopyObject`): data objects, certificates, public keys. Their
//! attributes (values included, which can be secrets) are kept sealed
//! under the root key, in the row and in the journal alike: a column holds
//! `sealed:` and the base64 of the sealed JSON. Every write journals the
//! change once, with the attributes sealed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rusqlite::{Connection, params};
use serde::Serialize;

use p11kms_proto::Timestamp;
use p11kms_proto::pkcs11::Attribute;

use super::records::ObjectRecord;
use super::{Store, StoreError, Tx};
use crate::root_key::RootKey;

/// What starts a sealed attributes column.
const SEALED: &str = "sealed:";

/// The additional data an object's attributes are sealed with: a sealed
/// value moved to another object does not open.
fn purpose(object_no: u64) -> Vec<u8> {
    format!("p11kms object {object_no}").into_bytes()
}

/// The attributes of object `object_no`, sealed for a column.
fn seal(key: &RootKey, object_no: u64, attributes: &[Attribute]) -> Result<String, StoreError> {
    let json = zeroize::Zeroizing::new(serde_json::to_vec(attributes)?);
    Ok(format!("{SEALED}{}", STANDARD.encode(key.seal(&purpose(object_no), &json)?)))
}

/// The attributes of a column: sealed, or (a store of before 0.2) JSON.
fn open(key: &RootKey, object_no: u64, column: &str) -> Result<Vec<Attribute>, StoreError> {
    let corrupt = || StoreError::Corrupt { column: "objects.attributes", value: format!("object {object_no}") };
    let json = match column.strip_prefix(SEALED) {
        Some(sealed) => key.open(&purpose(object_no), &STANDARD.decode(sealed).map_err(|_| corrupt())?)?,
        None => zeroize::Zeroizing::new(column.as_bytes().to_vec()),
    };
    serde_json::from_slice(&json).map_err(|_| corrupt())
}

/// An object as the journal records it: its attributes sealed.
#[derive(Serialize)]
struct Entry<'a> {
    object_no: u64,
    instance: &'a str,
    class: u64,
    creator: &'a str,
    created_at: Timestamp,
    attributes: &'a str,
}

impl Tx<'_> {
    /// Inserts an object: `complete` gets its number (never reused) and
    /// returns its attributes, which can depend on it (`CKA_UNIQUE_ID`).
    /// Returns the object as stored. One journal entry.
    pub fn insert_object(
        &self,
        object: &ObjectRecord,
        complete: impl FnOnce(u64) -> Vec<Attribute>,
    ) -> Result<ObjectRecord, StoreError> {
        self.tx.execute(
            "INSERT INTO objects (instance, class, attributes, creator, created_at) VALUES (?1, ?2, '', ?3, ?4)",
            params![object.instance, object.class as i64, object.creator, object.created_at.unix()],
        )?;
        let object_no = self.tx.last_insert_rowid() as u64;
        let stored = ObjectRecord { object_no, attributes: complete(object_no), ..object.clone() };
        self.write_attributes(&stored, "create")?;
        Ok(stored)
    }

    /// Replaces an object's attributes (`C_SetAttributeValue`).
    pub fn update_object(&self, object: &ObjectRecord) -> Result<(), StoreError> {
        self.write_attributes(object, "update")
    }

    fn write_attributes(&self, object: &ObjectRecord, operation: &str) -> Result<(), StoreError> {
        let sealed = seal(self.root_key, object.object_no, &object.attributes)?;
        self.tx.execute(
            "UPDATE objects SET attributes = ?2 WHERE object_no = ?1",
            params![object.object_no as i64, sealed],
        )?;
        let entry = Entry {
            object_no: object.object_no,
            instance: &object.instance,
            class: object.class,
            creator: &object.creator,
            created_at: object.created_at,
            attributes: &sealed,
        };
        self.journal("object", &object.object_no.to_string(), operation, &entry)
    }

    /// Removes an object (`C_DestroyObject`).
    pub fn delete_object(&self, object_no: u64) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM objects WHERE object_no = ?1", [object_no as i64])?;
        self.journal("object", &object_no.to_string(), "delete", &serde_json::json!({ "object_no": object_no }))
    }
}

impl Store {
    /// Seals what a store of before 0.2 kept in clear: the attributes of
    /// its objects, in their rows and in the journal's entries. Runs at
    /// every open; finds nothing to do after the first.
    pub(super) fn seal_legacy_objects(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let tx = conn.transaction()?;
        let rows: Vec<(i64, String)> = tx
            .prepare("SELECT object_no, attributes FROM objects WHERE attributes NOT LIKE 'sealed:%'")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (object_no, column) in &rows {
            let object_no = *object_no as u64;
            let attributes = open(&self.root_key, object_no, column)?;
            let sealed = seal(&self.root_key, object_no, &attributes)?;
            tx.execute("UPDATE objects SET attributes = ?2 WHERE object_no = ?1", params![object_no as i64, sealed])?;
        }
        let entries: Vec<(i64, String, String)> = tx
            .prepare("SELECT seq, entity_id, payload FROM journal WHERE entity = 'object' AND operation != 'delete'")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut sealed_entries = 0;
        for (seq, entity_id, payload) in entries {
            let mut value: serde_json::Value = serde_json::from_str(&payload)?;
            let Some(attributes) = value.get("attributes").filter(|a| a.is_array()) else { continue };
            let object_no: u64 = entity_id.parse().unwrap_or_default();
            let attributes: Vec<Attribute> = serde_json::from_value(attributes.clone())?;
            value["attributes"] = seal(&self.root_key, object_no, &attributes)?.into();
            tx.execute("UPDATE journal SET payload = ?2 WHERE seq = ?1", params![seq, value.to_string()])?;
            sealed_entries += 1;
        }
        tx.commit()?;
        if !rows.is_empty() || sealed_entries > 0 {
            tracing::info!(
                objects = rows.len(),
                journal_entries = sealed_entries,
                "object values sealed under the root key"
            );
        }
        Ok(())
    }
}

/// Every stored object, in creation order.
pub(super) fn load_objects(conn: &Connection, key: &RootKey) -> Result<Vec<ObjectRecord>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT object_no, instance, class, attributes, creator, created_at FROM objects ORDER BY object_no",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    let mut objects = Vec::new();
    for row in rows {
        let (object_no, instance, class, attributes, creator, created_at) = row?;
        let object_no = object_no as u64;
        objects.push(ObjectRecord {
            object_no,
            attributes: open(key, object_no, &attributes)?,
            instance,
            class: class as u64,
            creator,
            created_at: Timestamp(created_at),
        });
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use p11kms_proto::admin::InstanceKind;

    use super::*;
    use crate::store::{InstanceRecord, Store};

    const SECRET: &[u8] = b"the database password";

    fn record(label: &str) -> ObjectRecord {
        ObjectRecord {
            object_no: 0,
            instance: "i1".into(),
            class: 0,
            attributes: vec![Attribute::ulong(0, 0), Attribute::bytes(3, label.as_bytes().to_vec())],
            creator: "app:web".into(),
            created_at: Timestamp(7),
        }
    }

    fn instance() -> InstanceRecord {
        InstanceRecord {
            name: "i1".into(),
            slot_id: 0,
            kind: InstanceKind::Hardware,
            cluster: None,
            key_quota: 10,
            created_at: Timestamp(1),
            secret_quota: None,
        }
    }

    /// Every byte of the database file and its WAL, as text.
    fn raw_bytes(path: &std::path::Path) -> Vec<u8> {
        let mut bytes = std::fs::read(path).unwrap_or_default();
        bytes.extend(std::fs::read(path.with_extension("db-wal")).unwrap_or_default());
        bytes
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn objects_are_numbered_updated_deleted_and_reloaded_with_one_entry_per_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p11kms.db");
        let key = Arc::new(RootKey::random());
        let store = Store::open(&path, key.clone()).expect("open");
        let (first, second) = store
            .write(Timestamp(7), |tx| {
                tx.insert_instance(&instance())?;
                let unique = |n: u64| vec![Attribute::bytes(0x4, n.to_string().into_bytes())];
                Ok::<_, StoreError>((tx.insert_object(&record("a"), unique)?, tx.insert_object(&record("b"), unique)?))
            })
            .expect("insert");
        assert!(second.object_no > first.object_no);
        assert_eq!(first.attributes, vec![Attribute::bytes(0x4, first.object_no.to_string().into_bytes())]);
        let mut changed = ObjectRecord { object_no: first.object_no, ..record("renamed") };
        changed.attributes.push(Attribute::bool(1, true));
        store
            .write(Timestamp(8), |tx| {
                tx.update_object(&changed)?;
                tx.delete_object(second.object_no)
            })
            .expect("update and delete");
        drop(store);
        let loaded = Store::open(&path, key.clone()).expect("reopen").load().expect("load").objects;
        assert_eq!(loaded, vec![changed]);
        let journal = Store::open(&path, key).expect("reopen").journal_since(0, 100).expect("journal");
        let operations: Vec<_> =
            journal.iter().filter(|e| e.entity == "object").map(|e| e.operation.as_str()).collect();
        assert_eq!(operations, ["create", "create", "update", "delete"], "one entry per change, no duplicate");
    }

    #[test]
    fn values_reach_neither_the_file_nor_the_journal_in_clear() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p11kms.db");
        let key = Arc::new(RootKey::random());
        let store = Store::open(&path, key.clone()).expect("open");
        let mut object = record("label");
        object.attributes.push(Attribute::bytes(0x11, SECRET.to_vec()));
        store
            .write(Timestamp(7), |tx| {
                tx.insert_instance(&instance())?;
                tx.insert_object(&object, |_| object.attributes.clone())
            })
            .expect("insert");
        let journal = store.journal_since(0, 100).expect("journal");
        let entry = journal.iter().find(|e| e.entity == "object").expect("journaled");
        assert!(entry.payload.contains("\"attributes\":\"sealed:"), "{}", entry.payload);
        assert!(!entry.payload.contains("label"), "no attribute in clear: {}", entry.payload);
        drop(store);
        assert!(!contains(&raw_bytes(&path), SECRET), "the value is sealed in the file");
        let loaded = Store::open(&path, key).expect("reopen").load().expect("load").objects;
        assert!(loaded[0].attributes.contains(&Attribute::bytes(0x11, SECRET.to_vec())));
        let error = Store::open(&path, Arc::new(RootKey::random())).and_then(|s| s.load()).expect_err("another key");
        assert!(matches!(error, StoreError::Sealed(_)), "{error}");
    }

    #[test]
    fn a_store_from_before_sealing_is_sealed_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p11kms.db");
        let key = Arc::new(RootKey::random());
        drop(Store::open(&path, key.clone()).expect("create"));
        // What a daemon of before 0.2 wrote: attributes as JSON, in the row
        // and in the journal.
        let mut object = record("old");
        object.attributes.push(Attribute::bytes(0x11, SECRET.to_vec()));
        let json = serde_json::to_string(&object.attributes).expect("json");
        {
            let conn = Connection::open(&path).expect("raw");
            conn.execute(
                "INSERT INTO instances (name, slot_id, kind, cluster, key_quota, created_at) VALUES ('i1', 0, 'hardware', NULL, 10, 1)",
                [],
            )
            .expect("instance");
            conn.execute(
                "INSERT INTO objects (object_no, instance, class, attributes, creator, created_at) VALUES (5, 'i1', 0, ?1, 'app:web', 7)",
                [&json],
            )
            .expect("legacy row");
            let payload = serde_json::json!({ "object_no": 5, "instance": "i1", "attributes": object.attributes });
            conn.execute(
                "INSERT INTO journal (at, entity, entity_id, operation, payload) VALUES (7, 'object', '5', 'create', ?1)",
                [payload.to_string()],
            )
            .expect("legacy entry");
        }
        let store = Store::open(&path, key.clone()).expect("reopen seals");
        let entry = store.journal_since(0, 100).expect("journal").into_iter().find(|e| e.entity == "object");
        assert!(entry.expect("kept").payload.contains("sealed:"), "the old entry is sealed");
        assert_eq!(store.load().expect("load").objects[0].attributes, object.attributes, "and still reads");
        drop(store);
        let conn = Connection::open(&path).expect("raw");
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;");
        drop(conn);
        assert!(!contains(&raw_bytes(&path), SECRET), "no clear value left in the file after a vacuum");
    }
}
