//! Mirror images of clusters, and restoring a cluster from one.

use p11kms_proto::admin::{
    ClusterStatus, ImageInfo, ListClusterImagesRequest, ResourceName, RestoreClusterRequest, op,
};

use super::{Access, Call, Handle};
use crate::clusters::{images, restore};
use crate::kms::KmsError;

impl Handle for op::CreateClusterImage {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: ResourceName) -> Result<ImageInfo, KmsError> {
        images::create(call.service, &request.name)
    }
}

impl Handle for op::ListClusterImages {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: ListClusterImagesRequest) -> Result<Vec<ImageInfo>, KmsError> {
        images::list(call.service, request.name.as_deref())
    }
}

impl Handle for op::RestoreCluster {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: RestoreClusterRequest) -> Result<ClusterStatus, KmsError> {
        restore::restore(call.service, &request.image_id, &request.name, request.members)
    }
}
