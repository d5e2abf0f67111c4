//! Where an instance's keys are held: in its HSM cluster, or, for the
//! `default` instance, by the daemon itself in software, under the
//! reserved cluster name [`SOFTWARE_CLUSTER`] (`vault::software`). A leaf
//! of the KMS model: the registry, the instances and the vault all ask it.

use p11kms_proto::admin::InstanceKind;

use crate::store::InstanceRecord;

/// The cluster name under which the vault holds the `default` instance's
/// key material, in software. No loaded cluster can have it: cluster
/// names are lowercase letters, digits, `-` and `_`.
pub const SOFTWARE_CLUSTER: &str = "@daemon";

/// The cluster holding the keys of `instance`: its HSM cluster, or for
/// `default` the daemon's own software vault ([`SOFTWARE_CLUSTER`]).
pub fn holding_cluster(instance: &InstanceRecord) -> Option<String> {
    match instance.kind {
        InstanceKind::Default => Some(SOFTWARE_CLUSTER.to_owned()),
        _ => instance.cluster.clone(),
    }
}
