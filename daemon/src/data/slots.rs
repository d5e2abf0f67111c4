//! Slots: `ListSlots` (one slot per instance, its token and mechanisms,
//! with the user-PIN flags the asking client sees there), and the instance
//! and cluster behind a slot, for every other request.
//!
//! The `default` instance has no cluster: its slot offers the mechanisms
//! the daemon runs in software (`data::software`) and the vault's random
//! generator; what needs an HSM session (session keys, operations with an
//! application's public-key objects) it refuses with [`NO_HSM`].

use std::sync::Arc;

use cryptoki_sys::*;

use p11kms_proto::admin::InstanceKind;
use p11kms_proto::data::ClientId;
use p11kms_proto::pkcs11::{SlotDescription, TokenDescription};

use super::error::{DataError, rv};
use super::{pin_flags, software};
use crate::clusters::LiveCluster;
use crate::kms::apps::PIN_LEN;
use crate::kms::registry::Registry;
use crate::service::Service;
use crate::store::InstanceRecord;

/// What a slot without a cluster answers to what only an HSM session can
/// do: session keys (`C_GenerateKey` with `CKA_TOKEN` false, `C_UnwrapKey`,
/// `C_DeriveKey`, …) and operations with public keys an application made.
/// The function is one the slot does not have, whatever the arguments.
pub const NO_HSM: CK_RV = CKR_FUNCTION_NOT_SUPPORTED;

/// Refuses, with [`NO_HSM`], a request that needs an HSM session on a slot
/// without a cluster.
pub fn require_cluster(service: &Service, slot: u64) -> Result<(), DataError> {
    match instance(&*service.kms.registry()?, slot)?.cluster {
        Some(_) => Ok(()),
        None => Err(rv(NO_HSM)),
    }
}

/// The instance behind `slot`.
pub fn instance(registry: &Registry, slot: u64) -> Result<&InstanceRecord, DataError> {
    registry.instance_by_slot(slot).ok_or(DataError::SlotInvalid(slot))
}

/// The name of the instance behind `slot`.
pub fn instance_name(service: &Service, slot: u64) -> Result<String, DataError> {
    Ok(instance(&*service.kms.registry()?, slot)?.name.clone())
}

/// The open cluster behind `slot`; an instance without one (`default`)
/// answers `without`.
pub fn cluster(service: &Service, slot: u64, without: CK_RV) -> Result<Arc<LiveCluster>, DataError> {
    let name = instance(&*service.kms.registry()?, slot)?.cluster.clone().ok_or(rv(without))?;
    service.clusters.get(&name).map_err(|_| DataError::ClusterDown(slot))
}

/// Every instance as a slot, in slot-id order, as `client` sees them: the
/// token flags carry its user-PIN flags (`pin_flags`).
pub fn list(service: &Service, client: &ClientId) -> Result<Vec<SlotDescription>, DataError> {
    let registry = service.kms.registry()?;
    let mut slots: Vec<SlotDescription> = registry
        .instances()
        .map(|instance| {
            let live = instance.cluster.as_deref().and_then(|c| service.clusters.get(c).ok());
            let software = instance.kind == InstanceKind::Default;
            let mechanisms = match &live {
                Some(live) => live.mechanisms.clone(),
                None if software => software::mechanisms(),
                None => Vec::new(),
            };
            let token = (software || live.is_some()).then(|| TokenDescription {
                label: instance.name.clone(),
                model: format!("p11kms {}", instance.kind),
                serial: format!("{:016x}", instance.slot_id),
                flags: CKF_TOKEN_INITIALIZED
                    | CKF_LOGIN_REQUIRED
                    | CKF_USER_PIN_INITIALIZED
                    | if software || live.is_some() { CKF_RNG } else { 0 }
                    | pin_flags::flags(service, &registry, client, instance.slot_id, &instance.name),
                min_pin_len: PIN_LEN as u64,
                max_pin_len: PIN_LEN as u64,
                mechanisms,
            });
            SlotDescription {
                id: instance.slot_id,
                description: format!("p11kms instance {} ({})", instance.name, instance.kind),
                token,
            }
        })
        .collect();
    slots.sort_by_key(|s| s.id);
    Ok(slots)
}
