//! A test hook: `secret migrate` stops at a named point until the test
//! lets it go on, so that an end-to-end test changes the source secret at
//! an exact moment of the migration, without guessing at timings.
//!
//! Armed by `P11KMS_TEST_MIGRATE_PAUSE=POINT:DIR`, and only when the
//! source daemon runs on the test clock (`p11kmsd --test-clock`), as the
//! daemon's own test crash points: against a daemon on the system clock
//! the variable is not acted on. At POINT the CLI creates the empty file
//! `DIR/POINT.reached`, then waits until `DIR/POINT.resume` exists (at
//! most [`WAIT`]). The points are [`AFTER_READ`], [`AFTER_CREATE`] and
//! [`BEFORE_COMPARE`].

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The environment variable that arms the pause.
pub const PAUSE_ENV: &str = "P11KMS_TEST_MIGRATE_PAUSE";
/// The source is read, nothing is made yet; its second description
/// (the check that refuses to start) follows.
pub const AFTER_READ: &str = "after-read";
/// The destination holds the secret with its first version; the other
/// versions and the stages follow.
pub const AFTER_CREATE: &str = "after-create";
/// Every call of the plan is made; the final reads of both sides follow.
pub const BEFORE_COMPARE: &str = "before-compare";
/// Every point.
const POINTS: [&str; 3] = [AFTER_READ, AFTER_CREATE, BEFORE_COMPARE];

/// The longest wait for the resume file.
pub const WAIT: Duration = Duration::from_secs(60);
/// How often the resume file is looked for.
const POLL: Duration = Duration::from_millis(10);

/// Why the pause failed.
#[derive(Debug, thiserror::Error)]
pub enum PauseError {
    /// The variable does not name a point and a directory.
    #[error("{PAUSE_ENV}='{0}' is not POINT:DIR with POINT one of after-read, after-create, before-compare")]
    Invalid(String),
    /// The file saying the point is reached could not be made.
    #[error("test pause at {point}: cannot create {}: {source}", path.display())]
    Reached {
        /// The point.
        point: String,
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// Nobody let the migration go on.
    #[error("test pause at {point}: {} did not appear within {} s", path.display(), WAIT.as_secs())]
    NotResumed {
        /// The point.
        point: String,
        /// The file waited for.
        path: PathBuf,
    },
}

/// An armed pause: where, and the directory of its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    point: String,
    dir: PathBuf,
}

impl Pause {
    /// The pause `value` (the variable's) asks for.
    pub fn parse(value: &str) -> Result<Self, PauseError> {
        match value.split_once(':') {
            Some((point, dir)) if POINTS.contains(&point) && !dir.is_empty() => {
                Ok(Self { point: point.to_owned(), dir: PathBuf::from(dir) })
            }
            _ => Err(PauseError::Invalid(value.to_owned())),
        }
    }

    /// At `point`: when it is the armed one, says so and waits to be let
    /// go on.
    pub fn at(&self, point: &str) -> Result<(), PauseError> {
        if point != self.point {
            return Ok(());
        }
        let reached = self.dir.join(format!("{point}.reached"));
        std::fs::write(&reached, b"").map_err(|source| PauseError::Reached {
            point: point.to_owned(),
            path: reached,
            source,
        })?;
        let resume = self.dir.join(format!("{point}.resume"));
        let deadline = Instant::now() + WAIT;
        while !resume.exists() {
            if Instant::now() > deadline {
                return Err(PauseError::NotResumed { point: point.to_owned(), path: resume });
            }
            std::thread::sleep(POLL);
        }
        Ok(())
    }
}

/// Passes `point` on an armed pause; nothing without one.
pub fn at(pause: Option<&Pause>, point: &str) -> Result<(), PauseError> {
    pause.map_or(Ok(()), |pause| pause.at(point))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_names_a_point_and_a_directory() {
        let pause = Pause::parse("after-create:/tmp/x").expect("a pause");
        assert_eq!(pause, Pause { point: AFTER_CREATE.into(), dir: "/tmp/x".into() });
        assert!(matches!(Pause::parse("after-lunch:/tmp/x"), Err(PauseError::Invalid(_))));
        assert!(matches!(Pause::parse("after-read:"), Err(PauseError::Invalid(_))));
        assert!(matches!(Pause::parse("after-read"), Err(PauseError::Invalid(_))));
    }

    #[test]
    fn a_pause_says_it_is_reached_and_goes_on_once_resumed() {
        let dir = crate::commands::test_support::temp_dir();
        let pause = Pause::parse(&format!("{BEFORE_COMPARE}:{}", dir.path().display())).expect("a pause");
        pause.at(AFTER_READ).expect("another point passes at once");
        assert!(!dir.path().join("after-read.reached").exists());
        std::fs::write(dir.path().join("before-compare.resume"), b"").expect("resume");
        pause.at(BEFORE_COMPARE).expect("resumed");
        assert!(dir.path().join("before-compare.reached").exists());
        at(None, BEFORE_COMPARE).expect("no pause");
    }
}
