//! Instances and clusters as the admin plane shows them.

use p11kms_proto::admin::{AdminReply, ClusterSummary};

use crate::kms::{KmsError, clusters, instances};
use crate::service::Service;

/// `instance list`.
pub fn list(service: &Service) -> Result<AdminReply, KmsError> {
    let registry = service.registry()?;
    Ok(AdminReply::Instances(registry.instances().map(|i| instances::info(&registry, i)).collect()))
}

/// `instance describe`.
pub fn describe(service: &Service, name: &str) -> Result<AdminReply, KmsError> {
    let registry = service.registry()?;
    Ok(AdminReply::Instance(instances::info(&registry, registry.instance(name)?)))
}

/// `cluster list`.
pub fn clusters(service: &Service) -> Result<AdminReply, KmsError> {
    let registry = service.registry()?;
    let clusters = registry
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
        .collect();
    Ok(AdminReply::Clusters(clusters))
}

/// `cluster status`: reads every member, without holding the registry.
pub fn cluster_status(service: &Service, name: &str) -> Result<AdminReply, KmsError> {
    let live = service.cluster(name)?;
    let (record, expected) = {
        let registry = service.registry()?;
        (registry.cluster(name)?.clone(), clusters::expected_versions(&registry, name))
    };
    Ok(AdminReply::Cluster(clusters::status(&live, &record, &expected, service.clock.now())))
}
