//! Reading secrets: a value (`GetSecretValue`), a description, the
//! versions, the list; and what the data plane reads (the secrets visible
//! in an instance, and a secret's ACSCurrent value).
//!
//! Descriptions and lists answer for a secret in its recovery window;
//! values do not (`Rejected.SecretPendingDeletion`).

use p11kms_proto::admin::secret::ACS_CURRENT;
use p11kms_proto::admin::{
    DescribeSecretRequest, GetSecretValueRequest, ListSecretVersionIdsRequest, ListSecretsRequest, SecretDataType,
    SecretDescription, SecretFilter, SecretList, SecretListEntry, SecretValue, SecretVersionInfo, SecretVersionList,
};
use p11kms_proto::bytes::to_base64;
use p11kms_proto::interval::format_interval;
use p11kms_proto::{SecretBytes, SecretString, Timestamp};

use super::{SecretEntry, limits, rotation, values};
use crate::kms::registry::Registry;
use crate::kms::{Kms, KmsError};
use crate::store::SecretVersionRecord;

/// The version a read names: by id, by stage, or ACSCurrent.
fn version_of<'a>(
    entry: &'a SecretEntry,
    version_id: Option<&str>,
    stage: Option<&str>,
) -> Result<&'a SecretVersionRecord, KmsError> {
    match (version_id, stage) {
        (Some(id), None) => entry.version_or_err(id),
        (None, stage) => entry.with_stage(stage.unwrap_or(ACS_CURRENT)),
        (Some(id), Some(stage)) => {
            let version = entry.version_or_err(id)?;
            if version.stages.iter().any(|s| s == stage) {
                Ok(version)
            } else {
                Err(KmsError::SecretVersionNotFound {
                    secret: entry.record.name.clone(),
                    version: format!("'{id}' with stage '{stage}'"),
                })
            }
        }
    }
}

/// The value of `version`, decrypted.
fn open(kms: &Kms, entry: &SecretEntry, version: &SecretVersionRecord) -> Result<SecretBytes, KmsError> {
    values::open(kms, &entry.record.encryption_key_id, &entry.record.name, &version.version_id, &version.sealed)
}

/// `secret get-value`.
pub fn get_value(kms: &Kms, request: &GetSecretValueRequest) -> Result<SecretValue, KmsError> {
    let entry = kms.registry()?.secret(&request.secret_name)?.clone();
    entry.check_not_pending()?;
    let version = version_of(&entry, request.version_id.as_deref(), request.version_stage.as_deref())?;
    let value = open(kms, &entry, version)?;
    let secret_data = match version.data_type {
        SecretDataType::Text => SecretString::new(
            String::from_utf8(value.expose().to_vec())
                .map_err(|_| KmsError::Internal("a text secret value is not UTF-8".into()))?,
        ),
        SecretDataType::Binary => SecretString::new(to_base64(value.expose())),
    };
    let record = &entry.record;
    Ok(SecretValue {
        secret_name: record.name.clone(),
        version_id: version.version_id.clone(),
        create_time: version.created_at,
        secret_data,
        secret_data_type: version.data_type,
        version_stages: version.stages.clone(),
        secret_type: record.secret_type,
        extended_config: if request.fetch_extended_config { record.extended_config.clone() } else { None },
        automatic_rotation: rotation::status(&entry),
        rotation_interval: record.rotation_interval.map(format_interval),
        last_rotation_date: record.last_rotation_date,
        next_rotation_date: rotation::next_rotation(&entry),
    })
}

/// A secret as `secret describe` shows it.
pub fn description(entry: &SecretEntry, region: &str, fetch_tags: bool) -> SecretDescription {
    let record = &entry.record;
    SecretDescription {
        arn: super::arn(region, &record.instance, &record.name),
        automatic_rotation: rotation::status(entry),
        create_time: record.created_at,
        description: record.description.clone(),
        encryption_key_id: record.encryption_key_id.clone(),
        extended_config: record.extended_config.clone(),
        last_rotation_date: record.last_rotation_date,
        next_rotation_date: rotation::next_rotation(entry),
        planned_delete_time: record.planned_delete_time,
        rotation_interval: record.rotation_interval.map(format_interval),
        secret_name: record.name.clone(),
        secret_type: record.secret_type,
        update_time: record.updated_at,
        instance: record.instance.clone(),
        tags: fetch_tags.then(|| record.tags.clone()),
        last_rotation_failure: entry.rotation_failure.clone(),
    }
}

/// `secret describe`.
pub fn describe(kms: &Kms, request: &DescribeSecretRequest) -> Result<SecretDescription, KmsError> {
    let registry = kms.registry()?;
    Ok(description(registry.secret(&request.secret_name)?, kms.region(), request.fetch_tags))
}

/// `secret list-version-ids`: oldest first; a version without a stage
/// (deprecated) only with `IncludeDeprecated`.
pub fn list_version_ids(kms: &Kms, request: &ListSecretVersionIdsRequest) -> Result<SecretVersionList, KmsError> {
    let (page_number, page_size) = limits::page(request.page_number, request.page_size)?;
    let registry = kms.registry()?;
    let entry = registry.secret(&request.secret_name)?;
    let listed: Vec<SecretVersionInfo> = entry
        .versions
        .iter()
        .filter(|v| request.include_deprecated || !v.stages.is_empty())
        .map(|v| SecretVersionInfo {
            version_id: v.version_id.clone(),
            create_time: v.created_at,
            version_stages: v.stages.clone(),
        })
        .collect();
    let total_count = listed.len() as u64;
    Ok(SecretVersionList {
        secret_name: entry.record.name.clone(),
        version_ids: limits::page_of(listed, page_number, page_size),
        page_number,
        page_size,
        total_count,
    })
}

/// The keys `secret list` filters on.
const FILTER_KEYS: [&str; 4] = ["SecretName", "Description", "TagKey", "TagValue"];

/// Refuses filters `secret list` does not know.
fn check_filters(filters: &[SecretFilter]) -> Result<(), KmsError> {
    if filters.len() > 10 {
        return Err(KmsError::InvalidParameter("Filters holds at most 10 filters".into()));
    }
    for filter in filters {
        if !FILTER_KEYS.contains(&filter.key.as_str()) {
            return Err(KmsError::InvalidParameter(format!(
                "Filters: '{}' is not one of {}",
                filter.key,
                FILTER_KEYS.join(", ")
            )));
        }
        if filter.values.is_empty() || filter.values.len() > 10 {
            return Err(KmsError::InvalidParameter(format!("Filters: '{}' takes 1 to 10 values", filter.key)));
        }
    }
    Ok(())
}

/// True when `entry` matches `filter`: one of its values matches.
fn matches(entry: &SecretEntry, filter: &SecretFilter) -> bool {
    let record = &entry.record;
    filter.values.iter().any(|value| match filter.key.as_str() {
        "SecretName" => record.name.contains(value.as_str()),
        "Description" => record.description.contains(value.as_str()),
        "TagKey" => record.tags.iter().any(|t| &t.tag_key == value),
        _ => record.tags.iter().any(|t| &t.tag_value == value),
    })
}

/// `secret list`: by name, secrets matching every filter, one page.
pub fn list(kms: &Kms, request: &ListSecretsRequest) -> Result<SecretList, KmsError> {
    check_filters(&request.filters)?;
    let (page_number, page_size) = limits::page(request.page_number, request.page_size)?;
    let registry = kms.registry()?;
    if let Some(instance) = &request.instance {
        registry.instance(instance)?;
    }
    let listed: Vec<SecretListEntry> = registry
        .secrets()
        .filter(|s| request.instance.as_deref().is_none_or(|i| s.record.instance == i))
        .filter(|s| request.filters.iter().all(|f| matches(s, f)))
        .map(|s| SecretListEntry {
            secret_name: s.record.name.clone(),
            create_time: s.record.created_at,
            update_time: s.record.updated_at,
            planned_delete_time: s.record.planned_delete_time,
            secret_type: s.record.secret_type,
            instance: s.record.instance.clone(),
            tags: request.fetch_tags.then(|| s.record.tags.clone()),
        })
        .collect();
    let total_count = listed.len() as u64;
    Ok(SecretList { secret_list: limits::page_of(listed, page_number, page_size), page_number, page_size, total_count })
}

/// A secret as the data plane lists it: nothing of its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisibleSecret {
    /// Its name.
    pub name: String,
    /// The number that names it on the data plane ([`super::entry::object_number`]).
    pub number: u64,
    /// The version with ACSCurrent.
    pub current_version_id: String,
    /// When anything of it last changed.
    pub update_time: Timestamp,
}

/// `entry` as the data plane may show it in `instance`: not pending
/// deletion, with an ACSCurrent version, and named by its number (the
/// registry's index leads back to it; a second name on one number is not
/// shown, so no two objects share an id).
fn shown(registry: &Registry, entry: &SecretEntry, instance: &str) -> Option<VisibleSecret> {
    if entry.record.instance != instance || entry.is_pending_deletion() {
        return None;
    }
    let indexed = registry.secret_by_number(entry.number()).is_some_and(|s| s.record.name == entry.record.name);
    if !indexed {
        return None;
    }
    Some(VisibleSecret {
        name: entry.record.name.clone(),
        number: entry.number(),
        current_version_id: entry.current().ok()?.version_id.clone(),
        update_time: entry.record.updated_at,
    })
}

/// The secrets of `instance` the data plane may show (`CKO_DATA`
/// objects): every one not pending deletion, by name.
pub fn visible(kms: &Kms, instance: &str) -> Result<Vec<VisibleSecret>, KmsError> {
    let registry = kms.registry()?;
    registry.instance(instance)?;
    Ok(registry.secrets().filter_map(|s| shown(&registry, s, instance)).collect())
}

/// The secret `name` of `instance` if [`visible`] lists it: one lookup,
/// for a find by label.
pub fn visible_named(kms: &Kms, instance: &str, name: &str) -> Result<Option<VisibleSecret>, KmsError> {
    let registry = kms.registry()?;
    registry.instance(instance)?;
    Ok(registry.secret(name).ok().and_then(|s| shown(&registry, s, instance)))
}

/// The name of the secret of `instance` whose number is `number`, pending
/// deletion or not: what an object id the data plane handed out names now.
pub fn named(kms: &Kms, instance: &str, number: u64) -> Result<Option<String>, KmsError> {
    let registry = kms.registry()?;
    Ok(registry.secret_by_number(number).filter(|s| s.record.instance == instance).map(|s| s.record.name.clone()))
}

/// The ACSCurrent value of secret `name` of `instance` (a secret of
/// another instance is not found from this one), for the length of one
/// call: `SecretPendingDeletion` in its recovery window, and the
/// encrypting key's own code when the key refuses.
pub fn current_value(kms: &Kms, instance: &str, name: &str) -> Result<SecretBytes, KmsError> {
    let entry = kms.registry()?.secret(name)?.clone();
    if entry.record.instance != instance {
        return Err(KmsError::SecretNotFound(name.to_owned()));
    }
    entry.check_not_pending()?;
    open(kms, &entry, entry.current()?)
}
