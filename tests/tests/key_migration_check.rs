//! The CMK migration diagnostic through the CLI (`key check-migration`):
//! a key outside the default instance is refused with every reason that
//! applies to it (rotation on, several versions, ReEncrypt used, imported
//! material, a service key), in the human table and in `--json`; without
//! a key, the default instance's CMKs are listed (none today); an unknown
//! key is `Forbidden.KeyNotFound`.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use serde_json::Value;

use p11kms_tests::Daemon;

fn codes(check: &Value) -> Vec<String> {
    check["Reasons"].as_array().expect("reasons").iter().map(|r| r["Code"].as_str().expect("code").to_owned()).collect()
}

fn check(daemon: &Daemon, key: &str) -> Value {
    daemon.cli_json(&["key", "check-migration", key])["Keys"][0].clone()
}

#[test]
fn the_diagnostic_gives_every_reason_of_the_spec() {
    let daemon = Daemon::start();
    let plain = daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/plain"]);
    let plain_check = check(&daemon, "alias/plain");
    assert_eq!(plain_check["KeyId"], plain.as_str());
    assert_eq!(plain_check["Migratable"], false);
    assert_eq!(plain_check["KeyManagerType"], "CMK");
    assert_eq!(codes(&plain_check), ["NotInDefaultInstance"]);

    let busy = daemon.create_key(&[
        "--key-spec",
        "AES_256",
        "--alias",
        "alias/busy",
        "--enable-automatic-rotation",
        "--rotation-interval",
        "30d",
    ]);
    daemon.cli_json(&["key", "create-version", &busy]);
    let blob = daemon.cli_json(&["encrypt", "--key-id", &busy, "--plaintext", "x"])["CiphertextBlob"]
        .as_str()
        .expect("blob")
        .to_owned();
    daemon.cli_json(&["re-encrypt", "--ciphertext-blob", &blob, "--destination-key-id", &plain]);
    assert_eq!(
        codes(&check(&daemon, &busy)),
        ["NotInDefaultInstance", "AutomaticRotationEnabled", "MultipleVersions", "UsedWithExportOperations"]
    );
    assert!(codes(&check(&daemon, &plain)).contains(&"UsedWithExportOperations".to_owned()), "the destination too");

    let external = daemon.create_key(&["--key-spec", "AES_256", "--origin", "EXTERNAL"]);
    assert!(codes(&check(&daemon, &external)).contains(&"ExternalKeyMaterial".to_owned()));

    // The secrets service key of hsm1.
    daemon.create_secret("db", "hsm1", b"pw", false);
    let service = check(&daemon, "alias/acs/secrets/hsm1");
    assert_eq!(service["KeyManagerType"], "Service Key");
    assert_eq!(codes(&service)[0], "ServiceKey");

    // The human table says why not.
    let out = daemon.cli(&["key", "check-migration", "alias/busy"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("MIGRATABLE") && text.contains("MultipleVersions: it has 2 versions"), "{text}");

    // Every CMK of the default instance: none can be made there yet.
    let all = daemon.cli_json(&["key", "check-migration"]);
    assert_eq!(all["Keys"], serde_json::json!([]));
    let out = daemon.cli(&["key", "check-migration"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to migrate"));

    let out = daemon.cli(&["key", "check-migration", "key-nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("Forbidden.KeyNotFound: "));
}
