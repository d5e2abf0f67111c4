//! Restoring keys and secrets from backups: a deleted key of a software
//! instance comes back with its id, versions, aliases and material, and
//! its old ciphertext decrypts; every refusal; a secret after its key;
//! and point in time: the state at random seconds of days of changes,
//! each restored exactly.

use p11kms_proto::admin::{
    BackupType, CreateBackupRequest, EnableBackupRequest, InstanceKind, KeySpec, KeyState, RestoreKeyRequest,
    RestoreSecretRequest, Tag,
};
use p11kms_proto::{ErrorCode, Timestamp};

use super::{Setup, code};
use crate::backups::{lifecycle, restore};
use crate::kms::keys::{self, NewKey, lifecycle as key_lifecycle, rotation};
use crate::kms::testing::CLUSTER;
use crate::kms::{aliases, envelope, instances};

const SOFT: &str = "soft1";

/// A software instance `soft1` with a software backup enabled on it.
fn software(s: &Setup) -> String {
    instances::create(&s.fx.kms, SOFT, InstanceKind::Software, CLUSTER).expect("soft1");
    let request = CreateBackupRequest {
        backup_type: BackupType::Retained,
        instance_kind: InstanceKind::Software,
        alias: None,
        viewable_days: Some(30),
        duration_days: Some(365),
    };
    let id = lifecycle::create(&s.fx.kms, &s.backups, &request).expect("created").backup_id;
    let enable = EnableBackupRequest { backup_id: id.clone(), instance: SOFT.into(), alias: None };
    lifecycle::enable(&s.fx.kms, &s.backups, &enable).expect("enabled");
    id
}

fn soft_key(s: &Setup, alias: Option<&str>) -> String {
    let new = NewKey::plain(
        SOFT.into(),
        KeySpec::Aes256,
        KeySpec::Aes256.default_usage(),
        alias.map(Into::into),
        "admin:0".into(),
    );
    keys::create(&s.fx.kms, new).expect("key").record.key_id
}

/// Deletes a key for good: its deletion window, then its end.
fn gone(s: &Setup, key: &str) {
    key_lifecycle::schedule_deletion(&s.fx.kms, key, 7).expect("scheduled");
    key_lifecycle::destroy(&s.fx.kms, key).expect("destroyed");
}

fn restore_key(
    s: &Setup,
    id: &str,
    date: Option<String>,
    at: Option<Timestamp>,
    key: &str,
) -> Result<p11kms_proto::admin::RestoredKey, crate::kms::KmsError> {
    let request = RestoreKeyRequest { backup_id: id.into(), date, at, key_id: key.into(), to_instance: SOFT.into() };
    restore::restore_key(&s.fx.kms, &s.backups, &request)
}

#[test]
fn a_deleted_key_comes_back_with_its_material_and_old_ciphertext_decrypts() {
    let s = Setup::new();
    let id = software(&s);
    let key = soft_key(&s, Some("alias/orders"));
    rotation::rotate(&s.fx.kms, &key).expect("two versions");
    let blob =
        envelope::encrypt_bytes(&s.fx.kms, &key, b"kept", &Default::default()).expect("encrypted").ciphertext_blob;
    let before = s.fx.key(&key);
    s.advance(300);
    let day = s.today();
    gone(&s, &key);
    assert!(!s.fx.vault.holds(CLUSTER, &before.versions[0].uuid), "its material is gone");

    let restored = restore_key(&s, &id, Some(day.clone()), None, &key).expect("restored");
    assert_eq!(restored.key_version_ids.len(), 2);
    assert_eq!(restored.aliases, ["alias/orders"]);
    let after = s.fx.key(&key);
    assert_eq!(after.record.primary_version, before.record.primary_version);
    assert_eq!(after.record.created_at, before.record.created_at);
    assert_eq!(s.fx.key("alias/orders").record.key_id, key, "its alias is free and back");
    for version in &before.versions {
        assert!(s.fx.vault.holds(CLUSTER, &version.uuid), "material back in the cluster");
    }
    let plain = envelope::decrypt_bytes(&s.fx.kms, &blob, &Default::default(), None).expect("decrypts");
    assert_eq!(plain.plaintext.expose(), b"kept");
    assert_eq!(s.fx.reloaded().key(&key).expect("stored").versions.len(), 2, "committed");
    s.fx.assert_consistent();

    // Refusals: it exists now; a key the backup never held; no moment.
    assert_eq!(code(restore_key(&s, &id, Some(day.clone()), None, &key)), ErrorCode::ResourceExist);
    assert_eq!(code(restore_key(&s, &id, Some(day.clone()), None, "key-nope")), ErrorCode::KeyNotFound);
    assert_eq!(code(restore_key(&s, &id, None, None, &key)), ErrorCode::InvalidParameter);
    let wrong =
        RestoreKeyRequest { backup_id: id.clone(), date: Some(day), at: None, key_id: key, to_instance: "hsm1".into() };
    assert_eq!(
        code(restore::restore_key(&s.fx.kms, &s.backups, &wrong)),
        ErrorCode::InvalidParameter,
        "a hardware instance"
    );
}

#[test]
fn aliases_taken_meanwhile_are_not_restored_and_the_quota_is_checked_first() {
    let mut config = crate::config::Config::default();
    config.instances.key_quota = 3;
    let s = Setup { fx: crate::kms::testing::Fixture::with_config(config), ..Setup::new() };
    let id = software(&s);
    let key = soft_key(&s, Some("alias/shared"));
    s.advance(300);
    let day = s.today();
    gone(&s, &key);
    let other = soft_key(&s, None);
    aliases::create(&s.fx.kms, "alias/shared", &other).expect("the alias moves on");
    soft_key(&s, None);
    let last = soft_key(&s, None);
    assert_eq!(code(restore_key(&s, &id, Some(day.clone()), None, &key)), ErrorCode::LimitExceeded, "soft1 is full");
    gone(&s, &last);
    let restored = restore_key(&s, &id, Some(day), None, &key).expect("restored");
    assert_eq!(
        (restored.aliases.len(), restored.aliases_not_restored.as_slice()),
        (0, &["alias/shared".to_owned()][..])
    );
}

#[test]
fn a_secret_comes_back_after_its_key() {
    let s = Setup::new();
    let id = software(&s);
    let key = soft_key(&s, None);
    let request = crate::kms::testing::secret_request("db", SOFT, "pw-1", Some(&key));
    crate::kms::secrets::create::create(&s.fx.kms, &request, "admin:0").expect("secret");
    s.advance(300);
    let day = s.today();
    crate::kms::secrets::lifecycle::delete(
        &s.fx.kms,
        &p11kms_proto::admin::DeleteSecretRequest {
            secret_name: "db".into(),
            recovery_window_in_days: None,
            force_delete_without_recovery: true,
        },
    )
    .expect("deleted");
    gone(&s, &key);
    let secret = |date: &str| RestoreSecretRequest {
        backup_id: id.clone(),
        date: Some(date.into()),
        at: None,
        secret_name: "db".into(),
        to_instance: SOFT.into(),
    };
    let refused = restore::restore_secret(&s.fx.kms, &s.backups, &secret(&day)).expect_err("no key");
    assert!(refused.to_string().contains(&key), "names the key: {refused}");
    restore_key(&s, &id, Some(day.clone()), None, &key).expect("key first");
    let restored = restore::restore_secret(&s.fx.kms, &s.backups, &secret(&day)).expect("restored");
    assert_eq!(restored.version_ids, ["v1"]);
    let value = crate::kms::secrets::read::current_value(&s.fx.kms, SOFT, "db").expect("reads");
    assert_eq!(value.expose(), b"pw-1");
    assert_eq!(code(restore::restore_secret(&s.fx.kms, &s.backups, &secret(&day))), ErrorCode::ResourceExist);
}

/// A key's state as a restore must give it back.
fn state_of(s: &Setup, key: &str) -> (KeyState, Vec<Tag>, String, Vec<String>, Vec<String>) {
    let k = s.fx.key(key);
    let mut aliases = k.aliases.clone();
    aliases.sort();
    (
        k.record.state,
        k.record.tags.clone(),
        k.record.description.clone(),
        k.versions.iter().map(|v| v.record.version_id.clone()).collect(),
        aliases,
    )
}

#[test]
fn any_second_of_days_of_changes_is_restored_exactly() {
    let s = Setup::new();
    let id = software(&s);
    let key = soft_key(&s, Some("alias/pit-0"));
    let mut recorded = Vec::new();
    let mut seed: u64 = 0x5eed;
    let mut next = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    // Three simulated days, a change every simulated minute or so.
    for minute in 0..(3 * 24 * 60 / 7) {
        match next(4) {
            // A disabled key is not rotated: the refusal changes nothing.
            0 => drop(rotation::rotate(&s.fx.kms, &key)),
            1 => key_lifecycle::tag(&s.fx.kms, &key, &[Tag { tag_key: "m".into(), tag_value: minute.to_string() }])
                .expect("tagged"),
            2 if minute % 2 == 0 => key_lifecycle::disable(&s.fx.kms, &key).expect("disabled"),
            2 => key_lifecycle::enable(&s.fx.kms, &key).expect("enabled"),
            _ => aliases::create(&s.fx.kms, &format!("alias/pit-{minute}"), &key).expect("aliased"),
        }
        s.advance(1 + next(59) as i64);
        if next(10) == 0 {
            recorded.push((s.fx.now(), state_of(&s, &key)));
        }
        s.advance(7 * 60 - 60);
    }
    assert!(recorded.len() > 10, "{} seconds recorded", recorded.len());
    for (at, expected) in recorded {
        gone(&s, &key);
        restore_key(&s, &id, None, Some(at), &key).unwrap_or_else(|e| panic!("restore as of {at}: {e}"));
        assert_eq!(state_of(&s, &key), expected, "as of {at}");
    }
}

#[test]
fn a_drill_restores_every_version_and_finds_damage() {
    let s = Setup::new();
    let id = software(&s);
    let aes = soft_key(&s, None);
    rotation::rotate(&s.fx.kms, &aes).expect("two versions");
    let rsa = NewKey::plain(
        SOFT.into(),
        KeySpec::Rsa2048,
        p11kms_proto::admin::KeyUsage::EncryptDecrypt,
        None,
        "admin:0".into(),
    );
    keys::create(&s.fx.kms, rsa).expect("rsa");
    let ec =
        NewKey::plain(SOFT.into(), KeySpec::EcP256, p11kms_proto::admin::KeyUsage::SignVerify, None, "admin:0".into());
    keys::create(&s.fx.kms, ec).expect("ec");
    s.advance(300);
    let versions_before = s.fx.vault.version_count();
    let drill = crate::backups::drill::drill(&s.fx.kms, &s.backups, &id).expect("drilled");
    assert!(drill.passed, "{:?}", drill.failures);
    assert_eq!(drill.key_versions_checked, 4);
    assert_eq!(s.fx.vault.version_count(), versions_before, "its scratch versions are gone");
    assert!(s.fx.kms.registry().expect("registry").intents().next().is_none(), "and their intents");
    let described = lifecycle::describe(&s.backups, &id).expect("described");
    assert_eq!(described.last_drill.map(|d| d.passed), Some(true), "kept with the backup");

    // A damaged object: the drill says which version would not restore.
    let objects = s._dir.path().join("backups").join("objects");
    let mut damaged = 0;
    for file in super::walk(&objects) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.contains("\"wrapped\"") && damaged == 0 {
            let mut bytes = text.into_bytes();
            let at = bytes.iter().rposition(|b| b.is_ascii_alphanumeric()).expect("a byte to change");
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            std::fs::write(&file, bytes).expect("damaged");
            damaged += 1;
        }
    }
    let drill = crate::backups::drill::drill(&s.fx.kms, &s.backups, &id).expect("drilled");
    assert!(!drill.passed && drill.failures.iter().any(|f| f.contains("damaged")), "{:?}", drill.failures);
}

#[test]
fn a_deleted_instance_s_system_backup_keeps_its_data_ninety_days() {
    let s = Setup::new();
    instances::create(&s.fx.kms, SOFT, InstanceKind::Software, CLUSTER).expect("soft1");
    let key = soft_key(&s, None);
    s.advance(1);
    let system = lifecycle::list(
        &s.fx.kms,
        &s.backups,
        &p11kms_proto::admin::ListBackupsRequest { instance: Some(SOFT.into()), backup_type: Some(BackupType::System) },
    )
    .expect("listed")
    .pop()
    .expect("soft1's system backup");
    let day = s.today();
    crate::kms::instances::delete::delete(&s.fx.kms, SOFT, true).expect("deleted");
    s.advance(60);
    let kept = lifecycle::describe(&s.backups, &system.backup_id).expect("kept");
    assert_eq!((kept.instance, kept.status), (None, p11kms_proto::admin::BackupStatus::Disabled));
    assert_eq!(kept.expire_date.map(|e| (e.unix() - s.fx.now().unix()) / 86_400), Some(90));
    // Its data restores into another software instance meanwhile.
    instances::create(&s.fx.kms, "soft2", InstanceKind::Software, CLUSTER).expect("soft2");
    let request = RestoreKeyRequest {
        backup_id: system.backup_id.clone(),
        date: Some(day),
        at: None,
        key_id: key.clone(),
        to_instance: "soft2".into(),
    };
    restore::restore_key(&s.fx.kms, &s.backups, &request).expect("restored from a deleted instance's backup");
    s.advance(91 * 86_400);
    assert_eq!(code(lifecycle::describe(&s.backups, &system.backup_id)), ErrorCode::ResourceNotFound, "then removed");
}

#[test]
fn drills_run_daily_when_configured() {
    let mut config = crate::config::Config::default();
    config.backups.drill_daily = true;
    let s = Setup { fx: crate::kms::testing::Fixture::with_config(config), ..Setup::new() };
    let id = software(&s);
    soft_key(&s, None);
    let pass = s.advance(86_400);
    assert!(pass.drills_passed >= 1 && pass.drills_failed == 0, "{pass:?}");
    let drill = lifecycle::describe(&s.backups, &id).expect("described").last_drill.expect("drilled");
    assert_eq!((drill.passed, drill.key_versions_checked), (true, 1));
}

/// Gives `key` an application's `CKA_ID`, as `C_SetAttributeValue` does.
fn name_key(s: &Setup, key: &str, app_id: &[u8]) {
    let record = crate::store::KeyAppIdRecord {
        key_id: key.into(),
        instance: SOFT.into(),
        app_id: app_id.to_vec(),
        set_at: s.fx.now(),
    };
    s.fx.kms.store.write(s.fx.now(), |tx| tx.set_key_app_id(&record)).expect("stored");
    s.fx.kms.registry_mut().expect("registry").set_app_id(key, Some(app_id.to_vec()));
}

#[test]
fn a_key_comes_back_with_the_cka_id_an_application_gave_it_as_of_the_moment() {
    let s = Setup::new();
    let id = software(&s);
    let key = soft_key(&s, None);
    name_key(&s, &key, b"JK");
    s.advance(300);
    let day = s.today();
    s.advance(60);
    let at = s.fx.now();
    s.advance(60);
    name_key(&s, &key, b"renamed");
    s.advance(10);
    let renamed_at = s.fx.now();
    s.advance(290);
    gone(&s, &key);
    // As of the day's end (the incremental of the rename): its last id.
    restore_key(&s, &id, Some(day), None, &key).expect("restored");
    assert_eq!(s.fx.key(&key).app_id.as_deref(), Some(&b"renamed"[..]));
    assert_eq!(s.fx.reloaded().key(&key).expect("stored").app_id.as_deref(), Some(&b"renamed"[..]), "committed");
    // As of a second before the rename (point in time): the first id.
    gone(&s, &key);
    restore_key(&s, &id, None, Some(at), &key).expect("restored");
    assert_eq!(s.fx.key(&key).app_id.as_deref(), Some(&b"JK"[..]));
    // Ten seconds after the rename, before any point took it: the journal.
    gone(&s, &key);
    restore_key(&s, &id, None, Some(renamed_at), &key).expect("restored");
    assert_eq!(s.fx.key(&key).app_id.as_deref(), Some(&b"renamed"[..]), "replayed from the journal");
}

#[test]
fn a_key_comes_back_with_the_mechanisms_an_application_allowed_it() {
    const GCM: u64 = cryptoki_sys::CKM_AES_GCM;
    let s = Setup::new();
    let id = software(&s);
    s.advance(60);
    let new = NewKey {
        allowed_mechanisms: vec![GCM],
        ..NewKey::plain(SOFT.into(), KeySpec::Aes256, KeySpec::Aes256.default_usage(), None, "app:a".into())
    };
    let key = keys::create(&s.fx.kms, new).expect("key").record.key_id;
    s.advance(10);
    let made_at = s.fx.now();
    s.advance(300);
    let day = s.today();
    s.advance(86_400);
    gone(&s, &key);
    // Ten seconds after its creation, before any point took it: the journal.
    restore_key(&s, &id, None, Some(made_at), &key).expect("restored");
    assert_eq!(s.fx.key(&key).allowed_mechanisms, vec![GCM], "replayed from the journal");
    assert_eq!(s.fx.reloaded().key(&key).expect("stored").allowed_mechanisms, vec![GCM], "committed");
    // As of the day's end: from the point's object.
    gone(&s, &key);
    restore_key(&s, &id, Some(day), None, &key).expect("restored");
    assert_eq!(s.fx.key(&key).allowed_mechanisms, vec![GCM], "kept in the backup");
}
