//! `cluster verify`: every member against the store.
//!
//! For each member: the versions it lacks, the objects nobody knows (not
//! the store, not a creation intent), and apart from those the leftovers
//! of unacknowledged creations (an intent recorded before the HSM write,
//! never committed: a crash came in between). Leftovers are no difference:
//! the next heal destroys them, so they never hide a real divergence.
//! Objects of creations still at work are not shown at all.
//!
//! A member found lagging (lacking what another member holds) is taken
//! out of service here too (`lagging`), and reported so.

use std::collections::HashSet;

use p11kms_proto::admin::{ClusterVerification, MemberDifferences, MemberHealth, MemberRole};

use super::lagging::{holdings, take_out_lagging};
use super::open::{Known, sort_holdings};
use crate::kms::KmsError;
use crate::service::Service;

fn labelled(id: &[u8; 16], label: &str) -> String {
    format!("{} ({label})", uuid::Uuid::from_bytes(*id))
}

/// `cluster verify`.
pub fn verify(service: &Service, name: &str) -> Result<ClusterVerification, KmsError> {
    let live = service.clusters.get(name)?;
    let first = compare(service, name)?;
    let lagging = first.members.iter().any(|m| m.health == MemberHealth::Healthy && !m.missing.is_empty());
    if lagging && !take_out_lagging(&service.kms, &live)?.is_empty() {
        return compare(service, name);
    }
    Ok(first)
}

/// Reads every member and compares it with what the store knows.
fn compare(service: &Service, name: &str) -> Result<ClusterVerification, KmsError> {
    let live = service.clusters.get(name)?;
    let (known, labels, stored) = {
        let registry = service.kms.registry()?;
        let labels = super::sync::expected_labels(&registry, name);
        (Known::of(&registry, name), labels, registry.cluster(name)?.members.clone())
    };
    let primary = live.cluster.primary().index();
    let mut consistent = true;
    let mut members: Vec<MemberDifferences> = live
        .cluster
        .members()
        .iter()
        .map(|member| {
            let role = if member.index() == primary { MemberRole::Primary } else { MemberRole::Mirror };
            let mut differences = MemberDifferences {
                index: member.index(),
                token_label: member.label().to_owned(),
                role,
                health: MemberHealth::Unreachable,
                missing: Vec::new(),
                unexpected: Vec::new(),
                orphans: Vec::new(),
            };
            if let Some(held) = holdings(member) {
                let sorted = sort_holdings(&known, &held);
                differences.health =
                    if member.is_healthy() { MemberHealth::Healthy } else { MemberHealth::OutOfService };
                differences.missing = sorted
                    .missing
                    .iter()
                    .map(|id| labels.get(id).cloned().unwrap_or_else(|| uuid::Uuid::from_bytes(*id).to_string()))
                    .collect();
                differences.missing.sort();
                differences.unexpected =
                    sorted.unexpected.iter().map(|id| uuid::Uuid::from_bytes(*id).to_string()).collect();
                differences.orphans = sorted.orphans.iter().map(|(id, label)| labelled(id, label)).collect();
            }
            // A member out of service is a difference even when it holds
            // everything: the daemon does not use it (yet).
            consistent &= differences.health == MemberHealth::Healthy
                && differences.missing.is_empty()
                && differences.unexpected.is_empty();
            differences
        })
        .collect();
    // Members the store knows that were left out at start (token gone).
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
            orphans: Vec::new(),
        });
    }
    members.sort_by_key(|m| m.index);
    Ok(ClusterVerification {
        cluster_name: name.to_owned(),
        expected_versions: known.expected.len() as u64,
        consistent,
        members,
    })
}
