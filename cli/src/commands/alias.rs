//! `p11kms alias …`: second names for keys (`alias/...`).

use clap::Subcommand;
use p11kms_proto::admin::{AdminReply, AdminRequest, AliasInfo};

use super::{RenderError, unexpected};
use crate::output::{self, Format, Table};

/// Operations on aliases.
#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Creates an alias for a key (CreateAlias).
    Create {
        /// `alias/...`.
        #[arg(value_name = "ALIAS")]
        alias: String,
        /// Key id or alias of the key.
        #[arg(long, value_name = "KEY")]
        key_id: String,
    },
    /// Points an alias at another key (UpdateAlias).
    Update {
        /// `alias/...`.
        #[arg(value_name = "ALIAS")]
        alias: String,
        /// Key id or alias of the key it names from now on.
        #[arg(long, value_name = "KEY")]
        key_id: String,
    },
    /// Deletes an alias (DeleteAlias); the key stays.
    Delete {
        /// `alias/...`.
        #[arg(value_name = "ALIAS")]
        alias: String,
    },
    /// Lists aliases (ListAliases, ListAliasesByKeyId).
    List {
        /// Only this key's aliases.
        #[arg(long, value_name = "KEY")]
        key_id: Option<String>,
    },
}

impl AliasCommand {
    /// The admin request for this command.
    pub fn request(&self) -> AdminRequest {
        match self {
            Self::Create { alias, key_id } => AdminRequest::AliasCreate { alias: alias.clone(), key: key_id.clone() },
            Self::Update { alias, key_id } => AdminRequest::AliasUpdate { alias: alias.clone(), key: key_id.clone() },
            Self::Delete { alias } => AdminRequest::AliasDelete { alias: alias.clone() },
            Self::List { key_id } => AdminRequest::AliasList { key: key_id.clone() },
        }
    }

    /// The text to print for the reply.
    pub fn render(&self, reply: AdminReply, format: Format) -> Result<String, RenderError> {
        match (self, reply) {
            (Self::Create { alias, key_id }, AdminReply::Done) => {
                Ok(output::done(format, &format!("Alias '{alias}' now names key '{key_id}'."))?)
            }
            (Self::Update { alias, key_id }, AdminReply::Done) => {
                Ok(output::done(format, &format!("Alias '{alias}' now names key '{key_id}'."))?)
            }
            (Self::Delete { alias }, AdminReply::Done) => {
                Ok(output::done(format, &format!("Alias '{alias}' deleted."))?)
            }
            (Self::List { .. }, AdminReply::Aliases(aliases)) => {
                Ok(output::show_list(format, "Aliases", &aliases, table)?)
            }
            (command, other) => Err(unexpected(command.operation(), &other)),
        }
    }

    fn operation(&self) -> &'static str {
        match self {
            Self::Create { .. } => "alias create",
            Self::Update { .. } => "alias update",
            Self::Delete { .. } => "alias delete",
            Self::List { .. } => "alias list",
        }
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
    use super::super::test_support::{command, refused};
    use super::*;
    use crate::commands::Command;

    #[test]
    fn alias_commands_parse_into_requests() {
        let Command::Alias(create) = command(&["alias", "create", "alias/a", "--key-id", "key-1"]) else { panic!() };
        assert_eq!(create.request(), AdminRequest::AliasCreate { alias: "alias/a".into(), key: "key-1".into() });
        let Command::Alias(list) = command(&["alias", "list"]) else { panic!() };
        assert_eq!(list.request(), AdminRequest::AliasList { key: None });
        refused(&["alias", "create", "alias/a"]);
    }

    #[test]
    fn lists_render_as_a_table_and_as_the_api_shape() {
        let Command::Alias(list) = command(&["alias", "list"]) else { panic!() };
        let aliases = vec![AliasInfo { alias_name: "alias/a".into(), alias_arn: "arn".into(), key_id: "key-1".into() }];
        let text = list.render(AdminReply::Aliases(aliases.clone()), Format::Human).expect("renders");
        assert!(text.starts_with("ALIAS    KEY-ID  ARN\nalias/a  key-1   arn"), "{text}");
        let json: serde_json::Value =
            serde_json::from_str(&list.render(AdminReply::Aliases(aliases), Format::Json).expect("renders"))
                .expect("json");
        assert_eq!(json["Aliases"][0]["AliasName"], "alias/a");
        assert_eq!(json["TotalCount"], 1);
    }

    fn alias(args: &[&str]) -> AliasCommand {
        match command(args) {
            Command::Alias(alias) => alias,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_alias_command_parses_to_its_request() {
        assert_eq!(
            alias(&["alias", "update", "alias/a", "--key-id", "key-2"]).request(),
            AdminRequest::AliasUpdate { alias: "alias/a".into(), key: "key-2".into() }
        );
        assert_eq!(
            alias(&["alias", "delete", "alias/a"]).request(),
            AdminRequest::AliasDelete { alias: "alias/a".into() }
        );
        assert_eq!(
            alias(&["alias", "list", "--key-id", "alias/other"]).request(),
            AdminRequest::AliasList { key: Some("alias/other".into()) }
        );
        refused(&["alias", "update", "alias/a"]);
        refused(&["alias", "delete"]);
        refused(&["alias", "create", "--key-id", "k"]);
        refused(&["alias", "list", "alias/a"]);
    }

    #[test]
    fn changes_confirm_in_one_line_or_print_empty_json() {
        let cases: &[(&[&str], &str)] = &[
            (&["alias", "create", "alias/a", "--key-id", "k"], "Alias 'alias/a' now names key 'k'.\n"),
            (&["alias", "update", "alias/a", "--key-id", "k2"], "Alias 'alias/a' now names key 'k2'.\n"),
            (&["alias", "delete", "alias/a"], "Alias 'alias/a' deleted.\n"),
        ];
        for (args, message) in cases {
            let cmd = alias(args);
            assert_eq!(cmd.render(AdminReply::Done, Format::Human).expect("renders"), *message);
            assert_eq!(cmd.render(AdminReply::Done, Format::Json).expect("renders"), "{}\n");
        }
        let err = alias(&["alias", "list"]).render(AdminReply::Done, Format::Human).expect_err("not Done");
        assert_eq!(err.to_string(), "p11kmsd answered alias list with a Done reply");
        let err = alias(&["alias", "delete", "alias/a"]).render(AdminReply::Aliases(vec![]), Format::Human);
        assert!(err.is_err());
    }

    #[test]
    fn an_empty_list_is_a_header_and_a_zero_count() {
        let list = alias(&["alias", "list"]);
        assert_eq!(list.render(AdminReply::Aliases(vec![]), Format::Human).expect("renders"), "ALIAS  KEY-ID  ARN\n");
        let json: serde_json::Value =
            serde_json::from_str(&list.render(AdminReply::Aliases(vec![]), Format::Json).expect("renders"))
                .expect("json");
        assert_eq!(json, serde_json::json!({"Aliases": [], "TotalCount": 0}));
    }
}
