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

use super::open::{Known, member_label, status};
use crate::clusters::LiveCluster;
use crate::hsm::softhsm::{self, SoftHsmDir};
use crate::hsm::{Cluster, HsmError, Member};
use crate::kms::KmsError;
use crate::private_files::TokenPins;
use crate::service::Service;
use crate::store::{ClusterRecord, MemberRecord};

/// A cluster like `live` with other members; the primary stays primary.
fn rebuilt(live: &LiveCluster, members: Vec<Arc<Member>>, service: &Service) -> Result<Arc<LiveCluster>, KmsError> {
    let primary = live.cluster.primary().index();
    let position = members.iter().position(|m| m.index() == primary).unwrap_or(0);
    let cluster = Cluster::new(live.cluster.name(), members, position)?;
    cluster.set_spread(service.config.hsm.spread_operations);
    Ok(Arc::new(LiveCluster { cluster, mechanisms: live.mechanisms.clone() }))
}

/// The cluster's status, read now.
pub fn current_status(service: &Service, name: &str) -> Result<ClusterStatus, KmsError> {
    let live = service.clusters.get(name)?;
    let registry = service.kms.registry()?;
    let record = registry.cluster(name)?.clone();
    let known = Known::of(&registry, name);
    drop(registry);
    Ok(status(&live, &record, &known, service.kms.clock.now()))
}

/// A new cluster of `members` managed SoftHSM tokens with its cluster key,
/// not yet recorded. The tokens are initialized in the library instance of
/// a loaded managed cluster (`near` if it is loaded, else any): one process
/// cannot load another SoftHSM configuration once it runs threads
/// (docs/cluster.md). The record names that instance as `library`. If it
/// fails half-way, the tokens and PIN files it made are removed again.
pub fn new_managed_cluster(
    service: &Service,
    name: &str,
    members: u32,
    near: &str,
) -> Result<(Cluster, ClusterRecord), KmsError> {
    crate::kms::names::check_instance_name(name).map_err(KmsError::InvalidParameter)?;
    if !(2..=8).contains(&members) {
        return Err(KmsError::InvalidParameter("a new cluster has 2 to 8 members".into()));
    }
    if service.kms.registry()?.cluster(name).is_ok() || service.clusters.contains(name) {
        return Err(KmsError::Exists { what: "cluster", name: name.to_owned() });
    }
    let (library, module) = {
        let registry = service.kms.registry()?;
        let mut candidates: Vec<String> = vec![near.to_owned()];
        candidates.extend(registry.clusters().map(|c| c.name.clone()));
        let found = candidates.iter().find_map(|c| {
            let record = registry.cluster(c).ok()?;
            let live = service.clusters.get(c).ok()?;
            let module = live.cluster.members().first()?.module().clone();
            record.members.iter().all(|m| m.managed).then(|| (record.library_dir().to_owned(), module))
        });
        found.ok_or_else(|| {
            KmsError::InvalidParameter("no managed SoftHSM cluster is loaded to host the new tokens".into())
        })?
    };
    let mut record = ClusterRecord {
        name: name.to_owned(),
        created_at: service.kms.clock.now(),
        members: Vec::new(),
        library: Some(library),
    };
    let mut live_members = Vec::new();
    let made = (|| {
        for index in 0..members {
            let label = member_label(name, index);
            let (so_pin, user_pin) =
                TokenPins::new(&service.paths.secrets_dir(), name, index).generate().map_err(HsmError::from)?;
            let serial = softhsm::init_token(&module, &label, &so_pin, &user_pin)?;
            record.members.push(MemberRecord {
                index,
                module: service.config.hsm.softhsm_module.display().to_string(),
                managed: true,
                token_label: label.clone(),
                serial: serial.clone(),
                role: if index == 0 { MemberRole::Primary } else { MemberRole::Mirror },
                in_sync: true,
            });
            live_members.push(Arc::new(Member::connect(index, &label, Some(&serial), module.clone(), user_pin)?));
        }
        let cluster = Cluster::new(name, std::mem::take(&mut live_members), 0)?;
        cluster.create_cluster_key()?;
        cluster.set_spread(service.config.hsm.spread_operations);
        Ok::<_, KmsError>(cluster)
    })();
    match made {
        Ok(cluster) => Ok((cluster, record)),
        Err(error) => {
            drop(live_members);
            discard_managed_cluster(service, None, &record, members);
            Err(error)
        }
    }
}

/// Removes what [`new_managed_cluster`] made for a cluster that is not
/// recorded (a restore that failed): closes the members' sessions, removes
/// their token files from the library instance's token directory and the
/// PIN files of members `0..members`. What cannot be removed is logged.
pub fn discard_managed_cluster(service: &Service, cluster: Option<Cluster>, record: &ClusterRecord, members: u32) {
    // The members' sessions close with them; SoftHSM then holds no handle
    // on the token files.
    drop(cluster);
    let tokens = SoftHsmDir::new(&service.paths.cluster_dir(record.library_dir())).tokens();
    for member in &record.members {
        match softhsm::remove_token(&tokens, &member.serial) {
            Ok(true) => {}
            Ok(false) => tracing::warn!(token = %member.token_label, "token files of a failed change not found"),
            Err(error) => {
                tracing::error!(token = %member.token_label, %error, "cannot remove the token files of a failed change");
            }
        }
    }
    for index in 0..members {
        if let Err(error) = TokenPins::new(&service.paths.secrets_dir(), &record.name, index).remove() {
            tracing::error!(cluster = %record.name, index, %error, "cannot remove the PIN files of a failed change");
        }
    }
    tracing::info!(cluster = %record.name, tokens = record.members.len(), "what a failed change made is removed");
}

/// Records a new cluster and starts serving it, with the mechanisms of the
/// cluster `like` (same library).
pub fn commit_cluster(service: &Service, cluster: Cluster, record: &ClusterRecord, like: &str) -> Result<(), KmsError> {
    service.kms.store.write(service.kms.clock.now(), |tx| tx.insert_cluster(record))?;
    let mechanisms = match service.clusters.get(like) {
        Ok(live) => live.mechanisms.clone(),
        Err(_) => service
            .clusters
            .names()
            .first()
            .and_then(|c| service.clusters.get(c).ok())
            .map(|l| l.mechanisms.clone())
            .unwrap_or_default(),
    };
    service.clusters.replace(&record.name, Arc::new(LiveCluster { cluster, mechanisms }))?;
    service.kms.registry_mut()?.put_cluster(record.clone());
    Ok(())
}

/// `cluster create NAME --members N`.
pub fn create(service: &Service, name: &str, members: u32) -> Result<ClusterStatus, KmsError> {
    let writes = service.kms.writer()?;
    let bootstrap = service.config.bootstrap.hardware_instance.clone();
    let (cluster, record) = new_managed_cluster(service, name, members, &bootstrap)?;
    commit_cluster(service, cluster, &record, &bootstrap)?;
    drop(writes);
    tracing::info!(cluster = name, members, "cluster created");
    current_status(service, name)
}

/// `cluster add-member NAME`.
pub fn add_member(service: &Service, name: &str) -> Result<ClusterStatus, KmsError> {
    let writes = service.kms.writer()?;
    let live = service.clusters.get(name)?;
    let mut record = service.kms.registry()?.cluster(name)?.clone();
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
    let expected = super::sync::expected_names(&service.kms, name)?;
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
    service.kms.store.write(service.kms.clock.now(), |tx| tx.update_member(name, &added))?;
    record.members.push(added);
    service.kms.registry_mut()?.put_cluster(record);
    let mut members = live.cluster.members().to_vec();
    members.push(member);
    service.clusters.replace(name, rebuilt(&live, members, service)?)?;
    tracing::info!(cluster = name, member = %label, versions = expected.len(), "member added, in sync");
    drop(writes);
    current_status(service, name)
}

/// `cluster remove-member NAME --index N`.
pub fn remove_member(service: &Service, name: &str, index: u32) -> Result<ClusterStatus, KmsError> {
    let writes = service.kms.writer()?;
    let live = service.clusters.get(name)?;
    let mut record = service.kms.registry()?.cluster(name)?.clone();
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
    service.kms.store.write(service.kms.clock.now(), |tx| tx.delete_member(name, index))?;
    record.members.retain(|m| m.index != index);
    service.kms.registry_mut()?.put_cluster(record);
    service.clusters.replace(name, rebuilt(&live, remaining, service)?)?;
    tracing::info!(cluster = name, member = index, "member removed");
    drop(writes);
    current_status(service, name)
}
