//! How a command runs: [`Invocation`] is one admin operation's command
//! (its clap arguments, the request they make, how its reply is shown),
//! [`Run`] any node of the command tree, and [`subcommands!`] makes a
//! resource's clap enum out of a list of them, named as proto names the
//! operations and dispatched to [`run`].
//!
//! Most commands are their operation's own (`key tag` is TagResource's,
//! as proto's table says). A command may also be an *extra* one, not an
//! entry of the table: an [`Invocation`] that sends an operation under
//! words of its own ([`Invocation::COMMAND`]: `secret tag` sends
//! TagResource), or a [`Run`] of its own that sends several (as a
//! command composed of many calls would). Each leaf says which words run
//! it and what it sends ([`Leaf`]); a test checks that every operation has
//! its own command and that extra commands only send operations that
//! exist.

use std::io::IsTerminal;
use std::path::Path;

use p11kms_proto::admin::Operation;

use super::{RenderError, RequestError};
use crate::Failure;
use crate::client;
use crate::output::Format;

/// The request of the operation that `I` sends.
pub type Request<I> = <<I as Invocation>::Op as Operation>::Request;

/// The reply of the operation that `I` sends.
pub type Reply<I> = <<I as Invocation>::Op as Operation>::Reply;

/// What a command prints on stdout, and its exit status.
pub type Outcome = Result<(String, u8), Failure>;

/// One admin operation's command: a clap `Args` struct that makes the
/// operation's request and shows its reply. Its subcommand is named after
/// the operation's verb (see [`subcommands!`]).
pub trait Invocation {
    /// The operation it calls.
    type Op: Operation;

    /// The words that run it: its operation's command, unless it is an
    /// extra command sending that operation under other words.
    const COMMAND: &'static [&'static str] = <Self::Op as Operation>::COMMAND;

    /// The request to send (reading any file the arguments name).
    fn request(&self) -> Result<Request<Self>, RequestError>;

    /// The text to print for the daemon's reply: tables and fields for
    /// humans; with `--json`, the API's response shape.
    fn render(&self, reply: &Reply<Self>, format: Format) -> Result<String, RenderError>;

    /// The exit status a successful reply means: 0, but for `verify` of a
    /// signature that is not valid (4) and `cluster verify` finding a
    /// difference (5).
    fn exit_status(&self, _reply: &Reply<Self>) -> u8 {
        0
    }

    /// What a command that may take long says while the daemon works (a
    /// restore, a drill): shown with a spinner on a terminal's stderr,
    /// nothing otherwise.
    fn waiting(&self) -> Option<&'static str> {
        None
    }

    /// A run of its own instead of the one call, when the arguments ask
    /// for one (`backup restore-key --to-socket` composes calls to two
    /// daemons); `None` makes the call.
    fn run_with(&self, _socket: &Path, _format: Format) -> Option<Outcome> {
        None
    }
}

/// A spinner on a terminal's stderr saying `message` while the daemon
/// works; nothing when there is no message or no terminal.
pub fn spinner(message: Option<&'static str>) -> Option<indicatif::ProgressBar> {
    message.filter(|_| std::io::stderr().is_terminal()).map(|message| {
        let spinner = indicatif::ProgressBar::new_spinner().with_message(message);
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        spinner
    })
}

/// The subcommand name of `I`: the last of its words.
pub const fn verb<I: Invocation>() -> &'static str {
    match I::COMMAND {
        [.., last] => last,
        [] => "",
    }
}

/// A leaf of the command tree: the words that run it and the operations
/// it sends.
#[cfg(test)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// Its words as typed (`["secret", "tag"]`).
    pub command: &'static [&'static str],
    /// The operations it sends.
    pub sends: Vec<p11kms_proto::admin::OperationInfo>,
}

#[cfg(test)]
impl Leaf {
    /// The leaf of a command sending `O` under `command`.
    pub fn of<O: Operation>(command: &'static [&'static str]) -> Self {
        Self { command, sends: vec![p11kms_proto::admin::OperationInfo::of::<O>()] }
    }

    /// True when it is its operation's own command (not an extra one).
    pub fn is_own(&self) -> bool {
        matches!(self.sends.as_slice(), [only] if only.command == self.command)
    }
}

/// Runs an operation's command: makes its request, calls the daemon at
/// `socket`, and renders the reply.
pub fn run<I: Invocation>(invocation: &I, socket: &Path, format: Format) -> Outcome {
    if let Some(outcome) = invocation.run_with(socket, format) {
        return outcome;
    }
    let request = invocation.request()?;
    let spinner = spinner(invocation.waiting());
    let reply = client::call::<I::Op>(socket, &request);
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let reply = reply?;
    let status = invocation.exit_status(&reply);
    Ok((invocation.render(&reply, format)?, status))
}

/// A node of the command tree: an operation's command, `rewrap`, or a
/// group of commands (a resource).
pub trait Run: Sized + 'static {
    /// Runs the command the user typed, against the daemon at `socket`.
    fn run(&self, socket: &Path, format: Format) -> Outcome;

    /// Every leaf under this node, in the order clap lists them.
    #[cfg(test)]
    fn leaves() -> Vec<Leaf>;

    /// The parsed arguments of the command typed, for tests to look into.
    #[cfg(test)]
    fn into_leaf(self) -> Box<dyn std::any::Any>;
}

impl<I: Invocation + 'static> Run for I {
    fn run(&self, socket: &Path, format: Format) -> Outcome {
        run(self, socket, format)
    }

    #[cfg(test)]
    fn leaves() -> Vec<Leaf> {
        vec![Leaf::of::<I::Op>(I::COMMAND)]
    }

    #[cfg(test)]
    fn into_leaf(self) -> Box<dyn std::any::Any> {
        Box::new(self)
    }
}

/// Declares a resource's clap subcommand enum from its commands, each
/// `Variant(Type)` with its doc comment (its `--help` text):
///
/// ```text
/// subcommands! {
///     /// Operations on clusters.
///     pub enum ClusterCommand {
///         /// Lists the clusters.
///         List(ListClustersArgs),
///         /// Mirror images: create one now, or list them.
///         #[command(subcommand)]
///         Image(ImageCommand),
///     }
/// }
/// ```
///
/// A `Type` is an [`Invocation`], and its subcommand is named after the
/// last of its words (its operation's verb: `list` for `ListClusters`,
/// whose command is `cluster list`); a `#[command(subcommand)]` one is
/// another such enum, a group of commands named after its variant; a
/// `#[command(name = "...")]` one is any other [`Run`] (a command of its
/// own, composed of several calls), named as written. The enum implements [`Run`] by running
/// the variant typed. Entries are read one at a time, each with its doc
/// comment, so that clap lists them in the order written.
macro_rules! subcommands {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($entries:tt)* }) => {
        $crate::commands::subcommands!(@entry [$(#[$meta])* $vis enum $name] [] $($entries)*);
    };
    // A group of commands: a nested subcommand.
    (@entry $head:tt [$($done:tt)*]
        $(#[doc = $doc:literal])* #[command(subcommand)] $variant:ident($ty:ty), $($rest:tt)*) => {
        $crate::commands::subcommands!(@entry $head [$($done)*
            $(#[doc = $doc])* #[command(subcommand)] $variant($ty),
        ] $($rest)*);
    };
    // A command of its own (any `Run`), named as written.
    (@entry $head:tt [$($done:tt)*]
        $(#[doc = $doc:literal])* #[command(name = $cmd:literal)] $variant:ident($ty:ty), $($rest:tt)*) => {
        $crate::commands::subcommands!(@entry $head [$($done)*
            $(#[doc = $doc])* #[command(name = $cmd)] $variant($ty),
        ] $($rest)*);
    };
    // An operation's command, named after the operation's verb.
    (@entry $head:tt [$($done:tt)*] $(#[doc = $doc:literal])* $variant:ident($ty:ty), $($rest:tt)*) => {
        $crate::commands::subcommands!(@entry $head [$($done)*
            $(#[doc = $doc])* #[command(name = $crate::commands::verb::<$ty>())] $variant($ty),
        ] $($rest)*);
    };
    // Every entry read: the enum, and its `Run`.
    (@entry [$(#[$meta:meta])* $vis:vis enum $name:ident]
        [$($(#[$attr:meta])* $variant:ident($ty:ty),)*]) => {
        $(#[$meta])*
        #[derive(Debug, clap::Subcommand)]
        $vis enum $name {
            $($(#[$attr])* $variant($ty),)*
        }

        impl $crate::commands::Run for $name {
            fn run(&self, socket: &std::path::Path, format: $crate::output::Format) -> $crate::commands::Outcome {
                match self {
                    $(Self::$variant(command) => $crate::commands::Run::run(command, socket, format),)*
                }
            }

            #[cfg(test)]
            fn leaves() -> Vec<$crate::commands::Leaf> {
                [$(<$ty as $crate::commands::Run>::leaves()),*].concat()
            }

            #[cfg(test)]
            fn into_leaf(self) -> Box<dyn std::any::Any> {
                match self {
                    $(Self::$variant(command) => $crate::commands::Run::into_leaf(command),)*
                }
            }
        }
    };
}

pub(crate) use subcommands;
