//! Sample values of the types of CMK migration and of instance backups
//! (lifecycle, days, restores, drills, download and upload).

use p11kms_proto::admin::*;
use p11kms_proto::{SecretString, Timestamp};

use super::Sample;

sample! {
    CheckKeyMigrationRequest => CheckKeyMigrationRequest { key: Some("alias/orders".into()) };
    MigrateKeyRequest => MigrateKeyRequest {
        key: "alias/orders".into(),
        to_instance: "hsm1".into(),
        window_start: Some(Timestamp(1_700_000_000)),
        window_end: Some(Timestamp(1_700_003_600)),
    };
    CreateBackupRequest => CreateBackupRequest {
        backup_type: BackupType::Retained,
        instance_kind: InstanceKind::Software,
        alias: Some("nightly".into()),
        viewable_days: Some(30),
        duration_days: Some(365),
    };
    BackupRef => BackupRef { backup_id: "backup-1".into() };
    EnableBackupRequest => EnableBackupRequest {
        backup_id: "backup-1".into(),
        instance: "soft1".into(),
        alias: Some("nightly".into()),
    };
    ListBackupsRequest => ListBackupsRequest { instance: Some("soft1".into()), backup_type: Some(BackupType::System) };
    ExtendBackupRequest => ExtendBackupRequest { backup_id: "backup-1".into(), viewable_days: 60 };
    RenewBackupRequest => RenewBackupRequest { backup_id: "backup-1".into(), duration_days: 30 };
    ShowBackupRequest => ShowBackupRequest { backup_id: "backup-1".into(), date: "2026-12-05".into() };
    BackupInfo => BackupInfo {
        backup_id: "backup-1".into(),
        alias: Some("nightly".into()),
        backup_type: BackupType::Retained,
        status: BackupStatus::Enabled,
        instance: Some("soft1".into()),
        instance_kind: InstanceKind::Software,
        creation_date: Timestamp(1_700_000_000),
        enable_date: Some(Timestamp(1_700_000_100)),
        viewable_days: 30,
        expire_date: Some(Timestamp(1_731_536_000)),
        cluster: None,
        primary_member: None,
        point_count: 12,
        last_full: Some(Timestamp(1_700_006_400)),
        last_point: Some(Timestamp(1_700_006_700)),
        stored_bytes: 4096,
        last_drill: Some(BackupDrill::sample()),
    };
    BackupDrill => BackupDrill {
        drill_date: Timestamp(1_700_007_000),
        point_date: Timestamp(1_700_006_700),
        passed: false,
        key_versions_checked: 3,
        secret_versions_checked: 1,
        failures: vec!["key-1/v2: the canary does not verify".into()],
    };
    BackupDay => BackupDay {
        backup_id: "backup-1".into(),
        date: "2026-12-05".into(),
        fully_backed_up_keys: vec![BackedUpKey {
            key_id: "key-1".into(),
            aliases: vec!["alias/orders".into()],
            key_spec: KeySpec::Aes256,
            key_usage: KeyUsage::EncryptDecrypt,
            key_state: KeyState::Enabled,
            creation_date: Timestamp(1_700_000_000),
            primary_key_version: "v2".into(),
            version_count: 2,
        }],
        incrementally_backed_up_keys: vec![],
        rotated_keys: vec![],
        fully_backed_up_secrets: vec![BackedUpSecret {
            secret_name: "db".into(),
            secret_type: SecretType::Generic,
            encryption_key_id: "key-1".into(),
            creation_date: Timestamp(1_700_000_000),
            version_ids: vec!["v1".into()],
        }],
        incrementally_backed_up_secrets: vec![],
        rotated_secrets: vec![],
    };
    RestoreKeyRequest => RestoreKeyRequest {
        backup_id: "backup-1".into(),
        date: Some("2026-12-05".into()),
        at: None,
        key_id: "key-1".into(),
        to_instance: "soft2".into(),
    };
    RestoreSecretRequest => RestoreSecretRequest {
        backup_id: "backup-1".into(),
        date: None,
        at: Some(Timestamp(1_700_000_042)),
        secret_name: "db".into(),
        to_instance: "soft2".into(),
    };
    RestoredKey => RestoredKey {
        key_id: "key-1".into(),
        instance: "soft2".into(),
        key_version_ids: vec!["v1".into(), "v2".into()],
        primary_key_version: "v2".into(),
        aliases: vec!["alias/orders".into()],
        aliases_not_restored: vec!["alias/taken".into()],
        as_of: Timestamp(1_700_000_042),
    };
    RestoredSecret => RestoredSecret {
        secret_name: "db".into(),
        instance: "soft2".into(),
        version_ids: vec!["v1".into()],
        as_of: Timestamp(1_700_000_042),
    };
    DownloadBackupRequest => DownloadBackupRequest { backup_id: "backup-1".into(), date: "2026-12-05".into() };
    BackupDownload => BackupDownload {
        download_id: "download-1".into(),
        backup_id: "backup-1".into(),
        date: "2026-12-05".into(),
        size: 70_123,
        chunk_count: 1,
        key_count: 3,
        secret_count: 2,
        decryption_key: SecretString::new("c2VjcmV0".into()),
    };
    FetchBackupChunkRequest => FetchBackupChunkRequest { download_id: "download-1".into(), index: 2 };
    BackupChunk => BackupChunk { download_id: "download-1".into(), index: 2, last: true, bytes: vec![0xbe, 0xef] };
    UploadBackupChunkRequest => UploadBackupChunkRequest {
        upload_id: "0b5e4c1e-8a4f-4c55-9d0a-3f3b1c7e2a10".into(),
        index: 1,
        bytes: vec![0xca, 0xfe],
    };
    UploadedChunks => UploadedChunks { upload_id: "0b5e4c1e-8a4f-4c55-9d0a-3f3b1c7e2a10".into(), chunk_count: 2, size: 2_097_152 };
    UploadBackupRequest => UploadBackupRequest {
        upload_id: "0b5e4c1e-8a4f-4c55-9d0a-3f3b1c7e2a10".into(),
        decryption_key: SecretString::new("c2VjcmV0".into()),
        name: "from-eu".into(),
    };
    PrepareRestoreRequest => PrepareRestoreRequest {
        to_instance: "soft2".into(),
        key_id: Some("key-1".into()),
        secret_name: None,
        backup_kind: Some(InstanceKind::Software),
    };
    RestoreTicket => RestoreTicket {
        ticket: "ticket-1".into(),
        instance: "soft2".into(),
        instance_kind: InstanceKind::Software,
        wrapping_public_key: Some(vec![0x30, 0x82]),
        expires_at: Timestamp(1_700_000_600),
    };
    ExportBackupItemRequest => ExportBackupItemRequest {
        backup_id: "backup-1".into(),
        date: None,
        at: Some(Timestamp(1_700_000_042)),
        key_id: Some("key-1".into()),
        secret_name: None,
        instance_kind: Some(InstanceKind::Software),
        wrapping_public_key: Some(vec![0x30, 0x82]),
    };
    BackupItemPackage => BackupItemPackage {
        backup_id: "backup-1".into(),
        item: "key-1".into(),
        as_of: Timestamp(1_700_000_042),
        version_count: 2,
        package: b"{}".to_vec(),
    };
    ImportBackupItemRequest => ImportBackupItemRequest { ticket: "ticket-1".into(), package: b"{}".to_vec() };
    RestoredItem => RestoredItem {
        key: None,
        secret: Some(RestoredSecret {
            secret_name: "db".into(),
            instance: "soft2".into(),
            version_ids: vec!["v1".into()],
            as_of: Timestamp(1_700_000_042),
        }),
    };
    MigrationTaskRef => MigrationTaskRef { task_id: "mt-1".into() };
    ListKeyMigrationsRequest => ListKeyMigrationsRequest { key: Some("alias/orders".into()) };
    KeyMigrationTask => KeyMigrationTask {
        task_id: "mt-1".into(),
        key_id: "k-1".into(),
        from_instance: "default".into(),
        to_instance: "hsm1".into(),
        window_start: Timestamp(1_700_000_000),
        window_end: Timestamp(1_700_003_600),
        status: MigrationStatus::Failed,
        failure_reason: Some("quota".into()),
        creation_date: Timestamp(1_699_999_000),
        start_date: Some(Timestamp(1_700_000_001)),
        end_date: Some(Timestamp(1_700_000_002)),
    };
    KeyMigrationChecks => KeyMigrationChecks {
        keys: vec![KeyMigrationCheck {
            key_id: "k-1".into(),
            instance: "default".into(),
            key_manager_type: KeyManagerType::Cmk,
            migratable: false,
            reasons: vec![MigrationReason { code: MigrationBlocker::MultipleVersions, message: "it has 2 versions".into() }],
        }],
    };
}
