//! Instance backups' operations (`docs/backups.md`): their lifecycle, and
//! what a backup holds on a day.

use p11kms_proto::admin::{
    BackupDay, BackupInfo, BackupRef, CreateBackupRequest, EnableBackupRequest, ExtendBackupRequest,
    ListBackupsRequest, RenewBackupRequest, RestoreKeyRequest, RestoreSecretRequest, RestoredKey, RestoredSecret,
    ShowBackupRequest, op,
};

use super::{Access, Call, Handle};
use crate::backups::transfer;
use crate::backups::{lifecycle, peer, restore, view};
use crate::kms::KmsError;
use p11kms_proto::admin::{
    BackupChunk, BackupDownload, DownloadBackupRequest, FetchBackupChunkRequest, UploadBackupChunkRequest,
    UploadBackupRequest, UploadedChunks,
};
use p11kms_proto::admin::{
    BackupItemPackage, ExportBackupItemRequest, ImportBackupItemRequest, PrepareRestoreRequest, RestoreTicket,
    RestoredItem,
};

impl Handle for op::CreateBackup {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: CreateBackupRequest) -> Result<BackupInfo, KmsError> {
        lifecycle::create(call.kms(), &call.service.backups, &request)
    }
}

impl Handle for op::EnableBackup {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: EnableBackupRequest) -> Result<BackupInfo, KmsError> {
        lifecycle::enable(call.kms(), &call.service.backups, &request)
    }
}

impl Handle for op::ListBackups {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: ListBackupsRequest) -> Result<Vec<BackupInfo>, KmsError> {
        lifecycle::list(call.kms(), &call.service.backups, &request)
    }
}

impl Handle for op::DescribeBackup {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: BackupRef) -> Result<BackupInfo, KmsError> {
        lifecycle::describe(&call.service.backups, &request.backup_id)
    }
}

impl Handle for op::ExtendBackup {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: ExtendBackupRequest) -> Result<BackupInfo, KmsError> {
        lifecycle::extend(call.kms(), &call.service.backups, &request)
    }
}

impl Handle for op::RenewBackup {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: RenewBackupRequest) -> Result<BackupInfo, KmsError> {
        lifecycle::renew(call.kms(), &call.service.backups, &request)
    }
}

impl Handle for op::ResetBackup {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: BackupRef) -> Result<BackupInfo, KmsError> {
        lifecycle::reset(call.kms(), &call.service.backups, &request.backup_id)
    }
}

impl Handle for op::ShowBackup {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: ShowBackupRequest) -> Result<BackupDay, KmsError> {
        view::show(call.kms(), &call.service.backups, &request)
    }
}

impl Handle for op::RestoreBackupKey {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: RestoreKeyRequest) -> Result<RestoredKey, KmsError> {
        restore::restore_key(call.kms(), &call.service.backups, &request)
    }
}

impl Handle for op::RestoreBackupSecret {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: RestoreSecretRequest) -> Result<RestoredSecret, KmsError> {
        restore::restore_secret(call.kms(), &call.service.backups, &request)
    }
}

impl Handle for op::DrillBackup {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: BackupRef) -> Result<p11kms_proto::admin::BackupDrill, KmsError> {
        crate::backups::drill::drill(call.kms(), &call.service.backups, &request.backup_id)
    }
}

// Backup data files (`backups::transfer`).

impl Handle for op::DownloadBackup {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: DownloadBackupRequest) -> Result<BackupDownload, KmsError> {
        transfer::download::download(call.kms(), &call.service.backups, &request)
    }
}

impl Handle for op::FetchBackupChunk {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, request: FetchBackupChunkRequest) -> Result<BackupChunk, KmsError> {
        transfer::download::fetch(call.kms(), &call.service.backups, &request)
    }
}

impl Handle for op::UploadBackupChunk {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: UploadBackupChunkRequest) -> Result<UploadedChunks, KmsError> {
        transfer::upload::put_chunk(call.kms(), &call.service.backups, &request)
    }
}

impl Handle for op::UploadBackup {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: UploadBackupRequest) -> Result<BackupInfo, KmsError> {
        transfer::upload::upload(call.kms(), &call.service.backups, &request)
    }
}

// Restores from another daemon's backup (`backups::peer`).

impl Handle for op::PrepareRestore {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: PrepareRestoreRequest) -> Result<RestoreTicket, KmsError> {
        peer::prepare::prepare(call.kms(), call.service.backups.tickets(), &request)
    }
}

impl Handle for op::ExportBackupItem {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: ExportBackupItemRequest) -> Result<BackupItemPackage, KmsError> {
        peer::export::export(call.kms(), &call.service.backups, &request)
    }
}

impl Handle for op::ImportBackupItem {
    const ACCESS: Access = Access::Change;

    fn handle(call: &Call<'_>, request: ImportBackupItemRequest) -> Result<RestoredItem, KmsError> {
        peer::import::import(call.kms(), call.service.backups.tickets(), &request)
    }
}
