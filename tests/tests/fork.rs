//! Fork safety: a child of a process that initialized the module must call
//! `C_Initialize` again before anything works, and then works; the parent
//! is unaffected. (One test per binary: the module is loaded once per
//! process and the child inherits that state.)

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};

use p11kms_tests::{Daemon, module};

fn args() -> CInitializeArgs {
    CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)
}

/// The child's checks; returns the exit code to report.
fn child(ctx: &Pkcs11) -> i32 {
    match ctx.get_slots_with_token() {
        Err(Error::Pkcs11(RvError::CryptokiNotInitialized, _)) => {}
        _ => return 10,
    }
    if ctx.initialize(args()).is_err() {
        return 11;
    }
    match ctx.get_slots_with_token() {
        Ok(slots) if slots.len() == 2 => {}
        _ => return 12,
    }
    let Some(slot) = ctx.get_slots_with_token().ok().and_then(|s| s.first().copied()) else {
        return 13;
    };
    match ctx.open_ro_session(slot).and_then(|session| session.generate_random_vec(16)) {
        Ok(bytes) if bytes.len() == 16 => 0,
        _ => 14,
    }
}

#[test]
fn a_forked_child_initializes_again_and_the_parent_carries_on() {
    let daemon = Daemon::start();
    // SAFETY: one test in this binary; nothing else reads the environment now.
    unsafe { std::env::set_var("P11KMS_SOCKET", daemon.data_socket()) };
    let ctx = Pkcs11::new(module()).expect("load");
    ctx.initialize(args()).expect("C_Initialize");
    let slot = ctx.get_slots_with_token().expect("slots")[0];
    let session = ctx.open_ro_session(slot).expect("session");
    assert_eq!(session.generate_random_vec(8).expect("random").len(), 8);

    // SAFETY: the child only calls the module and then `_exit`s, never
    // returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = child(&ctx);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just created.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child crashed: status {status}");
    assert_eq!(libc::WEXITSTATUS(status), 0, "child check failed (see codes in child())");

    // The parent's session is untouched by the child's life and death.
    assert_eq!(session.generate_random_vec(8).expect("parent still works").len(), 8);
}
