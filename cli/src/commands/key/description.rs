//! Describing and listing keys: `key describe`, `key list`, and the
//! `Field: value` description of a key that `key create` prints too.

use clap::Args;
use p11kms_proto::admin::{KeyDescription, KeyList, KeyRef, KeySpec, KeyState, ListKeysRequest, op};

use super::super::values::named_value;
use super::super::{Invocation, RenderError, RequestError};
use crate::output::{self, Fields, Format, Table, list_or_dash, or_dash};

/// `key describe KEY`.
#[derive(Debug, Args)]
pub struct DescribeKeyArgs {
    /// Key id or alias (`alias/...`).
    #[arg(value_name = "KEY")]
    key: String,
}

impl Invocation for DescribeKeyArgs {
    type Op = op::DescribeKey;

    fn request(&self) -> Result<KeyRef, RequestError> {
        Ok(KeyRef { key: self.key.clone() })
    }

    fn render(&self, key: &KeyDescription, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, key, fields)?)
    }
}

/// `key list` and its filters.
#[derive(Debug, Args)]
pub struct ListKeysArgs {
    /// Only the keys of this instance.
    #[arg(long, value_name = "INSTANCE")]
    instance: Option<String>,
    /// Only keys in this state.
    #[arg(long, value_name = "STATE", ignore_case = true, value_parser = named_value(KeyState::ALL, KeyState::as_str))]
    key_state: Option<KeyState>,
    /// Only keys of this spec.
    #[arg(long, value_name = "SPEC", ignore_case = true, value_parser = named_value(KeySpec::ALL, KeySpec::as_str))]
    key_spec: Option<KeySpec>,
    /// Only the key with this alias.
    #[arg(long, value_name = "ALIAS")]
    alias: Option<String>,
}

impl Invocation for ListKeysArgs {
    type Op = op::ListKeys;

    fn request(&self) -> Result<ListKeysRequest, RequestError> {
        Ok(ListKeysRequest {
            instance: self.instance.clone(),
            key_state: self.key_state,
            key_spec: self.key_spec,
            alias: self.alias.clone(),
        })
    }

    fn render(&self, keys: &KeyList, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, keys, table)?)
    }
}

/// A key as `Field: value` lines, in the order of the spec's DescribeKey.
pub(super) fn fields(key: &KeyDescription) -> String {
    let meta = &key.key_metadata;
    let fields = Fields::new()
        .field("KeyId", &meta.key_id)
        .field("Arn", &meta.arn)
        .field("Aliases", list_or_dash(&key.aliases))
        .field(
            "Tags",
            list_or_dash(&key.tags.iter().map(|t| format!("{}={}", t.tag_key, t.tag_value)).collect::<Vec<_>>()),
        )
        .field("Description", &meta.description)
        .field("DKMSInstanceId", &meta.instance)
        .field("KeySpec", meta.key_spec)
        .field("KeyUsage", meta.key_usage)
        .field("KeyState", meta.key_state)
        .field("Origin", meta.origin)
        .field("ProtectionLevel", meta.protection_level)
        .field("Creator", &meta.creator)
        .field("KeyManagerType", meta.key_manager_type)
        .field("CreationDate", meta.creation_date)
        .field("PrimaryKeyVersion", &meta.primary_key_version)
        .field("Pkcs11Id", &key.pkcs11_id)
        .field("LastRotationDate", meta.last_rotation_date)
        .field("AutomaticRotation", meta.automatic_rotation)
        .field("RotationInterval", or_dash(meta.rotation_interval.as_ref()))
        .field("NextRotationDate", or_dash(meta.next_rotation_date.as_ref()))
        .field("DeletionProtection", meta.deletion_protection)
        .field("DeleteDate", or_dash(meta.delete_date.as_ref()))
        .field("MaterialExpireTime", or_dash(meta.material_expire_time.as_ref()));
    let fields = match &meta.last_rotation_failure {
        Some(failure) => {
            fields.field("LastRotationFailure", format!("{} {}: {}", failure.time, failure.code, failure.message))
        }
        None => fields,
    };
    // Only a migrated key says where it came from, and when.
    let fields = match &meta.migrated {
        Some(m) => fields.field(
            "MigratedFrom",
            format!("instance '{}' on {} (task {})", m.from_instance, m.migration_date, m.task_id),
        ),
        None => fields,
    };
    // Only a key with lost versions says so (`Rejected.KeyVersionLost`).
    let fields = if key.lost_key_versions.is_empty() {
        fields
    } else {
        fields.field("LostKeyVersions", list_or_dash(&key.lost_key_versions))
    };
    // Only a key an application restricted to some PKCS#11 mechanisms.
    let fields = if key.pkcs11_allowed_mechanisms.is_empty() {
        fields
    } else {
        fields.field("Pkcs11AllowedMechanisms", key.pkcs11_allowed_mechanisms.join(","))
    };
    // Likewise only a key used with ReEncrypt, ExportDataKey or
    // GenerateAndExportDataKey (what the CMK migration refuses): its long
    // name would widen every line of every other description.
    if key.used_with_export_operations.is_empty() {
        fields.render()
    } else {
        let used: Vec<String> = key.used_with_export_operations.iter().map(ToString::to_string).collect();
        fields.field("UsedWithExportOperations", used.join(",")).render()
    }
}

fn table(list: &KeyList) -> String {
    let mut table = Table::new(&[
        "KEY-ID",
        "ALIASES",
        "INSTANCE",
        "KEY-SPEC",
        "KEY-USAGE",
        "KEY-STATE",
        "KEY-MANAGER-TYPE",
        "CREATED",
    ]);
    for key in &list.keys {
        let meta = &key.key_metadata;
        table.row(vec![
            meta.key_id.clone(),
            list_or_dash(&key.aliases),
            meta.instance.clone(),
            meta.key_spec.to_string(),
            meta.key_usage.to_string(),
            meta.key_state.to_string(),
            meta.key_manager_type.to_string(),
            meta.creation_date.to_string(),
        ]);
    }
    let mut text = table.render();
    if usize::try_from(list.total_count).ok() != Some(list.keys.len()) {
        text.push_str(&format!("({} of {} keys shown)\n", list.keys.len(), list.total_count));
    }
    text
}

/// A key's description for tests: an Enabled AES_256 key of `hsm1` with
/// these aliases and the tag `team=payments`.
#[cfg(test)]
pub(super) fn described(id: &str, aliases: &[&str]) -> KeyDescription {
    use p11kms_proto::Timestamp;
    use p11kms_proto::admin::{
        AutomaticRotation, DeletionProtection, KeyManagerType, KeyMetadata, KeyUsage, Origin, ProtectionLevel, Tag,
    };
    KeyDescription {
        key_metadata: KeyMetadata {
            arn: format!("acs:kms:local:hsm1:key/{id}"),
            automatic_rotation: AutomaticRotation::Disabled,
            creation_date: Timestamp(1_700_000_000),
            creator: "admin:0".into(),
            delete_date: None,
            deletion_protection: DeletionProtection::Disabled,
            description: "payments".into(),
            instance: "hsm1".into(),
            key_id: id.into(),
            key_spec: KeySpec::Aes256,
            key_state: KeyState::Enabled,
            key_usage: KeyUsage::EncryptDecrypt,
            last_rotation_date: Timestamp(1_700_000_000),
            material_expire_time: None,
            next_rotation_date: Some(Timestamp(1_700_604_800)),
            origin: Origin::AliyunKms,
            primary_key_version: "v-1".into(),
            protection_level: ProtectionLevel::Hsm,
            rotation_interval: Some("604800s".into()),
            last_rotation_failure: None,
            key_manager_type: KeyManagerType::Cmk,
            migrated: None,
        },
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        tags: vec![Tag { tag_key: "team".into(), tag_value: "payments".into() }],
        pkcs11_id: "0123456789abcdef0123456789abcdef".into(),
        lost_key_versions: vec![],
        used_with_export_operations: vec![],
        pkcs11_allowed_mechanisms: vec![],
    }
}

#[cfg(test)]
mod tests {
    use p11kms_proto::admin::{ExportOperation, KeyManagerType, Tag};

    use super::super::super::test_support::{human, json, refused, request};
    use super::super::create::CreateKeyArgs;
    use super::*;

    #[test]
    fn describe_json_is_the_api_shape() {
        let json = json::<DescribeKeyArgs>(&["key", "describe", "key-1"], &described("key-1", &["alias/pay"]));
        assert_eq!(json["KeyMetadata"]["KeyId"], "key-1");
        assert_eq!(json["KeyMetadata"]["KeySpec"], "AES_256");
        assert_eq!(json["KeyMetadata"]["NextRotationDate"], "2023-11-21T22:13:20Z");
        assert!(json["KeyMetadata"]["DeleteDate"].is_null());
        assert_eq!(json["KeyMetadata"]["KeyManagerType"], "CMK");
        assert_eq!(json["Aliases"], serde_json::json!(["alias/pay"]));
    }

    #[test]
    fn describe_prints_fields() {
        let text = human::<DescribeKeyArgs>(&["key", "describe", "key-1"], &described("key-1", &[]));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "KeyId:              key-1");
        assert!(lines.contains(&"Aliases:            -"), "{text}");
        assert!(lines.contains(&"KeyUsage:           ENCRYPT/DECRYPT"), "{text}");
        assert!(lines.contains(&"KeyManagerType:     CMK"), "{text}");
        assert!(lines.contains(&"NextRotationDate:   2023-11-21T22:13:20Z"), "{text}");
        assert!(lines.contains(&"DeleteDate:         -"), "{text}");
        // key create answers with the same description.
        let created = human::<CreateKeyArgs>(
            &["key", "create", "--instance", "hsm1", "--key-spec", "AES_256"],
            &described("key-1", &[]),
        );
        assert_eq!(created, text);
    }

    #[test]
    fn list_prints_a_table_and_json() {
        let mut service = described("key-22", &["alias/acs/secrets/hsm1"]);
        service.key_metadata.key_manager_type = KeyManagerType::ServiceKey;
        service.key_metadata.creator = "service:secrets".into();
        let list = KeyList { keys: vec![described("key-1", &["alias/a", "alias/b"]), service], total_count: 2 };
        assert_eq!(
            human::<ListKeysArgs>(&["key", "list"], &list),
            "KEY-ID  ALIASES                 INSTANCE  KEY-SPEC  KEY-USAGE        KEY-STATE  KEY-MANAGER-TYPE  CREATED\n\
             key-1   alias/a,alias/b         hsm1      AES_256   ENCRYPT/DECRYPT  Enabled    CMK               2023-11-14T22:13:20Z\n\
             key-22  alias/acs/secrets/hsm1  hsm1      AES_256   ENCRYPT/DECRYPT  Enabled    Service Key       2023-11-14T22:13:20Z\n"
        );
        let json = json::<ListKeysArgs>(&["key", "list"], &list);
        assert_eq!(json["TotalCount"], 2);
        assert_eq!(json["Keys"][1]["KeyMetadata"]["KeyId"], "key-22");
        assert_eq!(json["Keys"][0]["KeyMetadata"]["KeyManagerType"], "CMK");
        assert_eq!(json["Keys"][1]["KeyMetadata"]["KeyManagerType"], "Service Key");
    }

    #[test]
    fn list_takes_filters() {
        assert_eq!(
            request::<ListKeysArgs>(&[
                "key",
                "list",
                "--key-state",
                "pendingdeletion",
                "--key-spec",
                "RSA_2048",
                "--alias",
                "alias/a"
            ]),
            ListKeysRequest {
                instance: None,
                key_state: Some(KeyState::PendingDeletion),
                key_spec: Some(KeySpec::Rsa2048),
                alias: Some("alias/a".into()),
            }
        );
        let err = refused(&["key", "list", "--key-state", "Gone"]);
        for state in KeyState::ALL {
            assert!(err.to_string().contains(state.as_str()), "{state} missing: {err}");
        }
    }

    #[test]
    fn describe_shows_the_recorded_export_uses_only_when_there_are_some() {
        let mut key = described("key-1", &[]);
        let text = human::<DescribeKeyArgs>(&["key", "describe", "key-1"], &key);
        assert!(!text.contains("UsedWithExportOperations"), "{text}");
        let shape = json::<DescribeKeyArgs>(&["key", "describe", "key-1"], &key);
        assert_eq!(shape["UsedWithExportOperations"], serde_json::json!([]), "always in JSON");
        key.used_with_export_operations = vec![ExportOperation::ReEncrypt, ExportOperation::ExportDataKey];
        let text = human::<DescribeKeyArgs>(&["key", "describe", "key-1"], &key);
        assert!(text.ends_with("UsedWithExportOperations: ReEncrypt,ExportDataKey\n"), "{text}");
        let shape = json::<DescribeKeyArgs>(&["key", "describe", "key-1"], &key);
        assert_eq!(shape["UsedWithExportOperations"], serde_json::json!(["ReEncrypt", "ExportDataKey"]));
    }

    #[test]
    fn describe_shows_allowed_mechanisms_only_when_restricted() {
        let mut key = described("key-1", &[]);
        let text = human::<DescribeKeyArgs>(&["key", "describe", "key-1"], &key);
        assert!(!text.contains("Pkcs11AllowedMechanisms"), "{text}");
        let shape = json::<DescribeKeyArgs>(&["key", "describe", "key-1"], &key);
        assert_eq!(shape["Pkcs11AllowedMechanisms"], serde_json::json!([]));
        key.pkcs11_allowed_mechanisms = vec!["CKM_AES_GCM".into(), "CKM_AES_CBC_PAD".into()];
        let text = human::<DescribeKeyArgs>(&["key", "describe", "key-1"], &key);
        assert!(text.lines().any(|l| l.starts_with("Pkcs11AllowedMechanisms: CKM_AES_GCM,CKM_AES_CBC_PAD")), "{text}");
        let shape = json::<DescribeKeyArgs>(&["key", "describe", "key-1"], &key);
        assert_eq!(shape["Pkcs11AllowedMechanisms"], serde_json::json!(["CKM_AES_GCM", "CKM_AES_CBC_PAD"]));
    }

    #[test]
    fn describe_shows_tags_or_a_dash() {
        let mut key = described("key-1", &[]);
        key.tags.push(Tag { tag_key: "env".into(), tag_value: "prod".into() });
        let text = human::<DescribeKeyArgs>(&["key", "describe", "key-1"], &key);
        assert!(text.lines().any(|line| line == "Tags:               team=payments,env=prod"), "{text}");
        key.tags.clear();
        let text = human::<CreateKeyArgs>(&["key", "create", "--instance", "hsm1", "--key-spec", "AES_256"], &key);
        assert!(text.lines().any(|line| line == "Tags:               -"), "{text}");
        key.tags.push(Tag { tag_key: "team".into(), tag_value: "payments".into() });
        let json = json::<DescribeKeyArgs>(&["key", "describe", "key-1"], &key);
        assert_eq!(json["Tags"], serde_json::json!([{"TagKey": "team", "TagValue": "payments"}]));
    }
}
