//! Row-level reads and writes for each entity. Every write method on
//! [`Tx`] journals the change it makes.

use std::str::FromStr;

use rusqlite::{Connection, Row, params};

use p11kms_proto::Timestamp;

use super::records::{AliasRecord, AppRecord, ClusterRecord, InstanceRecord, KeyRecord, MemberRecord, VersionRecord};
use super::{Snapshot, StoreError, Tx};

fn parse<T: FromStr>(column: &'static str, value: String) -> Result<T, StoreError> {
    value.parse().map_err(|_| StoreError::Corrupt { column, value })
}

fn time(value: Option<i64>) -> Option<Timestamp> {
    value.map(Timestamp)
}

impl Tx<'_> {
    /// Inserts a cluster with its members.
    pub fn insert_cluster(&self, cluster: &ClusterRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO clusters (name, created_at) VALUES (?1, ?2)",
            params![cluster.name, cluster.created_at.unix()],
        )?;
        for member in &cluster.members {
            self.write_member(&cluster.name, member)?;
        }
        self.journal("cluster", &cluster.name, "create", cluster)
    }

    fn write_member(&self, cluster: &str, m: &MemberRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT OR REPLACE INTO cluster_members (cluster, idx, module, managed, token_label, serial, role, in_sync)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![cluster, m.index, m.module, m.managed, m.token_label, m.serial, m.role.as_str(), m.in_sync],
        )?;
        Ok(())
    }

    /// Replaces a member's row (role or sync state changed).
    pub fn update_member(&self, cluster: &str, member: &MemberRecord) -> Result<(), StoreError> {
        self.write_member(cluster, member)?;
        self.journal("member", &format!("{cluster}/{}", member.index), "update", member)
    }

    /// Inserts an instance.
    pub fn insert_instance(&self, i: &InstanceRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO instances (name, slot_id, kind, cluster, key_quota, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![i.name, i.slot_id as i64, i.kind.as_str(), i.cluster, i.key_quota as i64, i.created_at.unix()],
        )?;
        self.journal("instance", &i.name, "create", i)
    }

    /// Inserts an app.
    pub fn insert_app(&self, a: &AppRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO apps (name, instance, pin_lookup, pin_hash, created_at, failed_logins, locked_until)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                a.name,
                a.instance,
                a.pin_lookup,
                a.pin_hash,
                a.created_at.unix(),
                a.failed_logins,
                a.locked_until.map(Timestamp::unix)
            ],
        )?;
        self.journal("app", &a.name, "create", a)
    }

    /// Records an app's login counters.
    pub fn update_app_logins(&self, a: &AppRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE apps SET failed_logins = ?2, locked_until = ?3 WHERE name = ?1",
            params![a.name, a.failed_logins, a.locked_until.map(Timestamp::unix)],
        )?;
        self.journal("app", &a.name, "update", a)
    }

    /// Deletes an app.
    pub fn delete_app(&self, name: &str) -> Result<bool, StoreError> {
        let deleted = self.tx.execute("DELETE FROM apps WHERE name = ?1", [name])? > 0;
        if deleted {
            self.journal("app", name, "delete", &serde_json::json!({ "name": name }))?;
        }
        Ok(deleted)
    }

    /// Inserts a key with its first version and, optionally, an alias.
    /// Returns the version as stored (with its sequence number).
    pub fn insert_key(
        &self,
        key: &KeyRecord,
        version: &VersionRecord,
        alias: Option<&AliasRecord>,
    ) -> Result<VersionRecord, StoreError> {
        self.tx.execute(
            "INSERT INTO keys (key_id, instance, key_spec, key_usage, origin, state, description, creator, created_at,
                               primary_version, delete_date, deletion_protection)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                key.key_id,
                key.instance,
                key.key_spec.as_str(),
                key.key_usage.as_str(),
                key.origin.as_str(),
                key.state.as_str(),
                key.description,
                key.creator,
                key.created_at.unix(),
                key.primary_version,
                key.delete_date.map(Timestamp::unix),
                key.deletion_protection
            ],
        )?;
        self.journal("key", &key.key_id, "create", key)?;
        let version = self.insert_version(version)?;
        if let Some(alias) = alias {
            self.insert_alias(alias)?;
        }
        Ok(version)
    }

    /// Inserts a key version; the database assigns its sequence number,
    /// which is never reused (AUTOINCREMENT), so PKCS#11 object ids derived
    /// from it stay unique for the life of the store.
    pub fn insert_version(&self, v: &VersionRecord) -> Result<VersionRecord, StoreError> {
        self.tx.execute(
            "INSERT INTO key_versions (version_id, key_id, created_at, public_key) VALUES (?1, ?2, ?3, ?4)",
            params![v.version_id, v.key_id, v.created_at.unix(), v.public_key],
        )?;
        let stored = VersionRecord { seq: self.tx.last_insert_rowid() as u64, ..v.clone() };
        self.journal("key_version", &stored.version_id, "create", &stored)?;
        Ok(stored)
    }

    /// Inserts an alias.
    pub fn insert_alias(&self, a: &AliasRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO aliases (alias, key_id, created_at) VALUES (?1, ?2, ?3)",
            params![a.alias, a.key_id, a.created_at.unix()],
        )?;
        self.journal("alias", &a.alias, "create", a)
    }
}

pub(super) fn load_all(conn: &Connection) -> Result<Snapshot, StoreError> {
    let mut snapshot = Snapshot::default();

    let mut members: Vec<(String, MemberRecord)> = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT cluster, idx, module, managed, token_label, serial, role, in_sync FROM cluster_members ORDER BY cluster, idx",
    )?;
    let rows = stmt.query_map([], |r: &Row<'_>| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, u32>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, bool>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, bool>(7)?,
        ))
    })?;
    for row in rows {
        let (cluster, index, module, managed, token_label, serial, role, in_sync) = row?;
        let role = parse("cluster_members.role", role)?;
        members.push((cluster, MemberRecord { index, module, managed, token_label, serial, role, in_sync }));
    }
    let mut stmt = conn.prepare("SELECT name, created_at FROM clusters ORDER BY name")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (name, created_at) = row?;
        let cluster_members = members.iter().filter(|(c, _)| *c == name).map(|(_, m)| m.clone()).collect();
        snapshot.clusters.push(ClusterRecord { name, created_at: Timestamp(created_at), members: cluster_members });
    }

    let mut stmt =
        conn.prepare("SELECT name, slot_id, kind, cluster, key_quota, created_at FROM instances ORDER BY slot_id")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    for row in rows {
        let (name, slot_id, kind, cluster, key_quota, created_at) = row?;
        snapshot.instances.push(InstanceRecord {
            name,
            slot_id: slot_id as u64,
            kind: parse("instances.kind", kind)?,
            cluster,
            key_quota: key_quota as u64,
            created_at: Timestamp(created_at),
        });
    }

    let mut stmt = conn.prepare(
        "SELECT name, instance, pin_lookup, pin_hash, created_at, failed_logins, locked_until FROM apps ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(AppRecord {
            name: r.get(0)?,
            instance: r.get(1)?,
            pin_lookup: r.get(2)?,
            pin_hash: r.get(3)?,
            created_at: Timestamp(r.get(4)?),
            failed_logins: r.get(5)?,
            locked_until: time(r.get(6)?),
        })
    })?;
    snapshot.apps = rows.collect::<Result<_, _>>()?;

    let mut stmt = conn.prepare(
        "SELECT key_id, instance, key_spec, key_usage, origin, state, description, creator, created_at,
                primary_version, delete_date, deletion_protection FROM keys ORDER BY created_at, key_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
            (r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?, r.get::<_, String>(5)?),
            (r.get::<_, String>(6)?, r.get::<_, String>(7)?, r.get::<_, i64>(8)?, r.get::<_, String>(9)?),
            (r.get::<_, Option<i64>>(10)?, r.get::<_, bool>(11)?),
        ))
    })?;
    for row in rows {
        let (
            (key_id, instance),
            (spec, usage, origin, state),
            (description, creator, created_at, primary),
            (delete, protect),
        ) = row?;
        snapshot.keys.push(KeyRecord {
            key_id,
            instance,
            key_spec: parse("keys.key_spec", spec)?,
            key_usage: parse("keys.key_usage", usage)?,
            origin: parse("keys.origin", origin)?,
            state: parse("keys.state", state)?,
            description,
            creator,
            created_at: Timestamp(created_at),
            primary_version: primary,
            delete_date: time(delete),
            deletion_protection: protect,
        });
    }

    let mut stmt =
        conn.prepare("SELECT seq, version_id, key_id, created_at, public_key FROM key_versions ORDER BY seq")?;
    let rows = stmt.query_map([], |r| {
        Ok(VersionRecord {
            seq: r.get::<_, i64>(0)? as u64,
            version_id: r.get(1)?,
            key_id: r.get(2)?,
            created_at: Timestamp(r.get(3)?),
            public_key: r.get(4)?,
        })
    })?;
    snapshot.versions = rows.collect::<Result<_, _>>()?;

    let mut stmt = conn.prepare("SELECT alias, key_id, created_at FROM aliases ORDER BY alias")?;
    let rows = stmt
        .query_map([], |r| Ok(AliasRecord { alias: r.get(0)?, key_id: r.get(1)?, created_at: Timestamp(r.get(2)?) }))?;
    snapshot.aliases = rows.collect::<Result<_, _>>()?;
    Ok(snapshot)
}
