//! `backup prepare-restore`, at the destination: the checks a restore
//! into one of its instances makes first (the instance is of the
//! backup's kind, no key or secret of that id or name is in the region, room
//! under its quota), then a one-time ticket; for a key, with an RSA-2048
//! wrapping key pair generated inside the target cluster's primary, whose
//! public half the source wraps the material for (as GetParametersForImport
//! hands out a wrapping key). `import` checks everything again, with what
//! the package says.

use p11kms_proto::admin::{InstanceKind, PrepareRestoreRequest, RestoreTicket};

use super::super::place::{check_key_free, check_secret_free, check_secret_room};
use super::tickets::{self, Item, TICKET_LIFETIME, Ticket, Wrapping};
use crate::encoding::der::rsa_spki;
use crate::kms::instances::check_version_room;
use crate::kms::keys::intents;
use crate::kms::names::new_version_id;
use crate::kms::{Kms, KmsError};
use crate::store::IntentPurpose;

/// A new ticket's id.
fn ticket_id() -> String {
    format!("ticket-{}", hex::encode(rand::random::<[u8; 16]>()))
}

/// `backup prepare-restore`.
pub fn prepare(
    kms: &Kms,
    tickets: &tickets::Tickets,
    request: &PrepareRestoreRequest,
) -> Result<RestoreTicket, KmsError> {
    tickets::sweep(kms, tickets);
    let item = Item::of(request.key_id.as_deref(), request.secret_name.as_deref())?;
    let (target, cluster) = {
        let registry = kms.registry()?;
        let target = registry.instance(&request.to_instance)?.clone();
        if target.kind == InstanceKind::Default {
            return Err(KmsError::InvalidParameter(format!(
                "backups restore into software or hardware instances; '{}' is the default instance",
                target.name
            )));
        }
        if let Some(kind) = request.backup_kind.filter(|k| *k != target.kind) {
            return Err(KmsError::InvalidParameter(format!(
                "the backup is of a {kind} instance; '{}' is a {} instance",
                target.name, target.kind
            )));
        }
        match &item {
            Item::Key(key_id) => {
                check_key_free(&registry, key_id)?;
                check_version_room(&target, registry.versions_in(&target.name), 1)?;
            }
            Item::Secret(name) => {
                check_secret_free(&registry, name)?;
                check_secret_room(kms, &registry, &target)?;
            }
        }
        let cluster = kms.cluster_of(&target.name)?;
        (target, cluster)
    };
    let now = kms.clock.now();
    let mut public_key = None;
    let wrapping = match &item {
        Item::Secret(_) => None,
        Item::Key(key_id) => {
            let (_, id) = new_version_id();
            let label = format!("p11kms-restore/{key_id}");
            let intent = {
                let _writer = kms.writer()?;
                intents::announce(kms, &cluster, IntentPurpose::WrappingKey, &id, &label)?
            };
            match kms.vault.create_wrapping_key(&cluster, &id, &label) {
                Ok(public) => public_key = Some(rsa_spki(&public.modulus, &public.exponent)),
                Err(error) => {
                    let left = kms
                        .vault
                        .destroy_leftovers(&cluster, IntentPurpose::WrappingKey, &id)
                        .map_or(1, |l| l.unreached);
                    intents::withdraw(kms, Some(&intent), left);
                    return Err(error);
                }
            }
            Some(Wrapping { id, intent })
        }
    };
    let id = ticket_id();
    let expires_at = now.plus_seconds(TICKET_LIFETIME);
    let ticket = Ticket { instance: target.name.clone(), cluster, item: item.clone(), wrapping, expires_at };
    tickets.insert(kms, id.clone(), ticket)?;
    tracing::info!(instance = %target.name, %item, "a restore from another daemon prepared");
    Ok(RestoreTicket {
        ticket: id,
        instance: target.name,
        instance_kind: target.kind,
        wrapping_public_key: public_key,
        expires_at,
    })
}
