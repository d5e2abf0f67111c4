//! `ListSlots`: one slot per instance, its token and mechanisms.

use cryptoki_sys::*;

use p11kms_proto::admin::InstanceKind;
use p11kms_proto::pkcs11::{SlotDescription, TokenDescription};

use crate::kms::apps::PIN_LEN;
use crate::service::Service;

/// Every instance as a slot, in slot-id order.
pub fn list(service: &Service) -> Result<Vec<SlotDescription>, CK_RV> {
    let registry = service.kms.registry().map_err(|e| e.ck_rv())?;
    let mut slots: Vec<SlotDescription> = registry
        .instances()
        .map(|instance| {
            let live = instance.cluster.as_deref().and_then(|c| service.clusters.get(c).ok());
            let mechanisms = live.as_ref().map(|l| l.mechanisms.clone()).unwrap_or_default();
            let token = (instance.kind == InstanceKind::Default || live.is_some()).then(|| TokenDescription {
                label: instance.name.clone(),
                model: format!("p11kms {}", instance.kind),
                serial: format!("{:016x}", instance.slot_id),
                flags: CKF_TOKEN_INITIALIZED
                    | CKF_LOGIN_REQUIRED
                    | CKF_USER_PIN_INITIALIZED
                    | if live.is_some() { CKF_RNG } else { 0 },
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
