//! `p11kms key create`: a new key, with its spec, usage, origin, tags,
//! rotation and deletion protection; it answers with the key's description.

use clap::Args;
use p11kms_proto::admin::{CreateKeyRequest, KeyDescription, KeySpec, KeyUsage, Origin, Tag, op};

use super::super::values::{self, named_value};
use super::super::{Invocation, RenderError, RequestError};
use super::description::fields;
use crate::output::{self, Format};

/// `key create`.
#[derive(Debug, Args)]
pub struct CreateKeyArgs {
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
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = values::tag)]
    tags: Vec<Tag>,
    /// Rotate the key on a schedule (needs --rotation-interval).
    #[arg(long, requires = "rotation_interval")]
    enable_automatic_rotation: bool,
    /// Rotation interval, 7d to 365d (also 12h, 3600s).
    #[arg(long, value_name = "INTERVAL", value_parser = values::interval)]
    rotation_interval: Option<i64>,
    /// Refuse schedule-deletion until protection is removed.
    #[arg(long)]
    deletion_protection: bool,
}

impl Invocation for CreateKeyArgs {
    type Op = op::CreateKey;

    fn request(&self) -> Result<CreateKeyRequest, RequestError> {
        Ok(CreateKeyRequest {
            instance: self.instance.clone(),
            key_spec: self.key_spec,
            key_usage: self.key_usage,
            description: self.description.clone().unwrap_or_default(),
            alias: self.alias.clone(),
            origin: self.origin,
            tags: self.tags.clone(),
            enable_automatic_rotation: self.enable_automatic_rotation,
            rotation_interval: self.rotation_interval,
            deletion_protection: self.deletion_protection,
        })
    }

    /// The new key, as `key describe` shows it.
    fn render(&self, key: &KeyDescription, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, key, fields)?)
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

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{refused, request};
    use super::*;

    #[test]
    fn create_parses_every_flag() {
        assert_eq!(
            request::<CreateKeyArgs>(&[
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
            ]),
            CreateKeyRequest {
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
            }
        );
    }

    #[test]
    fn create_defaults_and_case() {
        assert_eq!(
            request::<CreateKeyArgs>(&["key", "create", "--instance", "hsm1", "--key-spec", "ec_p256"]),
            CreateKeyRequest {
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
            }
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
    fn create_with_rotation_needs_an_interval_that_parses() {
        let create = request::<CreateKeyArgs>(&[
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
}
