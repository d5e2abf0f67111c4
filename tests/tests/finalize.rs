//! `C_Finalize` while other threads are inside calls: the calls in flight
//! finish or fail cleanly, later calls get `CKR_CRYPTOKI_NOT_INITIALIZED`,
//! nothing crashes or hangs, and `C_Initialize` brings the module back.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::Mechanism;

use p11kms_tests::{Daemon, module};

fn args() -> CInitializeArgs {
    CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)
}

#[test]
fn finalize_under_running_calls_is_clean_and_reversible() {
    let daemon = Daemon::start();
    // SAFETY: one test in this binary; nothing else reads the environment now.
    unsafe { std::env::set_var("P11KMS_SOCKET", daemon.data_socket()) };
    let ctx = Pkcs11::new(module()).expect("load libp11kms.so");
    ctx.initialize(args()).expect("C_Initialize");
    let slot = ctx.get_slots_with_token().expect("slots")[0];

    let successes = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..6)
        .map(|n| {
            let (ctx, successes) = (ctx.clone(), successes.clone());
            let session = ctx.open_ro_session(slot).expect("session");
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(30);
                loop {
                    assert!(Instant::now() < deadline, "calls never started failing after C_Finalize");
                    let result = if n % 2 == 0 {
                        session.generate_random_vec(64).map(|bytes| assert_eq!(bytes.len(), 64))
                    } else {
                        session.digest(&Mechanism::Sha256, b"abc").map(|d| assert_eq!(d.len(), 32))
                    };
                    match result {
                        Ok(()) => successes.fetch_add(1, Ordering::Relaxed),
                        Err(Error::Pkcs11(RvError::CryptokiNotInitialized, _)) => return,
                        // A call that was inside the module when C_Finalize ran
                        // may see its session go away.
                        Err(Error::Pkcs11(RvError::SessionHandleInvalid | RvError::SessionClosed, _)) => continue,
                        Err(other) => panic!("unexpected outcome after C_Finalize: {other:?}"),
                    };
                }
            })
        })
        .collect();

    while successes.load(Ordering::Relaxed) < 200 {
        std::thread::sleep(Duration::from_millis(5));
    }
    ctx.clone().finalize().expect("C_Finalize with calls running");
    for worker in workers {
        worker.join().expect("a worker saw something other than a clean error");
    }

    // Initialized again, the module works as before.
    ctx.initialize(args()).expect("C_Initialize again");
    let session = ctx.open_ro_session(ctx.get_slots_with_token().expect("slots")[0]).expect("session");
    assert_eq!(session.generate_random_vec(16).expect("random").len(), 16);
}
