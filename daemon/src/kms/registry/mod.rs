//! The in-memory picture of the store: what the data plane reads on every
//! call without touching SQLite. It changes only after the store has
//! committed, so it never shows anything the store does not hold.
//!
//! Writers that need time between checking and committing (creating a key
//! waits for the HSMs) *reserve* what they are about to use (an alias, a
//! quota slot) so two concurrent writers cannot both take the last one.
//!
//! Its parts: [`entries`] (a key with its versions), [`intents`]
//! (creation intents and lost versions), [`secrets`]; this file holds the
//! registry itself and its instances, clusters, apps, keys, aliases,
//! import tokens and created objects.

mod entries;
mod intents;
mod migrations;
mod secrets;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use p11kms_proto::admin::RotationFailure;

use super::error::KmsError;
use super::names::ALIAS_PREFIX;
use super::policy::{self, Document as PolicyDocument};
use super::secrets::SecretEntry;
use crate::store::{
    AliasRecord, AppRecord, ClusterRecord, ImportTokenRecord, InstanceRecord, IntentRecord, KeyRecord,
    MigrationTaskRecord, ObjectRecord, Snapshot, VersionRecord,
};
pub use entries::{KeyEntry, VersionEntry};
pub use intents::IntentState;

/// Everything the daemon knows, indexed for its readers.
#[derive(Debug, Default)]
pub struct Registry {
    instances: BTreeMap<String, InstanceRecord>,
    clusters: BTreeMap<String, ClusterRecord>,
    apps: BTreeMap<String, AppRecord>,
    app_lookup: HashMap<String, String>,
    /// Each app's policy, compiled from its row when the row is put: the
    /// data plane decides every call against what is here now.
    app_policies: HashMap<String, Arc<PolicyDocument>>,
    keys: BTreeMap<String, KeyEntry>,
    /// Key ids in creation order: lists and PKCS#11 searches answer in this
    /// order, so "the first match" means the oldest, not a random one.
    key_order: Vec<String>,
    aliases: BTreeMap<String, String>,
    version_seq: HashMap<u64, (String, usize)>,
    reserved_aliases: HashSet<String>,
    reserved_versions: HashMap<String, u64>,
    import_tokens: HashMap<String, ImportTokenRecord>,
    /// Objects applications created through PKCS#11, by number.
    objects: BTreeMap<u64, ObjectRecord>,
    /// Creation intents in the store, by object id, with what this run
    /// knows of each.
    intents: BTreeMap<String, (IntentRecord, IntentState)>,
    /// Secrets by name, with their versions (values encrypted only).
    secrets: BTreeMap<String, SecretEntry>,
    /// Secret names by [`SecretEntry::number`]: how the data plane finds
    /// the secret an object id names without hashing every name.
    secret_numbers: HashMap<u64, String>,
    /// CMK migration tasks by id.
    migrations: BTreeMap<String, MigrationTaskRecord>,
}

impl Registry {
    /// Indexes a snapshot of the store.
    pub fn from_snapshot(snapshot: Snapshot) -> Result<Self, KmsError> {
        let mut registry = Self::default();
        for cluster in snapshot.clusters {
            registry.clusters.insert(cluster.name.clone(), cluster);
        }
        for instance in snapshot.instances {
            registry.instances.insert(instance.name.clone(), instance);
        }
        for app in snapshot.apps {
            registry.put_app(app);
        }
        for key in snapshot.keys {
            registry.key_order.push(key.key_id.clone());
            registry.keys.insert(key.key_id.clone(), KeyEntry::new(key));
        }
        for version in snapshot.versions {
            let entry = VersionEntry::new(version)?;
            registry.attach_version(entry)?;
        }
        for alias in snapshot.aliases {
            registry.attach_alias(alias)?;
        }
        for object in snapshot.objects {
            registry.objects.insert(object.object_no, object);
        }
        for token in snapshot.import_tokens {
            registry.import_tokens.insert(token.token.clone(), token);
        }
        // Intents of an earlier run: nobody works on them any more.
        for intent in snapshot.intents {
            registry.intents.insert(intent.object_id.clone(), (intent, IntentState::default()));
        }
        for lost in snapshot.lost_versions {
            registry.put_lost_version(lost);
        }
        for secret in snapshot.secrets {
            registry.put_secret(SecretEntry::new(secret));
        }
        for version in snapshot.secret_versions {
            let secret = registry.secrets.get_mut(&version.secret_name).ok_or_else(|| {
                KmsError::Internal(format!("version {} of unknown secret {}", version.version_id, version.secret_name))
            })?;
            secret.versions.push(version);
        }
        for task in snapshot.migrations {
            registry.put_migration(task);
        }
        for named in snapshot.key_app_ids {
            registry.set_app_id(&named.key_id, Some(named.app_id));
        }
        for allowed in snapshot.key_mechanisms {
            registry.set_allowed_mechanisms(&allowed.key_id, allowed.mechanisms);
        }
        Ok(registry)
    }

    fn attach_version(&mut self, version: VersionEntry) -> Result<(), KmsError> {
        let key_id = version.record.key_id.clone();
        let key = self.keys.get_mut(&key_id).ok_or_else(|| {
            KmsError::Internal(format!("version {} of unknown key {key_id}", version.record.version_id))
        })?;
        self.version_seq.insert(version.record.seq, (key_id, key.versions.len()));
        key.versions.push(version);
        Ok(())
    }

    fn attach_alias(&mut self, alias: AliasRecord) -> Result<(), KmsError> {
        let key = self
            .keys
            .get_mut(&alias.key_id)
            .ok_or_else(|| KmsError::Internal(format!("alias {} of unknown key {}", alias.alias, alias.key_id)))?;
        key.aliases.push(alias.alias.clone());
        self.aliases.insert(alias.alias, alias.key_id);
        Ok(())
    }

    // ---- instances and clusters -------------------------------------------

    /// All instances, by name.
    pub fn instances(&self) -> impl Iterator<Item = &InstanceRecord> {
        self.instances.values()
    }

    /// An instance by name.
    pub fn instance(&self, name: &str) -> Result<&InstanceRecord, KmsError> {
        self.instances.get(name).ok_or_else(|| KmsError::NotFound { what: "instance", name: name.into() })
    }

    /// An instance by PKCS#11 slot id.
    pub fn instance_by_slot(&self, slot: u64) -> Option<&InstanceRecord> {
        self.instances.values().find(|i| i.slot_id == slot)
    }

    /// Adds an instance (after the store committed it).
    pub fn put_instance(&mut self, instance: InstanceRecord) {
        self.instances.insert(instance.name.clone(), instance);
    }

    /// Forgets an instance (after the store deleted it, and everything of it).
    pub fn remove_instance(&mut self, name: &str) {
        self.instances.remove(name);
    }

    /// All clusters.
    pub fn clusters(&self) -> impl Iterator<Item = &ClusterRecord> {
        self.clusters.values()
    }

    /// A cluster by name.
    pub fn cluster(&self, name: &str) -> Result<&ClusterRecord, KmsError> {
        self.clusters.get(name).ok_or_else(|| KmsError::NotFound { what: "cluster", name: name.into() })
    }

    /// Adds a cluster (after the store committed it).
    pub fn put_cluster(&mut self, cluster: ClusterRecord) {
        self.clusters.insert(cluster.name.clone(), cluster);
    }

    // ---- apps ---------------------------------------------------------------

    /// All apps.
    pub fn apps(&self) -> impl Iterator<Item = &AppRecord> {
        self.apps.values()
    }

    /// An app by name.
    pub fn app(&self, name: &str) -> Result<&AppRecord, KmsError> {
        self.apps.get(name).ok_or_else(|| KmsError::NotFound { what: "app", name: name.into() })
    }

    /// The app whose PIN starts with `lookup`.
    pub fn app_by_lookup(&self, lookup: &str) -> Option<&AppRecord> {
        self.app_lookup.get(lookup).and_then(|name| self.apps.get(name))
    }

    /// The policy in force for an app; none for an unknown app.
    pub fn app_policy(&self, name: &str) -> Option<Arc<PolicyDocument>> {
        self.app_policies.get(name).cloned()
    }

    /// Adds or replaces an app (after the store committed it), compiling
    /// its policy. A stored policy that no longer compiles (the store was
    /// edited by hand) allows nothing, and says so: fail closed.
    pub fn put_app(&mut self, app: AppRecord) {
        let policy = match policy::document::parse(&app.policy) {
            Ok(document) => document,
            Err(why) => {
                tracing::error!(app = %app.name, %why, "the stored policy does not compile: the app may do nothing");
                PolicyDocument { statements: Vec::new() }
            }
        };
        self.app_policies.insert(app.name.clone(), Arc::new(policy));
        self.app_lookup.insert(app.pin_lookup.clone(), app.name.clone());
        self.apps.insert(app.name.clone(), app);
    }

    /// Removes an app (after the store committed it).
    pub fn remove_app(&mut self, name: &str) {
        if let Some(app) = self.apps.remove(name) {
            self.app_lookup.remove(&app.pin_lookup);
        }
        self.app_policies.remove(name);
    }

    // ---- keys ---------------------------------------------------------------

    /// All keys, oldest first.
    pub fn keys(&self) -> impl Iterator<Item = &KeyEntry> {
        self.key_order.iter().filter_map(|id| self.keys.get(id))
    }

    /// A key by id or alias.
    pub fn key(&self, name: &str) -> Result<&KeyEntry, KmsError> {
        if name.starts_with(ALIAS_PREFIX) {
            let key_id = self.aliases.get(name).ok_or_else(|| KmsError::AliasNotFound(name.into()))?;
            return self.keys.get(key_id).ok_or_else(|| KmsError::KeyNotFound(name.into()));
        }
        self.keys.get(name).ok_or_else(|| KmsError::KeyNotFound(name.into()))
    }

    /// A key and one of its versions by the version's sequence number.
    pub fn version_by_seq(&self, seq: u64) -> Option<(&KeyEntry, &VersionEntry)> {
        let (key_id, index) = self.version_seq.get(&seq)?;
        let key = self.keys.get(key_id)?;
        Some((key, key.versions.get(*index)?))
    }

    /// Key versions an instance holds, plus those reserved by writers.
    pub fn versions_in(&self, instance: &str) -> u64 {
        let held: usize = self.keys.values().filter(|k| k.record.instance == instance).map(|k| k.versions.len()).sum();
        held as u64 + self.reserved_versions.get(instance).copied().unwrap_or(0)
    }

    /// Keys an instance holds.
    pub fn keys_in(&self, instance: &str) -> u64 {
        self.keys.values().filter(|k| k.record.instance == instance).count() as u64
    }

    /// True when the alias is taken or reserved.
    pub fn alias_taken(&self, alias: &str) -> bool {
        self.aliases.contains_key(alias) || self.reserved_aliases.contains(alias)
    }

    /// Reserves an alias and one version of quota for a key being created.
    pub fn reserve(&mut self, instance: &str, alias: Option<&str>) {
        *self.reserved_versions.entry(instance.to_owned()).or_default() += 1;
        if let Some(alias) = alias {
            self.reserved_aliases.insert(alias.to_owned());
        }
    }

    /// Releases what [`Registry::reserve`] took.
    pub fn release(&mut self, instance: &str, alias: Option<&str>) {
        if let Some(count) = self.reserved_versions.get_mut(instance) {
            *count = count.saturating_sub(1);
        }
        if let Some(alias) = alias {
            self.reserved_aliases.remove(alias);
        }
    }

    /// Adds a new key with its first version and alias (after the store
    /// committed them).
    pub fn put_new_key(
        &mut self,
        key: KeyRecord,
        version: VersionEntry,
        alias: Option<AliasRecord>,
    ) -> Result<(), KmsError> {
        self.key_order.push(key.key_id.clone());
        self.keys.insert(key.key_id.clone(), KeyEntry::new(key));
        self.attach_version(version)?;
        if let Some(alias) = alias {
            self.attach_alias(alias)?;
        }
        Ok(())
    }

    /// Replaces a key's row (after the store committed it). The recorded
    /// export uses are the union of both rows, as the store keeps them: a
    /// writer's older copy cannot take back a use recorded meanwhile.
    pub fn replace_key(&mut self, mut record: KeyRecord) -> Result<(), KmsError> {
        let key = self.keys.get_mut(&record.key_id).ok_or_else(|| KmsError::KeyNotFound(record.key_id.clone()))?;
        record.export_uses = record.export_uses.union(key.record.export_uses);
        key.record = record;
        Ok(())
    }

    /// Adds a version to a key (after the store committed it).
    pub fn add_version(&mut self, version: VersionEntry) -> Result<(), KmsError> {
        self.attach_version(version)
    }

    /// Replaces a version's row (after the store committed it).
    pub fn replace_version(&mut self, record: VersionRecord) -> Result<(), KmsError> {
        let key = self.keys.get_mut(&record.key_id).ok_or_else(|| KmsError::KeyNotFound(record.key_id.clone()))?;
        let version = key
            .versions
            .iter_mut()
            .find(|v| v.record.version_id == record.version_id)
            .ok_or_else(|| KmsError::Internal(format!("version {} is not in the registry", record.version_id)))?;
        version.record = record;
        Ok(())
    }

    /// Records how the last automatic rotation of a key ended (`None`:
    /// it succeeded).
    pub fn note_rotation(&mut self, key_id: &str, failure: Option<RotationFailure>) {
        if let Some(key) = self.keys.get_mut(key_id) {
            key.rotation_failure = failure;
        }
    }

    /// Forgets a key, its versions, aliases and tokens (after the store
    /// deleted them).
    pub fn remove_key(&mut self, key_id: &str) {
        if let Some(key) = self.keys.remove(key_id) {
            for version in &key.versions {
                self.version_seq.remove(&version.record.seq);
            }
            for alias in &key.aliases {
                self.aliases.remove(alias);
            }
        }
        self.key_order.retain(|id| id != key_id);
        self.import_tokens.retain(|_, token| token.key_id != key_id);
    }

    /// Sets or clears a key's application-chosen `CKA_ID` (after the store
    /// committed it).
    pub fn set_app_id(&mut self, key_id: &str, app_id: Option<Vec<u8>>) {
        if let Some(key) = self.keys.get_mut(key_id) {
            key.app_id = app_id;
        }
    }

    /// Sets a key's allowed mechanisms (after the store committed them).
    pub fn set_allowed_mechanisms(&mut self, key_id: &str, mechanisms: Vec<u64>) {
        if let Some(key) = self.keys.get_mut(key_id) {
            key.allowed_mechanisms = mechanisms;
        }
    }

    /// The key of `instance` other than `except` that `id` names as a
    /// `CKA_ID`: its application id, or one of its version ids. What an
    /// application id may not be, so that a search by it finds one key.
    pub fn key_with_pkcs11_id(&self, instance: &str, id: &[u8], except: Option<&str>) -> Option<&KeyEntry> {
        self.keys.values().find(|key| {
            key.record.instance == instance
                && except != Some(key.record.key_id.as_str())
                && (key.app_id.as_deref() == Some(id) || key.versions.iter().any(|v| v.uuid[..] == *id))
        })
    }

    /// Adds an alias (after the store committed it).
    pub fn add_alias(&mut self, alias: AliasRecord) -> Result<(), KmsError> {
        self.attach_alias(alias)
    }

    /// Points an alias at another key (after the store committed it).
    pub fn move_alias(&mut self, alias: AliasRecord) -> Result<(), KmsError> {
        self.remove_alias(&alias.alias);
        self.attach_alias(alias)
    }

    /// Forgets an alias (after the store deleted it).
    pub fn remove_alias(&mut self, alias: &str) {
        if let Some(key_id) = self.aliases.remove(alias) {
            if let Some(key) = self.keys.get_mut(&key_id) {
                key.aliases.retain(|a| a != alias);
            }
        }
    }

    /// The key id an alias names; `AliasNotFound` for a name that is not
    /// an alias (a key id included).
    pub fn alias(&self, alias: &str) -> Result<&str, KmsError> {
        self.aliases.get(alias).map(String::as_str).ok_or_else(|| KmsError::AliasNotFound(alias.into()))
    }

    /// All aliases, with the key each names.
    pub fn aliases(&self) -> impl Iterator<Item = (&String, &String)> {
        self.aliases.iter()
    }

    /// An import token.
    pub fn import_token(&self, token: &str) -> Option<&ImportTokenRecord> {
        self.import_tokens.get(token)
    }

    /// All import tokens.
    pub fn import_tokens(&self) -> impl Iterator<Item = &ImportTokenRecord> {
        self.import_tokens.values()
    }

    /// Adds an import token (after the store committed it).
    pub fn add_import_token(&mut self, token: ImportTokenRecord) {
        self.import_tokens.insert(token.token.clone(), token);
    }

    /// Forgets an import token (after the store deleted it).
    pub fn remove_import_token(&mut self, token: &str) {
        self.import_tokens.remove(token);
    }

    /// The created objects of `instance`, oldest first.
    pub fn objects_of<'a>(&'a self, instance: &'a str) -> impl Iterator<Item = &'a ObjectRecord> + 'a {
        self.objects.values().filter(move |o| o.instance == instance)
    }

    /// One created object.
    pub fn object(&self, object_no: u64) -> Option<&ObjectRecord> {
        self.objects.get(&object_no)
    }

    /// Records a created or changed object.
    pub fn put_object(&mut self, object: ObjectRecord) {
        self.objects.insert(object.object_no, object);
    }

    /// Forgets a destroyed object.
    pub fn remove_object(&mut self, object_no: u64) {
        self.objects.remove(&object_no);
    }
}
