//! The registry's creation intents (what a writer announced before an HSM
//! call) and lost key versions, as the sweep and `cluster verify` read
//! them.

use super::super::names;
use super::{KeyEntry, Registry, VersionEntry};
use crate::kms::placement::holding_cluster;
use crate::store::{IntentPurpose, IntentRecord, LostVersionRecord};

/// What this run knows of a creation intent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntentState {
    /// A writer of this run still works on it: leave it alone.
    pub in_flight: bool,
    /// A member failed to destroy its leftovers in this run.
    pub distrusted: bool,
}

impl Registry {
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
                    let here = self.instances.get(&k.record.instance).and_then(holding_cluster).as_deref()
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
}
