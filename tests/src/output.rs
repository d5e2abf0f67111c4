//! What the tests do with a client tool's output (`pkcs11-tool`,
//! `openssl`, `p11tool`, `keytool`, …): read it as text, and fail with
//! the tool's output and the daemon's log when it did not succeed.

use std::process::Output;

use crate::Daemon;

/// Bytes a tool wrote, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts that `what` succeeded; returns its standard output.
///
/// # Panics
/// When it did not: the test fails with the tool's output and the
/// daemon's log.
pub fn succeeded(what: &str, out: &Output, daemon: &Daemon) -> String {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}\ndaemon log:\n{}",
        text(&out.stdout),
        text(&out.stderr),
        daemon.log()
    );
    text(&out.stdout)
}
