//! Open data connections.

use p11kms_proto::admin::{ConnectionInfo, op};

use super::{Access, Call, Handle};
use crate::kms::KmsError;

impl Handle for op::ListConnections {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, (): ()) -> Result<Vec<ConnectionInfo>, KmsError> {
        Ok(call.service.connections.list())
    }
}
