//! An instance attached to a cluster restored from an older image, while
//! the cluster it leaves still runs: the key versions made after the image
//! are copied over (wrapped inside the HSMs) before the instance moves, so
//! nothing is lost and no `--force` is needed; old and new ciphertexts
//! decrypt, signatures of both verify with the same public keys, and the
//! new cluster is consistent, also after a restart.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use serde_json::Value;

use p11kms_tests::Daemon;

fn blob(daemon: &Daemon, key: &str, text: &str) -> String {
    daemon.cli_json(&["encrypt", "--key-id", key, "--plaintext", text])["CiphertextBlob"]
        .as_str()
        .expect("blob")
        .to_owned()
}

/// Signs "m" with the primary version of `key`; returns (version, signature).
fn signed(daemon: &Daemon, key: &str) -> (String, String) {
    let version = daemon.key_field(key, "KeyMetadata.PrimaryKeyVersion").as_str().expect("v").to_owned();
    let args =
        ["sign", "--key-id", key, "--key-version-id", &version, "--algorithm", "ECDSA_SHA_256", "--message", "m"];
    let signature = daemon.cli_json(&args)["Value"].as_str().expect("signature").to_owned();
    (version, signature)
}

fn verified(daemon: &Daemon, key: &str, (version, signature): &(String, String)) -> Value {
    daemon.cli_json(&[
        "verify",
        "--key-id",
        key,
        "--key-version-id",
        version,
        "--algorithm",
        "ECDSA_SHA_256",
        "--message",
        "m",
        "--value",
        signature,
    ])["Value"]
        .clone()
}

#[test]
fn versions_made_after_the_image_follow_the_instance_to_its_new_cluster() {
    let mut daemon = Daemon::start();
    daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/old"]);
    daemon.create_key(&["--key-spec", "EC_P256", "--alias", "alias/old-ec"]);
    let old_blob = blob(&daemon, "alias/old", "old");
    let old_signature = signed(&daemon, "alias/old-ec");
    let image = daemon.cli_json(&["cluster", "image", "create", "hsm1"])["ImageId"].as_str().expect("id").to_owned();

    // Made after the image: the restored cluster will not have them.
    daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/new"]);
    let new_ec = daemon.create_key(&["--key-spec", "EC_P256", "--alias", "alias/new-ec"]);
    daemon.cli_json(&["key", "create-version", "alias/old"]);
    let new_blob = blob(&daemon, "alias/new", "new");
    let rotated_blob = blob(&daemon, "alias/old", "rotated");
    let new_signature = signed(&daemon, "alias/new-ec");
    let new_public = daemon.cli_json(&["get-public-key", "--key-id", "alias/new-ec"])["PublicKey"].clone();

    daemon.cli_json(&["cluster", "restore", "--image", &image, "--name", "hsm1r", "--members", "2"]);
    let attached = daemon.cli_json(&["instance", "attach-cluster", "hsm1", "hsm1r"]);
    assert_eq!(attached["Cluster"], "hsm1r", "no --force needed: nothing is lost");

    let check = |daemon: &Daemon| {
        for (blob, plain) in [(&old_blob, "b2xk"), (&new_blob, "bmV3"), (&rotated_blob, "cm90YXRlZA==")] {
            assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", blob])["Plaintext"], plain);
        }
        assert_eq!(verified(daemon, "alias/old-ec", &old_signature), true);
        assert_eq!(verified(daemon, "alias/new-ec", &new_signature), true);
        assert_eq!(daemon.cli_json(&["get-public-key", "--key-id", "alias/new-ec"])["PublicKey"], new_public);
        let fresh = signed(daemon, "alias/new-ec");
        assert_eq!(verified(daemon, "alias/new-ec", &fresh), true);
        assert_eq!(daemon.key_field(&new_ec, "LostKeyVersions"), serde_json::json!([]));
        let (code, out, _) = daemon.cli_outcome(&["--json", "cluster", "verify", "hsm1r"]);
        assert_eq!(code, Some(0), "every version on every member of the new cluster: {out}");
        let status = daemon.cli_json(&["cluster", "status", "hsm1r"]);
        for member in status["Members"].as_array().expect("members") {
            assert_eq!(member["InSync"], true, "{status}");
            assert_eq!(member["ObjectCount"], status["ExpectedObjects"], "{status}");
        }
    };
    check(&daemon);
    assert_eq!(
        daemon.cli_json(&["cluster", "status", "hsm1r"])["ExpectedObjects"],
        5,
        "two keys, two new, one rotation"
    );
    daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/next"]);
    let status = daemon.cli_json(&["cluster", "status", "hsm1r"]);
    assert_eq!(status["ExpectedObjects"], 6, "new keys go to the new cluster: {status}");
    daemon.restart();
    check(&daemon);
}
