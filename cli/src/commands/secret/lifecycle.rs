//! `secret delete` (a recovery window of 7 to 30 days, or at once) and
//! `secret restore`.

use clap::Args;
use p11kms_proto::admin::{DeleteSecretRequest, SecretDeleted, SecretNamed, SecretRef, op};

use super::super::{Invocation, RenderError, RequestError};
use crate::output::{self, Format};

/// `secret delete NAME [--recovery-window-in-days N | --force-delete-without-recovery]`.
#[derive(Debug, Args)]
pub struct DeleteSecretArgs {
    /// The secret.
    #[arg(value_name = "NAME")]
    secret_name: String,
    /// Days it can still be restored, 7 to 30 (default 30).
    #[arg(long, value_name = "DAYS", conflicts_with = "force_delete_without_recovery")]
    recovery_window_in_days: Option<u32>,
    /// Delete it and every version now, with no way back.
    #[arg(long)]
    force_delete_without_recovery: bool,
}

impl Invocation for DeleteSecretArgs {
    type Op = op::DeleteSecret;

    fn request(&self) -> Result<DeleteSecretRequest, RequestError> {
        Ok(DeleteSecretRequest {
            secret_name: self.secret_name.clone(),
            recovery_window_in_days: self.recovery_window_in_days,
            force_delete_without_recovery: self.force_delete_without_recovery,
        })
    }

    fn render(&self, deleted: &SecretDeleted, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, deleted, |d| match d.planned_delete_time {
            Some(time) => format!("Secret '{}' will be deleted at {time} (restore stops it).\n", d.secret_name),
            None => format!("Secret '{}' deleted.\n", d.secret_name),
        })?)
    }
}

/// `secret restore NAME`.
#[derive(Debug, Args)]
pub struct RestoreSecretArgs {
    /// The secret.
    #[arg(value_name = "NAME")]
    secret_name: String,
}

impl Invocation for RestoreSecretArgs {
    type Op = op::RestoreSecret;

    fn request(&self) -> Result<SecretRef, RequestError> {
        Ok(SecretRef { secret_name: self.secret_name.clone() })
    }

    fn render(&self, named: &SecretNamed, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, named, |n| format!("Secret '{}' restored.\n", n.secret_name))?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{refused, request};
    use super::*;

    #[test]
    fn delete_takes_a_window_or_force() {
        let delete = request::<DeleteSecretArgs>(&["secret", "delete", "db", "--recovery-window-in-days", "7"]);
        assert_eq!((delete.recovery_window_in_days, delete.force_delete_without_recovery), (Some(7), false));
        let force = request::<DeleteSecretArgs>(&["secret", "delete", "db", "--force-delete-without-recovery"]);
        assert!(force.force_delete_without_recovery);
        refused(&["secret", "delete", "db", "--recovery-window-in-days", "7", "--force-delete-without-recovery"]);
    }
}
