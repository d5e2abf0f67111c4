//! The subcommands, one module per resource of the KMS API. Each module has
//! its clap subcommand enum with two methods: `request` turns the parsed
//! command into an [`AdminRequest`], `render` turns the daemon's
//! [`AdminReply`] into the text to print.
//!
//! Adding a resource is adding a module here and one variant to [`Command`]
//! (plus its arms in the three `match`es below).

pub mod alias;
pub mod app;
pub mod args;
pub mod clock;
pub mod cluster;
pub mod connection;
pub mod crypto;
pub mod instance;
pub mod key;
pub mod rewrap;

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
    /// Aliases: second names of keys.
    #[command(subcommand)]
    Alias(alias::AliasCommand),
    /// The daemon's clock (moved only with the test clock).
    #[command(subcommand)]
    Clock(clock::ClockCommand),
    /// Open data connections and their request counts.
    #[command(subcommand)]
    Connection(connection::ConnectionCommand),
    /// Re-encrypts a file of ciphertext blobs under the current primary versions.
    Rewrap(rewrap::RewrapArgs),
    #[command(flatten)]
    Crypto(crypto::CryptoCommand),
}

/// A command could not be turned into a request.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// A file it needs could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The command is not one request (`rewrap` runs many).
    #[error("this command sends several requests")]
    NotSingle,
}

impl Command {
    /// The admin request this command sends.
    pub fn request(&self) -> Result<AdminRequest, RequestError> {
        Ok(match self {
            Self::Instance(command) => command.request(),
            Self::App(command) => command.request(),
            Self::Key(command) => command.request(),
            Self::Cluster(command) => command.request(),
            Self::Alias(command) => command.request(),
            Self::Clock(command) => command.request(),
            Self::Connection(command) => command.request(),
            Self::Crypto(command) => command.request()?,
            Self::Rewrap(_) => return Err(RequestError::NotSingle),
        })
    }

    /// The exit status a successful reply means (0 but for `verify` of an
    /// invalid signature).
    pub fn exit_status(&self, reply: &AdminReply) -> u8 {
        match self {
            Self::Crypto(command) => command.exit_status(reply),
            Self::Cluster(command) => command.exit_status(reply),
            _ => 0,
        }
    }

    /// The text to print for the daemon's reply.
    pub fn render(&self, reply: AdminReply, format: Format) -> Result<String, RenderError> {
        match self {
            Self::Instance(command) => command.render(reply, format),
            Self::App(command) => command.render(reply, format),
            Self::Key(command) => command.render(reply, format),
            Self::Cluster(command) => command.render(reply, format),
            Self::Alias(command) => command.render(reply, format),
            Self::Clock(command) => command.render(reply, format),
            Self::Connection(command) => command.render(reply, format),
            Self::Crypto(command) => command.render(reply, format),
            Self::Rewrap(_) => Err(unexpected("rewrap", &reply)),
        }
    }
}

/// The error for a reply that does not belong to `operation`.
pub(crate) fn unexpected(operation: &'static str, reply: &AdminReply) -> RenderError {
    RenderError::Unexpected(unexpected_reply(operation, reply))
}

/// The same, as the client error it is.
pub(crate) fn unexpected_reply(operation: &'static str, reply: &AdminReply) -> ClientError {
    ClientError::UnexpectedReply { operation, reply: reply_name(reply) }
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
        AdminReply::KeyVersion(_) => "KeyVersion",
        AdminReply::Aliases(_) => "Aliases",
        AdminReply::ImportParameters(_) => "ImportParameters",
        AdminReply::Encrypted(_) => "Encrypted",
        AdminReply::Decrypted(_) => "Decrypted",
        AdminReply::ReEncrypted(_) => "ReEncrypted",
        AdminReply::ReEncryptedBatch(_) => "ReEncryptedBatch",
        AdminReply::DataKey(_) => "DataKey",
        AdminReply::Signature(_) => "Signature",
        AdminReply::Verified(_) => "Verified",
        AdminReply::AsymmetricEncrypted(_) => "AsymmetricEncrypted",
        AdminReply::AsymmetricDecrypted(_) => "AsymmetricDecrypted",
        AdminReply::PublicKey(_) => "PublicKey",
        AdminReply::Clock(_) => "Clock",
        AdminReply::Connections(_) => "Connections",
        AdminReply::ClusterVerification(_) => "ClusterVerification",
        AdminReply::Resynced(_) => "Resynced",
        AdminReply::Image(_) => "Image",
        AdminReply::Images(_) => "Images",
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

    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU32, Ordering};

    use clap::Parser;

    use super::Command;
    use crate::Cli;

    /// A directory of its own for one test, removed when dropped.
    #[derive(Debug)]
    pub struct TempDir(PathBuf);

    impl TempDir {
        /// A new, empty directory.
        pub fn new() -> Self {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("p11kms-cli-test-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).expect("a temporary directory");
            Self(path)
        }

        /// Its path.
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

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
