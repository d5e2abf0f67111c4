//! A member's token directory made unreadable while the daemon (not root)
//! runs: requests and writes go on through the other members without one
//! failure, the member is reported, and once the directory is repaired the
//! daemon brings it back in sync by itself (SoftHSM needs a fresh load to
//! read a token it lost, so the repair includes a restart).

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use p11kms_tests::Daemon;

#[test]
fn an_unreadable_member_is_served_around_and_taken_back_when_readable() {
    let config = tempfile::tempdir().expect("config dir");
    std::fs::set_permissions(config.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let config_file = config.path().join("p11kmsd.toml");
    std::fs::write(&config_file, "[keys]\nscheduler_interval_seconds = 1\n").expect("config");
    std::fs::set_permissions(&config_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let mut daemon = Daemon::start_unprivileged(&["--config", config_file.to_str().expect("path")]);
    daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/steady"]);
    let blob = daemon.cli_json(&["encrypt", "--key-id", "alias/steady", "--plaintext", "steady"])["CiphertextBlob"]
        .as_str()
        .expect("blob")
        .to_owned();

    let dir = daemon.token_dir("hsm1-1");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o000)).expect("make unreadable");
    for _ in 0..12 {
        assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob])["Plaintext"], "c3RlYWR5");
    }
    daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/during"]);
    let log = daemon.log();
    assert!(log.contains("trying another"), "reads went around the damaged member:\n{log}");
    assert!(log.contains("mirror missed a write"), "the write went on without it:\n{log}");
    let (code, out, _) = daemon.cli_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!(code, Some(5), "{out}");

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("readable again");
    daemon.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, out, _) = daemon.cli_outcome(&["cluster", "verify", "hsm1"]);
        if code == Some(0) {
            break;
        }
        assert!(Instant::now() < deadline, "not back in 30 s: {out}\n{}", daemon.log());
        std::thread::sleep(Duration::from_millis(250));
    }
    let status = daemon.cli_json(&["cluster", "status", "hsm1"]);
    assert!(status["Members"].as_array().expect("m").iter().all(|m| m["InSync"] == true), "{status}");
}
