//! `docs/migration.md`'s session, run as written against a daemon on the
//! system clock (the task runs in its window, now): keys of the default
//! instance, the diagnostic, a migration into `hsm1` followed to its end,
//! the old ciphertext decrypted there, and a key the diagnostic refuses.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use p11kms_tests::{Daemon, run_session, sh_block};

#[test]
fn the_migration_session_works_as_written() {
    let daemon = Daemon::start();
    let out = run_session(&daemon, &sh_block("docs/migration.md", "migration-session"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the session failed:\n{stdout}\n{stderr}\n{}", daemon.log());
    let ids: Vec<&str> = stdout.lines().filter(|l| l.starts_with("key-") && !l.contains(' ')).collect();
    assert_eq!(ids.len(), 2, "{stdout}");
    let row = |id: &str| stdout.lines().find(|l| l.starts_with(id) && l.contains("default")).map(str::to_owned);
    let movable = row(ids[0]).expect("the diagnostic lists the first key");
    assert!(movable.contains(" yes "), "{movable}");
    let rotating = row(ids[1]).expect("the diagnostic lists the second key");
    assert!(rotating.contains(" no ") && rotating.contains("AutomaticRotationEnabled"), "{rotating}");
    assert!(stdout.contains("Succeeded"), "{stdout}");
    let field = |name: &str| -> Option<String> {
        stdout.lines().find_map(|l| l.strip_prefix(&format!("{name}:")).map(|v| v.trim().to_owned()))
    };
    assert_eq!(field("DKMSInstanceId").as_deref(), Some("hsm1"), "{stdout}");
    assert!(field("MigratedFrom").is_some_and(|m| m.starts_with("instance 'default' on ")), "{stdout}");
    assert_eq!(field("Plaintext").as_deref(), Some("invoice 7"), "{stdout}");
    assert!(stdout.contains("refused: exit 1"), "{stdout}");
    assert!(stderr.contains("AutomaticRotationEnabled"), "the refusal gives the reason: {stderr}");
}
