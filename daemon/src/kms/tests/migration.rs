//! CMK migration (`docs/migration.md`): keys of the default instance held
//! by the daemon, the default instance's quota, migration tasks and their
//! refusals, runs in their windows on the manual clock, failures that
//! leave the key where it was, and what a stopped daemon left of a run.

use p11kms_proto::ErrorCode;
use p11kms_proto::Timestamp;
use p11kms_proto::admin::{
    KeySpec, KeyUsage, MigrateKeyRequest, MigrationStatus, SignRequest, SigningAlgorithm, UpdateRotationPolicyRequest,
};

use super::{code, context, describe, tag};
use crate::kms::instances::DEFAULT_INSTANCE;
use crate::kms::keys::{self, NewKey, rotation};
use crate::kms::migration::{run, tasks};
use crate::kms::testing::{CLUSTER, Fixture, INSTANCE};
use crate::kms::vault::SOFTWARE_CLUSTER;
use crate::kms::{asymmetric, envelope};
use crate::store::MigrationStep;

fn default_key(fx: &Fixture, spec: KeySpec, alias: Option<&str>) -> String {
    let mut new =
        NewKey::plain(DEFAULT_INSTANCE.into(), spec, spec.default_usage(), alias.map(str::to_owned), "admin:0".into());
    new.tags = vec![tag("team", "payments")];
    new.description = "orders".into();
    keys::create(&fx.kms, new).expect("a key of the default instance").record.key_id
}

fn migrate(key: &str, to: &str) -> MigrateKeyRequest {
    MigrateKeyRequest { key: key.into(), to_instance: to.into(), window_start: None, window_end: None }
}

fn status(fx: &Fixture, task: &str) -> MigrationStatus {
    tasks::describe(&fx.kms, task).expect("the task exists").status
}

#[test]
fn the_default_instance_keeps_its_keys_in_the_daemon_and_its_quota_cannot_be_raised() {
    let mut config = crate::config::Config::default();
    config.instances.default_key_quota = 2;
    let fx = Fixture::with_config(config);
    let key = default_key(&fx, KeySpec::Aes256, None);
    let blob = envelope::encrypt_bytes(&fx.kms, &key, b"data", &context(&[])).expect("encrypts").ciphertext_blob;
    let plain = envelope::decrypt_bytes(&fx.kms, &blob, &context(&[]), None).expect("decrypts").plaintext;
    assert_eq!(plain.expose(), b"data");
    default_key(&fx, KeySpec::EcP256, None);
    let refused = keys::create(
        &fx.kms,
        NewKey::plain(DEFAULT_INSTANCE.into(), KeySpec::Aes256, KeyUsage::EncryptDecrypt, None, "admin:0".into()),
    )
    .expect_err("the quota is full");
    assert_eq!(refused.code(), ErrorCode::LimitExceeded);
    assert!(refused.to_string().contains("cannot be raised") && refused.to_string().contains("migrate"), "{refused}");
}

#[test]
fn a_migrated_key_keeps_its_identity_and_its_old_ciphertext_decrypts() {
    let fx = Fixture::new();
    let key = default_key(&fx, KeySpec::Aes256, Some("alias/orders"));
    let signer = default_key(&fx, KeySpec::EcP256, None);
    let before = describe(&fx, &key);
    let blob = envelope::encrypt_bytes(&fx.kms, &key, b"old data", &context(&[("a", "b")])).expect("encrypts");
    let uuid = fx.key(&key).versions[0].uuid;

    let task = tasks::create(&fx.kms, &migrate("alias/orders", INSTANCE)).expect("scheduled");
    assert_eq!(task.status, MigrationStatus::Scheduled);
    assert_eq!(task.window_end.unix() - task.window_start.unix(), tasks::DEFAULT_WINDOW_SECONDS);
    let pass = fx.advance_seconds(1);
    assert_eq!(pass.migrated, 1);
    let done = tasks::describe(&fx.kms, &task.task_id).expect("described");
    assert_eq!(done.status, MigrationStatus::Succeeded);
    assert!(done.start_date.is_some() && done.end_date.is_some());

    let after = describe(&fx, &key);
    assert_eq!(after.instance, INSTANCE);
    assert_eq!(
        (after.creation_date, &after.description, after.key_state, &after.primary_key_version),
        (before.creation_date, &before.description, before.key_state, &before.primary_key_version)
    );
    let migrated = after.migrated.expect("describe says where it came from");
    assert_eq!((migrated.from_instance.as_str(), migrated.task_id.as_str()), (DEFAULT_INSTANCE, task.task_id.as_str()));
    assert_eq!(fx.key("alias/orders").record.key_id, key, "its alias follows it");
    assert_eq!(fx.key(&key).record.tags, vec![tag("team", "payments")]);
    assert!(fx.vault.holds(CLUSTER, &uuid), "its material is in the target's cluster");
    assert!(!fx.vault.holds(SOFTWARE_CLUSTER, &uuid), "and no longer in the daemon");
    let plain =
        envelope::decrypt_bytes(&fx.kms, &blob.ciphertext_blob, &context(&[("a", "b")]), None).expect("old data");
    assert_eq!(plain.plaintext.expose(), b"old data");
    envelope::encrypt_bytes(&fx.kms, &key, b"new data", &context(&[])).expect("new encryptions use the target");
    assert_eq!(fx.reloaded().key(&key).expect("stored").record.instance, INSTANCE, "committed, not only in memory");
    assert_eq!(fx.kms.registry().expect("registry").keys_in(DEFAULT_INSTANCE), 1, "only the signer is left");

    // An asymmetric key moves with its public half.
    let public = fx.key(&signer).versions[0].public_key.clone();
    tasks::create(&fx.kms, &migrate(&signer, INSTANCE)).expect("scheduled");
    fx.advance_seconds(1);
    let moved = fx.key(&signer);
    assert_eq!((moved.record.instance.as_str(), &moved.versions[0].public_key), (INSTANCE, &public));
    let version = moved.versions[0].record.version_id.clone();
    let signed = asymmetric::sign(
        &fx.kms,
        &SignRequest {
            key: signer,
            key_version_id: version,
            algorithm: SigningAlgorithm::EcdsaSha256,
            digest: vec![7; 32],
        },
    );
    assert!(signed.is_ok(), "{signed:?}");
}

#[test]
fn keys_the_diagnostic_refuses_and_impossible_targets_are_refused_with_their_reasons() {
    let fx = Fixture::new();
    let key = default_key(&fx, KeySpec::Aes256, None);
    rotation::update_policy(
        &fx.kms,
        &UpdateRotationPolicyRequest {
            key: key.clone(),
            enable_automatic_rotation: true,
            rotation_interval: Some(7 * 86_400),
        },
    )
    .expect("rotation on");
    let refused = tasks::create(&fx.kms, &migrate(&key, INSTANCE)).expect_err("rotation is on");
    assert_eq!(refused.code(), ErrorCode::UnsupportedOperation);
    assert!(refused.to_string().contains("AutomaticRotationEnabled"), "{refused}");
    assert!(refused.to_string().contains("once automatic rotation is disabled"), "the spec's hint: {refused}");

    let hsm_key = fx.create(KeySpec::Aes256).record.key_id;
    let refused = tasks::create(&fx.kms, &migrate(&hsm_key, INSTANCE)).expect_err("not in default");
    assert!(refused.to_string().contains("NotInDefaultInstance"), "{refused}");

    let plain = default_key(&fx, KeySpec::Aes256, None);
    assert_eq!(code(tasks::create(&fx.kms, &migrate(&plain, DEFAULT_INSTANCE))), ErrorCode::InvalidParameter);
    assert_eq!(code(tasks::create(&fx.kms, &migrate(&plain, "nowhere"))), ErrorCode::ResourceNotFound);
    assert_eq!(code(tasks::create(&fx.kms, &migrate("no-such-key", INSTANCE))), ErrorCode::KeyNotFound);
    let mut backwards = migrate(&plain, INSTANCE);
    backwards.window_start = Some(Timestamp(fx.now().unix() + 100));
    backwards.window_end = Some(Timestamp(fx.now().unix() + 50));
    assert_eq!(code(tasks::create(&fx.kms, &backwards)), ErrorCode::InvalidParameter);
    let mut over = migrate(&plain, INSTANCE);
    over.window_start = Some(Timestamp(fx.now().unix() - 100));
    over.window_end = Some(Timestamp(fx.now().unix() - 50));
    assert_eq!(code(tasks::create(&fx.kms, &over)), ErrorCode::InvalidParameter);

    tasks::create(&fx.kms, &migrate(&plain, INSTANCE)).expect("scheduled");
    assert_eq!(code(tasks::create(&fx.kms, &migrate(&plain, INSTANCE))), ErrorCode::ResourceExist, "one at a time");
}

#[test]
fn the_target_quota_is_checked_first() {
    let mut config = crate::config::Config::default();
    config.instances.key_quota = 1;
    let fx = Fixture::with_config(config);
    fx.create(KeySpec::Aes256);
    let key = default_key(&fx, KeySpec::Aes256, None);
    let refused = tasks::create(&fx.kms, &migrate(&key, INSTANCE)).expect_err("hsm1 is full");
    assert_eq!(refused.code(), ErrorCode::LimitExceeded);
    assert_eq!(fx.key(&key).record.instance, DEFAULT_INSTANCE);
}

#[test]
fn a_task_waits_for_its_window_and_fails_when_the_window_passed_unused() {
    let fx = Fixture::new();
    let key = default_key(&fx, KeySpec::Aes256, None);
    let now = fx.now().unix();
    let mut later = migrate(&key, INSTANCE);
    later.window_start = Some(Timestamp(now + 3 * 86_400));
    later.window_end = Some(Timestamp(now + 3 * 86_400 + 7_200));
    let task = tasks::create(&fx.kms, &later).expect("scheduled");
    fx.advance_days(2);
    assert_eq!(status(&fx, &task.task_id), MigrationStatus::Scheduled, "before its window");
    assert_eq!(fx.key(&key).record.instance, DEFAULT_INSTANCE);
    fx.advance_days(1);
    assert_eq!(status(&fx, &task.task_id), MigrationStatus::Succeeded, "inside its window");

    // A window that passed while nothing ran (a stopped daemon).
    let other = default_key(&fx, KeySpec::Aes256, None);
    let task = tasks::create(&fx.kms, &migrate(&other, INSTANCE)).expect("scheduled");
    fx.kms.clock.advance(2 * 3_600).expect("time passes without a scheduler pass");
    crate::kms::scheduler::run_due(&fx.kms);
    let failed = tasks::describe(&fx.kms, &task.task_id).expect("described");
    assert_eq!(failed.status, MigrationStatus::Failed);
    assert!(failed.failure_reason.as_deref().is_some_and(|r| r.contains("window ended")), "{failed:?}");
    assert_eq!(fx.key(&other).record.instance, DEFAULT_INSTANCE, "the key stayed");
}

#[test]
fn a_copy_that_fails_leaves_the_key_usable_where_it_was() {
    let fx = Fixture::new();
    let key = default_key(&fx, KeySpec::Aes256, None);
    let task = tasks::create(&fx.kms, &migrate(&key, INSTANCE)).expect("scheduled");
    fx.vault.fail_writes(true);
    let pass = fx.advance_seconds(1);
    fx.vault.fail_writes(false);
    assert_eq!(pass.migrations_failed, 1);
    let failed = tasks::describe(&fx.kms, &task.task_id).expect("described");
    assert_eq!(failed.status, MigrationStatus::Failed);
    assert!(failed.failure_reason.is_some_and(|r| r.contains("copying")));
    assert_eq!(fx.key(&key).record.instance, DEFAULT_INSTANCE);
    assert!(!fx.vault.holds(CLUSTER, &fx.key(&key).versions[0].uuid), "no copy left behind");
    envelope::encrypt_bytes(&fx.kms, &key, b"still here", &context(&[])).expect("usable in default");
    // A new task may follow a failed one.
    tasks::create(&fx.kms, &migrate(&key, INSTANCE)).expect("scheduled again");
    fx.advance_seconds(1);
    assert_eq!(fx.key(&key).record.instance, INSTANCE);
}

#[test]
fn what_a_stopped_daemon_left_of_a_run_is_undone_or_finished_at_start() {
    let fx = Fixture::new();
    let copying = default_key(&fx, KeySpec::Aes256, None);
    let cleaning = default_key(&fx, KeySpec::Aes256, None);
    let put = |key: &str, status, step| {
        let task = tasks::create(&fx.kms, &migrate(key, INSTANCE)).expect("scheduled");
        let mut record = fx.kms.registry().expect("registry").migration(&task.task_id).expect("task").clone();
        record.status = status;
        record.step = Some(step);
        fx.kms.store.write(fx.now(), |tx| tx.put_migration(&record)).expect("stored");
        fx.kms.registry_mut().expect("registry").put_migration(record);
        task.task_id
    };
    // Stopped while copying: a copy is in the target, the key in default.
    let copy_task = put(&copying, MigrationStatus::Running, MigrationStep::Copying);
    let copying_uuid = fx.key(&copying).versions[0].uuid;
    fx.vault.plant(CLUSTER, &copying_uuid, KeySpec::Aes256);
    // Stopped after the switch: the key in hsm1, its old material left.
    let clean_task = put(&cleaning, MigrationStatus::Succeeded, MigrationStep::Cleaning);
    let cleaning_uuid = fx.key(&cleaning).versions[0].uuid;
    let mut moved = fx.key(&cleaning).record;
    moved.instance = INSTANCE.into();
    fx.kms.store.write(fx.now(), |tx| tx.update_key(&moved)).expect("stored");
    fx.kms.registry_mut().expect("registry").replace_key(moved).expect("moved");
    fx.vault.plant(CLUSTER, &cleaning_uuid, KeySpec::Aes256);

    assert_eq!(run::recover(&fx.kms).expect("settled"), 2);
    assert!(!fx.vault.holds(CLUSTER, &copying_uuid), "the copy is destroyed");
    assert!(fx.vault.holds(SOFTWARE_CLUSTER, &copying_uuid), "the original stays");
    assert_eq!(status(&fx, &copy_task), MigrationStatus::Scheduled, "scheduled again");
    assert!(!fx.vault.holds(SOFTWARE_CLUSTER, &cleaning_uuid), "what the moved key left is destroyed");
    let reloaded = fx.reloaded();
    assert_eq!(reloaded.migration(&clean_task).expect("stored").step, None, "finished");
    assert_eq!(reloaded.migration(&copy_task).expect("stored").step, None);
    fx.advance_seconds(1);
    assert_eq!(fx.key(&copying).record.instance, INSTANCE, "the rescheduled task runs");
}
