//! `backup import-item`, at the destination: the ticket taken (spent,
//! whatever happens next), the package checked whole against it, then the
//! key or secret put in place through `place`, which checks the instance,
//! the names and the quota again with what the package says. A software
//! backup's key material is re-wrapped inside the HSM that holds the
//! ticket's key pair, from the one-time key to this daemon's backup root
//! key (`Vault::rewrap_from_transport`), and installed as a restore from
//! this daemon's own backups is. The ticket's key pair is destroyed at the
//! end, restored or refused.

use p11kms_proto::admin::{ImportBackupItemRequest, RestoredItem};

use super::super::place::{self, Source};
use super::package::Package;
use super::tickets::{self, Item, Ticket, Tickets};
use crate::kms::{Kms, KmsError};

/// `backup import-item`.
pub fn import(kms: &Kms, tickets: &Tickets, request: &ImportBackupItemRequest) -> Result<RestoredItem, KmsError> {
    tickets::sweep(kms, tickets);
    let ticket = tickets.take(&request.ticket)?;
    let restored = restore(kms, &ticket, &request.package);
    tickets::discard(kms, ticket);
    restored
}

fn restore(kms: &Kms, ticket: &Ticket, bytes: &[u8]) -> Result<RestoredItem, KmsError> {
    let package = Package::decode(bytes, &ticket.item)?;
    let bundle = &package.bundle;
    let source = Source {
        backup_id: &bundle.backup_id,
        kind: bundle.instance_kind,
        instance: None,
        cluster: package.cluster.as_deref(),
    };
    match &ticket.item {
        Item::Secret(_) => {
            let secret = bundle.secrets.first().ok_or_else(|| KmsError::Internal("a checked package".into()))?;
            let restored = place::put_secret(kms, &source, &ticket.instance, secret, bundle.as_of)?;
            Ok(RestoredItem { key: None, secret: Some(restored) })
        }
        Item::Key(_) => {
            let key = bundle.keys.first().ok_or_else(|| KmsError::Internal("a checked package".into()))?;
            let restored = place::put_key(kms, &source, &ticket.instance, key, bundle.as_of, |v, version| {
                let (Some(wrapping), Some(transport_key)) = (&ticket.wrapping, &package.transport_key) else {
                    return Err(KmsError::InvalidParameter(
                        "the restore package carries no key material for a software instance".into(),
                    ));
                };
                let carried = bundle
                    .materials
                    .iter()
                    .find(|m| m.version_id == version.record.version_id)
                    .ok_or_else(|| KmsError::Internal("a checked package lacks a version's material".into()))?;
                kms.vault.rewrap_from_transport(&ticket.cluster, &wrapping.id, transport_key, v, &carried.wrapped)
            })?;
            Ok(RestoredItem { key: Some(restored), secret: None })
        }
    }
}
