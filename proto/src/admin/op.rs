//! Every admin operation, defined once: its opcode, its API name, the
//! `p11kms` command that sends it, its request and its reply.
//!
//! The table is [`crate::admin_operations!`], an "X macro": it hands the
//! whole list to a macro of the caller's choosing. This module makes a
//! marker type per operation from it (`op::CreateKey`, implementing
//! [`Operation`]); the daemon makes its routing table from the same list,
//! so an operation without a handler does not compile; the golden-byte
//! tests walk it, so an operation without pinned bytes fails.
//!
//! Adding an operation: a new line here with the next free opcode of its
//! group (never reuse or renumber one), its handler in the daemon's
//! `admin/`, its arguments and rendering in the CLI's `commands/`, and
//! its golden bytes. Groups: `0x01` instances, `0x02` apps, `0x03` keys,
//! `0x04` aliases, `0x05` cryptographic operations, `0x06` clusters,
//! `0x07` the clock, `0x08` connections, `0x09` secrets, `0x0a` the audit trail,
//! `0x0b` backups.

use super::operation::{Operation, OperationInfo};

/// Calls `$callback! { ... }` with the table of admin operations, one
/// entry each:
///
/// ```text
/// /// docs
/// OPCODE Name ["command" "words"] RequestType => ReplyType;
/// ```
#[macro_export]
macro_rules! admin_operations {
    ($callback:ident) => {
        $callback! {
            /// `instance list`: every instance.
            0x0101 ListInstances ["instance" "list"] () => Vec<$crate::admin::InstanceInfo>;
            /// `instance describe NAME`.
            0x0102 DescribeInstance ["instance" "describe"] $crate::admin::ResourceName => $crate::admin::InstanceInfo;
            /// `instance create NAME --kind K --cluster C`.
            0x0103 CreateInstance ["instance" "create"] $crate::admin::CreateInstanceRequest => $crate::admin::InstanceInfo;
            /// `instance attach-cluster INSTANCE CLUSTER`.
            0x0104 AttachCluster ["instance" "attach-cluster"] $crate::admin::AttachClusterRequest => $crate::admin::InstanceInfo;
            /// `instance delete NAME [--force]`: the instance as it was; its cluster stays.
            0x0105 DeleteInstance ["instance" "delete"] $crate::admin::DeleteInstanceRequest => $crate::admin::InstanceInfo;

            /// `app create NAME --instance I`: the PIN is in the reply, once.
            0x0201 CreateApp ["app" "create"] $crate::admin::CreateAppRequest => $crate::admin::AppCreated;
            /// `app list`.
            0x0202 ListApps ["app" "list"] () => Vec<$crate::admin::AppInfo>;
            /// `app describe NAME`.
            0x0203 DescribeApp ["app" "describe"] $crate::admin::ResourceName => $crate::admin::AppInfo;
            /// `app delete NAME`.
            0x0204 DeleteApp ["app" "delete"] $crate::admin::ResourceName => ();
            /// `app update-policy NAME --policy FILE|all`: in force at every session's next call.
            0x0205 UpdateAppPolicy ["app" "update-policy"] $crate::admin::UpdateAppPolicyRequest => $crate::admin::AppInfo;

            /// `key create`.
            0x0301 CreateKey ["key" "create"] $crate::admin::CreateKeyRequest => $crate::admin::KeyDescription;
            /// `key describe KEY`.
            0x0302 DescribeKey ["key" "describe"] $crate::admin::KeyRef => $crate::admin::KeyDescription;
            /// `key list` with its filters.
            0x0303 ListKeys ["key" "list"] $crate::admin::ListKeysRequest => $crate::admin::KeyList;
            /// `key list-versions KEY`.
            0x0304 ListKeyVersions ["key" "list-versions"] $crate::admin::KeyRef => Vec<$crate::admin::KeyVersionInfo>;
            /// `key describe-version KEY --key-version-id V`.
            0x0305 DescribeKeyVersion ["key" "describe-version"] $crate::admin::KeyVersionRef => $crate::admin::KeyVersionInfo;
            /// `key enable KEY`.
            0x0306 EnableKey ["key" "enable"] $crate::admin::KeyRef => ();
            /// `key disable KEY`.
            0x0307 DisableKey ["key" "disable"] $crate::admin::KeyRef => ();
            /// `key schedule-deletion KEY --pending-window-in-days N`.
            0x0308 ScheduleKeyDeletion ["key" "schedule-deletion"] $crate::admin::ScheduleKeyDeletionRequest => ();
            /// `key cancel-deletion KEY`.
            0x0309 CancelKeyDeletion ["key" "cancel-deletion"] $crate::admin::KeyRef => ();
            /// `key set-deletion-protection KEY --enable|--disable`.
            0x030a SetDeletionProtection ["key" "set-deletion-protection"] $crate::admin::SetDeletionProtectionRequest => ();
            /// `key create-version KEY`: a manual rotation.
            0x030b CreateKeyVersion ["key" "create-version"] $crate::admin::KeyRef => $crate::admin::KeyVersionInfo;
            /// `key update-rotation-policy KEY`.
            0x030c UpdateRotationPolicy ["key" "update-rotation-policy"] $crate::admin::UpdateRotationPolicyRequest => ();
            /// `key tag KEY --tag K=V ...` (and `secret tag NAME`: the request names a key or a secret).
            0x030d TagResource ["key" "tag"] $crate::admin::TagResourceRequest => ();
            /// `key untag KEY --tag-key K ...` (and `secret untag NAME`).
            0x030e UntagResource ["key" "untag"] $crate::admin::UntagResourceRequest => ();
            /// `key get-parameters-for-import KEY`.
            0x030f GetParametersForImport ["key" "get-parameters-for-import"] $crate::admin::GetParametersForImportRequest => $crate::admin::ImportParameters;
            /// `key import-key-material KEY`.
            0x0310 ImportKeyMaterial ["key" "import-key-material"] $crate::admin::ImportKeyMaterialRequest => ();
            /// `key delete-key-material KEY`.
            0x0311 DeleteKeyMaterial ["key" "delete-key-material"] $crate::admin::KeyRef => ();
            /// `key check-migration [KEY]`: whether CMKs of the default instance may migrate, and why not.
            0x0312 CheckKeyMigration ["key" "check-migration"] $crate::admin::CheckKeyMigrationRequest => $crate::admin::KeyMigrationChecks;
            /// `key migrate KEY --to-instance I`: a CMK migration task.
            0x0313 MigrateKey ["key" "migrate"] $crate::admin::MigrateKeyRequest => $crate::admin::KeyMigrationTask;
            /// `key describe-migration TASK_ID`.
            0x0314 DescribeKeyMigration ["key" "describe-migration"] $crate::admin::MigrationTaskRef => $crate::admin::KeyMigrationTask;
            /// `key list-migrations [--key KEY]`: migration tasks, newest first.
            0x0315 ListKeyMigrations ["key" "list-migrations"] $crate::admin::ListKeyMigrationsRequest => Vec<$crate::admin::KeyMigrationTask>;

            /// `alias create ALIAS --key-id KEY`.
            0x0401 CreateAlias ["alias" "create"] $crate::admin::AliasRequest => ();
            /// `alias update ALIAS --key-id KEY`.
            0x0402 UpdateAlias ["alias" "update"] $crate::admin::AliasRequest => ();
            /// `alias delete ALIAS`.
            0x0403 DeleteAlias ["alias" "delete"] $crate::admin::AliasRef => ();
            /// `alias list [--key-id KEY]` (ListAliases, ListAliasesByKeyId).
            0x0404 ListAliases ["alias" "list"] $crate::admin::ListAliasesRequest => Vec<$crate::admin::AliasInfo>;

            /// `encrypt`.
            0x0501 Encrypt ["encrypt"] $crate::admin::EncryptRequest => $crate::admin::Encrypted;
            /// `decrypt`.
            0x0502 Decrypt ["decrypt"] $crate::admin::DecryptRequest => $crate::admin::Decrypted;
            /// `re-encrypt`.
            0x0503 ReEncrypt ["re-encrypt"] $crate::admin::ReEncryptRequest => $crate::admin::ReEncrypted;
            /// `generate-data-key`: the data key in clear and encrypted.
            0x0504 GenerateDataKey ["generate-data-key"] $crate::admin::GenerateDataKeyRequest => $crate::admin::DataKey;
            /// `generate-data-key-without-plaintext`: the data key encrypted only.
            0x0505 GenerateDataKeyWithoutPlaintext ["generate-data-key-without-plaintext"] $crate::admin::GenerateDataKeyRequest => $crate::admin::DataKey;
            /// `sign`.
            0x0506 AsymmetricSign ["sign"] $crate::admin::SignRequest => $crate::admin::Signature;
            /// `verify`.
            0x0507 AsymmetricVerify ["verify"] $crate::admin::VerifyRequest => $crate::admin::Verified;
            /// `asymmetric-encrypt`.
            0x0508 AsymmetricEncrypt ["asymmetric-encrypt"] $crate::admin::AsymmetricEncryptRequest => $crate::admin::Encrypted;
            /// `asymmetric-decrypt`.
            0x0509 AsymmetricDecrypt ["asymmetric-decrypt"] $crate::admin::AsymmetricDecryptRequest => $crate::admin::Decrypted;
            /// `get-public-key`.
            0x050a GetPublicKey ["get-public-key"] $crate::admin::GetPublicKeyRequest => $crate::admin::PublicKeyInfo;
            /// A batch of re-encryptions (`rewrap`), one outcome per item.
            0x050b ReEncryptBatch ["rewrap"] Vec<$crate::admin::ReEncryptRequest> => Vec<$crate::admin::BatchOutcome>;
            /// `generate-and-export-data-key`: a data key under the KMS key and under the caller's RSA public key.
            0x050c GenerateAndExportDataKey ["generate-and-export-data-key"] $crate::admin::GenerateAndExportDataKeyRequest => $crate::admin::GeneratedExportedDataKey;
            /// `export-data-key`: a data key's blob, decrypted in the daemon, under the caller's RSA public key.
            0x050d ExportDataKey ["export-data-key"] $crate::admin::ExportDataKeyRequest => $crate::admin::ExportedDataKey;

            /// `cluster list`.
            0x0601 ListClusters ["cluster" "list"] () => Vec<$crate::admin::ClusterSummary>;
            /// `cluster status NAME`: every member, read now.
            0x0602 GetClusterStatus ["cluster" "status"] $crate::admin::ResourceName => $crate::admin::ClusterStatus;
            /// `cluster create NAME --members N`.
            0x0603 CreateCluster ["cluster" "create"] $crate::admin::CreateClusterRequest => $crate::admin::ClusterStatus;
            /// `cluster add-member NAME`: a new token, in sync before it serves.
            0x0604 AddClusterMember ["cluster" "add-member"] $crate::admin::ResourceName => $crate::admin::ClusterStatus;
            /// `cluster remove-member NAME --index N`.
            0x0605 RemoveClusterMember ["cluster" "remove-member"] $crate::admin::RemoveClusterMemberRequest => $crate::admin::ClusterStatus;
            /// `cluster verify NAME`: every member against the store.
            0x0606 VerifyCluster ["cluster" "verify"] $crate::admin::ResourceName => $crate::admin::ClusterVerification;
            /// `cluster resync NAME`: copy what members lack, take recovered members back.
            0x0607 ResyncCluster ["cluster" "resync"] $crate::admin::ResourceName => $crate::admin::ResyncReport;
            /// `cluster image create NAME`: a mirror image now.
            0x0608 CreateClusterImage ["cluster" "image" "create"] $crate::admin::ResourceName => $crate::admin::ImageInfo;
            /// `cluster image list [NAME]`.
            0x0609 ListClusterImages ["cluster" "image" "list"] $crate::admin::ListClusterImagesRequest => Vec<$crate::admin::ImageInfo>;
            /// `cluster restore --image ID --name NEW --members N`.
            0x060a RestoreCluster ["cluster" "restore"] $crate::admin::RestoreClusterRequest => $crate::admin::ClusterStatus;

            /// `clock show`.
            0x0701 GetClock ["clock" "show"] () => $crate::admin::ClockTime;
            /// `clock advance DURATION` (test clock only).
            0x0702 AdvanceClock ["clock" "advance"] $crate::admin::AdvanceClockRequest => $crate::admin::ClockTime;
            /// `clock set TIME` (test clock only).
            0x0703 SetClock ["clock" "set"] $crate::admin::SetClockRequest => $crate::admin::ClockTime;

            /// `connection list`: open data connections and their request counts.
            0x0801 ListConnections ["connection" "list"] () => Vec<$crate::admin::ConnectionInfo>;

            /// `secret create NAME --instance I --version-id V --secret-data ...`.
            0x0901 CreateSecret ["secret" "create"] $crate::admin::CreateSecretRequest => $crate::admin::SecretCreated;
            /// `secret put-value NAME --version-id V --secret-data ...`: a new version.
            0x0902 PutSecretValue ["secret" "put-value"] $crate::admin::PutSecretValueRequest => $crate::admin::SecretVersionPut;
            /// `secret get-value NAME [--version-id V | --version-stage S]`: a value, in clear.
            0x0903 GetSecretValue ["secret" "get-value"] $crate::admin::GetSecretValueRequest => $crate::admin::SecretValue;
            /// `secret list-version-ids NAME [--include-deprecated]`.
            0x0904 ListSecretVersionIds ["secret" "list-version-ids"] $crate::admin::ListSecretVersionIdsRequest => $crate::admin::SecretVersionList;
            /// `secret update-version-stage NAME --version-stage S`.
            0x0905 UpdateSecretVersionStage ["secret" "update-version-stage"] $crate::admin::UpdateSecretVersionStageRequest => $crate::admin::SecretNamed;
            /// `secret describe NAME [--fetch-tags]`.
            0x0906 DescribeSecret ["secret" "describe"] $crate::admin::DescribeSecretRequest => $crate::admin::SecretDescription;
            /// `secret update NAME`: description, ExtendedConfig's CustomData.
            0x0907 UpdateSecret ["secret" "update"] $crate::admin::UpdateSecretRequest => $crate::admin::SecretNamed;
            /// `secret list` with its filters, by pages.
            0x0908 ListSecrets ["secret" "list"] $crate::admin::ListSecretsRequest => $crate::admin::SecretList;
            /// `secret delete NAME`: a recovery window, or at once.
            0x0909 DeleteSecret ["secret" "delete"] $crate::admin::DeleteSecretRequest => $crate::admin::SecretDeleted;
            /// `secret restore NAME`: ends a recovery window.
            0x090a RestoreSecret ["secret" "restore"] $crate::admin::SecretRef => $crate::admin::SecretNamed;
            /// `secret update-rotation-policy NAME`.
            0x090b UpdateSecretRotationPolicy ["secret" "update-rotation-policy"] $crate::admin::UpdateSecretRotationPolicyRequest => $crate::admin::SecretNamed;
            /// `secret rotate NAME`: a new value of an Rds, RAMCredentials or ECS secret now.
            0x090c RotateSecret ["secret" "rotate"] $crate::admin::RotateSecretRequest => $crate::admin::SecretRotated;

            /// `audit lookup-events`: events of the trail, newest first, filtered.
            0x0a01 LookupEvents ["audit" "lookup-events"] $crate::admin::LookupEventsRequest => $crate::admin::LookupEventsReply;
            /// `audit verify`: the whole chain against the daemon's stored head.
            0x0a02 VerifyAudit ["audit" "verify"] () => $crate::audit::Verification;

            /// `backup create --backup-type default|retained --instance-kind K`.
            0x0b01 CreateBackup ["backup" "create"] $crate::admin::CreateBackupRequest => $crate::admin::BackupInfo;
            /// `backup enable BACKUP --instance I`: a full now, then on schedule.
            0x0b02 EnableBackup ["backup" "enable"] $crate::admin::EnableBackupRequest => $crate::admin::BackupInfo;
            /// `backup list`.
            0x0b03 ListBackups ["backup" "list"] $crate::admin::ListBackupsRequest => Vec<$crate::admin::BackupInfo>;
            /// `backup describe BACKUP`.
            0x0b04 DescribeBackup ["backup" "describe"] $crate::admin::BackupRef => $crate::admin::BackupInfo;
            /// `backup extend BACKUP --viewable-days N` (retained: never reduced).
            0x0b05 ExtendBackup ["backup" "extend"] $crate::admin::ExtendBackupRequest => $crate::admin::BackupInfo;
            /// `backup renew BACKUP --duration-days N` (retained).
            0x0b06 RenewBackup ["backup" "renew"] $crate::admin::RenewBackupRequest => $crate::admin::BackupInfo;
            /// `backup reset BACKUP`: every backed-up byte deleted, unbound, `Disabled`.
            0x0b07 ResetBackup ["backup" "reset"] $crate::admin::BackupRef => $crate::admin::BackupInfo;
            /// `backup show BACKUP --date D`: the six sets of a day.
            0x0b08 ShowBackup ["backup" "show"] $crate::admin::ShowBackupRequest => $crate::admin::BackupDay;
            /// `backup restore-key BACKUP --date D|--at T --key-id K --to-instance I`.
            0x0b09 RestoreBackupKey ["backup" "restore-key"] $crate::admin::RestoreKeyRequest => $crate::admin::RestoredKey;
            /// `backup restore-secret BACKUP --date D|--at T --secret-name S --to-instance I`.
            0x0b0a RestoreBackupSecret ["backup" "restore-secret"] $crate::admin::RestoreSecretRequest => $crate::admin::RestoredSecret;
            /// `backup download BACKUP --date D --output FILE`: the day's data as one encrypted file, made ready to fetch; its decryption key is in the reply only.
            0x0b0b DownloadBackup ["backup" "download"] $crate::admin::DownloadBackupRequest => $crate::admin::BackupDownload;
            /// `backup fetch-chunk DOWNLOAD_ID --index N`: one chunk (at most 1 MiB) of a download.
            0x0b0c FetchBackupChunk ["backup" "fetch-chunk"] $crate::admin::FetchBackupChunkRequest => $crate::admin::BackupChunk;
            /// `backup drill BACKUP`: its latest point restored into scratch objects and checked.
            0x0b0d DrillBackup ["backup" "drill"] $crate::admin::BackupRef => $crate::admin::BackupDrill;
            /// `backup upload-chunk UPLOAD_ID --index N --input FILE`: one chunk (at most 1 MiB) of a file to upload.
            0x0b0e UploadBackupChunk ["backup" "upload-chunk"] $crate::admin::UploadBackupChunkRequest => $crate::admin::UploadedChunks;
            /// `backup upload --input FILE --decryption-key KEY --name N`: the uploaded file checked whole, then an `upload` backup.
            0x0b0f UploadBackup ["backup" "upload"] $crate::admin::UploadBackupRequest => $crate::admin::BackupInfo;
            /// `backup prepare-restore --to-instance I (--key-id K | --secret-name S)`, at the destination of a restore from another daemon: the checks, and a one-time ticket with its wrapping public key.
            0x0b10 PrepareRestore ["backup" "prepare-restore"] $crate::admin::PrepareRestoreRequest => $crate::admin::RestoreTicket;
            /// `backup export-item BACKUP (--date D | --at T) (--key-id K | --secret-name S)`, at the source: the key or secret packed for a ticket, its material wrapped for the ticket's key inside an HSM.
            0x0b11 ExportBackupItem ["backup" "export-item"] $crate::admin::ExportBackupItemRequest => $crate::admin::BackupItemPackage;
            /// `backup import-item --ticket T --package FILE`, at the destination: the package checked, unwrapped into its cluster and put in place; the ticket spent.
            0x0b12 ImportBackupItem ["backup" "import-item"] $crate::admin::ImportBackupItemRequest => $crate::admin::RestoredItem;
        }
    };
}

/// Makes a marker type per operation, and [`ALL`].
macro_rules! define_operations {
    ($($(#[$doc:meta])* $opcode:literal $name:ident [$($word:literal)+] $request:ty => $reply:ty;)+) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy, Debug, PartialEq, Eq)]
            pub struct $name;

            impl Operation for $name {
                const OPCODE: super::Opcode = super::Opcode($opcode);
                const NAME: &'static str = stringify!($name);
                const COMMAND: &'static [&'static str] = &[$($word),+];
                type Request = $request;
                type Reply = $reply;
            }
        )+

        /// Every operation, in the table's order.
        pub const ALL: &[OperationInfo] = &[$(OperationInfo::of::<$name>()),+];
    };
}

crate::admin_operations!(define_operations);

/// The operation with this opcode.
pub fn find(opcode: super::Opcode) -> Option<&'static OperationInfo> {
    ALL.iter().find(|info| info.opcode == opcode)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn opcodes_names_and_commands_are_unique() {
        let mut opcodes = HashSet::new();
        let mut names = HashSet::new();
        let mut commands = HashSet::new();
        for info in ALL {
            assert!(opcodes.insert(info.opcode), "opcode {} twice", info.opcode);
            assert!(names.insert(info.name), "{} twice", info.name);
            assert!(commands.insert(info.command), "{:?} twice", info.command);
        }
    }

    #[test]
    fn opcodes_stay_in_their_groups_and_in_order() {
        let mut previous = 0;
        for info in ALL {
            assert!(info.opcode.0 > previous, "{} is not after {previous:#06x}", info.opcode);
            assert_ne!(info.opcode.0 & 0xff, 0, "{}: the low byte numbers operations from 1", info.name);
            previous = info.opcode.0;
        }
        assert_eq!(find(super::super::Opcode(0x0302)).map(|i| i.name), Some("DescribeKey"));
        assert!(find(super::super::Opcode(0x0300)).is_none());
    }

    #[test]
    fn the_wire_document_lists_every_operation() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/wire.md");
        let document = std::fs::read_to_string(path).expect("docs/wire.md");
        let rows: Vec<&str> = document.lines().filter(|l| l.starts_with("| 0x")).collect();
        for info in ALL {
            let row = format!("| {} | `{}` | `{}` |", info.opcode, info.name, info.command_line());
            assert!(rows.iter().any(|r| r.starts_with(&row)), "docs/wire.md §11 lacks the row {row}");
        }
        assert_eq!(rows.len(), ALL.len(), "docs/wire.md §11 lists operations proto does not have");
    }
}
