//! `docs/backups.md`'s session, run as written against a daemon on the
//! test clock: a software instance, a key and a ciphertext, a retained
//! backup enabled on it, the day shown, the key deleted for good and
//! restored from the backup, the ciphertext decrypted again.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use p11kms_tests::{Daemon, run_session, sh_block};

#[test]
fn the_backup_session_works_as_written() {
    let daemon = Daemon::start_with(&["--test-clock"]);
    let out = run_session(&daemon, &sh_block("docs/backups.md", "backup-session"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the session failed:\n{stdout}\n{stderr}\n{}", daemon.log());
    assert!(stdout.lines().any(|l| l == "Enabled"), "{stdout}");
    assert!(stdout.contains("Fully backed-up keys (1):"), "{stdout}");
    assert!(stdout.contains("gone: exit 1"), "{stdout}");
    assert!(stderr.contains("Forbidden.KeyNotFound"), "{stderr}");
    let field = |name: &str| -> Option<String> {
        stdout.lines().find_map(|l| l.strip_prefix(&format!("{name}:")).map(|v| v.trim().to_owned()))
    };
    assert_eq!(field("Aliases").as_deref(), Some("alias/ledger"), "{stdout}");
    assert_eq!(field("Plaintext").as_deref(), Some("ledger line 1"), "{stdout}");
    assert_eq!(field("BackupType").as_deref(), Some("retained"), "{stdout}");
}
