//! A daemon killed between an HSM write and the commit of its metadata
//! (the test crash point `version-written`: SIGKILL after a new version is
//! on every member, before its rows are written) leaves objects no key
//! owns. Their creation intent, recorded before the HSM call, marks them:
//! the next start destroys them, `cluster verify` lists any that could not
//! be destroyed yet apart from real differences (and stays consistent),
//! and `cluster resync` destroys them once it can. Objects are counted on
//! the token files themselves, through SoftHSM.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::HashSet;

use p11kms_tests::{Daemon, MemberTokens};

const CRASH_AT: &str = "P11KMS_TEST_CRASH_AT";

/// Version ids the store knows, as `CKA_ID`s.
fn known_ids(daemon: &Daemon, keys: &[&str]) -> HashSet<Vec<u8>> {
    keys.iter().flat_map(|k| daemon.version_ids(k)).map(|id| id.to_vec()).collect()
}

#[test]
fn creations_killed_before_their_commit_leave_nothing_after_a_restart() {
    let mut daemon = Daemon::start_with(&["--test-clock"]);
    let kept = daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/kept"]);
    let blob = daemon.cli_json(&["encrypt", "--key-id", "alias/kept", "--plaintext", "kept"])["CiphertextBlob"]
        .as_str()
        .expect("blob")
        .to_owned();
    let tokens = MemberTokens::open(&daemon);
    let known = known_ids(&daemon, &[&kept]);
    daemon.set_env(CRASH_AT, Some("version-written"));
    daemon.restart();

    // Key creations and a rotation, each killed after its HSM write: each
    // leaves one version's objects on every member; each start destroys
    // what the crash before it left.
    let crashes: [&[&str]; 3] = [
        &["key", "create", "--instance", "hsm1", "--key-spec", "EC_P256"],
        &["key", "create", "--instance", "hsm1", "--key-spec", "AES_256"],
        &["key", "create-version", "alias/kept"],
    ];
    for (round, args) in crashes.iter().enumerate() {
        daemon.crash_in(args);
        for index in 0..3 {
            let leftovers = tokens.version_ids(index).difference(&known).count();
            assert_eq!(leftovers, 1, "round {round}: member {index} holds the crashed version");
        }
        if round + 1 < crashes.len() {
            daemon.restart();
            let log = daemon.log();
            assert!(log.contains("leftovers of an unacknowledged creation destroyed"), "round {round}:\n{log}");
        }
    }

    daemon.set_env(CRASH_AT, None);
    daemon.restart();
    let log = daemon.log();
    assert!(log.contains("leftovers of creations a crash interrupted"), "{log}");
    assert!(!log.contains("unknown to the store"), "no warning about the objects of interrupted creations:\n{log}");
    assert_eq!(known_ids(&daemon, &[&kept]), known, "the rotation never happened");
    for index in 0..3 {
        assert_eq!(tokens.version_ids(index), known, "member {index} holds exactly what the store knows");
    }
    let (code, report) = daemon.cli_json_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!((code, report["Consistent"].as_bool()), (Some(0), Some(true)), "{report}");
    let status = daemon.cli_json(&["cluster", "status", "hsm1"]);
    for member in status["Members"].as_array().expect("members") {
        assert_eq!((member["InSync"].as_bool(), member["Orphans"].as_u64()), (Some(true), Some(0)), "{status}");
    }
    assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob])["Plaintext"], "a2VwdA==");
    daemon.create_key(&["--key-spec", "AES_256"]);
    let (code, _) = daemon.cli_json_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!(code, Some(0));
}
