//! Helpers shared by the commands' tests: parse a command line into the
//! arguments of the command it names, make its request, render a reply.

use std::any::Any;

use clap::Parser;
use p11kms_proto::admin::Operation;

use super::invocation::{Reply, Request};
use super::{Command, Invocation, Run};
use crate::Cli;
use crate::output::Format;

/// A directory of its own for one test, removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("p11kms-cli-test-").tempdir().expect("a temporary directory")
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

/// The arguments of the command a valid command line names, which must be
/// a `T` (the command of the operation the test expects).
pub fn parsed<T: Any>(args: &[&str]) -> T {
    match command(args).into_leaf().downcast::<T>() {
        Ok(leaf) => *leaf,
        Err(_) => panic!("{args:?} does not parse to a {}", std::any::type_name::<T>()),
    }
}

/// The request a valid command line of command `I` makes.
pub fn request<I: Invocation + Any>(args: &[&str]) -> Request<I> {
    parsed::<I>(args).request().expect("a request")
}

/// What command `I`, parsed from `args`, prints for `reply` in `format`.
pub fn render<I: Invocation + Any>(args: &[&str], reply: &Reply<I>, format: Format) -> String {
    parsed::<I>(args).render(reply, format).expect("renders")
}

/// What command `I` prints for humans.
pub fn human<I: Invocation + Any>(args: &[&str], reply: &Reply<I>) -> String {
    render::<I>(args, reply, Format::Human)
}

/// What command `I` prints with `--json`, parsed.
pub fn json<I: Invocation + Any>(args: &[&str], reply: &Reply<I>) -> serde_json::Value {
    serde_json::from_str(&render::<I>(args, reply, Format::Json)).expect("valid JSON")
}

/// What a command whose operation returns nothing prints on success: its
/// one-line confirmation for humans, and with `--json`.
pub fn done<I>(args: &[&str]) -> (String, String)
where
    I: Invocation<Op: Operation<Reply = ()>> + Any,
{
    (render::<I>(args, &(), Format::Human), render::<I>(args, &(), Format::Json))
}

/// The rendered error for a command line that must be refused.
pub fn refused(args: &[&str]) -> clap::Error {
    match parse(args) {
        Ok(command) => panic!("{args:?} should be refused, parsed as {command:?}"),
        Err(err) => err,
    }
}
