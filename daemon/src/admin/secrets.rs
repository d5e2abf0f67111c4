//! Secrets: creating, describing, listing, updating, deleting and
//! restoring them (their values and versions are in `secret_values`).

use p11kms_proto::admin::{
    CreateSecretRequest, DeleteSecretRequest, DescribeSecretRequest, ListSecretsRequest, SecretCreated, SecretDeleted,
    SecretDescription, SecretList, SecretNamed, SecretRef, UpdateSecretRequest, op,
};
use p11kms_proto::interval::format_interval;

use super::{Access, Call, Handle};
use crate::kms::KmsError;
use crate::kms::secrets::{self, create, lifecycle, read, rotation};

impl Handle for op::CreateSecret {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: CreateSecretRequest) -> Result<SecretCreated, KmsError> {
        let kms = call.kms();
        let entry = create::create(kms, &request, &format!("admin:{}", call.caller.uid))?;
        let record = &entry.record;
        let version_id = entry.current()?.version_id.clone();
        Ok(SecretCreated {
            arn: secrets::arn(kms.region(), &record.instance, &record.name),
            version_id,
            secret_name: record.name.clone(),
            secret_type: record.secret_type,
            automatic_rotation: rotation::status(&entry),
            rotation_interval: record.rotation_interval.map(format_interval),
            next_rotation_date: rotation::next_rotation(&entry),
            instance: record.instance.clone(),
        })
    }
}

impl Handle for op::DescribeSecret {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: DescribeSecretRequest) -> Result<SecretDescription, KmsError> {
        read::describe(call.kms(), &request)
    }
}

impl Handle for op::ListSecrets {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: ListSecretsRequest) -> Result<SecretList, KmsError> {
        read::list(call.kms(), &request)
    }
}

impl Handle for op::UpdateSecret {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: UpdateSecretRequest) -> Result<SecretNamed, KmsError> {
        lifecycle::update(call.kms(), &request)
    }
}

impl Handle for op::DeleteSecret {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: DeleteSecretRequest) -> Result<SecretDeleted, KmsError> {
        lifecycle::delete(call.kms(), &request)
    }
}

impl Handle for op::RestoreSecret {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: SecretRef) -> Result<SecretNamed, KmsError> {
        lifecycle::restore(call.kms(), &request.secret_name)
    }
}
