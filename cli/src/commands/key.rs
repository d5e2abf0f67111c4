//! `p11kms key …`: KMS keys and their versions, with the spec's parameter
//! and field names (`--key-spec`, `KeyMetadata.KeyId`, …).

use clap::Subcommand;
use p11kms_proto::admin::{
    AdminReply, AdminRequest, CreateKey, KeyDescription, KeyList, KeySpec, KeyUsage, KeyVersionInfo, ListKeys,
};

use super::{RenderError, named_value, unexpected};
use crate::output::{self, Fields, Format, Table, list_or_dash, or_dash};

/// Operations on keys.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Creates a key (CreateKey).
    Create {
        /// The instance the key goes to.
        #[arg(long, value_name = "INSTANCE")]
        instance: String,
        /// The kind of key material.
        #[arg(
            long,
            value_name = "SPEC",
            ignore_case = true,
            value_parser = named_value(KeySpec::ALL, KeySpec::as_str)
        )]
        key_spec: KeySpec,
        #[arg(
            long,
            value_name = "USAGE",
            help = key_usage_help(),
            ignore_case = true,
            value_parser = named_value(KeyUsage::ALL, KeyUsage::as_str)
        )]
        key_usage: Option<KeyUsage>,
        /// Free text describing the key.
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
        /// An alias to create with the key (`alias/...`).
        #[arg(long, value_name = "ALIAS")]
        alias: Option<String>,
    },
    /// Shows a key (DescribeKey).
    Describe {
        /// Key id or alias (`alias/...`).
        #[arg(value_name = "KEY")]
        key: String,
    },
    /// Lists keys (ListKeys).
    List {
        /// Only the keys of this instance.
        #[arg(long, value_name = "INSTANCE")]
        instance: Option<String>,
    },
    /// Lists a key's versions (ListKeyVersions).
    ListVersions {
        /// Key id or alias (`alias/...`).
        #[arg(value_name = "KEY")]
        key: String,
    },
}

impl KeyCommand {
    /// The admin request for this command.
    pub fn request(&self) -> AdminRequest {
        match self {
            Self::Create { instance, key_spec, key_usage, description, alias } => AdminRequest::KeyCreate(CreateKey {
                instance: instance.clone(),
                key_spec: *key_spec,
                key_usage: *key_usage,
                description: description.clone().unwrap_or_default(),
                alias: alias.clone(),
            }),
            Self::Describe { key } => AdminRequest::KeyDescribe { key: key.clone() },
            Self::List { instance } => AdminRequest::KeyList(ListKeys { instance: instance.clone() }),
            Self::ListVersions { key } => AdminRequest::KeyListVersions { key: key.clone() },
        }
    }

    /// The text to print for the reply.
    pub fn render(&self, reply: AdminReply, format: Format) -> Result<String, RenderError> {
        match (self, reply) {
            (Self::Create { .. } | Self::Describe { .. }, AdminReply::Key(key)) => {
                Ok(output::show(format, &key, fields)?)
            }
            (Self::List { .. }, AdminReply::Keys(keys)) => Ok(output::show(format, &keys, table)?),
            (Self::ListVersions { .. }, AdminReply::KeyVersions(versions)) => {
                Ok(output::show_list(format, "KeyVersions", &versions, versions_table)?)
            }
            (command, other) => Err(unexpected(command.operation(), &other)),
        }
    }

    fn operation(&self) -> &'static str {
        match self {
            Self::Create { .. } => "key create",
            Self::Describe { .. } => "key describe",
            Self::List { .. } => "key list",
            Self::ListVersions { .. } => "key list-versions",
        }
    }
}

/// `--key-usage`'s help, with the default of each key spec as proto
/// defines it, e.g. `[default: ENCRYPT/DECRYPT for AES_256, …; SIGN/VERIFY
/// for EC_P256, …]`.
fn key_usage_help() -> String {
    let defaults: Vec<String> = KeyUsage::ALL
        .iter()
        .filter_map(|usage| {
            let specs: Vec<&str> =
                KeySpec::ALL.iter().filter(|spec| spec.default_usage() == *usage).map(|spec| spec.as_str()).collect();
            (!specs.is_empty()).then(|| format!("{usage} for {}", specs.join(", ")))
        })
        .collect();
    format!("What the key is for [default: {}]", defaults.join("; "))
}

/// A key as `Field: value` lines, in the order of the spec's DescribeKey.
fn fields(key: &KeyDescription) -> String {
    let meta = &key.key_metadata;
    Fields::new()
        .field("KeyId", &meta.key_id)
        .field("Arn", &meta.arn)
        .field("Aliases", list_or_dash(&key.aliases))
        .field("Description", &meta.description)
        .field("DKMSInstanceId", &meta.instance)
        .field("KeySpec", meta.key_spec)
        .field("KeyUsage", meta.key_usage)
        .field("KeyState", meta.key_state)
        .field("Origin", meta.origin)
        .field("ProtectionLevel", meta.protection_level)
        .field("Creator", &meta.creator)
        .field("CreationDate", meta.creation_date)
        .field("PrimaryKeyVersion", &meta.primary_key_version)
        .field("Pkcs11Id", &key.pkcs11_id)
        .field("LastRotationDate", meta.last_rotation_date)
        .field("AutomaticRotation", meta.automatic_rotation)
        .field("RotationInterval", or_dash(meta.rotation_interval.as_ref()))
        .field("NextRotationDate", or_dash(meta.next_rotation_date.as_ref()))
        .field("DeletionProtection", meta.deletion_protection)
        .field("DeleteDate", or_dash(meta.delete_date.as_ref()))
        .field("MaterialExpireTime", or_dash(meta.material_expire_time.as_ref()))
        .render()
}

fn table(list: &KeyList) -> String {
    let mut table = Table::new(&["KEY-ID", "ALIASES", "INSTANCE", "KEY-SPEC", "KEY-USAGE", "KEY-STATE", "CREATED"]);
    for key in &list.keys {
        let meta = &key.key_metadata;
        table.row(vec![
            meta.key_id.clone(),
            list_or_dash(&key.aliases),
            meta.instance.clone(),
            meta.key_spec.to_string(),
            meta.key_usage.to_string(),
            meta.key_state.to_string(),
            meta.creation_date.to_string(),
        ]);
    }
    let mut text = table.render();
    if usize::try_from(list.total_count).ok() != Some(list.keys.len()) {
        text.push_str(&format!("({} of {} keys shown)\n", list.keys.len(), list.total_count));
    }
    text
}

fn versions_table(versions: &[KeyVersionInfo]) -> String {
    let mut table = Table::new(&["KEY-ID", "KEY-VERSION-ID", "CREATED"]);
    for version in versions {
        table.row(vec![version.key_id.clone(), version.key_version_id.clone(), version.creation_date.to_string()]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use p11kms_proto::Timestamp;
    use p11kms_proto::admin::{AutomaticRotation, DeletionProtection, KeyMetadata, KeyState, Origin, ProtectionLevel};

    use super::super::test_support::{command, refused};
    use super::*;

    fn key(id: &str, aliases: &[&str]) -> KeyDescription {
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
            },
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
            pkcs11_id: "0123456789abcdef0123456789abcdef".into(),
        }
    }

    #[test]
    fn create_parses_every_flag() {
        let cmd = command(&[
            "key",
            "create",
            "--instance",
            "hsm1",
            "--key-spec",
            "RSA_2048",
            "--key-usage",
            "ENCRYPT/DECRYPT",
            "--description",
            "payments",
            "--alias",
            "alias/pay",
        ]);
        assert_eq!(
            cmd.request(),
            AdminRequest::KeyCreate(CreateKey {
                instance: "hsm1".into(),
                key_spec: KeySpec::Rsa2048,
                key_usage: Some(KeyUsage::EncryptDecrypt),
                description: "payments".into(),
                alias: Some("alias/pay".into()),
            })
        );
    }

    #[test]
    fn create_defaults_and_case() {
        let cmd = command(&["key", "create", "--instance", "hsm1", "--key-spec", "ec_p256"]);
        assert_eq!(
            cmd.request(),
            AdminRequest::KeyCreate(CreateKey {
                instance: "hsm1".into(),
                key_spec: KeySpec::EcP256,
                key_usage: None,
                description: String::new(),
                alias: None,
            })
        );
    }

    #[test]
    fn a_bad_key_spec_lists_the_valid_ones() {
        let err = refused(&["key", "create", "--instance", "hsm1", "--key-spec", "DES"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        for spec in KeySpec::ALL {
            assert!(text.contains(spec.as_str()), "{spec} missing from: {text}");
        }
        let text = refused(&["key", "create", "--instance", "hsm1", "--key-spec", "AES_256", "--key-usage", "WRAP"])
            .to_string();
        assert!(text.contains("ENCRYPT/DECRYPT") && text.contains("SIGN/VERIFY"), "{text}");
    }

    #[test]
    fn create_requires_instance_and_key_spec() {
        refused(&["key", "create", "--key-spec", "AES_256"]);
        refused(&["key", "create", "--instance", "hsm1"]);
    }

    #[test]
    fn help_lists_the_accepted_values() {
        let help = refused(&["key", "create", "--help"]).to_string();
        assert!(help.contains("AES_256") && help.contains("EC_P256K") && help.contains("SIGN/VERIFY"), "{help}");
    }

    #[test]
    fn other_operations_parse_to_requests() {
        assert_eq!(
            command(&["key", "describe", "alias/pay"]).request(),
            AdminRequest::KeyDescribe { key: "alias/pay".into() }
        );
        assert_eq!(command(&["key", "list"]).request(), AdminRequest::KeyList(ListKeys { instance: None }));
        assert_eq!(
            command(&["key", "list", "--instance", "hsm1"]).request(),
            AdminRequest::KeyList(ListKeys { instance: Some("hsm1".into()) })
        );
        assert_eq!(
            command(&["key", "list-versions", "key-1"]).request(),
            AdminRequest::KeyListVersions { key: "key-1".into() }
        );
        refused(&["key", "describe"]);
        refused(&["key", "list-versions"]);
        refused(&["key", "list", "hsm1"]);
    }

    #[test]
    fn describe_json_is_the_api_shape() {
        let text = command(&["key", "describe", "key-1"])
            .render(AdminReply::Key(key("key-1", &["alias/pay"])), Format::Json)
            .expect("renders");
        let json: serde_json::Value = serde_json::from_str(&text).expect("valid json");
        assert_eq!(json["KeyMetadata"]["KeyId"], "key-1");
        assert_eq!(json["KeyMetadata"]["KeySpec"], "AES_256");
        assert_eq!(json["KeyMetadata"]["NextRotationDate"], "2023-11-21T22:13:20Z");
        assert!(json["KeyMetadata"]["DeleteDate"].is_null());
        assert_eq!(json["Aliases"], serde_json::json!(["alias/pay"]));
    }

    #[test]
    fn describe_prints_fields() {
        let text = command(&["key", "describe", "key-1"])
            .render(AdminReply::Key(key("key-1", &[])), Format::Human)
            .expect("renders");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "KeyId:              key-1");
        assert!(lines.contains(&"Aliases:            -"), "{text}");
        assert!(lines.contains(&"KeyUsage:           ENCRYPT/DECRYPT"), "{text}");
        assert!(lines.contains(&"NextRotationDate:   2023-11-21T22:13:20Z"), "{text}");
        assert!(lines.contains(&"DeleteDate:         -"), "{text}");
        // key create answers with the same description.
        let created = command(&["key", "create", "--instance", "hsm1", "--key-spec", "AES_256"])
            .render(AdminReply::Key(key("key-1", &[])), Format::Human)
            .expect("renders");
        assert_eq!(created, text);
    }

    #[test]
    fn list_prints_a_table_and_json() {
        let list = KeyList { keys: vec![key("key-1", &["alias/a", "alias/b"]), key("key-22", &[])], total_count: 2 };
        let cmd = command(&["key", "list"]);
        assert_eq!(
            cmd.render(AdminReply::Keys(list.clone()), Format::Human).expect("renders"),
            "KEY-ID  ALIASES          INSTANCE  KEY-SPEC  KEY-USAGE        KEY-STATE  CREATED\n\
             key-1   alias/a,alias/b  hsm1      AES_256   ENCRYPT/DECRYPT  Enabled    2023-11-14T22:13:20Z\n\
             key-22  -                hsm1      AES_256   ENCRYPT/DECRYPT  Enabled    2023-11-14T22:13:20Z\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&cmd.render(AdminReply::Keys(list), Format::Json).expect("renders")).expect("json");
        assert_eq!(json["TotalCount"], 2);
        assert_eq!(json["Keys"][1]["KeyMetadata"]["KeyId"], "key-22");
    }

    #[test]
    fn list_versions_prints_a_table() {
        let versions = vec![
            KeyVersionInfo { key_id: "key-1".into(), key_version_id: "v-1".into(), creation_date: Timestamp(0) },
            KeyVersionInfo { key_id: "key-1".into(), key_version_id: "v-2".into(), creation_date: Timestamp(86_400) },
        ];
        let cmd = command(&["key", "list-versions", "key-1"]);
        assert_eq!(
            cmd.render(AdminReply::KeyVersions(versions.clone()), Format::Human).expect("renders"),
            "KEY-ID  KEY-VERSION-ID  CREATED\n\
             key-1   v-1             1970-01-01T00:00:00Z\n\
             key-1   v-2             1970-01-02T00:00:00Z\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&cmd.render(AdminReply::KeyVersions(versions), Format::Json).expect("renders"))
                .expect("json");
        assert_eq!(json["KeyVersions"][1]["KeyVersionId"], "v-2");
        assert_eq!(json["TotalCount"], 2);
    }
}
