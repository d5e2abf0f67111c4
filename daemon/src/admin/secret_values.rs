//! A secret's values and versions: putting and reading values, listing
//! versions, moving stages, rotation.

use p11kms_proto::admin::{
    GetSecretValueRequest, ListSecretVersionIdsRequest, PutSecretValueRequest, RotateSecretRequest, SecretNamed,
    SecretRotated, SecretValue, SecretVersionList, SecretVersionPut, UpdateSecretRotationPolicyRequest,
    UpdateSecretVersionStageRequest, op,
};

use super::{Access, Call, Handle};
use crate::kms::KmsError;
use crate::kms::secrets::{self, read, rotation, stages, versions};

impl Handle for op::PutSecretValue {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: PutSecretValueRequest) -> Result<SecretVersionPut, KmsError> {
        versions::put_value(call.kms(), &request)
    }
}

impl Handle for op::GetSecretValue {
    const ACCESS: Access = Access::Use;

    fn handle(call: &Call<'_>, request: GetSecretValueRequest) -> Result<SecretValue, KmsError> {
        read::get_value(call.kms(), &request)
    }
}

impl Handle for op::ListSecretVersionIds {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: ListSecretVersionIdsRequest) -> Result<SecretVersionList, KmsError> {
        read::list_version_ids(call.kms(), &request)
    }
}

impl Handle for op::UpdateSecretVersionStage {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: UpdateSecretVersionStageRequest) -> Result<SecretNamed, KmsError> {
        stages::update_version_stage(call.kms(), &request)
    }
}

impl Handle for op::UpdateSecretRotationPolicy {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: UpdateSecretRotationPolicyRequest) -> Result<SecretNamed, KmsError> {
        rotation::update_policy(call.kms(), &request)?;
        Ok(SecretNamed { secret_name: request.secret_name })
    }
}

impl Handle for op::RotateSecret {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: RotateSecretRequest) -> Result<SecretRotated, KmsError> {
        let kms = call.kms();
        let version_id = rotation::rotate(kms, &request.secret_name, request.version_id.as_deref())?;
        let instance = kms.registry()?.secret(&request.secret_name)?.record.instance.clone();
        Ok(SecretRotated {
            arn: secrets::arn(kms.region(), &instance, &request.secret_name),
            secret_name: request.secret_name,
            version_id,
        })
    }
}
