//! Envelope encryption over the admin API: encrypt under the primary
//! version, decrypt by the version in the blob, encryption contexts, data
//! keys, re-encryption, tamper resistance of every byte, and `rewrap`.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use p11kms_proto::bytes::{from_base64, to_base64};
use p11kms_tests::Daemon;

fn encrypt(daemon: &Daemon, key: &str, text: &str, context: Option<&str>) -> String {
    let mut args = vec!["encrypt", "--key-id", key, "--plaintext", text];
    if let Some(context) = context {
        args.extend(["--encryption-context", context]);
    }
    daemon.cli_json(&args)["CiphertextBlob"].as_str().expect("blob").to_owned()
}

fn plaintext(daemon: &Daemon, blob: &str, context: Option<&str>) -> Vec<u8> {
    let mut args = vec!["decrypt", "--ciphertext-blob", blob];
    if let Some(context) = context {
        args.extend(["--encryption-context", context]);
    }
    from_base64(daemon.cli_json(&args)["Plaintext"].as_str().expect("Plaintext")).expect("base64")
}

#[test]
fn encrypt_decrypt_and_contexts() {
    let daemon = Daemon::start();
    let key = daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/data"]);
    let blob = encrypt(&daemon, "alias/data", "card 4111", None);
    assert_eq!(plaintext(&daemon, &blob, None), b"card 4111");
    let described = daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob]);
    assert_eq!(described["KeyId"], key.as_str(), "the blob names its key");

    let context = r#"{"purpose":"billing","tenant":"42"}"#;
    let bound = encrypt(&daemon, &key, "bound", Some(context));
    assert_eq!(
        plaintext(&daemon, &bound, Some(r#"{"tenant":"42","purpose":"billing"}"#)),
        b"bound",
        "pair order does not matter"
    );
    for wrong in [None, Some(r#"{"purpose":"billing"}"#), Some(r#"{"purpose":"billing","tenant":"43"}"#)] {
        let mut args = vec!["decrypt", "--ciphertext-blob", &bound];
        if let Some(wrong) = wrong {
            args.extend(["--encryption-context", wrong]);
        }
        assert_eq!(daemon.cli_error(&args), "Rejected.InvalidCiphertext", "{wrong:?}");
    }

    assert_eq!(
        daemon.cli_error(&["encrypt", "--key-id", &key, "--plaintext", &"x".repeat(6 * 1024 + 1)]),
        "InvalidParameter"
    );
    let ec = daemon.create_key(&["--key-spec", "EC_P256"]);
    assert_eq!(daemon.cli_error(&["encrypt", "--key-id", &ec, "--plaintext", "x"]), "Rejected.UnsupportedOperation");
}

#[test]
fn every_changed_byte_of_a_blob_is_refused() {
    let daemon = Daemon::start();
    let key = daemon.create_key(&["--key-spec", "AES_128"]);
    let blob = from_base64(&encrypt(&daemon, &key, "integrity matters", None)).expect("base64");
    for position in 0..blob.len() {
        let mut changed = blob.clone();
        changed[position] ^= 0x01;
        let (code, stdout, stderr) = daemon.cli_outcome(&["decrypt", "--ciphertext-blob", &to_base64(&changed)]);
        assert_eq!(code, Some(1), "byte {position}: {stdout}");
        assert!(
            ["Rejected.InvalidCiphertext:", "Forbidden.KeyNotFound:"].iter().any(|c| stderr.starts_with(c)),
            "byte {position}: {stderr}"
        );
    }
    for cut in [0, 3, 10, blob.len() - 1] {
        let code = daemon.cli_error(&["decrypt", "--ciphertext-blob", &to_base64(&blob[..cut])]);
        assert_eq!(code, "Rejected.InvalidCiphertext", "cut at {cut}");
    }
}

#[test]
fn data_keys_and_re_encryption() {
    let daemon = Daemon::start();
    let key = daemon.create_key(&["--key-spec", "AES_256"]);
    let data_key = daemon.cli_json(&["generate-data-key", "--key-id", &key, "--encryption-context", r#"{"file":"a"}"#]);
    let plain = from_base64(data_key["Plaintext"].as_str().expect("Plaintext")).expect("base64");
    assert_eq!(plain.len(), 32, "AES_256 by default");
    let blob = data_key["CiphertextBlob"].as_str().expect("blob");
    assert_eq!(plaintext(&daemon, blob, Some(r#"{"file":"a"}"#)), plain);
    let small = daemon.cli_json(&["generate-data-key", "--key-id", &key, "--key-spec", "AES_128"]);
    assert_eq!(from_base64(small["Plaintext"].as_str().expect("Plaintext")).expect("b64").len(), 16);
    let sized = daemon.cli_json(&["generate-data-key-without-plaintext", "--key-id", &key, "--number-of-bytes", "64"]);
    assert!(sized["Plaintext"].is_null(), "without plaintext: {sized}");
    assert_eq!(plaintext(&daemon, sized["CiphertextBlob"].as_str().expect("blob"), None).len(), 64);
    for bad in ["0", "1025"] {
        assert_eq!(
            daemon.cli_error(&["generate-data-key", "--key-id", &key, "--number-of-bytes", bad]),
            "InvalidParameter",
            "{bad}"
        );
    }
    let (code, _, _) =
        daemon.cli_outcome(&["generate-data-key", "--key-id", &key, "--key-spec", "AES_128", "--number-of-bytes", "8"]);
    assert_eq!(code, Some(2), "a size by name or in bytes, not both");

    let other = daemon.create_key(&["--key-spec", "AES_128"]);
    let old = encrypt(&daemon, &key, "moving house", Some(r#"{"k":"v"}"#));
    let moved = daemon.cli_json(&[
        "re-encrypt",
        "--ciphertext-blob",
        &old,
        "--destination-key-id",
        &other,
        "--source-encryption-context",
        r#"{"k":"v"}"#,
        "--destination-encryption-context",
        r#"{"k":"w"}"#,
    ]);
    assert_eq!(moved["SourceKeyId"], key.as_str());
    assert_eq!(moved["KeyId"], other.as_str());
    assert_eq!(
        plaintext(&daemon, moved["CiphertextBlob"].as_str().expect("blob"), Some(r#"{"k":"w"}"#)),
        b"moving house"
    );
}

#[test]
fn old_versions_decrypt_after_rotations_and_rewrap_moves_them_to_the_primary() {
    let daemon = Daemon::start();
    let key = daemon.create_key(&["--key-spec", "AES_256"]);
    let mut lines = Vec::new();
    for round in 0..4 {
        lines.push(encrypt(&daemon, &key, &format!("round {round}"), None));
        if round < 3 {
            daemon.cli_json(&["key", "create-version", &key]);
        }
    }
    for (round, blob) in lines.iter().enumerate() {
        assert_eq!(
            plaintext(&daemon, blob, None),
            format!("round {round}").as_bytes(),
            "version {} still decrypts",
            round + 1
        );
    }
    let primary = daemon.key_field(&key, "KeyMetadata.PrimaryKeyVersion");
    let re = daemon.cli_json(&["re-encrypt", "--ciphertext-blob", &lines[0]]);
    assert_eq!(re["KeyVersionId"], primary, "re-encrypt moves to the primary of the same key");

    // rewrap: a file of blobs, one blank line and one broken blob.
    let dir = tempfile::tempdir().expect("dir");
    let mut input = lines.clone();
    input.insert(2, String::new());
    input.push("bm90IGEgYmxvYg==".into());
    std::fs::write(dir.path().join("blobs.txt"), input.join("\n") + "\n").expect("input");
    let (input_path, output_path) = (dir.path().join("blobs.txt"), dir.path().join("rewrapped.txt"));
    let (code, stdout, stderr) = daemon.cli_outcome(&[
        "--json",
        "rewrap",
        "--input",
        input_path.to_str().expect("path"),
        "--output",
        output_path.to_str().expect("path"),
        "--batch-size",
        "2",
    ]);
    assert_eq!(code, Some(1), "one line failed: {stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).expect("summary");
    assert_eq!(
        (
            summary["Total"].as_u64(),
            summary["Rewrapped"].as_u64(),
            summary["Unchanged"].as_u64(),
            summary["Failed"].as_u64()
        ),
        (Some(5), Some(3), Some(1), Some(1))
    );
    let output = std::fs::read_to_string(&output_path).expect("output");
    let out_lines: Vec<&str> = output.lines().collect();
    assert_eq!(out_lines.len(), input.len(), "one output line per input line");
    assert_eq!(out_lines[2], "", "blank lines stay");
    assert_eq!(*out_lines.last().expect("last"), "bm90IGEgYmxvYg==", "a failed line is kept");
    assert_eq!(out_lines[4], lines[3], "a blob already under the primary is unchanged");
    for (i, original) in [0usize, 1, 3].iter().zip([0, 1, 2]) {
        let line = out_lines[*i];
        let described = daemon.cli_json(&["decrypt", "--ciphertext-blob", line]);
        assert_eq!(described["KeyVersionId"], primary, "line {i} now under the primary");
        assert_eq!(
            from_base64(described["Plaintext"].as_str().expect("p")).expect("b64"),
            format!("round {original}").as_bytes()
        );
    }
}
