//! `instance attach-cluster INSTANCE CLUSTER [--force]`: an instance's keys
//! are kept by another cluster from now on (one restored from an image,
//! typically).
//!
//! The new cluster may lack versions the store knows (made after the
//! image). Each one that a member of the cluster the instance leaves still
//! holds is copied over first (`hsm::transfer`: wrapped inside the HSMs,
//! as replication does), announced by a creation intent so that a crash
//! half-way leaves nothing unaccounted for. A version that no reachable
//! member of either cluster holds would be lost: the attachment is refused
//! with the list of keys and versions (`Rejected.VersionsWouldBeLost`)
//! unless `--force` is given, and then those versions are recorded lost
//! (their keys say so in `describe`; using them is refused with
//! `Rejected.KeyVersionLost`), while images, verification and every other
//! operation go on for the rest. A version recorded lost that the new
//! cluster holds after all is usable again.
//!
//! The instance's new cluster, the lost records and the intents of the
//! copies are committed in one transaction.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use p11kms_proto::admin::InstanceInfo;

use super::lagging::holdings;
use super::live::LiveCluster;
use crate::hsm::{Cluster, HsmError, Member, PublicKey, VersionName, transfer};
use crate::kms::keys::{intents, version_name};
use crate::kms::{KmsError, instances};
use crate::service::Service;
use crate::store::{IntentPurpose, IntentRecord, LostVersionRecord};

/// A version of the instance, as the attachment sees it.
#[derive(Clone, Debug)]
struct Version {
    key_id: String,
    version_id: String,
    name: VersionName,
    public: Option<PublicKey>,
    /// Recorded lost before this attachment.
    lost: Option<LostVersionRecord>,
}

/// The union of what the members of `live` that answer hold.
fn held_by(live: &LiveCluster) -> HashSet<[u8; 16]> {
    live.cluster.members().iter().filter_map(|m| holdings(m)).flatten().collect()
}

/// `instance attach-cluster`.
pub fn attach(service: &Service, instance: &str, cluster: &str, force: bool) -> Result<InstanceInfo, KmsError> {
    let writes = service.kms.writer()?;
    let target = service.clusters.get(cluster)?;
    let (mut record, versions) = {
        let registry = service.kms.registry()?;
        let record = registry.instance(instance)?.clone();
        let versions: Vec<Version> = registry
            .keys()
            .filter(|k| k.record.instance == instance)
            .flat_map(|k| k.versions.iter().map(move |v| (k, v)))
            .filter(|(_, v)| v.record.has_material)
            .map(|(k, v)| Version {
                key_id: k.record.key_id.clone(),
                version_id: v.record.version_id.clone(),
                name: version_name(&k.record, v),
                public: v.public_key.clone(),
                lost: v.lost.clone(),
            })
            .collect();
        (record, versions)
    };
    let Some(leaving) = record.cluster.clone() else {
        return Err(KmsError::InvalidParameter(format!(
            "instance '{instance}' keeps its keys in the daemon, not in a cluster: move them into an instance \
             with `p11kms key migrate`"
        )));
    };
    let in_target = held_by(&target);
    let found_again: Vec<&Version> =
        versions.iter().filter(|v| v.lost.is_some() && in_target.contains(&v.name.id)).collect();
    let needed: Vec<&Version> =
        versions.iter().filter(|v| v.lost.is_none() && !in_target.contains(&v.name.id)).collect();
    // Where each needed version can come from: a member of the cluster
    // the instance leaves that answers and holds it.
    let source = service.clusters.get(&leaving).ok().filter(|_| leaving != cluster);
    let source_holdings: Vec<(Arc<Member>, HashSet<[u8; 16]>)> = source
        .iter()
        .flat_map(|live| live.cluster.candidates().into_iter().cloned().collect::<Vec<_>>())
        .filter_map(|m| holdings(&m).map(|h| (m, h)))
        .collect();
    let (copyable, lost): (Vec<&Version>, Vec<&Version>) =
        needed.into_iter().partition(|v| source_holdings.iter().any(|(_, h)| h.contains(&v.name.id)));
    if !lost.is_empty() && !force {
        return Err(KmsError::WouldLoseVersions(would_lose(instance, cluster, &lost)));
    }
    let copies: Vec<IntentRecord> = {
        let mut announced = Vec::new();
        for version in &copyable {
            announced.push(intents::announce(
                &service.kms,
                cluster,
                IntentPurpose::KeyVersion,
                &version.name.id,
                &version.name.label,
            )?);
        }
        announced
    };
    if let Err(error) = copy_all(&target, &copyable, &source_holdings) {
        for (version, intent) in copyable.iter().zip(&copies) {
            let left = target.cluster.destroy_version(&version.name);
            intents::withdraw(&service.kms, Some(intent), left);
        }
        return Err(error);
    }
    let now = service.kms.clock.now();
    let lost_records: Vec<LostVersionRecord> = lost
        .iter()
        .map(|v| LostVersionRecord {
            version_id: v.version_id.clone(),
            key_id: v.key_id.clone(),
            cluster: cluster.to_owned(),
            lost_at: now,
        })
        .collect();
    let recovered: Vec<LostVersionRecord> = found_again.iter().filter_map(|v| v.lost.clone()).collect();
    record.cluster = Some(cluster.to_owned());
    service.kms.store.write(now, |tx| {
        tx.update_instance(&record)?;
        lost_records.iter().try_for_each(|l| tx.insert_lost_version(l))?;
        recovered.iter().try_for_each(|l| tx.delete_lost_version(l))?;
        copies.iter().try_for_each(|i| tx.delete_intent(i))
    })?;
    let mut registry = service.kms.registry_mut()?;
    registry.put_instance(record.clone());
    for intent in &copies {
        registry.remove_intent(&intent.object_id);
    }
    for lost in lost_records {
        registry.put_lost_version(lost);
    }
    for found in &recovered {
        registry.clear_lost_version(&found.key_id, &found.version_id);
    }
    let info = instances::info(&service.kms.config, &registry, &record);
    drop(registry);
    drop(writes);
    tracing::warn!(
        instance,
        cluster,
        left = %leaving,
        copied = copyable.len(),
        lost = lost.len(),
        found_again = found_again.len(),
        "instance attached to another cluster"
    );
    for version in &lost {
        tracing::error!(instance, key = %version.key_id, version = %version.version_id, "key version recorded lost: no reachable HSM holds it");
    }
    Ok(info)
}

/// The refusal's text: every key that would lose versions, with them.
fn would_lose(instance: &str, cluster: &str, lost: &[&Version]) -> String {
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for version in lost {
        by_key.entry(&version.key_id).or_default().push(&version.version_id);
    }
    let keys: Vec<String> = by_key.iter().map(|(key, versions)| format!("{key} ({})", versions.join(", "))).collect();
    format!(
        "attaching instance '{instance}' to cluster '{cluster}' would lose {} key versions that no reachable HSM \
         holds: {}; attach with --force to record them lost",
        lost.len(),
        keys.join("; ")
    )
}

/// Copies each version into the target cluster: from a member of the
/// cluster left to the target's first member in service, then within the
/// target to every other member in service (as replication does).
fn copy_all(
    target: &LiveCluster,
    copyable: &[&Version],
    sources: &[(Arc<Member>, HashSet<[u8; 16]>)],
) -> Result<(), KmsError> {
    let receiver = target.cluster.serving_member()?.clone();
    for version in copyable {
        let mut last = HsmError::NoHealthyMember(version.name.label.clone());
        let copied = sources.iter().filter(|(_, h)| h.contains(&version.name.id)).any(|(from, _)| {
            transfer::copy_version(from, &receiver, &version.name, version.public.as_ref())
                .map_err(|error| {
                    tracing::warn!(from = from.label(), to = receiver.label(), version = %version.name.label, %error, "copy between clusters failed");
                    last = error;
                })
                .is_ok()
        });
        if !copied {
            return Err(last.into());
        }
        for member in target.cluster.members().iter().filter(|m| m.is_healthy() && !Arc::ptr_eq(m, &receiver)) {
            Cluster::replicate(&receiver, member, &version.name, version.public.as_ref())?;
        }
    }
    Ok(())
}
