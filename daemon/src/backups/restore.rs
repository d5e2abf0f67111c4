//! `backup restore-key` and `backup restore-secret`: a key or secret as a
//! backup holds it at a moment (`moment`), put into an instance of this
//! daemon under its own id or name (`place`, with every check). A
//! software backup's version material is read from the backup's points,
//! wrapped under the backup root key as they keep it.

use p11kms_proto::admin::{RestoreKeyRequest, RestoreSecretRequest, RestoredKey, RestoredSecret};

use super::moment::{self, Moment};
use super::place::{self, Source};
use super::snapshot::{self, Entity};
use super::{Backups, Entry};
use crate::kms::{Kms, KmsError};

/// The instance a point of `entry` backed up (its manifest says).
pub fn backed_up_instance(backups: &Backups, moment: &Moment<'_>) -> Result<String, KmsError> {
    Ok(super::points::manifest(backups.storage(), moment.point)?.instance)
}

/// The wrapped material of version `version_id` of `key_id`: in the
/// moment's point, or (a version made after it) in any later point.
pub fn material(
    backups: &Backups,
    entry: &Entry,
    moment: &Moment<'_>,
    key_id: &str,
    version_id: &str,
) -> Result<Vec<u8>, KmsError> {
    let wanted = Entity::material(key_id, version_id);
    let mut hash = moment.state.get(&wanted).cloned();
    for point in entry.points.iter().rev() {
        if hash.is_some() {
            break;
        }
        hash = super::points::manifest(backups.storage(), point)?
            .put
            .into_iter()
            .find(|(e, _)| *e == wanted)
            .map(|(_, h)| h);
    }
    let hash = hash.ok_or_else(|| {
        KmsError::Internal(format!("backup '{}' holds no material for version {version_id}", entry.record.backup_id))
    })?;
    Ok(snapshot::decode_material(&backups.storage().object(&hash)?)?.wrapped)
}

/// What `entry` says of itself for `place`. An uploaded backup backed up
/// an instance of another daemon: an instance of the same name here is
/// not it.
fn source<'a>(entry: &'a Entry, original: &'a str) -> Source<'a> {
    Source {
        backup_id: &entry.record.backup_id,
        kind: entry.record.instance_kind,
        instance: (entry.record.backup_type != p11kms_proto::admin::BackupType::Upload).then_some(original),
        cluster: entry.record.cluster.as_deref(),
    }
}

/// `backup restore-key`.
pub fn restore_key(kms: &Kms, backups: &Backups, request: &RestoreKeyRequest) -> Result<RestoredKey, KmsError> {
    let book = backups.book()?;
    let entry = book.get(&request.backup_id)?.clone();
    let storage = backups.storage();
    let moment = moment::requested(kms, storage, &entry, request.date.as_deref(), request.at)?;
    let key = moment::held_key(kms, storage, &entry, &moment, &request.key_id)?;
    let original = backed_up_instance(backups, &moment)?;
    let restored =
        place::put_key(kms, &source(&entry, &original), &request.to_instance, &key, moment.as_of, |_, v| {
            material(backups, &entry, &moment, &key.record.key_id, &v.record.version_id)
        })?;
    drop(book);
    Ok(restored)
}

/// `backup restore-secret`.
pub fn restore_secret(
    kms: &Kms,
    backups: &Backups,
    request: &RestoreSecretRequest,
) -> Result<RestoredSecret, KmsError> {
    let book = backups.book()?;
    let entry = book.get(&request.backup_id)?.clone();
    let storage = backups.storage();
    let moment = moment::requested(kms, storage, &entry, request.date.as_deref(), request.at)?;
    let secret = moment::held_secret(kms, storage, &entry, &moment, &request.secret_name)?;
    let original = backed_up_instance(backups, &moment)?;
    let restored = place::put_secret(kms, &source(&entry, &original), &request.to_instance, &secret, moment.as_of)?;
    drop(book);
    Ok(restored)
}
