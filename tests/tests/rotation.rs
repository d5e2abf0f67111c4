//! Key versions and automatic rotation on the test clock, as
//! `shared/spec/key-rotation.txt` says: a year of schedule in seconds,
//! rotations at the right instants, none while suspended, the catch-up
//! after re-enabling, interval changes, the limits, and deletion windows
//! expiring.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use p11kms_proto::Timestamp;
use p11kms_tests::Daemon;

const DAY: i64 = 86_400;

fn now(daemon: &Daemon) -> Timestamp {
    let clock = daemon.cli_json(&["clock", "show"]);
    assert_eq!(clock["Manual"], true);
    Timestamp::parse_rfc3339(clock["Now"].as_str().expect("Now")).expect("RFC 3339")
}

fn advance(daemon: &Daemon, duration: &str) {
    daemon.cli_json(&["clock", "advance", duration]);
}

fn time(value: &serde_json::Value) -> Option<Timestamp> {
    value.as_str().map(|t| Timestamp::parse_rfc3339(t).expect("RFC 3339"))
}

fn versions(daemon: &Daemon, key: &str) -> Vec<(String, Timestamp)> {
    let list = daemon.cli_json(&["key", "list-versions", key]);
    list["KeyVersions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| (v["KeyVersionId"].as_str().expect("id").to_owned(), time(&v["CreationDate"]).expect("date")))
        .collect()
}

fn blob(daemon: &Daemon, key: &str, text: &str) -> String {
    let out = daemon.cli_json(&["encrypt", "--key-id", key, "--plaintext", text]);
    out["CiphertextBlob"].as_str().expect("blob").to_owned()
}

fn decrypts_to(daemon: &Daemon, blob: &str, text: &str) {
    let out = daemon.cli_json(&["decrypt", "--ciphertext-blob", blob]);
    assert_eq!(out["Plaintext"], p11kms_proto::bytes::to_base64(text.as_bytes()));
}

#[test]
fn a_year_of_automatic_rotation_follows_the_spec_formula() {
    let daemon = Daemon::start_with(&["--test-clock"]);
    let t0 = now(&daemon);
    let key =
        daemon.create_key(&["--key-spec", "AES_256", "--enable-automatic-rotation", "--rotation-interval", "30d"]);
    let meta = daemon.key_field(&key, "KeyMetadata");
    assert_eq!(meta["AutomaticRotation"], "Enabled");
    assert_eq!(meta["RotationInterval"], "2592000s");
    assert_eq!(time(&meta["LastRotationDate"]), Some(t0));
    assert_eq!(time(&meta["NextRotationDate"]), Some(t0.plus_seconds(30 * DAY)));
    let first = blob(&daemon, &key, "written under version 1");

    advance(&daemon, "29d");
    assert_eq!(versions(&daemon, &key).len(), 1, "nothing before the date");
    advance(&daemon, "1d");
    assert_eq!(versions(&daemon, &key).len(), 2, "rotated on the date");

    // The rest of the year, a month at a time: one version per interval,
    // each created exactly at LastRotationDate + RotationInterval.
    for _ in 0..11 {
        advance(&daemon, "30d");
    }
    let all = versions(&daemon, &key);
    assert_eq!(all.len(), 13, "12 rotations in 360 days");
    for (i, (_, created)) in all.iter().enumerate() {
        assert_eq!(*created, t0.plus_seconds(i as i64 * 30 * DAY), "version {i}");
    }
    let meta = daemon.key_field(&key, "KeyMetadata");
    assert_eq!(meta["PrimaryKeyVersion"], all[12].0.as_str(), "the newest version is the primary");
    assert_eq!(time(&meta["NextRotationDate"]), Some(t0.plus_seconds(390 * DAY)));
    decrypts_to(&daemon, &first, "written under version 1");
    let latest = blob(&daemon, &key, "written under version 13");
    let described = daemon.cli_json(&["decrypt", "--ciphertext-blob", &latest]);
    assert_eq!(described["KeyVersionId"], all[12].0.as_str(), "encryption uses the primary version");
}

#[test]
fn a_suspended_key_keeps_its_policy_and_catches_up_once() {
    let daemon = Daemon::start_with(&["--test-clock"]);
    let t0 = now(&daemon);
    let key =
        daemon.create_key(&["--key-spec", "AES_128", "--enable-automatic-rotation", "--rotation-interval", "30d"]);
    advance(&daemon, "10d");
    daemon.cli_json(&["key", "disable", &key]);
    let meta = daemon.key_field(&key, "KeyMetadata");
    assert_eq!(meta["AutomaticRotation"], "Suspended");
    assert_eq!(meta["RotationInterval"], "2592000s", "the policy is kept");
    assert!(meta["NextRotationDate"].is_null());
    assert_eq!(
        daemon.cli_error(&[
            "key",
            "update-rotation-policy",
            &key,
            "--enable-automatic-rotation",
            "--rotation-interval",
            "7d"
        ]),
        "Rejected.Disabled"
    );
    advance(&daemon, "90d");
    assert_eq!(versions(&daemon, &key).len(), 1, "no rotation while Disabled");

    // Back to Enabled at t0+100d: t0 + 30d is long past, so one rotation
    // now, then the schedule goes on from it.
    daemon.cli_json(&["key", "enable", &key]);
    let all = versions(&daemon, &key);
    assert_eq!(all.len(), 2, "exactly one catch-up rotation");
    assert_eq!(all[1].1, t0.plus_seconds(100 * DAY));
    let meta = daemon.key_field(&key, "KeyMetadata");
    assert_eq!(meta["AutomaticRotation"], "Enabled");
    assert_eq!(time(&meta["NextRotationDate"]), Some(t0.plus_seconds(130 * DAY)));

    // PendingDeletion suspends too, and cancelling resumes.
    daemon.cli_json(&["key", "schedule-deletion", &key, "--pending-window-in-days", "30"]);
    assert_eq!(daemon.key_field(&key, "KeyMetadata.AutomaticRotation"), "Suspended");
    advance(&daemon, "29d");
    assert_eq!(versions(&daemon, &key).len(), 2, "no rotation while PendingDeletion");
    daemon.cli_json(&["key", "cancel-deletion", &key]);
    assert_eq!(daemon.key_field(&key, "KeyMetadata.KeyState"), "Enabled");
    assert_eq!(versions(&daemon, &key).len(), 2, "t0+130d not reached yet at t0+129d");
    advance(&daemon, "1d");
    assert_eq!(versions(&daemon, &key).len(), 3);
}

#[test]
fn interval_changes_and_limits() {
    let daemon = Daemon::start_with(&["--test-clock"]);
    let key = daemon.create_key(&["--key-spec", "AES_256"]);
    assert_eq!(daemon.key_field(&key, "KeyMetadata.AutomaticRotation"), "Disabled");
    for bad in ["6d", "366d"] {
        let code = daemon.cli_error(&[
            "key",
            "update-rotation-policy",
            &key,
            "--enable-automatic-rotation",
            "--rotation-interval",
            bad,
        ]);
        assert_eq!(code, "InvalidParameter", "{bad}");
    }
    assert_eq!(
        daemon.cli_error(&["key", "update-rotation-policy", &key, "--enable-automatic-rotation"]),
        "InvalidParameter",
        "an interval is needed"
    );
    daemon.cli_json(&[
        "key",
        "update-rotation-policy",
        &key,
        "--enable-automatic-rotation",
        "--rotation-interval",
        "365d",
    ]);
    advance(&daemon, "20d");
    // 20 days since the last version: a 7-day interval is overdue, so the
    // change rotates at once and the schedule restarts from there.
    let t = now(&daemon);
    daemon.cli_json(&[
        "key",
        "update-rotation-policy",
        &key,
        "--enable-automatic-rotation",
        "--rotation-interval",
        "7d",
    ]);
    let all = versions(&daemon, &key);
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].1, t);
    assert_eq!(time(&daemon.key_field(&key, "KeyMetadata.NextRotationDate")), Some(t.plus_seconds(7 * DAY)));
    daemon.cli_json(&["key", "update-rotation-policy", &key, "--disable-automatic-rotation"]);
    advance(&daemon, "30d");
    assert_eq!(versions(&daemon, &key).len(), 2, "no rotation once disabled");
    assert_eq!(daemon.key_field(&key, "KeyMetadata.AutomaticRotation"), "Disabled");

    // Manual rotation works on any KMS-generated symmetric key.
    let version = daemon.cli_json(&["key", "create-version", &key]);
    assert_eq!(versions(&daemon, &key).len(), 3);
    assert_eq!(daemon.key_field(&key, "KeyMetadata.PrimaryKeyVersion"), version["KeyVersionId"]);
    let described = daemon.cli_json(&[
        "key",
        "describe-version",
        &key,
        "--key-version-id",
        version["KeyVersionId"].as_str().expect("id"),
    ]);
    assert_eq!(described["KeyId"], key.as_str());
}

#[test]
fn only_kms_generated_symmetric_keys_rotate() {
    let daemon = Daemon::start_with(&["--test-clock"]);
    let ec = daemon.create_key(&["--key-spec", "EC_P256"]);
    let rsa = daemon.create_key(&["--key-spec", "RSA_2048"]);
    let external = daemon.create_key(&["--key-spec", "AES_256", "--origin", "EXTERNAL"]);
    let (code, _, _) = daemon.import_material(&external, &[7; 32], "RSAES_OAEP_SHA_256", &[]);
    assert_eq!(code, Some(0));
    for key in [&ec, &rsa, &external] {
        assert_eq!(daemon.cli_error(&["key", "create-version", key]), "Rejected.UnsupportedOperation");
        let code = daemon.cli_error(&[
            "key",
            "update-rotation-policy",
            key,
            "--enable-automatic-rotation",
            "--rotation-interval",
            "30d",
        ]);
        assert_eq!(code, "Rejected.UnsupportedOperation");
    }
    let code = daemon.cli_error(&[
        "key",
        "create",
        "--instance",
        "hsm1",
        "--key-spec",
        "EC_P256",
        "--enable-automatic-rotation",
        "--rotation-interval",
        "30d",
    ]);
    assert_eq!(code, "Rejected.UnsupportedOperation");
    assert_eq!(daemon.cli_json(&["key", "list"])["TotalCount"], 3, "the refused key was not created");
}

#[test]
fn a_deletion_window_ends_with_the_key_gone_from_every_member() {
    let daemon = Daemon::start_with(&["--test-clock"]);
    let keep = daemon.create_key(&["--key-spec", "AES_256"]);
    let doomed = daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/doomed"]);
    daemon.cli_json(&["key", "create-version", &doomed]);
    let sealed = blob(&daemon, &doomed, "bye");
    let objects = |d: &Daemon| -> Vec<u64> {
        let status = d.cli_json(&["cluster", "status", "hsm1"]);
        status["Members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| m["ObjectCount"].as_u64().expect("count"))
            .collect()
    };
    assert_eq!(objects(&daemon), vec![3, 3, 3]);
    let t = now(&daemon);
    daemon.cli_json(&["key", "schedule-deletion", &doomed, "--pending-window-in-days", "7"]);
    assert_eq!(time(&daemon.key_field(&doomed, "KeyMetadata.DeleteDate")), Some(t.plus_seconds(7 * DAY)));
    assert_eq!(daemon.cli_error(&["decrypt", "--ciphertext-blob", &sealed]), "Rejected.PendingDeletion");
    advance(&daemon, "6d");
    assert_eq!(daemon.key_field(&doomed, "KeyMetadata.KeyState"), "PendingDeletion");
    advance(&daemon, "1d");
    assert_eq!(daemon.cli_error(&["key", "describe", &doomed]), "Forbidden.KeyNotFound");
    assert_eq!(daemon.cli_error(&["key", "describe", "alias/doomed"]), "Forbidden.AliasNotFound");
    assert_eq!(daemon.cli_error(&["decrypt", "--ciphertext-blob", &sealed]), "Forbidden.KeyNotFound");
    assert_eq!(objects(&daemon), vec![1, 1, 1], "both versions destroyed on every member");
    assert_eq!(daemon.key_field(&keep, "KeyMetadata.KeyState"), "Enabled");
}

#[test]
fn the_clock_moves_only_when_it_is_the_test_clock() {
    let daemon = Daemon::start();
    assert_eq!(daemon.cli_error(&["clock", "advance", "1d"]), "Rejected.ClockNotManual");
    assert_eq!(daemon.cli_error(&["clock", "set", "2030-01-01T00:00:00Z"]), "Rejected.ClockNotManual");
    assert_eq!(daemon.cli_json(&["clock", "show"])["Manual"], false);
    let manual = Daemon::start_with(&["--test-clock"]);
    assert_eq!(manual.cli_error(&["clock", "set", "2000-01-01T00:00:00Z"]), "InvalidParameter", "never backwards");
}

#[test]
fn a_restarted_test_clock_goes_on_from_where_it_was() {
    let mut daemon = Daemon::start_with(&["--test-clock"]);
    let key = daemon.cli_json(&[
        "key",
        "create",
        "--instance",
        "hsm1",
        "--key-spec",
        "AES_256",
        "--enable-automatic-rotation",
        "--rotation-interval",
        "30d",
    ]);
    let key = key["KeyMetadata"]["KeyId"].as_str().expect("KeyId").to_owned();
    advance(&daemon, "20d");
    let before = now(&daemon);
    daemon.restart();
    assert!(now(&daemon) >= before, "the test clock does not go back to the system's time at a restart");
    // The schedule computed before the restart still holds: 10 more days
    // rotate the key, and the new version is dated on the test clock.
    advance(&daemon, "10d");
    let versions = versions(&daemon, &key);
    assert_eq!(versions.len(), 2, "rotated 30 days after creation, across the restart");
    assert_eq!(versions[1].1, before.plus_seconds(10 * DAY));
    let described = daemon.cli_json(&["key", "describe", &key]);
    assert_eq!(time(&described["KeyMetadata"]["LastRotationDate"]), Some(before.plus_seconds(10 * DAY)));
    assert_eq!(time(&described["KeyMetadata"]["NextRotationDate"]), Some(before.plus_seconds(40 * DAY)));
}
