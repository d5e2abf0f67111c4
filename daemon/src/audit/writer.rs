//! Appending records to the trail: one file a day, each line chained to
//! the one before ([`p11kms_proto::audit`]), the head kept in the store.
//!
//! One writer behind a mutex: records are numbered and chained in the
//! order they are written, so the lock covers numbering, encoding and the
//! append. A durable record is on disk (`fdatasync`) before `append`
//! returns, as the journal's changes are; the others (aggregated uses) are
//! made durable with the next durable record or the next flush.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use p11kms_proto::Timestamp;
use p11kms_proto::audit::{self, Event, Head, Record};

use super::AuditError;
use crate::store::Store;

/// The open trail.
#[derive(Debug)]
pub struct Writer {
    dir: PathBuf,
    retention_days: u32,
    head: Head,
    /// The day of the open file, and the file.
    open: Option<(String, File)>,
    /// Records appended since the last sync.
    unsynced: bool,
}

impl Writer {
    /// Opens the trail in `dir`, continuing from its last record, or from
    /// the store's head when the files end before it: a cut tail stays a
    /// gap that `audit verify` reports, never papered over.
    pub fn open(dir: &Path, store: &Store, retention_days: u32) -> Result<Self, AuditError> {
        let stored = store.audit_head()?.unwrap_or(Head::EMPTY);
        let last = last_record(dir)?;
        let head = match last {
            Some(last) if last.seq >= stored.seq => last,
            Some(last) => {
                tracing::error!(
                    last = last.seq,
                    head = stored.seq,
                    "the audit trail ends before the head the store recorded: its tail was cut; continuing from the head"
                );
                stored
            }
            None if stored.seq > 0 => {
                tracing::error!(head = stored.seq, "the audit trail's files are gone; continuing from the stored head");
                stored
            }
            None => Head::EMPTY,
        };
        Ok(Self { dir: dir.to_owned(), retention_days, head, open: None, unsynced: false })
    }

    /// The last record written.
    pub fn head(&self) -> Head {
        self.head
    }

    /// The trail's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `event`; with `durable`, syncs the file and records the
    /// head in the store before returning.
    pub fn append(&mut self, store: &Store, event: Event, durable: bool) -> Result<Head, AuditError> {
        let date = day(event.event_time);
        let record = Record { seq: self.head.seq + 1, prev_hash: self.head.hash, event };
        let (mut line, hash) = audit::encode_line(&record)?;
        line.push('\n');
        let file = self.file_for(&date)?;
        file.write_all(line.as_bytes())?;
        self.head = Head { seq: record.seq, hash };
        self.unsynced = true;
        if durable {
            self.sync(store)?;
        }
        Ok(self.head)
    }

    /// Makes every record appended so far durable, and the store's head
    /// with them.
    pub fn sync(&mut self, store: &Store) -> Result<(), AuditError> {
        if !self.unsynced {
            return Ok(());
        }
        if let Some((_, file)) = &self.open {
            file.sync_data()?;
        }
        store.set_audit_head(self.head)?;
        self.unsynced = false;
        Ok(())
    }

    /// The file of `date`, opened for appending (a new day closes the
    /// previous file and prunes what retention no longer keeps).
    fn file_for(&mut self, date: &str) -> Result<&mut File, AuditError> {
        let current = self.open.as_ref().is_some_and(|(open, _)| open == date);
        if !current {
            if let Some((_, previous)) = self.open.take() {
                previous.sync_data()?;
            }
            let path = self.dir.join(audit::file_name(date));
            let file = OpenOptions::new().append(true).create(true).mode(0o600).open(&path)?;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            self.open = Some((date.to_owned(), file));
            self.prune(date);
        }
        match &mut self.open {
            Some((_, file)) => Ok(file),
            None => Err(AuditError::Io(std::io::Error::other("no audit file open"))),
        }
    }

    /// Removes the files older than `retention_days` before `today`. The
    /// trail still verifies from the oldest file kept: each record
    /// repeats the hash it chains from.
    fn prune(&self, today: &str) {
        let Ok(files) = audit::files(&self.dir) else {
            return;
        };
        let Some(today) = parse_day(today) else {
            return;
        };
        let oldest_kept = today - i64::from(self.retention_days.saturating_sub(1)) * 86_400;
        for path in files {
            let name = path.file_stem().and_then(|s| s.to_str()).and_then(parse_day);
            if name.is_some_and(|day| day < oldest_kept) {
                match std::fs::remove_file(&path) {
                    Ok(()) => tracing::info!(file = %path.display(), "audit file past its retention removed"),
                    Err(error) => tracing::warn!(file = %path.display(), %error, "cannot remove an old audit file"),
                }
            }
        }
    }
}

/// `YYYY-MM-DD` of a time (UTC).
pub fn day(time: Timestamp) -> String {
    time.to_rfc3339().get(..10).unwrap_or("1970-01-01").to_owned()
}

/// The first second of a `YYYY-MM-DD` day.
fn parse_day(day: &str) -> Option<i64> {
    Timestamp::parse_rfc3339(&format!("{day}T00:00:00Z")).ok().map(Timestamp::unix)
}

/// The last record of the newest file, if it reads.
fn last_record(dir: &Path) -> Result<Option<Head>, AuditError> {
    let files = audit::files(dir)?;
    for path in files.iter().rev() {
        let mut last = None;
        for line in std::io::BufReader::new(File::open(path)?).lines() {
            if let Some(read) = audit::decode_line(&line?) {
                last = Some(Head { seq: read.record.seq, hash: read.claimed });
            }
        }
        if last.is_some() {
            return Ok(last);
        }
    }
    Ok(None)
}
