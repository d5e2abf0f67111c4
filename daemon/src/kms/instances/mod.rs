//! Instances as `instance list` and `instance describe` show them, the
//! instances a first start creates, `instance create`, and (in [`delete`])
//! `instance delete`.

pub mod delete;

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{InstanceInfo, InstanceKind};

use super::registry::Registry;
use crate::config::Config;
use crate::store::InstanceRecord;

/// Slot id of the hardware instance a first start creates: first in the
/// slot list, so tools that take the first slot find it.
pub const BOOTSTRAP_HARDWARE_SLOT: u64 = 0;
/// Slot id of the `default` instance.
pub const DEFAULT_SLOT: u64 = 1;
/// Name of the `default` instance.
pub const DEFAULT_INSTANCE: &str = "default";

/// The instances a first start creates: the hardware instance on its
/// cluster, and `default`.
pub fn bootstrap_records(config: &Config, cluster: &str, now: Timestamp) -> [InstanceRecord; 2] {
    [
        InstanceRecord {
            name: config.bootstrap.hardware_instance.clone(),
            slot_id: BOOTSTRAP_HARDWARE_SLOT,
            kind: InstanceKind::Hardware,
            cluster: Some(cluster.to_owned()),
            key_quota: config.instances.key_quota,
            created_at: now,
            secret_quota: Some(config.instances.secret_quota),
        },
        InstanceRecord {
            name: DEFAULT_INSTANCE.into(),
            slot_id: DEFAULT_SLOT,
            kind: InstanceKind::Default,
            cluster: None,
            key_quota: config.instances.default_key_quota,
            created_at: now,
            // It keeps the old console's keys, no secrets (docs/secrets.md).
            secret_quota: Some(0),
        },
    ]
}

/// Refuses `adding` more key versions in `instance` when it holds `used`
/// and its quota would be passed. The default instance's quota cannot be
/// raised: the refusal says to migrate.
pub fn check_version_room(instance: &InstanceRecord, used: u64, adding: u64) -> Result<(), super::KmsError> {
    if used + adding <= instance.key_quota {
        return Ok(());
    }
    let mut message =
        format!("instance '{}' holds {used} key versions, its quota is {}", instance.name, instance.key_quota);
    if instance.kind == InstanceKind::Default {
        message.push_str(
            "; the default instance's quota cannot be raised: migrate keys into a software or hardware instance \
             (p11kms key check-migration, p11kms key migrate)",
        );
    }
    Err(super::KmsError::LimitExceeded(message))
}

/// An instance with its current counts.
pub fn info(config: &Config, registry: &Registry, instance: &InstanceRecord) -> InstanceInfo {
    InstanceInfo {
        name: instance.name.clone(),
        slot_id: instance.slot_id,
        kind: instance.kind,
        cluster: instance.cluster.clone(),
        key_quota: instance.key_quota,
        key_count: registry.keys_in(&instance.name),
        key_version_count: registry.versions_in(&instance.name),
        creation_date: instance.created_at,
        secret_quota: super::secrets::quota(config, instance),
        secret_count: registry.secrets_in(&instance.name),
        region: config.region.clone(),
    }
}

/// `instance create NAME --kind hardware|software --cluster C`: a new
/// instance (a new PKCS#11 slot, the next free slot id) keeping its keys in
/// a loaded cluster.
pub fn create(
    kms: &super::Kms,
    name: &str,
    kind: InstanceKind,
    cluster: &str,
) -> Result<InstanceInfo, super::KmsError> {
    use super::KmsError;
    super::names::check_instance_name(name).map_err(KmsError::InvalidParameter)?;
    if kind == InstanceKind::Default {
        return Err(KmsError::InvalidParameter("an instance is hardware or software; there is one default".into()));
    }
    let _writes = kms.writer()?;
    if !kms.vault.serves(cluster) {
        return Err(KmsError::NotFound { what: "cluster", name: cluster.to_owned() });
    }
    let mut registry = kms.registry_mut()?;
    if registry.instance(name).is_ok() {
        return Err(KmsError::Exists { what: "instance", name: name.to_owned() });
    }
    let slot_id = registry.instances().map(|i| i.slot_id + 1).max().unwrap_or(0);
    let record = InstanceRecord {
        name: name.to_owned(),
        slot_id,
        kind,
        cluster: Some(cluster.to_owned()),
        key_quota: kms.config.instances.key_quota,
        created_at: kms.clock.now(),
        secret_quota: Some(kms.config.instances.secret_quota),
    };
    kms.store.write(kms.clock.now(), |tx| tx.insert_instance(&record))?;
    registry.put_instance(record.clone());
    tracing::info!(instance = name, slot = slot_id, cluster, "instance created");
    Ok(info(&kms.config, &registry, &record))
}
