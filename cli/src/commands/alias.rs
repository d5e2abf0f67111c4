//! `p11kms alias …`: second names for keys (`alias/...`).

use clap::Args;
use p11kms_proto::admin::{AliasInfo, AliasRef, AliasRequest, ListAliasesRequest, op};

use super::{Invocation, RenderError, RequestError, subcommands};
use crate::output::{self, Format, Table};

subcommands! {
    /// Operations on aliases.
    pub enum AliasCommand {
        /// Creates an alias for a key (CreateAlias).
        Create(CreateAliasArgs),
        /// Points an alias at another key (UpdateAlias).
        Update(UpdateAliasArgs),
        /// Deletes an alias (DeleteAlias); the key stays.
        Delete(DeleteAliasArgs),
        /// Lists aliases (ListAliases, ListAliasesByKeyId).
        List(ListAliasesArgs),
    }
}

/// `alias create ALIAS --key-id KEY`.
#[derive(Debug, Args)]
pub struct CreateAliasArgs {
    /// `alias/...`.
    #[arg(value_name = "ALIAS")]
    alias: String,
    /// Key id or alias of the key.
    #[arg(long, value_name = "KEY")]
    key_id: String,
}

impl Invocation for CreateAliasArgs {
    type Op = op::CreateAlias;

    fn request(&self) -> Result<AliasRequest, RequestError> {
        Ok(AliasRequest { alias: self.alias.clone(), key: self.key_id.clone() })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        Ok(output::done(format, &format!("Alias '{}' now names key '{}'.", self.alias, self.key_id))?)
    }
}

/// `alias update ALIAS --key-id KEY`.
#[derive(Debug, Args)]
pub struct UpdateAliasArgs {
    /// `alias/...`.
    #[arg(value_name = "ALIAS")]
    alias: String,
    /// Key id or alias of the key it names from now on.
    #[arg(long, value_name = "KEY")]
    key_id: String,
}

impl Invocation for UpdateAliasArgs {
    type Op = op::UpdateAlias;

    fn request(&self) -> Result<AliasRequest, RequestError> {
        Ok(AliasRequest { alias: self.alias.clone(), key: self.key_id.clone() })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        Ok(output::done(format, &format!("Alias '{}' now names key '{}'.", self.alias, self.key_id))?)
    }
}

/// `alias delete ALIAS`.
#[derive(Debug, Args)]
pub struct DeleteAliasArgs {
    /// `alias/...`.
    #[arg(value_name = "ALIAS")]
    alias: String,
}

impl Invocation for DeleteAliasArgs {
    type Op = op::DeleteAlias;

    fn request(&self) -> Result<AliasRef, RequestError> {
        Ok(AliasRef { alias: self.alias.clone() })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        Ok(output::done(format, &format!("Alias '{}' deleted.", self.alias))?)
    }
}

/// `alias list [--key-id KEY]`.
#[derive(Debug, Args)]
pub struct ListAliasesArgs {
    /// Only this key's aliases.
    #[arg(long, value_name = "KEY")]
    key_id: Option<String>,
}

impl Invocation for ListAliasesArgs {
    type Op = op::ListAliases;

    fn request(&self) -> Result<ListAliasesRequest, RequestError> {
        Ok(ListAliasesRequest { key: self.key_id.clone() })
    }

    fn render(&self, aliases: &Vec<AliasInfo>, format: Format) -> Result<String, RenderError> {
        Ok(output::show_list(format, "Aliases", aliases, table)?)
    }
}

fn table(aliases: &[AliasInfo]) -> String {
    let mut table = Table::new(&["ALIAS", "KEY-ID", "ARN"]);
    for alias in aliases {
        table.row(vec![alias.alias_name.clone(), alias.key_id.clone(), alias.alias_arn.clone()]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{done, human, json, refused, request};
    use super::*;

    #[test]
    fn alias_commands_parse_into_requests() {
        assert_eq!(
            request::<CreateAliasArgs>(&["alias", "create", "alias/a", "--key-id", "key-1"]),
            AliasRequest { alias: "alias/a".into(), key: "key-1".into() }
        );
        assert_eq!(request::<ListAliasesArgs>(&["alias", "list"]), ListAliasesRequest { key: None });
        refused(&["alias", "create", "alias/a"]);
    }

    #[test]
    fn lists_render_as_a_table_and_as_the_api_shape() {
        let aliases = vec![AliasInfo { alias_name: "alias/a".into(), alias_arn: "arn".into(), key_id: "key-1".into() }];
        let text = human::<ListAliasesArgs>(&["alias", "list"], &aliases);
        assert!(text.starts_with("ALIAS    KEY-ID  ARN\nalias/a  key-1   arn"), "{text}");
        let json = json::<ListAliasesArgs>(&["alias", "list"], &aliases);
        assert_eq!(json["Aliases"][0]["AliasName"], "alias/a");
        assert_eq!(json["TotalCount"], 1);
    }

    #[test]
    fn every_alias_command_parses_to_its_request() {
        assert_eq!(
            request::<UpdateAliasArgs>(&["alias", "update", "alias/a", "--key-id", "key-2"]),
            AliasRequest { alias: "alias/a".into(), key: "key-2".into() }
        );
        assert_eq!(request::<DeleteAliasArgs>(&["alias", "delete", "alias/a"]), AliasRef { alias: "alias/a".into() });
        assert_eq!(
            request::<ListAliasesArgs>(&["alias", "list", "--key-id", "alias/other"]),
            ListAliasesRequest { key: Some("alias/other".into()) }
        );
        refused(&["alias", "update", "alias/a"]);
        refused(&["alias", "delete"]);
        refused(&["alias", "create", "--key-id", "k"]);
        refused(&["alias", "list", "alias/a"]);
    }

    #[test]
    fn changes_confirm_in_one_line_or_print_empty_json() {
        let empty = || "{}\n".to_owned();
        assert_eq!(
            done::<CreateAliasArgs>(&["alias", "create", "alias/a", "--key-id", "k"]),
            ("Alias 'alias/a' now names key 'k'.\n".to_owned(), empty())
        );
        assert_eq!(
            done::<UpdateAliasArgs>(&["alias", "update", "alias/a", "--key-id", "k2"]),
            ("Alias 'alias/a' now names key 'k2'.\n".to_owned(), empty())
        );
        assert_eq!(
            done::<DeleteAliasArgs>(&["alias", "delete", "alias/a"]),
            ("Alias 'alias/a' deleted.\n".to_owned(), empty())
        );
    }

    #[test]
    fn an_empty_list_is_a_header_and_a_zero_count() {
        assert_eq!(human::<ListAliasesArgs>(&["alias", "list"], &vec![]), "ALIAS  KEY-ID  ARN\n");
        assert_eq!(
            json::<ListAliasesArgs>(&["alias", "list"], &vec![]),
            serde_json::json!({"Aliases": [], "TotalCount": 0})
        );
    }
}
