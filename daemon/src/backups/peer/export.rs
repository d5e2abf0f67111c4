//! `backup export-item`, at the source: one key or secret as a backup
//! holds it at a moment (`moment`, with its checks of viewable days and
//! expiry), packed for the destination's ticket. A software backup's key
//! material is re-wrapped inside an HSM of the backed-up cluster from the
//! backup root key to a one-time AES key made here
//! (`Vault::rewrap`), and the one-time key is wrapped for the
//! ticket's RSA public key (RSA-OAEP, SHA-1, as the HSMs unwrap it); it is
//! zeroized when the call ends. No material leaves in clear.

use rsa::rand_core::OsRng;
use rsa::{BigUint, Oaep, RsaPublicKey};
use sha1::Sha1;

use p11kms_proto::admin::{BackupItemPackage, ExportBackupItemRequest};

use super::super::moment;
use super::super::restore::{backed_up_instance, material};
use super::super::snapshot::MaterialSnapshot;
use super::super::transfer::bundle::Bundle;
use super::super::transfer::{new_key, rewrapping_cluster};
use super::super::{Backups, Entry};
use super::package::{PACKAGE_FORMAT, Package};
use super::tickets::Item;
use crate::encoding::rsa_public_from_spki;
use crate::kms::vault::Rewrap;
use crate::kms::{Kms, KmsError};

/// Bits of a ticket's wrapping key.
const WRAPPING_KEY_BITS: usize = 2048;

/// The ticket's public key, checked: RSA of [`WRAPPING_KEY_BITS`].
fn recipient(der: &[u8]) -> Result<RsaPublicKey, KmsError> {
    let wrong = |why: String| {
        KmsError::InvalidParameter(format!(
            "WrappingPublicKey: {why}; give the one `backup prepare-restore` printed at the destination"
        ))
    };
    let (modulus, exponent) = rsa_public_from_spki(der).map_err(|e| wrong(e.to_string()))?;
    let modulus = BigUint::from_bytes_be(&modulus);
    if modulus.bits() != WRAPPING_KEY_BITS {
        return Err(wrong(format!("an RSA key of {} bits, not {WRAPPING_KEY_BITS}", modulus.bits())));
    }
    RsaPublicKey::new(modulus, BigUint::from_bytes_be(&exponent)).map_err(|e| wrong(e.to_string()))
}

/// Refuses a destination of another kind than the backup's.
fn check_kind(entry: &Entry, request: &ExportBackupItemRequest) -> Result<(), KmsError> {
    match request.instance_kind {
        Some(kind) if kind != entry.record.instance_kind => Err(KmsError::InvalidParameter(format!(
            "backup '{}' is of a {} instance; the destination instance is a {kind} instance",
            entry.record.backup_id, entry.record.instance_kind
        ))),
        _ => Ok(()),
    }
}

/// `backup export-item`.
pub fn export(kms: &Kms, backups: &Backups, request: &ExportBackupItemRequest) -> Result<BackupItemPackage, KmsError> {
    let item = Item::of(request.key_id.as_deref(), request.secret_name.as_deref())?;
    let book = backups.book()?;
    let entry = book.get(&request.backup_id)?.clone();
    check_kind(&entry, request)?;
    let storage = backups.storage();
    let moment = moment::requested(kms, storage, &entry, request.date.as_deref(), request.at)?;
    let instance = backed_up_instance(backups, &moment)?;
    let mut bundle = Bundle {
        backup_id: entry.record.backup_id.clone(),
        date: kms.config.backups.time_zone.date_of(moment.as_of),
        instance: instance.clone(),
        instance_kind: entry.record.instance_kind,
        as_of: moment.as_of,
        keys: Vec::new(),
        secrets: Vec::new(),
        materials: Vec::new(),
    };
    let mut transport_key = None;
    match &item {
        Item::Secret(name) => {
            bundle.secrets.push(moment::held_secret(kms, storage, &entry, &moment, name)?);
        }
        Item::Key(key_id) => {
            let key = moment::held_key(kms, storage, &entry, &moment, key_id)?;
            let with_material: Vec<String> =
                key.versions.iter().filter(|v| v.has_material).map(|v| v.version_id.clone()).collect();
            bundle.keys.push(key);
            if entry.record.instance_kind == p11kms_proto::admin::InstanceKind::Software && !with_material.is_empty() {
                let der = request.wrapping_public_key.as_deref().ok_or_else(|| {
                    KmsError::InvalidParameter(
                        "a software backup's key material leaves only wrapped for the destination: give the \
                         WrappingPublicKey of its ticket (backup prepare-restore)"
                            .into(),
                    )
                })?;
                let public = recipient(der)?;
                let (one_time, _) = new_key();
                let cluster = rewrapping_cluster(kms, entry.record.instance.as_deref().or(Some(&instance)))?;
                for version_id in with_material {
                    let wrapped = material(backups, &entry, &moment, key_id, &version_id)?;
                    let carried = MaterialSnapshot {
                        key_id: key_id.clone(),
                        version_id: version_id.clone(),
                        wrapped: Vec::new(),
                    };
                    let v = bundle.version(&carried)?;
                    let rewrapped = kms.vault.rewrap(&cluster, Rewrap::Export, &v, &wrapped, &one_time)?;
                    bundle.materials.push(MaterialSnapshot { wrapped: rewrapped, ..carried });
                }
                let sealed = public
                    .encrypt(&mut OsRng, Oaep::new::<Sha1>(), &one_time[..])
                    .map_err(|e| KmsError::Internal(format!("wrapping the one-time key: {e}")))?;
                transport_key = Some(sealed);
            }
        }
    }
    drop(book);
    let version_count = bundle.keys.first().map_or(0, |k| k.versions.len());
    let package = Package { format: PACKAGE_FORMAT, cluster: entry.record.cluster.clone(), bundle, transport_key };
    tracing::info!(backup = %entry.record.backup_id, %item, as_of = %moment.as_of, "a backed-up item packed for another daemon");
    Ok(BackupItemPackage {
        backup_id: entry.record.backup_id,
        item: match item {
            Item::Key(id) => id,
            Item::Secret(name) => name,
        },
        as_of: package.bundle.as_of,
        version_count: u32::try_from(version_count).unwrap_or(u32::MAX),
        package: package.encode()?,
    })
}
