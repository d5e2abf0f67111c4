//! `p11kms clock …`: the daemon's clock; moving it needs the test clock
//! (`p11kmsd --test-clock`), and runs whatever became due at once.

use clap::Subcommand;
use p11kms_proto::Timestamp;
use p11kms_proto::admin::{AdminReply, AdminRequest, ClockTime};

use super::{RenderError, args, unexpected};
use crate::output::{self, Fields, Format};

/// The daemon's clock.
#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// Shows the daemon's time.
    Show,
    /// Moves the test clock forward (7d, 12h, 3600s).
    Advance {
        /// How far.
        #[arg(value_name = "DURATION", value_parser = args::interval)]
        duration: i64,
    },
    /// Sets the test clock to a later time (RFC 3339).
    Set {
        /// The new time.
        #[arg(value_name = "TIME", value_parser = args::time)]
        time: Timestamp,
    },
}

impl ClockCommand {
    /// The admin request for this command.
    pub fn request(&self) -> AdminRequest {
        match self {
            Self::Show => AdminRequest::ClockShow,
            Self::Advance { duration } => AdminRequest::ClockAdvance { seconds: *duration },
            Self::Set { time } => AdminRequest::ClockSet { time: *time },
        }
    }

    /// The text to print for the reply.
    pub fn render(&self, reply: AdminReply, format: Format) -> Result<String, RenderError> {
        match reply {
            AdminReply::Clock(clock) => Ok(output::show(format, &clock, fields)?),
            other => Err(unexpected("clock", &other)),
        }
    }
}

fn fields(clock: &ClockTime) -> String {
    Fields::new().field("Now", clock.now).field("Manual", if clock.manual { "yes" } else { "no" }).render()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{command, refused};
    use super::*;
    use crate::commands::Command;

    #[test]
    fn durations_and_times_parse() {
        let Command::Clock(advance) = command(&["clock", "advance", "30d"]) else { panic!() };
        assert_eq!(advance.request(), AdminRequest::ClockAdvance { seconds: 2_592_000 });
        let Command::Clock(set) = command(&["clock", "set", "1970-01-01T00:00:10Z"]) else { panic!() };
        assert_eq!(set.request(), AdminRequest::ClockSet { time: Timestamp(10) });
        refused(&["clock", "advance", "soon"]);
        refused(&["clock", "set", "tomorrow"]);
    }
}
