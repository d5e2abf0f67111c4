//! Applications: who may log in through PKCS#11, with which PIN.

use p11kms_proto::admin::{AppCreated, AppInfo, CreateAppRequest, ResourceName, UpdateAppPolicyRequest, op};

use super::{Access, Call, Handle};
use crate::kms::{KmsError, apps};

impl Handle for op::CreateApp {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: CreateAppRequest) -> Result<AppCreated, KmsError> {
        apps::create(call.kms(), &request.name, &request.instance, request.policy.as_deref())
    }
}

impl Handle for op::ListApps {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, (): ()) -> Result<Vec<AppInfo>, KmsError> {
        Ok(call.kms().registry()?.apps().map(apps::info).collect())
    }
}

impl Handle for op::DescribeApp {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: ResourceName) -> Result<AppInfo, KmsError> {
        Ok(apps::info(call.kms().registry()?.app(&request.name)?))
    }
}

impl Handle for op::UpdateAppPolicy {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: UpdateAppPolicyRequest) -> Result<AppInfo, KmsError> {
        apps::update_policy(call.kms(), &request.name, &request.policy)
    }
}

impl Handle for op::DeleteApp {
    const ACCESS: Access = Access::Change;

    /// The app's logins on the data plane end with it.
    fn handle(call: &Call<'_>, request: ResourceName) -> Result<(), KmsError> {
        apps::delete(call.kms(), &request.name)?;
        call.service.clients.forget_app(&request.name);
        Ok(())
    }
}
