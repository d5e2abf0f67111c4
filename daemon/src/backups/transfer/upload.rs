//! `backup upload`: a backup data file, sent in chunks
//! (`UploadBackupChunk`), checked whole (header, every chunk's tag, no
//! chunk missing or extra, its data against its header) before anything
//! is imported; its material re-wrapped from the file's key to this
//! daemon's backup root key inside an HSM; then its objects and one
//! complete manifest stored as one full point of a new backup of type
//! `upload` (Disabled, never enabled), viewable and restorable on its
//! day. A refused file leaves nothing behind, its chunks neither.

use p11kms_proto::admin::{
    BackupInfo, BackupStatus, BackupType, UploadBackupChunkRequest, UploadBackupRequest, UploadedChunks,
};

use super::super::lifecycle::info;
use super::super::points::{FORMAT, Manifest};
use super::super::snapshot::{Entity, MaterialSnapshot};
use super::super::{Backups, Entry, take};
use super::bundle::Bundle;
use super::{format, parse_key, rewrapping_cluster, transfers};
use crate::kms::vault::Rewrap;
use crate::kms::{Kms, KmsError};
use crate::store::{BackupPointRecord, BackupRecord, PointKind};

/// `backup upload-chunk`.
pub fn put_chunk(kms: &Kms, backups: &Backups, request: &UploadBackupChunkRequest) -> Result<UploadedChunks, KmsError> {
    let now = kms.clock.now();
    let transfers = transfers(backups);
    transfers.sweep(now);
    let (chunk_count, size) = transfers.put_upload_chunk(&request.upload_id, request.index, &request.bytes, now)?;
    Ok(UploadedChunks { upload_id: request.upload_id.clone(), chunk_count, size })
}

fn check_name(name: &str) -> Result<(), KmsError> {
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(KmsError::InvalidParameter("an uploaded backup's name has 1 to 64 printable characters".into()));
    }
    Ok(())
}

/// `backup upload`.
pub fn upload(kms: &Kms, backups: &Backups, request: &UploadBackupRequest) -> Result<BackupInfo, KmsError> {
    let transfers = transfers(backups);
    transfers.sweep(kms.clock.now());
    let outcome = (|| {
        check_name(&request.name)?;
        let key = parse_key(&request.decryption_key)?;
        let bytes = transfers.upload_bytes(&request.upload_id)?;
        let (header, payload) = format::open(&bytes, &key)?;
        let mut bundle = Bundle::decode(&payload, &header)?;
        drop(payload);
        if !bundle.materials.is_empty() {
            let cluster = rewrapping_cluster(kms, None)?;
            let mut rewrapped = Vec::with_capacity(bundle.materials.len());
            for material in &bundle.materials {
                let v = bundle.version(material)?;
                let wrapped =
                    kms.vault.rewrap(&cluster, Rewrap::Import, &v, &material.wrapped, &key).map_err(|e| match e {
                        KmsError::MaterialRefused(why) => {
                            KmsError::InvalidParameter(format!("the backup data file's key material is refused: {why}"))
                        }
                        other => other,
                    })?;
                rewrapped.push(MaterialSnapshot { wrapped, ..material.clone() });
            }
            bundle.materials = rewrapped;
        }
        store(kms, backups, &bundle, &request.name)
    })();
    // Imported or refused, the chunks go.
    transfers.remove_upload(&request.upload_id);
    match &outcome {
        Ok(info) => tracing::info!(backup = %info.backup_id, from = ?info.alias, "backup data file uploaded"),
        Err(error) => tracing::warn!(upload = %request.upload_id, %error, "backup data file refused"),
    }
    outcome
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, KmsError> {
    serde_json::to_vec(value).map_err(|e| KmsError::Internal(format!("an uploaded backup's object: {e}")))
}

/// Stores `bundle` as one complete full point of a new `upload` backup.
fn store(kms: &Kms, backups: &Backups, bundle: &Bundle, name: &str) -> Result<BackupInfo, KmsError> {
    let storage = backups.storage();
    let now = kms.clock.now();
    let backup_id = format!("backup-{}", uuid::Uuid::new_v4().simple());
    let mut book = backups.book()?;
    let stored = (|| {
        let mut put = Vec::new();
        let mut added = 0;
        let mut keep = |entity: Entity, bytes: Vec<u8>| -> Result<(), KmsError> {
            let (hash, bytes) = storage.put_object(&bytes)?;
            added += bytes;
            put.push((entity, hash));
            Ok(())
        };
        for key in &bundle.keys {
            keep(Entity::Key(key.record.key_id.clone()), encode(key)?)?;
        }
        for secret in &bundle.secrets {
            keep(Entity::Secret(secret.record.name.clone()), encode(secret)?)?;
        }
        for material in &bundle.materials {
            keep(Entity::material(&material.key_id, &material.version_id), encode(material)?)?;
        }
        put.sort();
        let manifest = Manifest {
            format: FORMAT,
            backup_id: backup_id.clone(),
            seq: 1,
            kind: PointKind::Full,
            at: bundle.as_of,
            instance: bundle.instance.clone(),
            base: None,
            put,
            removed: Vec::new(),
        };
        let bytes = encode(&manifest)?;
        let sha256 = storage.put_manifest(&backup_id, 1, &bytes)?;
        let point = BackupPointRecord {
            backup_id: backup_id.clone(),
            seq: 1,
            kind: PointKind::Full,
            at: bundle.as_of,
            journal_seq: 0,
            sha256,
            bytes: added + bytes.len() as u64,
        };
        let record = BackupRecord {
            backup_id: backup_id.clone(),
            alias: Some(name.to_owned()),
            backup_type: BackupType::Upload,
            status: BackupStatus::Disabled,
            instance: None,
            instance_kind: bundle.instance_kind,
            created_at: now,
            enabled_at: None,
            viewable_days: 1,
            expires_at: None,
            cluster: None,
            primary_member: None,
            last_point_at: Some(bundle.as_of),
            journal_seq: 0,
            last_drill: None,
        };
        kms.store.write(now, |tx| {
            tx.put_backup(&record)?;
            tx.insert_backup_point(&point)
        })?;
        Ok::<_, KmsError>(Entry { record, points: vec![point] })
    })();
    match stored {
        Ok(entry) => {
            let info = info(&entry);
            book.entries.insert(backup_id, entry);
            Ok(info)
        }
        Err(error) => {
            // Nothing left behind: its manifest, and the objects no other
            // point names.
            let _ = storage.delete_backup(&backup_id);
            let _ = take::collect_objects(backups, &mut book);
            Err(error)
        }
    }
}
