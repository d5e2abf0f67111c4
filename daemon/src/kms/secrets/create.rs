//! `CreateSecret`: a secret and its first version (ACSCurrent), in an
//! instance holding an HSM cluster, its value encrypted under the key it
//! names or the instance's service key for secrets.

use p11kms_proto::admin::secret::ACS_CURRENT;
use p11kms_proto::admin::{CreateSecretRequest, InstanceKind, SecretDataType, SecretType};

use super::versions::{NewVersion, add_version};
use super::write::commit;
use super::{SecretEntry, limits, managed, service_key, values};
use crate::kms::keys::tags;
use crate::kms::{Kms, KmsError};
use crate::store::SecretRecord;

/// Everything about a new secret that needs no other state; returns its
/// name (a RAM secret's is made from its user) and ExtendedConfig.
fn validate(request: &CreateSecretRequest) -> Result<(String, Option<String>), KmsError> {
    let secret_type = request.secret_type;
    let config = managed::check_extended_config(secret_type, request.extended_config.as_deref())?;
    let name = managed::secret_name(secret_type, &request.secret_name, config.as_deref())?;
    limits::check_name(&name)?;
    limits::check_version_id(&request.version_id)?;
    limits::check_description(&request.description)?;
    tags::check(&request.tags)?;
    if request.enable_automatic_rotation || request.rotation_interval.is_some() {
        if !secret_type.is_managed() {
            return Err(KmsError::Unsupported(
                "Generic secrets are rotated by their owners (put-value): they take no rotation policy".into(),
            ));
        }
        match request.rotation_interval {
            Some(interval) => limits::check_rotation_interval(interval)?,
            None => {
                return Err(KmsError::InvalidParameter(
                    "RotationInterval is required with EnableAutomaticRotation".into(),
                ));
            }
        }
        if !request.enable_automatic_rotation {
            return Err(KmsError::InvalidParameter(
                "RotationInterval is only taken with EnableAutomaticRotation".into(),
            ));
        }
    }
    if secret_type.is_managed() && request.secret_data_type != SecretDataType::Text {
        return Err(KmsError::InvalidParameter(format!("the value of a {secret_type} secret is text (JSON)")));
    }
    Ok((name, config))
}

/// Refuses a secret the registry cannot take: a taken name, a second RAM
/// secret of a user, a full instance, the default instance.
fn check_room(kms: &Kms, request: &CreateSecretRequest, name: &str, config: Option<&str>) -> Result<(), KmsError> {
    let registry = kms.registry()?;
    let instance = registry.instance(&request.instance)?;
    if instance.kind == InstanceKind::Default || instance.cluster.is_none() {
        return Err(KmsError::Unsupported(format!(
            "instance '{}' holds no secrets (the default instance keeps the old console's keys only): \
             create secrets in a hardware or software instance",
            instance.name
        )));
    }
    // A RAM user has one RAM secret (its name says so too; this says why).
    if let Some(user) = managed::ram_user(config).filter(|_| request.secret_type == SecretType::RamCredentials) {
        let taken = registry.secrets().any(|s| {
            s.record.secret_type == SecretType::RamCredentials
                && managed::ram_user(s.record.extended_config.as_deref()).as_deref() == Some(user.as_str())
        });
        if taken {
            return Err(KmsError::Exists { what: "RAM secret of RAM user", name: user });
        }
    }
    if registry.secret_exists(name) {
        return Err(KmsError::Exists { what: "secret", name: name.to_owned() });
    }
    let quota = super::quota(&kms.config, instance);
    let held = registry.secrets_in(&instance.name);
    if held + 1 > quota {
        return Err(KmsError::LimitExceeded(format!(
            "instance '{}' holds {held} secrets, its quota is {quota}",
            instance.name
        )));
    }
    Ok(())
}

/// Creates a secret; `creator` is `admin:<uid>`.
pub fn create(kms: &Kms, request: &CreateSecretRequest, creator: &str) -> Result<SecretEntry, KmsError> {
    let (name, config) = validate(request)?;
    let value = limits::value_bytes(&request.secret_data, request.secret_data_type)?;
    managed::check_value(request.secret_type, config.as_deref(), &value)?;
    // Checked before a service key is made for it, and again under the
    // writer lock (another creation may have come in between).
    check_room(kms, request, &name, config.as_deref())?;
    let key_id = service_key::encryption_key(kms, &request.instance, request.encryption_key_id.as_deref())?;
    let _writer = kms.writer()?;
    check_room(kms, request, &name, config.as_deref())?;
    let sealed = values::seal(kms, &key_id, &name, &request.version_id, &value)?;
    let now = kms.clock.now();
    let mut tags = request.tags.clone();
    tags.sort();
    let mut entry = SecretEntry::new(SecretRecord {
        name: name.clone(),
        instance: request.instance.clone(),
        secret_type: request.secret_type,
        encryption_key_id: key_id,
        description: request.description.clone(),
        extended_config: config,
        tags,
        creator: creator.to_owned(),
        created_at: now,
        updated_at: now,
        planned_delete_time: None,
        automatic_rotation: request.enable_automatic_rotation,
        rotation_interval: request.rotation_interval,
        last_rotation_date: None,
    });
    let first = NewVersion {
        version_id: request.version_id.clone(),
        data_type: request.secret_data_type,
        sealed,
        stages: vec![ACS_CURRENT.to_owned()],
    };
    add_version(&mut entry, first, now, kms.config.secrets.max_versions)?;
    commit(kms, None, &mut entry, now)?;
    tracing::info!(secret = %name, instance = %request.instance, secret_type = %request.secret_type, "secret created");
    Ok(entry)
}
