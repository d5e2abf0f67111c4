//! The whole CMK migration story through the real module, on the test
//! clock: keys of the `default` instance (held by the daemon in software,
//! one of them with imported material, which no file of the state
//! directory holds in clear) encrypt and sign through the admin
//! API and through PKCS#11; the instance's quota refuses one more and says
//! to migrate; the diagnostic says which keys may move and why not; the
//! movable ones migrate into `hsm1`, one at once and one in a window the
//! next day; everything encrypted before decrypts, the application
//! switches to an app of `hsm1` and signs with the migrated key, and the
//! app of `default` finds the key no more.
//!
//! It loads the module, so this file holds one test.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use serde_json::Value;

use p11kms_tests::{Daemon, load_module, slot_labelled};

fn gcm(iv: &mut [u8; 12]) -> Mechanism<'_> {
    Mechanism::AesGcm(GcmParams::new(iv, b"", 128.into()).expect("GCM params"))
}

/// The objects of `class` labelled `label` that the session sees.
fn found(session: &Session, class: ObjectClass, label: &str) -> Vec<ObjectHandle> {
    session.find_objects(&[Attribute::Class(class), Attribute::Label(label.as_bytes().to_vec())]).expect("find")
}

fn one(session: &Session, class: ObjectClass, label: &str) -> ObjectHandle {
    let handles = found(session, class, label);
    assert_eq!(handles.len(), 1, "one {class:?} labelled {label}");
    handles[0]
}

/// Every file under `dir`.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if path.is_file() {
            out.push(path);
        }
    }
    out
}

fn key_id(created: &Value) -> String {
    created["KeyMetadata"]["KeyId"].as_str().expect("key id").to_owned()
}

fn check<'a>(checks: &'a Value, key: &str) -> &'a Value {
    checks["Keys"].as_array().expect("keys").iter().find(|k| k["KeyId"] == key).expect("the key is diagnosed")
}

fn codes(check: &Value) -> Vec<String> {
    check["Reasons"].as_array().expect("reasons").iter().map(|r| r["Code"].as_str().expect("code").to_owned()).collect()
}

#[test]
fn default_keys_encrypt_then_migrate_into_hsm1_and_keep_working_there() {
    let config = tempfile::tempdir().expect("config dir");
    let config_file = config.path().join("p11kmsd.toml");
    std::fs::write(&config_file, "[instances]\ndefault_key_quota = 4\n").expect("config");
    let daemon = Daemon::start_with(&["--test-clock", "--config", config_file.to_str().expect("path")]);
    let create =
        |extra: &[&str]| key_id(&daemon.cli_json(&[&["key", "create", "--instance", "default"][..], extra].concat()));
    let aes = create(&["--key-spec", "AES_256", "--alias", "alias/legacy-aes"]);
    let ec = create(&["--key-spec", "EC_P256", "--key-usage", "SIGN/VERIFY", "--alias", "alias/legacy-ec"]);
    let rotating = create(&[
        "--key-spec",
        "AES_256",
        "--alias",
        "alias/legacy-rotating",
        "--enable-automatic-rotation",
        "--rotation-interval",
        "30d",
    ]);
    let external = create(&["--key-spec", "AES_256", "--origin", "EXTERNAL", "--alias", "alias/legacy-byok"]);
    let (code, _, err) = daemon.import_material(&external, &[0x5a; 32], "RSAES_OAEP_SHA_256", &[]);
    assert_eq!(code, Some(0), "BYOK into the default instance: {err}");
    // Its material, known here, is in no file of the state directory: the
    // daemon keeps it sealed under its root key.
    let spellings = [vec![0x5a; 32], "5a".repeat(32).into_bytes(), b"WlpaWlpaWlpaWlpa".to_vec()];
    for file in files(daemon.state_dir()) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        for spelling in &spellings {
            assert!(!bytes.windows(spelling.len()).any(|w| w == spelling.as_slice()), "{}", file.display());
        }
    }
    assert_eq!(daemon.key_field(&aes, "KeyMetadata.KeyManagerType"), "CMK");

    // Four versions: the default instance is full, and says what to do.
    let (code, _, refused) = daemon.cli_outcome(&["key", "create", "--instance", "default", "--key-spec", "AES_256"]);
    assert_eq!(code, Some(1));
    assert!(refused.starts_with("Rejected.LimitExceeded") && refused.contains("key migrate"), "{refused}");

    // Data encrypted through the admin API, with the imported key too...
    let encrypt = |key: &str, text: &str| {
        daemon.cli_json(&["encrypt", "--key-id", key, "--plaintext", text])["CiphertextBlob"]
            .as_str()
            .expect("blob")
            .to_owned()
    };
    let admin_blob = encrypt("alias/legacy-aes", "admin data");
    let byok_blob = encrypt("alias/legacy-byok", "imported key data");

    // ...and through PKCS#11, by an app of the default instance.
    let legacy_pin = daemon.create_app("legacy", "default");
    let modern_pin = daemon.create_app("modern", "hsm1");
    let ctx = load_module(&daemon);
    let legacy = ctx.open_rw_session(slot_labelled(&ctx, "default")).expect("session");
    legacy.login(UserType::User, Some(&AuthPin::from(legacy_pin))).expect("login to default");
    let mut iv = [3u8; 12];
    let sealed = legacy
        .encrypt(&gcm(&mut iv), one(&legacy, ObjectClass::SECRET_KEY, "legacy-aes"), b"pkcs11 data")
        .expect("AES-GCM in default");
    let digest = [0x42u8; 32];
    let old_signature =
        legacy.sign(&Mechanism::Ecdsa, one(&legacy, ObjectClass::PRIVATE_KEY, "legacy-ec"), &digest).expect("ECDSA");

    // The diagnostic: which may move, and why not.
    let checks = daemon.cli_json(&["key", "check-migration"]);
    assert_eq!(check(&checks, &aes)["Migratable"], true);
    assert_eq!(check(&checks, &ec)["Migratable"], true);
    assert_eq!(codes(check(&checks, &rotating)), ["AutomaticRotationEnabled"]);
    assert_eq!(codes(check(&checks, &external)), ["ExternalKeyMaterial"]);

    // The movable ones migrate: one now, one in a window tomorrow.
    let now_task = daemon.cli_json(&["key", "migrate", "alias/legacy-aes", "--to-instance", "hsm1"]);
    let clock = daemon.cli_json(&["clock", "show"]);
    let now = p11kms_proto::Timestamp::parse_rfc3339(clock["Now"].as_str().expect("now")).expect("time");
    let tomorrow = |hours: i64| p11kms_proto::Timestamp(now.unix() + 86_400 + hours * 3_600).to_string();
    let later_task = daemon.cli_json(&[
        "key",
        "migrate",
        "alias/legacy-ec",
        "--to-instance",
        "hsm1",
        "--window-start",
        &tomorrow(0),
        "--window-end",
        &tomorrow(2),
    ]);
    for refused in [&rotating, &external] {
        let error = daemon.cli_error(&["key", "migrate", refused, "--to-instance", "hsm1"]);
        assert_eq!(error, "Rejected.UnsupportedOperation");
    }
    daemon.cli(&["clock", "advance", "1s"]);
    let status = |task: &Value| {
        let id = task["TaskId"].as_str().expect("task id");
        daemon.cli_json(&["key", "describe-migration", id])["Status"].as_str().expect("status").to_owned()
    };
    assert_eq!((status(&now_task), status(&later_task)), ("Succeeded".into(), "Scheduled".into()));
    daemon.cli(&["clock", "advance", "1d"]);
    assert_eq!(status(&later_task), "Succeeded", "in its window");
    for key in [&aes, &ec] {
        assert_eq!(daemon.key_field(key, "KeyMetadata.DKMSInstanceId"), "hsm1");
        let from = daemon.key_field(key, "KeyMetadata.Migrated.FromInstance");
        assert_eq!(from, "default", "describe says where it came from");
    }
    for key in [&rotating, &external] {
        assert_eq!(daemon.key_field(key, "KeyMetadata.DKMSInstanceId"), "default", "refused keys stay");
    }

    // All old ciphertext decrypts.
    let decrypt = |blob: &str| daemon.cli_json(&["decrypt", "--ciphertext-blob", blob])["Plaintext"].clone();
    assert_eq!(decrypt(&admin_blob), "YWRtaW4gZGF0YQ==");
    assert_eq!(decrypt(&byok_blob), "aW1wb3J0ZWQga2V5IGRhdGE=");

    // The app of default finds the migrated keys no more...
    assert!(found(&legacy, ObjectClass::SECRET_KEY, "legacy-aes").is_empty());
    assert!(found(&legacy, ObjectClass::PRIVATE_KEY, "legacy-ec").is_empty());
    assert_eq!(found(&legacy, ObjectClass::SECRET_KEY, "legacy-byok").len(), 1, "what stayed is still there");

    // ...the application switches to an app of hsm1: the old ciphertext
    // decrypts, and the migrated key signs, in the HSM.
    let modern = ctx.open_rw_session(slot_labelled(&ctx, "hsm1")).expect("session");
    modern.login(UserType::User, Some(&AuthPin::from(modern_pin))).expect("login to hsm1");
    let moved_aes = one(&modern, ObjectClass::SECRET_KEY, "legacy-aes");
    assert_eq!(modern.decrypt(&gcm(&mut iv), moved_aes, &sealed).expect("decrypts in hsm1"), b"pkcs11 data");
    let moved_ec = one(&modern, ObjectClass::PRIVATE_KEY, "legacy-ec");
    let new_signature = modern.sign(&Mechanism::Ecdsa, moved_ec, &digest).expect("signs in hsm1");
    let public = one(&modern, ObjectClass::PUBLIC_KEY, "legacy-ec");
    modern.verify(&Mechanism::Ecdsa, public, &digest, &new_signature).expect("the new signature verifies");
    modern.verify(&Mechanism::Ecdsa, public, &digest, &old_signature).expect("so does the one made in default");
    let (code, report) = daemon.cli_json_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!((code, report["Consistent"].as_bool()), (Some(0), Some(true)), "{report}");
}
