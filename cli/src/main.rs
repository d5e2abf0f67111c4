//! `p11kms`, the operator's tool: parses the command line, calls the admin
//! operation it names on `p11kmsd` over its admin socket, prints the reply,
//! and maps failures to exit statuses (see [`EXIT_API`], [`EXIT_TRANSPORT`];
//! usage errors exit with clap's 2).

mod client;
mod commands;
mod output;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::client::{ClientError, SOCKET_ENV};
use crate::commands::rewrap::RewrapError;
use crate::commands::secret::migrate::MigrateError;
use crate::commands::{Command, RenderError, RequestError, Run};
use crate::output::Format;

/// Exit status when the daemon answered with an API error.
const EXIT_API: u8 = 1;
/// Exit status of a usage error (clap's own), also used when `--query`
/// names a field the response does not have.
const EXIT_USAGE: u8 = 2;
/// Exit status when the daemon could not be reached or broke the protocol,
/// or the output could not be written.
const EXIT_TRANSPORT: u8 = 3;

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success
  1  the daemon answered with an API error; stderr starts with its code,
     as `Code: message` (e.g. `Forbidden.KeyNotFound: key 'k-1' does not exist`);
     rewrap: at least one line could not be re-encrypted (the summary lists them)
  2  usage error: unknown command, missing or invalid argument, a file
     given as an argument that cannot be read, or a --query path the
     response does not have
  3  p11kmsd could not be reached, refused the connection or broke the
     protocol, or the output could not be written
  4  verify: the signature is not valid (the answer is printed as usual)
  5  cluster verify: a member differs from the store (the differences are printed);
     cluster resync: the cluster is not whole afterwards (a copy failed, a version
     has no member to copy it from, or a member is still out of service);
     secret migrate: the copy differs from the source (both sides are printed; the
     copy was removed from the destination)
  6  secret migrate: the source secret changed during the migration (what was made
     at the destination was removed; the source is untouched)

The admin socket is --socket, else $P11KMS_ADMIN_SOCKET, else /var/lib/p11kms/admin.sock.";

/// Manages p11kmsd: instances, apps, keys, aliases, HSM clusters, and the KMS
/// API's cryptographic operations.
#[derive(Debug, Parser)]
#[command(
    name = "p11kms",
    version,
    long_about = "Manages p11kmsd through its admin socket: instances, apps, keys, aliases and HSM clusters, \
                  and the KMS API's cryptographic operations.\n\n\
                  Each subcommand is one operation of the KMS API. The resource it acts on is \
                  positional; every other parameter is a flag named after the API parameter.",
    after_long_help = EXIT_STATUS_HELP,
    arg_required_else_help = true,
    propagate_version = true
)]
pub(crate) struct Cli {
    /// Admin socket of p11kmsd [env: P11KMS_ADMIN_SOCKET] [default: /var/lib/p11kms/admin.sock].
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Prints the API's response as JSON, with the API's field names.
    #[arg(long, global = true)]
    json: bool,
    /// Prints one field of the JSON response, by its dotted path
    /// (`KeyMetadata.KeyId`, `Keys.0.Pkcs11Id`): strings bare, other values
    /// as JSON. Implies --json.
    #[arg(long, global = true, value_name = "PATH")]
    query: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Query(#[from] output::QueryError),
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Rewrap(#[from] RewrapError),
    #[error(transparent)]
    Migrate(#[from] MigrateError),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Self::Client(ClientError::Api(_))
            | Self::Rewrap(RewrapError::Stopped { source: ClientError::Api(_), .. }) => EXIT_API,
            Self::Request(_) | Self::Query(_) | Self::Rewrap(RewrapError::Input { .. }) => EXIT_USAGE,
            Self::Client(_) | Self::Render(_) | Self::Rewrap(_) => EXIT_TRANSPORT,
            Self::Migrate(migrate) => migrate.exit_code(),
        }
    }
}

/// The message printed on stderr: an API error first as `Code: message`,
/// anything else prefixed with `error: ` like clap's usage errors.
fn error_text(failure: &Failure) -> String {
    match failure {
        Failure::Client(ClientError::Api(api)) => api.to_string(),
        // `Code: message (rewrap stopped after …)`.
        Failure::Rewrap(stopped @ RewrapError::Stopped { source: ClientError::Api(_), .. }) => stopped.to_string(),
        // `Code: destination: message`, and refusals with the API's code.
        Failure::Migrate(migrate) if migrate.starts_with_code() => migrate.to_string(),
        other => format!("error: {other}"),
    }
}

fn run(cli: &Cli) -> Result<(String, u8), Failure> {
    let socket = client::resolve_socket(cli.socket.clone(), std::env::var_os(SOCKET_ENV));
    let format = if cli.json || cli.query.is_some() { Format::Json } else { Format::Human };
    let (text, status) = cli.command.run(&socket, format)?;
    match &cli.query {
        Some(path) => Ok((output::select(&text, path)?, status)),
        None => Ok((text, status)),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok((text, status)) => {
            let mut stdout = io::stdout().lock();
            match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
                Ok(()) => ExitCode::from(status),
                // The reader went away (`p11kms key list | head`): not an error.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(status),
                Err(e) => {
                    eprintln!("error: cannot write the output: {e}");
                    ExitCode::from(EXIT_TRANSPORT)
                }
            }
        }
        Err(failure) => {
            eprintln!("{}", error_text(&failure));
            ExitCode::from(failure.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use p11kms_proto::{ApiError, ErrorCode};

    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_anywhere() {
        let cli = Cli::try_parse_from(["p11kms", "key", "list", "--json", "--socket", "/tmp/a.sock"]).expect("parses");
        assert!(cli.json);
        assert_eq!(cli.socket, Some(PathBuf::from("/tmp/a.sock")));
        let cli = Cli::try_parse_from(["p11kms", "--socket=/tmp/b.sock", "instance", "list"]).expect("parses");
        assert!(!cli.json);
        assert_eq!(cli.socket, Some(PathBuf::from("/tmp/b.sock")));
    }

    #[test]
    fn api_errors_print_code_first_and_exit_1() {
        let failure =
            Failure::Client(ClientError::Api(ApiError::new(ErrorCode::KeyNotFound, "key 'k-1' does not exist")));
        assert_eq!(error_text(&failure), "Forbidden.KeyNotFound: key 'k-1' does not exist");
        assert_eq!(failure.exit_code(), 1);
    }

    #[test]
    fn a_rewrap_stopped_by_an_api_error_prints_the_code_first_and_exits_1() {
        let failure = Failure::Rewrap(RewrapError::Stopped {
            source: ClientError::Api(ApiError::new(ErrorCode::ServiceUnavailable, "no healthy member")),
            done: 200,
            total: 1000,
            output: PathBuf::from("out.txt"),
        });
        let text = error_text(&failure);
        assert!(
            text.starts_with("ServiceUnavailableTemporary: no healthy member (rewrap stopped after 200 of 1000"),
            "{text}"
        );
        assert!(text.ends_with("out.txt was not written)"), "{text}");
        assert_eq!(failure.exit_code(), 1);
        let failure = Failure::Rewrap(RewrapError::Stopped {
            source: ClientError::Closed,
            done: 0,
            total: 1,
            output: PathBuf::from("out.txt"),
        });
        assert!(error_text(&failure).starts_with("error: p11kmsd closed the connection"));
        assert_eq!(failure.exit_code(), 3);
        let unreadable =
            Failure::Rewrap(RewrapError::Input { path: "in.txt".into(), source: io::ErrorKind::NotFound.into() });
        assert_eq!(unreadable.exit_code(), 2);
        assert!(error_text(&unreadable).starts_with("error: cannot read in.txt: "));
    }

    #[test]
    fn transport_errors_exit_3() {
        let failure = Failure::Client(ClientError::Closed);
        assert_eq!(error_text(&failure), "error: p11kmsd closed the connection without answering");
        assert_eq!(failure.exit_code(), 3);
    }

    #[test]
    fn usage_errors_exit_2_and_help_documents_the_exit_statuses() {
        let err = Cli::try_parse_from(["p11kms", "key", "describe"]).expect_err("missing KEY");
        assert_eq!(err.exit_code(), 2);
        let help = Cli::try_parse_from(["p11kms", "--help"]).expect_err("help").to_string();
        assert!(help.contains("Exit status:") && help.contains("P11KMS_ADMIN_SOCKET"), "{help}");
        assert!(help.contains("  4  verify: the signature is not valid"), "{help}");
        assert!(help.contains("rewrap: at least one line could not be re-encrypted"), "{help}");
    }

    #[test]
    fn a_query_prints_one_field_of_the_reply_or_is_a_usage_error() {
        use p11kms_proto::MAX_BODY_LEN;
        use p11kms_proto::admin::{ClockTime, op};

        use crate::client::test_server::{Server, answer};

        let server = Server::start(MAX_BODY_LEN, |_| {
            answer::<op::GetClock>(Ok(ClockTime { now: p11kms_proto::Timestamp(60), manual: true }))
        });
        let socket = server.path().to_str().expect("utf-8").to_owned();
        let cli =
            Cli::try_parse_from(["p11kms", "clock", "show", "--socket", &socket, "--query", "Now"]).expect("parses");
        assert_eq!(run(&cli).expect("runs"), ("1970-01-01T00:01:00Z\n".to_owned(), 0));
        let cli =
            Cli::try_parse_from(["p11kms", "--socket", &socket, "clock", "show", "--query", "Later"]).expect("parses");
        let failure = run(&cli).expect_err("no such field");
        assert_eq!(
            (error_text(&failure).as_str(), failure.exit_code()),
            ("error: the response has no field 'Later'", 2)
        );
        let cli = Cli::try_parse_from(["p11kms", "--socket", &socket, "clock", "show"]).expect("parses");
        assert_eq!(run(&cli).expect("runs"), ("Now:    1970-01-01T00:01:00Z\nManual: yes\n".to_owned(), 0));
        assert_eq!(server.finish().len(), 3, "one call per run");
    }
}
