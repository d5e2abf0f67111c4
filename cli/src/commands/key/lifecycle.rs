//! A key's lifecycle: `key enable | disable | schedule-deletion |
//! cancel-deletion | set-deletion-protection`. None returns anything: each
//! confirms in one line (`{}` with `--json`).

use clap::Args;
use p11kms_proto::admin::{KeyRef, ScheduleKeyDeletionRequest, SetDeletionProtectionRequest, op};

use super::super::{Invocation, RenderError, RequestError};
use crate::output::{self, Format};

/// `key enable KEY`.
#[derive(Debug, Args)]
pub struct EnableKeyArgs {
    /// Key id or alias.
    #[arg(value_name = "KEY")]
    key: String,
}

impl Invocation for EnableKeyArgs {
    type Op = op::EnableKey;

    fn request(&self) -> Result<KeyRef, RequestError> {
        Ok(KeyRef { key: self.key.clone() })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        Ok(output::done(format, &format!("Key '{}' enabled.", self.key))?)
    }
}

/// `key disable KEY`.
#[derive(Debug, Args)]
pub struct DisableKeyArgs {
    /// Key id or alias.
    #[arg(value_name = "KEY")]
    key: String,
}

impl Invocation for DisableKeyArgs {
    type Op = op::DisableKey;

    fn request(&self) -> Result<KeyRef, RequestError> {
        Ok(KeyRef { key: self.key.clone() })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        Ok(output::done(format, &format!("Key '{}' disabled.", self.key))?)
    }
}

/// `key schedule-deletion KEY --pending-window-in-days N`.
#[derive(Debug, Args)]
pub struct ScheduleKeyDeletionArgs {
    /// Key id or alias.
    #[arg(value_name = "KEY")]
    key: String,
    /// Days before the key is destroyed, 7 to 366.
    #[arg(long, value_name = "DAYS")]
    pending_window_in_days: u32,
}

impl Invocation for ScheduleKeyDeletionArgs {
    type Op = op::ScheduleKeyDeletion;

    fn request(&self) -> Result<ScheduleKeyDeletionRequest, RequestError> {
        Ok(ScheduleKeyDeletionRequest { key: self.key.clone(), pending_window_in_days: self.pending_window_in_days })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        let (key, days) = (&self.key, self.pending_window_in_days);
        Ok(output::done(format, &format!("Key '{key}' will be deleted in {days} days (cancel-deletion stops it)."))?)
    }
}

/// `key cancel-deletion KEY`.
#[derive(Debug, Args)]
pub struct CancelKeyDeletionArgs {
    /// Key id or alias.
    #[arg(value_name = "KEY")]
    key: String,
}

impl Invocation for CancelKeyDeletionArgs {
    type Op = op::CancelKeyDeletion;

    fn request(&self) -> Result<KeyRef, RequestError> {
        Ok(KeyRef { key: self.key.clone() })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        Ok(output::done(format, &format!("Deletion of key '{}' cancelled.", self.key))?)
    }
}

/// `key set-deletion-protection KEY --enable|--disable`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("protection").required(true).args(["enable", "disable"]))]
pub struct SetDeletionProtectionArgs {
    /// Key id or alias.
    #[arg(value_name = "KEY")]
    key: String,
    /// Refuse deletion.
    #[arg(long)]
    enable: bool,
    /// Allow deletion.
    #[arg(long)]
    disable: bool,
}

impl Invocation for SetDeletionProtectionArgs {
    type Op = op::SetDeletionProtection;

    fn request(&self) -> Result<SetDeletionProtectionRequest, RequestError> {
        Ok(SetDeletionProtectionRequest { key: self.key.clone(), enable_deletion_protection: self.enable })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        let state = if self.enable { "enabled" } else { "disabled" };
        Ok(output::done(format, &format!("Deletion protection of key '{}' {state}.", self.key))?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{refused, request};
    use super::*;

    #[test]
    fn lifecycle_commands_parse_to_requests() {
        assert_eq!(request::<EnableKeyArgs>(&["key", "enable", "k"]), KeyRef { key: "k".into() });
        assert_eq!(request::<DisableKeyArgs>(&["key", "disable", "alias/k"]), KeyRef { key: "alias/k".into() });
        assert_eq!(
            request::<ScheduleKeyDeletionArgs>(&["key", "schedule-deletion", "k", "--pending-window-in-days", "7"]),
            ScheduleKeyDeletionRequest { key: "k".into(), pending_window_in_days: 7 }
        );
        refused(&["key", "schedule-deletion", "k"]);
        refused(&["key", "schedule-deletion", "k", "--pending-window-in-days", "seven"]);
        assert_eq!(request::<CancelKeyDeletionArgs>(&["key", "cancel-deletion", "k"]), KeyRef { key: "k".into() });
        assert_eq!(
            request::<SetDeletionProtectionArgs>(&["key", "set-deletion-protection", "k", "--enable"]),
            SetDeletionProtectionRequest { key: "k".into(), enable_deletion_protection: true }
        );
        assert_eq!(
            request::<SetDeletionProtectionArgs>(&["key", "set-deletion-protection", "k", "--disable"]),
            SetDeletionProtectionRequest { key: "k".into(), enable_deletion_protection: false }
        );
        let err = refused(&["key", "set-deletion-protection", "k", "--enable", "--disable"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        let err = refused(&["key", "set-deletion-protection", "k"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        refused(&["key", "enable"]);
    }
}
