//! A test-only crash point: the daemon kills itself (SIGKILL, as `kill -9`
//! would) at a named place of a write, so an end-to-end test can leave
//! exactly what a crash there leaves, deterministically.
//!
//! Armed by the environment variable `P11KMS_TEST_CRASH_AT` naming the
//! point, and only while the daemon runs on the test clock (`--test-clock`):
//! a production daemon never reads the variable. Points:
//!
//! * [`VERSION_WRITTEN`]: a key version (new key or rotation) is on every
//!   member, its metadata not committed.
//! * `migration-started`, `migration-copied` and `migration-switched`: a
//!   CMK migration recorded its run, copied the key's material into the
//!   target's cluster, or moved the key there (`kms::migration::run`).

use crate::kms::Kms;

/// The environment variable that arms a crash point (test clock only).
pub const CRASH_AT_ENV: &str = "P11KMS_TEST_CRASH_AT";

/// After a key version's objects are written, before its commit.
pub const VERSION_WRITTEN: &str = "version-written";

/// Kills the process when the test clock runs and `point` is armed.
pub fn reached(kms: &Kms, point: &str) {
    if !kms.clock.is_manual() {
        return;
    }
    if std::env::var(CRASH_AT_ENV).is_ok_and(|armed| armed == point) {
        tracing::error!(point, "test crash point reached: the daemon kills itself");
        // SAFETY: kill and getpid have no memory effects; the signal ends
        // the process as `kill -9` does, with no clean-up.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
}
