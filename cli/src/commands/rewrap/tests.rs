//! Tests of `rewrap` against a stand-in daemon: line order and what stays,
//! batching by count and bytes, halving a batch refused as too long, and
//! the output file when a run stops.

use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;

use p11kms_proto::admin::{Operation, ReEncrypted};
use p11kms_proto::{ApiError, MAX_BODY_LEN};

use super::super::test_support::{parsed, refused, temp_dir};
use super::*;
use crate::client::test_server::{Call, Seen, Server, answer as answer_body};

fn args(list: &[&str]) -> RewrapArgs {
    parsed::<RewrapArgs>(list)
}

/// A daemon stand-in's answer to a batch: a blob starting with `U` is
/// unchanged, with `F` fails, any other is re-encrypted as `new:` and the
/// blob.
fn answer(call: &Call) -> Vec<u8> {
    let items = call.request::<op::ReEncryptBatch>();
    answer_body::<op::ReEncryptBatch>(Ok(items
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
        .collect()))
}

fn b64(text: &str) -> String {
    to_base64(text.as_bytes())
}

/// The items of each batch the server saw (`None` for a refused frame).
fn batches_seen(seen: &[Seen]) -> Vec<Option<Vec<Vec<u8>>>> {
    seen.iter()
        .map(|s| {
            s.request
                .as_ref()
                .map(|call| call.request::<op::ReEncryptBatch>().into_iter().map(|item| item.ciphertext_blob).collect())
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
    let dir = temp_dir();
    let (input, output) = (dir.path().join("blobs.txt"), dir.path().join("out.txt"));
    let lines = [b64("A1"), String::new(), format!("  {}\t", b64("U2")), b64("F3"), "not base64!".into(), b64("B4")];
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
    assert_eq!(sent, [b"A1".to_vec(), b"U2".to_vec(), b"F3".to_vec(), b"B4".to_vec()], "in order, bad base64 not sent");
    assert_eq!(
        seen.iter().map(|s| (s.connection, s.request_id)).collect::<Vec<_>>(),
        [(0, 1), (0, 2)],
        "one connection"
    );
    let items = seen[0].request.as_ref().expect("a batch").request::<op::ReEncryptBatch>();
    let context: EncryptionContext = [("shop".to_owned(), "eu".to_owned())].into();
    for item in &items {
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

    let dir = temp_dir();
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
    let dir = temp_dir();
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
    let dir = temp_dir();
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::write(&input, [b64("A"), b64("B"), b64("C")].join("\n")).expect("input");
    std::fs::write(&output, "previous\n").expect("output");
    let mut batches = 0;
    let server = Server::start(MAX_BODY_LEN, move |call| {
        batches += 1;
        if batches == 1 {
            answer(call)
        } else {
            answer_body::<op::ReEncryptBatch>(Err(ApiError::new(ErrorCode::ServiceUnavailable, "no member")))
        }
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
    assert!(err.to_string().starts_with("ServiceUnavailableTemporary: no member (rewrap stopped after 2 of 3 blobs; "));
    assert!(err.to_string().ends_with("out was not written)"), "{err}");
    assert_eq!(std::fs::read_to_string(&output).expect("output"), "previous\n", "untouched");
    assert_eq!(names_in(dir.path()), ["in", "out"], "no temporary file left");
}

#[test]
fn the_input_is_replaced_only_when_it_is_the_output_and_keeps_its_mode() {
    let dir = temp_dir();
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
    let dir = temp_dir();
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
    let dir = temp_dir();
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
    let dir = temp_dir();
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::write(&input, [b64("A"), b64("B")].join("\n")).expect("input");
    let server = Server::start(MAX_BODY_LEN, |_| answer_body::<op::ReEncryptBatch>(Ok(vec![BatchOutcome::Unchanged])));
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
    assert_eq!(
        RewrapArgs::leaves(),
        [super::super::Leaf::of::<op::ReEncryptBatch>(&["rewrap"])],
        "rewrap is the command of ReEncryptBatch"
    );
    assert_eq!(op::ReEncryptBatch::COMMAND, ["rewrap"]);
}
