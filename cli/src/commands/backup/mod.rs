//! `p11kms backup …`: instance backups, with the API's parameter and field
//! names (`--backup-type`, `--viewable-days`, `BackupId`, …): what backups
//! there are ([`description`]: `list`, `describe`), their lifecycle
//! ([`lifecycle`]: `create`, `enable`, `extend`, `renew`, `reset`), and what
//! one holds on a day ([`show`], the console's "View Data"), and restoring
//! a key or secret from it ([`restore`], into another daemon with
//! [`peer`]); and backup data files ([`download`], [`upload`]).

pub mod description;
pub mod download;
pub mod drill;
pub mod lifecycle;
pub mod peer;
pub mod restore;
pub mod restoring;
pub mod show;
pub mod upload;

use super::subcommands;
use description::{DescribeBackupArgs, ListBackupsArgs};
use download::{DownloadBackupArgs, FetchBackupChunkArgs};
use drill::DrillBackupArgs;
use lifecycle::{CreateBackupArgs, EnableBackupArgs, ExtendBackupArgs, RenewBackupArgs, ResetBackupArgs};
use peer::{ExportBackupItemArgs, ImportBackupItemArgs, PrepareRestoreArgs};
use restore::{RestoreBackupKeyArgs, RestoreBackupSecretArgs};
use show::ShowBackupArgs;
use upload::{UploadBackupArgs, UploadBackupChunkArgs};

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
        /// Writes what a backup holds at the end of a day as one encrypted file; prints its key once (DownloadBackup).
        #[command(name = "download")]
        Download(DownloadBackupArgs),
        /// Fetches one chunk of a download made ready (FetchBackupChunk).
        FetchChunk(FetchBackupChunkArgs),
        /// Sends one chunk of a backup data file to upload (UploadBackupChunk).
        UploadChunk(UploadBackupChunkArgs),
        /// Makes an `upload` backup of a backup data file, checked whole first (UploadBackup).
        #[command(name = "upload")]
        Upload(UploadBackupArgs),
        /// At the destination of a restore from another daemon: its checks, and a one-time ticket with a wrapping public key (PrepareRestore).
        PrepareRestore(PrepareRestoreArgs),
        /// At the source: a key or secret as the backup holds it, packed for a ticket (ExportBackupItem).
        ExportItem(ExportBackupItemArgs),
        /// At the destination: a package unwrapped into its cluster and put in place; spends the ticket (ImportBackupItem).
        ImportItem(ImportBackupItemArgs),
    }
}
