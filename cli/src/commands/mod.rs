//! The subcommands: the command tree, one module per resource of the KMS
//! API. Each admin operation has its command there: a clap `Args` struct
//! implementing [`Invocation`] (its request, its rendering), listed once in
//! its resource's [`subcommands!`] enum, which names it after the
//! operation's verb in proto and runs it. `rewrap` sends many requests of
//! one operation and runs on its own.
//!
//! Adding an operation (once it is in proto's `admin_operations!`): its
//! `Args` struct and `Invocation` impl in its resource's module, and one
//! `Variant(ArgsStruct)` line, with its doc comment, in that module's
//! `subcommands!` list. Adding a resource: a module, and one variant in
//! [`Command`] with its arms in [`Command`]'s `Run` impl. A command that
//! is not a table entry (another name for an operation, or several calls
//! composed) is an extra command: see [`invocation`].

pub mod alias;
pub mod app;
pub mod audit;
pub mod backup;
pub mod clock;
pub mod cluster;
pub mod connection;
pub mod crypto;
pub mod instance;
mod invocation;
pub mod key;
pub mod rewrap;
pub mod secret;
pub mod values;

#[cfg(test)]
pub(crate) mod test_support;

use std::path::Path;

use clap::Subcommand;
use p11kms_proto::admin::{Operation, op};

#[cfg(test)]
pub use invocation::Leaf;
pub(crate) use invocation::subcommands;
pub use invocation::{Invocation, Outcome, Run, verb};

use crate::output::Format;

/// Exit status of a command that compares and finds a difference (the
/// differences are printed): `cluster verify`, `cluster resync` when the
/// cluster is not whole afterwards, `secret migrate` when the copy differs
/// from the source.
pub const DIFFERENCES_FOUND: u8 = 5;

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
    /// An argument's value is not what the command takes.
    #[error("{0}")]
    Invalid(String),
}

/// Why a reply could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
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
    /// Secrets: values kept encrypted, with versions and stages.
    #[command(subcommand)]
    Secret(secret::SecretCommand),
    /// The audit trail: events of every call, hash-chained.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Instance backups: points kept for days, viewed and restored by day.
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// Re-encrypts a file of ciphertext blobs under the current primary versions.
    #[command(name = op::ReEncryptBatch::VERB)]
    Rewrap(rewrap::RewrapArgs),
    #[command(flatten)]
    Crypto(crypto::CryptoCommand),
}

impl Run for Command {
    fn run(&self, socket: &Path, format: Format) -> Outcome {
        match self {
            Self::Instance(command) => command.run(socket, format),
            Self::App(command) => command.run(socket, format),
            Self::Key(command) => command.run(socket, format),
            Self::Cluster(command) => command.run(socket, format),
            Self::Alias(command) => command.run(socket, format),
            Self::Clock(command) => command.run(socket, format),
            Self::Connection(command) => command.run(socket, format),
            Self::Secret(command) => command.run(socket, format),
            Self::Audit(command) => command.run(socket, format),
            Self::Backup(command) => command.run(socket, format),
            Self::Rewrap(args) => args.run(socket, format),
            Self::Crypto(command) => command.run(socket, format),
        }
    }

    #[cfg(test)]
    fn leaves() -> Vec<Leaf> {
        [
            instance::InstanceCommand::leaves(),
            app::AppCommand::leaves(),
            key::KeyCommand::leaves(),
            cluster::ClusterCommand::leaves(),
            alias::AliasCommand::leaves(),
            clock::ClockCommand::leaves(),
            connection::ConnectionCommand::leaves(),
            secret::SecretCommand::leaves(),
            audit::AuditCommand::leaves(),
            backup::BackupCommand::leaves(),
            rewrap::RewrapArgs::leaves(),
            crypto::CryptoCommand::leaves(),
        ]
        .concat()
    }

    #[cfg(test)]
    fn into_leaf(self) -> Box<dyn std::any::Any> {
        match self {
            Self::Instance(command) => command.into_leaf(),
            Self::App(command) => command.into_leaf(),
            Self::Key(command) => command.into_leaf(),
            Self::Cluster(command) => command.into_leaf(),
            Self::Alias(command) => command.into_leaf(),
            Self::Clock(command) => command.into_leaf(),
            Self::Connection(command) => command.into_leaf(),
            Self::Secret(command) => command.into_leaf(),
            Self::Audit(command) => command.into_leaf(),
            Self::Backup(command) => command.into_leaf(),
            Self::Rewrap(args) => args.into_leaf(),
            Self::Crypto(command) => command.into_leaf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use clap::CommandFactory;

    use p11kms_proto::admin::{ClusterVerification, KeyRef, Verified, VerifyRequest};
    use p11kms_proto::{ApiError, ErrorCode, MAX_BODY_LEN};

    use super::test_support::{command, refused};
    use super::*;
    use crate::client::ClientError;
    use crate::client::test_server::{Server, answer};
    use crate::{Cli, Failure};

    #[test]
    fn a_resource_without_an_operation_is_a_usage_error() {
        let err = refused(&["key"]);
        assert_eq!(err.exit_code(), 2);
        let err = refused(&["frobnicate"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidSubcommand);
    }

    /// The path of every leaf of clap's command tree, depth first, in the
    /// order clap lists them.
    fn leaf_paths(command: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        let mut children = command.get_subcommands().filter(|sub| sub.get_name() != "help").peekable();
        if children.peek().is_none() {
            out.push(path.clone());
        }
        for child in children {
            path.push(child.get_name().to_owned());
            leaf_paths(child, path, out);
            path.pop();
        }
    }

    #[test]
    fn every_operation_has_its_command_and_every_command_sends_its_operation() {
        let mut paths = Vec::new();
        leaf_paths(&Cli::command(), &mut Vec::new(), &mut paths);
        let leaves = Command::leaves();
        assert_eq!(paths.len(), leaves.len(), "one leaf per command: {paths:?}");
        // Leaf by leaf, in clap's order: the command at each path is the
        // one that says it runs under those words.
        let wrong: Vec<String> = paths
            .iter()
            .zip(&leaves)
            .filter(|(path, leaf)| *path != leaf.command)
            .map(|(path, leaf)| format!("`{}` is the leaf of `{}`", path.join(" "), leaf.command.join(" ")))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
        // Every operation has its own command, once.
        for info in op::ALL {
            let own = leaves.iter().filter(|leaf| leaf.is_own() && leaf.sends[0] == *info).count();
            assert_eq!(own, 1, "`{}` must be the command of {} exactly once", info.command_line(), info.name);
        }
        let own: BTreeSet<Vec<String>> =
            leaves.iter().filter(|l| l.is_own()).map(|l| l.command.iter().map(|w| (*w).to_owned()).collect()).collect();
        let operations: BTreeSet<Vec<String>> =
            op::ALL.iter().map(|info| info.command.iter().map(|w| (*w).to_owned()).collect()).collect();
        assert_eq!(own, operations, "the CLI's own commands are exactly proto's operations");
        // Extra commands send operations that exist, under words no
        // operation has.
        for leaf in leaves.iter().filter(|leaf| !leaf.is_own()) {
            assert!(!leaf.sends.is_empty(), "`{}` sends nothing", leaf.command.join(" "));
            assert!(leaf.sends.iter().all(|info| op::ALL.contains(info)), "`{}`", leaf.command.join(" "));
            assert!(!op::ALL.iter().any(|info| info.command == leaf.command), "`{}`", leaf.command.join(" "));
        }
        let extra: Vec<&[&str]> = leaves.iter().filter(|l| !l.is_own()).map(|l| l.command).collect();
        assert_eq!(
            extra,
            [&["secret", "tag"][..], &["secret", "untag"][..], &["secret", "migrate"][..]],
            "the extra commands"
        );
    }

    /// Runs a command line against a stand-in daemon that answers every
    /// call with `reply`; returns what the command printed and its status,
    /// and the calls the daemon received.
    fn run_against(
        args: &[&str],
        format: Format,
        reply: impl FnMut(&crate::client::test_server::Call) -> Vec<u8> + Send + 'static,
    ) -> (Outcome, Vec<crate::client::test_server::Call>) {
        let server = Server::start(MAX_BODY_LEN, reply);
        let outcome = command(args).run(server.path(), format);
        let calls = server.finish().into_iter().filter_map(|seen| seen.request).collect();
        (outcome, calls)
    }

    #[test]
    fn a_command_calls_its_operation_renders_the_reply_and_gives_its_exit_status() {
        let verified = |value| Verified { key_id: "k".into(), key_version_id: "v".into(), value };
        let verify = &["verify", "--key-id", "k", "--key-version-id", "v", "--algorithm", "ECDSA_SHA_256"];
        let verify = [&verify[..], &["--digest", "AAE=", "--value", "CQk="]].concat();
        let (outcome, calls) =
            run_against(&verify, Format::Human, move |_| answer::<op::AsymmetricVerify>(Ok(verified(false))));
        assert_eq!(outcome.expect("runs"), ("Invalid signature.\n".to_owned(), 4), "an invalid signature exits 4");
        assert_eq!(calls.len(), 1);
        assert_eq!(
            calls[0].request::<op::AsymmetricVerify>(),
            VerifyRequest {
                key: "k".into(),
                key_version_id: "v".into(),
                algorithm: p11kms_proto::admin::SigningAlgorithm::EcdsaSha256,
                digest: vec![0, 1],
                value: vec![9, 9],
            }
        );

        let differences =
            ClusterVerification { cluster_name: "c1".into(), expected_versions: 0, consistent: false, members: vec![] };
        let (outcome, _) = run_against(&["cluster", "verify", "c1"], Format::Json, move |_| {
            answer::<op::VerifyCluster>(Ok(differences.clone()))
        });
        let (text, status) = outcome.expect("runs");
        assert_eq!(status, cluster::DIFFERENCES_FOUND);
        assert!(text.contains("\"Consistent\": false"), "{text}");

        let (outcome, calls) =
            run_against(&["key", "enable", "alias/k"], Format::Json, |_| answer::<op::EnableKey>(Ok(())));
        assert_eq!(outcome.expect("runs"), ("{}\n".to_owned(), 0));
        assert_eq!(calls[0].request::<op::EnableKey>(), KeyRef { key: "alias/k".into() });
    }

    #[test]
    fn an_api_error_is_the_commands_failure() {
        let (outcome, calls) = run_against(&["key", "describe", "k-1"], Format::Human, |_| {
            answer::<op::DescribeKey>(Err(ApiError::new(ErrorCode::KeyNotFound, "key 'k-1' does not exist")))
        });
        let failure = outcome.expect_err("an API error");
        assert!(matches!(&failure, Failure::Client(ClientError::Api(api)) if api.code == ErrorCode::KeyNotFound));
        assert_eq!(failure.exit_code(), 1);
        assert_eq!(calls[0].opcode, op::DescribeKey::OPCODE);
    }
}
