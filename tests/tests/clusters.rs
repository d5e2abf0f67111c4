//! Clusters and instances made while the daemon serves: `cluster create`,
//! `instance create` on it (a new PKCS#11 slot), keys in it, and the
//! refusals (a taken name, too few members, an unknown cluster).

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use p11kms_tests::Daemon;

#[test]
fn clusters_and_instances_are_created_while_serving() {
    let mut daemon = Daemon::start();
    let status = daemon.cli_json(&["cluster", "create", "vault", "--members", "2"]);
    let members = status["Members"].as_array().expect("members");
    assert_eq!(members.len(), 2, "{status}");
    assert!(members.iter().all(|m| m["Health"] == "healthy" && m["InSync"] == true), "{status}");
    assert_eq!(daemon.cli_error(&["cluster", "create", "vault"]), "Rejected.ResourceExist");
    assert_eq!(daemon.cli_error(&["cluster", "create", "tiny", "--members", "1"]), "InvalidParameter");

    let instance = daemon.cli_json(&["instance", "create", "payments", "--cluster", "vault"]);
    assert_eq!((instance["Cluster"].as_str(), instance["Kind"].as_str()), (Some("vault"), Some("hardware")));
    assert_eq!(daemon.cli_error(&["instance", "create", "payments", "--cluster", "vault"]), "Rejected.ResourceExist");
    assert_eq!(
        daemon.cli_error(&["instance", "create", "other", "--cluster", "nowhere"]),
        "Forbidden.ResourceNotFound"
    );

    // Keys live in the new cluster, on both members.
    let key =
        daemon.cli_json(&["key", "create", "--instance", "payments", "--key-spec", "AES_256"])["KeyMetadata"]["KeyId"]
            .as_str()
            .expect("KeyId")
            .to_owned();
    let blob = daemon.cli_json(&["encrypt", "--key-id", &key, "--plaintext", "in the vault"])["CiphertextBlob"]
        .as_str()
        .expect("blob")
        .to_owned();
    let status = daemon.cli_json(&["cluster", "status", "vault"]);
    assert!(status["Members"].as_array().expect("m").iter().all(|m| m["ObjectCount"] == 1), "{status}");
    let (code, _, _) = daemon.cli_outcome(&["cluster", "verify", "vault"]);
    assert_eq!(code, Some(0));

    // The instance is a slot of its own, through PKCS#11.
    let slots = daemon.pkcs11_tool(&["-L"]);
    assert!(slots.contains("token label        : payments"), "{slots}");

    // And all of it survives a restart.
    daemon.restart();
    assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob])["Plaintext"], "aW4gdGhlIHZhdWx0");
    let (code, _, _) = daemon.cli_outcome(&["cluster", "verify", "vault"]);
    assert_eq!(code, Some(0));
}
