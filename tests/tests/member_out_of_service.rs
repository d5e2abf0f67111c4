//! A member whose objects are all gone (key versions and the cluster key,
//! destroyed behind the daemon's back through SoftHSM) is taken out of
//! service as soon as the daemon looks (`cluster status` says so), gets no
//! writes, and serves again only once `cluster resync` has given it the
//! cluster key and every version back. A resync that cannot make the
//! cluster whole (a version no member holds) says what it could not do
//! and exits 5; members are not taken out for a version nobody holds.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::object::Attribute;
use serde_json::Value;

use p11kms_tests::{Daemon, MemberTokens};

fn member(status: &Value, index: u64) -> Value {
    status["Members"].as_array().expect("members").iter().find(|m| m["Index"] == index).cloned().expect("member")
}

/// Destroys every token object of member `index`; returns how many.
fn wipe(tokens: &MemberTokens, index: u32) -> usize {
    let session = tokens.session(index);
    let objects = session.find_objects(&[Attribute::Token(true)]).expect("find");
    for object in &objects {
        session.destroy_object(*object).expect("destroy");
    }
    objects.len()
}

#[test]
fn a_member_that_lost_everything_is_out_of_service_until_whole() {
    let config = tempfile::tempdir().expect("config dir");
    let config_file = config.path().join("p11kmsd.toml");
    // One scheduler pass at start, none during the test: what heals is the
    // resync the test runs.
    std::fs::write(&config_file, "[keys]\nscheduler_interval_seconds = 3600\n").expect("config");
    let daemon = Daemon::start_with(&["--config", config_file.to_str().expect("path")]);
    daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/a"]);
    let ec = daemon.create_key(&["--key-spec", "EC_P256", "--alias", "alias/e"]);
    let blob = daemon.cli_json(&["encrypt", "--key-id", "alias/a", "--plaintext", "kept"])["CiphertextBlob"]
        .as_str()
        .expect("blob")
        .to_owned();
    let tokens = MemberTokens::open(&daemon);
    assert_eq!(wipe(&tokens, 1), 4, "AES key, EC pair and the cluster key");

    let status = daemon.cli_json(&["cluster", "status", "hsm1"]);
    let lost = member(&status, 1);
    assert_eq!(lost["Health"], "out-of-service", "{status}");
    assert_eq!((lost["InSync"].as_bool(), lost["MissingVersions"].as_u64()), (Some(false), Some(2)), "{status}");
    assert_eq!(lost["ObjectCount"], 0);
    assert_eq!(
        (member(&status, 0)["Health"].as_str(), member(&status, 2)["Health"].as_str()),
        (Some("healthy"), Some("healthy"))
    );
    let (code, out, _) = daemon.cli_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!(code, Some(5), "{out}");
    assert!(out.contains("out-of-service"), "{out}");

    // Served around, and writes skip it.
    assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob])["Plaintext"], "a2VwdA==");
    let sign = ["sign", "--key-id", "alias/e", "--algorithm", "ECDSA_SHA_256", "--message", "m"];
    let version = daemon.key_field(&ec, "KeyMetadata.PrimaryKeyVersion").as_str().expect("v").to_owned();
    let mut args = sign.to_vec();
    args.extend(["--key-version-id", &version]);
    daemon.cli_json(&args);
    daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/during"]);
    assert_eq!(tokens.session(1).find_objects(&[Attribute::Token(true)]).expect("find").len(), 0);

    // Resync gives it the cluster key and every version, and takes it back.
    let (code, report) = daemon.cli_json_outcome(&["cluster", "resync", "hsm1"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!((report["Copied"].as_u64(), report["Failed"].as_u64()), (Some(3), Some(0)), "{report}");
    assert_eq!(report["Recovered"], serde_json::json!(["hsm1-1"]), "{report}");
    assert_eq!(report["OutOfService"], serde_json::json!([]), "{report}");
    assert!(daemon.log().contains("cluster key given again"), "{}", daemon.log());
    let status = daemon.cli_json(&["cluster", "status", "hsm1"]);
    for index in 0..3 {
        let m = member(&status, index);
        assert_eq!((m["Health"].as_str(), m["InSync"].as_bool()), (Some("healthy"), Some(true)), "{status}");
    }
    assert_eq!(member(&status, 1)["ObjectCount"], 3);
    let (code, _, _) = daemon.cli_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!(code, Some(0));

    // A version no member holds: nothing to copy from. Resync says so and
    // exits 5; nobody is taken out of service for it.
    let gone = daemon.version_ids("alias/during")[0];
    for index in 0..3 {
        let session = tokens.session(index);
        for object in session.find_objects(&[Attribute::Id(gone.to_vec())]).expect("find") {
            session.destroy_object(object).expect("destroy");
        }
    }
    let (code, report) = daemon.cli_json_outcome(&["cluster", "resync", "hsm1"]);
    assert_eq!(code, Some(5), "the cluster is not whole: {report}");
    let unheld = report["Unheld"].as_array().expect("unheld");
    assert_eq!(unheld.len(), 1, "{report}");
    let during = daemon.key_field("alias/during", "KeyMetadata.KeyId").as_str().expect("id").to_owned();
    assert!(unheld[0].as_str().expect("label").starts_with(&during), "{report}");
    let (_, text, _) = daemon.cli_outcome(&["cluster", "resync", "hsm1"]);
    assert!(text.contains("Unheld:") && text.contains(&during), "{text}");
    let status = daemon.cli_json(&["cluster", "status", "hsm1"]);
    for index in 0..3 {
        assert_eq!(member(&status, index)["Health"], "healthy", "{status}");
    }
    assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob])["Plaintext"], "a2VwdA==");
}
