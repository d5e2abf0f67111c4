//! Applications (`apps.rs`): create and delete, name rules, one app per
//! name; the issued PIN logs in to the app's instance only, and is stored
//! only as a slow hash; wrong PINs are counted, a good one clears the
//! count; after `apps.max_failed_logins` wrong PINs the app is locked for
//! `apps.lockout_seconds` (even the right PIN is refused, and a restart
//! does not unlock it), then a fresh count starts; `C_SetPIN` replaces
//! the secret. Time moves on the manual clock only.

use p11kms_proto::ErrorCode;

use super::code;
use crate::config::Config;
use crate::kms::apps::{self, LEGACY_PIN_LEN, LoginError, PIN_LEN, SetPinError};
use crate::kms::testing::{Fixture, INSTANCE};

/// Three wrong PINs lock for ten minutes.
fn fixture() -> Fixture {
    let mut config = Config::default();
    config.apps.max_failed_logins = 3;
    config.apps.lockout_seconds = 600;
    Fixture::with_config(config)
}

/// Creates `name` in `hsm1`; returns its PIN.
fn app(fx: &Fixture, name: &str) -> String {
    apps::create(&fx.kms, name, INSTANCE, None).expect("the app is created").pin.expose().to_owned()
}

/// The PIN with the last secret character changed.
fn wrong(pin: &str) -> String {
    let mut bytes = pin.as_bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] = if bytes[last] == b'x' { b'y' } else { b'x' };
    String::from_utf8(bytes).unwrap()
}

fn failed_logins(fx: &Fixture, name: &str) -> u32 {
    let live = fx.kms.registry().unwrap().app(name).unwrap().failed_logins;
    assert_eq!(fx.reloaded().app(name).unwrap().failed_logins, live, "the store agrees");
    live
}

#[test]
fn an_app_logs_in_to_its_instance_with_the_issued_pin() {
    let fx = fixture();
    let journal = fx.journal_len();
    let created = apps::create(&fx.kms, "web", INSTANCE, None).expect("creates");
    assert_eq!((created.app_name.as_str(), created.instance.as_str()), ("web", INSTANCE));
    let pin = created.pin.expose().to_owned();
    assert_eq!(pin.len(), PIN_LEN);
    assert!(pin.bytes().all(|b| b.is_ascii_alphanumeric()), "issued PINs are letters and digits");
    assert!(fx.journal_len() > journal);
    assert_eq!(apps::login(&fx.kms, INSTANCE, pin.as_bytes()), Ok("web".to_owned()));
    assert!(
        matches!(apps::login(&fx.kms, "default", pin.as_bytes()), Err(LoginError::Incorrect(_))),
        "another instance"
    );
    assert_eq!(failed_logins(&fx, "web"), 0, "a login elsewhere does not count against the app");

    let stored = fx.reloaded().app("web").unwrap().clone();
    assert!(stored.pin_hash.starts_with("$argon2id$"), "a slow hash");
    assert!(!stored.pin_hash.contains(&pin[8..]));
    let entries = fx.kms.store.journal_since(0, 1000).unwrap();
    assert!(entries.iter().all(|e| !e.payload.contains(&pin[8..]) && !e.payload.contains("argon2")));
    let info = apps::info(&stored);
    assert_eq!((info.app_name.as_str(), info.failed_logins, info.locked_until), ("web", 0, None));
    fx.assert_consistent();
}

#[test]
fn app_names_are_checked_and_unique() {
    let fx = fixture();
    let too_long = "a".repeat(65);
    for bad in ["", "-web", ".web", "web app", "web/app", "wéb", too_long.as_str()] {
        assert_eq!(code(apps::create(&fx.kms, bad, INSTANCE, None)), ErrorCode::InvalidParameter, "{bad:?}");
    }
    app(&fx, &"a".repeat(64));
    app(&fx, "Web.app-1_x");
    assert_eq!(code(apps::create(&fx.kms, "Web.app-1_x", INSTANCE, None)), ErrorCode::ResourceExist);
    assert_eq!(code(apps::create(&fx.kms, "other", "no-such-instance", None)), ErrorCode::ResourceNotFound);
    assert_eq!(fx.kms.registry().unwrap().apps().count(), 2);
}

#[test]
fn a_deleted_app_cannot_log_in() {
    let fx = fixture();
    let pin = app(&fx, "web");
    apps::delete(&fx.kms, "web").expect("deletes");
    assert!(matches!(apps::login(&fx.kms, INSTANCE, pin.as_bytes()), Err(LoginError::Incorrect(_))));
    assert!(fx.reloaded().app("web").is_err());
    assert_eq!(code(apps::delete(&fx.kms, "web")), ErrorCode::ResourceNotFound);
    let again = app(&fx, "web");
    assert_ne!(again, pin, "a new app, a new PIN");
    assert!(
        matches!(apps::login(&fx.kms, INSTANCE, pin.as_bytes()), Err(LoginError::Incorrect(_))),
        "the old PIN is dead"
    );
    assert_eq!(apps::login(&fx.kms, INSTANCE, again.as_bytes()), Ok("web".to_owned()));
    fx.assert_consistent();
}

#[test]
fn wrong_pins_count_and_a_good_one_clears_the_count() {
    let fx = fixture();
    let pin = app(&fx, "web");
    let other = app(&fx, "other");
    assert!(matches!(apps::login(&fx.kms, INSTANCE, wrong(&pin).as_bytes()), Err(LoginError::Incorrect(_))));
    assert_eq!(failed_logins(&fx, "web"), 1);
    assert!(matches!(apps::login(&fx.kms, INSTANCE, wrong(&pin).as_bytes()), Err(LoginError::Incorrect(_))));
    assert_eq!(failed_logins(&fx, "web"), 2);
    assert_eq!(failed_logins(&fx, "other"), 0, "counted per app");
    assert_eq!(apps::login(&fx.kms, INSTANCE, pin.as_bytes()), Ok("web".to_owned()));
    assert_eq!(failed_logins(&fx, "web"), 0);
    // PINs that name no app count against none.
    for junk in [&b""[..], b"short", &[b'z'; PIN_LEN][..], &pin.as_bytes()[..PIN_LEN - 1]] {
        assert!(matches!(apps::login(&fx.kms, INSTANCE, junk), Err(LoginError::Incorrect(_))));
    }
    assert_eq!((failed_logins(&fx, "web"), failed_logins(&fx, "other")), (0, 0));
    assert_eq!(apps::login(&fx.kms, INSTANCE, other.as_bytes()), Ok("other".to_owned()));
}

#[test]
fn too_many_wrong_pins_lock_the_app_for_a_while() {
    let fx = fixture();
    let pin = app(&fx, "web");
    let bad = wrong(&pin);
    assert!(matches!(apps::login(&fx.kms, INSTANCE, bad.as_bytes()), Err(LoginError::Incorrect(_))));
    assert!(matches!(apps::login(&fx.kms, INSTANCE, bad.as_bytes()), Err(LoginError::Incorrect(_))));
    let until = fx.now().plus_seconds(600);
    assert_eq!(
        apps::login(&fx.kms, INSTANCE, bad.as_bytes()),
        Err(LoginError::Locked("web".into(), until)),
        "the third locks"
    );
    assert_eq!(
        apps::login(&fx.kms, INSTANCE, pin.as_bytes()),
        Err(LoginError::Locked("web".into(), until)),
        "even the right PIN"
    );
    assert_eq!(fx.reloaded().app("web").unwrap().locked_until, Some(until), "a restart does not unlock");
    assert_eq!(apps::info(fx.kms.registry().unwrap().app("web").unwrap()).locked_until, Some(until));

    fx.advance_seconds(599);
    assert_eq!(
        apps::login(&fx.kms, INSTANCE, pin.as_bytes()),
        Err(LoginError::Locked("web".into(), until)),
        "one second early"
    );
    assert_eq!(
        apps::login(&fx.kms, INSTANCE, bad.as_bytes()),
        Err(LoginError::Locked("web".into(), until)),
        "no lock extension"
    );
    fx.advance_seconds(1);
    assert_eq!(apps::login(&fx.kms, INSTANCE, pin.as_bytes()), Ok("web".to_owned()));
    let record = fx.kms.registry().unwrap().app("web").unwrap().clone();
    assert_eq!((record.failed_logins, record.locked_until), (0, None));
    fx.assert_consistent();
}

#[test]
fn concurrent_wrong_pins_count_no_further_than_sequential_ones() {
    let fx = fixture();
    let pin = app(&fx, "web");
    let bad = wrong(&pin);
    // Twelve attempts at once: all check the PIN before any has locked
    // the app; only the three that land first count, the rest see the lock.
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let attempts: Vec<_> =
            (0..12).map(|_| scope.spawn(|| apps::login(&fx.kms, INSTANCE, bad.as_bytes()))).collect();
        attempts.into_iter().map(|a| a.join().expect("the attempt ran")).collect()
    });
    assert_eq!(failed_logins(&fx, "web"), 3, "attempts while locked are not counted: {outcomes:?}");
    let until = fx.now().plus_seconds(600);
    assert_eq!(
        outcomes.iter().filter(|o| **o == Err(LoginError::Locked("web".into(), until))).count(),
        10,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| matches!(o, Err(LoginError::Incorrect(Some(app))) if app == "web")).count(),
        2
    );
    fx.assert_consistent();
}

#[test]
fn after_a_lock_runs_out_a_wrong_pin_starts_a_fresh_count() {
    let fx = fixture();
    let pin = app(&fx, "web");
    let bad = wrong(&pin);
    for _ in 0..3 {
        let _ = apps::login(&fx.kms, INSTANCE, bad.as_bytes());
    }
    assert!(matches!(apps::login(&fx.kms, INSTANCE, pin.as_bytes()), Err(LoginError::Locked(..))));
    fx.advance_seconds(600);
    assert!(
        matches!(apps::login(&fx.kms, INSTANCE, bad.as_bytes()), Err(LoginError::Incorrect(_))),
        "not locked again at once"
    );
    assert_eq!(failed_logins(&fx, "web"), 1);
    assert_eq!(apps::login(&fx.kms, INSTANCE, pin.as_bytes()), Ok("web".to_owned()));
}

#[test]
fn set_pin_replaces_the_secret_and_checks_the_old_one() {
    let fx = fixture();
    let pin = app(&fx, "web");
    let new_pin = format!("{}{}", &pin[..8], "N3w-secret!".repeat(3).chars().take(PIN_LEN - 8).collect::<String>());
    assert_eq!(new_pin.len(), PIN_LEN);
    assert_eq!(apps::set_pin(&fx.kms, "web", wrong(&pin).as_bytes(), new_pin.as_bytes()), Err(SetPinError::Incorrect));
    assert_eq!(failed_logins(&fx, "web"), 1, "a wrong old PIN counts");
    let other_lookup = format!("zzzzzzzz{}", &new_pin[8..]);
    assert_eq!(apps::set_pin(&fx.kms, "web", pin.as_bytes(), other_lookup.as_bytes()), Err(SetPinError::Invalid));
    assert_eq!(failed_logins(&fx, "web"), 0, "the right old PIN cleared the count");
    apps::set_pin(&fx.kms, "web", pin.as_bytes(), new_pin.as_bytes()).expect("changes the PIN");
    assert!(matches!(apps::login(&fx.kms, INSTANCE, pin.as_bytes()), Err(LoginError::Incorrect(_))));
    assert_eq!(apps::login(&fx.kms, INSTANCE, new_pin.as_bytes()), Ok("web".to_owned()));
    fx.assert_consistent();
}

/// Gives `name` a PIN of before (40 characters: the same lookup code, a
/// 32-character secret), as a store of before holds it; returns it.
fn legacy_pin(fx: &Fixture, name: &str) -> String {
    let issued = app(fx, name);
    let pin = format!("{}{}", &issued[..8], "L3gacy0secret0of0thirty0two0chrs");
    assert_eq!(pin.len(), LEGACY_PIN_LEN);
    let mut registry = fx.kms.registry_mut().unwrap();
    let mut record = registry.app(name).unwrap().clone();
    record.pin_hash = apps::hash_secret(&pin.as_bytes()[8..]).unwrap();
    fx.kms.store.write(fx.now(), |tx| tx.update_app_pin(&record)).unwrap();
    registry.put_app(record);
    pin
}

#[test]
fn a_pin_of_before_logs_in_until_the_app_changes_it() {
    let fx = fixture();
    let old = legacy_pin(&fx, "web");
    assert_eq!(apps::login(&fx.kms, INSTANCE, old.as_bytes()), Ok("web".to_owned()), "40 characters still log in");
    assert!(matches!(apps::login(&fx.kms, INSTANCE, wrong(&old).as_bytes()), Err(LoginError::Incorrect(_))));
    assert_eq!(failed_logins(&fx, "web"), 1, "and a wrong one counts");
    // Its first 32 characters are not a PIN of the app.
    assert!(matches!(apps::login(&fx.kms, INSTANCE, &old.as_bytes()[..PIN_LEN]), Err(LoginError::Incorrect(_))));
    // The new PIN must have the new length.
    let longer = format!("{}{}", &old[..8], "n".repeat(LEGACY_PIN_LEN - 8));
    assert_eq!(apps::set_pin(&fx.kms, "web", old.as_bytes(), longer.as_bytes()), Err(SetPinError::LenRange));
    let new_pin = format!("{}{}", &old[..8], "n".repeat(PIN_LEN - 8));
    apps::set_pin(&fx.kms, "web", old.as_bytes(), new_pin.as_bytes()).expect("the old PIN changes it");
    assert!(matches!(apps::login(&fx.kms, INSTANCE, old.as_bytes()), Err(LoginError::Incorrect(_))));
    assert_eq!(apps::login(&fx.kms, INSTANCE, new_pin.as_bytes()), Ok("web".to_owned()));
    // An app of now is not reached by a 40-character PIN with its lookup.
    let current = app(&fx, "api");
    let padded = format!("{current}{}", "x".repeat(LEGACY_PIN_LEN - PIN_LEN));
    assert!(matches!(apps::login(&fx.kms, INSTANCE, padded.as_bytes()), Err(LoginError::Incorrect(_))));
    fx.assert_consistent();
}
