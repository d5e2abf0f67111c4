//! Rows of objects applications created through PKCS#11 (`C_CreateObject`,
//! `C_CopyObject`): data objects, certificates, public keys. Their
//! attributes are kept as JSON; every write journals the change.

use rusqlite::{Connection, params};

use p11kms_proto::Timestamp;
use p11kms_proto::pkcs11::Attribute;

use super::records::ObjectRecord;
use super::{StoreError, Tx};

fn attributes_json(attributes: &[Attribute]) -> Result<String, StoreError> {
    Ok(serde_json::to_string(attributes)?)
}

impl Tx<'_> {
    /// Inserts an object; returns its number (never reused).
    pub fn insert_object(&self, object: &ObjectRecord) -> Result<u64, StoreError> {
        self.tx.execute(
            "INSERT INTO objects (instance, class, attributes, creator, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                object.instance,
                object.class as i64,
                attributes_json(&object.attributes)?,
                object.creator,
                object.created_at.unix()
            ],
        )?;
        let object_no = self.tx.last_insert_rowid() as u64;
        let stored = ObjectRecord { object_no, ..object.clone() };
        self.journal("object", &object_no.to_string(), "create", &stored)?;
        Ok(object_no)
    }

    /// Replaces an object's attributes (`C_SetAttributeValue`).
    pub fn update_object(&self, object: &ObjectRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE objects SET attributes = ?2 WHERE object_no = ?1",
            params![object.object_no as i64, attributes_json(&object.attributes)?],
        )?;
        self.journal("object", &object.object_no.to_string(), "update", object)
    }

    /// Removes an object (`C_DestroyObject`).
    pub fn delete_object(&self, object_no: u64) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM objects WHERE object_no = ?1", [object_no as i64])?;
        self.journal("object", &object_no.to_string(), "delete", &serde_json::json!({ "object_no": object_no }))
    }
}

/// Every stored object, in creation order.
pub(super) fn load_objects(conn: &Connection) -> Result<Vec<ObjectRecord>, StoreError> {
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
        let attributes = serde_json::from_str(&attributes)
            .map_err(|_| StoreError::Corrupt { column: "objects.attributes", value: attributes })?;
        objects.push(ObjectRecord {
            object_no: object_no as u64,
            instance,
            class: class as u64,
            attributes,
            creator,
            created_at: Timestamp(created_at),
        });
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use p11kms_proto::admin::InstanceKind;

    use super::*;
    use crate::store::{InstanceRecord, Store};

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

    #[test]
    fn objects_are_numbered_updated_deleted_and_reloaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p11kms.db");
        let store = Store::open(&path).expect("open");
        let instance = InstanceRecord {
            name: "i1".into(),
            slot_id: 0,
            kind: InstanceKind::Hardware,
            cluster: None,
            key_quota: 10,
            created_at: Timestamp(1),
        };
        let (first, second) = store
            .write(Timestamp(7), |tx| {
                tx.insert_instance(&instance)?;
                Ok::<_, StoreError>((tx.insert_object(&record("a"))?, tx.insert_object(&record("b"))?))
            })
            .expect("insert");
        assert!(second > first);
        let mut changed = ObjectRecord { object_no: first, ..record("renamed") };
        changed.attributes.push(Attribute::bool(1, true));
        store
            .write(Timestamp(8), |tx| {
                tx.update_object(&changed)?;
                tx.delete_object(second)
            })
            .expect("update and delete");
        drop(store);
        let loaded = Store::open(&path).expect("reopen").load().expect("load").objects;
        assert_eq!(loaded, vec![changed]);
        let journal = Store::open(&path).expect("reopen").journal_since(0, 100).expect("journal");
        let operations: Vec<_> =
            journal.iter().filter(|e| e.entity == "object").map(|e| e.operation.as_str()).collect();
        assert_eq!(operations, ["create", "create", "update", "delete"]);
    }
}
