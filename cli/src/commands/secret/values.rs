//! `secret create` and `secret put-value`: a value given on the command
//! line (`--secret-data`), or read from a file or standard input
//! (`--secret-data-file`), so that it need not appear in the shell's
//! history or in `ps`.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use zeroize::Zeroizing;

use p11kms_proto::SecretString;
use p11kms_proto::admin::{
    CreateSecretRequest, PutSecretValueRequest, SecretCreated, SecretDataType, SecretType, SecretVersionPut, Tag, op,
};
use p11kms_proto::bytes::to_base64;

use super::super::values::{self as parse, named_value};
use super::super::{Invocation, RenderError, RequestError};
use crate::output::{self, Fields, Format, list_or_dash, or_dash};

/// A secret value and how it is written.
#[derive(Debug, Args)]
pub struct SecretDataArg {
    /// The value: text, or base64 with --secret-data-type binary. It shows
    /// in `ps` and the shell's history: prefer --secret-data-file.
    #[arg(
        long,
        value_name = "VALUE",
        value_parser = secret_text,
        required_unless_present = "secret_data_file",
        conflicts_with = "secret_data_file"
    )]
    secret_data: Option<SecretString>,
    /// Reads the value from a file, or standard input with `-`: exactly its
    /// bytes (a final newline included), UTF-8 text for a text value, any
    /// bytes for a binary one.
    #[arg(long, value_name = "PATH")]
    secret_data_file: Option<PathBuf>,
    /// How the value is written: text, or binary (base64 on the command line).
    #[arg(
        long,
        value_name = "TYPE",
        default_value = "text",
        ignore_case = true,
        value_parser = named_value(SecretDataType::ALL, SecretDataType::as_str)
    )]
    secret_data_type: SecretDataType,
}

/// A value typed on the command line.
fn secret_text(text: &str) -> Result<SecretString, String> {
    Ok(SecretString::new(text.to_owned()))
}

impl SecretDataArg {
    /// The value as the API carries it: text, or base64 for binary.
    pub fn value(&self) -> Result<SecretString, RequestError> {
        let Some(path) = &self.secret_data_file else {
            return Ok(self.secret_data.clone().unwrap_or_default());
        };
        let read = |source| RequestError::Read { path: path.clone(), source };
        let mut bytes = Zeroizing::new(Vec::new());
        if path.as_os_str() == "-" {
            std::io::stdin().lock().read_to_end(&mut bytes).map_err(read)?;
        } else {
            std::fs::File::open(path).and_then(|mut file| file.read_to_end(&mut bytes)).map_err(read)?;
        }
        match self.secret_data_type {
            SecretDataType::Binary => Ok(SecretString::new(to_base64(&bytes))),
            SecretDataType::Text => match std::str::from_utf8(&bytes) {
                Ok(text) => Ok(SecretString::new(text.to_owned())),
                Err(_) => Err(RequestError::Invalid(format!(
                    "{} is not UTF-8 text: give --secret-data-type binary for bytes",
                    path.display()
                ))),
            },
        }
    }
}

/// `secret create NAME --instance I --version-id V (--secret-data D | --secret-data-file F)`.
#[derive(Debug, Args)]
pub struct CreateSecretArgs {
    /// The secret's name, unique in the region (`$Auto` names a RAMCredentials secret after its user).
    #[arg(value_name = "NAME")]
    secret_name: String,
    /// The instance it belongs to.
    #[arg(long, value_name = "INSTANCE")]
    instance: String,
    /// The first version's id.
    #[arg(long, value_name = "VERSION")]
    version_id: String,
    #[command(flatten)]
    data: SecretDataArg,
    /// A symmetric key of the instance (id or alias); the instance's service key for secrets when absent.
    #[arg(long, value_name = "KEY")]
    encryption_key_id: Option<String>,
    /// Free text describing the secret.
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    /// A tag, KEY=VALUE (repeat for more; at most 20).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse::tag)]
    tags: Vec<Tag>,
    /// Generic (the default), Rds, RAMCredentials (or RAM), ECS.
    #[arg(long, value_name = "TYPE", default_value = "Generic", value_parser = SecretType::parse_lenient)]
    secret_type: SecretType,
    /// The type's configuration, a JSON object (required for Rds, RAMCredentials and ECS).
    #[arg(long, value_name = "JSON")]
    extended_config: Option<String>,
    /// Rotate on a schedule (Rds, RAMCredentials, ECS; needs --rotation-interval).
    #[arg(long, requires = "rotation_interval")]
    enable_automatic_rotation: bool,
    /// Rotation interval, 6h to 365d (also 3600s).
    #[arg(long, value_name = "INTERVAL", value_parser = parse::interval)]
    rotation_interval: Option<i64>,
}

impl Invocation for CreateSecretArgs {
    type Op = op::CreateSecret;

    fn request(&self) -> Result<CreateSecretRequest, RequestError> {
        Ok(CreateSecretRequest {
            secret_name: self.secret_name.clone(),
            instance: self.instance.clone(),
            secret_data: self.data.value()?,
            secret_data_type: self.data.secret_data_type,
            version_id: self.version_id.clone(),
            encryption_key_id: self.encryption_key_id.clone(),
            description: self.description.clone().unwrap_or_default(),
            tags: self.tags.clone(),
            secret_type: self.secret_type,
            extended_config: self.extended_config.clone(),
            enable_automatic_rotation: self.enable_automatic_rotation,
            rotation_interval: self.rotation_interval,
        })
    }

    fn render(&self, created: &SecretCreated, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, created, |c| {
            Fields::new()
                .field("SecretName", &c.secret_name)
                .field("Arn", &c.arn)
                .field("VersionId", &c.version_id)
                .field("SecretType", c.secret_type)
                .field("DKMSInstanceId", &c.instance)
                .field("AutomaticRotation", c.automatic_rotation)
                .field("RotationInterval", or_dash(c.rotation_interval.as_ref()))
                .field("NextRotationDate", or_dash(c.next_rotation_date.as_ref()))
                .render()
        })?)
    }
}

/// Stages as one argument (a newtype: clap reads a `Vec` as many).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stages(Vec<String>);

/// Stages as users give them: a JSON array (`["ACSCurrent","v2"]`, as
/// the API takes them) or names separated by commas.
fn stages(text: &str) -> Result<Stages, String> {
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text)
            .map(Stages)
            .map_err(|e| format!("'{text}' is not a JSON array of stages: {e}"));
    }
    Ok(Stages(text.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()))
}

/// `secret put-value NAME --version-id V (--secret-data D | --secret-data-file F)`.
#[derive(Debug, Args)]
pub struct PutSecretValueArgs {
    /// The secret.
    #[arg(value_name = "NAME")]
    secret_name: String,
    /// The new version's id (the same id with the same value again changes nothing).
    #[arg(long, value_name = "VERSION")]
    version_id: String,
    #[command(flatten)]
    data: SecretDataArg,
    /// The new version's stages, a JSON array or A,B (default: ACSCurrent).
    #[arg(long, value_name = "STAGES", value_parser = stages)]
    version_stages: Option<Stages>,
}

impl Invocation for PutSecretValueArgs {
    type Op = op::PutSecretValue;

    fn request(&self) -> Result<PutSecretValueRequest, RequestError> {
        Ok(PutSecretValueRequest {
            secret_name: self.secret_name.clone(),
            version_id: self.version_id.clone(),
            secret_data: self.data.value()?,
            secret_data_type: self.data.secret_data_type,
            version_stages: self.version_stages.clone().map(|s| s.0),
        })
    }

    fn render(&self, put: &SecretVersionPut, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, put, |p| {
            Fields::new()
                .field("SecretName", &p.secret_name)
                .field("VersionId", &p.version_id)
                .field("VersionStages", list_or_dash(&p.version_stages))
                .render()
        })?)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::super::super::test_support::{refused, request, temp_dir};
    use super::*;

    #[test]
    fn create_takes_the_value_inline_or_from_a_file() {
        let made = request::<CreateSecretArgs>(&[
            "secret",
            "create",
            "db",
            "--instance",
            "hsm1",
            "--version-id",
            "v1",
            "--secret-data",
            "pw",
        ]);
        assert_eq!(made.secret_data.expose(), "pw");
        assert_eq!((made.secret_type, made.secret_data_type), (SecretType::Generic, SecretDataType::Text));
        assert_eq!(made.encryption_key_id, None);
        let dir = temp_dir();
        let path = dir.path().join("value");
        std::fs::File::create(&path).and_then(|mut f| f.write_all(&[0, 1, 255])).expect("file");
        let path = path.to_str().expect("utf-8");
        let made = request::<CreateSecretArgs>(&[
            "secret",
            "create",
            "acs/ram/user/alice",
            "--instance",
            "hsm1",
            "--version-id",
            "v1",
            "--secret-data-file",
            path,
            "--secret-data-type",
            "binary",
            "--secret-type",
            "RAM",
        ]);
        assert_eq!(made.secret_data.expose(), "AAH/", "a binary file travels in base64");
        assert_eq!(made.secret_type, SecretType::RamCredentials);
        let args = super::super::super::test_support::parsed::<CreateSecretArgs>(&[
            "secret",
            "create",
            "db",
            "--instance",
            "hsm1",
            "--version-id",
            "v1",
            "--secret-data-file",
            path,
        ]);
        assert!(matches!(args.request(), Err(RequestError::Invalid(_))), "bytes are not text");
        refused(&["secret", "create", "db", "--instance", "hsm1", "--version-id", "v1"]);
        refused(&[
            "secret",
            "create",
            "db",
            "--instance",
            "hsm1",
            "--version-id",
            "v1",
            "--secret-data",
            "a",
            "--secret-data-file",
            "f",
        ]);
        refused(&[
            "secret",
            "create",
            "db",
            "--instance",
            "i",
            "--version-id",
            "v",
            "--secret-data",
            "a",
            "--enable-automatic-rotation",
        ]);
    }

    #[test]
    fn put_value_takes_stages_as_json_or_a_list() {
        let put = request::<PutSecretValueArgs>(&[
            "secret",
            "put-value",
            "db",
            "--version-id",
            "v2",
            "--secret-data",
            "pw2",
            "--version-stages",
            r#"["ACSCurrent","blue"]"#,
        ]);
        assert_eq!(put.version_stages, Some(vec!["ACSCurrent".to_owned(), "blue".to_owned()]));
        let put = request::<PutSecretValueArgs>(&[
            "secret",
            "put-value",
            "db",
            "--version-id",
            "v2",
            "--secret-data",
            "pw2",
            "--version-stages",
            "a,b",
        ]);
        assert_eq!(put.version_stages, Some(vec!["a".to_owned(), "b".to_owned()]));
        let put =
            request::<PutSecretValueArgs>(&["secret", "put-value", "db", "--version-id", "v2", "--secret-data", "x"]);
        assert_eq!(put.version_stages, None);
        refused(&["secret", "put-value", "db", "--secret-data", "x"]);
    }
}
