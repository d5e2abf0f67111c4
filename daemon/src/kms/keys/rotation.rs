//! Key versions and rotation, as `shared/spec/key-rotation.txt` says:
//!
//! * only KMS-generated symmetric keys have more than one version; EXTERNAL
//!   (BYOK), asymmetric and service keys refuse rotation, manual or
//!   automatic (`Rejected.UnsupportedOperation`);
//! * `NextRotationDate = LastRotationDate + RotationInterval`, where
//!   LastRotationDate is when the newest version was created;
//! * rotation runs only for Enabled keys; a Disabled or PendingDeletion key
//!   reports `Suspended`, keeps its policy and gets no versions, and when it
//!   is Enabled again the same formula decides (one rotation at once if the
//!   date has passed, then the schedule goes on from there);
//! * an interval change that puts the next date in the past rotates at once.

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{AutomaticRotation, KeySpec, KeyState, Origin, RotationFailure, UpdateRotationPolicyRequest};

use super::rules::{self, Operation};
use super::service::is_service_key;
use super::version_name;
use super::write::change_key;
use super::{crash_point, intents};
use crate::hsm::VersionName;
use crate::kms::Kms;
use crate::kms::KmsError;
use crate::kms::instances::check_version_room;
use crate::kms::names::new_version_id;
use crate::kms::placement::holding_cluster;
use crate::kms::registry::{KeyEntry, VersionEntry};
use crate::store::{IntentPurpose, IntentRecord, KeyRecord, VersionRecord};

/// Shortest rotation interval: 7 days.
pub const MIN_INTERVAL: i64 = 7 * 86_400;
/// Longest rotation interval: 365 days.
pub const MAX_INTERVAL: i64 = 365 * 86_400;

/// Refuses an interval outside 7 to 365 days.
pub fn check_interval(seconds: i64) -> Result<(), KmsError> {
    if (MIN_INTERVAL..=MAX_INTERVAL).contains(&seconds) {
        Ok(())
    } else {
        Err(KmsError::InvalidParameter(format!(
            "RotationInterval must be between 7 and 365 days ({MIN_INTERVAL}s to {MAX_INTERVAL}s), not {seconds}s"
        )))
    }
}

/// Refuses rotation for keys that may have only one version.
pub fn check_rotatable(spec: KeySpec, origin: Origin, service_key: bool) -> Result<(), KmsError> {
    let why = if origin == Origin::External {
        "BYOK keys (Origin EXTERNAL) have one version and do not rotate"
    } else if !spec.is_symmetric() {
        "asymmetric keys have one version and do not rotate"
    } else if service_key {
        "service keys are managed by the daemon and do not rotate"
    } else {
        return Ok(());
    };
    Err(KmsError::Unsupported(why.into()))
}

/// When the newest version was created.
pub fn last_rotation(key: &KeyEntry) -> Timestamp {
    key.versions.iter().map(|v| v.record.created_at).max().unwrap_or(key.record.created_at)
}

/// `AutomaticRotation` as `describe` reports it.
pub fn status(key: &KeyEntry) -> AutomaticRotation {
    match (key.record.automatic_rotation, key.record.state) {
        (false, _) => AutomaticRotation::Disabled,
        (true, KeyState::Enabled) => AutomaticRotation::Enabled,
        (true, _) => AutomaticRotation::Suspended,
    }
}

/// When the next automatic rotation is due (none when not scheduled).
pub fn next_rotation(key: &KeyEntry) -> Option<Timestamp> {
    let interval = key.record.rotation_interval?;
    (status(key) == AutomaticRotation::Enabled).then(|| last_rotation(key).plus_seconds(interval))
}

/// Creates a new version of a symmetric key on every member and makes it
/// the primary. Used by `create-version`, by a policy change that is
/// overdue, and by the scheduler.
pub fn rotate(kms: &Kms, key: &str) -> Result<VersionEntry, KmsError> {
    let (record, cluster, draft, name, intent) = {
        let _writer = kms.writer()?;
        let (entry, cluster) = {
            let mut registry = kms.registry_mut()?;
            let entry = registry.key(key)?.clone();
            rules::check(Operation::CreateVersion, &entry.record)?;
            check_rotatable(entry.record.key_spec, entry.record.origin, is_service_key(&entry.record))?;
            let instance = registry.instance(&entry.record.instance)?.clone();
            check_version_room(&instance, registry.versions_in(&instance.name), 1)?;
            let cluster =
                holding_cluster(&instance).ok_or_else(|| KmsError::Internal("key without a cluster".into()))?;
            registry.reserve(&instance.name, None);
            (entry, cluster)
        };
        let (draft, name) = draft_version(kms, &entry.record);
        let intent = match intents::announce(kms, &cluster, IntentPurpose::KeyVersion, &name.id, &name.label) {
            Ok(intent) => intent,
            Err(error) => {
                kms.registry_mut()?.release(&entry.record.instance, None);
                return Err(error);
            }
        };
        (entry.record, cluster, draft, name, intent)
    };
    let created = create_version_objects(kms, &cluster, &name, &intent);
    let _writer = kms.writer()?;
    kms.registry_mut()?.release(&record.instance, None);
    created?;
    crash_point::reached(kms, crash_point::VERSION_WRITTEN);
    // The key may have changed while the HSMs worked (a tag, a policy):
    // commit the new primary on top of its current row.
    let mut updated = kms.registry()?.key(&record.key_id)?.record.clone();
    updated.primary_version = draft.record.version_id.clone();
    let stored = kms.store.write(draft.record.created_at, |tx| {
        let stored = tx.insert_version(&draft.record)?;
        tx.update_key(&updated)?;
        intents::commit_in(tx, Some(&intent))?;
        Ok::<_, crate::store::StoreError>(stored)
    });
    let version = match stored {
        Ok(stored) => VersionEntry { record: stored, ..draft },
        Err(error) => {
            tracing::error!(key = %record.key_id, %error, "metadata commit failed; destroying the new version");
            let left = super::discard_version(kms, &cluster, &name);
            intents::withdraw(kms, Some(&intent), left);
            return Err(error.into());
        }
    };
    let mut registry = kms.registry_mut()?;
    registry.remove_intent(&intent.object_id);
    registry.add_version(version.clone())?;
    registry.replace_key(updated)?;
    tracing::info!(key = %record.key_id, version = %version.record.version_id, "key rotated");
    Ok(version)
}

/// A new version of `record`, not yet made: its entry and HSM name.
fn draft_version(kms: &Kms, record: &KeyRecord) -> (VersionEntry, VersionName) {
    let (version_id, uuid) = new_version_id();
    let draft = VersionEntry {
        record: VersionRecord {
            seq: 0,
            version_id,
            key_id: record.key_id.clone(),
            created_at: kms.clock.now(),
            public_key: None,
            has_material: true,
            kcv: None,
        },
        uuid,
        public_key: None,
        lost: None,
    };
    let name = version_name(record, &draft);
    (draft, name)
}

/// Makes a new version's material in `cluster`; on failure, makes sure
/// nothing of it is left and settles its intent.
fn create_version_objects(kms: &Kms, cluster: &str, name: &VersionName, intent: &IntentRecord) -> Result<(), KmsError> {
    match kms.vault.create_version(kms, cluster, name) {
        Ok(_) => Ok(()),
        Err(error) => {
            let left = super::discard_version(kms, cluster, name);
            intents::withdraw(kms, Some(intent), left);
            Err(error)
        }
    }
}

/// `key update-rotation-policy`. An overdue schedule rotates at once.
pub fn update_policy(kms: &Kms, request: &UpdateRotationPolicyRequest) -> Result<(), KmsError> {
    let key_id = {
        let registry = kms.registry()?;
        let entry = registry.key(&request.key)?;
        rules::check(Operation::UpdateRotationPolicy, &entry.record)?;
        check_rotatable(entry.record.key_spec, entry.record.origin, is_service_key(&entry.record))?;
        entry.record.key_id.clone()
    };
    if let Some(interval) = request.rotation_interval {
        check_interval(interval)?;
    }
    change_key(kms, &key_id, Operation::UpdateRotationPolicy, |key, _| {
        let interval = request.rotation_interval.or(key.rotation_interval);
        if request.enable_automatic_rotation && interval.is_none() {
            return Err(KmsError::InvalidParameter("RotationInterval is required to enable automatic rotation".into()));
        }
        key.automatic_rotation = request.enable_automatic_rotation;
        key.rotation_interval = interval;
        Ok(())
    })?;
    rotate_if_due(kms, &key_id)?;
    Ok(())
}

/// Rotates a key whose next rotation date has come. Returns whether it did.
pub fn rotate_if_due(kms: &Kms, key_id: &str) -> Result<bool, KmsError> {
    let _pass = kms.schedule()?;
    let due = {
        let registry = kms.registry()?;
        let key = registry.key(key_id)?;
        next_rotation(key).is_some_and(|next| next <= kms.clock.now())
    };
    if due {
        rotate_on_schedule(kms, key_id)?;
    }
    Ok(due)
}

/// An automatic rotation: as [`rotate`], and its outcome is kept on the
/// key, so that `describe` shows why an overdue rotation has not happened
/// (a full quota, an HSM out of service) until one succeeds.
pub fn rotate_on_schedule(kms: &Kms, key_id: &str) -> Result<VersionEntry, KmsError> {
    let result = rotate(kms, key_id);
    let failure = result.as_ref().err().map(|error| {
        let api = error.to_api();
        RotationFailure { time: kms.clock.now(), code: api.code.to_string(), message: api.message }
    });
    kms.registry_mut()?.note_rotation(key_id, failure);
    result
}
