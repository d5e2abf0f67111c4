//! KMS keys: creating them, and (in the submodules) their lifecycle,
//! versions and rotation, and imported material.
//!
//! Creating a key follows DESIGN.md: reserve the alias and a quota slot and
//! record a creation intent ([`intents`]), create the version's objects on
//! every cluster member, then commit the metadata (with its journal
//! entries, deleting the intent) in one transaction; if the commit fails,
//! the objects are destroyed again, and the reservation is always
//! released. An EXTERNAL key starts with a version but no material
//! (PendingImport); its material arrives with `import-key-material`.
//! [`uses`] records the operations the CMK migration refuses a key for.

pub mod crash_point;
pub mod import;
pub mod intents;
pub mod lifecycle;
pub mod rotation;
pub mod rules;
pub mod service;
pub mod tags;
pub mod uses;
pub mod write;

use p11kms_proto::admin::{InstanceKind, KeySpec, KeyState, KeyUsage, Origin, Tag};

use super::error::KmsError;
use super::instances::check_version_room;
use super::names::{check_alias, check_service_alias, new_key_id, new_version_id};
use super::placement::holding_cluster;
use super::registry::{KeyEntry, VersionEntry};
use crate::hsm::{PublicKey, VersionName};
use crate::kms::Kms;
use crate::kms::vault::SessionMaterial;
use crate::store::{
    AliasRecord, ExportUses, IntentPurpose, IntentRecord, KeyMechanismsRecord, KeyRecord, VersionRecord,
};

/// Longest description accepted.
const MAX_DESCRIPTION: usize = 8192;

/// What `key create` (or `C_GenerateKey*`) asks for.
#[derive(Clone, Debug)]
pub struct NewKey {
    /// Instance the key goes to.
    pub instance: String,
    /// Material kind.
    pub spec: KeySpec,
    /// Usage; the spec's default when absent.
    pub usage: Option<KeyUsage>,
    /// Free text.
    pub description: String,
    /// An alias to create with it.
    pub alias: Option<String>,
    /// `admin:<uid>` or `app:<name>`.
    pub creator: String,
    /// KMS-generated or imported material.
    pub origin: Origin,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Rotate on schedule.
    pub automatic_rotation: bool,
    /// Rotation interval in seconds.
    pub rotation_interval: Option<i64>,
    /// Refuse deletion.
    pub deletion_protection: bool,
    /// The PKCS#11 `CKA_ALLOWED_MECHANISMS` of a key an application makes;
    /// empty: not restricted.
    pub allowed_mechanisms: Vec<u64>,
}

impl NewKey {
    /// A KMS-generated key with no options, as PKCS#11 creates them.
    pub fn plain(instance: String, spec: KeySpec, usage: KeyUsage, alias: Option<String>, creator: String) -> Self {
        Self {
            instance,
            spec,
            usage: Some(usage),
            description: String::new(),
            alias,
            creator,
            origin: Origin::AliyunKms,
            tags: Vec::new(),
            automatic_rotation: false,
            rotation_interval: None,
            deletion_protection: false,
            allowed_mechanisms: Vec::new(),
        }
    }
}

/// Checks everything about a new key that needs no other state.
fn validate(new: &NewKey, usage: KeyUsage) -> Result<(), KmsError> {
    if !new.spec.allows_usage(usage) {
        return Err(KmsError::InvalidParameter(format!("KeySpec {} does not allow KeyUsage {usage}", new.spec)));
    }
    if new.description.len() > MAX_DESCRIPTION {
        return Err(KmsError::InvalidParameter(format!("Description is longer than {MAX_DESCRIPTION} bytes")));
    }
    if let Some(alias) = &new.alias {
        // The `alias/acs/` space is the daemon's own keys', and only theirs.
        if service::is_service_creator(&new.creator) {
            check_service_alias(alias).map_err(KmsError::InvalidParameter)?;
        } else {
            check_alias(alias).map_err(KmsError::InvalidParameter)?;
            service::check_user_alias(alias)?;
        }
    }
    tags::check(&new.tags)?;
    if new.origin == Origin::External && new.spec != KeySpec::Aes256 {
        return Err(KmsError::InvalidParameter(format!(
            "an EXTERNAL key must be AES_256 (imported 256-bit material), not {}",
            new.spec
        )));
    }
    if new.automatic_rotation || new.rotation_interval.is_some() {
        rotation::check_rotatable(new.spec, new.origin, service::is_service_creator(&new.creator))?;
    }
    if let Some(interval) = new.rotation_interval {
        rotation::check_interval(interval)?;
    }
    if new.automatic_rotation && new.rotation_interval.is_none() {
        return Err(KmsError::InvalidParameter("RotationInterval is required with EnableAutomaticRotation".into()));
    }
    if !new.automatic_rotation && new.rotation_interval.is_some() {
        return Err(KmsError::InvalidParameter(
            "RotationInterval is only taken with EnableAutomaticRotation: add it, or leave the interval out".into(),
        ));
    }
    Ok(())
}

/// Where a new key's first version comes from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// Generated now in the instance's cluster (or imported later, for an
    /// EXTERNAL key).
    Generate,
    /// An application's session key, generated by the daemon in the
    /// cluster's primary and never let out (`C_CopyObject` to the token).
    SessionKey(SessionMaterial<'a>),
}

/// Creates a key with its first version; returns the new key.
pub fn create(kms: &Kms, new: NewKey) -> Result<KeyEntry, KmsError> {
    create_from(kms, new, Source::Generate)
}

/// [`create`], the first version's material from `source`.
pub fn create_from(kms: &Kms, new: NewKey, source: Source<'_>) -> Result<KeyEntry, KmsError> {
    if matches!(source, Source::SessionKey(_)) && new.origin != Origin::AliyunKms {
        return Err(KmsError::InvalidParameter("a session key becomes a KMS-generated key".into()));
    }
    let usage = new.usage.unwrap_or_else(|| new.spec.default_usage());
    validate(&new, usage)?;
    let key_id = new_key_id();
    let (version_id, uuid) = new_version_id();
    let name = VersionName { id: uuid, label: format!("{key_id}/{version_id}"), spec: new.spec, usage };
    let (cluster_name, intent) = {
        let _writer = kms.writer()?;
        let cluster = {
            let mut registry = kms.registry_mut()?;
            let instance = registry.instance(&new.instance)?.clone();
            let cluster = holding_cluster(&instance).ok_or_else(|| {
                KmsError::Unsupported(format!(
                    "instance '{}' holds no HSM cluster; create keys in another instance",
                    instance.name
                ))
            })?;
            if let Some(alias) = &new.alias {
                if registry.alias_taken(alias) {
                    return Err(KmsError::AliasExists(alias.clone()));
                }
            }
            check_version_room(&instance, registry.versions_in(&instance.name), 1)?;
            registry.reserve(&instance.name, new.alias.as_deref());
            cluster
        };
        // Material is made now (not for an EXTERNAL key): announce it first.
        let intent = match new.origin {
            Origin::AliyunKms => {
                match intents::announce(kms, &cluster, IntentPurpose::KeyVersion, &uuid, &name.label) {
                    Ok(intent) => Some(intent),
                    Err(error) => {
                        kms.registry_mut()?.release(&new.instance, new.alias.as_deref());
                        return Err(error);
                    }
                }
            }
            Origin::External => None,
        };
        (cluster, intent)
    };
    let draft = Draft { key_id, version_id, name };
    let result = create_reserved(kms, &new, usage, &cluster_name, draft, source, intent.as_ref());
    let _writer = kms.writer()?;
    let mut registry = kms.registry_mut()?;
    registry.release(&new.instance, new.alias.as_deref());
    let (key, version, alias) = result?;
    if let Some(intent) = &intent {
        registry.remove_intent(&intent.object_id);
    }
    let key_id = key.key_id.clone();
    registry.put_new_key(key, version, alias)?;
    registry.set_allowed_mechanisms(&key_id, new.allowed_mechanisms.clone());
    let entry = registry.key(&key_id)?.clone();
    tracing::info!(key = %key_id, instance = %new.instance, spec = %new.spec, origin = %new.origin, "key created");
    Ok(entry)
}

type Created = (KeyRecord, VersionEntry, Option<AliasRecord>);

/// The ids and HSM name of a key being created.
struct Draft {
    key_id: String,
    version_id: String,
    name: VersionName,
}

fn create_reserved(
    kms: &Kms,
    new: &NewKey,
    usage: KeyUsage,
    cluster: &str,
    draft: Draft,
    source: Source<'_>,
    intent: Option<&IntentRecord>,
) -> Result<Created, KmsError> {
    let Draft { key_id, version_id, name } = draft;
    let uuid = name.id;
    // Imported keys get their material later; the others get it now, on
    // every member.
    let public_key = match new.origin {
        Origin::AliyunKms => match make_version(kms, cluster, &name, source) {
            Ok(public) => public,
            Err(error) => {
                // The cluster destroyed what it made; make sure of it
                // before the intent goes.
                let left = discard_version(kms, cluster, &name);
                intents::withdraw(kms, intent, left);
                return Err(error);
            }
        },
        Origin::External => None,
    };
    crash_point::reached(kms, crash_point::VERSION_WRITTEN);
    let now = kms.clock.now();
    let mut tags = new.tags.clone();
    tags.sort();
    let key = KeyRecord {
        key_id: key_id.clone(),
        instance: new.instance.clone(),
        key_spec: new.spec,
        key_usage: usage,
        origin: new.origin,
        state: if new.origin == Origin::External { KeyState::PendingImport } else { KeyState::Enabled },
        description: new.description.clone(),
        creator: new.creator.clone(),
        created_at: now,
        primary_version: version_id.clone(),
        delete_date: None,
        deletion_protection: new.deletion_protection,
        automatic_rotation: new.automatic_rotation,
        rotation_interval: new.rotation_interval,
        material_expire_time: None,
        tags,
        export_uses: ExportUses::default(),
    };
    let version = VersionRecord {
        seq: 0,
        version_id,
        key_id,
        created_at: now,
        public_key: public_key.as_ref().map(|k| k.to_json()),
        has_material: new.origin == Origin::AliyunKms,
        kcv: None,
    };
    let alias = new.alias.as_ref().map(|alias| AliasRecord {
        alias: alias.clone(),
        key_id: key.key_id.clone(),
        created_at: now,
    });
    let mechanisms = (!new.allowed_mechanisms.is_empty()).then(|| KeyMechanismsRecord {
        key_id: key.key_id.clone(),
        mechanisms: new.allowed_mechanisms.clone(),
        set_at: now,
    });
    let committed = kms.store.write(now, |tx| {
        let stored = tx.insert_key(&key, &version, alias.as_ref())?;
        mechanisms.as_ref().map_or(Ok(()), |m| tx.set_key_mechanisms(m))?;
        intents::commit_in(tx, intent)?;
        Ok::<_, crate::store::StoreError>(stored)
    });
    match committed {
        Ok(stored) => Ok((key, VersionEntry { record: stored, uuid, public_key, lost: None }, alias)),
        Err(error) => {
            tracing::error!(key = %key.key_id, %error, "metadata commit failed; destroying the new objects");
            let left = discard_version(kms, cluster, &name);
            intents::withdraw(kms, intent, left);
            Err(error.into())
        }
    }
}

/// Makes a new key's first version in `cluster`; returns its public half.
fn make_version(
    kms: &Kms,
    cluster: &str,
    name: &VersionName,
    source: Source<'_>,
) -> Result<Option<PublicKey>, KmsError> {
    match source {
        Source::Generate => kms.vault.create_version(kms, cluster, name),
        Source::SessionKey(key) => kms.vault.adopt_session_key(cluster, name, key).map(|()| key.public.cloned()),
    }
}

/// Destroys a version whose metadata could not be committed; what is left
/// behind is logged (the store never knew it) and counted (its intent
/// stays for the sweep then).
pub fn discard_version(kms: &Kms, cluster: &str, name: &VersionName) -> usize {
    match kms.vault.destroy_version(cluster, name) {
        Ok(0) => 0,
        Ok(left) => {
            tracing::error!(version = %name.label, left, "objects of an uncommitted version are left");
            left
        }
        Err(error) => {
            tracing::error!(version = %name.label, %error, "cannot destroy an uncommitted version");
            1
        }
    }
}

/// Destroys every version of a key in the vault; returns how many objects
/// are left.
pub fn destroy_versions(kms: &Kms, cluster: &str, entry: &KeyEntry) -> Result<usize, KmsError> {
    let mut left = 0;
    for version in &entry.versions {
        left += kms.vault.destroy_version(cluster, &version_name(&entry.record, version))?;
    }
    Ok(left)
}

/// The instance kind of a key (for its metadata).
pub fn instance_kind(kms: &Kms, key: &KeyEntry) -> Result<InstanceKind, KmsError> {
    Ok(kms.registry()?.instance(&key.record.instance)?.kind)
}

/// The HSM name of one of a key's versions.
pub fn version_name(key: &KeyRecord, version: &VersionEntry) -> VersionName {
    VersionName {
        id: version.uuid,
        label: format!("{}/{}", key.key_id, version.record.version_id),
        spec: key.key_spec,
        usage: key.key_usage,
    }
}
