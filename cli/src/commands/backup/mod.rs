//! `p11kms backup …`: instance backups, with the API's parameter and field
//! names (`--backup-type`, `--viewable-days`, `BackupId`, …): what backups
//! there are ([`description`]: `list`, `describe`), their lifecycle
//! ([`lifecycle`]: `create`, `enable`, `extend`, `renew`, `reset`), and what
//! one holds on a day ([`show`], the console's "View Data"), and restoring
//! a key or secret from it ([`restore`]).

pub mod description;
pub mod drill;
pub mod lifecycle;
pub mod restore;
pub mod show;

use super::subcommands;
use description::{DescribeBackupArgs, ListBackupsArgs};
use drill::DrillBackupArgs;
use lifecycle::{CreateBackupArgs, EnableBackupArgs, ExtendBackupArgs, RenewBackupArgs, ResetBackupArgs};
use restore::{RestoreBackupKeyArgs, RestoreBackupSecretArgs};
use show::ShowBackupArgs;

subcommands! {
    /// Operations on backups.
    pub enum BackupCommand {
        /// Creates a disabled backup for a kind of instance (CreateBackup).
        Create(CreateBackupArgs),
        /// Binds a backup to an instance: a full now, then on schedule (EnableBackup).
        Enable(EnableBackupArgs),
        /// Lists backups (ListBackups).
        List(ListBackupsArgs),
        /// Shows a backup (DescribeBackup).
        Describe(DescribeBackupArgs),
        /// Raises a retained backup's viewable days; they are never reduced (ExtendBackup).
        Extend(ExtendBackupArgs),
        /// Adds days to a retained backup's validity (RenewBackup).
        Renew(RenewBackupArgs),
        /// Deletes every backed-up byte of a backup and unbinds it; needs --yes (ResetBackup).
        Reset(ResetBackupArgs),
        /// Shows the keys and secrets a backup holds on a day (ShowBackup).
        Show(ShowBackupArgs),
        /// Restores a key as a backup holds it on a day or at a second (RestoreBackupKey).
        RestoreKey(RestoreBackupKeyArgs),
        /// Restores a secret as a backup holds it on a day or at a second (RestoreBackupSecret).
        RestoreSecret(RestoreBackupSecretArgs),
        /// Rehearses a restore of a backup's latest point and checks it; exits 5 when it would fail (DrillBackup).
        Drill(DrillBackupArgs),
    }
}
