//! The token's user-PIN flags through the `cryptoki` crate, on a daemon
//! whose apps lock after 3 wrong PINs for an hour (on the test clock): a
//! wrong PIN sets `CKF_USER_PIN_COUNT_LOW`, the second `…_FINAL_TRY`, the
//! third locks the app and sets `…_LOCKED`; the flags are those of the app
//! this process last tried on the slot (another app's login shows its own,
//! another process that has not tried sees none); after the lock runs out
//! the failures stay on record until the right PIN clears them. Also the
//! PIN lengths the token reports. One test: the module is loaded once per
//! process and finds its daemon through the environment.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::context::Pkcs11;
use cryptoki::error::RvError;
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use p11kms_tests::{Daemon, hsm1, load_module, rv};

/// The three user-PIN flags: (count low, final try, locked).
fn pin_flags(ctx: &Pkcs11, slot: Slot) -> (bool, bool, bool) {
    let info = ctx.get_token_info(slot).expect("C_GetTokenInfo");
    (info.user_pin_count_low(), info.user_pin_final_try(), info.user_pin_locked())
}

fn login(session: &Session, pin: &str) -> Result<(), cryptoki::error::Error> {
    session.login(UserType::User, Some(&AuthPin::from(pin.to_owned())))
}

/// The token flags `pkcs11-tool -L` prints for hsm1, from another process
/// (a module copy that has tried no PIN).
fn flags_elsewhere(daemon: &Daemon) -> String {
    let out = daemon.pkcs11_tool(&["-L"]);
    let hsm1 = out.split("Slot ").find(|s| s.contains("token label        : hsm1")).expect("hsm1 listed");
    hsm1.lines().find(|l| l.contains("token flags")).expect("token flags line").to_owned()
}

#[test]
fn pin_flags_follow_wrong_pins_the_lock_and_a_good_login() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("p11kmsd.toml");
    std::fs::write(&config, "[apps]\nmax_failed_logins = 3\nlockout_seconds = 3600\n").expect("config");
    let daemon = Daemon::start_with(&["--test-clock", "--config", config.to_str().expect("path")]);
    let pin = daemon.create_app("guessed", "hsm1");
    let bystander = daemon.create_app("bystander", "hsm1");
    let wrong = format!("{}{}", &pin[..8], if pin.ends_with('x') { "y" } else { "x" }.repeat(pin.len() - 8));
    let ctx = load_module(&daemon);
    let slot = hsm1(&ctx);

    // The PIN lengths are the issued PINs' and what C_SetPIN takes.
    let info = ctx.get_token_info(slot).expect("C_GetTokenInfo");
    assert_eq!((info.min_pin_length(), info.max_pin_length(), pin.len()), (32, 32, 32));
    assert_eq!(pin_flags(&ctx, slot), (false, false, false), "no PIN tried yet");

    let session = ctx.open_ro_session(slot).expect("session");
    assert_eq!(rv(login(&session, &wrong)), RvError::PinIncorrect);
    assert_eq!(pin_flags(&ctx, slot), (true, false, false), "one wrong PIN: count low");
    assert_eq!(rv(login(&session, &wrong)), RvError::PinIncorrect);
    assert_eq!(pin_flags(&ctx, slot), (true, true, false), "two of three: the next one locks");
    assert_eq!(rv(login(&session, &wrong)), RvError::PinLocked);
    assert_eq!(pin_flags(&ctx, slot), (true, false, true), "locked");
    assert_eq!(rv(login(&session, &pin)), RvError::PinLocked, "even the right PIN");
    assert_eq!(pin_flags(&ctx, slot), (true, false, true), "still locked");

    // Another process has tried nothing on this slot: it sees no PIN flags.
    let elsewhere = flags_elsewhere(&daemon);
    assert!(elsewhere.contains("login required") && !elsewhere.contains("user PIN"), "{elsewhere}");

    // Another app's login shows that app's state; trying the locked app
    // again shows its lock again.
    login(&session, &bystander).expect("another app of the instance logs in");
    assert_eq!(pin_flags(&ctx, slot), (false, false, false), "the bystander has no failures");
    session.logout().expect("logout");
    assert_eq!(rv(login(&session, &pin)), RvError::PinLocked);
    assert_eq!(pin_flags(&ctx, slot), (true, false, true));

    // The lock runs out: the failures are on record until a good PIN, but
    // the next wrong one starts a fresh count, so it is not the final try.
    daemon.cli_json(&["clock", "advance", "3600s"]);
    assert_eq!(pin_flags(&ctx, slot), (true, false, false), "unlocked, failures on record");
    login(&session, &pin).expect("the right PIN after the lock");
    assert_eq!(pin_flags(&ctx, slot), (false, false, false), "a good login clears the flags");
    assert_eq!(daemon.cli_json(&["app", "describe", "guessed"])["FailedLogins"], 0);
    session.logout().expect("logout");
    drop(session);

    // A wrong PIN whose lookup code names no app shows count low too: the
    // flags do not tell a known lookup code from an unknown one.
    let session = ctx.open_ro_session(slot).expect("session");
    assert_eq!(rv(login(&session, &"z".repeat(32))), RvError::PinIncorrect);
    assert_eq!(pin_flags(&ctx, slot), (true, false, false));
    assert!(!daemon.log().contains(&pin[8..]), "PINs never reach the log");
}
