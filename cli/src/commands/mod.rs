//! The subcommands, one module per resource of the KMS API. Each module has
//! its clap subcommand enum with two methods: `request` turns the parsed
//! command into an [`AdminRequest`], `render` turns the daemon's
//! [`AdminReply`] into the text to print.
//!
//! Adding a resource is adding a module here and one variant to [`Command`]
//! (plus its arms in the three `match`es below).

pub mod app;
pub mod cluster;
pub mod instance;
pub mod key;

use std::str::FromStr;

use clap::Subcommand;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use p11kms_proto::admin::{AdminReply, AdminRequest};

use crate::client::ClientError;
use crate::output::Format;

/// Why a reply could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The daemon answered with a reply of another operation.
    #[error(transparent)]
    Unexpected(#[from] ClientError),
    /// The reply could not be turned into JSON.
    #[error("cannot print the reply as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// A resource and the operation on it.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// KMS instances: where keys live; each is one PKCS#11 slot.
    #[command(subcommand)]
    Instance(instance::InstanceCommand),
    /// Applications: who may log in through PKCS#11, with which PIN.
    #[command(subcommand)]
    App(app::AppCommand),
    /// KMS keys and their versions.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// HSM clusters: a primary token and its mirrors.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
}

impl Command {
    /// The admin request this command sends.
    pub fn request(&self) -> AdminRequest {
        match self {
            Self::Instance(command) => command.request(),
            Self::App(command) => command.request(),
            Self::Key(command) => command.request(),
            Self::Cluster(command) => command.request(),
        }
    }

    /// The text to print for the daemon's reply.
    pub fn render(&self, reply: AdminReply, format: Format) -> Result<String, RenderError> {
        match self {
            Self::Instance(command) => command.render(reply, format),
            Self::App(command) => command.render(reply, format),
            Self::Key(command) => command.render(reply, format),
            Self::Cluster(command) => command.render(reply, format),
        }
    }
}

/// The error for a reply that does not belong to `operation`.
pub(crate) fn unexpected(operation: &'static str, reply: &AdminReply) -> RenderError {
    RenderError::Unexpected(ClientError::UnexpectedReply { operation, reply: reply_name(reply) })
}

/// The name of a reply variant, for error messages.
fn reply_name(reply: &AdminReply) -> &'static str {
    match reply {
        AdminReply::Done => "Done",
        AdminReply::Instances(_) => "Instances",
        AdminReply::Instance(_) => "Instance",
        AdminReply::AppCreated(_) => "AppCreated",
        AdminReply::Apps(_) => "Apps",
        AdminReply::App(_) => "App",
        AdminReply::Key(_) => "Key",
        AdminReply::Keys(_) => "Keys",
        AdminReply::KeyVersions(_) => "KeyVersions",
        AdminReply::Clusters(_) => "Clusters",
        AdminReply::Cluster(_) => "Cluster",
    }
}

/// A clap value parser for one of proto's named enums (`KeySpec`,
/// `KeyUsage`, …): accepts the spellings users type, in any case, and lists
/// them in `--help` and in the error for a value that is not one of them.
pub(crate) fn named_value<T>(all: &'static [T], name: fn(T) -> &'static str) -> impl TypedValueParser<Value = T>
where
    T: FromStr<Err = String> + Copy + Send + Sync + 'static,
{
    PossibleValuesParser::new(all.iter().map(|value| name(*value))).try_map(|text| text.parse::<T>())
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers shared by the resource modules' tests.

    use clap::Parser;

    use super::Command;
    use crate::Cli;

    /// Parses a command line (without the program name).
    pub fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        Cli::try_parse_from(std::iter::once("p11kms").chain(args.iter().copied())).map(|cli| cli.command)
    }

    /// Parses a command line that must be valid.
    pub fn command(args: &[&str]) -> Command {
        match parse(args) {
            Ok(command) => command,
            Err(err) => panic!("{args:?} should parse: {err}"),
        }
    }

    /// The rendered error for a command line that must be refused.
    pub fn refused(args: &[&str]) -> clap::Error {
        match parse(args) {
            Ok(command) => panic!("{args:?} should be refused, parsed as {command:?}"),
            Err(err) => err,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use crate::client::ClientError;
    use crate::output::Format;

    use super::*;

    #[test]
    fn a_reply_of_another_operation_is_an_error() {
        let err = command(&["instance", "list"]).render(AdminReply::Done, Format::Human).expect_err("wrong reply");
        assert!(matches!(err, RenderError::Unexpected(ClientError::UnexpectedReply { reply: "Done", .. })));
        assert_eq!(err.to_string(), "p11kmsd answered instance list with a Done reply");
    }

    #[test]
    fn a_resource_without_an_operation_is_a_usage_error() {
        let err = refused(&["key"]);
        assert_eq!(err.exit_code(), 2);
        let err = refused(&["frobnicate"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidSubcommand);
    }
}
