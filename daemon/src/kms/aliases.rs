//! Aliases: `alias/...` names for keys, one key each, unique across the
//! deployment. The oldest alias of a key is also its PKCS#11 label.
//!
//! The `alias/acs/` space is the daemon's service keys': users cannot
//! create, move or delete an alias there, nor point one at a service key
//! (`keys::service`). An alias of theirs that names a service key (made by
//! a daemon from before that rule) can still be moved away or deleted.

use p11kms_proto::admin::AliasInfo;

use super::KmsError;
use super::keys::rules::{self, Operation};
use super::keys::service;
use super::names::check_alias;
use crate::kms::Kms;
use crate::store::AliasRecord;

/// A well-formed alias outside the service keys' space.
fn check_user_alias(alias: &str) -> Result<(), KmsError> {
    check_alias(alias).map_err(KmsError::InvalidParameter)?;
    service::check_user_alias(alias)
}

/// `alias create`.
pub fn create(kms: &Kms, alias: &str, key: &str) -> Result<(), KmsError> {
    check_user_alias(alias)?;
    let _writer = kms.writer()?;
    let record = {
        let registry = kms.registry()?;
        let target = registry.key(key)?;
        rules::check(Operation::Alias, &target.record)?;
        if registry.alias_taken(alias) {
            return Err(KmsError::AliasExists(alias.into()));
        }
        AliasRecord { alias: alias.into(), key_id: target.record.key_id.clone(), created_at: kms.clock.now() }
    };
    kms.store.write(record.created_at, |tx| tx.insert_alias(&record))?;
    kms.registry_mut()?.add_alias(record)
}

/// `alias update`: the alias names another key from now on, as its
/// newest alias (a moved alias is the target's newest, in memory and in
/// the store alike, so a restart keeps the target's label).
pub fn update(kms: &Kms, alias: &str, key: &str) -> Result<(), KmsError> {
    check_user_alias(alias)?;
    let _writer = kms.writer()?;
    let record = {
        let registry = kms.registry()?;
        registry.alias(alias)?;
        let target = registry.key(key)?;
        rules::check(Operation::Alias, &target.record)?;
        AliasRecord { alias: alias.into(), key_id: target.record.key_id.clone(), created_at: kms.clock.now() }
    };
    kms.store.write(record.created_at, |tx| tx.update_alias(&record))?;
    kms.registry_mut()?.move_alias(record)
}

/// `alias delete`.
pub fn delete(kms: &Kms, alias: &str) -> Result<(), KmsError> {
    check_user_alias(alias)?;
    let _writer = kms.writer()?;
    kms.registry()?.alias(alias)?;
    kms.store.write(kms.clock.now(), |tx| tx.delete_alias(alias))?;
    kms.registry_mut()?.remove_alias(alias);
    Ok(())
}

/// `alias list`, optionally for one key.
pub fn list(kms: &Kms, key: Option<&str>) -> Result<Vec<AliasInfo>, KmsError> {
    let registry = kms.registry()?;
    let only = key.map(|k| registry.key(k).map(|e| e.record.key_id.clone())).transpose()?;
    let region = &kms.config.region;
    let mut out = Vec::new();
    for key in registry.keys() {
        if only.as_ref().is_some_and(|id| *id != key.record.key_id) {
            continue;
        }
        for alias in &key.aliases {
            out.push(AliasInfo {
                alias_name: alias.clone(),
                alias_arn: format!("acs:kms:{region}:{}:{alias}", key.record.instance),
                key_id: key.record.key_id.clone(),
            });
        }
    }
    Ok(out)
}
