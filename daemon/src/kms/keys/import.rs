//! Bring your own key (Origin EXTERNAL): `get-parameters-for-import`,
//! `import-key-material`, `delete-key-material`, and the expiry of imported
//! material and of import tokens.
//!
//! An EXTERNAL key is AES_256 with one version that starts without
//! material (PendingImport). The material arrives wrapped under an RSA-2048
//! key generated inside the primary for one token (24 hours), is unwrapped
//! inside the HSM, and reaches the mirrors wrapped under the cluster key
//! like any version. A check value computed inside the HSM at the first
//! import makes every later import prove it brings the same material.

use sha2::{Digest, Sha256};

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{
    ImportKeyMaterialRequest, ImportParameters, KeyState, Origin, WrappingAlgorithm, WrappingKeySpec,
};

use super::intents;
use super::rules::{self, Operation};
use super::version_name;
use crate::encoding::der::{pem, rsa_spki};
use crate::hsm;
use crate::kms::Kms;
use crate::kms::KmsError;
use crate::kms::names::{new_version_id, version_bytes};
use crate::kms::registry::KeyEntry;
use crate::private_files::random_pin;
use crate::store::{ImportTokenRecord, IntentPurpose};

/// How long an import token and its wrapping key live.
pub const TOKEN_LIFETIME: i64 = 24 * 3600;

fn external(key: &KeyEntry) -> Result<(), KmsError> {
    if key.record.origin == Origin::External {
        Ok(())
    } else {
        Err(KmsError::Unsupported(format!(
            "key '{}' has Origin Aliyun_KMS: only EXTERNAL keys take imported material",
            key.record.key_id
        )))
    }
}

fn cluster_of(kms: &Kms, key: &KeyEntry) -> Result<String, KmsError> {
    kms.cluster_of(&key.record.instance)
}

/// `key get-parameters-for-import`.
pub fn get_parameters(
    kms: &Kms,
    key: &str,
    algorithm: WrappingAlgorithm,
    _spec: WrappingKeySpec,
) -> Result<ImportParameters, KmsError> {
    let entry = kms.registry()?.key(key)?.clone();
    rules::check(Operation::GetParametersForImport, &entry.record)?;
    external(&entry)?;
    let cluster = cluster_of(kms, &entry)?;
    let (wrapping_key, id) = new_version_id();
    let label = format!("p11kms-import/{}", entry.record.key_id);
    let intent = {
        let _writer = kms.writer()?;
        intents::announce(kms, &cluster, IntentPurpose::WrappingKey, &id, &label)?
    };
    let public = match kms.vault.create_wrapping_key(&cluster, &id, &label) {
        Ok(public) => public,
        Err(error) => {
            let left =
                kms.vault.destroy_leftovers(&cluster, IntentPurpose::WrappingKey, &id).map_or(1, |l| l.unreached);
            intents::withdraw(kms, Some(&intent), left);
            return Err(error);
        }
    };
    let now = kms.clock.now();
    let token = ImportTokenRecord {
        token: random_pin(32).to_string(),
        key_id: entry.record.key_id.clone(),
        wrapping_key,
        algorithm,
        expires_at: now.plus_seconds(TOKEN_LIFETIME),
    };
    let _writer = kms.writer()?;
    let committed = kms.store.write(now, |tx| {
        tx.insert_import_token(&token)?;
        intents::commit_in(tx, Some(&intent))
    });
    if let Err(error) = committed {
        let left = kms.vault.destroy_leftovers(&cluster, IntentPurpose::WrappingKey, &id).map_or(1, |l| l.unreached);
        intents::withdraw(kms, Some(&intent), left);
        return Err(error.into());
    }
    let mut registry = kms.registry_mut()?;
    registry.remove_intent(&intent.object_id);
    registry.add_import_token(token.clone());
    drop(registry);
    Ok(ImportParameters {
        key_id: entry.record.key_id,
        import_token: token.token.clone(),
        public_key: pem("PUBLIC KEY", &rsa_spki(&public.modulus, &public.exponent)),
        token_expire_time: token.expires_at,
    })
}

/// `key import-key-material`.
pub fn import(kms: &Kms, request: &ImportKeyMaterialRequest) -> Result<(), KmsError> {
    let now = kms.clock.now();
    let (entry, token) = {
        let registry = kms.registry()?;
        let entry = registry.key(&request.key)?.clone();
        // What the key allows comes before the token: a key that cannot
        // take material says so, whatever token came with the call.
        rules::check(Operation::ImportKeyMaterial, &entry.record)?;
        external(&entry)?;
        let token = registry
            .import_token(&request.import_token)
            .cloned()
            .ok_or_else(|| KmsError::InvalidParameter(
                "unknown or expired import token (a token lasts 24 hours and is used once): call get-parameters-for-import".into(),
            ))?;
        (entry, token)
    };
    if token.key_id != entry.record.key_id {
        return Err(KmsError::InvalidParameter("the import token was issued for another key".into()));
    }
    if token.expires_at <= now {
        return Err(KmsError::InvalidParameter("the import token has expired: call get-parameters-for-import".into()));
    }
    let expires = match request.key_material_expire_unix {
        None | Some(0) => None,
        Some(unix) if unix > now.unix() => Some(Timestamp(unix)),
        Some(_) => return Err(KmsError::InvalidParameter("KeyMaterialExpireUnix is in the past".into())),
    };
    let version =
        entry.primary().cloned().ok_or_else(|| KmsError::Internal("EXTERNAL key without a version".into()))?;
    let name = version_name(&entry.record, &version);
    let cluster = cluster_of(kms, &entry)?;
    let wrapping_id =
        version_bytes(&token.wrapping_key).ok_or_else(|| KmsError::Internal("bad wrapping key id".into()))?;

    // A version that already has material gets a scratch copy for the
    // comparison; the first import goes straight to the version's object.
    let scratch = version.record.has_material;
    let target = if scratch {
        hsm::VersionName { id: new_version_id().1, label: format!("{}-check", name.label), ..name.clone() }
    } else {
        name.clone()
    };
    let purpose = if scratch { IntentPurpose::ImportCheck } else { IntentPurpose::KeyVersion };
    let intent = {
        let _writer = kms.writer()?;
        intents::announce(kms, &cluster, purpose, &target.id, &target.label)?
    };
    // Destroys what this import made and settles its intent.
    let discard = |v: &hsm::VersionName| {
        let left = super::discard_version(kms, &cluster, v);
        intents::withdraw(kms, Some(&intent), left);
    };
    let check = match kms.vault.import_material(
        &cluster,
        &wrapping_id,
        token.algorithm,
        &request.encrypted_key_material,
        &target,
    ) {
        Ok(check) => Sha256::digest(check).to_vec(),
        Err(error) => {
            discard(&target);
            return Err(error);
        }
    };
    if scratch {
        discard(&target);
    }
    if version.record.kcv.as_ref().is_some_and(|known| *known != check) {
        if !scratch {
            discard(&target);
        }
        return Err(KmsError::InvalidParameter(
            "this is not the key's material: an EXTERNAL key only ever takes the material imported first".into(),
        ));
    }
    if !scratch {
        if let Err(error) = kms.vault.replicate(&cluster, &name) {
            discard(&name);
            return Err(error);
        }
    }

    let _writer = kms.writer()?;
    let mut record = kms.registry()?.key(&entry.record.key_id)?.record.clone();
    if record.state == KeyState::PendingImport {
        record.state = KeyState::Enabled;
    }
    record.material_expire_time = expires;
    let mut version_record = version.record.clone();
    version_record.has_material = true;
    version_record.kcv = Some(check);
    // A scratch copy's intent is settled already; a first import's goes
    // with the commit.
    let first_import = (!scratch).then_some(&intent);
    let committed = kms.store.write(now, |tx| {
        tx.update_version(&version_record)?;
        tx.update_key(&record)?;
        tx.delete_import_token(&token)?;
        intents::commit_in(tx, first_import)
    });
    if let Err(error) = committed {
        if !scratch {
            discard(&name);
        }
        return Err(error.into());
    }
    let mut registry = kms.registry_mut()?;
    if let Some(intent) = first_import {
        registry.remove_intent(&intent.object_id);
    }
    registry.replace_version(version_record)?;
    registry.replace_key(record)?;
    registry.remove_import_token(&token.token);
    drop(registry);
    // The token is single-use: its wrapping key goes now.
    if let Err(error) = kms.vault.destroy_wrapping_key(&cluster, &wrapping_id) {
        tracing::warn!(%error, "a used wrapping key could not be destroyed; it expires with its token");
    }
    tracing::info!(key = %entry.record.key_id, reimport = scratch, "key material imported");
    Ok(())
}

/// `key delete-key-material`, and the expiry of imported material: the
/// material leaves every member and the key waits for an import again.
pub fn delete_material(kms: &Kms, key: &str) -> Result<(), KmsError> {
    let entry = kms.registry()?.key(key)?.clone();
    rules::check(Operation::DeleteKeyMaterial, &entry.record)?;
    external(&entry)?;
    let cluster = cluster_of(kms, &entry)?;
    let _writer = kms.writer()?;
    let left = super::destroy_versions(kms, &cluster, &entry)?;
    if left > 0 {
        return Err(KmsError::Internal(format!(
            "{left} objects of key '{}' could not be destroyed",
            entry.record.key_id
        )));
    }
    let mut record = entry.record.clone();
    record.state = KeyState::PendingImport;
    record.material_expire_time = None;
    let versions: Vec<_> = entry
        .versions
        .iter()
        .map(|v| crate::store::VersionRecord { has_material: false, ..v.record.clone() })
        .collect();
    kms.store.write(kms.clock.now(), |tx| {
        for v in &versions {
            tx.update_version(v)?;
        }
        tx.update_key(&record)
    })?;
    let mut registry = kms.registry_mut()?;
    for v in versions {
        registry.replace_version(v)?;
    }
    registry.replace_key(record)?;
    tracing::info!(key = %entry.record.key_id, "key material deleted");
    Ok(())
}

/// Destroys the wrapping keys of a key's import tokens (the key is being
/// destroyed; its tokens leave the store with it). Refuses when one cannot
/// be destroyed, so the destruction is retried rather than leaving an
/// RSA key in the HSM that nothing names any more.
pub fn destroy_wrapping_keys_of(kms: &Kms, cluster: &str, key_id: &str) -> Result<(), KmsError> {
    let tokens: Vec<ImportTokenRecord> =
        kms.registry()?.import_tokens().filter(|t| t.key_id == key_id).cloned().collect();
    for token in tokens {
        let id = version_bytes(&token.wrapping_key).ok_or_else(|| KmsError::Internal("bad wrapping key id".into()))?;
        kms.vault.destroy_wrapping_key(cluster, &id)?;
    }
    Ok(())
}

/// Ends expired import tokens: their wrapping keys are destroyed.
pub fn expire_tokens(kms: &Kms, now: Timestamp) -> Result<usize, KmsError> {
    let expired: Vec<ImportTokenRecord> =
        kms.registry()?.import_tokens().filter(|t| t.expires_at <= now).cloned().collect();
    for token in &expired {
        let cluster = {
            let registry = kms.registry()?;
            registry.key(&token.key_id).ok().and_then(|k| registry.instance(&k.record.instance).ok()?.cluster.clone())
        };
        if let (Some(cluster), Some(id)) = (cluster, version_bytes(&token.wrapping_key)) {
            if let Err(error) = kms.vault.destroy_wrapping_key(&cluster, &id) {
                tracing::warn!(key = %token.key_id, %error, "the wrapping key of an expired import token is left");
            }
        }
        let _writer = kms.writer()?;
        kms.store.write(now, |tx| tx.delete_import_token(token))?;
        kms.registry_mut()?.remove_import_token(&token.token);
    }
    Ok(expired.len())
}
