//! HSM clusters: listing, status, creation, members, verification, resync.

use p11kms_proto::admin::{
    ClusterStatus, ClusterSummary, ClusterVerification, CreateClusterRequest, RemoveClusterMemberRequest, ResourceName,
    ResyncReport, op,
};

use super::{Access, Call, Handle};
use crate::clusters::{members, open, sync};
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

    /// Reads every member, without holding the registry.
    fn handle(call: &Call<'_>, request: ResourceName) -> Result<ClusterStatus, KmsError> {
        let kms = call.kms();
        let live = call.service.clusters.get(&request.name)?;
        let (record, expected) = {
            let registry = kms.registry()?;
            (registry.cluster(&request.name)?.clone(), open::expected_versions(&registry, &request.name))
        };
        Ok(open::status(&live, &record, &expected, kms.clock.now()))
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
        sync::verify(call.service, &request.name)
    }
}

impl Handle for op::ResyncCluster {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: ResourceName) -> Result<ResyncReport, KmsError> {
        sync::heal(call.service, &request.name)
    }
}
