//! Key requests whose answer is built from the registry.

use p11kms_proto::admin::{AdminReply, CreateKey, KeyList, ListKeys};

use super::Caller;
use crate::kms::keys::{self, NewKey, rotation};
use crate::kms::{KmsError, metadata};
use crate::service::Service;

/// `key create`.
pub fn create(service: &Service, caller: Caller, create: CreateKey) -> Result<AdminReply, KmsError> {
    let key = keys::create(
        service,
        NewKey {
            instance: create.instance,
            spec: create.key_spec,
            usage: create.key_usage,
            description: create.description,
            alias: create.alias,
            creator: format!("admin:{}", caller.uid),
            origin: create.origin,
            tags: create.tags,
            automatic_rotation: create.enable_automatic_rotation,
            rotation_interval: create.rotation_interval,
            deletion_protection: create.deletion_protection,
        },
    )?;
    let kind = keys::instance_kind(service, &key)?;
    Ok(AdminReply::Key(metadata::key_description(&key, kind, &service.config.region)))
}

/// `key describe`.
pub fn describe(service: &Service, key: &str) -> Result<AdminReply, KmsError> {
    let registry = service.registry()?;
    let key = registry.key(key)?;
    let kind = registry.instance(&key.record.instance)?.kind;
    Ok(AdminReply::Key(metadata::key_description(key, kind, &service.config.region)))
}

/// `key list` with its filters.
pub fn list(service: &Service, filter: &ListKeys) -> Result<AdminReply, KmsError> {
    let registry = service.registry()?;
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
            Some(metadata::key_description(k, kind, &service.config.region))
        })
        .collect();
    let total_count = keys.len() as u64;
    Ok(AdminReply::Keys(KeyList { keys, total_count }))
}

/// `key list-versions`.
pub fn list_versions(service: &Service, key: &str) -> Result<AdminReply, KmsError> {
    let registry = service.registry()?;
    Ok(AdminReply::KeyVersions(registry.key(key)?.versions.iter().map(metadata::version_info).collect()))
}

/// `key describe-version`.
pub fn describe_version(service: &Service, key: &str, version: &str) -> Result<AdminReply, KmsError> {
    let registry = service.registry()?;
    let entry = registry.key(key)?;
    let version =
        entry.version(version).ok_or_else(|| KmsError::NotFound { what: "key version", name: version.into() })?;
    Ok(AdminReply::KeyVersion(metadata::version_info(version)))
}

/// `key create-version`: a manual rotation.
pub fn create_version(service: &Service, key: &str) -> Result<AdminReply, KmsError> {
    rotation::rotate(service, key).map(|v| AdminReply::KeyVersion(metadata::version_info(&v)))
}
