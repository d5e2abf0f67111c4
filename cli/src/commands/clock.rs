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

    /// The text to print for the reply: the clock's time after the command.
    pub fn render(&self, reply: AdminReply, format: Format) -> Result<String, RenderError> {
        match reply {
            AdminReply::Clock(clock) => Ok(output::show(format, &clock, fields)?),
            other => Err(unexpected(self.operation(), &other)),
        }
    }

    fn operation(&self) -> &'static str {
        match self {
            Self::Show => "clock show",
            Self::Advance { .. } => "clock advance",
            Self::Set { .. } => "clock set",
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

    #[test]
    fn show_parses_and_bad_values_explain_themselves() {
        let Command::Clock(show) = command(&["clock", "show"]) else { panic!() };
        assert_eq!(show.request(), AdminRequest::ClockShow);
        let err = refused(&["clock", "advance", "3w"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(err.to_string().contains("is not an interval"), "{err}");
        let err = refused(&["clock", "set", "2027-01-01"]);
        assert!(err.to_string().contains("is not an RFC 3339 time"), "{err}");
        refused(&["clock", "advance"]);
        let Command::Clock(set) = command(&["clock", "set", "2027-01-01T01:00:00+01:00"]) else { panic!() };
        assert_eq!(set.request(), AdminRequest::ClockSet { time: Timestamp(1_798_761_600) }, "offsets are honoured");
    }

    #[test]
    fn the_clock_renders_as_fields_and_json() {
        let reply = || AdminReply::Clock(ClockTime { now: Timestamp(1_798_761_600), manual: true });
        for args in [&["clock", "show"][..], &["clock", "advance", "30d"], &["clock", "set", "2027-01-01T00:00:00Z"]] {
            let Command::Clock(clock) = command(args) else { panic!() };
            assert_eq!(
                clock.render(reply(), Format::Human).expect("renders"),
                "Now:    2027-01-01T00:00:00Z\nManual: yes\n"
            );
            let json: serde_json::Value =
                serde_json::from_str(&clock.render(reply(), Format::Json).expect("renders")).expect("json");
            assert_eq!(json, serde_json::json!({"Now": "2027-01-01T00:00:00Z", "Manual": true}));
        }
        let Command::Clock(advance) = command(&["clock", "advance", "1d"]) else { panic!() };
        let err = advance.render(AdminReply::Done, Format::Human).expect_err("not a clock");
        assert_eq!(err.to_string(), "p11kmsd answered clock advance with a Done reply");
    }
}
