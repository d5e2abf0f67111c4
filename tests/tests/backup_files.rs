//! Backup data files between two daemons, through the CLI, on SoftHSM and
//! the test clock: a software instance's backup downloaded from the first
//! (`backup download`, its key printed once) and uploaded into the second
//! (`backup upload`), listed there as an `upload` backup, its day shown,
//! its key and secret restored into the second daemon's instance, where
//! data encrypted in the first decrypts. A changed byte, a wrong key and
//! a file of another kind are refused and leave no backup; an existing
//! file is not overwritten without `--force`; and the decryption key is in
//! no file of either state directory nor in either log.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use p11kms_proto::bytes::from_base64;
use p11kms_tests::Daemon;
use p11kms_tests::backups::{RETAINED_SOFTWARE, create_secret_under, enabled_backup};

fn text(value: &serde_json::Value, field: &str) -> String {
    value[field].as_str().unwrap_or_else(|| panic!("{field} in {value}")).to_owned()
}

/// Every file under `dir` holding `needle`.
fn holding(dir: &Path, needle: &[u8], found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            holding(&path, needle, found);
        } else if std::fs::read(&path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)) {
            found.push(path.display().to_string());
        }
    }
}

fn uploads(daemon: &Daemon) -> usize {
    let list = daemon.cli_json(&["backup", "list", "--backup-type", "upload"]);
    list["Backups"].as_array().map_or(0, Vec::len)
}

#[test]
fn a_backup_downloaded_from_one_daemon_is_uploaded_and_restored_in_another() {
    let first = Daemon::start_with(&["--test-clock"]);
    let second = Daemon::start_with(&["--test-clock"]);
    let files = tempfile::tempdir().expect("dir");

    first.cli_json(&["instance", "create", "soft1", "--kind", "software", "--cluster", "hsm1"]);
    let create = |args: &[&str]| {
        text(&first.cli_json(&[&["key", "create", "--instance", "soft1"][..], args].concat())["KeyMetadata"], "KeyId")
    };
    let aes = create(&["--key-spec", "AES_256", "--alias", "alias/orders"]);
    let ec = create(&["--key-spec", "EC_P256", "--key-usage", "SIGN/VERIFY"]);
    first.cli_json(&["key", "create-version", &aes]);
    let blob = text(&first.cli_json(&["encrypt", "--key-id", &aes, "--plaintext", "order 7"]), "CiphertextBlob");
    create_secret_under(&first, "db", "soft1", "pw-1", &aes);
    let backup = enabled_backup(&first, "soft1", RETAINED_SOFTWARE);
    first.cli(&["clock", "advance", "5m"]);
    let day = first.cli_json(&["clock", "show"])["Now"].as_str().expect("now")[..10].to_owned();

    // Download: the file (mode 0600) and its key, once.
    let file = files.path().join("soft1.bk");
    let path = file.to_str().expect("utf-8");
    let download = ["backup", "download", &backup, "--date", &day, "--output", path];
    let out = first.cli(&download);
    assert!(out.status.success(), "download: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shown this once"), "the warning");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let key_line = stdout.lines().find(|l| l.starts_with("DecryptionKey:")).expect("the key is printed");
    let key = key_line.split_whitespace().last().expect("key").to_owned();
    assert_eq!(from_base64(&key).expect("base64").len(), 32);
    let meta = std::fs::metadata(&file).expect("written");
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777, 0o600);
    let bytes = std::fs::read(&file).expect("read");
    assert!(bytes.starts_with(b"P11KMSBK"));
    assert!(!bytes.windows(4).any(|w| w == b"pw-1"), "nothing in clear");
    // Not overwritten without --force; with it, a new file under a new key.
    let (code, _, refused) = first.cli_outcome(&download);
    assert_eq!(code, Some(2), "{refused}");
    assert!(refused.contains("--force"), "{refused}");
    assert_eq!(std::fs::read(&file).expect("kept"), bytes);
    let again = files.path().join("again.bk");
    let again_key = text(
        &first.cli_json(&["backup", "download", &backup, "--date", &day, "--output", again.to_str().expect("utf-8")]),
        "DecryptionKey",
    );
    assert_ne!(again_key, key, "a key per download");
    let never = files.path().join("never.bk");
    let never_path = never.to_str().expect("utf-8");
    let (code, _, refused) =
        first.cli_outcome(&["backup", "download", &backup, "--date", "2000-01-01", "--output", never_path]);
    assert!(code == Some(1) && refused.starts_with("InvalidParameter"), "a day outside the viewable days: {refused}");
    assert!(!never.exists(), "no file for a refused download");

    // Refusals in the second daemon: nothing imported.
    second.cli_json(&["instance", "create", "soft1", "--kind", "software", "--cluster", "hsm1"]);
    let upload = |input: &Path, key: &str| {
        second.cli_outcome(&[
            "backup",
            "upload",
            "--input",
            input.to_str().expect("utf-8"),
            "--decryption-key",
            key,
            "--name",
            "from-first",
        ])
    };
    let tampered = files.path().join("tampered.bk");
    let mut changed = bytes.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 0x20;
    std::fs::write(&tampered, &changed).expect("written");
    let (code, _, refused) = upload(&tampered, &key);
    assert_eq!(code, Some(1), "{refused}");
    assert!(refused.starts_with("InvalidParameter") && refused.contains("does not authenticate"), "{refused}");
    let (code, _, refused) = upload(&file, &again_key);
    assert_eq!(code, Some(1), "{refused}");
    assert!(refused.contains("decryption key is not"), "{refused}");
    let cut = files.path().join("cut.bk");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).expect("written");
    let (code, _, refused) = upload(&cut, &key);
    assert!(code == Some(1) && refused.contains("cut"), "{refused}");
    let other = files.path().join("other.bk");
    std::fs::write(&other, b"SQLite format 3\0 and more").expect("written");
    let (code, _, refused) = upload(&other, &key);
    assert!(code == Some(2) && refused.contains("not a p11kms backup data file"), "{refused}");
    assert_eq!(uploads(&second), 0, "no backup from a refused file");
    let transfers = second.state_dir().join("backups/uploads");
    assert_eq!(std::fs::read_dir(&transfers).map(Iterator::count).unwrap_or(0), 0, "no chunk left behind");

    // The upload, its key read from a file (out of the process list).
    let key_file = files.path().join("decryption.key");
    std::fs::write(&key_file, format!("{key}\n")).expect("key file");
    let (code, out, err) = second.cli_outcome(&[
        "backup",
        "upload",
        "--input",
        file.to_str().expect("utf-8"),
        "--decryption-key-file",
        key_file.to_str().expect("utf-8"),
        "--name",
        "from-first",
    ]);
    std::fs::remove_file(&key_file).expect("the key file goes");
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("upload"), "{out}");
    let list = second.cli_json(&["backup", "list"]);
    let uploaded = list["Backups"]
        .as_array()
        .expect("backups")
        .iter()
        .find(|b| b["BackupType"] == "upload")
        .expect("an upload backup")
        .clone();
    assert_eq!((uploaded["Status"].as_str(), uploaded["Alias"].as_str()), (Some("Disabled"), Some("from-first")));
    let id = text(&uploaded, "BackupId");
    let shown = second.cli_json(&["backup", "show", &id, "--date", &day]);
    let mut keys: Vec<String> = shown["FullyBackedUpKeys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["KeyId"].as_str().expect("id").to_owned())
        .collect();
    keys.sort();
    let mut expected = vec![aes.clone(), ec.clone()];
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(shown["FullyBackedUpSecrets"][0]["SecretName"], "db");

    // Restored in the second daemon; the first's ciphertext decrypts there.
    for key_id in [&aes, &ec] {
        second.cli_json(&["backup", "restore-key", &id, "--date", &day, "--key-id", key_id, "--to-instance", "soft1"]);
    }
    second.cli_json(&[
        "backup",
        "restore-secret",
        &id,
        "--date",
        &day,
        "--secret-name",
        "db",
        "--to-instance",
        "soft1",
    ]);
    assert_eq!(second.cli_json(&["decrypt", "--ciphertext-blob", &blob])["Plaintext"], "b3JkZXIgNw==");
    assert_eq!(second.cli_json(&["secret", "get-value", "db"])["SecretData"], "pw-1");
    assert_eq!(second.cli_json(&["key", "describe", "alias/orders"])["KeyMetadata"]["KeyId"], aes.as_str());
    let ec_version = first.key_field(&ec, "KeyMetadata.PrimaryKeyVersion").as_str().expect("version").to_owned();
    let signed = second.cli_json(&[
        "sign",
        "--key-id",
        &ec,
        "--key-version-id",
        &ec_version,
        "--algorithm",
        "ECDSA_SHA_256",
        "--message",
        "m",
    ]);
    let verified = first.cli_json(&[
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
        &text(&signed, "Value"),
    ]);
    assert_eq!(verified["Value"], true, "the same EC key in both daemons: {verified}");

    // The keys are nowhere in either daemon's files or logs.
    for secret in [&key, &again_key] {
        let raw = from_base64(secret).expect("base64");
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        for daemon in [&first, &second] {
            for needle in [secret.as_bytes(), &raw[..], hex.as_bytes()] {
                let mut found = Vec::new();
                holding(daemon.state_dir(), needle, &mut found);
                assert!(found.is_empty(), "the decryption key is in {found:?}");
            }
            assert!(!daemon.log().contains(secret.as_str()), "the decryption key is in a log");
        }
    }
    let exports = first.state_dir().join("backups/exports");
    assert_eq!(std::fs::read_dir(&exports).map(Iterator::count).unwrap_or(0), 0, "downloads go once fetched");
}
