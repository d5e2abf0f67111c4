//! What a backup point holds of each key and secret of its instance: a
//! snapshot of its rows (metadata, versions, aliases; a secret's versions
//! with their values encrypted only, as the store keeps them), serialized
//! as one object. And which keys and secrets the journal says changed
//! since a position, so an incremental snapshots only those.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::kms::registry::{KeyEntry, Registry};
use crate::kms::secrets::SecretEntry;
use crate::kms::{Kms, KmsError};
use crate::store::{KeyRecord, SecretRecord, SecretVersionRecord, VersionRecord};

/// A key as a point holds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeySnapshot {
    /// Its row.
    pub record: KeyRecord,
    /// Its versions' rows, oldest first.
    pub versions: Vec<VersionRecord>,
    /// Its aliases.
    pub aliases: Vec<String>,
    /// The `CKA_ID` an application gave it (hex in the object); absent
    /// from the objects of keys without one, so theirs are as before.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "hex_option")]
    pub app_id: Option<Vec<u8>>,
    /// The `CKA_ALLOWED_MECHANISMS` an application gave it; absent from
    /// the objects of keys without them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_mechanisms: Vec<u64>,
}

impl KeySnapshot {
    /// A key of row `record` with nothing else yet (a journal replay adds
    /// its versions, aliases and PKCS#11 names).
    pub fn new(record: KeyRecord) -> Self {
        Self { record, versions: Vec::new(), aliases: Vec::new(), app_id: None, allowed_mechanisms: Vec::new() }
    }
}

/// An optional byte string as hex.
mod hex_option {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, serializer: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => serializer.serialize_some(&hex::encode(bytes)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| hex::decode(text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// A secret as a point holds it (values encrypted).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SecretSnapshot {
    /// Its row.
    pub record: SecretRecord,
    /// Its versions, oldest first.
    pub versions: Vec<SecretVersionRecord>,
}

/// A version's material as the backup of a software instance keeps it:
/// its secret part wrapped under the backup root key, inside an HSM.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MaterialSnapshot {
    /// Its key.
    pub key_id: String,
    /// The version.
    pub version_id: String,
    /// Wrapped under the backup root key (AES key wrap with padding).
    #[serde(with = "p11kms_proto::bytes")]
    pub wrapped: Vec<u8>,
}

/// An entity of a point: a key by id, a secret by name, or a key
/// version's material (`<key id>/<version id>`, software instances only).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Entity {
    /// A key, by id.
    Key(String),
    /// A secret, by name.
    Secret(String),
    /// A version's material, by `<key id>/<version id>`.
    Material(String),
    /// A version's canary (`canary`), by `<key id>/<version id>`.
    Canary(String),
}

impl Entity {
    /// The material entity of a key's version.
    pub fn material(key_id: &str, version_id: &str) -> Self {
        Self::Material(format!("{key_id}/{version_id}"))
    }

    /// The canary entity of a key's version.
    pub fn canary(key_id: &str, version_id: &str) -> Self {
        Self::Canary(format!("{key_id}/{version_id}"))
    }

    /// True for a material or canary entity of key `key_id`.
    pub fn is_material_of(&self, key_id: &str) -> bool {
        matches!(self, Self::Material(name) | Self::Canary(name) if name.split_once('/').is_some_and(|(k, _)| k == key_id))
    }
}

fn key_snapshot(key: &KeyEntry) -> KeySnapshot {
    KeySnapshot {
        record: key.record.clone(),
        versions: key.versions.iter().map(|v| v.record.clone()).collect(),
        aliases: key.aliases.clone(),
        app_id: key.app_id.clone(),
        allowed_mechanisms: key.allowed_mechanisms.clone(),
    }
}

fn secret_snapshot(secret: &SecretEntry) -> SecretSnapshot {
    SecretSnapshot { record: secret.record.clone(), versions: secret.versions.clone() }
}

/// The bytes of `entity` as it is now in `instance`; `None` when it is not
/// there (gone, or in another instance).
pub fn encode(registry: &Registry, instance: &str, entity: &Entity) -> Result<Option<Vec<u8>>, KmsError> {
    let bytes = match entity {
        Entity::Key(id) => match registry.key(id) {
            Ok(key) if key.record.instance == instance => serde_json::to_vec(&key_snapshot(key)),
            _ => return Ok(None),
        },
        Entity::Secret(name) => match registry.secret(name) {
            Ok(secret) if secret.record.instance == instance => serde_json::to_vec(&secret_snapshot(secret)),
            _ => return Ok(None),
        },
        Entity::Material(_) | Entity::Canary(_) => {
            return Err(KmsError::Internal("material and canaries are made in the HSM, not encoded".into()));
        }
    };
    bytes.map(Some).map_err(|e| KmsError::Internal(format!("backup snapshot: {e}")))
}

/// Every key and secret of `instance` now.
pub fn entities_of(registry: &Registry, instance: &str) -> BTreeSet<Entity> {
    let keys = registry.keys().filter(|k| k.record.instance == instance).map(|k| Entity::Key(k.record.key_id.clone()));
    let secrets =
        registry.secrets().filter(|s| s.record.instance == instance).map(|s| Entity::Secret(s.record.name.clone()));
    keys.chain(secrets).collect()
}

/// The keys and secrets the journal says changed after position
/// `after_seq`, and the position it read up to.
pub fn changed_since(kms: &Kms, after_seq: i64) -> Result<(BTreeSet<Entity>, i64), KmsError> {
    let mut changed = BTreeSet::new();
    let mut position = after_seq;
    loop {
        let entries = kms.store.journal_since(position, 1_000)?;
        let Some(last) = entries.last() else { break };
        position = last.seq;
        for entry in &entries {
            let payload: BTreeMap<String, serde_json::Value> = serde_json::from_str(&entry.payload).unwrap_or_default();
            let field = |name: &str| payload.get(name).and_then(|v| v.as_str()).map(str::to_owned);
            let entity = match entry.entity.as_str() {
                "key" => Some(Entity::Key(entry.entity_id.clone())),
                "key_version" | "alias" | "lost_version" => field("key_id").map(Entity::Key),
                "key_app_id" | "key_mechanisms" => Some(Entity::Key(entry.entity_id.clone())),
                "secret" => Some(Entity::Secret(entry.entity_id.clone())),
                "secret_version" => field("secret_name").map(Entity::Secret),
                _ => None,
            };
            changed.extend(entity);
        }
    }
    Ok((changed, position))
}

/// Reads a key's snapshot back.
pub fn decode_key(bytes: &[u8]) -> Result<KeySnapshot, KmsError> {
    serde_json::from_slice(bytes).map_err(|e| KmsError::Internal(format!("a backed-up key does not decode: {e}")))
}

/// Reads a version's material back.
pub fn decode_material(bytes: &[u8]) -> Result<MaterialSnapshot, KmsError> {
    serde_json::from_slice(bytes).map_err(|e| KmsError::Internal(format!("backed-up material does not decode: {e}")))
}

/// Reads a secret's snapshot back.
pub fn decode_secret(bytes: &[u8]) -> Result<SecretSnapshot, KmsError> {
    serde_json::from_slice(bytes).map_err(|e| KmsError::Internal(format!("a backed-up secret does not decode: {e}")))
}
