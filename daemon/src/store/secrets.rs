//! Rows of secrets and secret versions. Every write journals the change it
//! makes, in the same transaction. A version's row and journal entry hold
//! its value only encrypted (`SealedValue`: the data key as a ciphertext
//! blob of the secret's key, the IV, the AES-GCM ciphertext), so neither
//! the database nor the journal ever holds a secret value in clear.

use rusqlite::{Connection, params};

use p11kms_proto::Timestamp;

use super::records::{SealedValue, SecretRecord, SecretVersionRecord};
use super::rows::{parse, time};
use super::{StoreError, Tx};

const SECRET_COLUMNS: &str = "name, instance, secret_type, encryption_key_id, description, extended_config, tags,
     creator, created_at, updated_at, planned_delete_time, automatic_rotation, rotation_interval, last_rotation_date";

/// Every column but the name, from the row given to an upsert.
const SECRET_UPDATES: &str = "instance = excluded.instance, secret_type = excluded.secret_type,
     encryption_key_id = excluded.encryption_key_id, description = excluded.description,
     extended_config = excluded.extended_config, tags = excluded.tags, creator = excluded.creator,
     created_at = excluded.created_at, updated_at = excluded.updated_at,
     planned_delete_time = excluded.planned_delete_time, automatic_rotation = excluded.automatic_rotation,
     rotation_interval = excluded.rotation_interval, last_rotation_date = excluded.last_rotation_date";

impl Tx<'_> {
    fn write_secret(&self, upsert: bool, s: &SecretRecord) -> Result<(), StoreError> {
        let insert = format!(
            "INSERT INTO secrets ({SECRET_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        );
        let sql = if upsert { format!("{insert} ON CONFLICT(name) DO UPDATE SET {SECRET_UPDATES}") } else { insert };
        self.tx.execute(
            &sql,
            params![
                s.name,
                s.instance,
                s.secret_type.as_str(),
                s.encryption_key_id,
                s.description,
                s.extended_config,
                serde_json::to_string(&s.tags)?,
                s.creator,
                s.created_at.unix(),
                s.updated_at.unix(),
                s.planned_delete_time.map(Timestamp::unix),
                s.automatic_rotation,
                s.rotation_interval,
                s.last_rotation_date.map(Timestamp::unix)
            ],
        )?;
        Ok(())
    }

    /// Inserts a secret (its versions follow with [`Tx::insert_secret_version`]).
    pub fn insert_secret(&self, secret: &SecretRecord) -> Result<(), StoreError> {
        self.write_secret(false, secret)?;
        self.journal("secret", &secret.name, "create", secret)
    }

    /// Replaces a secret's row in place.
    pub fn update_secret(&self, secret: &SecretRecord) -> Result<(), StoreError> {
        self.write_secret(true, secret)?;
        self.journal("secret", &secret.name, "update", secret)
    }

    /// Removes a secret and every version: the end of its recovery window,
    /// or a deletion without one.
    pub fn delete_secret(&self, name: &str) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM secret_versions WHERE secret_name = ?1", [name])?;
        self.tx.execute("DELETE FROM secrets WHERE name = ?1", [name])?;
        self.journal("secret", name, "delete", &serde_json::json!({ "name": name }))
    }

    /// Inserts a version; returns it with its sequence number.
    pub fn insert_secret_version(&self, v: &SecretVersionRecord) -> Result<SecretVersionRecord, StoreError> {
        self.tx.execute(
            "INSERT INTO secret_versions
             (secret_name, version_id, created_at, stages, data_type, encrypted_data_key, iv, ciphertext)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                v.secret_name,
                v.version_id,
                v.created_at.unix(),
                serde_json::to_string(&v.stages)?,
                v.data_type.as_str(),
                v.sealed.encrypted_data_key,
                v.sealed.iv,
                v.sealed.ciphertext
            ],
        )?;
        let stored = SecretVersionRecord { seq: self.tx.last_insert_rowid() as u64, ..v.clone() };
        // The entry carries the value encrypted (never in clear), so the
        // journal alone can restore it with the secret's key.
        self.journal("secret_version", &version_entity(&stored), "create", &stored)?;
        Ok(stored)
    }

    /// Records a version's new stages.
    pub fn update_secret_version_stages(&self, v: &SecretVersionRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE secret_versions SET stages = ?3 WHERE secret_name = ?1 AND version_id = ?2",
            params![v.secret_name, v.version_id, serde_json::to_string(&v.stages)?],
        )?;
        let entry = serde_json::json!({ "secret_name": v.secret_name, "version_id": v.version_id, "stages": v.stages });
        self.journal("secret_version", &version_entity(v), "update", &entry)
    }

    /// Removes a version (the oldest one without a stage, when a secret
    /// is full).
    pub fn delete_secret_version(&self, v: &SecretVersionRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "DELETE FROM secret_versions WHERE secret_name = ?1 AND version_id = ?2",
            params![v.secret_name, v.version_id],
        )?;
        let entry = serde_json::json!({ "secret_name": v.secret_name, "version_id": v.version_id });
        self.journal("secret_version", &version_entity(v), "delete", &entry)
    }
}

/// A version's entity id in the journal: `<secret name>/<version id>`
/// (the payload names both apart, for names holding a `/`).
fn version_entity(v: &SecretVersionRecord) -> String {
    format!("{}/{}", v.secret_name, v.version_id)
}

pub(super) fn load_secrets(conn: &Connection) -> Result<Vec<SecretRecord>, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {SECRET_COLUMNS} FROM secrets ORDER BY created_at, rowid"))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            [r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(6)?, r.get(7)?],
            r.get::<_, Option<String>>(5)?,
            [r.get::<_, i64>(8)?, r.get(9)?],
            [r.get::<_, Option<i64>>(10)?, r.get(12)?, r.get(13)?],
            r.get::<_, bool>(11)?,
        ))
    })?;
    let mut secrets = Vec::new();
    for row in rows {
        let (text, extended_config, [created_at, updated_at], [planned, interval, last_rotation], automatic) = row?;
        let [name, instance, secret_type, encryption_key_id, description, tags, creator] = text;
        secrets.push(SecretRecord {
            name,
            instance,
            secret_type: parse("secrets.secret_type", secret_type)?,
            encryption_key_id,
            description,
            extended_config,
            tags: serde_json::from_str(&tags)
                .map_err(|_| StoreError::Corrupt { column: "secrets.tags", value: tags })?,
            creator,
            created_at: Timestamp(created_at),
            updated_at: Timestamp(updated_at),
            planned_delete_time: time(planned),
            automatic_rotation: automatic,
            rotation_interval: interval,
            last_rotation_date: time(last_rotation),
        });
    }
    Ok(secrets)
}

pub(super) fn load_secret_versions(conn: &Connection) -> Result<Vec<SecretVersionRecord>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT seq, secret_name, version_id, created_at, stages, data_type, encrypted_data_key, iv, ciphertext
         FROM secret_versions ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            [r.get::<_, String>(1)?, r.get(2)?, r.get(4)?, r.get(5)?],
            r.get::<_, i64>(3)?,
            [r.get::<_, Vec<u8>>(6)?, r.get(7)?, r.get(8)?],
        ))
    })?;
    let mut versions = Vec::new();
    for row in rows {
        let (seq, [secret_name, version_id, stages, data_type], created_at, [encrypted_data_key, iv, ciphertext]) =
            row?;
        versions.push(SecretVersionRecord {
            seq: seq as u64,
            secret_name,
            version_id,
            created_at: Timestamp(created_at),
            stages: serde_json::from_str(&stages)
                .map_err(|_| StoreError::Corrupt { column: "secret_versions.stages", value: stages })?,
            data_type: parse("secret_versions.data_type", data_type)?,
            sealed: SealedValue { encrypted_data_key, iv, ciphertext },
        });
    }
    Ok(versions)
}
