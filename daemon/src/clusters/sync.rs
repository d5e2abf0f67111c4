//! Keeping a cluster's members in step with the store.
//!
//! The store says which key versions a cluster holds; every member must
//! hold each of them. `cluster verify` compares every member with the store
//! and reports each difference. Healing ([`heal`]) runs on every scheduler
//! pass and on `cluster resync`: a member marked unhealthy that answers
//! again is logged in anew, and every version a member lacks is copied to
//! it from a member that has it, wrapped under the cluster key inside the
//! HSMs (`hsm::Cluster::replicate`). Nothing is ever deleted here: objects
//! the store does not know are reported for an operator to judge.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use p11kms_proto::admin::{ClusterVerification, MemberDifferences, MemberHealth, MemberRole, ResyncReport};

use super::live::{LiveCluster, LiveClusters};
use crate::hsm::{Cluster, HsmError, Member, PublicKey, VersionName};
use crate::kms::keys::version_name;
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

/// Version ids on a member.
type Holding = HashSet<[u8; 16]>;

/// The versions the store places in `cluster`, as the HSM names them, with
/// their public keys (for copying them to a member).
pub fn expected_names(kms: &Kms, cluster: &str) -> Result<Vec<(VersionName, Option<PublicKey>)>, KmsError> {
    Ok(expected(kms, cluster)?.into_values().map(|e| (e.name, e.public)).collect())
}

/// One member's holdings, or `None` when it did not answer.
fn holdings(member: &Member) -> Option<Holding> {
    member.version_ids().ok().map(|ids| ids.into_iter().collect())
}

/// `cluster verify`.
pub fn verify(service: &Service, name: &str) -> Result<ClusterVerification, KmsError> {
    let live = service.clusters.get(name)?;
    let expected = expected(&service.kms, name)?;
    let primary = live.cluster.primary().index();
    let mut consistent = true;
    let members: Vec<MemberDifferences> = live
        .cluster
        .members()
        .iter()
        .map(|member| {
            let role = if member.index() == primary { MemberRole::Primary } else { MemberRole::Mirror };
            let (health, missing, unexpected) = match holdings(member) {
                None => (MemberHealth::Unreachable, Vec::new(), Vec::new()),
                Some(held) => {
                    let mut missing: Vec<String> =
                        expected.iter().filter(|(id, _)| !held.contains(*id)).map(|(_, e)| e.label.clone()).collect();
                    let mut unexpected: Vec<String> = held
                        .iter()
                        .filter(|id| !expected.contains_key(*id))
                        .map(|id| uuid::Uuid::from_bytes(*id).to_string())
                        .collect();
                    missing.sort();
                    unexpected.sort();
                    (MemberHealth::Healthy, missing, unexpected)
                }
            };
            consistent &= health == MemberHealth::Healthy && missing.is_empty() && unexpected.is_empty();
            MemberDifferences {
                index: member.index(),
                token_label: member.label().to_owned(),
                role,
                health,
                missing,
                unexpected,
            }
        })
        .collect();
    // Members the store knows that were left out at start (token gone).
    let stored = service.kms.registry()?.cluster(name)?.members.clone();
    let mut members: Vec<MemberDifferences> = members;
    let present: HashSet<u32> = members.iter().map(|m| m.index).collect();
    for absent in stored.iter().filter(|s| !present.contains(&s.index)) {
        consistent = false;
        members.push(MemberDifferences {
            index: absent.index,
            token_label: absent.token_label.clone(),
            role: MemberRole::Mirror,
            health: MemberHealth::Unreachable,
            missing: Vec::new(),
            unexpected: Vec::new(),
        });
    }
    members.sort_by_key(|m| m.index);
    Ok(ClusterVerification {
        cluster_name: name.to_owned(),
        expected_versions: expected.len() as u64,
        consistent,
        members,
    })
}

/// Takes recovered members back and copies what members lack. The
/// store's writer lock is held, so no key is created or destroyed while
/// the comparison and the copies run. A member that answers again serves
/// only once it holds every version.
pub fn heal(service: &Service, name: &str) -> Result<ResyncReport, KmsError> {
    let live = service.clusters.get(name)?;
    let _writes = service.kms.writer()?;
    let mut report =
        ResyncReport { cluster_name: name.to_owned(), copied: 0, failed: 0, recovered: Vec::new(), promoted: None };
    let recovering: Vec<Arc<Member>> =
        live.cluster.members().iter().filter(|m| !m.is_healthy() && m.probe().is_ok()).cloned().collect();
    let expected = expected(&service.kms, name)?;
    let held: Vec<(Arc<Member>, Option<Holding>)> =
        live.cluster.members().iter().map(|m| (m.clone(), holdings(m))).collect();
    for (member, holding) in &held {
        let Some(holding) = holding else { continue };
        let mut member_failed = false;
        // A member that lost the cluster key (its files were unreadable
        // for a while, say) gets it again from one in service first.
        if expected.keys().any(|id| !holding.contains(id)) && member.cluster_key().is_err() {
            let giver = held.iter().find(|(m, _)| !Arc::ptr_eq(m, member) && m.is_healthy() && m.cluster_key().is_ok());
            if let Some((giver, _)) = giver {
                match Cluster::share_cluster_key(giver, member) {
                    Ok(()) => tracing::info!(cluster = name, member = member.label(), "cluster key given again"),
                    Err(error) => {
                        tracing::error!(cluster = name, member = member.label(), %error, "cannot give the cluster key");
                    }
                }
            }
        }
        for (id, version) in expected.iter().filter(|(id, _)| !holding.contains(*id)) {
            let source = held
                .iter()
                .find(|(m, h)| !Arc::ptr_eq(m, member) && m.is_healthy() && h.as_ref().is_some_and(|h| h.contains(id)));
            let Some((source, _)) = source else {
                report.failed += 1;
                member_failed = true;
                tracing::error!(cluster = name, version = %version.label, "no member in service holds this version");
                continue;
            };
            member.forget(id);
            match Cluster::replicate(source, member, &version.name, version.public.as_ref()) {
                Ok(()) => {
                    report.copied += 1;
                    tracing::info!(cluster = name, member = member.label(), version = %version.label, "version copied");
                }
                Err(error) => {
                    report.failed += 1;
                    member_failed = true;
                    tracing::error!(cluster = name, member = member.label(), version = %version.label, %error, "copy failed");
                }
            }
        }
        if !member_failed {
            member.synced_at(service.kms.clock.now().unix());
        }
        if !member_failed && recovering.iter().any(|r| Arc::ptr_eq(r, member)) {
            member.mark_healthy();
            report.recovered.push(member.label().to_owned());
            tracing::info!(cluster = name, member = member.label(), "member back in service, in sync");
        }
    }
    report.promoted = promote_if_needed(&service.kms, &live, &expected)?;
    Ok(report)
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
/// service, a healthy member holding every version is promoted, and the
/// roles are recorded in the store (a restart keeps them). Called before a
/// key version is written, and by healing.
pub fn ensure_primary(kms: &Kms, live: &LiveCluster) -> Result<Option<String>, KmsError> {
    if live.cluster.primary().is_healthy() {
        return Ok(None);
    }
    let expected = expected(kms, live.cluster.name())?;
    promote_if_needed(kms, live, &expected)
}

fn promote_if_needed(
    kms: &Kms,
    live: &LiveCluster,
    expected: &HashMap<[u8; 16], Expected>,
) -> Result<Option<String>, KmsError> {
    let cluster = &live.cluster;
    let name = cluster.name();
    if cluster.primary().is_healthy() {
        return Ok(None);
    }
    let wanted: Holding = expected.keys().copied().collect();
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
/// out of service is healed on every pass.
pub fn heal_all(service: &Service, full: bool) {
    for name in service.clusters.names() {
        let degraded = service.clusters.get(&name).is_ok_and(|l| l.cluster.members().iter().any(|m| !m.is_healthy()));
        if !(full || degraded) {
            continue;
        }
        match heal(service, &name) {
            Ok(report) if report.copied + report.failed > 0 || !report.recovered.is_empty() => {
                tracing::info!(cluster = %name, copied = report.copied, failed = report.failed, recovered = ?report.recovered, "cluster healed");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(cluster = %name, %error, "cannot heal cluster"),
        }
    }
}
