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

use super::KmsError;
use super::keys::version_name;
use crate::hsm::{Cluster, Member, PublicKey, VersionName};
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
fn expected(service: &Service, cluster: &str) -> Result<HashMap<[u8; 16], Expected>, KmsError> {
    let registry = service.registry()?;
    let ids = super::clusters::expected_versions(&registry, cluster);
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

/// One member's holdings, or `None` when it did not answer.
fn holdings(member: &Member) -> Option<Holding> {
    member.version_ids().ok().map(|ids| ids.into_iter().collect())
}

/// `cluster verify`.
pub fn verify(service: &Service, name: &str) -> Result<ClusterVerification, KmsError> {
    let live = service.cluster(name)?;
    let expected = expected(service, name)?;
    let primary = live.cluster.primary().index();
    let mut consistent = true;
    let members = live
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
    Ok(ClusterVerification {
        cluster_name: name.to_owned(),
        expected_versions: expected.len() as u64,
        consistent,
        members,
    })
}

/// Takes recovered members back and copies what members lack. The
/// store's writer lock is held, so no key is created or destroyed while
/// the comparison and the copies run.
pub fn heal(service: &Service, name: &str) -> Result<ResyncReport, KmsError> {
    let live = service.cluster(name)?;
    let _writes = service.writer()?;
    let mut report = ResyncReport { cluster_name: name.to_owned(), copied: 0, failed: 0, recovered: Vec::new() };
    for member in live.cluster.members() {
        if !member.is_healthy() && member.probe().is_ok() {
            report.recovered.push(member.label().to_owned());
        }
    }
    let expected = expected(service, name)?;
    let held: Vec<(Arc<Member>, Option<Holding>)> =
        live.cluster.members().iter().map(|m| (m.clone(), holdings(m))).collect();
    for (member, holding) in &held {
        let Some(holding) = holding else { continue };
        for (id, version) in expected.iter().filter(|(id, _)| !holding.contains(*id)) {
            let source =
                held.iter().find(|(m, h)| !Arc::ptr_eq(m, member) && h.as_ref().is_some_and(|h| h.contains(id)));
            let Some((source, _)) = source else {
                report.failed += 1;
                tracing::error!(cluster = name, version = %version.label, "no member holds this version any more");
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
                    tracing::error!(cluster = name, member = member.label(), version = %version.label, %error, "copy failed");
                }
            }
        }
    }
    Ok(report)
}

/// Heals every cluster; run by the daemon on each scheduler pass.
pub fn heal_all(service: &Service) {
    let names: Vec<String> = match service.registry() {
        Ok(registry) => registry.clusters().map(|c| c.name.clone()).collect(),
        Err(_) => return,
    };
    for name in names.iter().filter(|n| service.has_cluster(n)) {
        match heal(service, name) {
            Ok(report) if report.copied + report.failed > 0 || !report.recovered.is_empty() => {
                tracing::info!(cluster = %name, copied = report.copied, failed = report.failed, recovered = ?report.recovered, "cluster healed");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(cluster = %name, %error, "cannot heal cluster"),
        }
    }
}
