//! `secret get-value`: a version's value, in clear (ACSCurrent unless a
//! version id or stage is named). `--query SecretData` prints the value
//! alone.

use clap::Args;
use p11kms_proto::admin::{GetSecretValueRequest, SecretValue, op};

use super::super::{Invocation, RenderError, RequestError};
use crate::output::{self, Fields, Format, list_or_dash, or_dash};

/// `secret get-value NAME [--version-id V | --version-stage S]`.
#[derive(Debug, Args)]
pub struct GetSecretValueArgs {
    /// The secret.
    #[arg(value_name = "NAME")]
    secret_name: String,
    /// The version, by id.
    #[arg(long, value_name = "VERSION")]
    version_id: Option<String>,
    /// The version, by stage (default: ACSCurrent).
    #[arg(long, value_name = "STAGE")]
    version_stage: Option<String>,
    /// Return the secret's ExtendedConfig too.
    #[arg(long)]
    fetch_extended_config: bool,
}

impl Invocation for GetSecretValueArgs {
    type Op = op::GetSecretValue;

    fn request(&self) -> Result<GetSecretValueRequest, RequestError> {
        Ok(GetSecretValueRequest {
            secret_name: self.secret_name.clone(),
            version_id: self.version_id.clone(),
            version_stage: self.version_stage.clone(),
            fetch_extended_config: self.fetch_extended_config,
        })
    }

    fn render(&self, value: &SecretValue, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, value, |v| {
            Fields::new()
                .field("SecretName", &v.secret_name)
                .field("VersionId", &v.version_id)
                .field("VersionStages", list_or_dash(&v.version_stages))
                .field("CreateTime", v.create_time)
                .field("SecretType", v.secret_type)
                .field("SecretDataType", v.secret_data_type)
                .field("ExtendedConfig", or_dash(v.extended_config.as_ref()))
                .field("AutomaticRotation", v.automatic_rotation)
                .field("NextRotationDate", or_dash(v.next_rotation_date.as_ref()))
                .field("SecretData", v.secret_data.expose())
                .render()
        })?)
    }
}

#[cfg(test)]
mod tests {
    use p11kms_proto::admin::{AutomaticRotation, SecretDataType, SecretType};
    use p11kms_proto::{SecretString, Timestamp};

    use super::super::super::test_support::{human, json, request};
    use super::*;

    #[test]
    fn get_value_names_a_version_and_shows_the_api_fields() {
        let args = ["secret", "get-value", "db", "--version-stage", "ACSPrevious"];
        let made = request::<GetSecretValueArgs>(&args);
        assert_eq!((made.version_id, made.version_stage.as_deref()), (None, Some("ACSPrevious")));
        let value = SecretValue {
            secret_name: "db".into(),
            version_id: "v1".into(),
            create_time: Timestamp(0),
            secret_data: SecretString::new("s3cret".into()),
            secret_data_type: SecretDataType::Text,
            version_stages: vec!["ACSPrevious".into()],
            secret_type: SecretType::Generic,
            extended_config: None,
            automatic_rotation: AutomaticRotation::Disabled,
            rotation_interval: None,
            last_rotation_date: None,
            next_rotation_date: None,
        };
        let shown = json::<GetSecretValueArgs>(&args, &value);
        assert_eq!(shown["SecretData"], "s3cret");
        assert_eq!(shown["VersionStages"][0], "ACSPrevious");
        assert_eq!(shown["SecretDataType"], "text");
        assert!(human::<GetSecretValueArgs>(&args, &value).contains("SecretData:        s3cret\n"));
    }
}
