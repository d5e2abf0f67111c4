//! The module and a daemon that comes and goes: absent at `C_Initialize`
//! (which still succeeds, showing slots without tokens until the daemon is
//! up), restarted under running calls (in-flight calls fail with
//! `CKR_DEVICE_ERROR`, nothing crashes), and after a restart old sessions
//! report `CKR_SESSION_HANDLE_INVALID` while new ones work without
//! `C_Finalize`/`C_Initialize`. One test: the module is loaded once per
//! process and finds its daemon through the environment.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

use p11kms_tests::{Daemon, hsm1, module, rv};

fn logged_in(ctx: &Pkcs11, pin: &str) -> Session {
    let session = ctx.open_rw_session(hsm1(ctx)).expect("session");
    session.login(UserType::User, Some(&AuthPin::from(pin.to_owned()))).expect("login");
    session
}

const CBC: Mechanism<'static> = Mechanism::AesCbcPad([4; 16]);

fn key(session: &Session) -> cryptoki::object::ObjectHandle {
    let found = session
        .find_objects(&[Attribute::Label(b"survivor".to_vec()), Attribute::Class(ObjectClass::SECRET_KEY)])
        .expect("find");
    assert_eq!(found.len(), 1, "the key survives restarts");
    found[0]
}

#[test]
fn the_module_rides_out_an_absent_and_a_restarting_daemon() {
    let mut daemon = Daemon::start();
    let pin = daemon.create_app("steady", "hsm1");
    daemon.stop();

    // Absent at C_Initialize: it succeeds, and no slot shows a token.
    // SAFETY: one test in this binary; nothing else reads the environment now.
    unsafe { std::env::set_var("P11KMS_SOCKET", daemon.data_socket()) };
    let ctx = Pkcs11::new(module()).expect("load libp11kms.so");
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).expect("C_Initialize without a daemon");
    assert!(ctx.get_slots_with_token().expect("slot list without a daemon").is_empty());

    // The daemon comes up: the same context sees the tokens.
    daemon.restart();
    assert_eq!(ctx.get_slots_with_token().expect("slots").len(), 2, "both instances appear once the daemon is up");
    let session = logged_in(&ctx, &pin);
    let template = [
        Attribute::Token(true),
        Attribute::ValueLen(32.into()),
        Attribute::Label(b"survivor".to_vec()),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
    ];
    session.generate_key(&Mechanism::AesKeyGen, &template).expect("AES key");
    let old_key = key(&session);
    let ciphertext = session.encrypt(&CBC, old_key, b"before the restart").expect("encrypt");

    // Restart under load: workers call the daemon in a loop on sessions of
    // their own while it stops and starts again.
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (ctx, stop) = (ctx.clone(), stop.clone());
            let session = ctx.open_ro_session(hsm1(&ctx)).expect("worker session");
            std::thread::spawn(move || {
                let mut outcomes = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match session.generate_random_vec(32) {
                        Ok(bytes) => {
                            assert_eq!(bytes.len(), 32);
                            outcomes.push(None);
                        }
                        Err(Error::Pkcs11(rv, _)) => outcomes.push(Some(rv)),
                        Err(other) => panic!("not a PKCS#11 error: {other:?}"),
                    }
                }
                outcomes
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    daemon.restart();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let outcomes = worker.join().expect("a worker thread panicked");
        assert!(outcomes.first().is_some_and(Option::is_none), "worked before the restart");
        for outcome in outcomes.iter().flatten() {
            assert!(
                matches!(outcome, RvError::DeviceError | RvError::SessionHandleInvalid),
                "a call across a restart failed with {outcome:?}"
            );
        }
        // Once the new daemon is up, the old session is gone for good.
        assert_eq!(outcomes.last(), Some(&Some(RvError::SessionHandleInvalid)), "old sessions are invalid");
    }

    // The old session is invalid; a new one works in the same context.
    assert_eq!(rv(session.encrypt(&CBC, old_key, b"x")), RvError::SessionHandleInvalid);
    let session = logged_in(&ctx, &pin);
    assert_eq!(session.decrypt(&CBC, key(&session), &ciphertext).expect("decrypt"), b"before the restart");

    // A daemon that stays away: calls fail cleanly and quickly.
    daemon.stop();
    let started = Instant::now();
    assert_eq!(rv(session.generate_random_vec(8)), RvError::DeviceError);
    assert!(started.elapsed() < Duration::from_secs(10), "a missing daemon is reported, not waited for");
    assert!(ctx.get_slots_with_token().expect("slot list").is_empty(), "tokens disappear with the daemon");
    assert_eq!(ctx.get_all_slots().expect("all slots").len(), 2, "slot ids stay stable");
    daemon.restart();
    let session = logged_in(&ctx, &pin);
    assert_eq!(session.decrypt(&CBC, key(&session), &ciphertext).expect("decrypt"), b"before the restart");
}
