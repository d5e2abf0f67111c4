//! What a migration reads of a secret on one daemon: its description
//! with tags (`DescribeSecret`), every version with deprecated ones
//! (`ListSecretVersionIds`, page after page) in creation order, and each
//! version's value (`GetSecretValue`), kept as a digest. Only the first
//! read of the source keeps the values themselves, for the copy; a value
//! read otherwise is wiped as soon as its digest is taken.

use zeroize::Zeroizing;

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{
    DescribeSecretRequest, GetSecretValueRequest, ListSecretVersionIdsRequest, SecretDataType, SecretDescription,
    SecretValue, SecretVersionInfo, op,
};
use p11kms_proto::bytes::from_base64;

use super::digest::{Digest, DigestKey};
use super::error::{MigrateError, Role};
use super::plan;
use super::side::Side;

/// Versions asked for per page: the API's largest page.
const PAGE_SIZE: u32 = 100;

/// One version as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionState {
    /// Its id.
    pub version_id: String,
    /// When it was made (differs between the regions: not compared).
    pub create_time: Timestamp,
    /// Its stages, sorted.
    pub stages: Vec<String>,
    /// How its value is written.
    pub data_type: SecretDataType,
    /// Its value's digest.
    pub digest: Digest,
}

/// A secret as read on one daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretState {
    /// `DescribeSecret` with tags.
    pub description: SecretDescription,
    /// Every version, oldest first ([`plan::order`]).
    pub versions: Vec<VersionState>,
}

/// Whether the values read are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Kept (in wiped-on-drop strings), in the order of the versions.
    Values,
    /// Only their digests.
    Digests,
}

/// `DescribeSecret` with tags.
pub fn describe(side: &Side, name: &str) -> Result<SecretDescription, MigrateError> {
    side.call::<op::DescribeSecret>(&DescribeSecretRequest { secret_name: name.to_owned(), fetch_tags: true })
}

/// Every version of the secret, deprecated ones too, oldest first.
pub fn versions(side: &Side, name: &str) -> Result<Vec<SecretVersionInfo>, MigrateError> {
    let mut versions = Vec::new();
    for page_number in 1.. {
        let page = side.call::<op::ListSecretVersionIds>(&ListSecretVersionIdsRequest {
            secret_name: name.to_owned(),
            include_deprecated: true,
            page_number: Some(page_number),
            page_size: Some(PAGE_SIZE),
        })?;
        let empty = page.version_ids.is_empty();
        versions.extend(page.version_ids);
        if empty || versions.len() as u64 >= page.total_count {
            break;
        }
    }
    plan::order(&mut versions, |v| v.create_time);
    Ok(versions)
}

/// The versions and values of the secret `description` describes; the
/// values themselves too with [`Keep::Values`].
pub fn state(
    side: &Side,
    description: SecretDescription,
    key: &DigestKey,
    keep: Keep,
) -> Result<(SecretState, Vec<SecretValue>), MigrateError> {
    let name = description.secret_name.clone();
    let mut states = Vec::new();
    let mut kept = Vec::new();
    for listed in versions(side, &name)? {
        let value = side.call::<op::GetSecretValue>(&GetSecretValueRequest {
            secret_name: name.clone(),
            version_id: Some(listed.version_id.clone()),
            version_stage: None,
            fetch_extended_config: false,
        })?;
        let mut stages = listed.version_stages;
        stages.sort();
        let mut read_stages = value.version_stages.clone();
        read_stages.sort();
        if read_stages != stages {
            return Err(changed_while_read(side.role, &name, &listed.version_id));
        }
        let digest = key.digest(&bytes(side.role, &value)?);
        states.push(VersionState {
            version_id: listed.version_id,
            create_time: listed.create_time,
            stages,
            data_type: value.secret_data_type,
            digest,
        });
        if keep == Keep::Values {
            kept.push(value);
        }
    }
    Ok((SecretState { description, versions: states }, kept))
}

/// A value's bytes: a text value's UTF-8, a binary value's decoded base64.
fn bytes(role: Role, value: &SecretValue) -> Result<Zeroizing<Vec<u8>>, MigrateError> {
    match value.secret_data_type {
        SecretDataType::Text => Ok(Zeroizing::new(value.secret_data.expose().as_bytes().to_vec())),
        SecretDataType::Binary => {
            from_base64(value.secret_data.expose()).map(Zeroizing::new).map_err(|_| MigrateError::Malformed {
                role,
                what: format!("the binary value of version '{}' is not base64", value.version_id),
            })
        }
    }
}

/// A version whose stages changed between the list and its value.
fn changed_while_read(role: Role, name: &str, version_id: &str) -> MigrateError {
    let what = format!("the stages of version '{version_id}' changed while it was read");
    match role {
        Role::Source => MigrateError::SourceChanged { name: name.to_owned(), what },
        Role::Destination => MigrateError::Malformed { role, what: format!("{what}: something else changes the copy") },
    }
}
