//! Rows of CMK migration tasks. Every write journals the change it makes,
//! in the same transaction.

use rusqlite::{Connection, params};

use p11kms_proto::Timestamp;

use super::records::MigrationTaskRecord;
use super::rows::{parse, time};
use super::{StoreError, Tx};

const COLUMNS: &str = "task_id, key_id, from_instance, to_instance, window_start, window_end, status, step, reason,
     created_at, started_at, finished_at";

impl Tx<'_> {
    /// Inserts or replaces a migration task.
    pub fn put_migration(&self, t: &MigrationTaskRecord) -> Result<(), StoreError> {
        self.tx.execute(
            &format!("INSERT OR REPLACE INTO key_migrations ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
            params![
                t.task_id,
                t.key_id,
                t.from_instance,
                t.to_instance,
                t.window_start.unix(),
                t.window_end.unix(),
                t.status.as_str(),
                t.step.map(|s| s.as_str()),
                t.reason,
                t.created_at.unix(),
                t.started_at.map(Timestamp::unix),
                t.finished_at.map(Timestamp::unix),
            ],
        )?;
        self.journal("key_migration", &t.task_id, "update", t)
    }
}

type Row =
    (String, String, String, String, i64, i64, String, Option<String>, Option<String>, i64, Option<i64>, Option<i64>);

pub(super) fn load_migrations(conn: &Connection) -> Result<Vec<MigrationTaskRecord>, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM key_migrations ORDER BY created_at, task_id"))?;
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
        ))
    })?;
    let mut tasks = Vec::new();
    for row in rows {
        let (task_id, key_id, from_instance, to_instance, start, end, status, step, reason, created, started, finished): Row =
            row?;
        tasks.push(MigrationTaskRecord {
            task_id,
            key_id,
            from_instance,
            to_instance,
            window_start: Timestamp(start),
            window_end: Timestamp(end),
            status: parse("key_migrations.status", status)?,
            step: step.map(|s| parse("key_migrations.step", s)).transpose()?,
            reason,
            created_at: Timestamp(created),
            started_at: time(started),
            finished_at: time(finished),
        });
    }
    Ok(tasks)
}
