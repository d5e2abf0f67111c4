//! Row-level reads and writes for each entity. Every write method on
//! [`Tx`] journals the change it makes.

use std::str::FromStr;

use rusqlite::{Connection, Row, params};

use p11kms_proto::Timestamp;

use super::records::{AppRecord, ClusterRecord, InstanceRecord, MemberRecord};
use super::{Snapshot, StoreError, Tx};

pub(super) fn parse<T: FromStr>(column: &'static str, value: String) -> Result<T, StoreError> {
    value.parse().map_err(|_| StoreError::Corrupt { column, value })
}

pub(super) fn time(value: Option<i64>) -> Option<Timestamp> {
    value.map(Timestamp)
}

impl Tx<'_> {
    /// Inserts a cluster with its members.
    pub fn insert_cluster(&self, cluster: &ClusterRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO clusters (name, created_at, library) VALUES (?1, ?2, ?3)",
            params![cluster.name, cluster.created_at.unix(), cluster.library],
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

    /// Removes a member from its cluster (`cluster remove-member`).
    pub fn delete_member(&self, cluster: &str, index: u32) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM cluster_members WHERE cluster = ?1 AND idx = ?2", params![cluster, index])?;
        self.journal("member", &format!("{cluster}/{index}"), "delete", &serde_json::json!({ "index": index }))
    }

    /// Inserts an instance.
    pub fn insert_instance(&self, i: &InstanceRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO instances (name, slot_id, kind, cluster, key_quota, created_at, secret_quota)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                i.name,
                i.slot_id as i64,
                i.kind.as_str(),
                i.cluster,
                i.key_quota as i64,
                i.created_at.unix(),
                i.secret_quota.map(|q| q as i64)
            ],
        )?;
        self.journal("instance", &i.name, "create", i)
    }

    /// Replaces an instance's row (its cluster changed).
    pub fn update_instance(&self, i: &InstanceRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE instances SET cluster = ?2, key_quota = ?3, secret_quota = ?4 WHERE name = ?1",
            params![i.name, i.cluster, i.key_quota as i64, i.secret_quota.map(|q| q as i64)],
        )?;
        self.journal("instance", &i.name, "update", i)
    }

    /// Deletes an instance's row (`instance delete`): whatever refers to
    /// it (keys, secrets, apps, objects) must be gone first, in the same
    /// transaction, or the foreign keys refuse. Returns whether a row went.
    pub fn delete_instance(&self, name: &str) -> Result<bool, StoreError> {
        let deleted = self.tx.execute("DELETE FROM instances WHERE name = ?1", [name])? > 0;
        if deleted {
            self.journal("instance", name, "delete", &serde_json::json!({ "name": name }))?;
        }
        Ok(deleted)
    }

    /// Inserts an app.
    pub fn insert_app(&self, a: &AppRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO apps (name, instance, pin_lookup, pin_hash, created_at, failed_logins, locked_until, policy)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                a.name,
                a.instance,
                a.pin_lookup,
                a.pin_hash,
                a.created_at.unix(),
                a.failed_logins,
                a.locked_until.map(Timestamp::unix),
                a.policy
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

    /// Records an app's new PIN hash, with its login counters (a PIN change
    /// proves the old PIN, so it clears them). The journal entry leaves the
    /// hash out, as every app entry does.
    /// False when there is no such app.
    pub fn update_app_pin(&self, a: &AppRecord) -> Result<bool, StoreError> {
        let changed = self.tx.execute(
            "UPDATE apps SET pin_hash = ?2, failed_logins = ?3, locked_until = ?4 WHERE name = ?1",
            params![a.name, a.pin_hash, a.failed_logins, a.locked_until.map(Timestamp::unix)],
        )? > 0;
        if changed {
            self.journal("app", &a.name, "update", a)?;
        }
        Ok(changed)
    }

    /// Records an app's new access policy.
    pub fn update_app_policy(&self, a: &AppRecord) -> Result<(), StoreError> {
        self.tx.execute("UPDATE apps SET policy = ?2 WHERE name = ?1", params![a.name, a.policy])?;
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
}

/// Clusters, instances and apps (the rest of a snapshot is read by the
/// files of its entities; `Store::load` puts them together).
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
    let mut stmt = conn.prepare("SELECT name, created_at, library FROM clusters ORDER BY name")?;
    let rows =
        stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<String>>(2)?)))?;
    for row in rows {
        let (name, created_at, library) = row?;
        let cluster_members = members.iter().filter(|(c, _)| *c == name).map(|(_, m)| m.clone()).collect();
        snapshot.clusters.push(ClusterRecord {
            name,
            created_at: Timestamp(created_at),
            members: cluster_members,
            library,
        });
    }

    let mut stmt = conn.prepare(
        "SELECT name, slot_id, kind, cluster, key_quota, created_at, secret_quota FROM instances ORDER BY slot_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, Option<i64>>(6)?,
        ))
    })?;
    for row in rows {
        let (name, slot_id, kind, cluster, key_quota, created_at, secret_quota) = row?;
        snapshot.instances.push(InstanceRecord {
            name,
            slot_id: slot_id as u64,
            kind: parse("instances.kind", kind)?,
            cluster,
            key_quota: key_quota as u64,
            created_at: Timestamp(created_at),
            secret_quota: secret_quota.map(|q| q as u64),
        });
    }

    let mut stmt = conn.prepare(
        "SELECT name, instance, pin_lookup, pin_hash, created_at, failed_logins, locked_until, policy FROM apps \
         ORDER BY name",
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
            policy: r.get(7)?,
        })
    })?;
    snapshot.apps = rows.collect::<Result<_, _>>()?;
    Ok(snapshot)
}
