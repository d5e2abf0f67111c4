//! A key's life from the admin side and through PKCS#11: enable and
//! disable, deletion protection, deletion windows and their cancellation,
//! aliases, tags, list filters, and what PKCS#11 applications see of each.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use p11kms_tests::Daemon;

#[test]
fn states_protection_and_deletion_windows() {
    let daemon = Daemon::start();
    let key = daemon.create_key(&["--key-spec", "AES_256", "--deletion-protection", "--description", "payments"]);
    assert_eq!(daemon.key_field(&key, "KeyMetadata.DeletionProtection"), "Enabled");
    daemon.cli_json(&["key", "disable", &key]);
    daemon.cli_json(&["key", "disable", &key]);
    assert_eq!(daemon.key_field(&key, "KeyMetadata.KeyState"), "Disabled", "disable is idempotent");
    assert_eq!(daemon.cli_error(&["encrypt", "--key-id", &key, "--plaintext", "x"]), "Rejected.Disabled");
    daemon.cli_json(&["key", "enable", &key]);
    let blob = daemon.cli_json(&["encrypt", "--key-id", &key, "--plaintext", "x"])["CiphertextBlob"].clone();

    assert_eq!(
        daemon.cli_error(&["key", "schedule-deletion", &key, "--pending-window-in-days", "7"]),
        "Rejected.StateModifiedFailed"
    );
    daemon.cli_json(&["key", "set-deletion-protection", &key, "--disable"]);
    for days in ["6", "367"] {
        assert_eq!(
            daemon.cli_error(&["key", "schedule-deletion", &key, "--pending-window-in-days", days]),
            "InvalidParameter"
        );
    }
    daemon.cli_json(&["key", "schedule-deletion", &key, "--pending-window-in-days", "366"]);
    assert!(daemon.key_field(&key, "KeyMetadata.DeleteDate").is_string());
    assert_eq!(
        daemon.cli_error(&["key", "schedule-deletion", &key, "--pending-window-in-days", "7"]),
        "Rejected.StateModifiedFailed"
    );
    daemon.cli_json(&["key", "cancel-deletion", &key]);
    let meta = daemon.key_field(&key, "KeyMetadata");
    assert_eq!(meta["KeyState"], "Enabled");
    assert!(meta["DeleteDate"].is_null());
    assert_eq!(meta["Description"], "payments", "cancelling restores the key unchanged");
    daemon.cli_json(&["decrypt", "--ciphertext-blob", blob.as_str().expect("blob")]);
}

#[test]
fn aliases_and_tags() {
    let daemon = Daemon::start();
    let one = daemon.create_key(&[
        "--key-spec",
        "AES_256",
        "--alias",
        "alias/app/one",
        "--tag",
        "team=payments",
        "--tag",
        "env=prod",
    ]);
    let two = daemon.create_key(&["--key-spec", "AES_128"]);
    daemon.cli_json(&["alias", "create", "alias/shared", "--key-id", "alias/app/one"]);
    assert_eq!(daemon.cli_error(&["alias", "create", "alias/shared", "--key-id", &two]), "AliasAlreadyExists");
    let reserved = daemon.cli_error(&["alias", "create", "alias/acs/kms", "--key-id", &two]);
    assert_eq!(reserved, "Rejected.UnsupportedOperation", "the service keys' space");
    assert_eq!(daemon.cli_json(&["key", "describe", "alias/shared"])["KeyMetadata"]["KeyId"], one.as_str());
    daemon.cli_json(&["alias", "update", "alias/shared", "--key-id", &two]);
    assert_eq!(daemon.cli_json(&["key", "describe", "alias/shared"])["KeyMetadata"]["KeyId"], two.as_str());
    let listed = daemon.cli_json(&["alias", "list", "--key-id", &one]);
    assert_eq!(listed["TotalCount"], 1);
    assert_eq!(listed["Aliases"][0]["AliasName"], "alias/app/one");
    assert_eq!(daemon.cli_json(&["alias", "list"])["TotalCount"], 2);
    daemon.cli_json(&["alias", "delete", "alias/shared"]);
    assert_eq!(daemon.cli_error(&["alias", "delete", "alias/shared"]), "Forbidden.AliasNotFound");

    let tags = |key: &str| daemon.cli_json(&["key", "describe", key])["Tags"].clone();
    assert_eq!(
        tags(&one),
        serde_json::json!([{"TagKey":"env","TagValue":"prod"},{"TagKey":"team","TagValue":"payments"}])
    );
    daemon.cli_json(&["key", "tag", &one, "--tag", "env=staging", "--tag", "owner=ops"]);
    assert_eq!(tags(&one)[0], serde_json::json!({"TagKey":"env","TagValue":"staging"}), "values are overwritten");
    daemon.cli_json(&["key", "untag", &one, "--tag-key", "env", "--tag-key", "absent"]);
    assert_eq!(tags(&one).as_array().expect("tags").len(), 2);
    assert_eq!(daemon.cli_error(&["key", "tag", &one, "--tag", "aliyun-x=1"]), "InvalidParameter");
    let many: Vec<String> = (0..19).flat_map(|i| ["--tag".to_owned(), format!("k{i}=v")]).collect();
    let mut args = vec!["key", "tag", one.as_str()];
    args.extend(many.iter().map(String::as_str));
    assert_eq!(daemon.cli_error(&args), "InvalidParameter", "at most 20 tags");

    daemon.cli_json(&["key", "disable", &two]);
    let filtered = |args: &[&str]| -> u64 {
        let mut full = vec!["key", "list"];
        full.extend_from_slice(args);
        daemon.cli_json(&full)["TotalCount"].as_u64().expect("count")
    };
    assert_eq!(filtered(&[]), 2);
    assert_eq!(filtered(&["--key-state", "Disabled"]), 1);
    assert_eq!(filtered(&["--key-spec", "AES_256"]), 1);
    assert_eq!(filtered(&["--alias", "alias/app/one"]), 1);
    assert_eq!(filtered(&["--key-state", "Enabled", "--key-spec", "AES_128"]), 0);
}

#[test]
fn pkcs11_sees_labels_states_and_destroys_by_scheduling() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("web", "hsm1");
    let key = daemon.create_key(&["--key-spec", "EC_P256", "--alias", "alias/first"]);
    let objects = || daemon.pkcs11_tool(&["--login", "--pin", &pin, "-O"]);
    assert!(objects().contains("label:      first"));
    daemon.cli_json(&["alias", "create", "alias/second", "--key-id", &key]);
    daemon.cli_json(&["alias", "delete", "alias/first"]);
    assert!(objects().contains("label:      second"), "the label follows the aliases: {}", objects());

    let id = daemon.cli_json(&["key", "describe", &key])["Pkcs11Id"].as_str().expect("id").to_owned();
    let dir = tempfile::tempdir().expect("dir");
    let digest = dir.path().join("digest");
    std::fs::write(&digest, [1u8; 32]).expect("digest");
    let sign = |d: &Daemon| {
        d.pkcs11_tool_output(&[
            "--login",
            "--pin",
            &pin,
            "--sign",
            "-m",
            "ECDSA",
            "--id",
            &id,
            "-i",
            digest.to_str().expect("p"),
            "-o",
            "/dev/null",
        ])
    };
    daemon.cli_json(&["key", "disable", &key]);
    let refused = sign(&daemon);
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("CKR_KEY_FUNCTION_NOT_PERMITTED"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    daemon.cli_json(&["key", "enable", &key]);
    assert!(sign(&daemon).status.success());

    // C_DestroyObject schedules the deletion; nothing is destroyed.
    daemon.pkcs11_tool(&["--login", "--pin", &pin, "--delete-object", "--type", "privkey", "--id", &id]);
    let meta = daemon.key_field(&key, "KeyMetadata");
    assert_eq!(meta["KeyState"], "PendingDeletion");
    assert!(meta["DeleteDate"].is_string());
    daemon.cli_json(&["key", "cancel-deletion", &key]);
    assert!(sign(&daemon).status.success(), "the key is back, unchanged");
}
