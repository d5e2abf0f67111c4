//! A secret's versions: `secret list-version-ids` and
//! `secret update-version-stage`.

use clap::Args;
use p11kms_proto::admin::{
    ListSecretVersionIdsRequest, SecretNamed, SecretVersionList, UpdateSecretVersionStageRequest, op,
};

use super::super::{Invocation, RenderError, RequestError};
use crate::output::{self, Format, Table, list_or_dash};

/// Paging of the list commands.
#[derive(Debug, Args)]
pub struct Paging {
    /// The page, from 1.
    #[arg(long, value_name = "N")]
    pub page_number: Option<u32>,
    /// Items a page, 1 to 100 (default 10).
    #[arg(long, value_name = "N")]
    pub page_size: Option<u32>,
}

/// `secret list-version-ids NAME [--include-deprecated]`.
#[derive(Debug, Args)]
pub struct ListSecretVersionIdsArgs {
    /// The secret.
    #[arg(value_name = "NAME")]
    secret_name: String,
    /// List versions without a stage (deprecated) too.
    #[arg(long)]
    include_deprecated: bool,
    #[command(flatten)]
    paging: Paging,
}

impl Invocation for ListSecretVersionIdsArgs {
    type Op = op::ListSecretVersionIds;

    fn request(&self) -> Result<ListSecretVersionIdsRequest, RequestError> {
        Ok(ListSecretVersionIdsRequest {
            secret_name: self.secret_name.clone(),
            include_deprecated: self.include_deprecated,
            page_number: self.paging.page_number,
            page_size: self.paging.page_size,
        })
    }

    fn render(&self, list: &SecretVersionList, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, list, |l| {
            let mut table = Table::new(&["VERSION-ID", "CREATED", "STAGES"]);
            for v in &l.version_ids {
                table.row(vec![v.version_id.clone(), v.create_time.to_string(), list_or_dash(&v.version_stages)]);
            }
            table.render()
        })?)
    }
}

/// `secret update-version-stage NAME --version-stage S [--remove-from-version V] [--move-to-version V]`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("versions").required(true).multiple(true).args(["remove_from_version", "move_to_version"]))]
pub struct UpdateSecretVersionStageArgs {
    /// The secret.
    #[arg(value_name = "NAME")]
    secret_name: String,
    /// The stage (ACSCurrent and ACSPrevious are only moved).
    #[arg(long, value_name = "STAGE")]
    version_stage: String,
    /// The version that has it now.
    #[arg(long, value_name = "VERSION")]
    remove_from_version: Option<String>,
    /// The version that gets it.
    #[arg(long, value_name = "VERSION")]
    move_to_version: Option<String>,
}

impl Invocation for UpdateSecretVersionStageArgs {
    type Op = op::UpdateSecretVersionStage;

    fn request(&self) -> Result<UpdateSecretVersionStageRequest, RequestError> {
        Ok(UpdateSecretVersionStageRequest {
            secret_name: self.secret_name.clone(),
            version_stage: self.version_stage.clone(),
            remove_from_version: self.remove_from_version.clone(),
            move_to_version: self.move_to_version.clone(),
        })
    }

    fn render(&self, named: &SecretNamed, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, named, |n| {
            format!("Stage '{}' of secret '{}' updated.\n", self.version_stage, n.secret_name)
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{refused, request};
    use super::*;

    #[test]
    fn version_commands_parse_to_requests() {
        let list = request::<ListSecretVersionIdsArgs>(&[
            "secret",
            "list-version-ids",
            "db",
            "--include-deprecated",
            "--page-size",
            "5",
        ]);
        assert!(list.include_deprecated);
        assert_eq!((list.page_number, list.page_size), (None, Some(5)));
        let moved = request::<UpdateSecretVersionStageArgs>(&[
            "secret",
            "update-version-stage",
            "db",
            "--version-stage",
            "ACSCurrent",
            "--move-to-version",
            "v2",
        ]);
        assert_eq!((moved.remove_from_version, moved.move_to_version.as_deref()), (None, Some("v2")));
        refused(&["secret", "update-version-stage", "db", "--version-stage", "blue"]);
    }
}
