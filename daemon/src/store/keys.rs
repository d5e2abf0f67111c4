//! Rows of keys, key versions, aliases and import tokens. Every write
//! journals the change it makes, in the same transaction.

use rusqlite::{Connection, OptionalExtension, Row, params};

use p11kms_proto::Timestamp;
use p11kms_proto::admin::Tag;

use super::records::{AliasRecord, ExportUses, ImportTokenRecord, KeyRecord, VersionRecord};
use super::rows::{parse, time};
use super::{StoreError, Tx};

const KEY_COLUMNS: &str = "key_id, instance, key_spec, key_usage, origin, state, description, creator, created_at,
     primary_version, delete_date, deletion_protection, automatic_rotation, rotation_interval, material_expire_time, tags,
     used_re_encrypt, used_export_data_key, used_generate_and_export_data_key";

/// Every column but the key id, set from the row given to an upsert. The
/// recorded uses only ever grow (`MAX` of the stored flag and the new
/// one): a writer holding an older copy of the row cannot clear a use
/// recorded since it read it.
const KEY_UPDATES: &str = "instance = excluded.instance, key_spec = excluded.key_spec, key_usage = excluded.key_usage,
     origin = excluded.origin, state = excluded.state, description = excluded.description, creator = excluded.creator,
     created_at = excluded.created_at, primary_version = excluded.primary_version, delete_date = excluded.delete_date,
     deletion_protection = excluded.deletion_protection, automatic_rotation = excluded.automatic_rotation,
     rotation_interval = excluded.rotation_interval, material_expire_time = excluded.material_expire_time,
     tags = excluded.tags, used_re_encrypt = MAX(used_re_encrypt, excluded.used_re_encrypt),
     used_export_data_key = MAX(used_export_data_key, excluded.used_export_data_key),
     used_generate_and_export_data_key = MAX(used_generate_and_export_data_key, excluded.used_generate_and_export_data_key)";

fn tags_json(tags: &[Tag]) -> Result<String, StoreError> {
    Ok(serde_json::to_string(tags)?)
}

impl Tx<'_> {
    /// Inserts a key row, or (`UPDATE`) changes it in place: an update
    /// never deletes the row, so the row keeps its place.
    fn write_key(&self, verb: &str, key: &KeyRecord) -> Result<(), StoreError> {
        let insert = format!(
            "INSERT INTO keys ({KEY_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
        );
        let sql = match verb {
            "UPDATE" => format!("{insert} ON CONFLICT(key_id) DO UPDATE SET {KEY_UPDATES}"),
            _ => insert,
        };
        self.tx.execute(
            &sql,
            params![
                key.key_id,
                key.instance,
                key.key_spec.as_str(),
                key.key_usage.as_str(),
                key.origin.as_str(),
                key.state.as_str(),
                key.description,
                key.creator,
                key.created_at.unix(),
                key.primary_version,
                key.delete_date.map(Timestamp::unix),
                key.deletion_protection,
                key.automatic_rotation,
                key.rotation_interval,
                key.material_expire_time.map(Timestamp::unix),
                tags_json(&key.tags)?,
                key.export_uses.re_encrypt,
                key.export_uses.export_data_key,
                key.export_uses.generate_and_export_data_key
            ],
        )?;
        Ok(())
    }

    /// Inserts a key with its first version and, optionally, an alias.
    /// Returns the version as stored (with its sequence number).
    pub fn insert_key(
        &self,
        key: &KeyRecord,
        version: &VersionRecord,
        alias: Option<&AliasRecord>,
    ) -> Result<VersionRecord, StoreError> {
        self.write_key("INSERT", key)?;
        self.journal("key", &key.key_id, "create", key)?;
        let version = self.insert_version(version)?;
        if let Some(alias) = alias {
            self.insert_alias(alias)?;
        }
        Ok(version)
    }

    /// Replaces a key's row (state, dates, policy, tags, primary version).
    pub fn update_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        self.write_key("UPDATE", key)?;
        self.journal("key", &key.key_id, "update", key)
    }

    /// Removes a key with its versions (and their lost records), aliases
    /// and import tokens: the end of a deletion window.
    pub fn delete_key(&self, key_id: &str) -> Result<(), StoreError> {
        for table in ["aliases", "key_app_ids", "key_mechanisms", "import_tokens", "lost_versions", "key_versions"] {
            self.tx.execute(&format!("DELETE FROM {table} WHERE key_id = ?1"), [key_id])?;
        }
        self.tx.execute("DELETE FROM keys WHERE key_id = ?1", [key_id])?;
        self.journal("key", key_id, "delete", &serde_json::json!({ "key_id": key_id }))
    }

    /// Inserts a key version; the database assigns its sequence number,
    /// which is never reused (AUTOINCREMENT), so PKCS#11 object ids derived
    /// from it stay unique for the life of the store.
    pub fn insert_version(&self, v: &VersionRecord) -> Result<VersionRecord, StoreError> {
        self.tx.execute(
            "INSERT INTO key_versions (version_id, key_id, created_at, public_key, has_material, kcv)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![v.version_id, v.key_id, v.created_at.unix(), v.public_key, v.has_material, v.kcv],
        )?;
        let stored = VersionRecord { seq: self.tx.last_insert_rowid() as u64, ..v.clone() };
        self.journal("key_version", &stored.version_id, "create", &stored)?;
        Ok(stored)
    }

    /// Records whether a version's material is in the HSMs, and its check value.
    pub fn update_version(&self, v: &VersionRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE key_versions SET has_material = ?2, kcv = ?3 WHERE version_id = ?1",
            params![v.version_id, v.has_material, v.kcv],
        )?;
        self.journal("key_version", &v.version_id, "update", v)
    }

    /// Inserts an alias.
    pub fn insert_alias(&self, a: &AliasRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO aliases (alias, key_id, created_at) VALUES (?1, ?2, ?3)",
            params![a.alias, a.key_id, a.created_at.unix()],
        )?;
        self.journal("alias", &a.alias, "create", a)
    }

    /// Points an alias at another key, as that key's newest alias: the
    /// row is written anew, so it comes after every other in the order
    /// aliases load in (creation time, then row order).
    pub fn update_alias(&self, a: &AliasRecord) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM aliases WHERE alias = ?1", [&a.alias])?;
        self.tx.execute(
            "INSERT INTO aliases (alias, key_id, created_at) VALUES (?1, ?2, ?3)",
            params![a.alias, a.key_id, a.created_at.unix()],
        )?;
        self.journal("alias", &a.alias, "update", a)
    }

    /// Deletes an alias.
    pub fn delete_alias(&self, alias: &str) -> Result<(), StoreError> {
        // The entry names the key that lost the alias: backups read the
        // journal to know which keys changed.
        let key_id: Option<String> =
            self.tx.query_row("SELECT key_id FROM aliases WHERE alias = ?1", [alias], |r| r.get(0)).optional()?;
        self.tx.execute("DELETE FROM aliases WHERE alias = ?1", [alias])?;
        self.journal("alias", alias, "delete", &serde_json::json!({ "alias": alias, "key_id": key_id }))
    }

    /// Records an import token.
    pub fn insert_import_token(&self, t: &ImportTokenRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO import_tokens (token, key_id, wrapping_key, algorithm, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![t.token, t.key_id, t.wrapping_key, t.algorithm.as_str(), t.expires_at.unix()],
        )?;
        self.journal("import_token", &t.wrapping_key, "create", t)
    }

    /// Forgets an import token (used or expired).
    pub fn delete_import_token(&self, t: &ImportTokenRecord) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM import_tokens WHERE token = ?1", [&t.token])?;
        self.journal("import_token", &t.wrapping_key, "delete", t)
    }
}

/// A key row as SQLite types, before parsing the enums and JSON.
struct RawKey {
    text: [String; 9],
    created_at: i64,
    delete_date: Option<i64>,
    deletion_protection: bool,
    automatic_rotation: bool,
    rotation_interval: Option<i64>,
    material_expire_time: Option<i64>,
    tags: String,
    export_uses: ExportUses,
}

fn raw_key(r: &Row<'_>) -> rusqlite::Result<RawKey> {
    Ok(RawKey {
        text: [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(9)?],
        created_at: r.get(8)?,
        delete_date: r.get(10)?,
        deletion_protection: r.get(11)?,
        automatic_rotation: r.get(12)?,
        rotation_interval: r.get(13)?,
        material_expire_time: r.get(14)?,
        tags: r.get(15)?,
        export_uses: ExportUses {
            re_encrypt: r.get(16)?,
            export_data_key: r.get(17)?,
            generate_and_export_data_key: r.get(18)?,
        },
    })
}

pub(super) fn load_keys(conn: &Connection) -> Result<Vec<KeyRecord>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        // Creation order: the time, then the key's first version number
        // (versions are numbered as they are made). Row order is not: a
        // daemon before 0.2 replaced rows when it updated them.
        "SELECT {KEY_COLUMNS} FROM keys ORDER BY created_at, (SELECT MIN(seq) FROM key_versions v WHERE v.key_id = keys.key_id), rowid"
    ))?;
    let rows = stmt.query_map([], raw_key)?;
    let mut keys = Vec::new();
    for row in rows {
        let raw = row?;
        let [key_id, instance, spec, usage, origin, state, description, creator, primary_version] = raw.text;
        keys.push(KeyRecord {
            key_id,
            instance,
            key_spec: parse("keys.key_spec", spec)?,
            key_usage: parse("keys.key_usage", usage)?,
            origin: parse("keys.origin", origin)?,
            state: parse("keys.state", state)?,
            description,
            creator,
            created_at: Timestamp(raw.created_at),
            primary_version,
            delete_date: time(raw.delete_date),
            deletion_protection: raw.deletion_protection,
            automatic_rotation: raw.automatic_rotation,
            rotation_interval: raw.rotation_interval,
            material_expire_time: time(raw.material_expire_time),
            tags: serde_json::from_str(&raw.tags)
                .map_err(|_| StoreError::Corrupt { column: "keys.tags", value: raw.tags.clone() })?,
            export_uses: raw.export_uses,
        });
    }
    Ok(keys)
}

pub(super) fn load_versions(conn: &Connection) -> Result<Vec<VersionRecord>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT seq, version_id, key_id, created_at, public_key, has_material, kcv FROM key_versions ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(VersionRecord {
            seq: r.get::<_, i64>(0)? as u64,
            version_id: r.get(1)?,
            key_id: r.get(2)?,
            created_at: Timestamp(r.get(3)?),
            public_key: r.get(4)?,
            has_material: r.get(5)?,
            kcv: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn load_aliases(conn: &Connection) -> Result<Vec<AliasRecord>, StoreError> {
    let mut stmt = conn.prepare("SELECT alias, key_id, created_at FROM aliases ORDER BY created_at, rowid")?;
    let rows = stmt
        .query_map([], |r| Ok(AliasRecord { alias: r.get(0)?, key_id: r.get(1)?, created_at: Timestamp(r.get(2)?) }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn load_import_tokens(conn: &Connection) -> Result<Vec<ImportTokenRecord>, StoreError> {
    let mut stmt = conn.prepare("SELECT token, key_id, wrapping_key, algorithm, expires_at FROM import_tokens")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get(4)?))
    })?;
    let mut tokens = Vec::new();
    for row in rows {
        let (token, key_id, wrapping_key, algorithm, expires_at) = row?;
        tokens.push(ImportTokenRecord {
            token,
            key_id,
            wrapping_key,
            algorithm: parse("import_tokens.algorithm", algorithm)?,
            expires_at: Timestamp(expires_at),
        });
    }
    Ok(tokens)
}
