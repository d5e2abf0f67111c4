//! Changing a cluster's members: `cluster add-member` (a new managed
//! SoftHSM token in the cluster's library instance, given the cluster key
//! and a copy of every version before it serves) and `cluster
//! remove-member` (a member leaves the store and the live cluster; its
//! token and PIN files are left for the operator).
//!
//! The live cluster is replaced as a whole ([`Service::replace_cluster`]):
//! requests already running finish on the members they started with.

use std::sync::Arc;

use p11kms_proto::admin::{ClusterStatus, MemberRole};

use super::KmsError;
use super::clusters::{expected_versions, member_label, status};
use crate::hsm::{Cluster, HsmError, Member, softhsm};
use crate::secrets::TokenPins;
use crate::service::{LiveCluster, Service};
use crate::store::MemberRecord;

/// A cluster like `live` with other members; the primary stays primary.
fn rebuilt(live: &LiveCluster, members: Vec<Arc<Member>>, service: &Service) -> Result<Arc<LiveCluster>, KmsError> {
    let primary = live.cluster.primary().index();
    let position = members.iter().position(|m| m.index() == primary).unwrap_or(0);
    let cluster = Cluster::new(live.cluster.name(), members, position)?;
    cluster.set_spread(service.config.hsm.spread_operations);
    Ok(Arc::new(LiveCluster { cluster, mechanisms: live.mechanisms.clone() }))
}

fn current_status(service: &Service, name: &str) -> Result<ClusterStatus, KmsError> {
    let live = service.cluster(name)?;
    let registry = service.registry()?;
    let record = registry.cluster(name)?.clone();
    let expected = expected_versions(&registry, name);
    drop(registry);
    Ok(status(&live, &record, &expected, service.clock.now()))
}

/// `cluster add-member NAME`.
pub fn add_member(service: &Service, name: &str) -> Result<ClusterStatus, KmsError> {
    let writes = service.writer()?;
    let live = service.cluster(name)?;
    let mut record = service.registry()?.cluster(name)?.clone();
    if !record.members.iter().all(|m| m.managed) {
        return Err(KmsError::InvalidParameter(format!(
            "cluster '{name}' has members the daemon does not manage: add tokens of other modules in the configuration"
        )));
    }
    let primary = live.cluster.primary().clone();
    let index = record.members.iter().map(|m| m.index + 1).max().unwrap_or(0);
    let label = member_label(name, index);
    let (so_pin, user_pin) =
        TokenPins::new(&service.paths.secrets_dir(), name, index).generate().map_err(HsmError::from)?;
    let serial = softhsm::init_token(primary.module(), &label, &so_pin, &user_pin)?;
    let member = Arc::new(Member::connect(index, &label, Some(&serial), primary.module().clone(), user_pin)?);
    Cluster::share_cluster_key(&primary, &member)?;
    // Every version, from members that hold it, before the member serves.
    let expected = super::cluster_sync::expected_names(service, name)?;
    for version in &expected {
        let copied = live.cluster.candidates().into_iter().any(|source| {
            Cluster::replicate(source, &member, &version.0, version.1.as_ref())
                .map_err(|error| tracing::warn!(member = source.label(), %error, "copy to the new member failed"))
                .is_ok()
        });
        if !copied {
            return Err(KmsError::Internal(format!("no member could copy {} to the new member", version.0.label)));
        }
    }
    let added = MemberRecord {
        index,
        module: service.config.hsm.softhsm_module.display().to_string(),
        managed: true,
        token_label: label.clone(),
        serial,
        role: MemberRole::Mirror,
        in_sync: true,
    };
    service.store.write(service.clock.now(), |tx| tx.update_member(name, &added))?;
    record.members.push(added);
    service.registry_mut()?.put_cluster(record);
    let mut members = live.cluster.members().to_vec();
    members.push(member);
    service.replace_cluster(name, rebuilt(&live, members, service)?)?;
    tracing::info!(cluster = name, member = %label, versions = expected.len(), "member added, in sync");
    drop(writes);
    current_status(service, name)
}

/// `cluster remove-member NAME --index N`.
pub fn remove_member(service: &Service, name: &str, index: u32) -> Result<ClusterStatus, KmsError> {
    let writes = service.writer()?;
    let live = service.cluster(name)?;
    let mut record = service.registry()?.cluster(name)?.clone();
    if !record.members.iter().any(|m| m.index == index) {
        return Err(KmsError::NotFound { what: "member", name: format!("{name}/{index}") });
    }
    if live.cluster.primary().index() == index {
        return Err(KmsError::InvalidParameter(format!(
            "member {index} is the primary of '{name}': only a mirror can be removed"
        )));
    }
    let remaining: Vec<Arc<Member>> = live.cluster.members().iter().filter(|m| m.index() != index).cloned().collect();
    if remaining.is_empty() {
        return Err(KmsError::InvalidParameter(format!("'{name}' would have no member left")));
    }
    service.store.write(service.clock.now(), |tx| tx.delete_member(name, index))?;
    record.members.retain(|m| m.index != index);
    service.registry_mut()?.put_cluster(record);
    service.replace_cluster(name, rebuilt(&live, remaining, service)?)?;
    tracing::info!(cluster = name, member = index, "member removed");
    drop(writes);
    current_status(service, name)
}
