//! No secret value at rest or in the log: a known value (and its
//! successors) goes through every path that handles values (create from
//! a file, put, get, stages, a rotation, a restart), then every file of
//! the state directory (database, WAL, journal, tokens, images, secrets)
//! is searched for it as text, hex and base64, and so is the daemon's log
//! at `RUST_LOG=trace`.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::Path;

use p11kms_proto::bytes::to_base64;
use p11kms_tests::Daemon;

const GENERIC: &str = "generic-value-4b9e21-never-stored";
const SECOND: &str = "second-value-77c0da-never-stored";
const RDS_PASSWORD: &str = "rds-password-e0f3b5-never-stored";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every way a value could be written down.
fn spellings(value: &str) -> Vec<Vec<u8>> {
    let bytes = value.as_bytes();
    [value.to_owned(), hex(bytes), hex(bytes).to_uppercase(), to_base64(bytes)]
        .into_iter()
        .map(String::into_bytes)
        .collect()
}

/// Every file under `dir`, with its bytes.
fn files(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_secret_value_reaches_the_state_directory_or_the_log() {
    let mut daemon = Daemon::start();
    daemon.set_env("RUST_LOG", Some("trace"));
    daemon.restart();
    let work = tempfile::tempdir().expect("dir");
    let file = work.path().join("value");
    std::fs::write(&file, GENERIC).expect("write");
    daemon.cli_json(&[
        "secret",
        "create",
        "db",
        "--instance",
        "hsm1",
        "--version-id",
        "v1",
        "--secret-data-file",
        file.to_str().expect("utf-8"),
    ]);
    daemon.cli_json(&["secret", "put-value", "db", "--version-id", "v2", "--secret-data", SECOND]);
    assert_eq!(daemon.cli_json(&["secret", "get-value", "db", "--version-id", "v1"])["SecretData"], GENERIC);
    daemon.cli_json(&[
        "secret",
        "update-version-stage",
        "db",
        "--version-stage",
        "ACSCurrent",
        "--move-to-version",
        "v1",
    ]);
    let rds_value = format!(r#"{{"Accounts":[{{"AccountName":"app","AccountPassword":"{RDS_PASSWORD}"}}]}}"#);
    daemon.cli_json(&[
        "secret",
        "create",
        "rds",
        "--instance",
        "hsm1",
        "--version-id",
        "v1",
        "--secret-type",
        "Rds",
        "--extended-config",
        r#"{"SecretSubType":"SingleUser","DBInstanceId":"rm-1"}"#,
        "--secret-data",
        &rds_value,
    ]);
    daemon.cli_json(&["secret", "rotate", "rds"]);
    let rotated = daemon.cli_json(&["secret", "get-value", "rds"])["SecretData"].as_str().expect("value").to_owned();
    let rotated: serde_json::Value = serde_json::from_str(&rotated).expect("JSON");
    let new_password = rotated["Accounts"][0]["AccountPassword"].as_str().expect("password").to_owned();
    assert_ne!(new_password, RDS_PASSWORD);
    // A restart reads everything back; the log starts anew, so keep what
    // it said before.
    let mut log = daemon.log();
    daemon.restart();
    assert_eq!(daemon.cli_json(&["secret", "get-value", "db"])["SecretData"], GENERIC);
    log.push_str(&daemon.log());
    // Verbose, and about these very values: a quiet log would pass the
    // checks below for the wrong reason.
    assert!(log.contains("DEBUG") && log.contains("secret value opened"), "the daemon did not log verbosely:\n{log}");
    assert!(log.contains("PutSecretValue") && log.contains("secret rotated"), "the log saw the calls:\n{log}");
    let mut all = Vec::new();
    files(daemon.state_dir(), &mut all);
    assert!(
        all.iter().any(|(path, _)| path.ends_with(".db") || path.contains("store")),
        "the store is there: {:?}",
        all.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for value in [GENERIC, SECOND, RDS_PASSWORD, new_password.as_str()] {
        for spelling in spellings(value) {
            let shown = String::from_utf8_lossy(&spelling).into_owned();
            assert!(!log.contains(&shown), "the daemon's log holds a secret value (as {shown:?})");
            for (path, bytes) in &all {
                assert!(!contains(bytes, &spelling), "{path} holds a secret value (as {shown:?})");
            }
        }
    }
    daemon.stop();
}
