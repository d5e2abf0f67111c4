//! `secret describe`, `secret list` and `secret update`.

use clap::Args;
use p11kms_proto::admin::{
    DescribeSecretRequest, ListSecretsRequest, SecretDescription, SecretFilter, SecretList, SecretNamed,
    UpdateSecretRequest, op,
};

use super::super::{Invocation, RenderError, RequestError};
use super::versions::Paging;
use crate::output::{self, Fields, Format, Table, or_dash};

/// `secret describe NAME [--fetch-tags]`.
#[derive(Debug, Args)]
pub struct DescribeSecretArgs {
    /// The secret.
    #[arg(value_name = "NAME")]
    secret_name: String,
    /// Show its tags too.
    #[arg(long)]
    fetch_tags: bool,
}

impl Invocation for DescribeSecretArgs {
    type Op = op::DescribeSecret;

    fn request(&self) -> Result<DescribeSecretRequest, RequestError> {
        Ok(DescribeSecretRequest { secret_name: self.secret_name.clone(), fetch_tags: self.fetch_tags })
    }

    fn render(&self, secret: &SecretDescription, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, secret, description_fields)?)
    }
}

fn description_fields(s: &SecretDescription) -> String {
    let tags = s
        .tags
        .as_ref()
        .map(|tags| tags.iter().map(|t| format!("{}={}", t.tag_key, t.tag_value)).collect::<Vec<_>>().join(","));
    let mut fields = Fields::new()
        .field("SecretName", &s.secret_name)
        .field("Arn", &s.arn)
        .field("SecretType", s.secret_type)
        .field("DKMSInstanceId", &s.instance)
        .field("EncryptionKeyId", &s.encryption_key_id)
        .field("Description", &s.description)
        .field("ExtendedConfig", or_dash(s.extended_config.as_ref()))
        .field("CreateTime", s.create_time)
        .field("UpdateTime", s.update_time)
        .field("PlannedDeleteTime", or_dash(s.planned_delete_time.as_ref()))
        .field("AutomaticRotation", s.automatic_rotation)
        .field("RotationInterval", or_dash(s.rotation_interval.as_ref()))
        .field("LastRotationDate", or_dash(s.last_rotation_date.as_ref()))
        .field("NextRotationDate", or_dash(s.next_rotation_date.as_ref()));
    if let Some(tags) = tags {
        fields = fields.field("Tags", if tags.is_empty() { "-".to_owned() } else { tags });
    }
    if let Some(failure) = &s.last_rotation_failure {
        fields = fields.field("LastRotationFailure", format!("{} {}: {}", failure.time, failure.code, failure.message));
    }
    fields.render()
}

/// Filters as one argument (a newtype: clap reads a `Vec` as many).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filters(Vec<SecretFilter>);

/// Filters as the API takes them: a JSON array of `{"Key": …, "Values":
/// […]}`.
fn filters(text: &str) -> Result<Filters, String> {
    serde_json::from_str(text).map(Filters).map_err(|e| {
        format!("'{text}' is not a list of filters (e.g. [{{\"Key\":\"SecretName\",\"Values\":[\"db\"]}}]): {e}")
    })
}

/// `secret list [--instance I] [--filters JSON] [--fetch-tags]`.
#[derive(Debug, Args)]
pub struct ListSecretsArgs {
    /// Only the secrets of this instance.
    #[arg(long, value_name = "INSTANCE")]
    instance: Option<String>,
    /// Show tags too.
    #[arg(long)]
    fetch_tags: bool,
    /// Filters, a JSON array of {"Key","Values"}: SecretName and Description match by substring, TagKey and TagValue exactly.
    #[arg(long, value_name = "JSON", value_parser = filters)]
    filters: Option<Filters>,
    #[command(flatten)]
    paging: Paging,
}

impl Invocation for ListSecretsArgs {
    type Op = op::ListSecrets;

    fn request(&self) -> Result<ListSecretsRequest, RequestError> {
        Ok(ListSecretsRequest {
            instance: self.instance.clone(),
            fetch_tags: self.fetch_tags,
            filters: self.filters.clone().map(|f| f.0).unwrap_or_default(),
            page_number: self.paging.page_number,
            page_size: self.paging.page_size,
        })
    }

    fn render(&self, list: &SecretList, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, list, |l| {
            let mut table = Table::new(&["NAME", "TYPE", "INSTANCE", "UPDATED", "PLANNED-DELETE"]);
            for s in &l.secret_list {
                table.row(vec![
                    s.secret_name.clone(),
                    s.secret_type.to_string(),
                    s.instance.clone(),
                    s.update_time.to_string(),
                    or_dash(s.planned_delete_time.as_ref()),
                ]);
            }
            let mut text = table.render();
            text.push_str(&format!("Page {} ({} a page) of {} secrets.\n", l.page_number, l.page_size, l.total_count));
            text
        })?)
    }
}

/// `secret update NAME [--description D] [--extended-config-custom-data JSON]`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("changes").required(true).multiple(true).args(["description", "extended_config_custom_data"]))]
pub struct UpdateSecretArgs {
    /// The secret.
    #[arg(value_name = "NAME")]
    secret_name: String,
    /// A new description.
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    /// A new CustomData of the ExtendedConfig, a JSON object (Rds, RAMCredentials, ECS).
    #[arg(long, value_name = "JSON")]
    extended_config_custom_data: Option<String>,
}

impl Invocation for UpdateSecretArgs {
    type Op = op::UpdateSecret;

    fn request(&self) -> Result<UpdateSecretRequest, RequestError> {
        Ok(UpdateSecretRequest {
            secret_name: self.secret_name.clone(),
            description: self.description.clone(),
            extended_config_custom_data: self.extended_config_custom_data.clone(),
        })
    }

    fn render(&self, named: &SecretNamed, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, named, |n| format!("Secret '{}' updated.\n", n.secret_name))?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{refused, request};
    use super::*;

    #[test]
    fn list_takes_the_api_filters() {
        let list = request::<ListSecretsArgs>(&[
            "secret",
            "list",
            "--filters",
            r#"[{"Key":"TagKey","Values":["team"]}]"#,
            "--page-number",
            "2",
        ]);
        assert_eq!(list.filters, vec![SecretFilter { key: "TagKey".into(), values: vec!["team".into()] }]);
        assert_eq!(list.page_number, Some(2));
        refused(&["secret", "list", "--filters", "team"]);
        refused(&["secret", "update", "db"]);
        let update = request::<UpdateSecretArgs>(&["secret", "update", "db", "--description", "d"]);
        assert_eq!((update.description.as_deref(), update.extended_config_custom_data), (Some("d"), None));
    }
}
