//! The README's sessions, run as written, so the README stays true: the
//! blocks after the `first-session`, `kms-session`, `secret-session`,
//! `policy-session` and `audit-session` markers run in bash, in a directory
//! where `p11kms-state` is a test daemon's state directory and
//! `target/release` is this build's binaries.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use p11kms_tests::{Daemon, run_session, sh_block};

/// The `sh` block after the README's `<!-- MARKER` comment.
fn block(marker: &str) -> String {
    sh_block("README.md", marker)
}

#[test]
fn the_readme_first_session_works_as_written() {
    let daemon = Daemon::start();
    // The KMS, secret and policy sessions run in the same shell, after
    // the first one, as a reader would paste them.
    let blocks = ["first-session", "kms-session", "secret-session", "policy-session", "audit-session"];
    let out = run_session(&daemon, &blocks.map(block).join("\n"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the README session failed:\n{stdout}\n{stderr}\n{}", daemon.log());
    assert!(stdout.contains("token label        : hsm1"), "{stdout}");
    assert!(stdout.contains("KeySpec:            EC_P256"), "{stdout}");
    assert!(stdout.contains("Verified OK"), "{stdout}");
    let field = |name: &str| -> Option<String> {
        stdout.lines().find_map(|l| l.strip_prefix(&format!("{name}:")).map(|v| v.trim().to_owned()))
    };
    assert_eq!(field("Plaintext").as_deref(), Some("order 42"), "{stdout}");
    assert_eq!((field("Rewrapped").as_deref(), field("Failed").as_deref()), (Some("1"), Some("0")), "{stdout}");
    // The previous version's value, printed alone by --query.
    assert!(stdout.lines().any(|l| l == "correct horse battery staple"), "{stdout}");
    // The payments app sees the key tagged for it and the secret its policy
    // names, not the AES key of the KMS session.
    let seen = stdout.split("== what payments sees").nth(1).expect("the policy session ran");
    let labels: Vec<&str> =
        seen.lines().filter_map(|l| l.trim().strip_prefix("label:")).map(|l| l.trim().trim_matches('\'')).collect();
    assert!(labels.contains(&"k1") && labels.contains(&"db/orders"), "{seen}");
    assert!(!labels.contains(&"orders"), "{seen}");
    assert!(seen.contains(r#""Action": ["kms:*"]"#) || seen.contains("kms:*"), "describe shows the new policy: {seen}");
    // The audit session: the key's events, the app's signature, the chain.
    let audit = stdout.split("== what payments sees").nth(1).expect("the sessions ran");
    assert!(audit.contains("CreateKey") && audit.contains("TagResource"), "{audit}");
    assert!(audit.contains("\"EventName\": \"Sign\""), "web's signature, counted: {audit}");
    assert!(audit.contains("Intact: every record chains"), "{audit}");
}
