//! The key a secret's values are encrypted under: the one CreateSecret
//! names (a symmetric, Enabled key of the secret's instance), or else the
//! instance's service key for secrets, which the daemon makes on first
//! use: AES_256, creator `service:secrets`, alias
//! `alias/acs/secrets/<instance>` (the `alias/acs/` space is the
//! daemon's; users cannot take it). Users can look at it but not change
//! it, and apps never see it (`kms::keys::service`, `data::access`).

use p11kms_proto::admin::{KeySpec, KeyUsage};

use crate::kms::keys::rules::{self, Operation};
use crate::kms::keys::{self, NewKey};
use crate::kms::{Kms, KmsError};

/// The creator of the secrets service keys.
pub const CREATOR: &str = "service:secrets";

/// The alias of `instance`'s service key for secrets.
pub fn alias(instance: &str) -> String {
    format!("alias/acs/secrets/{instance}")
}

/// The key id that encrypts a new secret of `instance`: `requested` (id
/// or alias) checked, or the instance's service key, made if it is
/// missing.
pub fn encryption_key(kms: &Kms, instance: &str, requested: Option<&str>) -> Result<String, KmsError> {
    match requested {
        Some(key) => check(kms, instance, key),
        None => service_key(kms, instance),
    }
}

/// Checks a named key: of the instance, symmetric, for encryption, in a
/// state that allows use (its own error code otherwise).
fn check(kms: &Kms, instance: &str, key: &str) -> Result<String, KmsError> {
    let registry = kms.registry()?;
    let entry = registry.key(key)?;
    let record = &entry.record;
    if record.instance != instance {
        return Err(KmsError::InvalidParameter(format!(
            "EncryptionKeyId '{key}' is a key of instance '{}'; a secret's key must be of its own instance '{instance}'",
            record.instance
        )));
    }
    if !record.key_spec.is_symmetric() || record.key_usage != KeyUsage::EncryptDecrypt {
        return Err(KmsError::InvalidParameter(format!(
            "EncryptionKeyId '{key}' is {}: a secret's key must be a symmetric key (AES_256, AES_128)",
            record.key_spec
        )));
    }
    rules::check(Operation::Use, record)?;
    Ok(record.key_id.clone())
}

/// Held while a service key is made: the first secrets of an instance,
/// created at once, would otherwise race, and the loser would find the
/// winner's alias reserved but its key not yet committed.
static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The instance's service key, made on first use, once.
fn service_key(kms: &Kms, instance: &str) -> Result<String, KmsError> {
    let alias = alias(instance);
    if let Ok(key) = kms.registry()?.key(&alias) {
        return Ok(key.record.key_id.clone());
    }
    let _creating = CREATING.lock().map_err(|_| KmsError::Internal("service key lock poisoned".into()))?;
    if let Ok(key) = kms.registry()?.key(&alias) {
        return Ok(key.record.key_id.clone());
    }
    let mut new = NewKey::plain(
        instance.to_owned(),
        KeySpec::Aes256,
        KeyUsage::EncryptDecrypt,
        Some(alias.clone()),
        CREATOR.to_owned(),
    );
    new.description = format!("encrypts the secrets of instance '{instance}' that name no key");
    match keys::create(kms, new) {
        Ok(key) => {
            tracing::info!(instance, key = %key.record.key_id, "secrets service key created");
            Ok(key.record.key_id)
        }
        Err(KmsError::AliasExists(_)) => Ok(kms.registry()?.key(&alias)?.record.key_id.clone()),
        Err(error) => Err(error),
    }
}
