//! The secrets manager end to end: a real daemon driven through the real
//! `p11kms secret ...` commands, with the API's `--json` field names:
//! the lifecycle of a generic secret (create, values from a file, put,
//! stages, versions, describe, tags, list), the recovery window on the
//! test clock (refusals, restore, expiry), scheduled and manual rotation
//! of a managed secret, and the error codes a user sees.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};

use p11kms_proto::Timestamp;
use p11kms_proto::bytes::to_base64;
use p11kms_tests::{Daemon, artifact};

fn time(value: &serde_json::Value) -> Timestamp {
    Timestamp::parse_rfc3339(value.as_str().expect("a time")).expect("RFC 3339")
}

fn stages(daemon: &Daemon, name: &str) -> Vec<(String, Vec<String>)> {
    let list = daemon.cli_json(&["secret", "list-version-ids", name, "--include-deprecated"]);
    list["VersionIds"]
        .as_array()
        .expect("VersionIds")
        .iter()
        .map(|v| {
            let stages =
                v["VersionStages"].as_array().expect("stages").iter().map(|s| s.as_str().expect("s").to_owned());
            (v["VersionId"].as_str().expect("id").to_owned(), stages.collect())
        })
        .collect()
}

fn value(daemon: &Daemon, args: &[&str]) -> String {
    let mut full = vec!["secret", "get-value"];
    full.extend_from_slice(args);
    let out = daemon.cli_json(&full);
    out["SecretData"].as_str().expect("SecretData").to_owned()
}

#[test]
fn a_generic_secret_lives_through_the_cli() {
    let daemon = Daemon::start();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("pw");
    std::fs::write(&file, "from-a-file").expect("write");
    let created = daemon.cli_json(&[
        "secret",
        "create",
        "db/orders",
        "--instance",
        "hsm1",
        "--version-id",
        "v1",
        "--secret-data-file",
        file.to_str().expect("utf-8"),
        "--description",
        "orders db",
        "--tag",
        "team=pay",
    ]);
    assert_eq!(created["SecretName"], "db/orders");
    assert_eq!(created["VersionId"], "v1");
    assert_eq!(created["SecretType"], "Generic");
    assert_eq!(created["DKMSInstanceId"], "hsm1");
    assert_eq!(created["Arn"], "acs:kms:local:hsm1:secret/db/orders");
    assert_eq!(created["AutomaticRotation"], "Disabled");

    let got = daemon.cli_json(&["secret", "get-value", "db/orders"]);
    assert_eq!(got["SecretData"], "from-a-file");
    assert_eq!(got["SecretDataType"], "text");
    assert_eq!(got["VersionId"], "v1");
    assert_eq!(got["VersionStages"], serde_json::json!(["ACSCurrent"]));
    assert!(got["CreateTime"].is_string());

    // A new value from standard input, and a binary one.
    let mut child = Command::new(artifact("p11kms"))
        .args(["secret", "put-value", "db/orders", "--version-id", "v2", "--secret-data-file", "-", "--json"])
        .env("P11KMS_ADMIN_SOCKET", daemon.admin_socket())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("p11kms");
    child.stdin.take().expect("stdin").write_all(b"from-stdin").expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let put: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(put["VersionStages"], serde_json::json!(["ACSCurrent"]));
    let bytes = [0u8, 159, 146, 150];
    daemon.cli_json(&[
        "secret",
        "put-value",
        "db/orders",
        "--version-id",
        "v3",
        "--secret-data-type",
        "binary",
        "--secret-data",
        &to_base64(&bytes),
        "--version-stages",
        r#"["blue"]"#,
    ]);
    assert_eq!(value(&daemon, &["db/orders"]), "from-stdin");
    assert_eq!(value(&daemon, &["db/orders", "--version-stage", "ACSPrevious"]), "from-a-file");
    let binary = daemon.cli_json(&["secret", "get-value", "db/orders", "--version-id", "v3"]);
    assert_eq!(
        (binary["SecretData"].as_str(), binary["SecretDataType"].as_str()),
        (Some(&*to_base64(&bytes)), Some("binary"))
    );

    // Idempotent puts, and the same id with another value.
    daemon.cli_json(&["secret", "put-value", "db/orders", "--version-id", "v2", "--secret-data", "from-stdin"]);
    let code = daemon.cli_error(&["secret", "put-value", "db/orders", "--version-id", "v2", "--secret-data", "x"]);
    assert_eq!(code, "Rejected.ResourceExist");

    // Stages.
    daemon.cli_json(&[
        "secret",
        "update-version-stage",
        "db/orders",
        "--version-stage",
        "ACSCurrent",
        "--move-to-version",
        "v3",
    ]);
    assert_eq!(
        stages(&daemon, "db/orders"),
        [
            ("v1".to_owned(), vec![]),
            ("v2".to_owned(), vec!["ACSPrevious".to_owned()]),
            ("v3".to_owned(), vec!["blue".to_owned(), "ACSCurrent".to_owned()]),
        ]
    );
    let code = daemon.cli_error(&[
        "secret",
        "update-version-stage",
        "db/orders",
        "--version-stage",
        "ACSCurrent",
        "--remove-from-version",
        "v3",
    ]);
    assert_eq!(code, "InvalidParameter");
    let listed = daemon.cli_json(&["secret", "list-version-ids", "db/orders"]);
    assert_eq!(listed["TotalCount"], 2, "v1 is deprecated, listed only with --include-deprecated");

    // Describe, update, tags, list.
    let before = daemon.cli_json(&["secret", "describe", "db/orders", "--fetch-tags"]);
    assert_eq!(before["Description"], "orders db");
    assert_eq!(before["Tags"], serde_json::json!([{"TagKey": "team", "TagValue": "pay"}]));
    assert!(before["EncryptionKeyId"].as_str().expect("key").starts_with("key-"));
    let service = daemon.cli_json(&["key", "describe", "alias/acs/secrets/hsm1"]);
    assert_eq!(service["KeyMetadata"]["KeyId"], before["EncryptionKeyId"], "the instance's service key");
    assert_eq!(service["KeyMetadata"]["Creator"], "service:secrets");
    daemon.cli_json(&["secret", "update", "db/orders", "--description", "orders, eu"]);
    daemon.cli_json(&["secret", "tag", "db/orders", "--tag", "env=prod"]);
    daemon.cli_json(&["secret", "untag", "db/orders", "--tag-key", "team"]);
    let after = daemon.cli_json(&["secret", "describe", "db/orders", "--fetch-tags"]);
    assert_eq!(after["Description"], "orders, eu");
    assert_eq!(after["Tags"], serde_json::json!([{"TagKey": "env", "TagValue": "prod"}]));
    assert!(time(&after["UpdateTime"]) >= time(&before["UpdateTime"]));
    assert!(after["PlannedDeleteTime"].is_null());
    daemon.cli_json(&[
        "secret",
        "create",
        "api-token",
        "--instance",
        "hsm1",
        "--version-id",
        "1",
        "--secret-data",
        "t",
    ]);
    let list = daemon.cli_json(&["secret", "list", "--filters", r#"[{"Key":"SecretName","Values":["db"]}]"#]);
    assert_eq!(list["TotalCount"], 1);
    assert_eq!(list["SecretList"][0]["SecretName"], "db/orders");
    assert_eq!(list["PageNumber"], 1);
    let query = daemon.cli(&["secret", "get-value", "api-token", "--query", "SecretData"]);
    assert_eq!(String::from_utf8_lossy(&query.stdout), "t\n");
    let instance = daemon.cli_json(&["instance", "describe", "hsm1"]);
    assert_eq!(instance["SecretCount"], 2);
    assert_eq!(instance["SecretQuota"], 1000);

    // Errors as a user sees them.
    assert_eq!(daemon.cli_error(&["secret", "get-value", "nope"]), "Forbidden.ResourceNotFound");
    assert_eq!(
        daemon.cli_error(&[
            "secret",
            "create",
            "db/orders",
            "--instance",
            "hsm1",
            "--version-id",
            "v1",
            "--secret-data",
            "x"
        ]),
        "Rejected.ResourceExist"
    );
    assert_eq!(
        daemon.cli_error(&[
            "secret",
            "create",
            "x",
            "--instance",
            "default",
            "--version-id",
            "v1",
            "--secret-data",
            "x"
        ]),
        "Rejected.UnsupportedOperation"
    );
    assert_eq!(
        daemon.cli_error(&[
            "secret",
            "update-rotation-policy",
            "db/orders",
            "--enable-automatic-rotation",
            "--rotation-interval",
            "30d"
        ]),
        "Rejected.UnsupportedOperation"
    );
    let (status, _, stderr) = daemon.cli_outcome(&["secret", "get-value"]);
    assert_eq!(status, Some(2), "a usage error: {stderr}");
}

#[test]
fn the_recovery_window_runs_on_the_test_clock() {
    let daemon = Daemon::start_with(&["--test-clock"]);
    daemon.cli_json(&["secret", "create", "db", "--instance", "hsm1", "--version-id", "v1", "--secret-data", "pw"]);
    let now = time(&daemon.cli_json(&["clock", "show"])["Now"]);
    let code = daemon.cli_error(&["secret", "delete", "db", "--recovery-window-in-days", "6"]);
    assert_eq!(code, "InvalidParameter");
    let deleted = daemon.cli_json(&["secret", "delete", "db", "--recovery-window-in-days", "7"]);
    assert_eq!(time(&deleted["PlannedDeleteTime"]), now.plus_seconds(7 * 86_400));
    assert_eq!(daemon.cli_error(&["secret", "get-value", "db"]), "Rejected.SecretPendingDeletion");
    assert_eq!(
        daemon.cli_error(&["secret", "put-value", "db", "--version-id", "v2", "--secret-data", "x"]),
        "Rejected.SecretPendingDeletion"
    );
    let described = daemon.cli_json(&["secret", "describe", "db"]);
    assert_eq!(time(&described["PlannedDeleteTime"]), now.plus_seconds(7 * 86_400));
    daemon.cli_json(&["secret", "restore", "db"]);
    assert_eq!(value(&daemon, &["db"]), "pw");

    daemon.cli_json(&["secret", "delete", "db", "--recovery-window-in-days", "7"]);
    daemon.cli_json(&["clock", "advance", "6d"]);
    assert!(daemon.cli_json(&["secret", "describe", "db"])["PlannedDeleteTime"].is_string(), "still there");
    daemon.cli_json(&["clock", "advance", "1d"]);
    assert_eq!(daemon.cli_error(&["secret", "describe", "db"]), "Forbidden.ResourceNotFound");

    daemon.cli_json(&["secret", "create", "tmp", "--instance", "hsm1", "--version-id", "v1", "--secret-data", "x"]);
    let forced = daemon.cli_json(&["secret", "delete", "tmp", "--force-delete-without-recovery"]);
    assert!(forced["PlannedDeleteTime"].is_null());
    assert_eq!(daemon.cli_error(&["secret", "get-value", "tmp"]), "Forbidden.ResourceNotFound");
}

#[test]
fn a_managed_secret_rotates_on_schedule_and_by_hand() {
    let mut daemon = Daemon::start_with(&["--test-clock"]);
    let created = daemon.cli_json(&[
        "secret",
        "create",
        "rds/orders",
        "--instance",
        "hsm1",
        "--version-id",
        "v1",
        "--secret-type",
        "Rds",
        "--extended-config",
        r#"{"SecretSubType":"SingleUser","DBInstanceId":"rm-1"}"#,
        "--secret-data",
        r#"{"Accounts":[{"AccountName":"app","AccountPassword":"initial-pw"}]}"#,
        "--enable-automatic-rotation",
        "--rotation-interval",
        "7d",
    ]);
    assert_eq!(created["SecretType"], "Rds");
    assert_eq!(created["RotationInterval"], "604800s");
    let next = time(&created["NextRotationDate"]);
    daemon.cli_json(&["clock", "advance", "6d"]);
    assert_eq!(stages(&daemon, "rds/orders").len(), 1, "nothing before the date");
    daemon.cli_json(&["clock", "advance", "1d"]);
    let versions = stages(&daemon, "rds/orders");
    assert_eq!(versions.len(), 2, "rotated on the date");
    assert_eq!(versions[0], ("v1".to_owned(), vec!["ACSPrevious".to_owned()]));
    let current: serde_json::Value = serde_json::from_str(&value(&daemon, &["rds/orders"])).expect("JSON");
    assert_eq!(current["Accounts"][0]["AccountName"], "app");
    assert_ne!(current["Accounts"][0]["AccountPassword"], "initial-pw");
    let described = daemon.cli_json(&["secret", "describe", "rds/orders"]);
    assert_eq!(time(&described["LastRotationDate"]), next);
    assert_eq!(time(&described["NextRotationDate"]), next.plus_seconds(7 * 86_400));
    let rotated = daemon.cli_json(&["secret", "rotate", "rds/orders", "--version-id", "manual-1"]);
    assert_eq!(rotated["VersionId"], "manual-1");
    assert_eq!(daemon.cli_json(&["secret", "get-value", "rds/orders"])["VersionId"], "manual-1");
    // What was made survives a restart, values included.
    let before = value(&daemon, &["rds/orders"]);
    daemon.restart();
    assert_eq!(value(&daemon, &["rds/orders"]), before);
    assert_eq!(stages(&daemon, "rds/orders").len(), 3);
    assert_eq!(
        daemon.cli_error(&["secret", "put-value", "rds/orders", "--version-id", "v9", "--secret-data", "{}"]),
        "Rejected.UnsupportedOperation"
    );
}
