//! A key as the registry holds it: its row, its versions with their HSM
//! ids and public halves, its aliases and its last rotation's failure.

use p11kms_proto::admin::{KeyMigrationOrigin, RotationFailure};

use super::super::error::KmsError;
use super::super::names::{self, ALIAS_PREFIX};
use crate::hsm::PublicKey;
use crate::store::{KeyRecord, LostVersionRecord, VersionRecord};

/// A key with its versions and aliases.
#[derive(Clone, Debug)]
pub struct KeyEntry {
    /// The key's row.
    pub record: KeyRecord,
    /// Versions, oldest first.
    pub versions: Vec<VersionEntry>,
    /// Aliases, oldest first.
    pub aliases: Vec<String>,
    /// The last automatic rotation's failure, until one succeeds. Kept in
    /// memory only: after a restart the scheduler tries again at once.
    pub rotation_failure: Option<RotationFailure>,
    /// Where the key came from, when a CMK migration moved it into its
    /// instance (from the task that did).
    pub migrated: Option<KeyMigrationOrigin>,
    /// The `CKA_ID` an application gave the key (`store::KeyAppIdRecord`),
    /// shown by its primary version's objects instead of the version id.
    pub app_id: Option<Vec<u8>>,
    /// The `CKA_ALLOWED_MECHANISMS` an application gave the key
    /// (`store::KeyMechanismsRecord`); empty: every mechanism its usage has.
    pub allowed_mechanisms: Vec<u64>,
}

/// A key version.
#[derive(Clone, Debug)]
pub struct VersionEntry {
    /// The version's row.
    pub record: VersionRecord,
    /// Its id as the HSM objects' `CKA_ID`.
    pub uuid: [u8; 16],
    /// Public half of an asymmetric version.
    pub public_key: Option<PublicKey>,
    /// When its material was recorded lost (no HSM holds it any more).
    pub lost: Option<LostVersionRecord>,
}

impl KeyEntry {
    /// A key of row `record`, with nothing attached yet (versions and
    /// aliases follow).
    pub fn new(record: KeyRecord) -> Self {
        Self {
            record,
            versions: Vec::new(),
            aliases: Vec::new(),
            rotation_failure: None,
            migrated: None,
            app_id: None,
            allowed_mechanisms: Vec::new(),
        }
    }

    /// False when the key's allowed mechanisms list some and `mechanism`
    /// is not among them.
    pub fn allows_mechanism(&self, mechanism: u64) -> bool {
        self.allowed_mechanisms.is_empty() || self.allowed_mechanisms.contains(&mechanism)
    }

    /// The name PKCS#11 shows as the primary version's `CKA_LABEL`: the
    /// oldest alias without its `alias/` prefix, else the key id.
    pub fn label(&self) -> String {
        match self.aliases.first() {
            Some(alias) => alias.strip_prefix(ALIAS_PREFIX).unwrap_or(alias).to_owned(),
            None => self.record.key_id.clone(),
        }
    }

    /// True when `text` names this key: its id, an alias, or an alias
    /// without the prefix.
    pub fn is_named(&self, text: &str) -> bool {
        text == self.record.key_id
            || self.aliases.iter().any(|a| a == text || a.strip_prefix(ALIAS_PREFIX) == Some(text))
    }

    /// The primary version.
    pub fn primary(&self) -> Option<&VersionEntry> {
        self.versions.iter().find(|v| v.record.version_id == self.record.primary_version)
    }

    /// A version by id.
    pub fn version(&self, version_id: &str) -> Option<&VersionEntry> {
        self.versions.iter().find(|v| v.record.version_id == version_id)
    }
}

impl VersionEntry {
    /// Builds an entry from its row.
    pub fn new(record: VersionRecord) -> Result<Self, KmsError> {
        let uuid = names::version_bytes(&record.version_id)
            .ok_or_else(|| KmsError::Internal(format!("version id '{}' is not a UUID", record.version_id)))?;
        let public_key = match &record.public_key {
            Some(json) => Some(
                PublicKey::from_json(json)
                    .map_err(|e| KmsError::Internal(format!("public key of {}: {e}", record.version_id)))?,
            ),
            None => None,
        };
        Ok(Self { record, uuid, public_key, lost: None })
    }
}
