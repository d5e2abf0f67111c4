//! Instances as `instance list` and `instance describe` show them, and the
//! instances a first start creates.

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
        },
        InstanceRecord {
            name: DEFAULT_INSTANCE.into(),
            slot_id: DEFAULT_SLOT,
            kind: InstanceKind::Default,
            cluster: None,
            key_quota: config.instances.default_key_quota,
            created_at: now,
        },
    ]
}

/// An instance with its current counts.
pub fn info(registry: &Registry, instance: &InstanceRecord) -> InstanceInfo {
    InstanceInfo {
        name: instance.name.clone(),
        slot_id: instance.slot_id,
        kind: instance.kind,
        cluster: instance.cluster.clone(),
        key_quota: instance.key_quota,
        key_count: registry.keys_in(&instance.name),
        key_version_count: registry.versions_in(&instance.name),
        creation_date: instance.created_at,
    }
}
