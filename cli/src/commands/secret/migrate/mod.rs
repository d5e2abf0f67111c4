//! `p11kms secret migrate NAME --to-socket DEST --to-instance I
//! [--encryption-key-id KEY]`: the spec's procedure for moving a secret to
//! another region (another `p11kmsd`), as one command made of many calls
//! (an extra command: no operation of its own). `docs/secrets.md`,
//! "Migration to another region", tells it step by step:
//!
//! 1. the source's description ([`read`]) and what its type calls for
//!    ([`checks`]: RAM refused, Rds and ECS need nothing);
//! 2. the two regions, the destination instance and the name there
//!    ([`checks`]);
//! 3. every version and value of the source, in creation order, and the
//!    calls that rebuild them ([`plan`]); the source described again, which
//!    must not have changed ([`watch`]);
//! 4. the copy, with a look at the source before each call, read back, and
//!    removed when anything stops it ([`copy`]);
//! 5. both sides compared ([`compare`]) and printed side by side
//!    ([`report`]).
//!
//! The source is only read. Values live in wiped-on-drop strings from
//! their read to their put, and are shown and compared as digests
//! ([`digest`]); nothing of a value is printed, logged or written.

mod checks;
mod compare;
mod copy;
mod digest;
mod error;
#[cfg(test)]
mod fixtures;
mod pause;
mod plan;
mod read;
mod report;
mod side;
mod stages;
mod watch;

use std::path::{Path, PathBuf};

use clap::Args;
use p11kms_proto::ErrorCode;
use p11kms_proto::admin::op;

pub use error::MigrateError;

use super::super::{DIFFERENCES_FOUND, Outcome, Run};
use crate::Failure;
use crate::output::Format;
use copy::Copier;
use digest::DigestKey;
use error::Role;
use pause::Pause;
use plan::Target;
use read::Keep;
use report::Report;
use side::Side;

/// `secret migrate NAME --to-socket PATH --to-instance I [--encryption-key-id KEY]`.
#[derive(Debug, Args)]
pub struct MigrateSecretArgs {
    /// The secret (a Generic one is copied; Rds and ECS need no migration; RAM is refused).
    #[arg(value_name = "NAME")]
    secret_name: String,
    /// Admin socket of the destination region's p11kmsd (a forwarded socket works).
    #[arg(long, value_name = "PATH")]
    to_socket: PathBuf,
    /// The destination instance that gets the secret (hardware or software).
    #[arg(long, value_name = "INSTANCE")]
    to_instance: String,
    /// A symmetric key of the destination instance for its values (id or alias); the instance's service key for secrets when absent. The source's key is never used: it belongs to the source region.
    #[arg(long, value_name = "KEY")]
    encryption_key_id: Option<String>,
}

impl Run for MigrateSecretArgs {
    fn run(&self, socket: &Path, format: Format) -> Outcome {
        migrate(self, socket, format).map_err(Failure::from)
    }

    #[cfg(test)]
    fn leaves() -> Vec<super::super::Leaf> {
        use p11kms_proto::admin::OperationInfo;
        vec![super::super::Leaf {
            command: &["secret", "migrate"],
            sends: vec![
                OperationInfo::of::<op::GetClock>(),
                OperationInfo::of::<op::DescribeSecret>(),
                OperationInfo::of::<op::DescribeInstance>(),
                OperationInfo::of::<op::ListSecretVersionIds>(),
                OperationInfo::of::<op::GetSecretValue>(),
                OperationInfo::of::<op::CreateSecret>(),
                OperationInfo::of::<op::PutSecretValue>(),
                OperationInfo::of::<op::UpdateSecretVersionStage>(),
                OperationInfo::of::<op::DeleteSecret>(),
            ],
        }]
    }

    #[cfg(test)]
    fn into_leaf(self) -> Box<dyn std::any::Any> {
        Box::new(self)
    }
}

/// Runs a migration from the daemon at `socket`; returns the report and
/// the exit status (0 when the copy is equal or none is needed,
/// [`DIFFERENCES_FOUND`] when it differs).
fn migrate(args: &MigrateSecretArgs, socket: &Path, format: Format) -> Result<(String, u8), MigrateError> {
    let source = Side { role: Role::Source, socket: socket.to_owned() };
    let destination = Side { role: Role::Destination, socket: args.to_socket.clone() };
    let pause = test_pause(&source)?;
    let name = args.secret_name.as_str();

    let described = read::describe(&source, name)?;
    if let Some(message) = checks::by_type(&described)? {
        return Ok((Report::no_migration(&described, message).render(format)?, 0));
    }
    checks::not_pending(&described)?;
    let ends = checks::ends(&source, &destination, &described.instance, &args.to_instance)?;
    checks::name_free(&destination, name, &ends)?;

    let key = DigestKey::new().map_err(|e| MigrateError::Internal(format!("no key from the OS generator: {e}")))?;
    let (state, values) = read::state(&source, described, &key, Keep::Values)?;
    let targets: Vec<Target> =
        state.versions.iter().map(|v| Target { version_id: v.version_id.clone(), stages: v.stages.clone() }).collect();
    let steps = plan::plan(&targets).map_err(|e| {
        MigrateError::refused(
            ErrorCode::UnsupportedOperation,
            format!("secret '{name}' cannot be rebuilt at the destination: {e}; nothing was made"),
        )
    })?;
    pause::at(pause.as_ref(), pause::AFTER_READ)?;
    watch::unchanged(&source, &state.description)?;

    let copy = Copier {
        source: &source,
        destination: &destination,
        to_instance: &args.to_instance,
        encryption_key_id: args.encryption_key_id.as_deref(),
        read: &state,
        key: &key,
        pause: pause.as_ref(),
    };
    let copied = copy.make(&steps, values)?;
    let comparison = compare::compare(&state, &copied, &ends);
    let (cleanup, status) = if comparison.equal { (None, 0) } else { (Some(copy.remove()), DIFFERENCES_FOUND) };
    let report = Report::made(&state.description, &ends, steps, comparison, cleanup.as_ref());
    Ok((report.render(format)?, status))
}

/// The test pause the environment asks for ([`pause`]), when the source
/// runs on the test clock.
fn test_pause(source: &Side) -> Result<Option<Pause>, MigrateError> {
    let Some(value) = std::env::var_os(pause::PAUSE_ENV) else {
        return Ok(None);
    };
    if !source.call::<op::GetClock>(&())?.manual {
        return Ok(None);
    }
    Ok(Some(Pause::parse(&value.to_string_lossy())?))
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{parsed, refused};
    use super::*;

    #[test]
    fn migrate_names_the_destination_socket_and_instance() {
        let args = parsed::<MigrateSecretArgs>(&[
            "secret",
            "migrate",
            "db",
            "--to-socket",
            "/run/eu-2/admin.sock",
            "--to-instance",
            "hsm1",
        ]);
        assert_eq!(args.secret_name, "db");
        assert_eq!(args.to_socket, PathBuf::from("/run/eu-2/admin.sock"));
        assert_eq!((args.to_instance.as_str(), args.encryption_key_id), ("hsm1", None));
        let args = parsed::<MigrateSecretArgs>(&[
            "secret",
            "migrate",
            "db",
            "--to-socket",
            "b.sock",
            "--to-instance",
            "hsm1",
            "--encryption-key-id",
            "alias/secrets",
        ]);
        assert_eq!(args.encryption_key_id.as_deref(), Some("alias/secrets"));
        refused(&["secret", "migrate", "db", "--to-instance", "hsm1"]);
        refused(&["secret", "migrate", "db", "--to-socket", "b.sock"]);
        refused(&["secret", "migrate", "--to-socket", "b.sock", "--to-instance", "hsm1"]);
    }
}
