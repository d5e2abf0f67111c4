//! The metadata store: an embedded SQLite database (WAL mode, file mode
//! 0600) behind one connection.
//!
//! Every change goes through [`Store::write`], which hands out a [`Tx`]
//! whose methods change a row *and* append the matching journal entry in
//! the same transaction, so the journal can never miss a change. Reads
//! happen once, at start ([`Store::load`]); afterwards the daemon serves
//! reads from its in-memory registry.

mod app_ids;
mod audit;
mod backups;
mod intents;
mod journal;
mod key_mechanisms;
mod keys;
mod material;
mod migrations;
mod objects;
pub mod records;
mod rows;
mod schema;
mod secrets;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

use p11kms_proto::Timestamp;

use crate::root_key::{RootKey, SealError};

pub use app_ids::KeyAppIdRecord;
pub use journal::JournalEntry;
pub use key_mechanisms::KeyMechanismsRecord;
pub use material::MaterialRole;
pub use records::{
    AliasRecord, AppRecord, BackupPointRecord, BackupRecord, ClusterRecord, ExportUses, ImportTokenRecord,
    InstanceRecord, IntentPurpose, IntentRecord, KeyRecord, LostVersionRecord, MemberRecord, MigrationStep,
    MigrationTaskRecord, ObjectRecord, PointKind, SealedValue, SecretRecord, SecretVersionRecord, VersionRecord,
};

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database file could not be prepared.
    #[error("database file error: {0}")]
    Io(#[from] std::io::Error),
    /// The database was written by a newer daemon.
    #[error("database schema version {found} is newer than this daemon's {supported}; refusing to touch it")]
    TooNew {
        /// Version in the file.
        found: i64,
        /// Version this daemon writes.
        supported: i64,
    },
    /// A stored value does not parse.
    #[error("corrupt value in column {column}: {value:?}")]
    Corrupt {
        /// Where.
        column: &'static str,
        /// What was found.
        value: String,
    },
    /// A sealed value does not open (the root key is not this database's).
    #[error("{0}")]
    Sealed(#[from] SealError),
    /// Serializing a journal payload failed.
    #[error("cannot encode journal payload: {0}")]
    Payload(#[from] serde_json::Error),
    /// The store's lock was poisoned by a panic elsewhere.
    #[error("store lock poisoned")]
    Poisoned,
}

/// Runs `f` in one transaction of `conn` stamped with `now`.
fn transact<T, E>(
    conn: &mut Connection,
    now: Timestamp,
    root_key: &RootKey,
    f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    let tx = conn.transaction().map_err(StoreError::from)?;
    let tx = Tx { tx, now, root_key };
    let value = f(&tx)?;
    tx.tx.commit().map_err(StoreError::from)?;
    Ok(value)
}

/// Everything the store holds, as loaded at start.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Clusters with their members.
    pub clusters: Vec<ClusterRecord>,
    /// Instances.
    pub instances: Vec<InstanceRecord>,
    /// Apps.
    pub apps: Vec<AppRecord>,
    /// Keys.
    pub keys: Vec<KeyRecord>,
    /// Key versions.
    pub versions: Vec<VersionRecord>,
    /// Aliases.
    pub aliases: Vec<AliasRecord>,
    /// Import tokens not yet used or expired.
    pub import_tokens: Vec<ImportTokenRecord>,
    /// Objects applications created through PKCS#11.
    pub objects: Vec<ObjectRecord>,
    /// Creation intents not yet settled (a crash left them).
    pub intents: Vec<IntentRecord>,
    /// Key versions recorded lost.
    pub lost_versions: Vec<LostVersionRecord>,
    /// Secrets.
    pub secrets: Vec<SecretRecord>,
    /// Secret versions, oldest first.
    pub secret_versions: Vec<SecretVersionRecord>,
    /// CMK migration tasks, oldest first.
    pub migrations: Vec<MigrationTaskRecord>,
    /// Instance backups.
    pub backups: Vec<BackupRecord>,
    /// Their points, by backup then number.
    pub backup_points: Vec<BackupPointRecord>,
    /// The `CKA_ID`s applications gave keys.
    pub key_app_ids: Vec<KeyAppIdRecord>,
    /// The `CKA_ALLOWED_MECHANISMS` applications gave keys.
    pub key_mechanisms: Vec<KeyMechanismsRecord>,
}

/// The open database.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    /// Seals what rows and journal keep that is secret (object values).
    root_key: Arc<RootKey>,
}

/// A write transaction. Its methods keep rows and journal together.
#[derive(Debug)]
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
    now: Timestamp,
    root_key: &'a RootKey,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`;
    /// what it keeps sealed, it seals under `root_key`.
    pub fn open(path: &Path, root_key: Arc<RootKey>) -> Result<Self, StoreError> {
        let existed = path.exists();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        if !existed {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut store = Self { conn: Mutex::new(conn), root_key };
        store.migrate()?;
        store.seal_legacy_objects()?;
        Ok(store)
    }

    /// An empty, migrated database in memory, for the unit tests of what
    /// runs on the store (the KMS rules among them).
    #[cfg(test)]
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Self { conn: Mutex::new(conn), root_key: Arc::new(RootKey::random()) };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let conn = self.conn.get_mut().map_err(|_| StoreError::Poisoned)?;
        conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
        let found: Option<i64> = conn.query_row("SELECT MAX(version) FROM schema_version", [], |row| row.get(0))?;
        let found = found.unwrap_or(0);
        let supported = schema::current_version();
        if found > supported {
            return Err(StoreError::TooNew { found, supported });
        }
        for (index, sql) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.execute("DELETE FROM schema_version", [])?;
            tx.execute("INSERT INTO schema_version (version) VALUES (?1)", [index as i64 + 1])?;
            tx.commit()?;
            tracing::info!(version = index + 1, "database schema migrated");
        }
        Ok(())
    }

    /// The schema version in the file.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(conn.query_row("SELECT MAX(version) FROM schema_version", [], |row| row.get(0))?)
    }

    /// Runs `f` in one transaction stamped with `now`; commits if it
    /// returns `Ok`, rolls back otherwise.
    pub fn write<T, E>(&self, now: Timestamp, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        transact(&mut conn, now, &self.root_key, f)
    }

    /// [`Store::write`] without waiting for the disk: once committed, the
    /// transaction survives a crash of the daemon (`kill -9`: the WAL is in
    /// the kernel's hands), but a power cut may take it back; the next
    /// durable commit makes it durable too. For records whose loss costs a
    /// report, never data: creation intents (without its intent, what a
    /// crash left is reported as unknown instead of destroyed). It spares
    /// the commit's fsync, some 4 ms a key creation on the test machines.
    pub fn write_relaxed<T, E>(&self, now: Timestamp, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(StoreError::from)?;
        let result = transact(&mut conn, now, &self.root_key, f);
        conn.pragma_update(None, "synchronous", "FULL").map_err(StoreError::from)?;
        result
    }

    /// Reads everything.
    pub fn load(&self) -> Result<Snapshot, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let mut snapshot = rows::load_all(&conn)?;
        snapshot.keys = keys::load_keys(&conn)?;
        snapshot.versions = keys::load_versions(&conn)?;
        snapshot.aliases = keys::load_aliases(&conn)?;
        snapshot.import_tokens = keys::load_import_tokens(&conn)?;
        snapshot.secrets = secrets::load_secrets(&conn)?;
        snapshot.secret_versions = secrets::load_secret_versions(&conn)?;
        snapshot.objects = objects::load_objects(&conn, &self.root_key)?;
        snapshot.intents = intents::load_intents(&conn)?;
        snapshot.lost_versions = intents::load_lost_versions(&conn)?;
        snapshot.migrations = migrations::load_migrations(&conn)?;
        snapshot.backups = backups::load_backups(&conn)?;
        snapshot.backup_points = backups::load_backup_points(&conn)?;
        snapshot.key_app_ids = app_ids::load_key_app_ids(&conn)?;
        snapshot.key_mechanisms = key_mechanisms::load_key_mechanisms(&conn)?;
        Ok(snapshot)
    }

    /// Every row of every table, as text (texts as they are, blobs in
    /// hex and as lossy UTF-8): what a test looks through for a value
    /// that must not be there.
    #[cfg(test)]
    pub fn dump(&self) -> Result<String, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut out = String::new();
        for table in tables {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\""))?;
            let columns = stmt.column_count();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                out.push_str(&table);
                for i in 0..columns {
                    out.push(' ');
                    match row.get_ref(i)? {
                        rusqlite::types::ValueRef::Text(t) => out.push_str(&String::from_utf8_lossy(t)),
                        rusqlite::types::ValueRef::Blob(b) => {
                            out.push_str(&hex::encode(b));
                            out.push(' ');
                            out.push_str(&String::from_utf8_lossy(b));
                        }
                        other => out.push_str(&format!("{other:?}")),
                    }
                }
                out.push('\n');
            }
        }
        Ok(out)
    }

    /// Journal entries after `after_seq`, oldest first.
    pub fn journal_since(&self, after_seq: i64, limit: usize) -> Result<Vec<JournalEntry>, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        journal::read_since(&conn, after_seq, limit)
    }
}

#[cfg(test)]
mod tests;
