//! Golden bytes of the admin plane: for every operation of
//! `p11kms_proto::admin_operations!`, the exact bytes of a call (opcode and
//! request) and of its answer, built from one sample value of each type.
//!
//! `admin_golden.txt` holds the expected bytes. A renumbered opcode, a
//! reordered or changed field, a changed enum: any of them changes bytes
//! here and fails. When a change is meant (a new operation, a field
//! appended at the end of a type), run the test with `P11KMS_BLESS=1`
//! to rewrite the file, and review its diff.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::fmt::Write as _;

use p11kms_proto::admin::operation::{Operation, encode_answer, encode_call, unknown_opcode};
use p11kms_proto::admin::*;
use p11kms_proto::blob::EncryptionContext;
use p11kms_proto::error::{ApiError, ErrorCode};

/// One value of a type, with every field set to something that is not its
/// default, so that each field leaves its mark in the bytes.
trait Sample {
    fn sample() -> Self;
}

impl Sample for () {
    fn sample() -> Self {}
}

impl<T: Sample> Sample for Vec<T> {
    fn sample() -> Self {
        vec![T::sample()]
    }
}

fn context() -> EncryptionContext {
    [("shop".to_owned(), "eu".to_owned())].into_iter().collect()
}

fn tag() -> Tag {
    Tag { tag_key: "team".into(), tag_value: "payments".into() }
}

/// `Type => value;` entries, each an `impl Sample`.
macro_rules! sample {
    ($($type:ty => $value:expr;)+) => {
        $(impl Sample for $type {
            fn sample() -> Self {
                $value
            }
        })+
    };
}

#[path = "admin_golden/backup_samples.rs"]
mod backup_samples;
#[path = "admin_golden/samples.rs"]
mod samples;

/// The golden line of operation `O`.
fn line<O: Operation>() -> String
where
    O::Request: Sample,
    O::Reply: Sample,
{
    let call = encode_call::<O>(&O::Request::sample()).expect("the call encodes");
    let answer = encode_answer::<O::Reply>(&Ok(O::Reply::sample())).expect("the answer encodes");
    format!("{} {} call {} answer {}", O::OPCODE, O::NAME, hex(&call), hex(&answer))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

macro_rules! golden_lines {
    ($($(#[$doc:meta])* $opcode:literal $name:ident [$($word:literal)+] $request:ty => $reply:ty;)+) => {
        fn operation_lines() -> Vec<String> {
            vec![$(line::<op::$name>()),+]
        }
    };
}

p11kms_proto::admin_operations!(golden_lines);

/// Every line the file must hold: the operations, then refusals.
fn expected() -> String {
    let mut lines = operation_lines();
    let refusals = [
        ("refusal", ApiError::new(ErrorCode::KeyNotFound, "key 'k-1' does not exist")),
        ("unknown-opcode", unknown_opcode(Opcode(0xbeef))),
        ("version-lost", ApiError::new(ErrorCode::KeyVersionLost, "key version 'v-1' of key 'k-1' was lost")),
        ("versions-would-be-lost", ApiError::new(ErrorCode::VersionsWouldBeLost, "k-1: v-1")),
        ("secret-pending-deletion", ApiError::new(ErrorCode::SecretPendingDeletion, "secret 'db' is pending deletion")),
        ("backup-expired", ApiError::new(ErrorCode::BackupExpired, "backup 'backup-1' expired")),
    ];
    for (name, error) in refusals {
        let answer = encode_answer::<()>(&Err(error)).expect("encodes");
        lines.push(format!("- {name} answer {}", hex(&answer)));
    }
    lines.join("\n") + "\n"
}

#[test]
fn every_operation_encodes_as_its_golden_bytes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/admin_golden.txt");
    let expected = expected();
    if std::env::var_os("P11KMS_BLESS").is_some() {
        std::fs::write(&path, &expected).expect("write the golden file");
        return;
    }
    let golden = std::fs::read_to_string(&path).expect("tests/admin_golden.txt");
    let found: Vec<&str> = golden.lines().collect();
    let wanted: Vec<&str> = expected.lines().collect();
    let mut differences = Vec::new();
    for line in &wanted {
        if !found.contains(line) {
            differences.push(format!("encoded now, not in the file:\n  {line}"));
        }
    }
    for line in &found {
        if !wanted.contains(line) {
            differences.push(format!("in the file, not encoded now:\n  {line}"));
        }
    }
    assert!(
        differences.is_empty(),
        "the admin wire changed (run with P11KMS_BLESS=1 if it is meant, and say so in docs/wire.md):\n{}",
        differences.join("\n")
    );
    assert_eq!(found.len(), op::ALL.len() + 6, "one line per operation and refusal");
}
