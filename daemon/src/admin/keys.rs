//! Keys: creating, describing and listing them, and their versions.

use p11kms_proto::admin::{
    CreateKeyRequest, KeyDescription, KeyList, KeyRef, KeyVersionInfo, KeyVersionRef, ListKeysRequest,
    UpdateRotationPolicyRequest, op,
};

use super::{Access, Call, Handle};
use crate::kms::keys::{self, NewKey, rotation};
use crate::kms::{KmsError, metadata};

impl Handle for op::CreateKey {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, create: CreateKeyRequest) -> Result<KeyDescription, KmsError> {
        let kms = call.kms();
        let key = keys::create(
            kms,
            NewKey {
                instance: create.instance,
                spec: create.key_spec,
                usage: create.key_usage,
                description: create.description,
                alias: create.alias,
                creator: format!("admin:{}", call.caller.uid),
                origin: create.origin,
                tags: create.tags,
                automatic_rotation: create.enable_automatic_rotation,
                rotation_interval: create.rotation_interval,
                deletion_protection: create.deletion_protection,
                allowed_mechanisms: Vec::new(),
            },
        )?;
        let kind = keys::instance_kind(kms, &key)?;
        Ok(metadata::key_description(&key, kind, kms.region()))
    }
}

impl Handle for op::DescribeKey {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: KeyRef) -> Result<KeyDescription, KmsError> {
        let kms = call.kms();
        let registry = kms.registry()?;
        let key = registry.key(&request.key)?;
        let kind = registry.instance(&key.record.instance)?.kind;
        Ok(metadata::key_description(key, kind, kms.region()))
    }
}

impl Handle for op::ListKeys {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, filter: ListKeysRequest) -> Result<KeyList, KmsError> {
        let kms = call.kms();
        let registry = kms.registry()?;
        if let Some(instance) = &filter.instance {
            registry.instance(instance)?;
        }
        let only = match &filter.alias {
            Some(alias) => Some(registry.key(alias)?.record.key_id.clone()),
            None => None,
        };
        let keys: Vec<_> = registry
            .keys()
            .filter(|k| filter.instance.as_deref().is_none_or(|i| k.record.instance == i))
            .filter(|k| filter.key_state.is_none_or(|s| k.record.state == s))
            .filter(|k| filter.key_spec.is_none_or(|s| k.record.key_spec == s))
            .filter(|k| only.as_deref().is_none_or(|id| k.record.key_id == id))
            .filter_map(|k| {
                let kind = registry.instance(&k.record.instance).ok()?.kind;
                Some(metadata::key_description(k, kind, kms.region()))
            })
            .collect();
        let total_count = keys.len() as u64;
        Ok(KeyList { keys, total_count })
    }
}

impl Handle for op::ListKeyVersions {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: KeyRef) -> Result<Vec<KeyVersionInfo>, KmsError> {
        let registry = call.kms().registry()?;
        Ok(registry.key(&request.key)?.versions.iter().map(metadata::version_info).collect())
    }
}

impl Handle for op::DescribeKeyVersion {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: KeyVersionRef) -> Result<KeyVersionInfo, KmsError> {
        let registry = call.kms().registry()?;
        let entry = registry.key(&request.key)?;
        let version = entry
            .version(&request.key_version_id)
            .ok_or_else(|| KmsError::NotFound { what: "key version", name: request.key_version_id.clone() })?;
        Ok(metadata::version_info(version))
    }
}

impl Handle for op::CreateKeyVersion {
    const ACCESS: Access = Access::Change;

    /// A manual rotation.
    fn handle(call: &Call<'_>, request: KeyRef) -> Result<KeyVersionInfo, KmsError> {
        rotation::rotate(call.kms(), &request.key).map(|v| metadata::version_info(&v))
    }
}

impl Handle for op::UpdateRotationPolicy {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: UpdateRotationPolicyRequest) -> Result<(), KmsError> {
        rotation::update_policy(call.kms(), &request)
    }
}
