//! The admin plane: the KMS API that `p11kms` drives over the admin socket.
//!
//! Each request is one API operation; each answer is the response shape the
//! spec documents, with its field names (serde renames them to PascalCase for
//! the CLI's `--json`), or an [`ApiError`] carrying the spec's error code.

mod names;

pub mod alias;
pub mod app;
pub mod clock;
pub mod cluster;
pub mod connection;
pub mod crypto;
pub mod import;
pub mod instance;
pub mod key;

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub use alias::AliasInfo;
pub use app::{AppCreated, AppInfo};
pub use clock::ClockTime;
pub use connection::ConnectionInfo;
pub use crypto::{
    AsymmetricAlgorithm, AsymmetricDecryptRequest, AsymmetricEncryptRequest, BatchOutcome, DataKey, DataKeySpec,
    DecryptRequest, Decrypted, EncryptRequest, Encrypted, GenerateDataKeyRequest, PublicKeyInfo, ReEncryptRequest,
    ReEncrypted, SignRequest, Signature, SigningAlgorithm, Verified, VerifyRequest,
};
pub use import::{ImportKeyMaterial, ImportParameters, WrappingAlgorithm, WrappingKeySpec};

pub use cluster::{
    ClusterStatus, ClusterSummary, ClusterVerification, ImageInfo, MemberDifferences, MemberHealth, MemberRole,
    MemberStatus, ResyncReport,
};
pub use instance::{InstanceInfo, InstanceKind};
pub use key::{
    AutomaticRotation, CreateKey, DeletionProtection, KeyDescription, KeyList, KeyMetadata, KeySpec, KeyState,
    KeyUsage, KeyVersionInfo, ListKeys, Origin, ProtectionLevel, Tag, UpdateRotationPolicy,
};

/// A request from the operator's CLI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminRequest {
    /// `instance list`.
    InstanceList,
    /// `instance describe NAME`.
    InstanceDescribe {
        /// Instance name.
        name: String,
    },
    /// `app create NAME --instance I`.
    AppCreate {
        /// New app's name.
        name: String,
        /// Instance it may use.
        instance: String,
    },
    /// `app list`.
    AppList,
    /// `app describe NAME`.
    AppDescribe {
        /// App name.
        name: String,
    },
    /// `app delete NAME`.
    AppDelete {
        /// App name.
        name: String,
    },
    /// `key create`.
    KeyCreate(CreateKey),
    /// `key describe KEY` (id or alias).
    KeyDescribe {
        /// Key id or alias.
        key: String,
    },
    /// `key list`.
    KeyList(ListKeys),
    /// `key list-versions KEY`.
    KeyListVersions {
        /// Key id or alias.
        key: String,
    },
    /// `cluster list`.
    ClusterList,
    /// `cluster status NAME`.
    ClusterStatus {
        /// Cluster name.
        name: String,
    },
    /// `key enable KEY`.
    KeyEnable {
        /// Key id or alias.
        key: String,
    },
    /// `key disable KEY`.
    KeyDisable {
        /// Key id or alias.
        key: String,
    },
    /// `key schedule-deletion KEY --pending-window-in-days N`.
    KeyScheduleDeletion {
        /// Key id or alias.
        key: String,
        /// Days until the key is destroyed (7 to 366).
        pending_window_in_days: u32,
    },
    /// `key cancel-deletion KEY`.
    KeyCancelDeletion {
        /// Key id or alias.
        key: String,
    },
    /// `key set-deletion-protection KEY`.
    KeySetDeletionProtection {
        /// Key id or alias.
        key: String,
        /// Protect (true) or unprotect (false).
        enable_deletion_protection: bool,
    },
    /// `key create-version KEY`: manual rotation.
    KeyCreateVersion {
        /// Key id or alias.
        key: String,
    },
    /// `key describe-version KEY --key-version-id V`.
    KeyDescribeVersion {
        /// Key id or alias.
        key: String,
        /// The version.
        key_version_id: String,
    },
    /// `key update-rotation-policy`.
    KeyUpdateRotationPolicy(UpdateRotationPolicy),
    /// `key tag KEY --tag K=V ...`.
    KeyTag {
        /// Key id or alias.
        key: String,
        /// Tags to add or overwrite.
        tags: Vec<Tag>,
    },
    /// `key untag KEY --tag-key K ...`.
    KeyUntag {
        /// Key id or alias.
        key: String,
        /// Tag keys to remove.
        tag_keys: Vec<String>,
    },
    /// `key get-parameters-for-import KEY`.
    KeyGetParametersForImport {
        /// Key id or alias.
        key: String,
        /// How the material will be wrapped.
        wrapping_algorithm: WrappingAlgorithm,
        /// The wrapping key's kind.
        wrapping_key_spec: WrappingKeySpec,
    },
    /// `key import-key-material KEY`.
    KeyImportKeyMaterial(ImportKeyMaterial),
    /// `key delete-key-material KEY`.
    KeyDeleteKeyMaterial {
        /// Key id or alias.
        key: String,
    },
    /// `alias create ALIAS --key-id KEY`.
    AliasCreate {
        /// `alias/...`.
        alias: String,
        /// Key id or alias of the key.
        key: String,
    },
    /// `alias update ALIAS --key-id KEY`.
    AliasUpdate {
        /// `alias/...`.
        alias: String,
        /// The key it names from now on.
        key: String,
    },
    /// `alias delete ALIAS`.
    AliasDelete {
        /// `alias/...`.
        alias: String,
    },
    /// `alias list [--key-id KEY]`.
    AliasList {
        /// Only this key's aliases.
        key: Option<String>,
    },
    /// `encrypt`.
    Encrypt(EncryptRequest),
    /// `decrypt`.
    Decrypt(DecryptRequest),
    /// `re-encrypt`.
    ReEncrypt(ReEncryptRequest),
    /// A batch of `re-encrypt`s (`rewrap`).
    ReEncryptBatch(Vec<ReEncryptRequest>),
    /// `generate-data-key` and `generate-data-key-without-plaintext`.
    GenerateDataKey(GenerateDataKeyRequest),
    /// `sign`.
    Sign(SignRequest),
    /// `verify`.
    Verify(VerifyRequest),
    /// `asymmetric-encrypt`.
    AsymmetricEncrypt(AsymmetricEncryptRequest),
    /// `asymmetric-decrypt`.
    AsymmetricDecrypt(AsymmetricDecryptRequest),
    /// `get-public-key`.
    GetPublicKey {
        /// Key id or alias.
        key: String,
        /// The version; the primary when absent.
        key_version_id: Option<String>,
    },
    /// `clock show`.
    ClockShow,
    /// `clock advance DURATION` (test clock only).
    ClockAdvance {
        /// Seconds to move forward.
        seconds: i64,
    },
    /// `clock set TIME` (test clock only).
    ClockSet {
        /// The new time.
        time: crate::Timestamp,
    },
    /// `connection list`: open data connections and their request counts.
    ConnectionList,
    /// `cluster verify NAME`: every member against the store.
    ClusterVerify {
        /// Cluster name.
        name: String,
    },
    /// `cluster resync NAME`: copy what members lack, take recovered
    /// members back (the daemon also does this on its own).
    ClusterResync {
        /// Cluster name.
        name: String,
    },
    /// `cluster add-member NAME`: a new token, in sync before it serves.
    ClusterAddMember {
        /// Cluster name.
        name: String,
    },
    /// `cluster remove-member NAME --index N`.
    ClusterRemoveMember {
        /// Cluster name.
        name: String,
        /// The member's index.
        index: u32,
    },
    /// `cluster image create NAME`: a mirror image now.
    ClusterImageCreate {
        /// Cluster name.
        name: String,
    },
    /// `cluster image list [NAME]`.
    ClusterImageList {
        /// Only this cluster's images.
        name: Option<String>,
    },
    /// `cluster restore --image ID --name NEW --members N`.
    ClusterRestore {
        /// The image.
        image_id: String,
        /// Name of the new cluster (must not exist).
        name: String,
        /// Members of the new cluster (at least 2).
        members: u32,
    },
    /// `cluster create NAME --members N`.
    ClusterCreate {
        /// New cluster's name.
        name: String,
        /// Members (2 to 8).
        members: u32,
    },
    /// `instance create NAME --kind K --cluster C`.
    InstanceCreate {
        /// New instance's name (also its token label).
        name: String,
        /// `hardware` or `software`.
        kind: InstanceKind,
        /// The cluster that keeps its keys.
        cluster: String,
    },
    /// `instance attach-cluster INSTANCE CLUSTER`.
    InstanceAttachCluster {
        /// Instance name.
        instance: String,
        /// Cluster that holds its keys from now on.
        cluster: String,
    },
}

/// The daemon's answer to an [`AdminRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminReply {
    /// The operation succeeded and returns nothing.
    Done,
    /// Instances.
    Instances(Vec<InstanceInfo>),
    /// One instance.
    Instance(InstanceInfo),
    /// A new app and its PIN.
    AppCreated(AppCreated),
    /// Apps.
    Apps(Vec<AppInfo>),
    /// One app.
    App(AppInfo),
    /// One key.
    Key(KeyDescription),
    /// Keys.
    Keys(KeyList),
    /// Key versions.
    KeyVersions(Vec<KeyVersionInfo>),
    /// Clusters.
    Clusters(Vec<ClusterSummary>),
    /// One cluster's members.
    Cluster(ClusterStatus),
    /// One key version.
    KeyVersion(KeyVersionInfo),
    /// Aliases.
    Aliases(Vec<AliasInfo>),
    /// What `import-key-material` needs.
    ImportParameters(ImportParameters),
    /// Answer to `encrypt`.
    Encrypted(Encrypted),
    /// Answer to `decrypt`.
    Decrypted(Decrypted),
    /// Answer to `re-encrypt`.
    ReEncrypted(ReEncrypted),
    /// Answer to a batch re-encryption, one outcome per item in order.
    ReEncryptedBatch(Vec<BatchOutcome>),
    /// Answer to `generate-data-key*`.
    DataKey(DataKey),
    /// Answer to `sign`.
    Signature(Signature),
    /// Answer to `verify`.
    Verified(Verified),
    /// Answer to `asymmetric-encrypt`.
    AsymmetricEncrypted(Encrypted),
    /// Answer to `asymmetric-decrypt`.
    AsymmetricDecrypted(Decrypted),
    /// Answer to `get-public-key`.
    PublicKey(PublicKeyInfo),
    /// The daemon's clock.
    Clock(ClockTime),
    /// Open data connections.
    Connections(Vec<ConnectionInfo>),
    /// Answer to `cluster verify`.
    ClusterVerification(ClusterVerification),
    /// Answer to `cluster resync`.
    Resynced(ResyncReport),
    /// One mirror image.
    Image(ImageInfo),
    /// Mirror images.
    Images(Vec<ImageInfo>),
}

/// Body of an admin response frame.
pub type AdminResult = Result<AdminReply, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::{SecretBytes, SecretString, Timestamp, decode_body, encode_body};

    fn round_trip<T>(value: &T)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let bytes = encode_body(value).expect("encodes");
        assert_eq!(&decode_body::<T>(&bytes).expect("decodes"), value);
    }

    fn tag() -> Tag {
        Tag { tag_key: "team".into(), tag_value: "payments".into() }
    }

    fn context() -> crate::blob::EncryptionContext {
        [("purpose".to_owned(), "test".to_owned())].into_iter().collect()
    }

    fn reencrypt() -> ReEncryptRequest {
        ReEncryptRequest {
            ciphertext_blob: vec![1, 2, 3],
            destination_key: Some("alias/new".into()),
            source_encryption_context: context(),
            destination_encryption_context: Default::default(),
        }
    }

    fn encrypted() -> Encrypted {
        Encrypted { key_id: "k".into(), key_version_id: "v".into(), ciphertext_blob: vec![1, 2] }
    }

    fn decrypted() -> Decrypted {
        Decrypted { key_id: "k".into(), key_version_id: "v".into(), plaintext: SecretBytes::from("p") }
    }

    fn reencrypted() -> ReEncrypted {
        ReEncrypted {
            source_key_id: "k".into(),
            source_key_version_id: "v1".into(),
            key_id: "k".into(),
            key_version_id: "v2".into(),
            ciphertext_blob: vec![7],
        }
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
        }
    }

    #[test]
    fn every_request_round_trips() {
        let requests = [
            AdminRequest::InstanceList,
            AdminRequest::InstanceDescribe { name: "hsm1".into() },
            AdminRequest::AppCreate { name: "web".into(), instance: "hsm1".into() },
            AdminRequest::AppList,
            AdminRequest::AppDescribe { name: "web".into() },
            AdminRequest::AppDelete { name: "web".into() },
            AdminRequest::KeyCreate(CreateKey {
                instance: "hsm1".into(),
                key_spec: KeySpec::Rsa3072,
                key_usage: Some(KeyUsage::EncryptDecrypt),
                description: "x".into(),
                alias: Some("alias/x".into()),
                origin: Origin::External,
                tags: vec![tag()],
                enable_automatic_rotation: true,
                rotation_interval: Some(604_800),
                deletion_protection: true,
            }),
            AdminRequest::KeyDescribe { key: "alias/x".into() },
            AdminRequest::KeyList(ListKeys {
                instance: Some("hsm1".into()),
                key_state: Some(KeyState::Disabled),
                key_spec: Some(KeySpec::Aes128),
                alias: Some("alias/x".into()),
            }),
            AdminRequest::KeyListVersions { key: "key-1".into() },
            AdminRequest::ClusterList,
            AdminRequest::ClusterStatus { name: "hsm1".into() },
            AdminRequest::KeyEnable { key: "k".into() },
            AdminRequest::KeyDisable { key: "k".into() },
            AdminRequest::KeyScheduleDeletion { key: "k".into(), pending_window_in_days: 7 },
            AdminRequest::KeyCancelDeletion { key: "k".into() },
            AdminRequest::KeySetDeletionProtection { key: "k".into(), enable_deletion_protection: true },
            AdminRequest::KeyCreateVersion { key: "k".into() },
            AdminRequest::KeyDescribeVersion { key: "k".into(), key_version_id: "v".into() },
            AdminRequest::KeyUpdateRotationPolicy(UpdateRotationPolicy {
                key: "k".into(),
                enable_automatic_rotation: true,
                rotation_interval: Some(86_400 * 30),
            }),
            AdminRequest::KeyTag { key: "k".into(), tags: vec![tag()] },
            AdminRequest::KeyUntag { key: "k".into(), tag_keys: vec!["team".into()] },
            AdminRequest::KeyGetParametersForImport {
                key: "k".into(),
                wrapping_algorithm: WrappingAlgorithm::RsaesOaepSha256,
                wrapping_key_spec: WrappingKeySpec::Rsa2048,
            },
            AdminRequest::KeyImportKeyMaterial(ImportKeyMaterial {
                key: "k".into(),
                import_token: "t".into(),
                encrypted_key_material: vec![1; 256],
                key_material_expire_unix: Some(2_000_000_000),
            }),
            AdminRequest::KeyDeleteKeyMaterial { key: "k".into() },
            AdminRequest::AliasCreate { alias: "alias/a".into(), key: "k".into() },
            AdminRequest::AliasUpdate { alias: "alias/a".into(), key: "k2".into() },
            AdminRequest::AliasDelete { alias: "alias/a".into() },
            AdminRequest::AliasList { key: Some("k".into()) },
            AdminRequest::Encrypt(EncryptRequest {
                key: "k".into(),
                plaintext: SecretBytes::from("p"),
                encryption_context: context(),
            }),
            AdminRequest::Decrypt(DecryptRequest { ciphertext_blob: vec![1, 2], encryption_context: context() }),
            AdminRequest::ReEncrypt(reencrypt()),
            AdminRequest::ReEncryptBatch(vec![reencrypt(), reencrypt()]),
            AdminRequest::GenerateDataKey(GenerateDataKeyRequest {
                key: "k".into(),
                key_spec: Some(DataKeySpec::Aes128),
                number_of_bytes: Some(64),
                encryption_context: context(),
                with_plaintext: true,
            }),
            AdminRequest::Sign(SignRequest {
                key: "k".into(),
                key_version_id: "v".into(),
                algorithm: SigningAlgorithm::EcdsaSha256,
                digest: vec![3; 32],
            }),
            AdminRequest::Verify(VerifyRequest {
                key: "k".into(),
                key_version_id: "v".into(),
                algorithm: SigningAlgorithm::RsaPssSha256,
                digest: vec![3; 32],
                value: vec![4; 256],
            }),
            AdminRequest::AsymmetricEncrypt(AsymmetricEncryptRequest {
                key: "k".into(),
                key_version_id: "v".into(),
                algorithm: AsymmetricAlgorithm::RsaesOaepSha1,
                plaintext: SecretBytes::from("p"),
            }),
            AdminRequest::AsymmetricDecrypt(AsymmetricDecryptRequest {
                key: "k".into(),
                key_version_id: "v".into(),
                algorithm: AsymmetricAlgorithm::RsaesOaepSha256,
                ciphertext_blob: vec![5; 256],
            }),
            AdminRequest::GetPublicKey { key: "k".into(), key_version_id: None },
            AdminRequest::ClockShow,
            AdminRequest::ClockAdvance { seconds: 86_400 },
            AdminRequest::ClockSet { time: Timestamp(1_800_000_000) },
            AdminRequest::ConnectionList,
            AdminRequest::ClusterVerify { name: "hsm1".into() },
            AdminRequest::ClusterResync { name: "hsm1".into() },
            AdminRequest::ClusterAddMember { name: "hsm1".into() },
            AdminRequest::ClusterRemoveMember { name: "hsm1".into(), index: 0 },
            AdminRequest::ClusterImageCreate { name: "hsm1".into() },
            AdminRequest::ClusterImageList { name: None },
            AdminRequest::ClusterRestore { image_id: "img-1".into(), name: "hsm2".into(), members: 2 },
            AdminRequest::InstanceAttachCluster { instance: "hsm1".into(), cluster: "hsm2".into() },
            AdminRequest::ClusterCreate { name: "hsm2".into(), members: 3 },
            AdminRequest::InstanceCreate { name: "pay".into(), kind: InstanceKind::Hardware, cluster: "hsm2".into() },
        ];
        for request in &requests {
            round_trip(request);
        }
    }

    #[test]
    fn every_reply_round_trips() {
        let instance = InstanceInfo {
            name: "hsm1".into(),
            slot_id: 2,
            kind: InstanceKind::Hardware,
            cluster: Some("hsm1".into()),
            key_quota: 1000,
            key_count: 1,
            key_version_count: 1,
            creation_date: Timestamp(1),
        };
        let app = AppInfo {
            app_name: "web".into(),
            instance: "hsm1".into(),
            creation_date: Timestamp(2),
            failed_logins: 0,
            locked_until: None,
        };
        let key = KeyDescription {
            key_metadata: metadata(),
            aliases: vec!["alias/x".into()],
            tags: vec![tag()],
            pkcs11_id: "00".repeat(16),
        };
        let replies: Vec<AdminResult> = vec![
            Ok(AdminReply::Done),
            Ok(AdminReply::Instances(vec![instance.clone()])),
            Ok(AdminReply::Instance(instance)),
            Ok(AdminReply::AppCreated(AppCreated {
                app_name: "web".into(),
                instance: "hsm1".into(),
                pin: SecretString::new("pin".into()),
            })),
            Ok(AdminReply::Apps(vec![app.clone()])),
            Ok(AdminReply::App(app)),
            Ok(AdminReply::Key(key.clone())),
            Ok(AdminReply::Keys(KeyList { keys: vec![key], total_count: 1 })),
            Ok(AdminReply::KeyVersions(vec![KeyVersionInfo {
                key_id: "key-1".into(),
                key_version_id: "v-1".into(),
                creation_date: Timestamp(3),
            }])),
            Ok(AdminReply::Clusters(vec![ClusterSummary {
                cluster_name: "hsm1".into(),
                member_count: 3,
                instances: vec!["hsm1".into()],
                creation_date: Timestamp(4),
            }])),
            Ok(AdminReply::Cluster(ClusterStatus {
                cluster_name: "hsm1".into(),
                expected_objects: 2,
                members: vec![MemberStatus {
                    index: 0,
                    token_label: "hsm1-0".into(),
                    serial: "abc".into(),
                    module: "/usr/lib/softhsm/libsofthsm2.so".into(),
                    role: MemberRole::Primary,
                    health: MemberHealth::Healthy,
                    in_sync: true,
                    object_count: 2,
                    missing_versions: 0,
                    last_sync: Some(Timestamp(4)),
                }],
                checked_at: Timestamp(5),
            })),
            Ok(AdminReply::KeyVersion(KeyVersionInfo {
                key_id: "k".into(),
                key_version_id: "v".into(),
                creation_date: Timestamp(6),
            })),
            Ok(AdminReply::Aliases(vec![AliasInfo {
                alias_name: "alias/a".into(),
                alias_arn: "acs:kms:local:hsm1:alias/a".into(),
                key_id: "k".into(),
            }])),
            Ok(AdminReply::ImportParameters(ImportParameters {
                key_id: "k".into(),
                import_token: "t".into(),
                public_key: "-----BEGIN PUBLIC KEY-----".into(),
                token_expire_time: Timestamp(7),
            })),
            Ok(AdminReply::Encrypted(encrypted())),
            Ok(AdminReply::Decrypted(decrypted())),
            Ok(AdminReply::ReEncrypted(reencrypted())),
            Ok(AdminReply::ReEncryptedBatch(vec![
                BatchOutcome::Done(reencrypted()),
                BatchOutcome::Unchanged,
                BatchOutcome::Failed(ApiError::new(ErrorCode::InvalidParameter, "bad blob")),
            ])),
            Ok(AdminReply::DataKey(DataKey {
                key_id: "k".into(),
                key_version_id: "v".into(),
                ciphertext_blob: vec![1],
                plaintext: Some(SecretBytes::from("dk")),
            })),
            Ok(AdminReply::Signature(Signature { key_id: "k".into(), key_version_id: "v".into(), value: vec![9; 70] })),
            Ok(AdminReply::Verified(Verified { key_id: "k".into(), key_version_id: "v".into(), value: false })),
            Ok(AdminReply::AsymmetricEncrypted(encrypted())),
            Ok(AdminReply::AsymmetricDecrypted(decrypted())),
            Ok(AdminReply::PublicKey(PublicKeyInfo {
                key_id: "k".into(),
                key_version_id: "v".into(),
                public_key: "pem".into(),
            })),
            Ok(AdminReply::Clock(ClockTime { now: Timestamp(8), manual: true })),
            Ok(AdminReply::Connections(vec![ConnectionInfo {
                connection_id: 3,
                uid: 1000,
                pid: Some(4242),
                opened: Timestamp(9),
                requests: 17,
            }])),
            Ok(AdminReply::ClusterVerification(ClusterVerification {
                cluster_name: "hsm1".into(),
                expected_versions: 3,
                consistent: false,
                members: vec![MemberDifferences {
                    index: 1,
                    token_label: "hsm1-1".into(),
                    role: MemberRole::Mirror,
                    health: MemberHealth::Healthy,
                    missing: vec!["key-1/v-1".into()],
                    unexpected: vec![],
                }],
            })),
            Ok(AdminReply::Resynced(ResyncReport {
                cluster_name: "hsm1".into(),
                copied: 1,
                failed: 0,
                recovered: vec!["hsm1-2".into()],
                promoted: Some("hsm1-1".into()),
            })),
            Ok(AdminReply::Images(vec![ImageInfo {
                image_id: "img-1".into(),
                cluster_name: "hsm1".into(),
                creation_date: Timestamp(5),
                versions: 2,
                sha256: "00".into(),
                intact: true,
            }])),
            Err(ApiError::new(ErrorCode::KeyNotFound, "no such key")),
        ];
        for reply in &replies {
            round_trip(reply);
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
        assert_eq!(json["Tags"][0]["TagKey"], "team");
    }
}
