//! `backup download BACKUP --date D`: what the backup holds at the end of
//! that day (a viewable day: `moment`), as one file sealed under a key
//! made for it ([`super::format`]), kept in the daemon to be fetched in
//! chunks (`FetchBackupChunk`). A software backup's material is re-wrapped
//! from the backup root key to the file's key inside an HSM of the
//! backed-up instance's cluster. The key is in the reply only.

use zeroize::Zeroizing;

use p11kms_proto::admin::{BackupChunk, BackupDownload, DownloadBackupRequest, FetchBackupChunkRequest};

use super::super::moment;
use super::super::points;
use super::super::snapshot::{self, Entity, MaterialSnapshot};
use super::bundle::Bundle;
use super::{format, new_key, rewrapping_cluster, transfers};
use crate::backups::Backups;
use crate::kms::vault::Rewrap;
use crate::kms::{Kms, KmsError};

/// `backup download`.
pub fn download(kms: &Kms, backups: &Backups, request: &DownloadBackupRequest) -> Result<BackupDownload, KmsError> {
    let now = kms.clock.now();
    let transfers = transfers(backups);
    transfers.sweep(now);
    let (key, key_text) = new_key();
    let bundle = {
        let book = backups.book()?;
        let entry = book.get(&request.backup_id)?.clone();
        let storage = backups.storage();
        let moment = moment::moment(&kms.config.backups.time_zone, storage, &entry, Some(&request.date), None, now)?;
        let instance = points::manifest(storage, moment.point)?.instance;
        let mut bundle = Bundle {
            backup_id: entry.record.backup_id.clone(),
            date: request.date.clone(),
            instance,
            instance_kind: entry.record.instance_kind,
            as_of: moment.as_of,
            keys: Vec::new(),
            secrets: Vec::new(),
            materials: Vec::new(),
        };
        let mut wrapped = Vec::new();
        for (entity, hash) in &moment.state {
            let bytes = storage.object(hash)?;
            match entity {
                Entity::Key(_) => bundle.keys.push(snapshot::decode_key(&bytes)?),
                Entity::Secret(_) => bundle.secrets.push(snapshot::decode_secret(&bytes)?),
                Entity::Material(_) => wrapped.push(snapshot::decode_material(&bytes)?),
                // Canaries stay with the backup they were made for: an
                // uploaded backup's drill checks that its material unwraps.
                Entity::Canary(_) => {}
            }
        }
        if !wrapped.is_empty() {
            let cluster = rewrapping_cluster(kms, entry.record.instance.as_deref().or(Some(&bundle.instance)))?;
            for material in wrapped {
                let v = bundle.version(&material).map_err(|_| {
                    KmsError::Internal(format!(
                        "backup '{}' holds material of version {} of key {} without the key",
                        entry.record.backup_id, material.version_id, material.key_id
                    ))
                })?;
                let rewrapped = kms.vault.rewrap(&cluster, Rewrap::Export, &v, &material.wrapped, &key)?;
                bundle.materials.push(MaterialSnapshot { wrapped: rewrapped, ..material });
            }
        }
        bundle
    };
    let payload = Zeroizing::new(
        serde_json::to_vec(&bundle).map_err(|e| KmsError::Internal(format!("a backup data file's data: {e}")))?,
    );
    let file = format::seal(bundle.header(), &payload, &key)?;
    let (download_id, chunk_count) = transfers.put_export(&file, now)?;
    tracing::info!(
        backup = %bundle.backup_id,
        date = %bundle.date,
        download = %download_id,
        keys = bundle.keys.len(),
        secrets = bundle.secrets.len(),
        "backup data file made ready to download"
    );
    Ok(BackupDownload {
        download_id,
        backup_id: bundle.backup_id,
        date: bundle.date,
        size: file.len() as u64,
        chunk_count,
        key_count: u32::try_from(bundle.keys.len()).unwrap_or(u32::MAX),
        secret_count: u32::try_from(bundle.secrets.len()).unwrap_or(u32::MAX),
        decryption_key: key_text,
    })
}

/// `backup fetch-chunk`.
pub fn fetch(kms: &Kms, backups: &Backups, request: &FetchBackupChunkRequest) -> Result<BackupChunk, KmsError> {
    let transfers = transfers(backups);
    transfers.sweep(kms.clock.now());
    let (bytes, last) = transfers.fetch(&request.download_id, request.index)?;
    if last {
        tracing::info!(download = %request.download_id, "backup data file fetched");
    }
    Ok(BackupChunk { download_id: request.download_id.clone(), index: request.index, last, bytes })
}
