//! Restoring into another daemon (the spec's restore into another
//! region), through the CLI, on SoftHSM and the test clock: a software
//! instance's key (two versions, an alias) and its secret, as the first
//! daemon's backup holds them, restored with `backup restore-key …
//! --to-socket` into the second daemon's instance; data encrypted in the
//! first decrypts in the second, the secret reads there, and its value is
//! in no log of the second. Refused, each with its code and before any
//! key is made: a secret before its key, a hardware instance as the
//! target, an unknown instance, a key already there.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use p11kms_tests::Daemon;
use p11kms_tests::backups::{create_secret_under, enabled_backup};

fn text(value: &serde_json::Value, field: &str) -> String {
    value[field].as_str().unwrap_or_else(|| panic!("{field} in {value}")).to_owned()
}

#[test]
fn a_key_and_its_secret_restore_into_another_daemon() {
    let first = Daemon::start_with(&["--test-clock"]);
    let second = Daemon::start_with(&["--test-clock"]);
    first.cli_json(&["instance", "create", "soft1", "--kind", "software", "--cluster", "hsm1"]);
    let created =
        first.cli_json(&["key", "create", "--instance", "soft1", "--key-spec", "AES_256", "--alias", "alias/orders"]);
    let key = text(&created["KeyMetadata"], "KeyId");
    first.cli_json(&["key", "create-version", &key]);
    let blob = text(&first.cli_json(&["encrypt", "--key-id", &key, "--plaintext", "order 7"]), "CiphertextBlob");
    create_secret_under(&first, "db", "soft1", "pw-1", &key);
    let default_software = ["--backup-type", "default", "--instance-kind", "software"];
    let backup = enabled_backup(&first, "soft1", &default_software);
    first.cli(&["clock", "advance", "5m"]);
    let day = first.cli_json(&["clock", "show"])["Now"].as_str().expect("now")[..10].to_owned();

    second.cli_json(&["instance", "create", "soft2", "--kind", "software", "--cluster", "hsm1"]);
    second.cli_json(&["instance", "create", "hard2", "--kind", "hardware", "--cluster", "hsm1"]);
    let to = second.admin_socket();
    let to = to.to_str().expect("utf-8");
    let restore_key = |instance: &str| {
        first.cli_outcome(&[
            "backup",
            "restore-key",
            &backup,
            "--date",
            &day,
            "--key-id",
            &key,
            "--to-instance",
            instance,
            "--to-socket",
            to,
        ])
    };
    let restore_secret = || {
        first.cli_outcome(&[
            "backup",
            "restore-secret",
            &backup,
            "--date",
            &day,
            "--secret-name",
            "db",
            "--to-instance",
            "soft2",
            "--to-socket",
            to,
        ])
    };

    // Refusals first: nothing made in the second daemon.
    let (code, _, refused) = restore_secret();
    assert!(code == Some(1) && refused.starts_with("InvalidParameter") && refused.contains(&key), "{refused}");
    let (code, _, refused) = restore_key("hard2");
    assert!(code == Some(1) && refused.starts_with("InvalidParameter"), "a hardware target: {refused}");
    let (code, _, refused) = restore_key("nope");
    assert!(code == Some(1) && refused.contains("nope"), "an unknown instance: {refused}");
    let (code, _, refused) = second.cli_outcome(&["key", "describe", &key]);
    assert_eq!(code, Some(1), "no key yet: {refused}");

    // The key: its id, both versions, its alias; the first's ciphertext decrypts.
    let (code, out, err) = restore_key("soft2");
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&key) && out.contains("alias/orders"), "{out}");
    let described = second.cli_json(&["key", "describe", &key]);
    assert_eq!(text(&described["KeyMetadata"], "DKMSInstanceId"), "soft2");
    let versions = second.cli_json(&["key", "list-versions", &key]);
    assert_eq!(versions["KeyVersions"].as_array().map(Vec::len), Some(2), "{versions}");
    let decrypted = second.cli_json(&["decrypt", "--ciphertext-blob", &blob]);
    assert_eq!(text(&decrypted, "KeyId"), key);
    assert_eq!(
        p11kms_proto::bytes::from_base64(&text(&decrypted, "Plaintext")).expect("base64"),
        b"order 7",
        "decrypts in the second daemon"
    );
    let (code, _, refused) = restore_key("soft2");
    assert!(code == Some(1) && refused.starts_with("Rejected.ResourceExist"), "already there: {refused}");

    // The secret, now that its key is there.
    let (code, out, err) = restore_secret();
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("db") && out.contains("v1"), "{out}");
    let value = second.cli_json(&["secret", "get-value", "db"]);
    assert_eq!(text(&value, "SecretData"), "pw-1");
    let log = second.log();
    assert!(!log.contains("pw-1"), "no secret value in the destination's log");
}
