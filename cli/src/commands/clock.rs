//! `p11kms clock …`: the daemon's clock; moving it needs the test clock
//! (`p11kmsd --test-clock`), and runs whatever became due at once.

use clap::Args;
use p11kms_proto::Timestamp;
use p11kms_proto::admin::{AdvanceClockRequest, ClockTime, SetClockRequest, op};

use super::{Invocation, RenderError, RequestError, subcommands, values};
use crate::output::{self, Fields, Format};

subcommands! {
    /// The daemon's clock.
    pub enum ClockCommand {
        /// Shows the daemon's time.
        Show(ShowClockArgs),
        /// Moves the test clock forward (7d, 12h, 3600s).
        Advance(AdvanceClockArgs),
        /// Sets the test clock to a later time (RFC 3339).
        Set(SetClockArgs),
    }
}

/// `clock show`.
#[derive(Debug, Args)]
pub struct ShowClockArgs {}

impl Invocation for ShowClockArgs {
    type Op = op::GetClock;

    fn request(&self) -> Result<(), RequestError> {
        Ok(())
    }

    fn render(&self, clock: &ClockTime, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, clock, fields)?)
    }
}

/// `clock advance DURATION`.
#[derive(Debug, Args)]
pub struct AdvanceClockArgs {
    /// How far.
    #[arg(value_name = "DURATION", value_parser = values::interval)]
    duration: i64,
}

impl Invocation for AdvanceClockArgs {
    type Op = op::AdvanceClock;

    fn request(&self) -> Result<AdvanceClockRequest, RequestError> {
        Ok(AdvanceClockRequest { seconds: self.duration })
    }

    /// The clock's time after the move.
    fn render(&self, clock: &ClockTime, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, clock, fields)?)
    }
}

/// `clock set TIME`.
#[derive(Debug, Args)]
pub struct SetClockArgs {
    /// The new time.
    #[arg(value_name = "TIME", value_parser = values::time)]
    time: Timestamp,
}

impl Invocation for SetClockArgs {
    type Op = op::SetClock;

    fn request(&self) -> Result<SetClockRequest, RequestError> {
        Ok(SetClockRequest { time: self.time })
    }

    /// The clock's time after the move.
    fn render(&self, clock: &ClockTime, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, clock, fields)?)
    }
}

fn fields(clock: &ClockTime) -> String {
    Fields::new().field("Now", clock.now).field("Manual", if clock.manual { "yes" } else { "no" }).render()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{human, json, parsed, refused, request};
    use super::*;

    #[test]
    fn durations_and_times_parse() {
        assert_eq!(
            request::<AdvanceClockArgs>(&["clock", "advance", "30d"]),
            AdvanceClockRequest { seconds: 2_592_000 }
        );
        assert_eq!(
            request::<SetClockArgs>(&["clock", "set", "1970-01-01T00:00:10Z"]),
            SetClockRequest { time: Timestamp(10) }
        );
        refused(&["clock", "advance", "soon"]);
        refused(&["clock", "set", "tomorrow"]);
    }

    #[test]
    fn show_parses_and_bad_values_explain_themselves() {
        request::<ShowClockArgs>(&["clock", "show"]);
        let err = refused(&["clock", "advance", "3w"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(err.to_string().contains("is not an interval"), "{err}");
        let err = refused(&["clock", "set", "2027-01-01"]);
        assert!(err.to_string().contains("is not an RFC 3339 time"), "{err}");
        refused(&["clock", "advance"]);
        assert_eq!(
            request::<SetClockArgs>(&["clock", "set", "2027-01-01T01:00:00+01:00"]),
            SetClockRequest { time: Timestamp(1_798_761_600) },
            "offsets are honoured"
        );
    }

    #[test]
    fn the_clock_renders_as_fields_and_json() {
        let reply = ClockTime { now: Timestamp(1_798_761_600), manual: true };
        let text = "Now:    2027-01-01T00:00:00Z\nManual: yes\n";
        let shape = serde_json::json!({"Now": "2027-01-01T00:00:00Z", "Manual": true});
        assert_eq!(human::<ShowClockArgs>(&["clock", "show"], &reply), text);
        assert_eq!(json::<ShowClockArgs>(&["clock", "show"], &reply), shape);
        assert_eq!(human::<AdvanceClockArgs>(&["clock", "advance", "30d"], &reply), text);
        assert_eq!(json::<AdvanceClockArgs>(&["clock", "advance", "30d"], &reply), shape);
        let set = &["clock", "set", "2027-01-01T00:00:00Z"];
        assert_eq!(human::<SetClockArgs>(set, &reply), text);
        assert_eq!(json::<SetClockArgs>(set, &reply), shape);
        parsed::<AdvanceClockArgs>(&["clock", "advance", "1d"]);
    }
}
