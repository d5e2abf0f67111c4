//! Bring your own key: EXTERNAL keys wait for material, take it wrapped
//! under an HSM-made RSA key with each wrapping algorithm, only ever the
//! same material, lose it on deletion or expiry, and take it back.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use p11kms_proto::bytes::from_base64;
use p11kms_tests::Daemon;

const MATERIAL: [u8; 32] = [0x42; 32];

fn objects(daemon: &Daemon) -> Vec<u64> {
    let status = daemon.cli_json(&["cluster", "status", "hsm1"]);
    status["Members"].as_array().expect("members").iter().map(|m| m["ObjectCount"].as_u64().expect("count")).collect()
}

fn seal(daemon: &Daemon, key: &str) -> String {
    daemon.cli_json(&["encrypt", "--key-id", key, "--plaintext", "byok data"])["CiphertextBlob"]
        .as_str()
        .expect("blob")
        .to_owned()
}

#[test]
fn each_wrapping_algorithm_imports_the_material_inside_the_hsm() {
    let daemon = Daemon::start();
    for algorithm in ["RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1", "RSAES_PKCS1_V1_5"] {
        let key = daemon.create_key(&["--key-spec", "AES_256", "--origin", "EXTERNAL"]);
        let meta = daemon.key_field(&key, "KeyMetadata");
        assert_eq!((meta["KeyState"].as_str(), meta["Origin"].as_str()), (Some("PendingImport"), Some("EXTERNAL")));
        assert_eq!(daemon.cli_error(&["encrypt", "--key-id", &key, "--plaintext", "x"]), "Rejected.PendingImport");
        let (code, _, stderr) = daemon.import_material(&key, &MATERIAL, algorithm, &[]);
        assert_eq!(code, Some(0), "{algorithm}: {stderr}");
        assert_eq!(daemon.key_field(&key, "KeyMetadata.KeyState"), "Enabled");
        let blob = seal(&daemon, &key);
        let opened = daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob]);
        assert_eq!(from_base64(opened["Plaintext"].as_str().expect("p")).expect("b64"), b"byok data");
    }
    assert_eq!(objects(&daemon), vec![3, 3, 3], "each key's material on every member, wrapping keys gone");
}

#[test]
fn only_the_same_material_is_taken_again() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("p11kmsd.toml");
    std::fs::write(&config, "clock = \"manual\"\n").expect("config");
    let daemon = Daemon::start_with(&["--config", config.to_str().expect("path")]);
    let key = daemon.create_key(&["--key-spec", "AES_256", "--origin", "EXTERNAL"]);
    let now = daemon.cli_json(&["clock", "show"]);
    let now = p11kms_proto::Timestamp::parse_rfc3339(now["Now"].as_str().expect("Now")).expect("time").unix();
    let expire = (now + 86_400).to_string();
    let (code, _, stderr) =
        daemon.import_material(&key, &MATERIAL, "RSAES_OAEP_SHA_1", &["--key-material-expire-unix", &expire]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(daemon.key_field(&key, "KeyMetadata.MaterialExpireTime").is_string());
    let blob = seal(&daemon, &key);

    // Different material is refused and changes nothing.
    let (code, _, stderr) = daemon.import_material(&key, &[0x43; 32], "RSAES_OAEP_SHA_1", &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.starts_with("InvalidParameter: "), "{stderr}");
    assert_eq!(daemon.key_field(&key, "KeyMetadata.KeyState"), "Enabled");
    let (code, _, stderr) = daemon.import_material(&key, &[0x42; 16], "RSAES_OAEP_SHA_1", &[]);
    assert_eq!(code, Some(1), "128-bit material for an AES_256 key: {stderr}");

    // The material expires: unusable until imported again.
    daemon.cli_json(&["clock", "advance", "1d"]);
    assert_eq!(daemon.key_field(&key, "KeyMetadata.KeyState"), "PendingImport");
    assert_eq!(daemon.cli_error(&["decrypt", "--ciphertext-blob", &blob]), "Rejected.PendingImport");
    assert_eq!(objects(&daemon), vec![0, 0, 0], "the material left every member");
    let (code, _, _) = daemon.import_material(&key, &[0x44; 32], "RSAES_OAEP_SHA_256", &[]);
    assert_eq!(code, Some(1), "still only the same material");
    let (code, _, stderr) = daemon.import_material(&key, &MATERIAL, "RSAES_OAEP_SHA_256", &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(daemon.key_field(&key, "KeyMetadata.MaterialExpireTime").is_null(), "no expiry this time");
    let opened = daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob]);
    assert_eq!(
        from_base64(opened["Plaintext"].as_str().expect("p")).expect("b64"),
        b"byok data",
        "old ciphertext decrypts again"
    );

    // Deleting the material works the same way.
    daemon.cli_json(&["key", "delete-key-material", &key]);
    assert_eq!(daemon.key_field(&key, "KeyMetadata.KeyState"), "PendingImport");
    assert_eq!(daemon.cli_error(&["key", "delete-key-material", &key]), "Rejected.StateModifiedFailed");
    let (code, _, _) = daemon.import_material(&key, &MATERIAL, "RSAES_PKCS1_V1_5", &[]);
    assert_eq!(code, Some(0));
}

#[test]
fn import_tokens_belong_to_one_key_and_expire_after_a_day() {
    let daemon = Daemon::start_with(&["--test-clock"]);
    let first = daemon.create_key(&["--key-spec", "AES_256", "--origin", "EXTERNAL"]);
    let second = daemon.create_key(&["--key-spec", "AES_256", "--origin", "EXTERNAL"]);
    let (token, wrapped) = daemon.wrap_for_import(&first, &MATERIAL, "RSAES_OAEP_SHA_256");
    let args = |key: &str| -> Vec<String> {
        ["key", "import-key-material", key, "--import-token", &token, "--encrypted-key-material", &wrapped]
            .map(String::from)
            .to_vec()
    };
    let other: Vec<String> = args(&second);
    assert_eq!(daemon.cli_error(&other.iter().map(String::as_str).collect::<Vec<_>>()), "InvalidParameter");
    daemon.cli_json(&["clock", "advance", "25h"]);
    let expired: Vec<String> = args(&first);
    assert_eq!(daemon.cli_error(&expired.iter().map(String::as_str).collect::<Vec<_>>()), "InvalidParameter");
    assert_eq!(daemon.key_field(&first, "KeyMetadata.KeyState"), "PendingImport");
    let bogus = ["key", "import-key-material", &first, "--import-token", "nope", "--encrypted-key-material", &wrapped];
    assert_eq!(daemon.cli_error(&bogus), "InvalidParameter");
    assert_eq!(
        daemon.cli_error(&["key", "create", "--instance", "hsm1", "--key-spec", "RSA_2048", "--origin", "EXTERNAL"]),
        "InvalidParameter"
    );
    let kms = daemon.create_key(&["--key-spec", "AES_256"]);
    assert_eq!(
        daemon.cli_error(&["key", "get-parameters-for-import", &kms, "--wrapping-algorithm", "RSAES_OAEP_SHA_1"]),
        "Rejected.UnsupportedOperation"
    );
}
