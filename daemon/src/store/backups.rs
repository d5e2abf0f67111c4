//! Rows of instance backups and of their points. Every write journals the
//! change it makes, in the same transaction. A point's content is in files
//! (`backups::storage`); its row holds the manifest's SHA-256, checked
//! before any use.

use rusqlite::{Connection, params};

use p11kms_proto::Timestamp;

use super::records::{BackupPointRecord, BackupRecord};
use super::rows::{parse, time};
use super::{Store, StoreError, Tx};

const COLUMNS: &str = "backup_id, alias, backup_type, status, instance, instance_kind, created_at, enabled_at,
     viewable_days, expires_at, cluster, primary_member, last_point_at, journal_seq, last_drill";

impl Tx<'_> {
    /// Inserts or replaces a backup's row.
    pub fn put_backup(&self, b: &BackupRecord) -> Result<(), StoreError> {
        self.tx.execute(
            &format!(
                "INSERT OR REPLACE INTO backups ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
            ),
            params![
                b.backup_id,
                b.alias,
                b.backup_type.as_str(),
                b.status.as_str(),
                b.instance,
                b.instance_kind.as_str(),
                b.created_at.unix(),
                b.enabled_at.map(Timestamp::unix),
                b.viewable_days,
                b.expires_at.map(Timestamp::unix),
                b.cluster,
                b.primary_member,
                b.last_point_at.map(Timestamp::unix),
                b.journal_seq,
                b.last_drill.as_ref().map(serde_json::to_string).transpose()?,
            ],
        )?;
        self.journal("backup", &b.backup_id, "update", b)
    }

    /// Deletes a backup's row and its points' rows.
    pub fn delete_backup(&self, backup_id: &str) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM backup_points WHERE backup_id = ?1", [backup_id])?;
        self.tx.execute("DELETE FROM backups WHERE backup_id = ?1", [backup_id])?;
        self.journal("backup", backup_id, "delete", &backup_id)
    }

    /// Records a point (its manifest is written).
    pub fn insert_backup_point(&self, p: &BackupPointRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO backup_points (backup_id, seq, kind, at, journal_seq, sha256, bytes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![p.backup_id, p.seq, p.kind.as_str(), p.at.unix(), p.journal_seq, p.sha256, p.bytes as i64],
        )?;
        self.journal("backup_point", &format!("{}/{}", p.backup_id, p.seq), "create", p)
    }

    /// Forgets the points of a backup before point `seq` (pruned).
    pub fn delete_backup_points_before(&self, backup_id: &str, seq: i64) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM backup_points WHERE backup_id = ?1 AND seq < ?2", params![backup_id, seq])?;
        self.journal("backup_point", backup_id, "prune", &seq)
    }

    /// Records a point's manifest rewritten (made complete when the points
    /// it built on were pruned).
    pub fn update_backup_point(&self, p: &BackupPointRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE backup_points SET sha256 = ?3, bytes = ?4 WHERE backup_id = ?1 AND seq = ?2",
            params![p.backup_id, p.seq, p.sha256, p.bytes as i64],
        )?;
        self.journal("backup_point", &format!("{}/{}", p.backup_id, p.seq), "update", p)
    }

    /// Forgets every point of a backup (`backup reset`).
    pub fn delete_backup_points(&self, backup_id: &str) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM backup_points WHERE backup_id = ?1", [backup_id])?;
        self.journal("backup_point", backup_id, "delete", &backup_id)
    }
}

impl Store {
    /// The newest journal position (0 when the journal is empty).
    pub fn journal_head(&self) -> Result<i64, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM journal", [], |r| r.get(0))?)
    }
}

type BackupRow = (
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<i64>,
    u32,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    Option<String>,
);

pub(super) fn load_backups(conn: &Connection) -> Result<Vec<BackupRecord>, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM backups ORDER BY created_at, backup_id"))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
            r.get(10)?,
            r.get(11)?,
            r.get(12)?,
            r.get(13)?,
            r.get(14)?,
        ))
    })?;
    let mut backups = Vec::new();
    for row in rows {
        let (
            id,
            alias,
            ty,
            status,
            instance,
            kind,
            created,
            enabled,
            days,
            expires,
            cluster,
            primary,
            last,
            seq,
            drill,
        ): BackupRow = row?;
        backups.push(BackupRecord {
            backup_id: id,
            alias,
            backup_type: parse("backups.backup_type", ty)?,
            status: parse("backups.status", status)?,
            instance,
            instance_kind: parse("backups.instance_kind", kind)?,
            created_at: Timestamp(created),
            enabled_at: time(enabled),
            viewable_days: days,
            expires_at: time(expires),
            cluster,
            primary_member: primary,
            last_point_at: time(last),
            journal_seq: seq,
            last_drill: drill
                .map(|d| serde_json::from_str(&d))
                .transpose()
                .map_err(|_| StoreError::Corrupt { column: "backups.last_drill", value: "not a drill".into() })?,
        });
    }
    Ok(backups)
}

pub(super) fn load_backup_points(conn: &Connection) -> Result<Vec<BackupPointRecord>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT backup_id, seq, kind, at, journal_seq, sha256, bytes FROM backup_points ORDER BY backup_id, seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, i64>(6)?,
        ))
    })?;
    let mut points = Vec::new();
    for row in rows {
        let (backup_id, seq, kind, at, journal_seq, sha256, bytes) = row?;
        points.push(BackupPointRecord {
            backup_id,
            seq,
            kind: parse("backup_points.kind", kind)?,
            at: Timestamp(at),
            journal_seq,
            sha256,
            bytes: bytes as u64,
        });
    }
    Ok(points)
}
