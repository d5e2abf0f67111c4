//! Creation intents: how a crash between an HSM write and the commit of
//! its metadata stops leaving orphans behind.
//!
//! Every write that makes HSM objects under a new id (a key's first
//! version, a rotation, imported material, an import token's wrapping key)
//! first records an intent in the store: the id, the cluster, what it is
//! for ([`announce`]). The transaction that commits the metadata deletes
//! the intent ([`commit_in`]); a write that fails destroys what it made
//! and withdraws its intent ([`withdraw`]). So an intent found in the store
//! with nobody working on it names the objects of an unacknowledged
//! creation: the daemon was killed in between, or a clean-up failed.
//!
//! [`sweep`] settles such intents: when the store owns what the intent
//! announced (the commit went through), the intent is dropped; otherwise
//! every object made under its id is destroyed on every member, and the
//! intent goes once nothing is left on any member the store knows. The
//! daemon sweeps at start and on every heal (`cluster resync` and the
//! scheduler's passes); intents of writers still at work are left alone.
//! An intent stays while a member of its cluster is missing from the open
//! cluster (it could hold leftovers), and, once a member failed to destroy
//! its leftovers, until the next start: SoftHSM forgets an object whose
//! file it could not remove, so finding nothing later in the same run
//! proves nothing.

use std::sync::MutexGuard;

use crate::kms::{Kms, KmsError};
use crate::store::{IntentPurpose, IntentRecord, StoreError, Tx};

/// Records an intent before the HSM call it announces. The caller holds
/// the writer lock and no registry guard.
pub fn announce(
    kms: &Kms,
    cluster: &str,
    purpose: IntentPurpose,
    id: &[u8; 16],
    label: &str,
) -> Result<IntentRecord, KmsError> {
    let now = kms.clock.now();
    let intent = IntentRecord {
        object_id: hex::encode(id),
        cluster: cluster.to_owned(),
        purpose,
        label: label.to_owned(),
        created_at: now,
    };
    // Durable against a crash of the daemon, which is what it is for; a
    // power cut may lose it (what it announced is then reported, not
    // destroyed), and it spares the key creation an fsync.
    kms.store.write_relaxed(now, |tx| tx.insert_intent(&intent))?;
    kms.registry_mut()?.put_intent(intent.clone(), true);
    Ok(intent)
}

/// Deletes the intent in the transaction that commits what it announced.
/// The caller then forgets it in the registry ([`forget`]).
pub fn commit_in(tx: &Tx<'_>, intent: Option<&IntentRecord>) -> Result<(), StoreError> {
    intent.map_or(Ok(()), |intent| tx.delete_intent(intent))
}

/// Forgets a committed intent in the registry.
pub fn forget(kms: &Kms, intent: Option<&IntentRecord>) -> Result<(), KmsError> {
    if let Some(intent) = intent {
        kms.registry_mut()?.remove_intent(&intent.object_id);
    }
    Ok(())
}

/// Settles the intent of a write that failed: gone from the store when
/// `objects_left` is 0 (nothing of it is in the HSMs), else left to the
/// sweep, which destroys what is left later.
pub fn withdraw(kms: &Kms, intent: Option<&IntentRecord>, objects_left: usize) {
    let Some(intent) = intent else { return };
    let withdrawn = objects_left == 0
        && kms
            .store
            .write(kms.clock.now(), |tx| tx.delete_intent(intent))
            .map_err(|error| tracing::warn!(object = %intent.object_id, %error, "cannot withdraw a creation intent"))
            .is_ok();
    match kms.registry_mut() {
        Ok(mut registry) if withdrawn => registry.remove_intent(&intent.object_id),
        Ok(mut registry) => registry.abandon_intent(&intent.object_id),
        Err(error) => tracing::warn!(%error, "cannot settle a creation intent in the registry"),
    }
}

/// What a sweep of one cluster did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Intents whose objects were destroyed (unacknowledged creations).
    pub destroyed: Vec<String>,
    /// Intents whose creation had been committed after all: dropped.
    pub committed: u64,
    /// Intents whose objects could not all be destroyed (a member did not
    /// answer); kept for the next sweep.
    pub left: Vec<String>,
}

/// Settles the intents of `cluster` that no writer works on (see the
/// module documentation). `complete` says that every member the store
/// knows in the cluster is open (none was left out at start). The caller
/// holds the writer lock (`_writes`), so no creation commits while the
/// store's ownership is judged.
pub fn sweep(kms: &Kms, cluster: &str, complete: bool, _writes: &MutexGuard<'_, ()>) -> Result<Sweep, KmsError> {
    let mut report = Sweep::default();
    let intents = kms.registry()?.settled_intents(cluster);
    for (intent, state) in intents {
        let owned = kms.registry()?.owns(&intent);
        if !owned {
            let Some(id) = hex::decode(&intent.object_id).ok().and_then(|b| <[u8; 16]>::try_from(b).ok()) else {
                tracing::error!(object = %intent.object_id, "a creation intent with a malformed id is dropped");
                drop_intent(kms, &intent)?;
                continue;
            };
            let leftovers = kms.vault.destroy_leftovers(cluster, intent.purpose, &id)?;
            if leftovers.destroyed > 0 {
                tracing::info!(cluster, object = %intent.label, purpose = intent.purpose.as_str(), "leftovers of an unacknowledged creation destroyed");
                report.destroyed.push(intent.label.clone());
            }
            if leftovers.unreached > 0 {
                tracing::warn!(cluster, object = %intent.label, members = leftovers.unreached, "leftovers of an unacknowledged creation: members to clear later");
                kms.registry_mut()?.distrust_intent(&intent.object_id);
                report.left.push(intent.label.clone());
                continue;
            }
            if state.distrusted || !complete {
                // Kept until every member was seen cleared at a start.
                continue;
            }
        } else {
            report.committed += 1;
        }
        drop_intent(kms, &intent)?;
    }
    Ok(report)
}

fn drop_intent(kms: &Kms, intent: &IntentRecord) -> Result<(), KmsError> {
    kms.store.write(kms.clock.now(), |tx| tx.delete_intent(intent))?;
    kms.registry_mut()?.remove_intent(&intent.object_id);
    Ok(())
}
