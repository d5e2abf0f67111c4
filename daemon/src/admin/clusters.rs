//! HSM clusters: listing, status, creation, members, verification, resync.

use p11kms_proto::admin::{
    ClusterStatus, ClusterSummary, ClusterVerification, CreateClusterRequest, MemberHealth, RemoveClusterMemberRequest,
    ResourceName, ResyncReport, op,
};

use super::{Access, Call, Handle};
use crate::clusters::{lagging, members, open, sync, verify};
use crate::kms::KmsError;

impl Handle for op::ListClusters {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, (): ()) -> Result<Vec<ClusterSummary>, KmsError> {
        let registry = call.kms().registry()?;
        Ok(registry
            .clusters()
            .map(|c| ClusterSummary {
                cluster_name: c.name.clone(),
                member_count: c.members.len() as u32,
                instances: registry
                    .instances()
                    .filter(|i| i.cluster.as_deref() == Some(c.name.as_str()))
                    .map(|i| i.name.clone())
                    .collect(),
                creation_date: c.created_at,
            })
            .collect())
    }
}

impl Handle for op::GetClusterStatus {
    const ACCESS: Access = Access::Read;

    /// Reads every member, without holding the registry. A member in
    /// service found lacking what another holds is taken out of service
    /// (`clusters::lagging`) and shown so.
    fn handle(call: &Call<'_>, request: ResourceName) -> Result<ClusterStatus, KmsError> {
        let kms = call.kms();
        let live = call.service.clusters.get(&request.name)?;
        let read = || -> Result<ClusterStatus, KmsError> {
            let (record, known) = {
                let registry = kms.registry()?;
                (registry.cluster(&request.name)?.clone(), open::Known::of(&registry, &request.name))
            };
            Ok(open::status(&live, &record, &known, kms.clock.now()))
        };
        let status = read()?;
        let lagging = status.members.iter().any(|m| m.health == MemberHealth::Healthy && m.missing_versions > 0);
        if lagging && !lagging::take_out_lagging(kms, &live)?.is_empty() {
            return read();
        }
        Ok(status)
    }
}

impl Handle for op::CreateCluster {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: CreateClusterRequest) -> Result<ClusterStatus, KmsError> {
        members::create(call.service, &request.name, request.members)
    }
}

impl Handle for op::AddClusterMember {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: ResourceName) -> Result<ClusterStatus, KmsError> {
        members::add_member(call.service, &request.name)
    }
}

impl Handle for op::RemoveClusterMember {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: RemoveClusterMemberRequest) -> Result<ClusterStatus, KmsError> {
        members::remove_member(call.service, &request.name, request.index)
    }
}

impl Handle for op::VerifyCluster {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: ResourceName) -> Result<ClusterVerification, KmsError> {
        verify::verify(call.service, &request.name)
    }
}

impl Handle for op::ResyncCluster {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: ResourceName) -> Result<ResyncReport, KmsError> {
        sync::heal(call.service, &request.name)
    }
}
