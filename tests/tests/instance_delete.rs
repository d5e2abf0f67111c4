//! `p11kms instance delete` through the CLI, on a real daemon: an instance
//! made on the bootstrap cluster `hsm1`, with keys, a secret and an app
//! that has logged in, is refused without `--force` (naming what is in
//! the way), deleted with it; its slot is gone from `pkcs11-tool -L`, from
//! `instance list`, also after a restart, and the cluster it used still
//! verifies, with the keys of `hsm1` intact.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use serde_json::Value;

use p11kms_tests::Daemon;

fn instance_names(daemon: &Daemon) -> Vec<String> {
    let list = daemon.cli_json(&["instance", "list"]);
    list["Instances"].as_array().expect("a list").iter().map(|i| i["Name"].as_str().expect("name").to_owned()).collect()
}

fn verified(daemon: &Daemon) -> Value {
    let (code, report) = daemon.cli_json_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!((code, report["Consistent"].as_bool()), (Some(0), Some(true)), "{report}\n{}", daemon.log());
    report
}

#[test]
fn an_instance_is_refused_while_in_use_and_deleted_with_force() {
    let mut daemon = Daemon::start();
    let kept = daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/kept"]);
    let created = daemon.cli_json(&["instance", "create", "doomed", "--kind", "software", "--cluster", "hsm1"]);
    let slot = created["SlotId"].as_u64().expect("slot id");
    let k1 = daemon.cli_json(&[
        "key",
        "create",
        "--instance",
        "doomed",
        "--key-spec",
        "AES_256",
        "--alias",
        "alias/d1",
    ])["KeyMetadata"]["KeyId"]
        .as_str()
        .expect("key id")
        .to_owned();
    daemon.cli_json(&["key", "create", "--instance", "doomed", "--key-spec", "EC_P256"]);
    daemon.create_secret("doomed/db", "doomed", b"a password", false);
    let pin = daemon.create_app("doomed-app", "doomed");
    assert!(daemon.pkcs11_tool(&["-L"]).contains("doomed"), "the new slot is listed");
    // The app uses its slot: a login and a list of its objects.
    let objects = daemon.pkcs11_tool(&["--token-label", "doomed", "--login", "--pin", &pin, "-O"]);
    assert!(objects.contains("d1"), "{objects}");
    let before = verified(&daemon);

    // Refused without --force: what is in the way is named, and what to do.
    let (code, _, stderr) = daemon.cli_outcome(&["instance", "delete", "doomed"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.starts_with("Rejected.StateModifiedFailed"), "{stderr}");
    for expected in
        ["2 keys not pending deletion", &k1, "1 secret not pending deletion (doomed/db)", "1 app (doomed-app)"]
    {
        assert!(stderr.contains(expected), "{expected:?} missing: {stderr}");
    }
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(daemon.cli_error(&["instance", "delete", "default", "--force"]), "InvalidParameter");
    assert_eq!(daemon.cli_error(&["instance", "delete", "nope"]), "Forbidden.ResourceNotFound");
    assert!(instance_names(&daemon).contains(&"doomed".to_owned()), "nothing changed");

    // With --force: the reply is the instance as it was.
    let deleted = daemon.cli_json(&["instance", "delete", "doomed", "--force"]);
    assert_eq!(deleted["Name"], "doomed");
    assert_eq!(deleted["SlotId"].as_u64(), Some(slot));
    assert_eq!(deleted["Cluster"], "hsm1");
    assert_eq!(deleted["KeyCount"], 3, "two keys and the secrets' service key: {deleted}");
    assert_eq!(deleted["SecretCount"], 1);
    assert!(daemon.log().contains("instance deleted"), "logged");

    let gone = |daemon: &Daemon| {
        assert!(!instance_names(daemon).contains(&"doomed".to_owned()));
        assert!(!daemon.pkcs11_tool(&["-L"]).contains("doomed"), "its slot is gone");
        assert_eq!(daemon.cli_error(&["instance", "describe", "doomed"]), "Forbidden.ResourceNotFound");
        assert_eq!(daemon.cli_error(&["key", "describe", &k1]), "Forbidden.KeyNotFound");
        assert_eq!(daemon.cli_error(&["key", "describe", "alias/d1"]), "Forbidden.AliasNotFound");
        assert_eq!(daemon.cli_error(&["secret", "describe", "doomed/db"]), "Forbidden.ResourceNotFound");
        assert_eq!(daemon.cli_error(&["app", "describe", "doomed-app"]), "Forbidden.ResourceNotFound");
        // hsm1 and its key are untouched; the cluster verifies.
        assert_eq!(daemon.key_field("alias/kept", "KeyMetadata.KeyId"), kept.as_str());
        daemon.cli_json(&["encrypt", "--key-id", "alias/kept", "--plaintext", "still here"]);
        let after = verified(daemon);
        assert_eq!(after["ExpectedVersions"], before["ExpectedVersions"].as_u64().expect("count") - 3, "{after}");
        for member in after["Members"].as_array().expect("members") {
            assert_eq!(member["Orphans"], serde_json::json!([]), "the material is destroyed, not orphaned: {after}");
        }
        assert_eq!(daemon.cli_json(&["cluster", "status", "hsm1"])["ClusterName"], "hsm1", "the cluster stays");
    };
    gone(&daemon);
    daemon.restart();
    gone(&daemon);
    assert_eq!(daemon.cli_error(&["instance", "delete", "doomed", "--force"]), "Forbidden.ResourceNotFound");
}
