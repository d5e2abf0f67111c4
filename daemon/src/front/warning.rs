//! A warning an attacker can trigger thousands of times a second: logged
//! at most once per period, with the number of times it happened since.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often at most a [`Throttled`] warning is logged.
pub const WARN_EVERY: Duration = Duration::from_secs(10);

/// Counts the occurrences of one warning and says when to log it.
#[derive(Debug, Default)]
pub struct Throttled {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    unlogged: u64,
    last: Option<Instant>,
}

impl Throttled {
    /// Counts one occurrence. `Some(n)`: log it now, as `n` occurrences
    /// (this one included) since the last time it was logged.
    pub fn occurred(&self) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.unlogged += 1;
        if state.last.is_some_and(|last| last.elapsed() < WARN_EVERY) {
            return None;
        }
        state.last = Some(Instant::now());
        Some(std::mem::take(&mut state.unlogged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_occurrence_is_logged_and_the_next_ones_counted() {
        let warning = Throttled::default();
        assert_eq!(warning.occurred(), Some(1));
        assert_eq!(warning.occurred(), None);
        assert_eq!(warning.occurred(), None);
        // Once the period is over, the count since the last log comes out.
        if let Ok(mut state) = warning.state.lock() {
            state.last = Instant::now().checked_sub(WARN_EVERY);
        }
        assert_eq!(warning.occurred(), Some(3));
    }
}
