//! Keys as the spec's API shows them (`KeyMetadata`).

use p11kms_proto::admin::{
    DeletionProtection, InstanceKind, KeyDescription, KeyMetadata, KeyVersionInfo, ProtectionLevel,
};

use p11kms_proto::interval::format_interval;

use super::keys::{rotation, service};
use super::registry::{KeyEntry, VersionEntry};

/// `KeyMetadata` of a key in an instance of `kind`, in `region`.
pub fn key_metadata(key: &KeyEntry, kind: InstanceKind, region: &str) -> KeyMetadata {
    let r = &key.record;
    let last_rotation = rotation::last_rotation(key);
    KeyMetadata {
        arn: format!("acs:kms:{region}:{}:key/{}", r.instance, r.key_id),
        automatic_rotation: rotation::status(key),
        creation_date: r.created_at,
        creator: r.creator.clone(),
        delete_date: r.delete_date,
        deletion_protection: if r.deletion_protection {
            DeletionProtection::Enabled
        } else {
            DeletionProtection::Disabled
        },
        description: r.description.clone(),
        instance: r.instance.clone(),
        key_id: r.key_id.clone(),
        key_spec: r.key_spec,
        key_state: r.state,
        key_usage: r.key_usage,
        last_rotation_date: last_rotation,
        material_expire_time: r.material_expire_time,
        next_rotation_date: rotation::next_rotation(key),
        origin: r.origin,
        primary_key_version: r.primary_version.clone(),
        protection_level: match kind {
            InstanceKind::Hardware => ProtectionLevel::Hsm,
            InstanceKind::Software | InstanceKind::Default => ProtectionLevel::Software,
        },
        rotation_interval: r.rotation_interval.map(format_interval),
        last_rotation_failure: key.rotation_failure.clone(),
        key_manager_type: service::manager_type(r),
        migrated: key.migrated.clone(),
    }
}

/// `key describe`'s answer.
pub fn key_description(key: &KeyEntry, kind: InstanceKind, region: &str) -> KeyDescription {
    KeyDescription {
        key_metadata: key_metadata(key, kind, region),
        aliases: key.aliases.clone(),
        tags: key.record.tags.clone(),
        pkcs11_id: key.primary().map(|v| hex::encode(v.uuid)).unwrap_or_default(),
        lost_key_versions: key
            .versions
            .iter()
            .filter(|v| v.lost.is_some())
            .map(|v| v.record.version_id.clone())
            .collect(),
        used_with_export_operations: key.record.export_uses.operations(),
        pkcs11_allowed_mechanisms: key.allowed_mechanisms.iter().map(|m| mechanism_name(*m)).collect(),
    }
}

/// One version as `list-versions` shows it.
pub fn version_info(version: &VersionEntry) -> KeyVersionInfo {
    KeyVersionInfo {
        key_id: version.record.key_id.clone(),
        key_version_id: version.record.version_id.clone(),
        creation_date: version.record.created_at,
        lost_date: version.lost.as_ref().map(|l| l.lost_at),
    }
}

/// A PKCS#11 mechanism's name (`CKM_AES_GCM`), or its number in hex when
/// cryptoki has no name for it (a vendor's).
fn mechanism_name(mechanism: u64) -> String {
    match cryptoki::mechanism::MechanismType::try_from(mechanism) {
        Ok(known) => known.to_string(),
        Err(_) => format!("{mechanism:#x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanisms_are_named_as_pkcs11_names_them() {
        assert_eq!(mechanism_name(cryptoki_sys::CKM_AES_GCM), "CKM_AES_GCM");
        assert_eq!(mechanism_name(cryptoki_sys::CKM_ECDSA_SHA256), "CKM_ECDSA_SHA256");
        assert_eq!(mechanism_name(0x8000_1234), "0x80001234", "a vendor's: its number");
    }
}
