//! Keeping a cluster's members in step with the store.
//!
//! The store says which key versions a cluster holds; every member must
//! hold each of them (`verify` compares). Healing ([`heal`]) runs on every
//! scheduler pass for a cluster that needs it and on `cluster resync`:
//!
//! * leftovers of unacknowledged creations (creation intents nobody works
//!   on, `kms::keys::intents`) are destroyed on every member;
//! * a member marked out of service that answers again is logged in anew;
//! * a member that lost the cluster key gets it again from one that has it;
//! * every version a member lacks is copied to it from a member that has it,
//!   wrapped under the cluster key inside the HSMs
//!   (`hsm::Cluster::replicate`); a member lacking what others hold is out
//!   of service until then (`lagging`), and back in service once whole.
//!
//! Objects that neither the store nor an intent knows are never deleted
//! here: they are reported for an operator to judge.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use p11kms_proto::admin::{MemberRole, ResyncReport};

use super::lagging::{Holding, curable_lacks, held_somewhere, holdings};
use super::live::{LiveCluster, LiveClusters};
use crate::hsm::{Cluster, HsmError, Member, PublicKey, VersionName};
use crate::kms::keys::{intents, version_name};
use crate::kms::registry::Registry;
use crate::kms::{Kms, KmsError};
use crate::service::Service;

/// What the store says one version is, for copying it.
#[derive(Clone, Debug)]
struct Expected {
    name: VersionName,
    public: Option<PublicKey>,
    /// `KEY_ID/VERSION_ID`, for reports.
    label: String,
}

/// The versions the store places in `cluster`, by version id.
fn expected(kms: &Kms, cluster: &str) -> Result<HashMap<[u8; 16], Expected>, KmsError> {
    let registry = kms.registry()?;
    let ids = super::open::expected_versions(&registry, cluster);
    let mut out = HashMap::new();
    for key in registry.keys() {
        for version in key.versions.iter().filter(|v| ids.contains(&v.uuid)) {
            let name = version_name(&key.record, version);
            let label = name.label.clone();
            out.insert(version.uuid, Expected { name, public: version.public_key.clone(), label });
        }
    }
    Ok(out)
}

/// `KEY_ID/VERSION_ID` of every version the store places in `cluster`.
pub fn expected_labels(registry: &Registry, cluster: &str) -> HashMap<[u8; 16], String> {
    let ids = super::open::expected_versions(registry, cluster);
    registry
        .keys()
        .flat_map(|k| k.versions.iter().map(move |v| (k, v)))
        .filter(|(_, v)| ids.contains(&v.uuid))
        .map(|(k, v)| (v.uuid, format!("{}/{}", k.record.key_id, v.record.version_id)))
        .collect()
}

/// The versions the store places in `cluster`, as the HSM names them, with
/// their public keys (for copying them to a member).
pub fn expected_names(kms: &Kms, cluster: &str) -> Result<Vec<(VersionName, Option<PublicKey>)>, KmsError> {
    Ok(expected(kms, cluster)?.into_values().map(|e| (e.name, e.public)).collect())
}

/// Destroys the leftovers of unacknowledged creations in every open
/// cluster: what a daemon killed between an HSM write and its commit left.
/// Run once at start, before any request.
pub fn sweep_leftovers_at_start(service: &Service) {
    for name in service.clusters.names() {
        let swept = service
            .kms
            .writer()
            .and_then(|writes| intents::sweep(&service.kms, &name, all_members_open(service, &name)?, &writes));
        match swept {
            Ok(sweep) if sweep.destroyed.is_empty() && sweep.left.is_empty() => {}
            Ok(sweep) => tracing::warn!(
                cluster = %name,
                destroyed = sweep.destroyed.len(),
                left = sweep.left.len(),
                "leftovers of creations a crash interrupted"
            ),
            Err(error) => tracing::error!(cluster = %name, %error, "cannot sweep leftovers of interrupted creations"),
        }
    }
}

/// True when every member the store knows in `name` is in the open
/// cluster (none was left out at start because its token did not open).
fn all_members_open(service: &Service, name: &str) -> Result<bool, KmsError> {
    let live = service.clusters.get(name)?;
    let stored = service.kms.registry()?.cluster(name)?.members.clone();
    Ok(stored.iter().all(|s| live.cluster.members().iter().any(|m| m.index() == s.index)))
}

/// Heals one cluster (see the module documentation). The store's writer
/// lock is held throughout, so no key is created or destroyed while the
/// comparison and the copies run.
pub fn heal(service: &Service, name: &str) -> Result<ResyncReport, KmsError> {
    let live = service.clusters.get(name)?;
    let writes = service.kms.writer()?;
    let mut report = ResyncReport {
        cluster_name: name.to_owned(),
        copied: 0,
        failed: 0,
        recovered: Vec::new(),
        promoted: None,
        orphans_destroyed: Vec::new(),
        unheld: Vec::new(),
        out_of_service: Vec::new(),
    };
    let sweep = intents::sweep(&service.kms, name, all_members_open(service, name)?, &writes)?;
    report.orphans_destroyed = sweep.destroyed;
    // Members out of service answer again: log in anew before judging them.
    let probed: Vec<Arc<Member>> =
        live.cluster.members().iter().filter(|m| !m.is_healthy() && m.probe().is_ok()).cloned().collect();
    let expected = expected(&service.kms, name)?;
    let wanted: Holding = expected.keys().copied().collect();
    let held: Vec<(Arc<Member>, Option<Holding>)> = live
        .cluster
        .members()
        .iter()
        .map(|m| {
            // A member out of service whose probe failed is not asked.
            let answered = m.is_healthy() || probed.iter().any(|p| Arc::ptr_eq(p, m));
            (m.clone(), if answered { holdings(m) } else { None })
        })
        .collect();
    // Versions nobody holds: nothing to copy them from.
    let somewhere = held_somewhere(&wanted, &held);
    let mut unheld: Vec<String> =
        expected.iter().filter(|(id, _)| !somewhere.contains(*id)).map(|(_, e)| e.label.clone()).collect();
    unheld.sort();
    for label in &unheld {
        tracing::error!(cluster = name, version = %label, "no member that answers holds this version");
    }
    report.unheld = unheld;
    give_cluster_key_back(name, &held);
    for (member, holding) in &held {
        let Some(holding) = holding else { continue };
        let lacks = curable_lacks(member, holding, &wanted, &held);
        if !lacks.is_empty() && member.is_healthy() {
            member.mark_unhealthy();
            tracing::warn!(
                cluster = name,
                member = member.label(),
                lacks = lacks.len(),
                "member lacks key versions other members hold: out of service until it is whole"
            );
        }
        let mut whole = true;
        for id in &lacks {
            let Some(version) = expected.get(id) else { continue };
            match copy_to(member, id, version, &held) {
                Ok(()) => {
                    report.copied += 1;
                    tracing::info!(cluster = name, member = member.label(), version = %version.label, "version copied");
                }
                Err(error) => {
                    report.failed += 1;
                    whole = false;
                    tracing::error!(cluster = name, member = member.label(), version = %version.label, %error, "copy failed");
                }
            }
        }
        if !whole {
            continue;
        }
        // It holds every version any member holds now.
        member.synced_at(service.kms.clock.now().unix());
        if !member.is_healthy() {
            member.mark_healthy();
            report.recovered.push(member.label().to_owned());
            tracing::info!(cluster = name, member = member.label(), "member back in service, whole");
        }
    }
    match promote_if_needed(&service.kms, &live, &somewhere) {
        Ok(promoted) => report.promoted = promoted,
        Err(error) => tracing::error!(cluster = name, %error, "no member can take the primary's place"),
    }
    report.out_of_service =
        live.cluster.members().iter().filter(|m| !m.is_healthy()).map(|m| m.label().to_owned()).collect();
    // Members the store knows that were left out at start (token gone).
    let stored = service.kms.registry()?.cluster(name)?.members.clone();
    for absent in stored.iter().filter(|s| !live.cluster.members().iter().any(|m| m.index() == s.index)) {
        report.out_of_service.push(absent.token_label.clone());
    }
    Ok(report)
}

/// Copies one version to `member` from a member that answered and holds
/// it: those in service first, then the others (a member out of service
/// for lagging still holds good copies of what it has).
fn copy_to(
    member: &Arc<Member>,
    id: &[u8; 16],
    version: &Expected,
    held: &[(Arc<Member>, Option<Holding>)],
) -> Result<(), HsmError> {
    let mut sources: Vec<&Arc<Member>> = held
        .iter()
        .filter(|(m, h)| !Arc::ptr_eq(m, member) && h.as_ref().is_some_and(|h| h.contains(id)))
        .map(|(m, _)| m)
        .collect();
    sources.sort_by_key(|m| !m.is_healthy());
    let mut last = HsmError::NoHealthyMember(version.label.clone());
    for source in sources {
        member.forget(id);
        match Cluster::replicate(source, member, &version.name, version.public.as_ref()) {
            Ok(()) => return Ok(()),
            Err(error) => last = error,
        }
    }
    Err(last)
}

/// Gives the cluster key again to every member that answers without it
/// (its objects were destroyed, its files replaced), from one that has it.
fn give_cluster_key_back(name: &str, held: &[(Arc<Member>, Option<Holding>)]) {
    let answering: Vec<&Arc<Member>> = held.iter().filter(|(_, h)| h.is_some()).map(|(m, _)| m).collect();
    let (with, without): (Vec<&Arc<Member>>, Vec<&Arc<Member>>) =
        answering.into_iter().partition(|m| m.has_cluster_key());
    let Some(giver) = with.iter().find(|m| m.is_healthy()).or(with.first()) else {
        if !without.is_empty() {
            tracing::error!(cluster = name, "no member holds the cluster key any more");
        }
        return;
    };
    for member in without {
        match Cluster::share_cluster_key(giver, member) {
            Ok(()) => tracing::info!(cluster = name, member = member.label(), "cluster key given again"),
            Err(error) => {
                tracing::error!(cluster = name, member = member.label(), %error, "cannot give the cluster key");
            }
        }
    }
}

/// Creates a key version on every member in service: generated on the
/// primary and copied to the healthy mirrors at once
/// ([`crate::hsm::Cluster::create_version`]). A primary that fails the
/// write is taken out of service, an in-sync mirror promoted, and the
/// creation tried once more there. Returns the public key of an
/// asymmetric version.
pub fn create_version(
    kms: &Kms,
    clusters: &LiveClusters,
    name: &str,
    v: &VersionName,
) -> Result<Option<PublicKey>, KmsError> {
    let live = clusters.get(name)?;
    ensure_primary(kms, &live)?;
    match live.cluster.create_version(v) {
        Ok(public) => Ok(public),
        Err(error) if error.is_member_failure() => {
            let failed = live.cluster.primary();
            tracing::error!(cluster = name, member = failed.label(), %error, "primary failed a write");
            failed.mark_unhealthy();
            ensure_primary(kms, &live)?;
            Ok(live.cluster.create_version(v)?)
        }
        Err(error) => Err(error.into()),
    }
}

/// Makes sure writes have a primary in service: when the primary is out of
/// service, a healthy member holding every version that any member holds
/// is promoted, and the roles are recorded in the store (a restart keeps
/// them). Called before a key version is written, and by healing.
pub fn ensure_primary(kms: &Kms, live: &LiveCluster) -> Result<Option<String>, KmsError> {
    if live.cluster.primary().is_healthy() {
        return Ok(None);
    }
    let expected: Holding = expected(kms, live.cluster.name())?.into_keys().collect();
    let held: Vec<(Arc<Member>, Option<Holding>)> =
        live.cluster.members().iter().map(|m| (m.clone(), holdings(m))).collect();
    promote_if_needed(kms, live, &held_somewhere(&expected, &held))
}

/// Promotes a healthy member holding all of `wanted` when the primary is
/// out of service.
fn promote_if_needed(kms: &Kms, live: &LiveCluster, wanted: &HashSet<[u8; 16]>) -> Result<Option<String>, KmsError> {
    let cluster = &live.cluster;
    let name = cluster.name();
    if cluster.primary().is_healthy() {
        return Ok(None);
    }
    let position = cluster
        .members()
        .iter()
        .position(|m| m.is_healthy() && holdings(m).is_some_and(|held| wanted.is_subset(&held)))
        .ok_or_else(|| KmsError::from(HsmError::NoHealthyMember(name.to_owned())))?;
    let old = cluster.primary().label().to_owned();
    cluster.promote(position);
    record_roles(kms, live)?;
    let new = cluster.primary().label().to_owned();
    tracing::warn!(cluster = name, from = %old, to = %new, "primary out of service: mirror promoted");
    Ok(Some(new))
}

/// Writes the live cluster's roles to the store (journaled) when they
/// differ from it, so that a restart opens the same primary.
pub fn record_roles(kms: &Kms, live: &LiveCluster) -> Result<(), KmsError> {
    let name = live.cluster.name();
    let primary = live.cluster.primary().index();
    let mut registry = kms.registry_mut()?;
    let mut record = registry.cluster(name)?.clone();
    let mut changed = false;
    for member in &mut record.members {
        let role = if member.index == primary { MemberRole::Primary } else { MemberRole::Mirror };
        changed |= member.role != role;
        member.role = role;
    }
    if changed {
        kms.store.write(kms.clock.now(), |tx| record.members.iter().try_for_each(|m| tx.update_member(name, m)))?;
        registry.put_cluster(record);
    }
    Ok(())
}

/// Heals the clusters; run by the daemon on each scheduler pass. A full
/// comparison reads every member's objects, so the caller asks for one
/// (`full`) every `hsm.resync_interval_seconds`; a cluster with a member
/// out of service, or with leftovers of interrupted creations, is healed
/// on every pass.
pub fn heal_all(service: &Service, full: bool) {
    for name in service.clusters.names() {
        let degraded = service.clusters.get(&name).is_ok_and(|l| l.cluster.members().iter().any(|m| !m.is_healthy()));
        // Leftovers to destroy (those a member failed to destroy wait for
        // the next full pass, or the next start).
        let leftovers =
            service.kms.registry().is_ok_and(|r| r.settled_intents(&name).iter().any(|(_, state)| !state.distrusted));
        if !(full || degraded || leftovers) {
            continue;
        }
        match heal(service, &name) {
            Ok(report)
                if report.copied + report.failed > 0
                    || !report.recovered.is_empty()
                    || !report.orphans_destroyed.is_empty() =>
            {
                tracing::info!(
                    cluster = %name,
                    copied = report.copied,
                    failed = report.failed,
                    recovered = ?report.recovered,
                    leftovers_destroyed = report.orphans_destroyed.len(),
                    "cluster healed"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(cluster = %name, %error, "cannot heal cluster"),
        }
    }
}
