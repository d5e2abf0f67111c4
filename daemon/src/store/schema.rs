//! The database schema, as an ordered list of migrations. Migration `n`
//! takes the schema from version `n` to `n + 1`; the `schema_version` table
//! records where a database stands. A database from a newer daemon is
//! refused rather than guessed at.

/// Migrations in order; never edit one that has shipped, append instead.
pub const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the first schema.
    r#"
    CREATE TABLE journal (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        at         INTEGER NOT NULL,
        entity     TEXT    NOT NULL,
        entity_id  TEXT    NOT NULL,
        operation  TEXT    NOT NULL,
        payload    TEXT    NOT NULL
    );
    CREATE INDEX journal_entity ON journal(entity, entity_id);

    CREATE TABLE clusters (
        name        TEXT PRIMARY KEY,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE cluster_members (
        cluster     TEXT    NOT NULL REFERENCES clusters(name),
        idx         INTEGER NOT NULL,
        module      TEXT    NOT NULL,
        managed     INTEGER NOT NULL,
        token_label TEXT    NOT NULL,
        serial      TEXT    NOT NULL,
        role        TEXT    NOT NULL,
        in_sync     INTEGER NOT NULL,
        PRIMARY KEY (cluster, idx)
    );
    CREATE TABLE instances (
        name        TEXT PRIMARY KEY,
        slot_id     INTEGER NOT NULL UNIQUE,
        kind        TEXT    NOT NULL,
        cluster     TEXT    REFERENCES clusters(name),
        key_quota   INTEGER NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE apps (
        name          TEXT PRIMARY KEY,
        instance      TEXT    NOT NULL REFERENCES instances(name),
        pin_lookup    TEXT    NOT NULL UNIQUE,
        pin_hash      TEXT    NOT NULL,
        created_at    INTEGER NOT NULL,
        failed_logins INTEGER NOT NULL,
        locked_until  INTEGER
    );
    CREATE TABLE keys (
        key_id              TEXT PRIMARY KEY,
        instance            TEXT    NOT NULL REFERENCES instances(name),
        key_spec            TEXT    NOT NULL,
        key_usage           TEXT    NOT NULL,
        origin              TEXT    NOT NULL,
        state               TEXT    NOT NULL,
        description         TEXT    NOT NULL,
        creator             TEXT    NOT NULL,
        created_at          INTEGER NOT NULL,
        primary_version     TEXT    NOT NULL,
        delete_date         INTEGER,
        deletion_protection INTEGER NOT NULL,
        automatic_rotation  INTEGER NOT NULL,
        rotation_interval   INTEGER,
        material_expire_time INTEGER,
        tags                TEXT    NOT NULL
    );
    CREATE INDEX keys_instance ON keys(instance);
    CREATE TABLE key_versions (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        version_id  TEXT    NOT NULL UNIQUE,
        key_id      TEXT    NOT NULL REFERENCES keys(key_id),
        created_at  INTEGER NOT NULL,
        public_key  TEXT,
        has_material INTEGER NOT NULL,
        kcv         BLOB
    );
    CREATE INDEX key_versions_key ON key_versions(key_id);
    CREATE TABLE import_tokens (
        token        TEXT PRIMARY KEY,
        key_id       TEXT    NOT NULL REFERENCES keys(key_id),
        wrapping_key TEXT    NOT NULL,
        algorithm    TEXT    NOT NULL,
        expires_at   INTEGER NOT NULL
    );
    CREATE TABLE aliases (
        alias       TEXT PRIMARY KEY,
        key_id      TEXT    NOT NULL REFERENCES keys(key_id),
        created_at  INTEGER NOT NULL
    );
    "#,
    // 1 -> 2: objects applications create through PKCS#11 (data objects,
    // certificates, public keys); attributes as JSON.
    r#"
    CREATE TABLE objects (
        object_no   INTEGER PRIMARY KEY AUTOINCREMENT,
        instance    TEXT    NOT NULL REFERENCES instances(name),
        class       INTEGER NOT NULL,
        attributes  TEXT    NOT NULL,
        creator     TEXT    NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE INDEX objects_instance ON objects(instance);
    "#,
    // 2 -> 3: the managed SoftHSM library instance (cluster directory) a
    // cluster's tokens live in, when not its own (a restored cluster).
    r#"
    ALTER TABLE clusters ADD COLUMN library TEXT;
    "#,
    // 3 -> 4: creation intents (HSM objects about to be made whose
    // metadata is not committed yet: what a crash leaves behind is
    // recognised and destroyed), and key versions lost with a cluster.
    r#"
    CREATE TABLE creation_intents (
        object_id   TEXT PRIMARY KEY,
        cluster     TEXT    NOT NULL,
        purpose     TEXT    NOT NULL,
        label       TEXT    NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE lost_versions (
        version_id  TEXT PRIMARY KEY REFERENCES key_versions(version_id),
        key_id      TEXT    NOT NULL REFERENCES keys(key_id),
        cluster     TEXT    NOT NULL,
        lost_at     INTEGER NOT NULL
    );
    CREATE INDEX lost_versions_key ON lost_versions(key_id);
    "#,
    // 4 -> 5: secrets and their versions (each version's value encrypted
    // under a data key that the secret's key encrypts: no value in
    // clear), and each instance's secret quota (NULL: the configured one).
    r#"
    ALTER TABLE instances ADD COLUMN secret_quota INTEGER;
    CREATE TABLE secrets (
        name                TEXT PRIMARY KEY,
        instance            TEXT    NOT NULL REFERENCES instances(name),
        secret_type         TEXT    NOT NULL,
        encryption_key_id   TEXT    NOT NULL,
        description         TEXT    NOT NULL,
        extended_config     TEXT,
        tags                TEXT    NOT NULL,
        creator             TEXT    NOT NULL,
        created_at          INTEGER NOT NULL,
        updated_at          INTEGER NOT NULL,
        planned_delete_time INTEGER,
        automatic_rotation  INTEGER NOT NULL,
        rotation_interval   INTEGER,
        last_rotation_date  INTEGER
    );
    CREATE INDEX secrets_instance ON secrets(instance);
    CREATE TABLE secret_versions (
        seq                INTEGER PRIMARY KEY AUTOINCREMENT,
        secret_name        TEXT    NOT NULL REFERENCES secrets(name),
        version_id         TEXT    NOT NULL,
        created_at         INTEGER NOT NULL,
        stages             TEXT    NOT NULL,
        data_type          TEXT    NOT NULL,
        encrypted_data_key BLOB    NOT NULL,
        iv                 BLOB    NOT NULL,
        ciphertext         BLOB    NOT NULL,
        UNIQUE (secret_name, version_id)
    );
    "#,
    // 5 -> 6: each app's access policy (JSON, docs/policies.md). Apps made
    // before policies existed could use every key of their instance: they
    // keep exactly that, written out as the full-access policy.
    r#"
    ALTER TABLE apps ADD COLUMN policy TEXT NOT NULL
        DEFAULT '{"Version":"1","Statement":[{"Effect":"Allow","Action":["kms:*"],"Resource":["*"]}]}';
    "#,
    // 6 -> 7: the audit trail's head (docs/audit.md): the last record's
    // number and hash, so that a trail whose tail was cut is noticed. One
    // row; not journaled (it is the trail's, not the KMS's).
    r#"
    CREATE TABLE audit_head (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        seq  INTEGER NOT NULL,
        hash BLOB    NOT NULL
    );
    "#,
    // 7 -> 8: whether ReEncrypt (as source or destination), ExportDataKey
    // or GenerateAndExportDataKey ever succeeded with each key
    // (docs/keys.md): the CMK migration diagnostic refuses such keys, and
    // must know it however little of the audit trail is kept. Set once,
    // never cleared. Keys older than this schema start with none recorded.
    r#"
    ALTER TABLE keys ADD COLUMN used_re_encrypt INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE keys ADD COLUMN used_export_data_key INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE keys ADD COLUMN used_generate_and_export_data_key INTEGER NOT NULL DEFAULT 0;
    "#,
    // 8 -> 9: the default instance's key material, held by the daemon in
    // software (docs/migration.md): each key version's material and each
    // import token's RSA private key, sealed under the root key (purpose
    // `material <role> <id>`), never in clear; and CMK migration tasks,
    // moving keys of the default instance into another instance.
    r#"
    CREATE TABLE software_material (
        id         BLOB    NOT NULL,
        role       TEXT    NOT NULL,
        sealed     BLOB    NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (id, role)
    );
    CREATE TABLE key_migrations (
        task_id       TEXT    PRIMARY KEY,
        key_id        TEXT    NOT NULL,
        from_instance TEXT    NOT NULL,
        to_instance   TEXT    NOT NULL,
        window_start  INTEGER NOT NULL,
        window_end    INTEGER NOT NULL,
        status        TEXT    NOT NULL,
        step          TEXT,
        reason        TEXT,
        created_at    INTEGER NOT NULL,
        started_at    INTEGER,
        finished_at   INTEGER
    );
    CREATE INDEX key_migrations_key ON key_migrations(key_id);
    "#,
    // 9 -> 10: instance backups (docs/backups.md): each backup, and each
    // point (full or incremental) it took, whose manifest is a file under
    // `<state>/backups/` with its SHA-256 here.
    r#"
    CREATE TABLE backups (
        backup_id      TEXT    PRIMARY KEY,
        alias          TEXT,
        backup_type    TEXT    NOT NULL,
        status         TEXT    NOT NULL,
        instance       TEXT,
        instance_kind  TEXT    NOT NULL,
        created_at     INTEGER NOT NULL,
        enabled_at     INTEGER,
        viewable_days  INTEGER NOT NULL,
        expires_at     INTEGER,
        cluster        TEXT,
        primary_member TEXT,
        last_point_at  INTEGER,
        journal_seq    INTEGER NOT NULL DEFAULT 0,
        last_drill     TEXT
    );
    CREATE TABLE backup_points (
        backup_id   TEXT    NOT NULL REFERENCES backups(backup_id),
        seq         INTEGER NOT NULL,
        kind        TEXT    NOT NULL,
        at          INTEGER NOT NULL,
        journal_seq INTEGER NOT NULL,
        sha256      TEXT    NOT NULL,
        bytes       INTEGER NOT NULL,
        PRIMARY KEY (backup_id, seq)
    );
    "#,
    // 10 -> 11: the CKA_ID an application gave a KMS key (at generation or
    // with C_SetAttributeValue, docs/pkcs11.md "Keys that applications
    // name"): at most one per key, unique among the keys of an instance,
    // so a search by it finds one key (certificates pair with it).
    r#"
    CREATE TABLE key_app_ids (
        key_id   TEXT    PRIMARY KEY REFERENCES keys(key_id),
        instance TEXT    NOT NULL,
        app_id   BLOB    NOT NULL,
        set_at   INTEGER NOT NULL,
        UNIQUE (instance, app_id)
    );
    "#,
    // 11 -> 12: the CKA_ALLOWED_MECHANISMS an application gave a KMS key
    // at generation (docs/pkcs11.md "Attributes and mechanisms added for
    // conformance"): the mechanisms, as PKCS#11 encodes the attribute
    // (8-byte little-endian CK_MECHANISM_TYPEs), for the key's life.
    r#"
    CREATE TABLE key_mechanisms (
        key_id     TEXT    PRIMARY KEY REFERENCES keys(key_id),
        mechanisms BLOB    NOT NULL,
        set_at     INTEGER NOT NULL
    );
    "#,
];

/// The schema version this daemon writes.
pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}
