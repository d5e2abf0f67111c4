//! Applications and their PINs.
//!
//! A PIN is 32 characters: the first 8 are a public lookup code that names
//! the app, the other 24 are the secret. 32 is the most OpenSSL's pkcs11
//! engine (libp11) takes in a `pin-value` URI or at its prompt. Issued PINs
//! are letters and digits (62 symbols): the secret carries 24 × log2 62 ≈
//! 142.9 bits, the lookup code 8 × log2 62 ≈ 47.6 bits, enough to name an
//! app among many without trying every hash. An app that changes its own
//! (`C_SetPIN`) keeps the lookup code and may use any printable ASCII but
//! space in the secret. Only a salted Argon2id hash of the secret is
//! stored.
//!
//! PINs issued before were 40 characters (the same 8-character lookup code,
//! a 32-character secret). The hash does not record the secret's length,
//! so a login with a 40-character PIN is still checked the same way: an
//! app of before keeps its PIN until it changes it (`C_SetPIN`, which only
//! takes a new 32-character PIN), and a 40-character PIN never matches an
//! app whose secret has 24 characters.
//!
//! Wrong PINs are counted per app; after `apps.max_failed_logins` in a row
//! the app is locked for `apps.lockout_seconds`, during which even the
//! right PIN is refused. [`pin_status`] says what that means for PKCS#11's
//! user-PIN token flags.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use zeroize::Zeroizing;

use p11kms_proto::admin::{AppCreated, AppInfo};
use p11kms_proto::{SecretString, Timestamp};

use super::error::KmsError;
use super::names::check_app_name;
use super::policy::{NO_ACCESS, Policy, Resource};
use super::registry::Registry;
use crate::kms::Kms;
use crate::private_files::random_pin;
use crate::store::AppRecord;

/// Length of the public part of a PIN.
const LOOKUP_LEN: usize = 8;
/// Length of the secret part of a PIN.
const SECRET_LEN: usize = 24;
/// Length of a whole PIN: what apps are issued and what `C_SetPIN` takes.
pub const PIN_LEN: usize = LOOKUP_LEN + SECRET_LEN;
// OpenSSL's pkcs11 engine (libp11) takes at most 32 characters in a
// `pin-value` URI or at its prompt.
const _: () = assert!(PIN_LEN <= 32, "app PINs must fit OpenSSL's pkcs11 engine");

/// Length of the secret part of the PINs issued before [`PIN_LEN`] became 32.
const LEGACY_SECRET_LEN: usize = 32;
/// Length of a PIN issued before: still accepted at login and as the old
/// PIN of `C_SetPIN`, until the app changes it.
pub const LEGACY_PIN_LEN: usize = LOOKUP_LEN + LEGACY_SECRET_LEN;

/// True when a PIN has the length of a current or an earlier PIN; any
/// other length names no app.
fn known_length(pin: &[u8]) -> bool {
    pin.len() == PIN_LEN || pin.len() == LEGACY_PIN_LEN
}

/// Why a login failed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Wrong PIN, unknown app, or an app of another instance; the app
    /// when the PIN's lookup code names one of the instance (for the log).
    #[error("incorrect PIN")]
    Incorrect(Option<String>),
    /// Too many wrong PINs: the app (for the token's PIN flags) is locked
    /// until the given time.
    #[error("app locked until {1}")]
    Locked(String, Timestamp),
    /// The daemon could not check.
    #[error("{0}")]
    Internal(String),
}

pub(in crate::kms) fn hash_secret(secret: &[u8]) -> Result<String, KmsError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| KmsError::Internal(format!("cannot encode salt: {e}")))?;
    Argon2::default()
        .hash_password(secret, &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| KmsError::Internal(format!("cannot hash PIN: {e}")))
}

fn secret_matches(secret: &[u8], stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| Argon2::default().verify_password(secret, &hash).is_ok())
}

/// The instance a policy's literal resource belongs to, if it exists: a
/// key id, an alias's key, a secret. Patterns and tags belong to none.
fn owner_of(resource: &Resource, registry: &Registry) -> Option<String> {
    match resource {
        Resource::Key(p) | Resource::Alias(p) => registry.key(p.literal()?).ok().map(|k| k.record.instance.clone()),
        Resource::Secret(p) => registry.secret(p.literal()?).ok().map(|s| s.record.instance.clone()),
        Resource::Any | Resource::Tag { .. } => None,
    }
}

/// `app create`: a new app for an instance, with a fresh PIN shown once,
/// and its access policy (none: it may do nothing until given one).
pub fn create(kms: &Kms, name: &str, instance: &str, policy: Option<&str>) -> Result<AppCreated, KmsError> {
    check_app_name(name).map_err(KmsError::InvalidParameter)?;
    let policy = {
        let registry = kms.registry()?;
        registry.instance(instance)?;
        if registry.app(name).is_ok() {
            return Err(KmsError::Exists { what: "app", name: name.into() });
        }
        Policy::checked(policy.unwrap_or(NO_ACCESS), instance, |r| owner_of(r, &registry))?
    };
    let pin = random_pin(PIN_LEN);
    let (lookup, secret) = pin.split_at(LOOKUP_LEN);
    let record = AppRecord {
        name: name.to_owned(),
        instance: instance.to_owned(),
        pin_lookup: lookup.to_owned(),
        pin_hash: hash_secret(secret.as_bytes())?,
        created_at: kms.clock.now(),
        failed_logins: 0,
        locked_until: None,
        policy: policy.text,
    };
    // Check again under the write lock: another request may have taken the
    // name while the hash was computed.
    let mut registry = kms.registry_mut()?;
    if registry.app(name).is_ok() {
        return Err(KmsError::Exists { what: "app", name: name.into() });
    }
    if registry.app_by_lookup(lookup).is_some() {
        return Err(KmsError::Internal("PIN lookup collision; try again".into()));
    }
    kms.store.write(record.created_at, |tx| tx.insert_app(&record))?;
    registry.put_app(record);
    tracing::info!(app = name, instance, "app created");
    Ok(AppCreated { app_name: name.to_owned(), instance: instance.to_owned(), pin: SecretString::new(pin.to_string()) })
}

/// `app list` / `app describe` view of an app.
pub fn info(app: &AppRecord) -> AppInfo {
    AppInfo {
        app_name: app.name.clone(),
        instance: app.instance.clone(),
        creation_date: app.created_at,
        failed_logins: app.failed_logins,
        locked_until: app.locked_until,
        policy: app.policy.clone(),
    }
}

/// `app update-policy`: the new policy is in force from the next call of
/// every session of the app (the data plane reads it from the registry at
/// each call).
pub fn update_policy(kms: &Kms, name: &str, policy: &str) -> Result<AppInfo, KmsError> {
    let mut registry = kms.registry_mut()?;
    let mut app = registry.app(name)?.clone();
    app.policy = Policy::checked(policy, &app.instance, |r| owner_of(r, &registry))?.text;
    kms.store.write(kms.clock.now(), |tx| tx.update_app_policy(&app))?;
    let info = info(&app);
    registry.put_app(app);
    tracing::info!(app = name, "app policy updated");
    Ok(info)
}

/// `app delete`. The data plane forgets the app's logins after this
/// (`data::clients::Clients::forget_app`).
pub fn delete(kms: &Kms, name: &str) -> Result<(), KmsError> {
    let mut registry = kms.registry_mut()?;
    registry.app(name)?;
    kms.store.write(kms.clock.now(), |tx| tx.delete_app(name))?;
    registry.remove_app(name);
    tracing::info!(app = name, "app deleted");
    Ok(())
}

/// Checks a PIN for a login to `instance`; returns the app's name.
pub fn login(kms: &Kms, instance: &str, pin: &[u8]) -> Result<String, LoginError> {
    let internal = |e: KmsError| LoginError::Internal(e.to_string());
    let now = kms.clock.now();
    let pin = Zeroizing::new(pin.to_vec());
    let app = known_length(&pin)
        .then(|| std::str::from_utf8(&pin[..LOOKUP_LEN]).ok())
        .flatten()
        .and_then(|lookup| kms.registry().ok()?.app_by_lookup(lookup).cloned());
    let Some(mut app) = app.filter(|a| a.instance == instance) else {
        // Spend the time a real check takes, so timing does not tell
        // whether a lookup code exists.
        let _ = secret_matches(
            b"",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        );
        return Err(LoginError::Incorrect(None));
    };
    if let Some(until) = app.locked_until {
        if now < until {
            return Err(LoginError::Locked(app.name, until));
        }
    }
    // The hash check runs without locks (it is slow on purpose); the count
    // is then updated on the registry's current copy under the write lock,
    // so concurrent wrong PINs each count.
    let ok = secret_matches(&pin[LOOKUP_LEN..], &app.pin_hash);
    let mut registry = kms.registry_mut().map_err(internal)?;
    if let Ok(current) = registry.app(&app.name) {
        app = current.clone();
    }
    // Another attempt may have locked the app while this one was checked:
    // attempts while locked neither count nor pass, as sequential ones.
    if let Some(until) = app.locked_until.filter(|until| now < *until) {
        return Err(LoginError::Locked(app.name, until));
    }
    let before = (app.failed_logins, app.locked_until);
    count_attempt(kms, &mut app, ok, now);
    if (app.failed_logins, app.locked_until) != before {
        kms.store.write(now, |tx| tx.update_app_logins(&app)).map_err(|e| internal(e.into()))?;
        registry.put_app(app.clone());
    }
    drop(registry);
    match (ok, app.locked_until) {
        (true, _) => Ok(app.name),
        (false, Some(until)) => Err(LoginError::Locked(app.name, until)),
        (false, None) => Err(LoginError::Incorrect(Some(app.name))),
    }
}

/// Updates an app's failure count after a PIN check: a good PIN clears it,
/// a wrong one counts and may lock the app.
fn count_attempt(kms: &Kms, app: &mut AppRecord, ok: bool, now: Timestamp) {
    if ok {
        app.failed_logins = 0;
        app.locked_until = None;
        return;
    }
    // A lock that has run out starts a fresh count.
    if app.locked_until.is_some_and(|until| now >= until) {
        app.failed_logins = 0;
        app.locked_until = None;
    }
    app.failed_logins += 1;
    if app.failed_logins >= kms.config.apps.max_failed_logins {
        app.locked_until = Some(now.plus_seconds(kms.config.apps.lockout_seconds));
        tracing::warn!(app = %app.name, "too many wrong PINs: app locked");
    }
}

/// What an app's failure count means at a given time, in the terms of
/// PKCS#11's user-PIN token flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PinStatus {
    /// A wrong PIN has been given since the app's last good one
    /// (`CKF_USER_PIN_COUNT_LOW`).
    pub count_low: bool,
    /// The next wrong PIN locks the app (`CKF_USER_PIN_FINAL_TRY`).
    pub final_try: bool,
    /// The app is locked now (`CKF_USER_PIN_LOCKED`).
    pub locked: bool,
}

/// The PIN status of `app` at `now` under a limit of `max_failed` wrong
/// PINs, following [`count_attempt`]'s rules: a lock that has run out
/// leaves its failures on record (so `count_low` stays until a good PIN)
/// but the next wrong PIN starts a fresh count.
pub fn pin_status(app: &AppRecord, max_failed: u32, now: Timestamp) -> PinStatus {
    match app.locked_until {
        Some(until) if now < until => PinStatus { count_low: true, final_try: false, locked: true },
        Some(_) => PinStatus { count_low: true, final_try: max_failed <= 1, locked: false },
        None => PinStatus {
            count_low: app.failed_logins > 0,
            final_try: app.failed_logins.saturating_add(1) >= max_failed,
            locked: false,
        },
    }
}

/// Why a PIN change failed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SetPinError {
    /// The old PIN is not the app's current PIN.
    #[error("incorrect PIN")]
    Incorrect,
    /// Too many wrong PINs: locked until the given time.
    #[error("app locked until {0}")]
    Locked(Timestamp),
    /// The new PIN does not have [`PIN_LEN`] characters.
    #[error("new PIN must have {PIN_LEN} characters")]
    LenRange,
    /// The new PIN changes the lookup code or has characters a secret may
    /// not have.
    #[error("new PIN must keep the lookup code and use printable ASCII without spaces")]
    Invalid,
    /// The app is gone (deleted meanwhile), or the daemon could not check.
    #[error("{0}")]
    Internal(String),
}

/// Checks the shape of a new PIN for an app whose lookup code is `lookup`.
/// The lookup code must stay, or the app could no longer be found at login;
/// the secret must be printable ASCII without spaces so that it can be
/// typed and passed on a command line.
fn check_new_pin(lookup: &str, new_pin: &[u8]) -> Result<(), SetPinError> {
    if new_pin.len() != PIN_LEN {
        return Err(SetPinError::LenRange);
    }
    let (new_lookup, secret) = new_pin.split_at(LOOKUP_LEN);
    if new_lookup != lookup.as_bytes() || !secret.iter().all(|b| b.is_ascii_graphic()) {
        return Err(SetPinError::Invalid);
    }
    Ok(())
}

/// `C_SetPIN` by a logged-in app: replaces its PIN's secret part.
///
/// The old PIN is checked against the app's current hash like a login,
/// and a wrong one counts toward the lockout. The new PIN is checked only
/// after that: a caller without the old PIN learns nothing about the rules
/// for new ones, and cannot probe them without counting toward the lock.
pub fn set_pin(kms: &Kms, app_name: &str, old_pin: &[u8], new_pin: &[u8]) -> Result<(), SetPinError> {
    let internal = |e: KmsError| SetPinError::Internal(e.to_string());
    let now = kms.clock.now();
    let app = kms.registry().map_err(internal)?.app(app_name).map_err(internal)?.clone();
    if let Some(until) = app.locked_until {
        if now < until {
            return Err(SetPinError::Locked(until));
        }
    }
    let old_pin = Zeroizing::new(old_pin.to_vec());
    // Same slow check as a login, run without locks; a PIN of another app
    // (another lookup code) is simply wrong for this one.
    let ok = known_length(&old_pin)
        && old_pin[..LOOKUP_LEN] == *app.pin_lookup.as_bytes()
        && secret_matches(&old_pin[LOOKUP_LEN..], &app.pin_hash);
    if !ok {
        let mut registry = kms.registry_mut().map_err(internal)?;
        let mut current = registry.app(app_name).map_err(internal)?.clone();
        count_attempt(kms, &mut current, false, now);
        kms.store.write(now, |tx| tx.update_app_logins(&current)).map_err(|e| internal(e.into()))?;
        registry.put_app(current.clone());
        return Err(match current.locked_until {
            Some(until) => SetPinError::Locked(until),
            None => SetPinError::Incorrect,
        });
    }
    if let Err(error) = check_new_pin(&app.pin_lookup, new_pin) {
        // The old PIN was right, which clears the count as a good login
        // does, even though the new one is refused.
        if app.failed_logins != 0 {
            let mut registry = kms.registry_mut().map_err(internal)?;
            let mut current = registry.app(app_name).map_err(internal)?.clone();
            count_attempt(kms, &mut current, true, now);
            kms.store.write(now, |tx| tx.update_app_logins(&current)).map_err(|e| internal(e.into()))?;
            registry.put_app(current);
        }
        return Err(error);
    }
    let new_hash = hash_secret(&new_pin[LOOKUP_LEN..]).map_err(internal)?;
    let mut registry = kms.registry_mut().map_err(internal)?;
    let mut current = registry.app(app_name).map_err(internal)?.clone();
    // Another change may have landed while the hashes were computed: the
    // old PIN was checked against a hash that is no longer the app's.
    if current.pin_hash != app.pin_hash {
        return Err(SetPinError::Incorrect);
    }
    current.pin_hash = new_hash;
    current.failed_logins = 0;
    current.locked_until = None;
    if !kms.store.write(now, |tx| tx.update_app_pin(&current)).map_err(|e| internal(e.into()))? {
        return Err(SetPinError::Internal(format!("app {app_name} is not in the store")));
    }
    registry.put_app(current);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOKUP: &str = "abcdEFGH";

    fn pin(secret: &str) -> Vec<u8> {
        format!("{LOOKUP}{secret}").into_bytes()
    }

    #[test]
    fn a_new_pin_keeps_the_lookup_and_has_a_printable_secret() {
        assert_eq!(check_new_pin(LOOKUP, &pin(&"x".repeat(SECRET_LEN))), Ok(()));
        assert_eq!(check_new_pin(LOOKUP, &pin("!#$%&()*+,-./0123456789:;<=>?@[]^_")[..PIN_LEN]), Ok(()));
        assert_eq!(check_new_pin(LOOKUP, &pin(&"x".repeat(SECRET_LEN - 1))), Err(SetPinError::LenRange));
        assert_eq!(check_new_pin(LOOKUP, &pin(&"x".repeat(SECRET_LEN + 1))), Err(SetPinError::LenRange));
        assert_eq!(check_new_pin(LOOKUP, b""), Err(SetPinError::LenRange));
        let other_lookup = format!("zzzzzzzz{}", "x".repeat(SECRET_LEN));
        assert_eq!(check_new_pin(LOOKUP, other_lookup.as_bytes()), Err(SetPinError::Invalid));
        let with_space = pin(&format!("{} ", "x".repeat(SECRET_LEN - 1)));
        assert_eq!(check_new_pin(LOOKUP, &with_space), Err(SetPinError::Invalid));
        let mut non_ascii = pin(&"x".repeat(SECRET_LEN));
        non_ascii[PIN_LEN - 1] = 0xe9;
        assert_eq!(check_new_pin(LOOKUP, &non_ascii), Err(SetPinError::Invalid));
        let mut control = pin(&"x".repeat(SECRET_LEN));
        control[LOOKUP_LEN] = b'\n';
        assert_eq!(check_new_pin(LOOKUP, &control), Err(SetPinError::Invalid));
        // The length of the PINs of before is a login's, not a new PIN's.
        assert_eq!(check_new_pin(LOOKUP, &pin(&"x".repeat(LEGACY_SECRET_LEN))), Err(SetPinError::LenRange));
    }

    #[test]
    fn pins_fit_openssl_and_keep_128_bits_of_secret() {
        // Issued secrets are letters and digits: 62 symbols.
        let bits = SECRET_LEN as f64 * 62f64.log2();
        assert!(bits >= 128.0, "{bits} bits");
        assert_eq!(LEGACY_PIN_LEN, 40);
    }

    fn record(failed_logins: u32, locked_until: Option<Timestamp>) -> AppRecord {
        AppRecord {
            name: "web".into(),
            instance: "hsm1".into(),
            pin_lookup: LOOKUP.into(),
            pin_hash: String::new(),
            created_at: Timestamp::from_unix(0),
            failed_logins,
            locked_until,
            policy: String::new(),
        }
    }

    #[test]
    fn pin_status_follows_the_count_and_the_lock() {
        let now = Timestamp::from_unix(1_000);
        let status = |failed, locked, max| pin_status(&record(failed, locked), max, now);
        let flags = |s: PinStatus| (s.count_low, s.final_try, s.locked);
        assert_eq!(flags(status(0, None, 3)), (false, false, false), "no wrong PIN");
        assert_eq!(flags(status(1, None, 3)), (true, false, false));
        assert_eq!(flags(status(2, None, 3)), (true, true, false), "one more locks");
        let until = Some(now.plus_seconds(1));
        assert_eq!(flags(status(3, until, 3)), (true, false, true), "locked");
        let ran_out = Some(now);
        assert_eq!(flags(status(3, ran_out, 3)), (true, false, false), "a fresh count starts");
        assert_eq!(flags(status(1, ran_out, 1)), (true, true, false), "with one try, every try is the last");
        assert_eq!(flags(status(0, None, 1)), (false, true, false));
    }

    #[test]
    fn a_hashed_secret_verifies_and_another_does_not() {
        let hash = hash_secret(b"0123456789abcdef0123456789abcdef").expect("hashes");
        assert!(secret_matches(b"0123456789abcdef0123456789abcdef", &hash));
        assert!(!secret_matches(b"0123456789abcdef0123456789abcdeF", &hash));
        assert!(!secret_matches(b"anything", "not a PHC string"));
    }
}
