//! Instances: where keys live, each a PKCS#11 slot.

use p11kms_proto::admin::{
    AttachClusterRequest, CreateInstanceRequest, DeleteInstanceRequest, InstanceInfo, ResourceName, op,
};

use super::{Access, Call, Handle};
use crate::clusters::attach;
use crate::kms::{KmsError, instances};

impl Handle for op::ListInstances {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, (): ()) -> Result<Vec<InstanceInfo>, KmsError> {
        let registry = call.kms().registry()?;
        Ok(registry.instances().map(|i| instances::info(&call.kms().config, &registry, i)).collect())
    }
}

impl Handle for op::DescribeInstance {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: ResourceName) -> Result<InstanceInfo, KmsError> {
        let registry = call.kms().registry()?;
        Ok(instances::info(&call.kms().config, &registry, registry.instance(&request.name)?))
    }
}

impl Handle for op::CreateInstance {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: CreateInstanceRequest) -> Result<InstanceInfo, KmsError> {
        instances::create(call.kms(), &request.name, request.kind, &request.cluster)
    }
}

impl Handle for op::AttachCluster {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: AttachClusterRequest) -> Result<InstanceInfo, KmsError> {
        attach::attach(call.service, &request.instance, &request.cluster, request.force)
    }
}

impl Handle for op::DeleteInstance {
    const ACCESS: Access = Access::Change;

    /// The logins of the instance's apps on the data plane end with them,
    /// as with `app delete`; its slot leaves the slot list with the
    /// registry's instance.
    fn handle(call: &Call<'_>, request: DeleteInstanceRequest) -> Result<InstanceInfo, KmsError> {
        let deleted = instances::delete::delete(call.kms(), &request.name, request.force)?;
        for app in &deleted.apps {
            call.service.clients.forget_app(app);
        }
        Ok(deleted.info)
    }
}
