//! The README's first session, run as written, so the README stays true:
//! the block after the `first-session` marker runs in bash, in a directory
//! where `p11kms-state` is a test daemon's state directory and
//! `target/release` is this build's binaries.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use p11kms_tests::{Daemon, profile_dir};

fn first_session_block() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).expect("README.md");
    let after_marker = readme.split("<!-- first-session").nth(1).expect("the first-session marker");
    let start = after_marker.find("```sh\n").expect("a sh block after the marker") + "```sh\n".len();
    let length = after_marker[start..].find("```").expect("the block's end");
    after_marker[start..start + length].to_owned()
}

#[test]
fn the_readme_first_session_works_as_written() {
    let daemon = Daemon::start();
    let work = tempfile::tempdir().expect("work dir");
    symlink(daemon.state_dir(), work.path().join("p11kms-state")).expect("state link");
    std::fs::create_dir(work.path().join("target")).expect("target dir");
    symlink(profile_dir(), work.path().join("target/release")).expect("binaries link");

    let script = first_session_block();
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(work.path())
        .env_remove("P11KMS_SOCKET")
        .env_remove("P11KMS_ADMIN_SOCKET")
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the README session failed:\n{stdout}\n{stderr}\n{}", daemon.log());
    assert!(stdout.contains("token label        : hsm1"), "{stdout}");
    assert!(stdout.contains("KeySpec:            EC_P256"), "{stdout}");
    assert!(stdout.contains("Verified OK"), "{stdout}");
}
