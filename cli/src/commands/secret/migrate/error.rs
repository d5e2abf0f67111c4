//! Why a migration did not end with an equal copy, and the exit status
//! each reason gives (`docs/secrets.md`, "Migration to another region").
//!
//! A refusal decided by the CLI (a RAM secret, a name taken at the
//! destination, an instance that cannot hold secrets, …) carries the code
//! the API would give for it, so that stderr starts with a code, as for an
//! API error, and the status is the same (1).

use std::fmt;
use std::path::PathBuf;

use p11kms_proto::{ApiError, ErrorCode};

use super::pause::PauseError;
use crate::client::ClientError;

/// Exit status of a migration stopped because the source secret changed
/// while it ran (what was made at the destination was removed).
pub const SOURCE_CHANGED: u8 = 6;

/// Which daemon a call went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The daemon of the source region (`--socket`, `P11KMS_ADMIN_SOCKET`).
    Source,
    /// The daemon of the destination region (`--to-socket`).
    Destination,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Source => "source",
            Self::Destination => "destination",
        })
    }
}

/// A copy at the destination the migration could not remove, or may
/// have made: where the operator finds it.
#[derive(Debug)]
pub struct LeftCopy {
    /// The secret.
    pub name: String,
    /// The destination's admin socket.
    pub socket: PathBuf,
}

/// What became of the copy at the destination when a migration stopped
/// after making it (or perhaps making it).
#[derive(Debug)]
pub enum Cleanup {
    /// It was deleted (without a recovery window).
    Removed,
    /// Deleting it failed (why): the operator has to.
    Left(LeftCopy, String),
    /// The call creating it got no answer: it may exist.
    Unknown(LeftCopy),
}

impl fmt::Display for Cleanup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Removed => f.write_str("the copy made at the destination was removed; the source is untouched"),
            Self::Left(copy, reason) => write!(
                f,
                "the partial copy at the destination could not be removed ({reason}): remove it with \
                 `p11kms --socket {} secret delete {} --force-delete-without-recovery`",
                copy.socket.display(),
                copy.name
            ),
            Self::Unknown(copy) => write!(
                f,
                "the destination may hold a partial copy: see `p11kms --socket {} secret describe {}`",
                copy.socket.display(),
                copy.name
            ),
        }
    }
}

/// Why `secret migrate` stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A daemon answered with an API error: its code first, then which
    /// daemon said it.
    #[error("{}: {role}: {}", error.code, error.message)]
    Api {
        /// The daemon.
        role: Role,
        /// Its answer.
        error: ApiError,
    },
    /// A daemon could not be reached, or broke the protocol.
    #[error("{role}: {}", transport_text(*role, error))]
    Transport {
        /// The daemon.
        role: Role,
        /// What went wrong.
        error: ClientError,
    },
    /// A daemon's answer cannot be what it says (a binary value that is
    /// not base64).
    #[error("{role}: {what}")]
    Malformed {
        /// The daemon.
        role: Role,
        /// What is wrong with the answer.
        what: String,
    },
    /// The migration is refused before anything is made, with the code
    /// the API gives for the same rule.
    #[error("{code}: {message}")]
    Refused {
        /// The rule's code.
        code: ErrorCode,
        /// What is refused, and what to do instead.
        message: String,
    },
    /// The source secret changed while the migration read or copied it.
    #[error(
        "the source secret '{name}' changed during the migration ({what}); the source must not change until \
         the migration is done: run it again"
    )]
    SourceChanged {
        /// The secret.
        name: String,
        /// What was seen to change.
        what: String,
    },
    /// The test pause (`P11KMS_TEST_MIGRATE_PAUSE`) failed.
    #[error(transparent)]
    Pause(#[from] PauseError),
    /// Something that cannot happen did (a key from the OS generator, a
    /// value for each version planned).
    #[error("{0}")]
    Internal(String),
    /// The report could not be turned into JSON.
    #[error("cannot print the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A failure after the copy was begun, and what became of the copy.
    #[error("{error}; {cleanup}")]
    Stopped {
        /// Why it stopped.
        error: Box<MigrateError>,
        /// The copy at the destination.
        cleanup: Cleanup,
    },
}

/// A transport failure's text; one reaching the destination points at
/// `--to-socket` (the client's own hint names the source's flags).
fn transport_text(role: Role, error: &ClientError) -> String {
    match (role, error) {
        (Role::Destination, ClientError::Connect { path, source })
            if source.kind() != std::io::ErrorKind::PermissionDenied =>
        {
            format!("cannot reach p11kmsd at {}: {source} (is it running? check --to-socket)", path.display())
        }
        _ => error.to_string(),
    }
}

impl MigrateError {
    /// Maps a call's failure on `role`'s daemon.
    pub fn from_client(role: Role, error: ClientError) -> Self {
        match error {
            ClientError::Api(error) => Self::Api { role, error },
            error => Self::Transport { role, error },
        }
    }

    /// A refusal with `code`.
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Refused { code, message: message.into() }
    }

    /// The API error a daemon answered, if that is what this is.
    pub fn api_code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api { error, .. } => Some(error.code),
            _ => None,
        }
    }

    /// The exit status: 1 for an API error or a refusal, 6 when the source
    /// changed, 3 when a daemon could not be reached or answered something
    /// impossible (or the test pause failed).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Api { .. } | Self::Refused { .. } => crate::EXIT_API,
            Self::SourceChanged { .. } => SOURCE_CHANGED,
            Self::Transport { .. } | Self::Malformed { .. } | Self::Pause(_) | Self::Internal(_) | Self::Json(_) => {
                crate::EXIT_TRANSPORT
            }
            Self::Stopped { error, .. } => error.exit_code(),
        }
    }

    /// True when the message starts with an error code (`Code: …`), so it
    /// is printed as it is rather than after `error: `.
    pub fn starts_with_code(&self) -> bool {
        match self {
            Self::Api { .. } | Self::Refused { .. } => true,
            Self::Stopped { error, .. } => error.starts_with_code(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_and_refusals_start_with_their_code_and_exit_1() {
        let api = MigrateError::Api {
            role: Role::Destination,
            error: ApiError::new(ErrorCode::ResourceNotFound, "instance 'hsm9' does not exist"),
        };
        assert_eq!(api.to_string(), "Forbidden.ResourceNotFound: destination: instance 'hsm9' does not exist");
        assert_eq!((api.exit_code(), api.starts_with_code()), (1, true));
        let refused = MigrateError::refused(ErrorCode::ResourceExist, "secret 'db' exists at the destination");
        assert_eq!(refused.to_string(), "Rejected.ResourceExist: secret 'db' exists at the destination");
        assert_eq!(refused.exit_code(), 1);
    }

    #[test]
    fn a_stop_after_the_copy_began_says_what_became_of_the_copy() {
        let changed = MigrateError::SourceChanged { name: "db".into(), what: "UpdateTime".into() };
        let stopped = MigrateError::Stopped { error: Box::new(changed), cleanup: Cleanup::Removed };
        let text = stopped.to_string();
        assert!(text.starts_with("the source secret 'db' changed during the migration (UpdateTime)"), "{text}");
        assert!(text.ends_with("the copy made at the destination was removed; the source is untouched"), "{text}");
        assert_eq!((stopped.exit_code(), stopped.starts_with_code()), (SOURCE_CHANGED, false));
        let api = MigrateError::Api { role: Role::Destination, error: ApiError::new(ErrorCode::LimitExceeded, "x") };
        let copy = LeftCopy { name: "db".into(), socket: "/run/b.sock".into() };
        let left = Cleanup::Left(copy, "gone".into());
        let stopped = MigrateError::Stopped { error: Box::new(api), cleanup: left };
        assert!(stopped.to_string().contains("`p11kms --socket /run/b.sock secret delete db --force-delete"));
        assert_eq!((stopped.exit_code(), stopped.starts_with_code()), (1, true));
        let transport = MigrateError::from_client(Role::Source, ClientError::Closed);
        assert_eq!(transport.exit_code(), 3);
        assert_eq!(transport.to_string(), "source: p11kmsd closed the connection without answering");
        let unreachable = |role| MigrateError::Transport {
            role,
            error: ClientError::Connect { path: "/run/b.sock".into(), source: std::io::ErrorKind::NotFound.into() },
        };
        let text = unreachable(Role::Destination).to_string();
        assert!(
            text.starts_with("destination: cannot reach p11kmsd at /run/b.sock: ")
                && text.ends_with("check --to-socket)")
        );
        assert!(unreachable(Role::Source).to_string().contains("P11KMS_ADMIN_SOCKET"));
    }
}
