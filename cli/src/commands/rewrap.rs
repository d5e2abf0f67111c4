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
//! daemon stops answering, the run stops and writes nothing.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{BufWriter, IsTerminal, Write};
use std::ops::Range;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{AdminReply, AdminRequest, BatchOutcome, ReEncryptRequest};
use p11kms_proto::blob::EncryptionContext;
use p11kms_proto::bytes::{from_base64, to_base64};
use p11kms_proto::error::ProtocolErrorKind;

use super::args;
use crate::client::{Client, ClientError};
use crate::output::{self, Fields, Format};

/// The most bytes of encoded items one batch carries: well inside the
/// daemon's default body limit of 4 MiB, with room for the answer's
/// longer items.
pub const MAX_BATCH_BYTES: usize = 3 * 1024 * 1024;

/// The most items one batch carries (the daemon's limit).
const MAX_BATCH_ITEMS: u16 = 1000;

/// `p11kms rewrap`'s flags.
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
    #[arg(long, value_name = "JSON", value_parser = args::context)]
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
        let request = AdminRequest::ReEncryptBatch(batch.iter().map(|item| item.request.clone()).collect());
        let client = match &mut self.client {
            Some(client) => client,
            None => self.client.insert(Client::connect(self.socket)?),
        };
        match client.call(&request) {
            Ok(AdminReply::ReEncryptedBatch(outcomes)) if outcomes.len() == batch.len() => Ok(outcomes),
            Ok(AdminReply::ReEncryptedBatch(outcomes)) => {
                Err(ClientError::WrongOutcomeCount { sent: batch.len(), got: outcomes.len() })
            }
            Ok(other) => Err(super::unexpected_reply("rewrap", &other)),
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

/// The output file: written to a temporary file beside it, then renamed
/// over it.
#[derive(Debug)]
struct Output {
    path: PathBuf,
    tmp: PathBuf,
    permissions: Option<Permissions>,
}

impl Output {
    /// Picks the temporary file and checks, before any work, that it can
    /// be made. The result gets the permissions of the file it replaces,
    /// else those of the input.
    fn prepare(path: &Path, input: &Path) -> Result<Self, RewrapError> {
        let error = |source| RewrapError::Output { path: path.to_owned(), source };
        let name = path.file_name().ok_or_else(|| {
            error(std::io::Error::new(std::io::ErrorKind::InvalidInput, "the output is not a file name"))
        })?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".rewrap-{}.tmp", std::process::id()));
        let permissions =
            std::fs::metadata(path).or_else(|_| std::fs::metadata(input)).ok().map(|meta| meta.permissions());
        let output = Self { path: path.to_owned(), tmp: dir.join(tmp_name), permissions };
        drop(output.create()?);
        Ok(output)
    }

    /// Creates the temporary file, new (never through an existing file or
    /// link) and readable by its owner only until it is complete. One left
    /// by a killed run of the same process id is removed first: its name
    /// is this process's, so nothing else uses it.
    fn create(&self) -> Result<TempFile, RewrapError> {
        let open = || OpenOptions::new().write(true).create_new(true).mode(0o600).open(&self.tmp);
        let file = match open() {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::remove_file(&self.tmp).and_then(|()| open())
            }
            other => other,
        }
        .map_err(|source| RewrapError::Output { path: self.tmp.clone(), source })?;
        Ok(TempFile { path: self.tmp.clone(), file: Some(file) })
    }

    /// Writes the lines, each ending with a newline, and puts the file in
    /// place.
    fn commit(self, lines: &[String]) -> Result<(), RewrapError> {
        let mut tmp = self.create()?;
        let error = |source| RewrapError::Output { path: self.tmp.clone(), source };
        let file = tmp.file.take().ok_or_else(|| error(std::io::ErrorKind::NotFound.into()))?;
        let mut writer = BufWriter::new(file);
        for line in lines {
            writer.write_all(line.as_bytes()).and_then(|()| writer.write_all(b"\n")).map_err(error)?;
        }
        let file = writer.into_inner().map_err(|e| error(e.into_error()))?;
        if let Some(permissions) = &self.permissions {
            file.set_permissions(permissions.clone()).map_err(error)?;
        }
        file.sync_all().map_err(error)?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path)
            .map_err(|source| RewrapError::Output { path: self.path.clone(), source })?;
        tmp.path = PathBuf::new();
        // The rename is durable once the directory is; a failure here
        // leaves the (complete) output in place.
        if let Some(dir) = self.path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            let _ = File::open(dir).and_then(|dir| dir.sync_all());
        }
        Ok(())
    }
}

/// A temporary file removed when dropped, unless it was renamed (its path
/// emptied).
#[derive(Debug)]
struct TempFile {
    path: PathBuf,
    file: Option<File>,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        drop(self.file.take());
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use p11kms_proto::admin::{AdminResult, ReEncrypted};
    use p11kms_proto::{ApiError, MAX_BODY_LEN};

    use super::super::test_support::{TempDir, command, refused};
    use super::*;
    use crate::client::test_server::{Seen, Server};
    use crate::commands::Command;

    fn args(list: &[&str]) -> RewrapArgs {
        match command(list) {
            Command::Rewrap(args) => args,
            other => panic!("{other:?}"),
        }
    }

    /// A daemon stand-in's answer to a batch: a blob starting with `U` is
    /// unchanged, with `F` fails, any other is re-encrypted as `new:` and
    /// the blob.
    fn answer(request: AdminRequest) -> AdminResult {
        let AdminRequest::ReEncryptBatch(items) = request else { panic!("not a batch: {request:?}") };
        Ok(AdminReply::ReEncryptedBatch(
            items
                .iter()
                .map(|item| match item.ciphertext_blob.first() {
                    Some(b'U') => BatchOutcome::Unchanged,
                    Some(b'F') => BatchOutcome::Failed(ApiError::new(ErrorCode::InvalidCiphertext, "bad tag")),
                    _ => BatchOutcome::Done(ReEncrypted {
                        source_key_id: "k".into(),
                        source_key_version_id: "v1".into(),
                        key_id: "k".into(),
                        key_version_id: "v2".into(),
                        ciphertext_blob: [b"new:".as_slice(), &item.ciphertext_blob].concat(),
                    }),
                })
                .collect(),
        ))
    }

    fn b64(text: &str) -> String {
        to_base64(text.as_bytes())
    }

    /// The items of each batch the server saw (`None` for a refused frame).
    fn batches_seen(seen: &[Seen]) -> Vec<Option<Vec<Vec<u8>>>> {
        seen.iter()
            .map(|s| match &s.request {
                Some(AdminRequest::ReEncryptBatch(items)) => {
                    Some(items.iter().map(|item| item.ciphertext_blob.clone()).collect())
                }
                Some(other) => panic!("not a batch: {other:?}"),
                None => None,
            })
            .collect()
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("lists")
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn lines_keep_their_order_blank_unchanged_and_failed_lines_stay() {
        let dir = TempDir::new();
        let (input, output) = (dir.path().join("blobs.txt"), dir.path().join("out.txt"));
        let lines =
            [b64("A1"), String::new(), format!("  {}\t", b64("U2")), b64("F3"), "not base64!".into(), b64("B4")];
        std::fs::write(&input, lines.join("\n") + "\n").expect("input");
        let server = Server::start(MAX_BODY_LEN, answer);
        let args = args(&[
            "rewrap",
            "--input",
            input.to_str().expect("utf-8"),
            "--output",
            output.to_str().expect("utf-8"),
            "--destination-key-id",
            "alias/new",
            "--encryption-context",
            r#"{"shop":"eu"}"#,
            "--batch-size",
            "2",
        ]);
        let (text, status) = run(server.path(), &args, Format::Json).expect("runs");
        let seen = server.finish();

        assert_eq!(status, 1, "a line failed");
        assert_eq!(
            std::fs::read_to_string(&output).expect("output"),
            [b64("new:A1"), String::new(), b64("U2"), b64("F3"), "not base64!".into(), b64("new:B4")].join("\n") + "\n"
        );
        let summary: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(summary["Total"], 5);
        assert_eq!(summary["Rewrapped"], 2);
        assert_eq!(summary["Unchanged"], 1);
        assert_eq!(summary["Failed"], 2);
        assert_eq!(
            summary["Failures"],
            serde_json::json!([
                {"Line": 4, "Code": "Rejected.InvalidCiphertext", "Message": "bad tag"},
                {"Line": 5, "Code": "InvalidParameter", "Message": summary["Failures"][1]["Message"]},
            ])
        );
        assert!(summary["Failures"][1]["Message"].as_str().expect("message").starts_with("not base64"));

        let sent: Vec<Vec<u8>> = batches_seen(&seen).into_iter().flatten().flatten().collect();
        assert_eq!(
            sent,
            [b"A1".to_vec(), b"U2".to_vec(), b"F3".to_vec(), b"B4".to_vec()],
            "in order, bad base64 not sent"
        );
        assert_eq!(
            seen.iter().map(|s| (s.connection, s.request_id)).collect::<Vec<_>>(),
            [(0, 1), (0, 2)],
            "one connection"
        );
        let Some(AdminRequest::ReEncryptBatch(items)) = &seen[0].request else { panic!("a batch") };
        let context: EncryptionContext = [("shop".to_owned(), "eu".to_owned())].into();
        for item in items {
            assert_eq!(item.destination_key.as_deref(), Some("alias/new"));
            assert_eq!((&item.source_encryption_context, &item.destination_encryption_context), (&context, &context));
        }
        assert_eq!(names_in(dir.path()), ["blobs.txt", "out.txt"], "no temporary file left");
    }

    #[test]
    fn batches_are_split_by_count_and_by_bytes() {
        assert_eq!(plan(&[10; 5], 2, 1000), [0..2, 2..4, 4..5]);
        assert_eq!(plan(&[10, 10, 10, 10], 100, 25), [0..2, 2..4], "the byte budget splits first");
        assert_eq!(plan(&[10, 50, 10], 100, 25), [0..1, 1..2, 2..3], "an item over the budget goes alone");
        assert!(plan(&[], 10, 10).is_empty());

        let dir = TempDir::new();
        let (input, output) = (dir.path().join("in"), dir.path().join("out"));
        let blobs: Vec<String> = (0..7).map(|i| b64(&format!("{i}{}", "x".repeat(99)))).collect();
        std::fs::write(&input, blobs.join("\n")).expect("input");
        let server = Server::start(MAX_BODY_LEN, answer);
        let args = args(&["rewrap", "--input", input.to_str().expect("p"), "--output", output.to_str().expect("p")]);
        let budget = 350;
        let (_, status) = rewrap(server.path(), &args, Format::Json, budget).expect("runs");
        let seen = server.finish();
        assert_eq!(status, 0);
        let sizes: Vec<usize> = batches_seen(&seen).iter().map(|b| b.as_ref().map_or(0, Vec::len)).collect();
        assert_eq!(sizes, [3, 3, 1], "at most 3 items of 100-odd bytes fit in 350");
        for frame in &seen {
            assert!(frame.body_len as usize <= budget + 8, "{} bytes over a budget of {budget}", frame.body_len);
        }
        let written = std::fs::read_to_string(&output).expect("output");
        let expected: Vec<String> = (0..7).map(|i| b64(&format!("new:{i}{}", "x".repeat(99)))).collect();
        assert_eq!(written, expected.join("\n") + "\n", "in input order, with a final newline");
    }

    #[test]
    fn a_batch_refused_as_too_long_is_halved_and_sent_again() {
        let dir = TempDir::new();
        let (input, output) = (dir.path().join("in"), dir.path().join("out"));
        let blobs: Vec<String> = (0..4).map(|i| b64(&format!("{i}{}", "y".repeat(199)))).collect();
        std::fs::write(&input, blobs.join("\n") + "\n").expect("input");
        // Room for two items of 200-odd bytes, not four.
        let server = Server::start(600, answer);
        let args = args(&["rewrap", "--input", input.to_str().expect("p"), "--output", output.to_str().expect("p")]);
        let (text, status) = run(server.path(), &args, Format::Json).expect("runs");
        let seen = server.finish();
        assert_eq!(status, 0, "{text}");
        let shape: Vec<(usize, Option<usize>)> =
            seen.iter().zip(batches_seen(&seen)).map(|(s, b)| (s.connection, b.map(|b| b.len()))).collect();
        assert_eq!(shape, [(0, None), (1, Some(2)), (1, Some(2))], "refused, then two halves on a new connection");
        let expected: Vec<String> = (0..4).map(|i| b64(&format!("new:{i}{}", "y".repeat(199)))).collect();
        assert_eq!(std::fs::read_to_string(&output).expect("output"), expected.join("\n") + "\n");
    }

    #[test]
    fn a_run_that_stops_leaves_the_output_as_it_was() {
        let dir = TempDir::new();
        let (input, output) = (dir.path().join("in"), dir.path().join("out"));
        std::fs::write(&input, [b64("A"), b64("B"), b64("C")].join("\n")).expect("input");
        std::fs::write(&output, "previous\n").expect("output");
        let mut batches = 0;
        let server = Server::start(MAX_BODY_LEN, move |request| {
            batches += 1;
            if batches == 1 { answer(request) } else { Err(ApiError::new(ErrorCode::ServiceUnavailable, "no member")) }
        });
        let args = args(&[
            "rewrap",
            "--input",
            input.to_str().expect("p"),
            "--output",
            output.to_str().expect("p"),
            "--batch-size",
            "2",
        ]);
        let err = run(server.path(), &args, Format::Human).expect_err("stops");
        server.finish();
        assert!(matches!(&err, RewrapError::Stopped { source: ClientError::Api(_), done: 2, total: 3, .. }), "{err:?}");
        assert!(
            err.to_string().starts_with("ServiceUnavailableTemporary: no member (rewrap stopped after 2 of 3 blobs; ")
        );
        assert!(err.to_string().ends_with("out was not written)"), "{err}");
        assert_eq!(std::fs::read_to_string(&output).expect("output"), "previous\n", "untouched");
        assert_eq!(names_in(dir.path()), ["in", "out"], "no temporary file left");
    }

    #[test]
    fn the_input_is_replaced_only_when_it_is_the_output_and_keeps_its_mode() {
        let dir = TempDir::new();
        let input = dir.path().join("blobs.txt");
        std::fs::write(&input, format!("{}\n\n{}\n", b64("A"), b64("U"))).expect("input");
        std::fs::set_permissions(&input, Permissions::from_mode(0o640)).expect("chmod");
        let server = Server::start(MAX_BODY_LEN, answer);
        let path = input.to_str().expect("p");
        let (text, status) =
            run(server.path(), &args(&["rewrap", "--input", path, "--output", path]), Format::Human).expect("runs");
        server.finish();
        assert_eq!(status, 0);
        assert_eq!(text, "Total:     2\nRewrapped: 1\nUnchanged: 1\nFailed:    0\n");
        assert_eq!(std::fs::read_to_string(&input).expect("replaced"), format!("{}\n\n{}\n", b64("new:A"), b64("U")));
        assert_eq!(std::fs::metadata(&input).expect("meta").permissions().mode() & 0o777, 0o640);
        assert_eq!(names_in(dir.path()), ["blobs.txt"]);
    }

    #[test]
    fn an_output_that_cannot_be_written_stops_the_run_before_any_request() {
        let dir = TempDir::new();
        let input = dir.path().join("in");
        std::fs::write(&input, b64("A")).expect("input");
        let output = dir.path().join("missing-dir").join("out");
        let server = Server::start(MAX_BODY_LEN, answer);
        let err = run(
            server.path(),
            &args(&["rewrap", "--input", input.to_str().expect("p"), "--output", output.to_str().expect("p")]),
            Format::Human,
        )
        .expect_err("no such directory");
        assert!(matches!(err, RewrapError::Output { .. }), "{err:?}");
        assert!(server.finish().is_empty(), "nothing was sent");

        let err = run(
            Path::new("/nonexistent.sock"),
            &args(&["rewrap", "--input", "/nonexistent/in", "--output", output.to_str().expect("p")]),
            Format::Human,
        )
        .expect_err("no input");
        assert!(err.to_string().starts_with("cannot read /nonexistent/in: "), "{err}");
    }

    #[test]
    fn a_file_of_blank_lines_needs_no_daemon() {
        let dir = TempDir::new();
        let (input, output) = (dir.path().join("in"), dir.path().join("out"));
        std::fs::write(&input, "\n  \n\n").expect("input");
        let args = args(&["rewrap", "--input", input.to_str().expect("p"), "--output", output.to_str().expect("p")]);
        let (text, status) = run(Path::new("/nonexistent.sock"), &args, Format::Json).expect("runs");
        assert_eq!(status, 0);
        assert_eq!(std::fs::read_to_string(&output).expect("output"), "\n\n\n");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).expect("json"),
            serde_json::json!({"Total": 0, "Rewrapped": 0, "Unchanged": 0, "Failed": 0, "Failures": []})
        );
    }

    #[test]
    fn a_wrong_number_of_outcomes_stops_the_run() {
        let dir = TempDir::new();
        let (input, output) = (dir.path().join("in"), dir.path().join("out"));
        std::fs::write(&input, [b64("A"), b64("B")].join("\n")).expect("input");
        let server = Server::start(MAX_BODY_LEN, |_| Ok(AdminReply::ReEncryptedBatch(vec![BatchOutcome::Unchanged])));
        let args = args(&["rewrap", "--input", input.to_str().expect("p"), "--output", output.to_str().expect("p")]);
        let err = run(server.path(), &args, Format::Json).expect_err("one outcome for two blobs");
        server.finish();
        assert!(matches!(err, RewrapError::Stopped { source: ClientError::WrongOutcomeCount { sent: 2, got: 1 }, .. }));
        assert!(!output.exists());
    }

    #[test]
    fn failures_are_listed_for_humans() {
        let summary = Summary {
            total: 3,
            rewrapped: 1,
            unchanged: 0,
            failed: 2,
            failures: vec![
                LineFailure { line: 2, code: "Rejected.InvalidCiphertext".into(), message: "bad tag".into() },
                LineFailure { line: 10, code: "Forbidden.KeyNotFound".into(), message: "key 'k' is gone".into() },
            ],
        };
        assert_eq!(
            human(&summary),
            "Total:     3\nRewrapped: 1\nUnchanged: 0\nFailed:    2\n\n\
             LINE  CODE                        MESSAGE\n\
             2     Rejected.InvalidCiphertext  bad tag\n\
             10    Forbidden.KeyNotFound       key 'k' is gone\n"
        );
    }

    #[test]
    fn flags_parse_and_bad_values_are_refused() {
        let parsed = args(&["rewrap", "--input", "a", "--output", "b"]);
        assert_eq!((parsed.batch_size, parsed.destination_key_id, parsed.encryption_context), (100, None, None));
        assert_eq!(args(&["rewrap", "--input", "a", "--output", "b", "--batch-size", "1000"]).batch_size, 1000);
        for bad in ["0", "1001", "-1", "many"] {
            refused(&["rewrap", "--input", "a", "--output", "b", "--batch-size", bad]);
        }
        let err = refused(&["rewrap", "--input", "a", "--output", "b", "--encryption-context", r#"{"a":[]}"#]);
        assert!(err.to_string().contains("a JSON object of strings"), "{err}");
        refused(&["rewrap", "--input", "a"]);
        refused(&["rewrap", "--output", "b"]);
        assert!(command(&["rewrap", "--input", "a", "--output", "b"]).request().is_err(), "not a single request");
    }
}
