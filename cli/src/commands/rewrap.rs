//! `p11kms rewrap`: bulk re-encryption of stored ciphertext. Reads a file
//! of base64 blobs (one per line), re-encrypts them under the current
//! primary versions in batches over the admin API, and writes the results
//! in the same order, blank and failed lines kept as they were. The output
//! goes to a temporary file renamed at the end, so an interrupted run
//! never leaves a half-written file; a progress bar shows on a terminal.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use p11kms_proto::admin::{AdminReply, AdminRequest, BatchOutcome, ReEncryptRequest};
use p11kms_proto::blob::EncryptionContext;
use p11kms_proto::bytes::{from_base64, to_base64};

use super::args;
use crate::client::{self, ClientError};
use crate::output::{self, Fields, Format};

/// Keep a batch's blobs under this many bytes, well inside the body limit.
const MAX_BATCH_BYTES: usize = 3 * 1024 * 1024;

/// `p11kms rewrap`'s flags.
#[derive(Debug, Args)]
pub struct RewrapArgs {
    /// The file of base64 blobs, one per line.
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Where to write the results (may be the input: it is replaced at the end).
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
    /// Re-encrypt under this key's primary version instead of each blob's own key.
    #[arg(long, value_name = "KEY")]
    destination_key_id: Option<String>,
    /// The encryption context of every blob (kept for the new ones).
    #[arg(long, value_name = "JSON", value_parser = args::context)]
    encryption_context: Option<EncryptionContext>,
    /// Blobs per request, 1 to 1000.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    batch_size: u16,
}

/// Why a rewrap stopped before the end.
#[derive(Debug, thiserror::Error)]
pub enum RewrapError {
    /// The input or output file.
    #[error("{path}: {source}")]
    File {
        /// Which file.
        path: PathBuf,
        /// What happened.
        source: std::io::Error,
    },
    /// The daemon could not be asked.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The daemon answered something else than a batch.
    #[error("p11kmsd answered a re-encryption batch with another reply")]
    Reply,
    /// The summary could not be printed.
    #[error("cannot print the summary: {0}")]
    Json(#[from] serde_json::Error),
}

/// One line that could not be re-encrypted.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Failure {
    /// 1-based line number.
    pub line: usize,
    /// The error code.
    pub code: String,
    /// The message.
    pub message: String,
}

/// What a run did.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Summary {
    /// Blobs read (blank lines not counted).
    pub total: usize,
    /// Re-encrypted.
    pub rewrapped: usize,
    /// Already under the primary version.
    pub unchanged: usize,
    /// Could not be re-encrypted (line kept).
    pub failed: usize,
    /// Each failure.
    pub failures: Vec<Failure>,
}

fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> RewrapError + '_ {
    move |source| RewrapError::File { path: path.to_owned(), source }
}

/// Splits the blob lines into batches of at most `size` items and
/// `MAX_BATCH_BYTES` bytes; each item is (line index, blob).
fn batches(items: &[(usize, Vec<u8>)], size: usize) -> Vec<&[(usize, Vec<u8>)]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, (_, blob)) in items.iter().enumerate() {
        if i > start && (i - start == size || bytes + blob.len() > MAX_BATCH_BYTES) {
            out.push(&items[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += blob.len();
    }
    if start < items.len() {
        out.push(&items[start..]);
    }
    out
}

/// Runs a rewrap; returns the summary text and the exit status (1 when a
/// line failed).
pub fn run(socket: &Path, args: &RewrapArgs, format: Format) -> Result<(String, u8), RewrapError> {
    let text = std::fs::read_to_string(&args.input).map_err(file_error(&args.input))?;
    let mut lines: Vec<String> = text.lines().map(|l| l.trim().to_owned()).collect();
    let mut summary = Summary::default();
    let mut items = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        summary.total += 1;
        match from_base64(line) {
            Ok(blob) => items.push((index, blob)),
            Err(e) => {
                summary.failed += 1;
                summary.failures.push(Failure {
                    line: index + 1,
                    code: "InvalidParameter".into(),
                    message: format!("not base64: {e}"),
                });
            }
        }
    }
    let bar = ProgressBar::with_draw_target(Some(items.len() as u64), progress_target(format));
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} blobs {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let context = args.encryption_context.clone().unwrap_or_default();
    for batch in batches(&items, usize::from(args.batch_size)) {
        let request = AdminRequest::ReEncryptBatch(
            batch
                .iter()
                .map(|(_, blob)| ReEncryptRequest {
                    ciphertext_blob: blob.clone(),
                    destination_key: args.destination_key_id.clone(),
                    source_encryption_context: context.clone(),
                    destination_encryption_context: context.clone(),
                })
                .collect(),
        );
        let AdminReply::ReEncryptedBatch(outcomes) = client::call(socket, &request)? else {
            return Err(RewrapError::Reply);
        };
        if outcomes.len() != batch.len() {
            return Err(RewrapError::Reply);
        }
        for ((index, _), outcome) in batch.iter().zip(outcomes) {
            match outcome {
                BatchOutcome::Done(done) => {
                    lines[*index] = to_base64(&done.ciphertext_blob);
                    summary.rewrapped += 1;
                }
                BatchOutcome::Unchanged => summary.unchanged += 1,
                BatchOutcome::Failed(error) => {
                    summary.failed += 1;
                    summary.failures.push(Failure {
                        line: index + 1,
                        code: error.code.to_string(),
                        message: error.message,
                    });
                }
            }
        }
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    write_atomically(&args.output, &lines)?;
    let status = u8::from(summary.failed > 0);
    Ok((output::show(format, &summary, human)?, status))
}

fn progress_target(format: Format) -> ProgressDrawTarget {
    // indicatif draws nothing when stderr is not a terminal; JSON output
    // is for scripts, which get no bar either way.
    if format == Format::Json { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() }
}

/// Writes the lines to a temporary file beside `path`, then renames it.
fn write_atomically(path: &Path, lines: &[String]) -> Result<(), RewrapError> {
    let tmp = path.with_extension("rewrap-tmp");
    let mut file = std::fs::File::create(&tmp).map_err(file_error(&tmp))?;
    for line in lines {
        writeln!(file, "{line}").map_err(file_error(&tmp))?;
    }
    file.sync_all().map_err(file_error(&tmp))?;
    std::fs::rename(&tmp, path).map_err(file_error(path))
}

fn human(summary: &Summary) -> String {
    let mut text = Fields::new()
        .field("Total", summary.total)
        .field("Rewrapped", summary.rewrapped)
        .field("Unchanged", summary.unchanged)
        .field("Failed", summary.failed)
        .render();
    for failure in &summary.failures {
        text.push_str(&format!("line {}: {}: {}\n", failure.line, failure.code, failure.message));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_count_and_size() {
        let small: Vec<(usize, Vec<u8>)> = (0..5).map(|i| (i, vec![0; 10])).collect();
        let split: Vec<usize> = batches(&small, 2).iter().map(|b| b.len()).collect();
        assert_eq!(split, vec![2, 2, 1]);
        let big: Vec<(usize, Vec<u8>)> = (0..3).map(|i| (i, vec![0; 2 * 1024 * 1024])).collect();
        assert_eq!(batches(&big, 100).len(), 3, "a batch never exceeds the byte budget");
        assert!(batches(&[], 10).is_empty());
    }

    #[test]
    fn output_is_written_whole() {
        let dir = tempfile_dir();
        let path = dir.join("out.txt");
        write_atomically(&path, &["a".into(), String::new(), "b".into()]).expect("writes");
        assert_eq!(std::fs::read_to_string(&path).expect("reads"), "a\n\nb\n");
        assert!(!path.with_extension("rewrap-tmp").exists());
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("p11kms-rewrap-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }
}
