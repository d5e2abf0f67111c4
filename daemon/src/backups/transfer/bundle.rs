//! What a backup data file carries (its payload, JSON): the keys and
//! secrets a backup holds at the end of a day, as its points keep them
//! (`snapshot`), and for a software instance each version's material,
//! wrapped under the file's key. Checked whole against the file's header
//! before anything of it is used.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use p11kms_proto::Timestamp;
use p11kms_proto::admin::InstanceKind;
use p11kms_proto::admin::backup_file::FileHeader;

use super::super::snapshot::{KeySnapshot, MaterialSnapshot, SecretSnapshot};
use crate::hsm::VersionName;
use crate::kms::KmsError;
use crate::kms::keys::version_name;
use crate::kms::registry::VersionEntry;

/// A backup data file's payload.
#[derive(Debug, Serialize, Deserialize)]
pub struct Bundle {
    /// The backup downloaded.
    pub backup_id: String,
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// The instance it backed up.
    pub instance: String,
    /// Its kind.
    pub instance_kind: InstanceKind,
    /// The second the data stands for.
    pub as_of: Timestamp,
    /// Its keys.
    pub keys: Vec<KeySnapshot>,
    /// Its secrets (values encrypted, as the store keeps them).
    pub secrets: Vec<SecretSnapshot>,
    /// Each version's material (software instances), wrapped under the
    /// file's key.
    pub materials: Vec<MaterialSnapshot>,
}

fn refused(why: impl std::fmt::Display) -> KmsError {
    KmsError::InvalidParameter(format!("the backup data file is refused: {why}"))
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Bundle {
    /// The header of its file (the sealing sets the rest).
    pub fn header(&self) -> FileHeader {
        FileHeader {
            nonce_prefix: [0; 8],
            chunk_size: 0,
            chunk_count: 0,
            payload_len: 0,
            instance_kind: self.instance_kind,
            key_count: count(self.keys.len()),
            secret_count: count(self.secrets.len()),
            material_count: count(self.materials.len()),
            as_of: self.as_of.unix(),
            key_check: [0; 16],
            date: self.date.clone(),
            backup_id: self.backup_id.clone(),
        }
    }

    /// Reads a payload and checks it against its (authenticated) header:
    /// the same counts and names, no key or secret twice, every material
    /// of a version of a key it carries, and (software) every version with
    /// material carrying it.
    pub fn decode(payload: &[u8], header: &FileHeader) -> Result<Self, KmsError> {
        let bundle: Self = serde_json::from_slice(payload).map_err(|e| refused(format!("its data: {e}")))?;
        let expected = bundle.header();
        let same = expected.instance_kind == header.instance_kind
            && expected.key_count == header.key_count
            && expected.secret_count == header.secret_count
            && expected.material_count == header.material_count
            && expected.as_of == header.as_of
            && expected.date == header.date
            && expected.backup_id == header.backup_id;
        if !same {
            return Err(refused("its data does not match its header's counts and names"));
        }
        bundle.check().map_err(refused)?;
        Ok(bundle)
    }

    /// Checks it whole: no key or secret twice, every material of a
    /// version of a key it carries, and (software) every version with
    /// material carrying it; a hardware instance's carries none. The
    /// reason when it is not so.
    pub fn check(&self) -> Result<(), String> {
        let keys: BTreeSet<&str> = self.keys.iter().map(|k| k.record.key_id.as_str()).collect();
        let secrets: BTreeSet<&str> = self.secrets.iter().map(|s| s.record.name.as_str()).collect();
        if keys.len() != self.keys.len() || secrets.len() != self.secrets.len() {
            return Err("it carries a key or a secret twice".into());
        }
        let mut carried = BTreeSet::new();
        for material in &self.materials {
            self.find_version(material)?;
            if !carried.insert((material.key_id.as_str(), material.version_id.as_str())) {
                return Err(format!("it carries version {} twice", material.version_id));
            }
        }
        if self.instance_kind == InstanceKind::Software {
            for key in &self.keys {
                for version in key.versions.iter().filter(|v| v.has_material) {
                    if !carried.contains(&(key.record.key_id.as_str(), version.version_id.as_str())) {
                        return Err(format!(
                            "it lacks the material of version {} of key {}",
                            version.version_id, key.record.key_id
                        ));
                    }
                }
            }
        } else if !self.materials.is_empty() {
            return Err("a hardware instance's backup carries no key material".into());
        }
        Ok(())
    }

    /// The key and version `material` belongs to, or why not.
    fn find_version(&self, material: &MaterialSnapshot) -> Result<VersionName, String> {
        let key = self
            .keys
            .iter()
            .find(|k| k.record.key_id == material.key_id)
            .ok_or_else(|| format!("it carries material of key {}, which it lacks", material.key_id))?;
        let version =
            key.versions.iter().find(|v| v.version_id == material.version_id && v.has_material).ok_or_else(|| {
                format!("key {} has no version {} with material", key.record.key_id, material.version_id)
            })?;
        let entry = VersionEntry::new(version.clone()).map_err(|e| e.to_string())?;
        Ok(version_name(&key.record, &entry))
    }

    /// The HSM name of the version `material` belongs to.
    pub fn version(&self, material: &MaterialSnapshot) -> Result<VersionName, KmsError> {
        self.find_version(material).map_err(refused)
    }
}
