//! `backup drill BACKUP_ID`: a restore rehearsed. The daemon restores the
//! backup's latest point into scratch HSM objects and checks each key
//! version against its canary and each secret version's value; the
//! command prints the result and exits 5 when the backup would not
//! restore, so a script notices.

use clap::Args;
use p11kms_proto::admin::{BackupDrill, BackupRef, op};

use super::super::{DIFFERENCES_FOUND, Invocation, RenderError, RequestError};
use super::description::drill_summary;
use crate::output::{self, Format};

/// `backup drill BACKUP_ID`.
#[derive(Debug, Args)]
pub struct DrillBackupArgs {
    /// The backup's id (`backup-…`).
    #[arg(value_name = "BACKUP_ID")]
    backup_id: String,
}

impl Invocation for DrillBackupArgs {
    type Op = op::DrillBackup;

    fn request(&self) -> Result<BackupRef, RequestError> {
        Ok(BackupRef { backup_id: self.backup_id.clone() })
    }

    fn render(&self, drill: &BackupDrill, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, drill, |d| {
            let mut text = format!("Drill: {}\n", drill_summary(d));
            for failure in &d.failures {
                text.push_str(&format!("  {failure}\n"));
            }
            text
        })?)
    }

    fn waiting(&self) -> Option<&'static str> {
        Some("rehearsing the restore: each key version and secret version checked…")
    }

    /// 5 when the backup would not restore.
    fn exit_status(&self, drill: &BackupDrill) -> u8 {
        if drill.passed { 0 } else { DIFFERENCES_FOUND }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::request;
    use super::*;

    #[test]
    fn a_drill_names_its_backup() {
        assert_eq!(
            request::<DrillBackupArgs>(&["backup", "drill", "backup-1"]),
            BackupRef { backup_id: "backup-1".into() }
        );
    }
}
