//! Store tests on real SQLite files in temporary directories.

use std::os::unix::fs::PermissionsExt;

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{InstanceKind, KeySpec, KeyState, KeyUsage, MemberRole, Origin, Tag, WrappingAlgorithm};

use super::*;

/// A root key of its own for a store under test.
fn root_key() -> Arc<RootKey> {
    Arc::new(RootKey::random())
}

pub(super) fn instance(name: &str, slot: u64) -> InstanceRecord {
    InstanceRecord {
        name: name.into(),
        slot_id: slot,
        kind: InstanceKind::Hardware,
        cluster: Some("c1".into()),
        key_quota: 10,
        created_at: Timestamp(100),
        secret_quota: Some(5),
    }
}

pub(super) fn cluster() -> ClusterRecord {
    ClusterRecord {
        name: "c1".into(),
        created_at: Timestamp(50),
        members: vec![MemberRecord {
            index: 0,
            module: "/lib.so".into(),
            managed: true,
            token_label: "c1-0".into(),
            serial: "abc".into(),
            role: MemberRole::Primary,
            in_sync: true,
        }],
        library: None,
    }
}

pub(super) fn key(id: &str) -> (KeyRecord, VersionRecord) {
    let key = KeyRecord {
        key_id: id.into(),
        instance: "i1".into(),
        key_spec: KeySpec::EcP256,
        key_usage: KeyUsage::SignVerify,
        origin: Origin::AliyunKms,
        state: KeyState::Enabled,
        description: "d".into(),
        creator: "admin:0".into(),
        created_at: Timestamp(200),
        primary_version: format!("{id}-v1"),
        delete_date: None,
        deletion_protection: false,
        automatic_rotation: true,
        rotation_interval: Some(604_800),
        material_expire_time: None,
        tags: vec![Tag { tag_key: "team".into(), tag_value: "payments".into() }],
        export_uses: ExportUses::default(),
    };
    let version = VersionRecord {
        seq: 0,
        version_id: format!("{id}-v1"),
        key_id: id.into(),
        created_at: Timestamp(200),
        public_key: Some("{}".into()),
        has_material: true,
        kcv: None,
    };
    (key, version)
}

#[test]
fn a_new_store_is_private_and_at_the_current_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let store = Store::open(&path, root_key()).expect("opens");
    assert_eq!(store.schema_version().expect("version"), schema::current_version());
    let mode = std::fs::metadata(&path).expect("exists").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    drop(store);
    // Opening again migrates nothing and keeps the version.
    assert_eq!(
        Store::open(&path, root_key()).expect("reopens").schema_version().expect("version"),
        schema::current_version()
    );
}

#[test]
fn rows_round_trip_and_every_change_is_journaled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db"), root_key()).expect("opens");
    let (k, v) = key("key-1");
    let alias = AliasRecord { alias: "alias/a".into(), key_id: "key-1".into(), created_at: Timestamp(200) };
    let stored = store
        .write(Timestamp(300), |tx| -> Result<VersionRecord, StoreError> {
            tx.insert_cluster(&cluster())?;
            tx.insert_instance(&instance("i1", 0))?;
            tx.insert_key(&k, &v, Some(&alias))
        })
        .expect("writes");
    assert!(stored.seq > 0, "the database assigns the sequence number");
    let snapshot = store.load().expect("loads");
    assert_eq!(snapshot.clusters, vec![cluster()]);
    assert_eq!(snapshot.instances, vec![instance("i1", 0)]);
    assert_eq!(snapshot.keys, vec![k]);
    assert_eq!(snapshot.versions, vec![stored]);
    assert_eq!(snapshot.aliases, vec![alias]);
    let journal = store.journal_since(0, 100).expect("journal");
    let entities: Vec<&str> = journal.iter().map(|e| e.entity.as_str()).collect();
    assert_eq!(entities, ["cluster", "instance", "key", "key_version", "alias"]);
    assert!(journal.iter().all(|e| e.at == Timestamp(300)));
    assert!(journal.windows(2).all(|w| w[0].seq < w[1].seq));
}

#[test]
fn a_failed_transaction_leaves_neither_rows_nor_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db"), root_key()).expect("opens");
    store.write(Timestamp(1), |tx| tx.insert_cluster(&cluster())).expect("cluster");
    let result = store.write(Timestamp(2), |tx| -> Result<(), StoreError> {
        tx.insert_instance(&instance("i1", 0))?;
        // Same slot id again: the UNIQUE constraint fails the transaction.
        tx.insert_instance(&instance("i2", 0))
    });
    assert!(result.is_err());
    assert!(store.load().expect("loads").instances.is_empty());
    assert_eq!(store.journal_since(0, 100).expect("journal").len(), 1, "only the cluster's entry");
}

#[test]
fn app_hashes_never_reach_the_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db"), root_key()).expect("opens");
    let app = AppRecord {
        name: "web".into(),
        instance: "i1".into(),
        pin_lookup: "abcdefgh".into(),
        pin_hash: "$argon2id$secret-hash".into(),
        created_at: Timestamp(1),
        failed_logins: 0,
        locked_until: None,
        policy: crate::kms::policy::NO_ACCESS.into(),
    };
    store
        .write(Timestamp(1), |tx| -> Result<(), StoreError> {
            tx.insert_cluster(&cluster())?;
            tx.insert_instance(&instance("i1", 0))?;
            tx.insert_app(&app)
        })
        .expect("writes");
    let journal = store.journal_since(0, 100).expect("journal");
    assert!(journal.iter().all(|e| !e.payload.contains("argon2")));
    assert_eq!(store.load().expect("loads").apps, vec![app]);
}

#[test]
fn a_pin_change_replaces_the_hash_and_journals_without_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db"), root_key()).expect("opens");
    let mut app = AppRecord {
        name: "web".into(),
        instance: "i1".into(),
        pin_lookup: "abcdefgh".into(),
        pin_hash: "$argon2id$old-hash".into(),
        created_at: Timestamp(1),
        failed_logins: 3,
        locked_until: None,
        policy: crate::kms::policy::NO_ACCESS.into(),
    };
    store
        .write(Timestamp(1), |tx| -> Result<(), StoreError> {
            tx.insert_cluster(&cluster())?;
            tx.insert_instance(&instance("i1", 0))?;
            tx.insert_app(&app)
        })
        .expect("writes");
    app.pin_hash = "$argon2id$new-hash".into();
    app.failed_logins = 0;
    assert!(store.write(Timestamp(2), |tx| tx.update_app_pin(&app)).expect("updates"));
    assert_eq!(store.load().expect("loads").apps, vec![app.clone()]);
    let journal = store.journal_since(0, 100).expect("journal");
    let last = journal.last().expect("an entry");
    assert_eq!((last.entity.as_str(), last.entity_id.as_str(), last.operation.as_str()), ("app", "web", "update"));
    assert!(journal.iter().all(|e| !e.payload.contains("argon2")));
    app.name = "gone".into();
    assert!(!store.write(Timestamp(3), |tx| tx.update_app_pin(&app)).expect("no row, no error"));
    assert_eq!(store.journal_since(0, 100).expect("journal").len(), journal.len(), "nothing journaled");
}

#[test]
fn a_database_from_a_newer_daemon_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    drop(Store::open(&path, root_key()).expect("opens"));
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    conn.execute("UPDATE schema_version SET version = 999", []).expect("bump");
    drop(conn);
    assert!(matches!(Store::open(&path, root_key()), Err(StoreError::TooNew { found: 999, .. })));
}

#[test]
fn keys_change_and_go_with_their_versions_aliases_and_tokens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db"), root_key()).expect("opens");
    let (mut k, v) = key("key-1");
    let alias = AliasRecord { alias: "alias/a".into(), key_id: "key-1".into(), created_at: Timestamp(200) };
    let token = ImportTokenRecord {
        token: "t".repeat(32),
        key_id: "key-1".into(),
        wrapping_key: "w".into(),
        algorithm: WrappingAlgorithm::RsaesOaepSha256,
        expires_at: Timestamp(900),
    };
    let stored = store
        .write(Timestamp(300), |tx| -> Result<VersionRecord, StoreError> {
            tx.insert_cluster(&cluster())?;
            tx.insert_instance(&instance("i1", 0))?;
            let stored = tx.insert_key(&k, &v, Some(&alias))?;
            tx.insert_import_token(&token)?;
            Ok(stored)
        })
        .expect("writes");
    k.state = KeyState::Disabled;
    k.tags.clear();
    k.material_expire_time = Some(Timestamp(5_000));
    let changed = VersionRecord { has_material: false, kcv: Some(vec![1, 2, 3]), ..stored };
    store
        .write(Timestamp(400), |tx| -> Result<(), StoreError> {
            tx.update_key(&k)?;
            tx.update_version(&changed)?;
            tx.update_alias(&AliasRecord { key_id: "key-1".into(), ..alias.clone() })
        })
        .expect("updates");
    let snapshot = store.load().expect("loads");
    assert_eq!(snapshot.keys, vec![k]);
    assert_eq!(snapshot.versions, vec![changed]);
    assert_eq!(snapshot.import_tokens, vec![token]);
    store.write(Timestamp(500), |tx| tx.delete_key("key-1")).expect("deletes");
    let snapshot = store.load().expect("loads");
    assert!(snapshot.keys.is_empty() && snapshot.versions.is_empty() && snapshot.aliases.is_empty());
    assert!(snapshot.import_tokens.is_empty());
    let journal = store.journal_since(0, 100).expect("journal");
    let last = journal.last().expect("entries");
    assert_eq!((last.entity.as_str(), last.operation.as_str()), ("key", "delete"));
    assert!(journal.iter().all(|e| !e.payload.contains(&"t".repeat(32))), "import tokens stay out of the journal");
}

#[test]
fn intents_and_lost_versions_round_trip_journaled_and_go_with_their_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db"), root_key()).expect("opens");
    let (k, v) = key("key-1");
    let intent = IntentRecord {
        object_id: "00112233445566778899aabbccddeeff".into(),
        cluster: "c1".into(),
        purpose: IntentPurpose::WrappingKey,
        label: "p11kms-import/key-1".into(),
        created_at: Timestamp(250),
    };
    let stored = store
        .write(Timestamp(300), |tx| -> Result<VersionRecord, StoreError> {
            tx.insert_cluster(&cluster())?;
            tx.insert_instance(&instance("i1", 0))?;
            tx.insert_intent(&intent)?;
            tx.insert_key(&k, &v, None)
        })
        .expect("writes");
    let lost = LostVersionRecord {
        version_id: stored.version_id.clone(),
        key_id: "key-1".into(),
        cluster: "c1".into(),
        lost_at: Timestamp(400),
    };
    store.write(Timestamp(400), |tx| tx.insert_lost_version(&lost)).expect("lost");
    let snapshot = store.load().expect("loads");
    assert_eq!((snapshot.intents, snapshot.lost_versions), (vec![intent.clone()], vec![lost.clone()]));
    store
        .write(Timestamp(500), |tx| -> Result<(), StoreError> {
            tx.delete_intent(&intent)?;
            tx.delete_lost_version(&lost)?;
            tx.insert_lost_version(&lost)
        })
        .expect("changes");
    assert!(store.load().expect("loads").intents.is_empty());
    store.write(Timestamp(600), |tx| tx.delete_key("key-1")).expect("the key goes, lost record and all");
    assert!(store.load().expect("loads").lost_versions.is_empty());
    let journal = store.journal_since(0, 100).expect("journal");
    let kinds: Vec<(&str, &str)> = journal
        .iter()
        .filter(|e| matches!(e.entity.as_str(), "creation_intent" | "lost_version"))
        .map(|e| (e.entity.as_str(), e.operation.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("creation_intent", "create"),
            ("lost_version", "create"),
            ("creation_intent", "delete"),
            ("lost_version", "delete"),
            ("lost_version", "create")
        ]
    );
}

#[test]
fn a_schema_3_database_migrates_to_intents_and_lost_versions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        // A database as a daemon of schema 3 left it.
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute_batch("CREATE TABLE schema_version (version INTEGER NOT NULL)").expect("table");
        for sql in &schema::MIGRATIONS[..3] {
            conn.execute_batch(sql).expect("old migration");
        }
        conn.execute("INSERT INTO schema_version (version) VALUES (3)", []).expect("version");
    }
    let store = Store::open(&path, root_key()).expect("migrates");
    assert_eq!(store.schema_version().expect("version"), schema::current_version());
    let snapshot = store.load().expect("loads");
    assert!(snapshot.intents.is_empty() && snapshot.lost_versions.is_empty());
}

#[test]
fn apps_of_a_schema_5_database_keep_every_right_they_had() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        // An app as a daemon of schema 5 stored it, before policies.
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute_batch("CREATE TABLE schema_version (version INTEGER NOT NULL)").expect("table");
        for sql in &schema::MIGRATIONS[..5] {
            conn.execute_batch(sql).expect("old migration");
        }
        conn.execute("INSERT INTO schema_version (version) VALUES (5)", []).expect("version");
        conn.execute_batch(
            "INSERT INTO instances (name, slot_id, kind, cluster, key_quota, created_at) \
             VALUES ('i1', 1, 'hardware', NULL, 10, 1); \
             INSERT INTO apps (name, instance, pin_lookup, pin_hash, created_at, failed_logins, locked_until) \
             VALUES ('web', 'i1', 'abcdefgh', 'h', 1, 0, NULL);",
        )
        .expect("an old app");
    }
    let store = Store::open(&path, root_key()).expect("migrates");
    let apps = store.load().expect("loads").apps;
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].policy, crate::kms::policy::FULL_ACCESS, "the policy spells out what the app could do");
}

#[test]
fn keys_of_a_schema_7_database_load_with_no_export_use_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        // A key as a daemon of schema 7 stored it, before the record.
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute_batch("CREATE TABLE schema_version (version INTEGER NOT NULL)").expect("table");
        for sql in &schema::MIGRATIONS[..7] {
            conn.execute_batch(sql).expect("old migration");
        }
        conn.execute("INSERT INTO schema_version (version) VALUES (7)", []).expect("version");
        conn.execute_batch(
            "INSERT INTO instances (name, slot_id, kind, cluster, key_quota, created_at) \
             VALUES ('i1', 1, 'hardware', NULL, 10, 1); \
             INSERT INTO keys (key_id, instance, key_spec, key_usage, origin, state, description, creator, \
             created_at, primary_version, delete_date, deletion_protection, automatic_rotation, rotation_interval, \
             material_expire_time, tags) VALUES ('key-1', 'i1', 'AES_256', 'ENCRYPT/DECRYPT', 'Aliyun_KMS', \
             'Enabled', '', 'admin:0', 1, 'v1', NULL, 0, 0, NULL, NULL, '[]');",
        )
        .expect("an old key");
    }
    let store = Store::open(&path, root_key()).expect("migrates");
    assert_eq!(store.schema_version().expect("version"), schema::current_version());
    let keys = store.load().expect("loads").keys;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].export_uses, ExportUses::default());
}

#[test]
fn recorded_export_uses_persist_and_an_older_copy_of_the_row_cannot_clear_them() {
    use p11kms_proto::admin::ExportOperation;

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let (k, v) = key("key-1");
    {
        let store = Store::open(&path, root_key()).expect("opens");
        store
            .write(Timestamp(300), |tx| -> Result<(), StoreError> {
                tx.insert_cluster(&cluster())?;
                tx.insert_instance(&instance("i1", 0))?;
                tx.insert_key(&k, &v, None).map(|_| ())
            })
            .expect("writes");
        let used = KeyRecord { export_uses: k.export_uses.with(ExportOperation::ExportDataKey), ..k.clone() };
        store.write(Timestamp(400), |tx| tx.update_key(&used)).expect("records the use");
        // A writer that read the row before the use changes something else.
        let stale = KeyRecord { state: KeyState::Disabled, ..k.clone() };
        store.write(Timestamp(500), |tx| tx.update_key(&stale)).expect("updates");
    }
    let store = Store::open(&path, root_key()).expect("reopens");
    let keys = store.load().expect("loads").keys;
    assert_eq!(keys[0].state, KeyState::Disabled, "the later change is there");
    assert_eq!(keys[0].export_uses.operations(), [ExportOperation::ExportDataKey], "and the use is not undone");
    let journal = store.journal_since(0, 100).expect("journal");
    assert!(journal.iter().any(|e| e.entity == "key" && e.payload.contains(r#""export_data_key":true"#)));
}
