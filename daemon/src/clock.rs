//! The daemon's one clock. Everything that depends on time (creation
//! dates, lockouts, and later rotation and deletion schedules) reads it
//! here, so a test can run on a manual clock that only moves when told.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use p11kms_proto::Timestamp;

use crate::config::ClockMode;

/// The clock.
#[derive(Debug)]
pub struct Clock {
    manual: Option<Mutex<Timestamp>>,
}

impl Clock {
    /// A clock of the configured kind; a manual clock starts at the
    /// system's current time.
    pub fn new(mode: ClockMode) -> Self {
        match mode {
            ClockMode::System => Self { manual: None },
            ClockMode::Manual => Self { manual: Some(Mutex::new(system_now())) },
        }
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
        let mut now = manual.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if time < *now {
            return Err(ClockError::Backwards { now: *now, requested: time });
        }
        *now = time;
        Ok(time)
    }

    /// Moves the test clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) -> Result<Timestamp, ClockError> {
        if seconds < 0 {
            return Err(ClockError::Backwards { now: self.now(), requested: self.now().plus_seconds(seconds) });
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
}

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
    fn only_the_manual_clock_moves_and_only_forward() {
        let system = Clock::new(ClockMode::System);
        assert_eq!(system.advance(10), Err(ClockError::NotManual));
        let manual = Clock::new(ClockMode::Manual);
        let start = manual.now();
        assert_eq!(manual.advance(86_400), Ok(start.plus_seconds(86_400)));
        assert_eq!(manual.now(), start.plus_seconds(86_400));
        assert!(matches!(manual.set(start), Err(ClockError::Backwards { .. })));
        assert!(matches!(manual.advance(-1), Err(ClockError::Backwards { .. })));
    }
}
