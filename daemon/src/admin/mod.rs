//! The admin plane's back end: one KMS API operation per request, run on
//! the blocking pool (it may wait for HSMs and the store). Errors leave
//! here as the spec's codes.

use p11kms_proto::admin::{AdminReply, AdminRequest, AdminResult, KeyList};

use crate::kms::keys::{self, NewKey};
use crate::kms::{KmsError, apps, clusters, instances, metadata};
use crate::service::Service;

/// Who sent an admin request.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    /// The peer's uid, from the kernel.
    pub uid: u32,
}

/// Answers one admin request.
pub fn handle(service: &Service, caller: Caller, request: AdminRequest) -> AdminResult {
    let operation = operation_name(&request);
    let result = dispatch(service, caller, request);
    match &result {
        Ok(_) => tracing::info!(uid = caller.uid, operation, "admin request"),
        Err(error) => tracing::warn!(uid = caller.uid, operation, %error, "admin request refused"),
    }
    result.map_err(|e| e.to_api())
}

fn operation_name(request: &AdminRequest) -> &'static str {
    match request {
        AdminRequest::InstanceList => "instance list",
        AdminRequest::InstanceDescribe { .. } => "instance describe",
        AdminRequest::AppCreate { .. } => "app create",
        AdminRequest::AppList => "app list",
        AdminRequest::AppDescribe { .. } => "app describe",
        AdminRequest::AppDelete { .. } => "app delete",
        AdminRequest::KeyCreate(_) => "key create",
        AdminRequest::KeyDescribe { .. } => "key describe",
        AdminRequest::KeyList(_) => "key list",
        AdminRequest::KeyListVersions { .. } => "key list-versions",
        AdminRequest::ClusterList => "cluster list",
        AdminRequest::ClusterStatus { .. } => "cluster status",
    }
}

fn dispatch(service: &Service, caller: Caller, request: AdminRequest) -> Result<AdminReply, KmsError> {
    let region = service.config.region.as_str();
    match request {
        AdminRequest::InstanceList => {
            let registry = service.registry()?;
            Ok(AdminReply::Instances(registry.instances().map(|i| instances::info(&registry, i)).collect()))
        }
        AdminRequest::InstanceDescribe { name } => {
            let registry = service.registry()?;
            Ok(AdminReply::Instance(instances::info(&registry, registry.instance(&name)?)))
        }
        AdminRequest::AppCreate { name, instance } => {
            apps::create(service, &name, &instance).map(AdminReply::AppCreated)
        }
        AdminRequest::AppList => Ok(AdminReply::Apps(service.registry()?.apps().map(apps::info).collect())),
        AdminRequest::AppDescribe { name } => Ok(AdminReply::App(apps::info(service.registry()?.app(&name)?))),
        AdminRequest::AppDelete { name } => apps::delete(service, &name).map(|()| AdminReply::Done),
        AdminRequest::KeyCreate(create) => {
            let key = keys::create(
                service,
                NewKey {
                    instance: create.instance,
                    spec: create.key_spec,
                    usage: create.key_usage,
                    description: create.description,
                    alias: create.alias,
                    creator: format!("admin:{}", caller.uid),
                },
            )?;
            let kind = keys::instance_kind(service, &key)?;
            Ok(AdminReply::Key(metadata::key_description(&key, kind, region)))
        }
        AdminRequest::KeyDescribe { key } => {
            let registry = service.registry()?;
            let key = registry.key(&key)?;
            let kind = registry.instance(&key.record.instance)?.kind;
            Ok(AdminReply::Key(metadata::key_description(key, kind, region)))
        }
        AdminRequest::KeyList(filter) => {
            let registry = service.registry()?;
            if let Some(instance) = &filter.instance {
                registry.instance(instance)?;
            }
            let keys: Vec<_> = registry
                .keys()
                .filter(|k| filter.instance.as_deref().is_none_or(|i| k.record.instance == i))
                .filter_map(|k| {
                    let kind = registry.instance(&k.record.instance).ok()?.kind;
                    Some(metadata::key_description(k, kind, region))
                })
                .collect();
            let total_count = keys.len() as u64;
            Ok(AdminReply::Keys(KeyList { keys, total_count }))
        }
        AdminRequest::KeyListVersions { key } => {
            let registry = service.registry()?;
            Ok(AdminReply::KeyVersions(registry.key(&key)?.versions.iter().map(metadata::version_info).collect()))
        }
        AdminRequest::ClusterList => {
            let registry = service.registry()?;
            let clusters = registry
                .clusters()
                .map(|c| p11kms_proto::admin::ClusterSummary {
                    cluster_name: c.name.clone(),
                    member_count: c.members.len() as u32,
                    instances: registry
                        .instances()
                        .filter(|i| i.cluster.as_deref() == Some(c.name.as_str()))
                        .map(|i| i.name.clone())
                        .collect(),
                    creation_date: c.created_at,
                })
                .collect();
            Ok(AdminReply::Clusters(clusters))
        }
        AdminRequest::ClusterStatus { name } => {
            let live = service.cluster(&name)?;
            let registry = service.registry()?;
            let record = registry.cluster(&name)?.clone();
            Ok(AdminReply::Cluster(clusters::status(&live, &registry, &record, service.clock.now())))
        }
    }
}
