//! Keys from the admin side (`p11kms key ...`): every supported KeySpec,
//! aliases, metadata, the errors the spec names, and the cluster holding
//! every version on every member before `create` returns.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use p11kms_tests::Daemon;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn keys_of_every_spec_are_created_described_listed_and_mirrored() {
    let daemon = Daemon::start();
    let specs = [
        ("EC_P256", "SIGN/VERIFY"),
        ("RSA_2048", "ENCRYPT/DECRYPT"),
        ("RSA_3072", "ENCRYPT/DECRYPT"),
        ("AES_256", "ENCRYPT/DECRYPT"),
    ];
    let mut ids = Vec::new();
    for (spec, usage) in specs {
        let alias = format!("alias/{}", spec.to_lowercase());
        let created = daemon.cli_json(&["key", "create", "--instance", "hsm1", "--key-spec", spec, "--alias", &alias]);
        let meta = &created["KeyMetadata"];
        assert_eq!(meta["KeySpec"], spec);
        assert_eq!(meta["KeyUsage"], usage, "{spec} gets the spec's default usage");
        assert_eq!(meta["KeyState"], "Enabled");
        assert_eq!(meta["Origin"], "Aliyun_KMS");
        assert_eq!(meta["ProtectionLevel"], "HSM");
        assert_eq!(meta["DKMSInstanceId"], "hsm1");
        assert!(meta["KeyId"].as_str().expect("KeyId").starts_with("key-"));
        assert!(meta["CreationDate"].as_str().expect("date").ends_with('Z'));
        assert_eq!(meta["PrimaryKeyVersion"].as_str().expect("version").len(), 36);
        assert_eq!(created["Aliases"][0], alias.as_str());
        // The alias and the id name the same key.
        let by_alias = daemon.cli_json(&["key", "describe", &alias]);
        let by_id = daemon.cli_json(&["key", "describe", meta["KeyId"].as_str().expect("id")]);
        assert_eq!(by_alias, by_id);
        assert_eq!(by_alias["KeyMetadata"], *meta);
        let versions = daemon.cli_json(&["key", "list-versions", &alias]);
        assert_eq!(versions["TotalCount"], 1);
        assert_eq!(versions["KeyVersions"][0]["KeyVersionId"], meta["PrimaryKeyVersion"]);
        ids.push(meta["KeyId"].as_str().expect("id").to_owned());
    }
    let signing_rsa = daemon.cli_json(&[
        "key",
        "create",
        "--instance",
        "hsm1",
        "--key-spec",
        "RSA_2048",
        "--key-usage",
        "SIGN/VERIFY",
    ]);
    assert_eq!(signing_rsa["KeyMetadata"]["KeyUsage"], "SIGN/VERIFY");

    let list = daemon.cli_json(&["key", "list", "--instance", "hsm1"]);
    assert_eq!(list["TotalCount"], 5);
    let listed: Vec<&str> =
        list["Keys"].as_array().expect("keys").iter().filter_map(|k| k["KeyMetadata"]["KeyId"].as_str()).collect();
    for id in &ids {
        assert!(listed.contains(&id.as_str()), "{id} is listed");
    }
    let instance = daemon.cli_json(&["instance", "describe", "hsm1"]);
    assert_eq!(instance["KeyCount"], 5);
    assert_eq!(instance["KeyVersionCount"], 5);

    let status = daemon.cli_json(&["cluster", "status", "hsm1"]);
    assert_eq!(status["ExpectedObjects"], 5);
    let members = status["Members"].as_array().expect("members");
    assert_eq!(members.len(), 3);
    assert_eq!(members.iter().filter(|m| m["Role"] == "primary").count(), 1);
    for member in members {
        assert_eq!(member["Health"], "healthy", "{member}");
        assert_eq!(member["InSync"], true, "{member}");
        assert_eq!(member["ObjectCount"], 5, "every member holds every version: {member}");
    }
}

#[test]
fn errors_carry_the_spec_codes() {
    let daemon = Daemon::start();
    daemon.cli_json(&["key", "create", "--instance", "hsm1", "--key-spec", "AES_256", "--alias", "alias/taken"]);
    let cases: &[(&[&str], &str)] = &[
        (&["key", "describe", "key-00000000000000000000000000000000"], "Forbidden.KeyNotFound"),
        (&["key", "describe", "alias/nothing"], "Forbidden.AliasNotFound"),
        (
            &["key", "create", "--instance", "hsm1", "--key-spec", "AES_256", "--alias", "alias/taken"],
            "AliasAlreadyExists",
        ),
        (
            &["key", "create", "--instance", "hsm1", "--key-spec", "EC_P256", "--key-usage", "ENCRYPT/DECRYPT"],
            "InvalidParameter",
        ),
        (&["key", "create", "--instance", "hsm1", "--key-spec", "AES_256", "--alias", "no-prefix"], "InvalidParameter"),
        (
            // The service keys' space (`tests/service_keys.rs`).
            &["key", "create", "--instance", "hsm1", "--key-spec", "AES_256", "--alias", "alias/acs/kms"],
            "Rejected.UnsupportedOperation",
        ),
        (&["key", "create", "--instance", "nowhere", "--key-spec", "AES_256"], "Forbidden.ResourceNotFound"),
        (&["instance", "attach-cluster", "default", "hsm1"], "InvalidParameter"),
        (&["app", "create", "web", "--instance", "nowhere"], "Forbidden.ResourceNotFound"),
        (&["app", "create", "bad name", "--instance", "hsm1"], "InvalidParameter"),
        (&["cluster", "status", "nowhere"], "Forbidden.ResourceNotFound"),
    ];
    for (args, code) in cases {
        let out = daemon.cli(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).starts_with(&format!("{code}: ")), "{args:?}: {}", stderr(&out));
    }
    daemon.create_app("web", "hsm1");
    let out = daemon.cli(&["app", "create", "web", "--instance", "hsm1"]);
    assert!(stderr(&out).starts_with("Rejected.ResourceExist: "), "{}", stderr(&out));
    // Nothing half-created: one key, one version, on every member.
    assert_eq!(daemon.cli_json(&["key", "list"])["TotalCount"], 1);
    let status = daemon.cli_json(&["cluster", "status", "hsm1"]);
    assert!(status["Members"].as_array().expect("members").iter().all(|m| m["ObjectCount"] == 1));
}

#[test]
fn a_full_quota_refuses_new_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("p11kmsd.toml");
    std::fs::write(&config, "[instances]\nkey_quota = 2\n").expect("config");
    let daemon = Daemon::start_with(&["--config", config.to_str().expect("utf-8 path")]);
    for _ in 0..2 {
        daemon.cli_json(&["key", "create", "--instance", "hsm1", "--key-spec", "AES_128"]);
    }
    let out = daemon.cli(&["key", "create", "--instance", "hsm1", "--key-spec", "AES_128"]);
    assert!(stderr(&out).starts_with("Rejected.LimitExceeded: "), "{}", stderr(&out));
    assert_eq!(daemon.cli_json(&["instance", "describe", "hsm1"])["KeyVersionCount"], 2);
}

#[test]
fn apps_are_listed_described_and_deleted_and_pins_are_never_shown_again() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("web", "hsm1");
    assert_eq!(pin.len(), 32);
    let human = daemon.cli(&["app", "create", "api", "--instance", "hsm1"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("shown only once"));
    assert!(String::from_utf8_lossy(&human.stdout).contains("no policy yet"), "an app without a policy is told so");
    assert_eq!(
        policy_of(&daemon, "api")["Statement"],
        serde_json::json!([]),
        "the API's Policy is the document's text"
    );
    let apps = daemon.cli_json(&["app", "list"]);
    assert_eq!(apps["Apps"].as_array().expect("apps").len(), 2);
    assert_eq!(apps["TotalCount"], 2);
    let web = daemon.cli_json(&["app", "describe", "web"]);
    assert_eq!(web["Instance"], "hsm1");
    assert!(!web.to_string().contains(&pin), "describe never shows the PIN");
    assert!(daemon.cli(&["app", "delete", "web"]).status.success());
    let out = daemon.cli(&["app", "describe", "web"]);
    assert!(stderr(&out).starts_with("Forbidden.ResourceNotFound: "));
    let db = std::fs::read(daemon.state_dir().join("p11kms.db")).expect("db");
    assert!(!db.windows(pin.len()).any(|w| w == pin.as_bytes()), "the store never holds the PIN");
}

#[test]
fn policies_are_checked_on_the_way_in_and_shown_by_describe() {
    let daemon = Daemon::start();
    let dir = tempfile::tempdir().expect("dir");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("policy file");
        path.to_str().expect("utf-8").to_owned()
    };
    let typo =
        write("typo.json", r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:Sing","Resource":"*"}]}"#);
    let resource = write(
        "resource.json",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:Sign","Resource":"keys/x"}]}"#,
    );
    let good = write(
        "good.json",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:Sign","Resource":"alias/web-*"}]}"#,
    );
    for (file, says) in
        [(&typo, "kms:Sing"), (&resource, "keys/x"), (&"/nonexistent/policy.json".to_owned(), "policy.json")]
    {
        let out = daemon.cli(&["app", "create", "web", "--instance", "hsm1", "--policy", file]);
        assert_ne!(out.status.code(), Some(0));
        assert!(stderr(&out).contains(says), "{file}: {}", stderr(&out));
    }
    let out = daemon.cli(&["app", "create", "web", "--instance", "hsm1", "--policy", &typo]);
    assert!(stderr(&out).starts_with("InvalidParameter: "), "{}", stderr(&out));
    assert_eq!(daemon.cli_json(&["app", "list"])["TotalCount"], 0, "nothing half-created");

    daemon.create_app_with_policy("web", "hsm1", &std::fs::read_to_string(&good).expect("read"));
    let described = policy_of(&daemon, "web");
    assert_eq!(described["Statement"][0]["Resource"], "alias/web-*");
    let out = daemon.cli(&["app", "update-policy", "web", "--policy", &typo]);
    assert!(stderr(&out).starts_with("InvalidParameter: "), "{}", stderr(&out));
    assert_eq!(policy_of(&daemon, "web"), described, "the policy in force stays");
    daemon.update_app_policy("web", p11kms_proto::admin::app::FULL_ACCESS_POLICY);
    assert_eq!(policy_of(&daemon, "web")["Statement"][0]["Action"][0], "kms:*");
}

/// App `name`'s policy document, parsed from `app describe --json`.
fn policy_of(daemon: &Daemon, name: &str) -> serde_json::Value {
    let text = daemon.cli_json(&["app", "describe", name])["Policy"].as_str().expect("Policy").to_owned();
    serde_json::from_str(&text).expect("the policy is JSON")
}
