//! Creation intents (`keys/intents.rs`): recorded before every HSM write
//! that makes objects under a new id, gone with the commit or once a
//! failed write destroyed what it made; what a crash leaves (an intent and
//! its objects, no metadata) is destroyed by the sweep, which leaves
//! writers at work, committed creations and members that cannot be
//! cleared alone. A crash is a restart: the registry rebuilt from the
//! store, with the vault as the crash left it.

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{KeySpec, WrappingAlgorithm, WrappingKeySpec};

use super::code;
use crate::kms::keys::intents::{self, Sweep};
use crate::kms::keys::{self, import, rotation};
use crate::kms::names::new_version_id;
use crate::kms::testing::{CLUSTER, Fixture};
use crate::store::IntentPurpose;

/// The registry as a restart rebuilds it from the store.
fn restart(fx: &Fixture) {
    *fx.kms.registry_mut().expect("registry") = fx.reloaded();
}

fn sweep(fx: &Fixture) -> Sweep {
    let writes = fx.kms.writer().expect("writer");
    intents::sweep(&fx.kms, CLUSTER, true, &writes).expect("the sweep runs")
}

/// What a daemon killed between the HSM write of a new version and its
/// commit leaves: the intent in the store, the material in the vault.
fn crashed_creation(fx: &Fixture, spec: KeySpec) -> [u8; 16] {
    let (version_id, uuid) = new_version_id();
    {
        let _writes = fx.kms.writer().expect("writer");
        intents::announce(&fx.kms, CLUSTER, IntentPurpose::KeyVersion, &uuid, &format!("k-crashed/{version_id}"))
            .expect("announced");
    }
    fx.vault.plant(CLUSTER, &uuid, spec);
    restart(fx);
    uuid
}

fn intents_in_store(fx: &Fixture) -> usize {
    fx.reloaded().intents().count()
}

#[test]
fn a_failed_write_withdraws_its_intent() {
    let fx = Fixture::new();
    fx.vault.fail_writes(true);
    assert_eq!(code(keys::create(&fx.kms, fx.new_key(KeySpec::Aes256))), ErrorCode::InternalFailure);
    let key = {
        fx.vault.fail_writes(false);
        fx.create(KeySpec::Aes256).record.key_id
    };
    fx.vault.fail_writes(true);
    assert_eq!(code(rotation::rotate(&fx.kms, &key)), ErrorCode::InternalFailure);
    let external = fx.create_external().record.key_id;
    let refused =
        import::get_parameters(&fx.kms, &external, WrappingAlgorithm::RsaesOaepSha1, WrappingKeySpec::Rsa2048);
    assert_eq!(code(refused), ErrorCode::InternalFailure);
    let journal = fx.kms.store.journal_since(0, 1_000_000).expect("journal");
    let intents: Vec<&str> =
        journal.iter().filter(|e| e.entity == "creation_intent").map(|e| e.operation.as_str()).collect();
    assert_eq!(
        intents,
        ["create", "delete", "create", "delete", "create", "delete", "create", "delete"],
        "each write announced its objects, and withdrew them when it failed"
    );
    assert_eq!(intents_in_store(&fx), 0);
    fx.assert_consistent();
}

#[test]
fn the_sweep_destroys_what_a_crash_left_and_keeps_what_was_committed() {
    let fx = Fixture::new();
    let kept = fx.create(KeySpec::EcP256);
    let orphan = crashed_creation(&fx, KeySpec::Aes256);
    let rotated = crashed_creation(&fx, KeySpec::Aes256);
    assert!(fx.vault.holds(CLUSTER, &orphan) && fx.vault.holds(CLUSTER, &rotated));
    assert_eq!(intents_in_store(&fx), 2);
    // An intent whose commit went through (only its deletion was lost).
    let committed = kept.versions[0].uuid;
    {
        let _writes = fx.kms.writer().expect("writer");
        intents::announce(&fx.kms, CLUSTER, IntentPurpose::KeyVersion, &committed, "committed").expect("announced");
    }
    restart(&fx);

    let swept = sweep(&fx);
    assert_eq!((swept.destroyed.len(), swept.committed, swept.left.len()), (2, 1, 0), "{swept:?}");
    assert!(!fx.vault.holds(CLUSTER, &orphan) && !fx.vault.holds(CLUSTER, &rotated), "leftovers destroyed");
    assert!(fx.vault.holds(CLUSTER, &committed), "a committed version is never destroyed");
    assert_eq!(intents_in_store(&fx), 0);
    assert_eq!(sweep(&fx), Sweep::default(), "a second sweep has nothing to do");
    fx.assert_consistent();
}

#[test]
fn the_sweep_leaves_writers_at_work_alone() {
    let fx = Fixture::new();
    let (_, uuid) = new_version_id();
    let intent = {
        let _writes = fx.kms.writer().expect("writer");
        intents::announce(&fx.kms, CLUSTER, IntentPurpose::KeyVersion, &uuid, "at-work").expect("announced")
    };
    fx.vault.plant(CLUSTER, &uuid, KeySpec::Aes256);
    assert_eq!(sweep(&fx), Sweep::default(), "its writer may still commit it");
    assert!(fx.vault.holds(CLUSTER, &uuid));
    // The writer gives up with the objects still there: the sweep's turn.
    intents::withdraw(&fx.kms, Some(&intent), 1);
    assert_eq!(sweep(&fx).destroyed, ["at-work"]);
    assert!(!fx.vault.holds(CLUSTER, &uuid));
    fx.assert_consistent();
}

#[test]
fn leftovers_a_member_failed_to_destroy_keep_their_intent_until_a_start_finds_nothing() {
    let fx = Fixture::new();
    let orphan = crashed_creation(&fx, KeySpec::Aes128);
    fx.vault.fail_destroys(true);
    let swept = sweep(&fx);
    assert_eq!((swept.destroyed.len(), swept.left.len()), (0, 1), "{swept:?}");
    assert_eq!(intents_in_store(&fx), 1, "kept for the next sweep");
    fx.vault.fail_destroys(false);
    assert_eq!(sweep(&fx).destroyed.len(), 1, "destroyed once the member can");
    assert!(!fx.vault.holds(CLUSTER, &orphan));
    assert_eq!(intents_in_store(&fx), 1, "but a member that failed once is trusted again only after a start");
    restart(&fx);
    assert_eq!(sweep(&fx), Sweep::default(), "nothing left, and the intent goes");
    assert_eq!(intents_in_store(&fx), 0);
    fx.assert_consistent();
}

#[test]
fn an_intent_stays_while_a_member_of_its_cluster_is_not_open() {
    let fx = Fixture::new();
    let orphan = crashed_creation(&fx, KeySpec::Aes256);
    let writes = fx.kms.writer().expect("writer");
    let swept = intents::sweep(&fx.kms, CLUSTER, false, &writes).expect("sweeps");
    drop(writes);
    assert_eq!(swept.destroyed.len(), 1, "destroyed on the members that are open");
    assert!(!fx.vault.holds(CLUSTER, &orphan));
    assert_eq!(intents_in_store(&fx), 1, "the absent member may hold some too");
    assert_eq!(sweep(&fx), Sweep::default(), "all members open: it goes");
    assert_eq!(intents_in_store(&fx), 0);
    fx.assert_consistent();
}

#[test]
fn an_import_token_whose_commit_was_lost_loses_its_wrapping_key() {
    let fx = Fixture::new();
    let (_, id) = new_version_id();
    {
        let _writes = fx.kms.writer().expect("writer");
        intents::announce(&fx.kms, CLUSTER, IntentPurpose::WrappingKey, &id, "p11kms-import/k-1").expect("announced");
    }
    fx.kms.vault.create_wrapping_key(CLUSTER, &id, "p11kms-import/k-1").expect("a wrapping key");
    restart(&fx);
    assert_eq!(fx.vault.wrapping_key_count(), 1);
    assert_eq!(sweep(&fx).destroyed, ["p11kms-import/k-1"]);
    assert_eq!(fx.vault.wrapping_key_count(), 0);
    fx.assert_consistent();
}

#[test]
fn a_first_import_cut_short_leaves_no_material_behind() {
    let fx = Fixture::new();
    let key = fx.create_external();
    let version = &key.versions[0];
    {
        let _writes = fx.kms.writer().expect("writer");
        intents::announce(&fx.kms, CLUSTER, IntentPurpose::KeyVersion, &version.uuid, "first-import")
            .expect("announced");
    }
    // The material reached the HSM; `has_material` was never committed.
    fx.vault.plant(CLUSTER, &version.uuid, KeySpec::Aes256);
    restart(&fx);
    assert_eq!(sweep(&fx).destroyed, ["first-import"]);
    assert!(!fx.vault.holds(CLUSTER, &version.uuid));
    assert!(!fx.key(&key.record.key_id).versions[0].record.has_material);
    fx.assert_consistent();
}
