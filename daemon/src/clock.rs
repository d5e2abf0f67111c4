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
}
