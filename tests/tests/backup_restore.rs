//! Restoring from backups through the CLI, on SoftHSM, on the test clock:
//! keys of a software instance deleted for good come back from its backup
//! (their material unwrapped in the HSM under the backup root key), old
//! ciphertext decrypts and old signatures verify; a secret after its key;
//! a key as of a second (point in time); and a hardware backup, refused
//! into its own instance, restores into a new instance attached to a
//! cluster restored from the mirror image.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use p11kms_tests::Daemon;
use p11kms_tests::backups::{RETAINED_SOFTWARE, create_secret_under, enabled_backup};

fn text(value: &serde_json::Value, field: &str) -> String {
    value[field].as_str().unwrap_or_else(|| panic!("{field} in {value}")).to_owned()
}

fn gone(daemon: &Daemon, key: &str) {
    daemon.cli(&["key", "schedule-deletion", key, "--pending-window-in-days", "7"]);
    daemon.cli(&["clock", "advance", "8d"]);
    let (code, _, _) = daemon.cli_outcome(&["key", "describe", key]);
    assert_eq!(code, Some(1), "{key} is destroyed");
}

#[test]
fn deleted_keys_and_secrets_come_back_from_backups() {
    let daemon = Daemon::start_with(&["--test-clock"]);
    daemon.cli_json(&["instance", "create", "soft1", "--kind", "software", "--cluster", "hsm1"]);
    let create = |args: &[&str]| {
        text(&daemon.cli_json(&[&["key", "create", "--instance", "soft1"][..], args].concat())["KeyMetadata"], "KeyId")
    };
    let aes = create(&["--key-spec", "AES_256", "--alias", "alias/orders"]);
    let ec = create(&["--key-spec", "EC_P256", "--key-usage", "SIGN/VERIFY"]);
    let blob = text(&daemon.cli_json(&["encrypt", "--key-id", &aes, "--plaintext", "order 7"]), "CiphertextBlob");
    let ec_version = daemon.key_field(&ec, "KeyMetadata.PrimaryKeyVersion").as_str().expect("version").to_owned();
    let signature = text(
        &daemon.cli_json(&[
            "sign",
            "--key-id",
            &ec,
            "--key-version-id",
            &ec_version,
            "--algorithm",
            "ECDSA_SHA_256",
            "--message",
            "m",
        ]),
        "Value",
    );
    create_secret_under(&daemon, "db", "soft1", "pw-1", &aes);
    let backup = enabled_backup(&daemon, "soft1", RETAINED_SOFTWARE);
    let day = daemon.cli_json(&["clock", "show"])["Now"].as_str().expect("now")[..10].to_owned();
    // A second at which the EC key had its first version only.
    daemon.cli(&["clock", "advance", "10m"]);
    let before_rotation = text(&daemon.cli_json(&["clock", "show"]), "Now");
    daemon.cli(&["clock", "advance", "1m"]);
    daemon.cli(&["key", "create-version", &ec]);
    daemon.cli(&["clock", "advance", "5m"]);

    daemon.cli_json(&["secret", "delete", "db", "--force-delete-without-recovery"]);
    gone(&daemon, &aes);
    gone(&daemon, &ec);

    // The secret first: its key is not there.
    let secret = |day: &str| {
        daemon.cli_outcome(&[
            "backup",
            "restore-secret",
            &backup,
            "--date",
            day,
            "--secret-name",
            "db",
            "--to-instance",
            "soft1",
        ])
    };
    let (code, _, refused) = secret(&day);
    assert_eq!(code, Some(1));
    assert!(refused.contains(&aes), "names the key to restore first: {refused}");
    let restored = daemon.cli_json(&[
        "backup",
        "restore-key",
        &backup,
        "--date",
        &day,
        "--key-id",
        &aes,
        "--to-instance",
        "soft1",
    ]);
    assert_eq!(restored["Aliases"][0], "alias/orders");
    assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob])["Plaintext"], "b3JkZXIgNw==");
    let (code, _, _) = secret(&day);
    assert_eq!(code, Some(0));
    assert_eq!(daemon.cli_json(&["secret", "get-value", "db"])["SecretData"], "pw-1");

    // The EC key as of a second before its rotation: one version.
    let restored = daemon.cli_json(&[
        "backup",
        "restore-key",
        &backup,
        "--at",
        &before_rotation,
        "--key-id",
        &ec,
        "--to-instance",
        "soft1",
    ]);
    assert_eq!(restored["KeyVersionIds"].as_array().map(Vec::len), Some(1), "{restored}");
    let verified = daemon.cli_json(&[
        "verify",
        "--key-id",
        &ec,
        "--key-version-id",
        &ec_version,
        "--algorithm",
        "ECDSA_SHA_256",
        "--message",
        "m",
        "--value",
        &signature,
    ]);
    assert_eq!(verified["Value"], true, "the old signature verifies: {verified}");
    // A drill rehearses the restore of the latest point (the restored keys,
    // once an incremental took them), in scratch HSM objects it leaves
    // nowhere.
    daemon.cli(&["clock", "advance", "5m"]);
    let (code, drill) = daemon.cli_json_outcome(&["backup", "drill", &backup]);
    assert_eq!((code, drill["Passed"].as_bool()), (Some(0), Some(true)), "{drill}");
    assert!(drill["KeyVersionsChecked"].as_u64().is_some_and(|n| n >= 2), "{drill}");
    assert_eq!(daemon.cli_json(&["backup", "describe", &backup])["LastDrill"]["Passed"], true);
    let (code, report) = daemon.cli_json_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!((code, report["Consistent"].as_bool()), (Some(0), Some(true)), "{report}");
}

#[test]
fn a_hardware_backup_restores_only_into_a_new_instance_on_a_restored_cluster() {
    let daemon = Daemon::start_with(&["--test-clock"]);
    let key = daemon.create_key(&["--key-spec", "AES_256"]);
    let blob = text(&daemon.cli_json(&["encrypt", "--key-id", &key, "--plaintext", "hw"]), "CiphertextBlob");
    // The system backup of hsm1 takes the new key at its next incremental.
    daemon.cli(&["clock", "advance", "5m"]);
    let system = daemon.cli_json(&["backup", "list", "--backup-type", "system"]);
    let backup = text(&system["Backups"][0], "BackupId");
    let day = daemon.cli_json(&["clock", "show"])["Now"].as_str().expect("now")[..10].to_owned();
    // The HSM side: a mirror image, a cluster restored from it, a new
    // hardware instance on that cluster.
    let image = text(&daemon.cli_json(&["cluster", "image", "create", "hsm1"]), "ImageId");
    daemon.cli_json(&["cluster", "restore", "--image", &image, "--name", "hsm1r", "--members", "2"]);
    daemon.cli_json(&["instance", "create", "hw2", "--kind", "hardware", "--cluster", "hsm1r"]);
    gone(&daemon, &key);

    let restore = |to: &str| {
        daemon.cli_outcome(&["backup", "restore-key", &backup, "--date", &day, "--key-id", &key, "--to-instance", to])
    };
    let (code, _, refused) = restore("hsm1");
    assert_eq!(code, Some(1));
    assert!(refused.contains("only into a new instance"), "{refused}");
    let (code, out, err) = restore("hw2");
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(daemon.key_field(&key, "KeyMetadata.DKMSInstanceId"), "hw2");
    assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob])["Plaintext"], "aHc=");
}
