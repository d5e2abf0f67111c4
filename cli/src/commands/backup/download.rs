//! `backup download BACKUP_ID --date D --output FILE`: what a backup holds
//! at the end of a day, as one encrypted file. The daemon makes it ready
//! (DownloadBackup, whose reply carries the decryption key, once); the
//! command fetches it chunk by chunk (FetchBackupChunk) on one
//! connection, writes it mode 0600 beside FILE and renames it over FILE
//! at the end (an existing FILE only with `--force`), and prints the key
//! with a warning to keep it: nothing else has it. `backup fetch-chunk`
//! fetches one chunk, for a client of its own.

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write as _};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use p11kms_proto::admin::backup_file::FileHeader;
use p11kms_proto::admin::{BackupChunk, BackupDownload, DownloadBackupRequest, FetchBackupChunkRequest, op};
use p11kms_proto::bytes::to_base64;

use super::super::{Invocation, Outcome, RenderError, RequestError, Run};
use super::show::date;
use crate::Failure;
use crate::client::Client;
use crate::output::{self, Fields, Format};

/// What is printed on stderr beside the key.
pub const KEEP_THE_KEY: &str = "Keep the DecryptionKey safe, now: it is shown this once. The daemon keeps no copy, and \
                                the file cannot be read or uploaded without it.";

/// `backup download BACKUP_ID --date YYYY-MM-DD --output FILE [--force]`.
#[derive(Debug, Args)]
pub struct DownloadBackupArgs {
    /// The backup's id (`backup-…`).
    #[arg(value_name = "BACKUP_ID")]
    backup_id: String,
    /// The day, `YYYY-MM-DD` (a viewable day): what the backup holds at its end.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date)]
    date: String,
    /// The file to write (mode 0600).
    #[arg(long, value_name = "FILE", required_unless_present = "no_fetch")]
    output: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long)]
    force: bool,
    /// Only make the file ready and print its DownloadId, ChunkCount and key: a client of its own fetches it
    /// (`backup fetch-chunk`) within 10 minutes.
    #[arg(long, conflicts_with_all = ["output", "force"])]
    no_fetch: bool,
}

/// A bar on stderr of `len` bytes, only for a human at a terminal.
pub fn progress_bar(len: u64, format: Format, what: &str) -> ProgressBar {
    let target = if format == Format::Human && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) =
        ProgressStyle::with_template(&format!("{what} {{bar:40}} {{bytes}}/{{total_bytes}}, {{eta}} left"))
    {
        bar.set_style(style);
    }
    bar
}

fn invalid(message: String) -> Failure {
    Failure::from(RequestError::Invalid(message))
}

/// The temporary file beside `output`.
fn temporary(output: &Path) -> PathBuf {
    let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    output.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

impl DownloadBackupArgs {
    fn refuse_existing(&self, output: &Path) -> Result<(), Failure> {
        if !self.force && output.exists() {
            return Err(invalid(format!("{} exists: give --force to replace it", output.display())));
        }
        Ok(())
    }

    /// Fetches every chunk into `path`.
    fn fetch(
        &self,
        client: &mut Client,
        ready: &BackupDownload,
        path: &Path,
        bar: &ProgressBar,
    ) -> Result<(), Failure> {
        let cannot = |e: std::io::Error| invalid(format!("cannot write {}: {e}", path.display()));
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(cannot)?;
        let mut written = 0u64;
        for index in 0..ready.chunk_count {
            let request = FetchBackupChunkRequest { download_id: ready.download_id.clone(), index };
            let chunk = client.call::<op::FetchBackupChunk>(&request)?;
            if index == 0 {
                FileHeader::decode(&chunk.bytes).map_err(|e| invalid(format!("the daemon sent {e}")))?;
            }
            file.write_all(&chunk.bytes).map_err(cannot)?;
            written += chunk.bytes.len() as u64;
            bar.inc(chunk.bytes.len() as u64);
        }
        if written != ready.size {
            return Err(invalid(format!("the daemon sent {written} bytes of {}", ready.size)));
        }
        file.sync_all().map_err(cannot)
    }

    fn download(&self, socket: &Path, format: Format) -> Outcome {
        if let Some(output) = &self.output {
            self.refuse_existing(output)?;
        }
        let mut client = Client::connect(socket)?;
        let request = DownloadBackupRequest { backup_id: self.backup_id.clone(), date: self.date.clone() };
        let ready = client.call::<op::DownloadBackup>(&request)?;
        let Some(output) = &self.output else {
            eprintln!("{KEEP_THE_KEY}");
            return Ok((output::show(format, &ready, ready_fields).map_err(RenderError::from)?, 0));
        };
        let bar = progress_bar(ready.size, format, "downloading");
        let partial = temporary(output);
        let fetched = self.fetch(&mut client, &ready, &partial, &bar).and_then(|()| {
            self.refuse_existing(output)?;
            std::fs::rename(&partial, output).map_err(|e| invalid(format!("cannot write {}: {e}", output.display())))
        });
        bar.finish_and_clear();
        if let Err(error) = fetched {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
        eprintln!("{KEEP_THE_KEY}");
        Ok((render(&ready, output, format)?, 0))
    }
}

/// What `backup download --no-fetch` prints: the download and its key.
fn ready_fields(ready: &BackupDownload) -> String {
    Fields::new()
        .field("DownloadId", &ready.download_id)
        .field("BackupId", &ready.backup_id)
        .field("Date", &ready.date)
        .field("Size", ready.size)
        .field("ChunkCount", ready.chunk_count)
        .field("KeyCount", ready.key_count)
        .field("SecretCount", ready.secret_count)
        .field("DecryptionKey", ready.decryption_key.expose())
        .render()
}

/// What `backup download` prints: the file and its key.
fn render(ready: &BackupDownload, path: &Path, format: Format) -> Result<String, RenderError> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Downloaded<'a> {
        backup_id: &'a str,
        date: &'a str,
        file: String,
        size: u64,
        key_count: u32,
        secret_count: u32,
        decryption_key: &'a str,
    }
    let shown = Downloaded {
        backup_id: &ready.backup_id,
        date: &ready.date,
        file: path.display().to_string(),
        size: ready.size,
        key_count: ready.key_count,
        secret_count: ready.secret_count,
        decryption_key: ready.decryption_key.expose(),
    };
    Ok(output::show(format, &shown, |d| {
        Fields::new()
            .field("BackupId", d.backup_id)
            .field("Date", d.date)
            .field("File", &d.file)
            .field("Size", d.size)
            .field("KeyCount", d.key_count)
            .field("SecretCount", d.secret_count)
            .field("DecryptionKey", d.decryption_key)
            .render()
    })?)
}

impl Run for DownloadBackupArgs {
    fn run(&self, socket: &Path, format: Format) -> Outcome {
        self.download(socket, format)
    }

    #[cfg(test)]
    fn leaves() -> Vec<super::super::Leaf> {
        vec![super::super::Leaf::of::<op::DownloadBackup>(
            <op::DownloadBackup as p11kms_proto::admin::Operation>::COMMAND,
        )]
    }

    #[cfg(test)]
    fn into_leaf(self) -> Box<dyn std::any::Any> {
        Box::new(self)
    }
}

/// `backup fetch-chunk DOWNLOAD_ID --index N`: one chunk, base64.
#[derive(Debug, Args)]
pub struct FetchBackupChunkArgs {
    /// The download's id (`download-…`), from DownloadBackup's reply.
    #[arg(value_name = "DOWNLOAD_ID")]
    download_id: String,
    /// The chunk, from 0.
    #[arg(long, value_name = "N")]
    index: u32,
}

impl Invocation for FetchBackupChunkArgs {
    type Op = op::FetchBackupChunk;

    fn request(&self) -> Result<FetchBackupChunkRequest, RequestError> {
        Ok(FetchBackupChunkRequest { download_id: self.download_id.clone(), index: self.index })
    }

    fn render(&self, chunk: &BackupChunk, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, chunk, |c| {
            Fields::new()
                .field("DownloadId", &c.download_id)
                .field("Index", c.index)
                .field("Last", c.last)
                .field("Size", c.bytes.len())
                .field("Bytes", to_base64(&c.bytes))
                .render()
        })?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

    use super::super::super::test_support::{human, parsed, refused, request};
    use super::*;

    #[test]
    fn download_and_fetch_chunk_parse() {
        let args: DownloadBackupArgs =
            parsed(&["backup", "download", "backup-1", "--date", "2026-12-05", "--output", "b.bk"]);
        assert_eq!((args.backup_id.as_str(), args.date.as_str(), args.force), ("backup-1", "2026-12-05", false));
        refused(&["backup", "download", "backup-1", "--date", "2026-12-05"]);
        let only: DownloadBackupArgs =
            parsed(&["backup", "download", "backup-1", "--date", "2026-12-05", "--no-fetch"]);
        assert!(only.no_fetch && only.output.is_none());
        refused(&["backup", "download", "backup-1", "--date", "2026-12-05", "--no-fetch", "--output", "b.bk"]);
        refused(&["backup", "download", "backup-1", "--date", "05/12/2026", "--output", "b.bk"]);
        assert_eq!(
            request::<FetchBackupChunkArgs>(&["backup", "fetch-chunk", "download-1", "--index", "2"]),
            FetchBackupChunkRequest { download_id: "download-1".into(), index: 2 }
        );
        let chunk = BackupChunk { download_id: "download-1".into(), index: 2, last: true, bytes: b"abc".to_vec() };
        let text = human::<FetchBackupChunkArgs>(&["backup", "fetch-chunk", "download-1", "--index", "2"], &chunk);
        assert!(text.contains("YWJj") && text.contains("Last:"), "{text}");
    }

    #[test]
    fn an_existing_file_is_kept_without_force() {
        let dir = super::super::super::test_support::temp_dir();
        let path = dir.path().join("b.bk");
        std::fs::write(&path, b"keep").expect("written");
        let args: DownloadBackupArgs =
            parsed(&["backup", "download", "backup-1", "--date", "2026-12-05", "--output", path.to_str().unwrap()]);
        let error = args.run(&dir.path().join("no.sock"), Format::Human).expect_err("refused");
        assert!(error.to_string().contains("--force"), "{error}");
        assert_eq!(std::fs::read(&path).expect("read"), b"keep");
    }
}
