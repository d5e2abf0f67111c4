//! `C_SetPIN` by a logged-in app, through the `cryptoki` crate: the old PIN
//! stops working and the new one logs in (in this process after a logout,
//! in another process, and after a daemon restart); a wrong old PIN is
//! refused and counted; a malformed new PIN is refused with the code that
//! names its fault. One test: the module is loaded once per process and
//! finds its daemon through the environment.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

use p11kms_tests::{Daemon, hsm1, load_module, rv};

fn auth(pin: &str) -> AuthPin {
    AuthPin::from(pin.to_owned())
}

fn login(ctx: &Pkcs11, pin: &str) -> Result<Session, Error> {
    let session = ctx.open_rw_session(hsm1(ctx)).expect("session");
    session.login(UserType::User, Some(&auth(pin)))?;
    Ok(session)
}

/// Whether `pin` logs in from another process (a fresh module copy).
fn logs_in_elsewhere(daemon: &Daemon, pin: &str) -> bool {
    let out = daemon.pkcs11_tool_output(&["--token-label", "hsm1", "--login", "--pin", pin, "--list-objects"]);
    out.status.success()
}

fn failed_logins(daemon: &Daemon, app: &str) -> u64 {
    daemon.cli_json(&["app", "describe", app])["FailedLogins"].as_u64().expect("FailedLogins")
}

#[test]
fn a_logged_in_app_changes_its_own_pin() {
    let mut daemon = Daemon::start();
    let pin = daemon.create_app("changer", "hsm1");
    let other_pin = daemon.create_app("bystander", "hsm1");
    let (lookup, _) = pin.split_at(8);
    let new_pin = format!("{lookup}N3w-s3cret!with~punct_01");
    assert_eq!(new_pin.len(), 32);
    let ctx = load_module(&daemon);

    // Not logged in: refused before any PIN is looked at.
    let public = ctx.open_rw_session(hsm1(&ctx)).expect("session");
    assert_eq!(rv(public.set_pin(&auth(&pin), &auth(&new_pin))), RvError::UserNotLoggedIn);
    drop(public);

    let session = login(&ctx, &pin).expect("login with the issued PIN");
    let read_only = ctx.open_ro_session(hsm1(&ctx)).expect("read-only session");
    assert_eq!(rv(read_only.set_pin(&auth(&pin), &auth(&new_pin))), RvError::SessionReadOnly);
    drop(read_only);

    // A wrong old PIN is refused and counts like a failed login; so does
    // another app's PIN, which is not this app's credential.
    let wrong = format!("{lookup}{}", "x".repeat(24));
    assert_eq!(rv(session.set_pin(&auth(&wrong), &auth(&new_pin))), RvError::PinIncorrect);
    assert_eq!(failed_logins(&daemon, "changer"), 1);
    assert_eq!(rv(session.set_pin(&auth(&other_pin), &auth(&new_pin))), RvError::PinIncorrect);
    assert_eq!(failed_logins(&daemon, "changer"), 2);
    assert_eq!(failed_logins(&daemon, "bystander"), 0);

    // Malformed new PINs, with the right old one.
    let cases = [
        (format!("{lookup}short"), RvError::PinLenRange),
        (format!("{pin}x"), RvError::PinLenRange),
        // The length of the PINs issued before (40): not for new PINs.
        (format!("{lookup}{}", "x".repeat(32)), RvError::PinLenRange),
        (format!("zzzzzzzz{}", "x".repeat(24)), RvError::PinInvalid),
        (format!("{lookup}{} {}", "x".repeat(11), "y".repeat(12)), RvError::PinInvalid),
        (format!("{lookup}{}\t", "x".repeat(23)), RvError::PinInvalid),
    ];
    for (bad, expected) in &cases {
        assert_eq!(rv(session.set_pin(&auth(&pin), &auth(bad))), *expected, "new PIN {bad:?}");
    }
    assert_eq!(rv(session.set_pin(&auth(&pin), &auth(""))), RvError::ArgumentsBad);
    assert_eq!(failed_logins(&daemon, "changer"), 0, "a correct old PIN clears the count");
    assert!(logs_in_elsewhere(&daemon, &pin), "refused changes leave the PIN as it was");

    session.set_pin(&auth(&pin), &auth(&new_pin)).expect("C_SetPIN");

    // The session stays logged in; after a logout only the new PIN works.
    assert_eq!(rv(session.set_pin(&auth(&pin), &auth(&new_pin))), RvError::PinIncorrect, "old PIN is gone");
    session.logout().expect("logout");
    assert_eq!(rv(session.login(UserType::User, Some(&auth(&pin)))), RvError::PinIncorrect);
    session.login(UserType::User, Some(&auth(&new_pin))).expect("login with the new PIN");
    assert!(logs_in_elsewhere(&daemon, &new_pin), "a fresh module copy logs in with the new PIN");
    assert!(!logs_in_elsewhere(&daemon, &pin), "and not with the old one");
    assert!(logs_in_elsewhere(&daemon, &other_pin), "other apps are untouched");
    drop(session);

    // The change is in the store, not only in memory.
    daemon.restart();
    assert_eq!(rv(login(&ctx, &pin)), RvError::PinIncorrect);
    let session = login(&ctx, &new_pin).expect("the new PIN survives a restart");
    session.logout().expect("logout");
    let log = daemon.log();
    assert!(!log.contains(&pin) && !log.contains(&new_pin[8..]), "PINs never reach the log");
}
