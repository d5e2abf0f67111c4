//! `p11kms rewrap`: bulk re-encryption of stored ciphertext. Reads a file
//! of base64 blobs (one per line), re-encrypts them under the current
//! primary versions with `ReEncryptBatch` requests over one admin
//! connection, and writes the results in input order: a re-encrypted blob
//! replaces its line; a blank line stays blank; an unchanged or failed line
//! stays as it was (trimmed), and each failure is listed in the summary.
//!
//! Batches hold at most `--batch-size` blobs and stay under
//! [`MAX_BATCH_BYTES`] encoded, inside the daemon's default body limit; a
//! daemon configured with a smaller limit refuses a batch as too long, and
//! the batch is then halved and sent again.
//!
//! The output is written to a temporary file beside it and renamed over it
//! at the end, so an interrupted or failed run never leaves a half-written
//! file, and the input is only ever replaced when it is the output. If the
//! daemon stops answering, the run stops and writes nothing
//! (`output_file`).

mod output_file;
#[cfg(test)]
mod tests;

use std::io::IsTerminal;
use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{BatchOutcome, ReEncryptRequest, op};
use p11kms_proto::blob::EncryptionContext;
use p11kms_proto::bytes::{from_base64, to_base64};
use p11kms_proto::error::ProtocolErrorKind;

use super::{Outcome, Run, values};
use crate::Failure;
use crate::client::{Client, ClientError};
use crate::output::{self, Fields, Format};
use output_file::Output;

/// The most bytes of encoded items one batch carries: well inside the
/// daemon's default body limit of 4 MiB, with room for the answer's
/// longer items.
pub const MAX_BATCH_BYTES: usize = 3 * 1024 * 1024;

/// The most items one batch carries (the daemon's limit).
const MAX_BATCH_ITEMS: u16 = 1000;

/// `p11kms rewrap`'s flags: the command of `ReEncryptBatch`, which it
/// calls once per batch.
#[derive(Debug, Args)]
pub struct RewrapArgs {
    /// The file of base64 blobs, one per line (blank lines are kept).
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Where to write the results; may be the input, which is then replaced at the end.
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
    /// Re-encrypt under this key's primary version instead of each blob's own key's.
    #[arg(long, value_name = "KEY")]
    destination_key_id: Option<String>,
    /// The encryption context of every blob, bound to the new blobs too (a JSON object of strings).
    #[arg(long, value_name = "JSON", value_parser = values::context)]
    encryption_context: Option<EncryptionContext>,
    /// Blobs per request, 1 to 1000.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100,
        value_parser = clap::value_parser!(u16).range(1..=i64::from(MAX_BATCH_ITEMS))
    )]
    batch_size: u16,
}

/// Why a rewrap stopped before writing its output.
#[derive(Debug, thiserror::Error)]
pub enum RewrapError {
    /// The input could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Input {
        /// The input file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The output could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Output {
        /// The file (the output or its temporary file).
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The daemon could not be asked, refused a batch as a whole, or
    /// answered something else than outcomes. An API error prints its
    /// code first, like any other command's.
    #[error("{source} (rewrap stopped after {done} of {total} blobs; {} was not written)", output.display())]
    Stopped {
        /// What went wrong.
        source: ClientError,
        /// Blobs with an outcome when it stopped.
        done: usize,
        /// Blobs to send in all.
        total: usize,
        /// The output file, left as it was.
        output: PathBuf,
    },
    /// The summary could not be printed.
    #[error("cannot print the summary: {0}")]
    Json(#[from] serde_json::Error),
}

/// One line that could not be re-encrypted.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LineFailure {
    /// 1-based line number in the input.
    pub line: usize,
    /// The error code, as the API writes it.
    pub code: String,
    /// What went wrong.
    pub message: String,
}

/// What a run did: `{"Total", "Rewrapped", "Unchanged", "Failed",
/// "Failures": [{"Line", "Code", "Message"}]}` in JSON.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Summary {
    /// Non-blank lines read.
    pub total: usize,
    /// Re-encrypted.
    pub rewrapped: usize,
    /// Already under the destination's primary version.
    pub unchanged: usize,
    /// Not re-encrypted (the line is kept).
    pub failed: usize,
    /// Each failure, in line order.
    pub failures: Vec<LineFailure>,
}

impl Summary {
    fn fail(&mut self, index: usize, code: impl ToString, message: String) {
        self.failed += 1;
        self.failures.push(LineFailure { line: index + 1, code: code.to_string(), message });
    }
}

/// One blob to re-encrypt: its line (0-based) and its request.
#[derive(Debug)]
struct Item {
    line: usize,
    request: ReEncryptRequest,
}

impl Run for RewrapArgs {
    fn run(&self, socket: &Path, format: Format) -> Outcome {
        run(socket, self, format).map_err(Failure::from)
    }

    #[cfg(test)]
    fn leaves() -> Vec<super::Leaf> {
        vec![super::Leaf::of::<op::ReEncryptBatch>(<op::ReEncryptBatch as p11kms_proto::admin::Operation>::COMMAND)]
    }

    #[cfg(test)]
    fn into_leaf(self) -> Box<dyn std::any::Any> {
        Box::new(self)
    }
}

/// Runs a rewrap; returns the summary text and the exit status (1 when a
/// line failed).
pub fn run(socket: &Path, args: &RewrapArgs, format: Format) -> Result<(String, u8), RewrapError> {
    rewrap(socket, args, format, MAX_BATCH_BYTES)
}

/// [`run`] with a byte budget per batch of its own (for tests).
fn rewrap(socket: &Path, args: &RewrapArgs, format: Format, budget: usize) -> Result<(String, u8), RewrapError> {
    let text = std::fs::read_to_string(&args.input)
        .map_err(|source| RewrapError::Input { path: args.input.clone(), source })?;
    let output = Output::prepare(&args.output, &args.input)?;
    let mut lines: Vec<String> = text.lines().map(|line| line.trim().to_owned()).collect();
    drop(text);
    let context = args.encryption_context.clone().unwrap_or_default();
    let mut summary = Summary::default();
    let mut items = Vec::new();
    for (line, blob) in lines.iter().enumerate().filter(|(_, blob)| !blob.is_empty()) {
        summary.total += 1;
        match from_base64(blob) {
            Ok(ciphertext_blob) => items.push(Item {
                line,
                request: ReEncryptRequest {
                    ciphertext_blob,
                    destination_key: args.destination_key_id.clone(),
                    source_encryption_context: context.clone(),
                    destination_encryption_context: context.clone(),
                },
            }),
            Err(error) => summary.fail(line, ErrorCode::InvalidParameter, format!("not base64: {error}")),
        }
    }

    let bar = progress_bar(items.len(), format);
    let sizes = encoded_sizes(&items).map_err(|source| stopped(source, 0, items.len(), &args.output))?;
    let mut connection = Connection { socket, client: None };
    let mut done = 0;
    for range in plan(&sizes, usize::from(args.batch_size), budget) {
        let batch = &items[range];
        let outcomes = connection.send(batch).map_err(|source| stopped(source, done, items.len(), &args.output))?;
        for (item, outcome) in batch.iter().zip(outcomes) {
            match outcome {
                BatchOutcome::Done(reencrypted) => {
                    if let Some(line) = lines.get_mut(item.line) {
                        *line = to_base64(&reencrypted.ciphertext_blob);
                    }
                    summary.rewrapped += 1;
                }
                BatchOutcome::Unchanged => summary.unchanged += 1,
                BatchOutcome::Failed(error) => summary.fail(item.line, error.code, error.message),
            }
        }
        done += batch.len();
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    drop(connection);

    output.commit(&lines)?;
    summary.failures.sort_by_key(|failure| failure.line);
    let status = u8::from(summary.failed > 0);
    Ok((output::show(format, &summary, human)?, status))
}

fn stopped(source: ClientError, done: usize, total: usize, output: &Path) -> RewrapError {
    RewrapError::Stopped { source, done, total, output: output.to_owned() }
}

/// A bar on stderr, only for a human at a terminal.
fn progress_bar(len: usize, format: Format) -> ProgressBar {
    let target = if format == Format::Human && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len as u64), target);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} blobs, {eta} left") {
        bar.set_style(style);
    }
    bar
}

/// Each item's size in an encoded batch: its request's postcard encoding
/// (measured once without its blob) plus its blob and the blob's length
/// prefix.
fn encoded_sizes(items: &[Item]) -> Result<Vec<usize>, ClientError> {
    let Some(first) = items.first() else { return Ok(Vec::new()) };
    let template = ReEncryptRequest { ciphertext_blob: Vec::new(), ..first.request.clone() };
    let overhead = p11kms_proto::encode_body(&template).map_err(ClientError::Encode)?.len() + 4;
    Ok(items.iter().map(|item| overhead + item.request.ciphertext_blob.len()).collect())
}

/// Splits items of these sizes into consecutive batches of at most
/// `count` items and `budget` bytes (an item over the budget goes alone).
fn plan(sizes: &[usize], count: usize, budget: usize) -> Vec<Range<usize>> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, size) in sizes.iter().enumerate() {
        if i > start && (i - start == count || bytes + size > budget) {
            batches.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < sizes.len() {
        batches.push(start..sizes.len());
    }
    batches
}

/// The admin connection of a run, opened at the first batch and opened
/// again after the daemon closed it to refuse a batch as too long.
struct Connection<'a> {
    socket: &'a Path,
    client: Option<Client>,
}

impl Connection<'_> {
    /// Sends a batch and returns one outcome per item. A batch the daemon
    /// refuses as too long is halved and sent again.
    fn send(&mut self, batch: &[Item]) -> Result<Vec<BatchOutcome>, ClientError> {
        let requests: Vec<ReEncryptRequest> = batch.iter().map(|item| item.request.clone()).collect();
        let client = match &mut self.client {
            Some(client) => client,
            None => self.client.insert(Client::connect(self.socket)?),
        };
        match client.call::<op::ReEncryptBatch>(&requests) {
            Ok(outcomes) if outcomes.len() == batch.len() => Ok(outcomes),
            Ok(outcomes) => Err(ClientError::WrongOutcomeCount { sent: batch.len(), got: outcomes.len() }),
            Err(ClientError::Refused { kind: ProtocolErrorKind::BodyTooLong, .. }) if batch.len() > 1 => {
                self.client = None;
                let (first, second) = batch.split_at(batch.len() / 2);
                let mut outcomes = self.send(first)?;
                outcomes.extend(self.send(second)?);
                Ok(outcomes)
            }
            Err(error) => Err(error),
        }
    }
}

fn human(summary: &Summary) -> String {
    let mut text = Fields::new()
        .field("Total", summary.total)
        .field("Rewrapped", summary.rewrapped)
        .field("Unchanged", summary.unchanged)
        .field("Failed", summary.failed)
        .render();
    if !summary.failures.is_empty() {
        let mut table = output::Table::new(&["LINE", "CODE", "MESSAGE"]);
        for failure in &summary.failures {
            table.row(vec![failure.line.to_string(), failure.code.clone(), failure.message.clone()]);
        }
        text.push('\n');
        text.push_str(&table.render());
    }
    text
}
