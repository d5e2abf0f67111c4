//! Mirror images and restore: an image taken, every member of the cluster
//! destroyed, a new cluster built from the image while the daemon serves,
//! the instance attached to it, and old ciphertexts and signatures still
//! good. A key version made after the image exists nowhere any more:
//! attaching says so and asks for `--force`, then records it lost (its key
//! says so, using it is refused with `Rejected.KeyVersionLost`) while
//! images, verification and every other key go on. Also the daily schedule
//! with retention by count, and a damaged image refused and listed with
//! what is known of it.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::Value;

use p11kms_tests::Daemon;

fn images(daemon: &Daemon) -> Vec<Value> {
    daemon.cli_json(&["cluster", "image", "list", "hsm1"])["Images"].as_array().expect("Images").clone()
}

#[test]
fn a_cluster_lost_entirely_comes_back_from_its_image() {
    let config = tempfile::tempdir().expect("config dir");
    let config_file = config.path().join("p11kmsd.toml");
    std::fs::write(&config_file, "[keys]\nscheduler_interval_seconds = 1\n[images]\nkeep = 2\n").expect("config");
    let mut daemon = Daemon::start_with(&["--test-clock", "--config", config_file.to_str().expect("path")]);

    // The daily image is taken by the first pass; a day later, another;
    // only `keep = 2` stay.
    let wait_for = |count: usize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while images(&daemon).len() < count {
            assert!(Instant::now() < deadline, "no scheduled image: {:?}", images(&daemon));
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait_for(1);
    for day in 2..=3 {
        daemon.cli(&["clock", "advance", "1d"]);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let list = images(&daemon);
            let newest = list.iter().filter_map(|i| i["CreationDate"].as_str()).max().map(str::to_owned);
            let clock = daemon.cli_json(&["clock", "show"])["Now"].as_str().expect("now").to_owned();
            if newest.is_some_and(|n| n[..10] == clock[..10]) {
                break;
            }
            assert!(Instant::now() < deadline, "day {day}: no image for {clock}: {list:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    assert_eq!(images(&daemon).len(), 2, "retention keeps 2");

    // Keys, a ciphertext and a signature; then the image.
    daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/r-aes"]);
    daemon.create_key(&["--key-spec", "EC_P256", "--alias", "alias/r-ec"]);
    let blob = daemon.cli_json(&["encrypt", "--key-id", "alias/r-aes", "--plaintext", "from before"])["CiphertextBlob"]
        .as_str()
        .expect("blob")
        .to_owned();
    let version = daemon.key_field("alias/r-ec", "KeyMetadata.PrimaryKeyVersion").as_str().expect("v").to_owned();
    let sign_args =
        ["--key-id", "alias/r-ec", "--key-version-id", &version, "--algorithm", "ECDSA_SHA_256", "--message", "m"];
    let signature =
        daemon.cli_json(&[&["sign"][..], &sign_args[..]].concat())["Value"].as_str().expect("sig").to_owned();
    let public = daemon.cli_json(&["get-public-key", "--key-id", "alias/r-ec"])["PublicKey"].clone();
    let image = daemon.cli_json(&["cluster", "image", "create", "hsm1"]);
    let image_id = image["ImageId"].as_str().expect("ImageId").to_owned();
    assert_eq!(image["Versions"], 2);
    assert_eq!(image["Intact"], true);
    let late = daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/late"]);
    let late_blob = daemon.cli_json(&["encrypt", "--key-id", "alias/late", "--plaintext", "late"])["CiphertextBlob"]
        .as_str()
        .expect("blob")
        .to_owned();
    let late_version = daemon.key_field(&late, "KeyMetadata.PrimaryKeyVersion").as_str().expect("v").to_owned();

    // Every member of the cluster is destroyed.
    for label in ["hsm1-0", "hsm1-1", "hsm1-2"] {
        std::fs::remove_dir_all(daemon.token_dir(label)).expect("destroy a member");
    }
    let (code, _, _) = daemon.cli_outcome(&["decrypt", "--ciphertext-blob", &blob]);
    assert_ne!(code, Some(0), "nothing holds the key any more");

    // Restore into a new cluster of two members, and attach the instance.
    let restored = daemon.cli_json(&["cluster", "restore", "--image", &image_id, "--name", "hsm1r", "--members", "2"]);
    let members = restored["Members"].as_array().expect("members");
    assert_eq!(members.len(), 2, "{restored}");
    assert!(members.iter().all(|m| m["Health"] == "healthy"), "{restored}");
    let (code, _, err) =
        daemon.cli_outcome(&["cluster", "restore", "--image", &image_id, "--name", "hsm1r", "--members", "2"]);
    assert_eq!(code, Some(1), "restoring into an existing cluster is refused");
    assert!(err.contains("already exists"), "{err}");
    // The key made after the image would lose its version: say so, ask.
    let (code, _, refused) = daemon.cli_outcome(&["instance", "attach-cluster", "hsm1", "hsm1r"]);
    assert_eq!(code, Some(1), "{refused}");
    assert!(refused.starts_with("Rejected.VersionsWouldBeLost: "), "{refused}");
    assert!(refused.contains(&late) && refused.contains(&late_version) && refused.contains("--force"), "{refused}");
    assert_eq!(daemon.cli_json(&["instance", "describe", "hsm1"])["Cluster"], "hsm1", "nothing changed");
    let attached = daemon.cli_json(&["instance", "attach-cluster", "hsm1", "hsm1r", "--force"]);
    assert_eq!(attached["Cluster"], "hsm1r", "{attached}");

    // Old ciphertexts decrypt, old signatures verify, public keys are the same.
    let plain = daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob]);
    assert_eq!(plain["Plaintext"], "ZnJvbSBiZWZvcmU=", "\"from before\"");
    let verified = daemon.cli_json(&[&["verify"][..], &sign_args[..], &["--value", &signature]].concat());
    assert_eq!(verified["Value"], true);
    assert_eq!(daemon.cli_json(&["get-public-key", "--key-id", "alias/r-ec"])["PublicKey"], public);
    daemon.cli_json(&[&["sign"][..], &sign_args[..]].concat());

    // The version made after the image is lost, and said so; the rest of
    // the cluster is whole and its images go on.
    let lost_versions = daemon.key_field(&late, "LostKeyVersions");
    assert_eq!(lost_versions, serde_json::json!([late_version]));
    let versions = daemon.cli_json(&["key", "list-versions", &late]);
    assert!(versions["KeyVersions"][0]["LostDate"].is_string(), "{versions}");
    for args in [
        &["decrypt", "--ciphertext-blob", &late_blob][..],
        &["encrypt", "--key-id", "alias/late", "--plaintext", "x"][..],
    ] {
        assert_eq!(daemon.cli_error(args), "Rejected.KeyVersionLost", "{args:?}");
    }
    let (code, out, _) = daemon.cli_outcome(&["--json", "cluster", "verify", "hsm1r"]);
    assert_eq!(code, Some(0), "{out}");
    let again = daemon.cli_json(&["cluster", "image", "create", "hsm1r"]);
    assert_eq!((again["Versions"].as_u64(), again["Intact"].as_bool()), (Some(2), Some(true)), "{again}");
    // A rotation gives the key a version that works; the lost one stays lost.
    daemon.cli_json(&["key", "create-version", "alias/late"]);
    let fresh = daemon.cli_json(&["encrypt", "--key-id", "alias/late", "--plaintext", "fresh"])["CiphertextBlob"]
        .as_str()
        .expect("blob")
        .to_owned();
    assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", &fresh])["Plaintext"], "ZnJlc2g=");

    // A restart opens the restored cluster (in the library instance of the
    // lost one) and the instance on it.
    daemon.restart();
    assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob])["Plaintext"], "ZnJvbSBiZWZvcmU=");
    assert_eq!(daemon.cli_error(&["decrypt", "--ciphertext-blob", &late_blob]), "Rejected.KeyVersionLost");
    assert_eq!(daemon.key_field(&late, "LostKeyVersions"), serde_json::json!([late_version]));
    let status = daemon.cli_json(&["cluster", "status", "hsm1r"]);
    assert!(status["Members"].as_array().expect("members").iter().all(|m| m["Health"] == "healthy"), "{status}");

    // A damaged image is seen as such and refused.
    let file = daemon.state_dir().join(format!("images/{image_id}.json"));
    let mut bytes = std::fs::read(&file).expect("image");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&file, bytes).expect("damage");
    let listed = daemon.cli_json(&["cluster", "image", "list", "hsm1"]);
    let damaged =
        listed["Images"].as_array().expect("list").iter().find(|i| i["ImageId"] == image_id.as_str()).cloned();
    let damaged = damaged.expect("listed with its cluster");
    assert_eq!(damaged["Intact"], false);
    assert_eq!(damaged["ClusterName"], "hsm1", "what is known is shown: {damaged}");
    assert_eq!(damaged["CreationDate"], image["CreationDate"], "{damaged}");
    assert!(damaged["Damage"].as_str().expect("why").contains("manifest"), "{damaged}");
    let (code, _, err) =
        daemon.cli_outcome(&["cluster", "restore", "--image", &image_id, "--name", "hsm1s", "--members", "2"]);
    assert_eq!(code, Some(1));
    assert!(err.starts_with("InvalidParameter") && err.contains("damaged") && err.contains("manifest"), "{err}");
}
