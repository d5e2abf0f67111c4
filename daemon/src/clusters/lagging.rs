//! Members that lack key versions another member holds are taken out of
//! service until healing has made them whole again.
//!
//! A member "lags" when it answers but lacks a version the store places in
//! the cluster that another member which answers holds: it could be
//! copied, so the member is incomplete (its objects were destroyed behind
//! the daemon's back, say). It serves again once healing copied what it
//! lacks (`sync::heal`). A version no member holds makes nobody lag: there
//! is nothing to be whole with, and `cluster verify` reports it as missing
//! everywhere.
//!
//! Whoever sees a lag (`cluster status`, `cluster verify`, healing) takes
//! the member out under the writer lock, with every member read again, so
//! that a key being destroyed meanwhile (objects first, then its rows, all
//! under that lock) can never count as a lack.

use std::collections::HashSet;
use std::sync::{Arc, MutexGuard};

use super::live::LiveCluster;
use super::open::expected_versions;
use crate::hsm::Member;
use crate::kms::{Kms, KmsError};

/// Version ids on a member.
pub type Holding = HashSet<[u8; 16]>;

/// One member's holdings, or `None` when it did not answer.
pub fn holdings(member: &Member) -> Option<Holding> {
    member.version_ids().ok().map(|ids| ids.into_iter().collect())
}

/// The versions of `expected` that some member of `held` holds.
pub fn held_somewhere(expected: &Holding, held: &[(Arc<Member>, Option<Holding>)]) -> Holding {
    expected
        .iter()
        .filter(|id| held.iter().any(|(_, h)| h.as_ref().is_some_and(|h| h.contains(*id))))
        .copied()
        .collect()
}

/// The versions `member` lacks that another member which answered holds:
/// what healing can copy to it.
pub fn curable_lacks(
    member: &Arc<Member>,
    holding: &Holding,
    expected: &Holding,
    held: &[(Arc<Member>, Option<Holding>)],
) -> Holding {
    expected
        .iter()
        .filter(|id| !holding.contains(*id))
        .filter(|id| {
            held.iter().any(|(other, h)| !Arc::ptr_eq(other, member) && h.as_ref().is_some_and(|h| h.contains(*id)))
        })
        .copied()
        .collect()
}

/// Takes every member in service that lags out of service (see the module
/// documentation); returns their labels. Reads every member.
pub fn take_out_lagging(kms: &Kms, live: &LiveCluster) -> Result<Vec<String>, KmsError> {
    let writes = kms.writer()?;
    take_out_lagging_locked(kms, live, &writes)
}

/// [`take_out_lagging`] for a caller that holds the writer lock.
pub fn take_out_lagging_locked(
    kms: &Kms,
    live: &LiveCluster,
    _writes: &MutexGuard<'_, ()>,
) -> Result<Vec<String>, KmsError> {
    let expected = expected_versions(&*kms.registry()?, live.cluster.name());
    let held: Vec<(Arc<Member>, Option<Holding>)> =
        live.cluster.members().iter().map(|m| (m.clone(), holdings(m))).collect();
    let mut taken = Vec::new();
    for (member, holding) in &held {
        let Some(holding) = holding else { continue };
        if !member.is_healthy() {
            continue;
        }
        let lacks = curable_lacks(member, holding, &expected, &held);
        if !lacks.is_empty() {
            member.mark_unhealthy();
            tracing::warn!(
                cluster = live.cluster.name(),
                member = member.label(),
                lacks = lacks.len(),
                "member lacks key versions other members hold: out of service until it is whole"
            );
            taken.push(member.label().to_owned());
        }
    }
    Ok(taken)
}
