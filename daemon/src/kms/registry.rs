//! The in-memory picture of the store: what the data plane reads on every
//! call without touching SQLite. It changes only after the store has
//! committed, so it never shows anything the store does not hold.
//!
//! Writers that need time between checking and committing (creating a key
//! waits for the HSMs) *reserve* what they are about to use (an alias, a
//! quota slot) so two concurrent writers cannot both take the last one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use p11kms_proto::admin::RotationFailure;

use super::error::KmsError;
use super::names::{self, ALIAS_PREFIX};
use super::policy::{self, Document as PolicyDocument};
use super::secrets::SecretEntry;
use crate::hsm::PublicKey;
use crate::store::{
    AliasRecord, AppRecord, ClusterRecord, ImportTokenRecord, InstanceRecord, IntentPurpose, IntentRecord, KeyRecord,
    LostVersionRecord, ObjectRecord, Snapshot, VersionRecord,
};

/// A key with its versions and aliases.
#[derive(Clone, Debug)]
pub struct KeyEntry {
    /// The key's row.
    pub record: KeyRecord,
    /// Versions, oldest first.
    pub versions: Vec<VersionEntry>,
    /// Aliases, oldest first.
    pub aliases: Vec<String>,
    /// The last automatic rotation's failure, until one succeeds. Kept in
    /// memory only: after a restart the scheduler tries again at once.
    pub rotation_failure: Option<RotationFailure>,
}

/// A key version.
#[derive(Clone, Debug)]
pub struct VersionEntry {
    /// The version's row.
    pub record: VersionRecord,
    /// Its id as the HSM objects' `CKA_ID`.
    pub uuid: [u8; 16],
    /// Public half of an asymmetric version.
    pub public_key: Option<PublicKey>,
    /// When its material was recorded lost (no HSM holds it any more).
    pub lost: Option<LostVersionRecord>,
}

impl KeyEntry {
    /// The name PKCS#11 shows as the primary version's `CKA_LABEL`: the
    /// oldest alias without its `alias/` prefix, else the key id.
    pub fn label(&self) -> String {
        match self.aliases.first() {
            Some(alias) => alias.strip_prefix(ALIAS_PREFIX).unwrap_or(alias).to_owned(),
            None => self.record.key_id.clone(),
        }
    }

    /// True when `text` names this key: its id, an alias, or an alias
    /// without the prefix.
    pub fn is_named(&self, text: &str) -> bool {
        text == self.record.key_id
            || self.aliases.iter().any(|a| a == text || a.strip_prefix(ALIAS_PREFIX) == Some(text))
    }

    /// The primary version.
    pub fn primary(&self) -> Option<&VersionEntry> {
        self.versions.iter().find(|v| v.record.version_id == self.record.primary_version)
    }

    /// A version by id.
    pub fn version(&self, version_id: &str) -> Option<&VersionEntry> {
        self.versions.iter().find(|v| v.record.version_id == version_id)
    }
}

impl VersionEntry {
    /// Builds an entry from its row.
    pub fn new(record: VersionRecord) -> Result<Self, KmsError> {
        let uuid = names::version_bytes(&record.version_id)
            .ok_or_else(|| KmsError::Internal(format!("version id '{}' is not a UUID", record.version_id)))?;
        let public_key = match &record.public_key {
            Some(json) => Some(
                PublicKey::from_json(json)
                    .map_err(|e| KmsError::Internal(format!("public key of {}: {e}", record.version_id)))?,
            ),
            None => None,
        };
        Ok(Self { record, uuid, public_key, lost: None })
    }
}

/// What this run knows of a creation intent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntentState {
    /// A writer of this run still works on it: leave it alone.
    pub in_flight: bool,
    /// A member failed to destroy its leftovers in this run.
    pub distrusted: bool,
}

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
            registry.keys.insert(
                key.key_id.clone(),
                KeyEntry { record: key, versions: Vec::new(), aliases: Vec::new(), rotation_failure: None },
            );
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
        self.keys.insert(
            key.key_id.clone(),
            KeyEntry { record: key, versions: Vec::new(), aliases: Vec::new(), rotation_failure: None },
        );
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

    // ---- creation intents and lost versions ---------------------------------

    /// Adds an intent (after the store committed it); `in_flight` while its
    /// writer still works on it.
    pub fn put_intent(&mut self, intent: IntentRecord, in_flight: bool) {
        self.intents.insert(intent.object_id.clone(), (intent, IntentState { in_flight, distrusted: false }));
    }

    /// Leaves an intent to the sweep: its writer gave up on it with objects
    /// possibly left behind.
    pub fn abandon_intent(&mut self, object_id: &str) {
        if let Some((_, state)) = self.intents.get_mut(object_id) {
            state.in_flight = false;
        }
    }

    /// Marks an intent whose leftovers a member failed to destroy in this
    /// run: only a sweep at the next start may settle it (SoftHSM forgets
    /// an object whose file it failed to remove, so "nothing left" later in
    /// the same run may not be true).
    pub fn distrust_intent(&mut self, object_id: &str) {
        if let Some((_, state)) = self.intents.get_mut(object_id) {
            state.distrusted = true;
        }
    }

    /// Forgets an intent (after the store deleted it).
    pub fn remove_intent(&mut self, object_id: &str) {
        self.intents.remove(object_id);
    }

    /// Intents of `cluster` nobody works on: what crashes and failed
    /// clean-ups left, for the sweep, with what this run knows of them.
    pub fn settled_intents(&self, cluster: &str) -> Vec<(IntentRecord, IntentState)> {
        self.intents
            .values()
            .filter(|(i, state)| !state.in_flight && i.cluster == cluster)
            .map(|(i, state)| (i.clone(), *state))
            .collect()
    }

    /// Every intent, and whether a writer works on it.
    pub fn intents(&self) -> impl Iterator<Item = (&IntentRecord, bool)> {
        self.intents.values().map(|(i, state)| (i, state.in_flight))
    }

    /// Every intent of `cluster`, and whether a writer works on it.
    pub fn intents_of<'a>(&'a self, cluster: &'a str) -> impl Iterator<Item = (&'a IntentRecord, bool)> + 'a {
        self.intents.values().filter(move |(i, _)| i.cluster == cluster).map(|(i, state)| (i, state.in_flight))
    }

    /// True when the store owns what an intent announced: the version's
    /// material is committed and its key's instance keeps it in the
    /// intent's cluster, or the import token naming the wrapping key
    /// exists. A scratch copy is never owned.
    pub fn owns(&self, intent: &IntentRecord) -> bool {
        match intent.purpose {
            IntentPurpose::KeyVersion => {
                let Some(id) = hex::decode(&intent.object_id).ok().and_then(|b| <[u8; 16]>::try_from(b).ok()) else {
                    return false;
                };
                self.keys.values().any(|k| {
                    let here = self.instances.get(&k.record.instance).and_then(|i| i.cluster.as_deref())
                        == Some(intent.cluster.as_str());
                    here && k.versions.iter().any(|v| v.uuid == id && v.record.has_material)
                })
            }
            IntentPurpose::WrappingKey => self
                .import_tokens
                .values()
                .any(|t| names::version_bytes(&t.wrapping_key).is_some_and(|b| hex::encode(b) == intent.object_id)),
            IntentPurpose::ImportCheck => false,
        }
    }

    /// A key and one of its versions by the version's 16-byte id.
    pub fn version_by_uuid(&self, id: &[u8; 16]) -> Option<(&KeyEntry, &VersionEntry)> {
        self.keys.values().find_map(|k| k.versions.iter().find(|v| v.uuid == *id).map(|v| (k, v)))
    }

    /// Marks a version usable again: a cluster holds it after all (after
    /// the store deleted its lost record).
    pub fn clear_lost_version(&mut self, key_id: &str, version_id: &str) {
        let version =
            self.keys.get_mut(key_id).and_then(|k| k.versions.iter_mut().find(|v| v.record.version_id == version_id));
        if let Some(version) = version {
            version.lost = None;
        }
    }

    /// Marks a version lost (after the store committed it).
    pub fn put_lost_version(&mut self, lost: LostVersionRecord) {
        let version = self
            .keys
            .get_mut(&lost.key_id)
            .and_then(|k| k.versions.iter_mut().find(|v| v.record.version_id == lost.version_id));
        if let Some(version) = version {
            version.lost = Some(lost);
        }
    }

    // ---- secrets --------------------------------------------------------------

    /// All secrets, by name.
    pub fn secrets(&self) -> impl Iterator<Item = &SecretEntry> {
        self.secrets.values()
    }

    /// A secret by name.
    pub fn secret(&self, name: &str) -> Result<&SecretEntry, KmsError> {
        self.secrets.get(name).ok_or_else(|| KmsError::SecretNotFound(name.into()))
    }

    /// True when a secret has this name.
    pub fn secret_exists(&self, name: &str) -> bool {
        self.secrets.contains_key(name)
    }

    /// Secrets an instance holds (those pending deletion too).
    pub fn secrets_in(&self, instance: &str) -> u64 {
        self.secrets.values().filter(|s| s.record.instance == instance).count() as u64
    }

    /// The secret whose [`SecretEntry::number`] is `number`.
    pub fn secret_by_number(&self, number: u64) -> Option<&SecretEntry> {
        self.secret_numbers.get(&number).and_then(|name| self.secrets.get(name))
    }

    /// Adds or replaces a secret (after the store committed it).
    pub fn put_secret(&mut self, secret: SecretEntry) {
        let name = secret.record.name.clone();
        // Two names with one number (odds of about 10^-11 for a thousand
        // secrets): the first keeps it, and the data plane, which lists
        // only secrets the number leads back to, does not show the other.
        let taken = self.secret_numbers.entry(secret.number()).or_insert_with(|| name.clone());
        if *taken != name {
            tracing::warn!(secret = name, with = taken.as_str(), "two secrets share a data-plane number");
        }
        self.secrets.insert(name, secret);
    }

    /// Forgets a secret (after the store deleted it).
    pub fn remove_secret(&mut self, name: &str) {
        let Some(gone) = self.secrets.remove(name) else {
            return;
        };
        if self.secret_numbers.get(&gone.number()).is_some_and(|n| n == name) {
            self.secret_numbers.remove(&gone.number());
            // A secret that shared the number takes it over.
            if let Some(other) = self.secrets.values().find(|s| s.number() == gone.number()) {
                self.secret_numbers.insert(gone.number(), other.record.name.clone());
            }
        }
    }

    /// Records how the last automatic rotation of a secret ended (`None`:
    /// it succeeded).
    pub fn note_secret_rotation(&mut self, name: &str, failure: Option<RotationFailure>) {
        if let Some(secret) = self.secrets.get_mut(name) {
            secret.rotation_failure = failure;
        }
    }
}
