//! The admin plane: the KMS API that `p11kms` drives over the admin socket.
//!
//! Each call is one API operation, defined once in [`op`] with its
//! opcode, its request and its reply ([`operation`] says how they travel).
//! Replies are the response shapes the spec documents, with its field
//! names (serde renames them to PascalCase for the CLI's `--json`); a
//! refusal is an [`ApiError`] carrying the spec's error code.

mod names;

pub mod alias;
pub mod app;
pub mod audit;
pub mod backup;
pub mod backup_file;
pub mod backup_peer;
pub mod clock;
pub mod cluster;
pub mod connection;
pub mod crypto;
pub mod import;
pub mod instance;
pub mod key;
pub mod migration;
pub mod op;
pub mod operation;
pub mod secret;

use serde::{Deserialize, Serialize};

pub use alias::{AliasInfo, AliasRef, AliasRequest, ListAliasesRequest};
pub use app::{AppCreated, AppInfo, CreateAppRequest, UpdateAppPolicyRequest};
pub use audit::{LookupEventsReply, LookupEventsRequest};
pub use backup::{
    BackedUpKey, BackedUpSecret, BackupDay, BackupDrill, BackupInfo, BackupRef, BackupStatus, BackupType,
    CreateBackupRequest, EnableBackupRequest, ExtendBackupRequest, ListBackupsRequest, RenewBackupRequest,
    RestoreKeyRequest, RestoreSecretRequest, RestoredKey, RestoredSecret, ShowBackupRequest,
};
pub use backup_file::{
    BackupChunk, BackupDownload, DownloadBackupRequest, FetchBackupChunkRequest, UploadBackupChunkRequest,
    UploadBackupRequest, UploadedChunks,
};
pub use backup_peer::{
    BackupItemPackage, ExportBackupItemRequest, ImportBackupItemRequest, PrepareRestoreRequest, RestoreTicket,
    RestoredItem,
};
pub use clock::{AdvanceClockRequest, ClockTime, SetClockRequest};
pub use connection::ConnectionInfo;
pub use crypto::{
    AsymmetricAlgorithm, AsymmetricDecryptRequest, AsymmetricEncryptRequest, BatchOutcome, DataKey, DataKeySpec,
    DecryptRequest, Decrypted, EncryptRequest, Encrypted, ExportDataKeyRequest, ExportWrappingKeySpec, ExportedDataKey,
    GenerateAndExportDataKeyRequest, GenerateDataKeyRequest, GeneratedExportedDataKey, GetPublicKeyRequest,
    PublicKeyInfo, ReEncryptRequest, ReEncrypted, SignRequest, Signature, SigningAlgorithm, Verified, VerifyRequest,
};
pub use import::{
    GetParametersForImportRequest, ImportKeyMaterialRequest, ImportParameters, WrappingAlgorithm, WrappingKeySpec,
};
pub use migration::{
    CheckKeyMigrationRequest, KeyMigrationCheck, KeyMigrationChecks, KeyMigrationOrigin, KeyMigrationTask,
    ListKeyMigrationsRequest, MigrateKeyRequest, MigrationBlocker, MigrationReason, MigrationStatus, MigrationTaskRef,
};
pub use operation::{Opcode, Operation, OperationInfo};

pub use cluster::{
    ClusterStatus, ClusterSummary, ClusterVerification, CreateClusterRequest, ImageInfo, ListClusterImagesRequest,
    MemberDifferences, MemberHealth, MemberRole, MemberStatus, RemoveClusterMemberRequest, RestoreClusterRequest,
    ResyncReport,
};
pub use instance::{AttachClusterRequest, CreateInstanceRequest, DeleteInstanceRequest, InstanceInfo, InstanceKind};
pub use key::{
    AutomaticRotation, CreateKeyRequest, DeletionProtection, ExportOperation, KeyDescription, KeyList, KeyManagerType,
    KeyMetadata, KeyRef, KeySpec, KeyState, KeyUsage, KeyVersionInfo, KeyVersionRef, ListKeysRequest, Origin,
    ProtectionLevel, RotationFailure, ScheduleKeyDeletionRequest, SetDeletionProtectionRequest, Tag,
    TagResourceRequest, TaggedResource, UntagResourceRequest, UpdateRotationPolicyRequest,
};
pub use secret::{
    CreateSecretRequest, DeleteSecretRequest, DescribeSecretRequest, GetSecretValueRequest,
    ListSecretVersionIdsRequest, ListSecretsRequest, PutSecretValueRequest, RotateSecretRequest, SecretCreated,
    SecretDataType, SecretDeleted, SecretDescription, SecretFilter, SecretList, SecretListEntry, SecretNamed,
    SecretRef, SecretRotated, SecretType, SecretValue, SecretVersionInfo, SecretVersionList, SecretVersionPut,
    UpdateSecretRequest, UpdateSecretRotationPolicyRequest, UpdateSecretVersionStageRequest,
};

/// An instance, app or cluster, by name: the request of the operations
/// that name one of them and nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceName {
    /// Its name.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SecretBytes, Timestamp};

    fn tag() -> Tag {
        Tag { tag_key: "team".into(), tag_value: "payments".into() }
    }

    fn encrypted() -> Encrypted {
        Encrypted { key_id: "k".into(), key_version_id: "v".into(), ciphertext_blob: vec![1, 2] }
    }

    fn decrypted() -> Decrypted {
        Decrypted { key_id: "k".into(), key_version_id: "v".into(), plaintext: SecretBytes::from("p") }
    }

    fn metadata() -> KeyMetadata {
        KeyMetadata {
            arn: "acs:kms:local:hsm1:key/key-1".into(),
            automatic_rotation: AutomaticRotation::Disabled,
            creation_date: Timestamp(1_700_000_000),
            creator: "admin:0".into(),
            delete_date: None,
            deletion_protection: DeletionProtection::Disabled,
            description: "d".into(),
            instance: "hsm1".into(),
            key_id: "key-1".into(),
            key_spec: KeySpec::EcP256,
            key_state: KeyState::Enabled,
            key_usage: KeyUsage::SignVerify,
            last_rotation_date: Timestamp(1_700_000_000),
            material_expire_time: None,
            next_rotation_date: Some(Timestamp(1_700_600_000)),
            origin: Origin::AliyunKms,
            primary_key_version: "v-1".into(),
            protection_level: ProtectionLevel::Hsm,
            rotation_interval: Some("604800s".into()),
            last_rotation_failure: None,
            key_manager_type: KeyManagerType::ServiceKey,
            migrated: None,
        }
    }

    #[test]
    fn byte_fields_are_base64_in_json() {
        let json = serde_json::to_value(decrypted()).expect("json");
        assert_eq!(json["Plaintext"], "cA==");
        let json = serde_json::to_value(encrypted()).expect("json");
        assert_eq!(json["CiphertextBlob"], "AQI=");
    }

    #[test]
    fn json_uses_the_spec_field_names() {
        let json = serde_json::to_value(KeyDescription {
            key_metadata: metadata(),
            aliases: vec![],
            tags: vec![tag()],
            pkcs11_id: "ab".repeat(16),
            lost_key_versions: vec![],
            used_with_export_operations: vec![ExportOperation::ReEncrypt],
            pkcs11_allowed_mechanisms: vec![],
        })
        .expect("json");
        assert_eq!(json["Pkcs11Id"], "ab".repeat(16));
        let meta = &json["KeyMetadata"];
        assert_eq!(meta["KeyId"], "key-1");
        assert_eq!(meta["KeySpec"], "EC_P256");
        assert_eq!(meta["KeyUsage"], "SIGN/VERIFY");
        assert_eq!(meta["Origin"], "Aliyun_KMS");
        assert_eq!(meta["ProtectionLevel"], "HSM");
        assert_eq!(meta["DKMSInstanceId"], "hsm1");
        assert_eq!(meta["CreationDate"], "2023-11-14T22:13:20Z");
        assert_eq!(meta["PrimaryKeyVersion"], "v-1");
        assert!(meta["DeleteDate"].is_null());
        assert_eq!(meta["KeyManagerType"], "Service Key");
        assert_eq!(json["Tags"][0]["TagKey"], "team");
        assert_eq!(json["UsedWithExportOperations"], serde_json::json!(["ReEncrypt"]));
    }

    #[test]
    fn exported_data_keys_are_base64_under_the_api_names() {
        let generated = GeneratedExportedDataKey {
            key_id: "k".into(),
            key_version_id: "v".into(),
            ciphertext_blob: vec![1],
            exported_data_key: vec![2],
        };
        assert_eq!(
            serde_json::to_value(generated).expect("json"),
            serde_json::json!({"KeyId": "k", "KeyVersionId": "v", "CiphertextBlob": "AQ==", "ExportedDataKey": "Ag=="})
        );
        let exported = ExportedDataKey { exported_data_key: vec![3], key_id: "k".into(), key_version_id: "v".into() };
        assert_eq!(
            serde_json::to_value(exported).expect("json"),
            serde_json::json!({"ExportedDataKey": "Aw==", "KeyId": "k", "KeyVersionId": "v"})
        );
        assert_eq!(ExportWrappingKeySpec::Rsa3072.modulus_bits(), 3072);
        assert_eq!("rsa_4096".parse::<ExportWrappingKeySpec>(), Ok(ExportWrappingKeySpec::Rsa4096));
    }
}
