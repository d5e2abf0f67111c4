//! `p11kms key …`: KMS keys and their versions, with the spec's parameter
//! and field names (`--key-spec`, `KeyMetadata.KeyId`, …).

use clap::Subcommand;
use p11kms_proto::admin::{
    AdminReply, AdminRequest, CreateKey, ImportKeyMaterial, ImportParameters, KeyDescription, KeyList, KeySpec,
    KeyState, KeyUsage, KeyVersionInfo, ListKeys, Origin, Tag, UpdateRotationPolicy, WrappingAlgorithm,
    WrappingKeySpec,
};

use super::{RenderError, args, named_value, unexpected};
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
        /// Who makes the key material: KMS (Aliyun_KMS) or you (EXTERNAL, then import it).
        #[arg(
            long,
            value_name = "ORIGIN",
            default_value = "Aliyun_KMS",
            ignore_case = true,
            value_parser = named_value(Origin::ALL, Origin::as_str)
        )]
        origin: Origin,
        /// A tag, KEY=VALUE (repeat for more; at most 20).
        #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = args::tag)]
        tags: Vec<Tag>,
        /// Rotate the key on a schedule (needs --rotation-interval).
        #[arg(long, requires = "rotation_interval")]
        enable_automatic_rotation: bool,
        /// Rotation interval, 7d to 365d (also 12h, 3600s).
        #[arg(long, value_name = "INTERVAL", value_parser = args::interval)]
        rotation_interval: Option<i64>,
        /// Refuse schedule-deletion until protection is removed.
        #[arg(long)]
        deletion_protection: bool,
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
        /// Only keys in this state.
        #[arg(long, value_name = "STATE", ignore_case = true, value_parser = named_value(KeyState::ALL, KeyState::as_str))]
        key_state: Option<KeyState>,
        /// Only keys of this spec.
        #[arg(long, value_name = "SPEC", ignore_case = true, value_parser = named_value(KeySpec::ALL, KeySpec::as_str))]
        key_spec: Option<KeySpec>,
        /// Only the key with this alias.
        #[arg(long, value_name = "ALIAS")]
        alias: Option<String>,
    },
    /// Lists a key's versions (ListKeyVersions).
    ListVersions {
        /// Key id or alias (`alias/...`).
        #[arg(value_name = "KEY")]
        key: String,
    },
    /// Shows one version of a key (DescribeKeyVersion).
    DescribeVersion {
        /// Key id or alias.
        #[arg(value_name = "KEY")]
        key: String,
        /// The version.
        #[arg(long, value_name = "VERSION")]
        key_version_id: String,
    },
    /// Rotates a key by hand: a new version becomes the primary (CreateKeyVersion).
    CreateVersion {
        /// Key id or alias.
        #[arg(value_name = "KEY")]
        key: String,
    },
    /// Changes the automatic rotation (UpdateRotationPolicy); an overdue schedule rotates at once.
    #[command(group = clap::ArgGroup::new("rotation").required(true).args(["enable_automatic_rotation", "disable_automatic_rotation"]))]
    UpdateRotationPolicy {
        /// Key id or alias.
        #[arg(value_name = "KEY")]
        key: String,
        /// Rotate on a schedule.
        #[arg(long)]
        enable_automatic_rotation: bool,
        /// Stop rotating (the interval is kept).
        #[arg(long)]
        disable_automatic_rotation: bool,
        /// Rotation interval, 7d to 365d.
        #[arg(long, value_name = "INTERVAL", value_parser = args::interval)]
        rotation_interval: Option<i64>,
    },
    /// Enables a key (EnableKey).
    Enable {
        /// Key id or alias.
        #[arg(value_name = "KEY")]
        key: String,
    },
    /// Disables a key (DisableKey): it refuses use until enabled again.
    Disable {
        /// Key id or alias.
        #[arg(value_name = "KEY")]
        key: String,
    },
    /// Schedules a key's deletion (ScheduleKeyDeletion).
    ScheduleDeletion {
        /// Key id or alias.
        #[arg(value_name = "KEY")]
        key: String,
        /// Days before the key is destroyed, 7 to 366.
        #[arg(long, value_name = "DAYS")]
        pending_window_in_days: u32,
    },
    /// Cancels a scheduled deletion (CancelKeyDeletion).
    CancelDeletion {
        /// Key id or alias.
        #[arg(value_name = "KEY")]
        key: String,
    },
    /// Turns deletion protection on or off (SetDeletionProtection).
    #[command(group = clap::ArgGroup::new("protection").required(true).args(["enable", "disable"]))]
    SetDeletionProtection {
        /// Key id or alias.
        #[arg(value_name = "KEY")]
        key: String,
        /// Refuse deletion.
        #[arg(long)]
        enable: bool,
        /// Allow deletion.
        #[arg(long)]
        disable: bool,
    },
    /// Adds tags or changes their values (TagResource).
    Tag {
        /// Key id or alias.
        #[arg(value_name = "KEY")]
        key: String,
        /// A tag, KEY=VALUE (repeat for more).
        #[arg(long = "tag", value_name = "KEY=VALUE", required = true, value_parser = args::tag)]
        tags: Vec<Tag>,
    },
    /// Removes tags (UntagResource).
    Untag {
        /// Key id or alias.
        #[arg(value_name = "KEY")]
        key: String,
        /// A tag key to remove (repeat for more).
        #[arg(long = "tag-key", value_name = "KEY", required = true)]
        tag_keys: Vec<String>,
    },
    /// Gets a wrapping key and token to import key material (GetParametersForImport).
    GetParametersForImport {
        /// Key id or alias of an EXTERNAL key.
        #[arg(value_name = "KEY")]
        key: String,
        /// How you will wrap the material.
        #[arg(long, value_name = "ALGORITHM", ignore_case = true, value_parser = named_value(WrappingAlgorithm::ALL, WrappingAlgorithm::as_str))]
        wrapping_algorithm: WrappingAlgorithm,
        /// The wrapping key's kind.
        #[arg(long, value_name = "SPEC", default_value = "RSA_2048", ignore_case = true, value_parser = named_value(WrappingKeySpec::ALL, WrappingKeySpec::as_str))]
        wrapping_key_spec: WrappingKeySpec,
    },
    /// Imports wrapped key material into an EXTERNAL key (ImportKeyMaterial).
    ImportKeyMaterial {
        /// Key id or alias.
        #[arg(value_name = "KEY")]
        key: String,
        /// The token from get-parameters-for-import.
        #[arg(long, value_name = "TOKEN")]
        import_token: String,
        /// The material wrapped under the token's public key, in base64.
        #[arg(long, value_name = "BASE64", value_parser = args::base64)]
        encrypted_key_material: args::Bytes,
        /// When the material expires (Unix seconds); never when absent or 0.
        #[arg(long, value_name = "UNIX")]
        key_material_expire_unix: Option<i64>,
    },
    /// Deletes an EXTERNAL key's material (DeleteKeyMaterial).
    DeleteKeyMaterial {
        /// Key id or alias.
        #[arg(value_name = "KEY")]
        key: String,
    },
}

impl KeyCommand {
    /// The admin request for this command.
    pub fn request(&self) -> AdminRequest {
        let key = |k: &String| k.clone();
        match self {
            Self::Create {
                instance,
                key_spec,
                key_usage,
                description,
                alias,
                origin,
                tags,
                enable_automatic_rotation,
                rotation_interval,
                deletion_protection,
            } => AdminRequest::KeyCreate(CreateKey {
                instance: instance.clone(),
                key_spec: *key_spec,
                key_usage: *key_usage,
                description: description.clone().unwrap_or_default(),
                alias: alias.clone(),
                origin: *origin,
                tags: tags.clone(),
                enable_automatic_rotation: *enable_automatic_rotation,
                rotation_interval: *rotation_interval,
                deletion_protection: *deletion_protection,
            }),
            Self::Describe { key: k } => AdminRequest::KeyDescribe { key: key(k) },
            Self::List { instance, key_state, key_spec, alias } => AdminRequest::KeyList(ListKeys {
                instance: instance.clone(),
                key_state: *key_state,
                key_spec: *key_spec,
                alias: alias.clone(),
            }),
            Self::ListVersions { key: k } => AdminRequest::KeyListVersions { key: key(k) },
            Self::DescribeVersion { key: k, key_version_id } => {
                AdminRequest::KeyDescribeVersion { key: key(k), key_version_id: key_version_id.clone() }
            }
            Self::CreateVersion { key: k } => AdminRequest::KeyCreateVersion { key: key(k) },
            Self::UpdateRotationPolicy { key: k, enable_automatic_rotation, rotation_interval, .. } => {
                AdminRequest::KeyUpdateRotationPolicy(UpdateRotationPolicy {
                    key: key(k),
                    enable_automatic_rotation: *enable_automatic_rotation,
                    rotation_interval: *rotation_interval,
                })
            }
            Self::Enable { key: k } => AdminRequest::KeyEnable { key: key(k) },
            Self::Disable { key: k } => AdminRequest::KeyDisable { key: key(k) },
            Self::ScheduleDeletion { key: k, pending_window_in_days } => {
                AdminRequest::KeyScheduleDeletion { key: key(k), pending_window_in_days: *pending_window_in_days }
            }
            Self::CancelDeletion { key: k } => AdminRequest::KeyCancelDeletion { key: key(k) },
            Self::SetDeletionProtection { key: k, enable, .. } => {
                AdminRequest::KeySetDeletionProtection { key: key(k), enable_deletion_protection: *enable }
            }
            Self::Tag { key: k, tags } => AdminRequest::KeyTag { key: key(k), tags: tags.clone() },
            Self::Untag { key: k, tag_keys } => AdminRequest::KeyUntag { key: key(k), tag_keys: tag_keys.clone() },
            Self::GetParametersForImport { key: k, wrapping_algorithm, wrapping_key_spec } => {
                AdminRequest::KeyGetParametersForImport {
                    key: key(k),
                    wrapping_algorithm: *wrapping_algorithm,
                    wrapping_key_spec: *wrapping_key_spec,
                }
            }
            Self::ImportKeyMaterial { key: k, import_token, encrypted_key_material, key_material_expire_unix } => {
                AdminRequest::KeyImportKeyMaterial(ImportKeyMaterial {
                    key: key(k),
                    import_token: import_token.clone(),
                    encrypted_key_material: encrypted_key_material.0.clone(),
                    key_material_expire_unix: *key_material_expire_unix,
                })
            }
            Self::DeleteKeyMaterial { key: k } => AdminRequest::KeyDeleteKeyMaterial { key: key(k) },
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
            (Self::DescribeVersion { .. } | Self::CreateVersion { .. }, AdminReply::KeyVersion(version)) => {
                Ok(output::show(format, &version, version_fields)?)
            }
            (Self::GetParametersForImport { .. }, AdminReply::ImportParameters(params)) => {
                Ok(output::show(format, &params, import_fields)?)
            }
            (command, AdminReply::Done) => match command.confirmation() {
                Some(message) => Ok(output::done(format, &message)?),
                None => Err(unexpected(command.operation(), &AdminReply::Done)),
            },
            (command, other) => Err(unexpected(command.operation(), &other)),
        }
    }

    /// What a command that returns nothing prints on success.
    fn confirmation(&self) -> Option<String> {
        Some(match self {
            Self::UpdateRotationPolicy { key, .. } => format!("Rotation policy of '{key}' updated."),
            Self::Enable { key } => format!("Key '{key}' enabled."),
            Self::Disable { key } => format!("Key '{key}' disabled."),
            Self::ScheduleDeletion { key, pending_window_in_days } => {
                format!("Key '{key}' will be deleted in {pending_window_in_days} days (cancel-deletion stops it).")
            }
            Self::CancelDeletion { key } => format!("Deletion of key '{key}' cancelled."),
            Self::SetDeletionProtection { key, enable, .. } => {
                format!("Deletion protection of key '{key}' {}.", if *enable { "enabled" } else { "disabled" })
            }
            Self::Tag { key, .. } => format!("Key '{key}' tagged."),
            Self::Untag { key, .. } => format!("Tags removed from key '{key}'."),
            Self::ImportKeyMaterial { key, .. } => format!("Key material imported into '{key}'."),
            Self::DeleteKeyMaterial { key } => format!("Key material of '{key}' deleted."),
            _ => return None,
        })
    }

    fn operation(&self) -> &'static str {
        match self {
            Self::Create { .. } => "key create",
            Self::Describe { .. } => "key describe",
            Self::List { .. } => "key list",
            Self::ListVersions { .. } => "key list-versions",
            Self::DescribeVersion { .. } => "key describe-version",
            Self::CreateVersion { .. } => "key create-version",
            Self::UpdateRotationPolicy { .. } => "key update-rotation-policy",
            Self::Enable { .. } => "key enable",
            Self::Disable { .. } => "key disable",
            Self::ScheduleDeletion { .. } => "key schedule-deletion",
            Self::CancelDeletion { .. } => "key cancel-deletion",
            Self::SetDeletionProtection { .. } => "key set-deletion-protection",
            Self::Tag { .. } => "key tag",
            Self::Untag { .. } => "key untag",
            Self::GetParametersForImport { .. } => "key get-parameters-for-import",
            Self::ImportKeyMaterial { .. } => "key import-key-material",
            Self::DeleteKeyMaterial { .. } => "key delete-key-material",
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

fn import_fields(params: &ImportParameters) -> String {
    let mut text = Fields::new()
        .field("KeyId", &params.key_id)
        .field("ImportToken", &params.import_token)
        .field("TokenExpireTime", params.token_expire_time)
        .render();
    text.push_str(&output::block(&params.public_key));
    text
}

fn version_fields(version: &KeyVersionInfo) -> String {
    Fields::new()
        .field("KeyId", &version.key_id)
        .field("KeyVersionId", &version.key_version_id)
        .field("CreationDate", version.creation_date)
        .render()
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
            tags: vec![Tag { tag_key: "team".into(), tag_value: "payments".into() }],
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
            "--origin",
            "external",
            "--tag",
            "team=payments",
            "--tag",
            "env=prod",
            "--rotation-interval",
            "30d",
            "--deletion-protection",
        ]);
        assert_eq!(
            cmd.request().expect("request"),
            AdminRequest::KeyCreate(CreateKey {
                instance: "hsm1".into(),
                key_spec: KeySpec::Rsa2048,
                key_usage: Some(KeyUsage::EncryptDecrypt),
                description: "payments".into(),
                alias: Some("alias/pay".into()),
                origin: Origin::External,
                tags: vec![
                    Tag { tag_key: "team".into(), tag_value: "payments".into() },
                    Tag { tag_key: "env".into(), tag_value: "prod".into() },
                ],
                enable_automatic_rotation: false,
                rotation_interval: Some(2_592_000),
                deletion_protection: true,
            })
        );
    }

    #[test]
    fn create_defaults_and_case() {
        let cmd = command(&["key", "create", "--instance", "hsm1", "--key-spec", "ec_p256"]);
        assert_eq!(
            cmd.request().expect("request"),
            AdminRequest::KeyCreate(CreateKey {
                instance: "hsm1".into(),
                key_spec: KeySpec::EcP256,
                key_usage: None,
                description: String::new(),
                alias: None,
                origin: Origin::AliyunKms,
                tags: vec![],
                enable_automatic_rotation: false,
                rotation_interval: None,
                deletion_protection: false,
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
            command(&["key", "describe", "alias/pay"]).request().expect("request"),
            AdminRequest::KeyDescribe { key: "alias/pay".into() }
        );
        assert_eq!(command(&["key", "list"]).request().expect("request"), AdminRequest::KeyList(ListKeys::default()));
        assert_eq!(
            command(&["key", "list", "--instance", "hsm1"]).request().expect("request"),
            AdminRequest::KeyList(ListKeys { instance: Some("hsm1".into()), ..ListKeys::default() })
        );
        assert_eq!(
            command(&["key", "list-versions", "key-1"]).request().expect("request"),
            AdminRequest::KeyListVersions { key: "key-1".into() }
        );
        refused(&["key", "describe"]);
        refused(&["key", "list-versions"]);
        refused(&["key", "list", "hsm1"]);
        assert_eq!(
            command(&["key", "set-deletion-protection", "k", "--disable"]).request().expect("request"),
            AdminRequest::KeySetDeletionProtection { key: "k".into(), enable_deletion_protection: false }
        );
        refused(&["key", "set-deletion-protection", "k"]);
        refused(&["key", "set-deletion-protection", "k", "--enable", "--disable"]);
        refused(&["key", "update-rotation-policy", "k"]);
        refused(&["key", "create", "--instance", "i", "--key-spec", "AES_256", "--rotation-interval", "1y"]);
        refused(&["key", "tag", "k", "--tag", "no-equals"]);
        assert_eq!(
            command(&["key", "untag", "k", "--tag-key", "a", "--tag-key", "b"]).request().expect("request"),
            AdminRequest::KeyUntag { key: "k".into(), tag_keys: vec!["a".into(), "b".into()] }
        );
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
    fn request(args: &[&str]) -> AdminRequest {
        command(args).request().expect("a request")
    }

    #[test]
    fn list_takes_filters() {
        assert_eq!(
            request(&["key", "list", "--key-state", "pendingdeletion", "--key-spec", "RSA_2048", "--alias", "alias/a"]),
            AdminRequest::KeyList(ListKeys {
                instance: None,
                key_state: Some(KeyState::PendingDeletion),
                key_spec: Some(KeySpec::Rsa2048),
                alias: Some("alias/a".into()),
            })
        );
        let err = refused(&["key", "list", "--key-state", "Gone"]);
        for state in KeyState::ALL {
            assert!(err.to_string().contains(state.as_str()), "{state} missing: {err}");
        }
    }

    #[test]
    fn create_with_rotation_needs_an_interval_that_parses() {
        let cmd = command(&[
            "key",
            "create",
            "--instance",
            "hsm1",
            "--key-spec",
            "AES_256",
            "--enable-automatic-rotation",
            "--rotation-interval",
            "12h",
        ]);
        let AdminRequest::KeyCreate(create) = cmd.request().expect("request") else { panic!("not a KeyCreate") };
        assert!(create.enable_automatic_rotation);
        assert_eq!(create.rotation_interval, Some(43_200));
        let err =
            refused(&["key", "create", "--instance", "i", "--key-spec", "AES_256", "--enable-automatic-rotation"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        assert!(err.to_string().contains("--rotation-interval"), "{err}");
        let err = refused(&["key", "create", "--instance", "i", "--key-spec", "AES_256", "--rotation-interval", "1y"]);
        assert!(err.to_string().contains("is not an interval"), "{err}");
        let err = refused(&["key", "create", "--instance", "i", "--key-spec", "AES_256", "--origin", "HSM"]);
        assert!(err.to_string().contains("Aliyun_KMS") && err.to_string().contains("EXTERNAL"), "{err}");
    }

    #[test]
    fn lifecycle_commands_parse_to_requests() {
        assert_eq!(request(&["key", "enable", "k"]), AdminRequest::KeyEnable { key: "k".into() });
        assert_eq!(request(&["key", "disable", "alias/k"]), AdminRequest::KeyDisable { key: "alias/k".into() });
        assert_eq!(
            request(&["key", "schedule-deletion", "k", "--pending-window-in-days", "7"]),
            AdminRequest::KeyScheduleDeletion { key: "k".into(), pending_window_in_days: 7 }
        );
        refused(&["key", "schedule-deletion", "k"]);
        refused(&["key", "schedule-deletion", "k", "--pending-window-in-days", "seven"]);
        assert_eq!(request(&["key", "cancel-deletion", "k"]), AdminRequest::KeyCancelDeletion { key: "k".into() });
        assert_eq!(
            request(&["key", "set-deletion-protection", "k", "--enable"]),
            AdminRequest::KeySetDeletionProtection { key: "k".into(), enable_deletion_protection: true }
        );
        assert_eq!(
            request(&["key", "set-deletion-protection", "k", "--disable"]),
            AdminRequest::KeySetDeletionProtection { key: "k".into(), enable_deletion_protection: false }
        );
        let err = refused(&["key", "set-deletion-protection", "k", "--enable", "--disable"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        let err = refused(&["key", "set-deletion-protection", "k"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        refused(&["key", "enable"]);
    }

    #[test]
    fn version_and_rotation_commands_parse_to_requests() {
        assert_eq!(request(&["key", "create-version", "k"]), AdminRequest::KeyCreateVersion { key: "k".into() });
        assert_eq!(
            request(&["key", "describe-version", "k", "--key-version-id", "v-1"]),
            AdminRequest::KeyDescribeVersion { key: "k".into(), key_version_id: "v-1".into() }
        );
        refused(&["key", "describe-version", "k"]);
        assert_eq!(
            request(&[
                "key",
                "update-rotation-policy",
                "k",
                "--enable-automatic-rotation",
                "--rotation-interval",
                "30d"
            ]),
            AdminRequest::KeyUpdateRotationPolicy(UpdateRotationPolicy {
                key: "k".into(),
                enable_automatic_rotation: true,
                rotation_interval: Some(2_592_000),
            })
        );
        assert_eq!(
            request(&["key", "update-rotation-policy", "k", "--disable-automatic-rotation"]),
            AdminRequest::KeyUpdateRotationPolicy(UpdateRotationPolicy {
                key: "k".into(),
                enable_automatic_rotation: false,
                rotation_interval: None,
            })
        );
        let err = refused(&[
            "key",
            "update-rotation-policy",
            "k",
            "--enable-automatic-rotation",
            "--disable-automatic-rotation",
        ]);
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        refused(&["key", "update-rotation-policy", "k", "--rotation-interval", "30d"]);
        refused(&["key", "update-rotation-policy", "k", "--enable-automatic-rotation", "--rotation-interval", "soon"]);
    }

    #[test]
    fn tag_commands_parse_to_requests() {
        assert_eq!(
            request(&["key", "tag", "k", "--tag", "env=prod", "--tag", "url=a=b", "--tag", "empty="]),
            AdminRequest::KeyTag {
                key: "k".into(),
                tags: vec![
                    Tag { tag_key: "env".into(), tag_value: "prod".into() },
                    Tag { tag_key: "url".into(), tag_value: "a=b".into() },
                    Tag { tag_key: "empty".into(), tag_value: String::new() },
                ],
            }
        );
        let err = refused(&["key", "tag", "k", "--tag", "no-equals"]);
        assert!(err.to_string().contains("KEY=VALUE"), "{err}");
        refused(&["key", "tag", "k", "--tag", "=value"]);
        refused(&["key", "tag", "k"]);
        refused(&["key", "create", "--instance", "i", "--key-spec", "AES_256", "--tag", "x"]);
        assert_eq!(
            request(&["key", "untag", "k", "--tag-key", "a", "--tag-key", "b"]),
            AdminRequest::KeyUntag { key: "k".into(), tag_keys: vec!["a".into(), "b".into()] }
        );
        refused(&["key", "untag", "k"]);
    }

    #[test]
    fn import_commands_parse_to_requests() {
        assert_eq!(
            request(&["key", "get-parameters-for-import", "k", "--wrapping-algorithm", "RSAES_OAEP_SHA_256"]),
            AdminRequest::KeyGetParametersForImport {
                key: "k".into(),
                wrapping_algorithm: WrappingAlgorithm::RsaesOaepSha256,
                wrapping_key_spec: WrappingKeySpec::Rsa2048,
            }
        );
        assert_eq!(
            request(&[
                "key",
                "get-parameters-for-import",
                "k",
                "--wrapping-algorithm",
                "rsaes_pkcs1_v1_5",
                "--wrapping-key-spec",
                "RSA_2048",
            ]),
            AdminRequest::KeyGetParametersForImport {
                key: "k".into(),
                wrapping_algorithm: WrappingAlgorithm::RsaesPkcs1V15,
                wrapping_key_spec: WrappingKeySpec::Rsa2048,
            }
        );
        let err = refused(&["key", "get-parameters-for-import", "k", "--wrapping-algorithm", "AES_WRAP"]);
        for algorithm in WrappingAlgorithm::ALL {
            assert!(err.to_string().contains(algorithm.as_str()), "{algorithm} missing: {err}");
        }
        refused(&["key", "get-parameters-for-import", "k"]);
        refused(&[
            "key",
            "get-parameters-for-import",
            "k",
            "--wrapping-algorithm",
            "RSAES_OAEP_SHA_1",
            "--wrapping-key-spec",
            "RSA_4096",
        ]);
        assert_eq!(
            request(&[
                "key",
                "import-key-material",
                "k",
                "--import-token",
                "tok",
                "--encrypted-key-material",
                "AQID",
                "--key-material-expire-unix",
                "2000000000",
            ]),
            AdminRequest::KeyImportKeyMaterial(ImportKeyMaterial {
                key: "k".into(),
                import_token: "tok".into(),
                encrypted_key_material: vec![1, 2, 3],
                key_material_expire_unix: Some(2_000_000_000),
            })
        );
        let AdminRequest::KeyImportKeyMaterial(import) =
            request(&["key", "import-key-material", "k", "--import-token", "t", "--encrypted-key-material", "AA=="])
        else {
            panic!("not an import")
        };
        assert_eq!(import.key_material_expire_unix, None);
        refused(&["key", "import-key-material", "k", "--import-token", "t", "--encrypted-key-material", "%%"]);
        refused(&["key", "import-key-material", "k", "--encrypted-key-material", "AA=="]);
        assert_eq!(
            request(&["key", "delete-key-material", "k"]),
            AdminRequest::KeyDeleteKeyMaterial { key: "k".into() }
        );
    }

    #[test]
    fn commands_that_return_nothing_confirm_in_one_line_or_print_empty_json() {
        let cases: &[(&[&str], &str)] = &[
            (&["key", "enable", "k"], "Key 'k' enabled.\n"),
            (&["key", "disable", "k"], "Key 'k' disabled.\n"),
            (
                &["key", "schedule-deletion", "k", "--pending-window-in-days", "7"],
                "Key 'k' will be deleted in 7 days (cancel-deletion stops it).\n",
            ),
            (&["key", "cancel-deletion", "k"], "Deletion of key 'k' cancelled.\n"),
            (&["key", "set-deletion-protection", "k", "--enable"], "Deletion protection of key 'k' enabled.\n"),
            (&["key", "set-deletion-protection", "k", "--disable"], "Deletion protection of key 'k' disabled.\n"),
            (
                &["key", "update-rotation-policy", "k", "--disable-automatic-rotation"],
                "Rotation policy of 'k' updated.\n",
            ),
            (&["key", "tag", "k", "--tag", "a=b"], "Key 'k' tagged.\n"),
            (&["key", "untag", "k", "--tag-key", "a"], "Tags removed from key 'k'.\n"),
            (
                &["key", "import-key-material", "k", "--import-token", "t", "--encrypted-key-material", "AA=="],
                "Key material imported into 'k'.\n",
            ),
            (&["key", "delete-key-material", "k"], "Key material of 'k' deleted.\n"),
        ];
        for (args, message) in cases {
            let cmd = command(args);
            assert_eq!(cmd.render(AdminReply::Done, Format::Human).expect("renders"), *message, "{args:?}");
            assert_eq!(cmd.render(AdminReply::Done, Format::Json).expect("renders"), "{}\n", "{args:?}");
        }
        let err = command(&["key", "describe", "k"]).render(AdminReply::Done, Format::Human).expect_err("not Done");
        assert_eq!(err.to_string(), "p11kmsd answered key describe with a Done reply");
        assert!(command(&["key", "enable", "k"]).render(AdminReply::Key(key("k", &[])), Format::Human).is_err());
    }

    #[test]
    fn one_version_prints_fields_and_json() {
        let version = || {
            AdminReply::KeyVersion(KeyVersionInfo {
                key_id: "k".into(),
                key_version_id: "v-2".into(),
                creation_date: Timestamp(86_400),
            })
        };
        let text = command(&["key", "create-version", "k"]).render(version(), Format::Human).expect("renders");
        assert_eq!(text, "KeyId:        k\nKeyVersionId: v-2\nCreationDate: 1970-01-02T00:00:00Z\n");
        let described = command(&["key", "describe-version", "k", "--key-version-id", "v-2"]);
        assert_eq!(described.render(version(), Format::Human).expect("renders"), text);
        let json: serde_json::Value =
            serde_json::from_str(&described.render(version(), Format::Json).expect("renders")).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"KeyId": "k", "KeyVersionId": "v-2", "CreationDate": "1970-01-02T00:00:00Z"})
        );
    }

    #[test]
    fn import_parameters_print_fields_then_the_pem() {
        let pem = "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----";
        let params = || {
            AdminReply::ImportParameters(ImportParameters {
                key_id: "k".into(),
                import_token: "tok".into(),
                public_key: pem.into(),
                token_expire_time: Timestamp(86_400),
            })
        };
        let cmd = command(&["key", "get-parameters-for-import", "k", "--wrapping-algorithm", "RSAES_OAEP_SHA_1"]);
        assert_eq!(
            cmd.render(params(), Format::Human).expect("renders"),
            format!("KeyId:           k\nImportToken:     tok\nTokenExpireTime: 1970-01-02T00:00:00Z\n{pem}\n")
        );
        let json: serde_json::Value =
            serde_json::from_str(&cmd.render(params(), Format::Json).expect("renders")).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "KeyId": "k", "ImportToken": "tok", "PublicKey": pem, "TokenExpireTime": "1970-01-02T00:00:00Z"
            })
        );
    }

    #[test]
    fn describe_shows_tags_or_a_dash() {
        let mut described = key("key-1", &[]);
        described.tags.push(Tag { tag_key: "env".into(), tag_value: "prod".into() });
        let text = command(&["key", "describe", "key-1"])
            .render(AdminReply::Key(described.clone()), Format::Human)
            .expect("renders");
        assert!(text.lines().any(|line| line == "Tags:               team=payments,env=prod"), "{text}");
        described.tags.clear();
        let text = command(&["key", "create", "--instance", "hsm1", "--key-spec", "AES_256"])
            .render(AdminReply::Key(described.clone()), Format::Human)
            .expect("renders");
        assert!(text.lines().any(|line| line == "Tags:               -"), "{text}");
        described.tags.push(Tag { tag_key: "team".into(), tag_value: "payments".into() });
        let json: serde_json::Value = serde_json::from_str(
            &command(&["key", "describe", "key-1"]).render(AdminReply::Key(described), Format::Json).expect("renders"),
        )
        .expect("json");
        assert_eq!(json["Tags"], serde_json::json!([{"TagKey": "team", "TagValue": "payments"}]));
    }
}
