//! The fork guard: a call that may crash SoftHSM (a malformed argument it
//! does not check) is first made in a forked child, so that a crash ends
//! the child, not the test. Used by `Run::guard` in `cases/mod.rs`.

use cryptoki_sys::*;

/// The `CK_RV` recorded for a call that killed SoftHSM's process (in a
/// forked child); not a PKCS#11 value.
pub const CRASHED: CK_RV = 0xdead_dead;

/// Runs `call` in a forked child; false when the child died of a signal.
pub fn survives(call: impl Fn()) -> bool {
    // SAFETY: the child makes one call into the module, then leaves with
    // `_exit` (no destructors, no return into the test harness); a panic is
    // caught before it could unwind out of the child's call.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(call));
        // SAFETY: ends the child at once, as above.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked; `status` is a live local.
    let waited = unsafe { libc::waitpid(pid, &raw mut status, 0) };
    assert_eq!(waited, pid, "waitpid");
    !libc::WIFSIGNALED(status)
}
