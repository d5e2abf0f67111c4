//! Sample values of the admin plane's types, one per type: instances,
//! apps, keys and their cryptography, aliases, clusters, the clock, secrets,
//! the audit trail and connections.

use p11kms_proto::admin::*;
use p11kms_proto::blob::EncryptionContext;
use p11kms_proto::error::{ApiError, ErrorCode};
use p11kms_proto::{SecretBytes, SecretString, Timestamp};

use super::{Sample, context, tag};

sample! {
    ResourceName => ResourceName { name: "hsm1".into() };
    CreateInstanceRequest => CreateInstanceRequest { name: "pay".into(), kind: InstanceKind::Software, cluster: "c2".into() };
    AttachClusterRequest => AttachClusterRequest { instance: "hsm1".into(), cluster: "c2".into(), force: true };
    DeleteInstanceRequest => DeleteInstanceRequest { name: "pay".into(), force: true };
    CreateAppRequest => CreateAppRequest {
        name: "web".into(),
        instance: "hsm1".into(),
        policy: Some(r#"{"Version":"1","Statement":[]}"#.into()),
    };
    UpdateAppPolicyRequest => UpdateAppPolicyRequest { name: "web".into(), policy: r#"{"Version":"1","Statement":[]}"#.into() };
    LookupEventsRequest => LookupEventsRequest {
        event_name: Some("Encrypt".into()),
        resource: Some("alias/orders".into()),
        caller: Some("web".into()),
        start_time: Some(Timestamp(1_700_000_000)),
        end_time: None,
        max_results: Some(10),
        next_token: Some("42".into()),
    };
    LookupEventsReply => LookupEventsReply { events: vec![r#"{"EventName":"Encrypt"}"#.into()], next_token: Some("41".into()) };
    p11kms_proto::audit::Verification => p11kms_proto::audit::Verification {
        files: 2,
        records: 9,
        first_seq: 1,
        last: p11kms_proto::audit::Head { seq: 9, hash: [7; 32] },
        problem: Some(p11kms_proto::audit::Problem::Removed {
            place: p11kms_proto::audit::Place { file: "2026-12-06.jsonl".into(), line: 3 },
            from_seq: 10,
            to_seq: 10,
        }),
    };
    KeyRef => KeyRef { key: "alias/orders".into() };
    KeyVersionRef => KeyVersionRef { key: "k-1".into(), key_version_id: "v-1".into() };
    CreateKeyRequest => CreateKeyRequest {
        instance: "hsm1".into(),
        key_spec: KeySpec::Rsa3072,
        key_usage: Some(KeyUsage::SignVerify),
        description: "d".into(),
        alias: Some("alias/x".into()),
        origin: Origin::External,
        tags: vec![tag()],
        enable_automatic_rotation: true,
        rotation_interval: Some(604_800),
        deletion_protection: true,
    };
    ListKeysRequest => ListKeysRequest {
        instance: Some("hsm1".into()),
        key_state: Some(KeyState::Disabled),
        key_spec: Some(KeySpec::Aes128),
        alias: Some("alias/x".into()),
    };
    ScheduleKeyDeletionRequest => ScheduleKeyDeletionRequest { key: "k-1".into(), pending_window_in_days: 7 };
    SetDeletionProtectionRequest => SetDeletionProtectionRequest { key: "k-1".into(), enable_deletion_protection: true };
    UpdateRotationPolicyRequest => UpdateRotationPolicyRequest {
        key: "k-1".into(),
        enable_automatic_rotation: true,
        rotation_interval: Some(2_592_000),
    };
    TagResourceRequest => TagResourceRequest { resource: TaggedResource::Key("k-1".into()), tags: vec![tag()] };
    UntagResourceRequest => UntagResourceRequest {
        resource: TaggedResource::Secret("db".into()),
        tag_keys: vec!["team".into()],
    };
    GetParametersForImportRequest => GetParametersForImportRequest {
        key: "k-1".into(),
        wrapping_algorithm: WrappingAlgorithm::RsaesOaepSha1,
        wrapping_key_spec: WrappingKeySpec::Rsa2048,
    };
    ImportKeyMaterialRequest => ImportKeyMaterialRequest {
        key: "k-1".into(),
        import_token: "t".into(),
        encrypted_key_material: vec![1, 2, 3],
        key_material_expire_unix: Some(2_000_000_000),
    };
    AliasRequest => AliasRequest { alias: "alias/a".into(), key: "k-1".into() };
    AliasRef => AliasRef { alias: "alias/a".into() };
    ListAliasesRequest => ListAliasesRequest { key: Some("k-1".into()) };
    EncryptRequest => EncryptRequest { key: "k-1".into(), plaintext: SecretBytes::from("p"), encryption_context: context() };
    DecryptRequest => DecryptRequest { ciphertext_blob: vec![9, 8], encryption_context: context() };
    ReEncryptRequest => ReEncryptRequest {
        ciphertext_blob: vec![1, 2, 3],
        destination_key: Some("alias/new".into()),
        source_encryption_context: context(),
        destination_encryption_context: EncryptionContext::new(),
    };
    GenerateDataKeyRequest => GenerateDataKeyRequest {
        key: "k-1".into(),
        key_spec: Some(DataKeySpec::Aes128),
        number_of_bytes: Some(64),
        encryption_context: context(),
    };
    GenerateAndExportDataKeyRequest => GenerateAndExportDataKeyRequest {
        key: "k-1".into(),
        key_spec: Some(DataKeySpec::Aes256),
        number_of_bytes: Some(48),
        encryption_context: context(),
        public_key_blob: vec![0x30, 0x82],
        wrapping_algorithm: WrappingAlgorithm::RsaesPkcs1V15,
        wrapping_key_spec: ExportWrappingKeySpec::Rsa3072,
    };
    ExportDataKeyRequest => ExportDataKeyRequest {
        ciphertext_blob: vec![5, 6],
        encryption_context: context(),
        public_key_blob: vec![0x30, 0x81],
        wrapping_algorithm: WrappingAlgorithm::RsaesOaepSha256,
        wrapping_key_spec: ExportWrappingKeySpec::Rsa4096,
    };
    SignRequest => SignRequest {
        key: "k-1".into(),
        key_version_id: "v-1".into(),
        algorithm: SigningAlgorithm::EcdsaSha256,
        digest: vec![3; 4],
    };
    VerifyRequest => VerifyRequest {
        key: "k-1".into(),
        key_version_id: "v-1".into(),
        algorithm: SigningAlgorithm::RsaPssSha256,
        digest: vec![3; 4],
        value: vec![4; 2],
    };
    AsymmetricEncryptRequest => AsymmetricEncryptRequest {
        key: "k-1".into(),
        key_version_id: "v-1".into(),
        algorithm: AsymmetricAlgorithm::RsaesOaepSha256,
        plaintext: SecretBytes::from("p"),
    };
    AsymmetricDecryptRequest => AsymmetricDecryptRequest {
        key: "k-1".into(),
        key_version_id: "v-1".into(),
        algorithm: AsymmetricAlgorithm::RsaesOaepSha1,
        ciphertext_blob: vec![5; 3],
    };
    GetPublicKeyRequest => GetPublicKeyRequest { key: "k-1".into(), key_version_id: Some("v-1".into()) };
    CreateClusterRequest => CreateClusterRequest { name: "c2".into(), members: 3 };
    RemoveClusterMemberRequest => RemoveClusterMemberRequest { name: "c2".into(), index: 2 };
    ListClusterImagesRequest => ListClusterImagesRequest { name: Some("c2".into()) };
    RestoreClusterRequest => RestoreClusterRequest { image_id: "img-1".into(), name: "c3".into(), members: 2 };
    AdvanceClockRequest => AdvanceClockRequest { seconds: 86_400 };
    SetClockRequest => SetClockRequest { time: Timestamp(1_800_000_000) };
    SecretRef => SecretRef { secret_name: "db".into() };
    CreateSecretRequest => CreateSecretRequest {
        secret_name: "db".into(),
        instance: "hsm1".into(),
        secret_data: SecretString::new("pw".into()),
        secret_data_type: SecretDataType::Binary,
        version_id: "v1".into(),
        encryption_key_id: Some("k-1".into()),
        description: "d".into(),
        tags: vec![tag()],
        secret_type: SecretType::Rds,
        extended_config: Some("{}".into()),
        enable_automatic_rotation: true,
        rotation_interval: Some(21_600),
    };
    PutSecretValueRequest => PutSecretValueRequest {
        secret_name: "db".into(),
        version_id: "v2".into(),
        secret_data: SecretString::new("pw".into()),
        secret_data_type: SecretDataType::Text,
        version_stages: Some(vec!["ACSCurrent".into()]),
    };
    GetSecretValueRequest => GetSecretValueRequest {
        secret_name: "db".into(),
        version_id: Some("v1".into()),
        version_stage: Some("ACSPrevious".into()),
        fetch_extended_config: true,
    };
    ListSecretVersionIdsRequest => ListSecretVersionIdsRequest {
        secret_name: "db".into(),
        include_deprecated: true,
        page_number: Some(2),
        page_size: Some(20),
    };
    UpdateSecretVersionStageRequest => UpdateSecretVersionStageRequest {
        secret_name: "db".into(),
        version_stage: "ACSCurrent".into(),
        remove_from_version: Some("v1".into()),
        move_to_version: Some("v2".into()),
    };
    DescribeSecretRequest => DescribeSecretRequest { secret_name: "db".into(), fetch_tags: true };
    UpdateSecretRequest => UpdateSecretRequest {
        secret_name: "db".into(),
        description: Some("d".into()),
        extended_config_custom_data: Some("{}".into()),
    };
    ListSecretsRequest => ListSecretsRequest {
        instance: Some("hsm1".into()),
        fetch_tags: true,
        filters: vec![SecretFilter { key: "SecretName".into(), values: vec!["db".into()] }],
        page_number: Some(1),
        page_size: Some(50),
    };
    DeleteSecretRequest => DeleteSecretRequest {
        secret_name: "db".into(),
        recovery_window_in_days: Some(7),
        force_delete_without_recovery: true,
    };
    UpdateSecretRotationPolicyRequest => UpdateSecretRotationPolicyRequest {
        secret_name: "db".into(),
        enable_automatic_rotation: true,
        rotation_interval: Some(86_400),
    };
    RotateSecretRequest => RotateSecretRequest { secret_name: "db".into(), version_id: Some("v3".into()) };

    InstanceInfo => InstanceInfo {
        name: "hsm1".into(),
        slot_id: 2,
        kind: InstanceKind::Hardware,
        cluster: Some("hsm1".into()),
        key_quota: 1000,
        key_count: 1,
        key_version_count: 3,
        creation_date: Timestamp(1_700_000_000),
        secret_quota: 500,
        secret_count: 4,
        region: "local".into(),
    };
    AppCreated => AppCreated { app_name: "web".into(), instance: "hsm1".into(), pin: SecretString::new("pin".into()) };
    AppInfo => AppInfo {
        app_name: "web".into(),
        instance: "hsm1".into(),
        creation_date: Timestamp(1_700_000_001),
        failed_logins: 2,
        locked_until: Some(Timestamp(1_700_000_300)),
        policy: r#"{"Version":"1","Statement":[]}"#.into(),
    };
    KeyMetadata => KeyMetadata {
        arn: "acs:kms:local:hsm1:key/k-1".into(),
        automatic_rotation: AutomaticRotation::Suspended,
        creation_date: Timestamp(1_700_000_000),
        creator: "admin:0".into(),
        delete_date: Some(Timestamp(1_700_600_000)),
        deletion_protection: DeletionProtection::Enabled,
        description: "d".into(),
        instance: "hsm1".into(),
        key_id: "k-1".into(),
        key_spec: KeySpec::EcP256,
        key_state: KeyState::PendingDeletion,
        key_usage: KeyUsage::SignVerify,
        last_rotation_date: Timestamp(1_700_000_000),
        material_expire_time: Some(Timestamp(1_800_000_000)),
        next_rotation_date: Some(Timestamp(1_700_604_800)),
        origin: Origin::AliyunKms,
        primary_key_version: "v-1".into(),
        protection_level: ProtectionLevel::Hsm,
        rotation_interval: Some("604800s".into()),
        last_rotation_failure: Some(RotationFailure {
            time: Timestamp(1_700_604_801),
            code: "Rejected.LimitExceeded".into(),
            message: "quota".into(),
        }),
        key_manager_type: KeyManagerType::ServiceKey,
        migrated: Some(KeyMigrationOrigin {
            from_instance: "default".into(),
            migration_date: Timestamp(1_700_700_000),
            task_id: "mt-1".into(),
        }),
    };
    KeyDescription => KeyDescription {
        key_metadata: KeyMetadata::sample(),
        aliases: vec!["alias/x".into()],
        tags: vec![tag()],
        pkcs11_id: "ab".into(),
        lost_key_versions: vec!["v-0".into()],
        used_with_export_operations: vec![ExportOperation::ReEncrypt, ExportOperation::GenerateAndExportDataKey],
        pkcs11_allowed_mechanisms: vec!["CKM_AES_GCM".into()],
    };
    KeyList => KeyList { keys: vec![KeyDescription::sample()], total_count: 1 };
    KeyVersionInfo => KeyVersionInfo {
        key_id: "k-1".into(),
        key_version_id: "v-1".into(),
        creation_date: Timestamp(3),
        lost_date: Some(Timestamp(6)),
    };
    ImportParameters => ImportParameters {
        key_id: "k-1".into(),
        import_token: "t".into(),
        public_key: "pem".into(),
        token_expire_time: Timestamp(7),
    };
    AliasInfo => AliasInfo { alias_name: "alias/a".into(), alias_arn: "arn".into(), key_id: "k-1".into() };
    Encrypted => Encrypted { key_id: "k-1".into(), key_version_id: "v-1".into(), ciphertext_blob: vec![1, 2] };
    Decrypted => Decrypted { key_id: "k-1".into(), key_version_id: "v-1".into(), plaintext: SecretBytes::from("p") };
    ReEncrypted => ReEncrypted {
        source_key_id: "k-1".into(),
        source_key_version_id: "v-1".into(),
        key_id: "k-2".into(),
        key_version_id: "v-2".into(),
        ciphertext_blob: vec![7],
    };
    BatchOutcome => BatchOutcome::Failed(ApiError::new(ErrorCode::InvalidCiphertext, "bad blob"));
    DataKey => DataKey {
        key_id: "k-1".into(),
        key_version_id: "v-1".into(),
        ciphertext_blob: vec![1],
        plaintext: Some(SecretBytes::from("dk")),
    };
    GeneratedExportedDataKey => GeneratedExportedDataKey {
        key_id: "k-1".into(),
        key_version_id: "v-1".into(),
        ciphertext_blob: vec![1],
        exported_data_key: vec![2, 3],
    };
    ExportedDataKey => ExportedDataKey { exported_data_key: vec![4, 5], key_id: "k-1".into(), key_version_id: "v-1".into() };
    Signature => Signature { key_id: "k-1".into(), key_version_id: "v-1".into(), value: vec![9; 3] };
    Verified => Verified { key_id: "k-1".into(), key_version_id: "v-1".into(), value: true };
    PublicKeyInfo => PublicKeyInfo { key_id: "k-1".into(), key_version_id: "v-1".into(), public_key: "pem".into() };
    ClusterSummary => ClusterSummary {
        cluster_name: "hsm1".into(),
        member_count: 3,
        instances: vec!["hsm1".into()],
        creation_date: Timestamp(4),
    };
    MemberStatus => MemberStatus {
        index: 1,
        token_label: "hsm1-1".into(),
        serial: "abc".into(),
        module: "/usr/lib/softhsm/libsofthsm2.so".into(),
        role: MemberRole::Mirror,
        health: MemberHealth::Unreachable,
        in_sync: true,
        object_count: 2,
        missing_versions: 1,
        last_sync: Some(Timestamp(4)),
        unexpected_objects: 3,
        orphans: 4,
    };
    ClusterStatus => ClusterStatus {
        cluster_name: "hsm1".into(),
        expected_objects: 2,
        members: vec![MemberStatus::sample()],
        checked_at: Timestamp(5),
    };
    MemberDifferences => MemberDifferences {
        index: 1,
        token_label: "hsm1-1".into(),
        role: MemberRole::Mirror,
        health: MemberHealth::OutOfService,
        missing: vec!["k-1/v-1".into()],
        unexpected: vec!["u".into()],
        orphans: vec!["o".into()],
    };
    ClusterVerification => ClusterVerification {
        cluster_name: "hsm1".into(),
        expected_versions: 3,
        consistent: false,
        members: vec![MemberDifferences::sample()],
    };
    ResyncReport => ResyncReport {
        cluster_name: "hsm1".into(),
        copied: 1,
        failed: 2,
        recovered: vec!["hsm1-2".into()],
        promoted: Some("hsm1-1".into()),
        orphans_destroyed: vec!["k-9/v-9".into()],
        unheld: vec!["k-8/v-8".into()],
        out_of_service: vec!["hsm1-0".into()],
    };
    ImageInfo => ImageInfo {
        image_id: "img-1".into(),
        cluster_name: "hsm1".into(),
        creation_date: Timestamp(5),
        versions: 2,
        sha256: "00".into(),
        intact: false,
        damage: Some("bad MAC".into()),
        format: 2,
    };
    ClockTime => ClockTime { now: Timestamp(8), manual: true };
    SecretNamed => SecretNamed { secret_name: "db".into() };
    SecretCreated => SecretCreated {
        arn: "acs:kms:local:hsm1:secret/db".into(),
        version_id: "v1".into(),
        secret_name: "db".into(),
        secret_type: SecretType::RamCredentials,
        automatic_rotation: AutomaticRotation::Enabled,
        rotation_interval: Some("86400s".into()),
        next_rotation_date: Some(Timestamp(10)),
        instance: "hsm1".into(),
    };
    SecretVersionPut => SecretVersionPut {
        secret_name: "db".into(),
        version_id: "v2".into(),
        version_stages: vec!["ACSCurrent".into()],
    };
    SecretValue => SecretValue {
        secret_name: "db".into(),
        version_id: "v2".into(),
        create_time: Timestamp(11),
        secret_data: SecretString::new("pw".into()),
        secret_data_type: SecretDataType::Text,
        version_stages: vec!["ACSCurrent".into()],
        secret_type: SecretType::Ecs,
        extended_config: Some("{}".into()),
        automatic_rotation: AutomaticRotation::Disabled,
        rotation_interval: Some("86400s".into()),
        last_rotation_date: Some(Timestamp(12)),
        next_rotation_date: Some(Timestamp(13)),
    };
    SecretVersionInfo => SecretVersionInfo {
        version_id: "v1".into(),
        create_time: Timestamp(14),
        version_stages: vec!["ACSPrevious".into()],
    };
    SecretVersionList => SecretVersionList {
        secret_name: "db".into(),
        version_ids: vec![SecretVersionInfo::sample()],
        page_number: 1,
        page_size: 10,
        total_count: 1,
    };
    SecretDescription => SecretDescription {
        arn: "acs:kms:local:hsm1:secret/db".into(),
        automatic_rotation: AutomaticRotation::Suspended,
        create_time: Timestamp(15),
        description: "d".into(),
        encryption_key_id: "k-1".into(),
        extended_config: Some("{}".into()),
        last_rotation_date: Some(Timestamp(16)),
        next_rotation_date: Some(Timestamp(17)),
        planned_delete_time: Some(Timestamp(18)),
        rotation_interval: Some("86400s".into()),
        secret_name: "db".into(),
        secret_type: SecretType::Rds,
        update_time: Timestamp(19),
        instance: "hsm1".into(),
        tags: Some(vec![tag()]),
        last_rotation_failure: Some(RotationFailure {
            time: Timestamp(20),
            code: "Rejected.Disabled".into(),
            message: "disabled".into(),
        }),
    };
    SecretListEntry => SecretListEntry {
        secret_name: "db".into(),
        create_time: Timestamp(21),
        update_time: Timestamp(22),
        planned_delete_time: Some(Timestamp(23)),
        secret_type: SecretType::Generic,
        instance: "hsm1".into(),
        tags: Some(vec![tag()]),
    };
    SecretList => SecretList {
        secret_list: vec![SecretListEntry::sample()],
        page_number: 1,
        page_size: 10,
        total_count: 1,
    };
    SecretDeleted => SecretDeleted { secret_name: "db".into(), planned_delete_time: Some(Timestamp(24)) };
    SecretRotated => SecretRotated {
        arn: "acs:kms:local:hsm1:secret/db".into(),
        secret_name: "db".into(),
        version_id: "v3".into(),
    };
    ConnectionInfo => ConnectionInfo { connection_id: 3, uid: 1000, pid: Some(4242), opened: Timestamp(9), requests: 17 };
}
