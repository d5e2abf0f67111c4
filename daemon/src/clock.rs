//! The daemon's one clock. Everything that depends on time (creation
//! dates, lockouts, rotation and deletion schedules, expiries) reads it
//! here, so a test can run on a manual clock that only moves when told.
//!
//! The manual clock keeps its time in a file of the state directory
//! ([`Clock::persistent`]): a daemon restarted on the test clock goes on
//! from where it was, never back to the system's time, so the schedules
//! computed before the restart still hold. It stands still while the
//! daemon is stopped, as it does while it runs.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use p11kms_proto::Timestamp;

use crate::config::ClockMode;

/// The clock.
#[derive(Debug)]
pub struct Clock {
    manual: Option<Mutex<Timestamp>>,
    /// Where the manual clock keeps its time, if anywhere.
    file: Option<PathBuf>,
}

impl Clock {
    /// A clock of the configured kind; a manual clock starts at the
    /// system's current time and is kept nowhere (unit tests).
    pub fn new(mode: ClockMode) -> Self {
        match mode {
            ClockMode::System => Self { manual: None, file: None },
            ClockMode::Manual => Self { manual: Some(Mutex::new(system_now())), file: None },
        }
    }

    /// The daemon's clock: a manual one starts at the time kept in `file`
    /// (the system's time when there is none yet) and keeps every move
    /// there.
    pub fn persistent(mode: ClockMode, file: &Path) -> Result<Self, ClockError> {
        if mode == ClockMode::System {
            return Ok(Self::new(mode));
        }
        let start =
            match std::fs::read_to_string(file) {
                Ok(text) => text.trim().parse().map(Timestamp).map_err(|_| {
                    ClockError::Persist(format!("{} does not hold a time in Unix seconds", file.display()))
                })?,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => system_now(),
                Err(error) => return Err(ClockError::Persist(format!("{}: {error}", file.display()))),
            };
        let clock = Self { manual: Some(Mutex::new(start)), file: Some(file.to_owned()) };
        clock.keep(start)?;
        Ok(clock)
    }

    /// Writes the manual clock's time to its file (whole, or not at all).
    fn keep(&self, time: Timestamp) -> Result<(), ClockError> {
        let Some(file) = &self.file else { return Ok(()) };
        let tmp = file.with_extension("tmp");
        std::fs::write(&tmp, format!("{}\n", time.unix()))
            .and_then(|()| std::fs::rename(&tmp, file))
            .map_err(|error| ClockError::Persist(format!("{}: {error}", file.display())))
    }

    /// Now.
    pub fn now(&self) -> Timestamp {
        match &self.manual {
            None => system_now(),
            Some(time) => time.lock().map(|t| *t).unwrap_or_else(|poisoned| *poisoned.into_inner()),
        }
    }

    /// True for the test clock.
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    /// Moves the test clock to `time`. Refused on the system clock, and
    /// backwards: schedules assume time only moves forward.
    pub fn set(&self, time: Timestamp) -> Result<Timestamp, ClockError> {
        let manual = self.manual.as_ref().ok_or(ClockError::NotManual)?;
        if time.unix() > LAST_SECOND {
            return Err(ClockError::TooFar { requested: time });
        }
        let mut now = manual.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if time < *now {
            return Err(ClockError::Backwards { now: *now, requested: time });
        }
        self.keep(time)?;
        *now = time;
        Ok(time)
    }

    /// Moves the test clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) -> Result<Timestamp, ClockError> {
        if seconds < 0 {
            return Err(ClockError::Backwards { now: self.now(), requested: self.now().plus_seconds(seconds) });
        }
        let now = self.now().unix();
        if seconds > LAST_SECOND.saturating_sub(now) {
            return Err(ClockError::TooFar { requested: Timestamp(now.saturating_add(seconds)) });
        }
        self.set(self.now().plus_seconds(seconds))
    }
}

/// The test clock refused to move.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClockError {
    /// The daemon runs on the system clock.
    #[error("the daemon runs on the system clock")]
    NotManual,
    /// Time would go backwards.
    #[error("the test clock only moves forward: it is {now}, not {requested}")]
    Backwards {
        /// The clock's time.
        now: Timestamp,
        /// The time asked for.
        requested: Timestamp,
    },
    /// Past the last second of year 9999: dates there have no four-digit
    /// year (the audit trail's daily files, RFC 3339 everywhere).
    #[error("the test clock goes no further than 9999-12-31T23:59:59Z")]
    TooFar {
        /// The time asked for (its seconds since 1970).
        requested: Timestamp,
    },
    /// The test clock's file could not be read or written.
    #[error("the test clock's time cannot be kept: {0}")]
    Persist(String),
}

/// 9999-12-31T23:59:59Z, the last second the test clock may show.
pub const LAST_SECOND: i64 = 253_402_300_799;

fn system_now() -> Timestamp {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Timestamp(i64::try_from(seconds).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_recent_and_manual_clock_stands_still() {
        let system = Clock::new(ClockMode::System);
        assert!(system.now().unix() > 1_700_000_000);
        let manual = Clock::new(ClockMode::Manual);
        assert!(manual.is_manual());
        assert_eq!(manual.now(), manual.now());
    }

    #[test]
    fn a_persistent_test_clock_goes_on_from_where_it_was() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("test-clock");
        let clock = Clock::persistent(ClockMode::Manual, &file).expect("starts");
        let later = clock.advance(30 * 86_400).expect("moves");
        drop(clock);
        let restarted = Clock::persistent(ClockMode::Manual, &file).expect("restarts");
        assert_eq!(restarted.now(), later, "not back to the system's time");
        let system = Clock::persistent(ClockMode::System, &file).expect("system");
        assert!(!system.is_manual(), "the file means nothing to the system clock");
        std::fs::write(&file, "soon").expect("write");
        assert!(matches!(Clock::persistent(ClockMode::Manual, &file), Err(ClockError::Persist(_))));
    }

    #[test]
    fn only_the_manual_clock_moves_and_only_forward() {
        let system = Clock::new(ClockMode::System);
        assert_eq!(system.advance(10), Err(ClockError::NotManual));
        let manual = Clock::new(ClockMode::Manual);
        let start = manual.now();
        assert_eq!(manual.advance(86_400), Ok(start.plus_seconds(86_400)));
        assert_eq!(manual.now(), start.plus_seconds(86_400));
        assert!(matches!(manual.set(start), Err(ClockError::Backwards { .. })));
        assert!(matches!(manual.advance(-1), Err(ClockError::Backwards { .. })));
        assert!(matches!(manual.advance(i64::MAX), Err(ClockError::TooFar { .. })));
        assert!(matches!(manual.set(Timestamp(LAST_SECOND + 1)), Err(ClockError::TooFar { .. })));
        assert_eq!(manual.set(Timestamp(LAST_SECOND)), Ok(Timestamp(LAST_SECOND)), "the year 9999 is still in");
        assert_eq!(Timestamp(LAST_SECOND).to_rfc3339(), "9999-12-31T23:59:59Z");
    }
}
