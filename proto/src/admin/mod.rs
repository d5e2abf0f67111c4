//! The admin plane: the KMS API that `p11kms` drives over the admin socket.
//!
//! Each request is one API operation; each answer is the response shape the
//! spec documents, with its field names (serde renames them to PascalCase for
//! the CLI's `--json`), or an [`ApiError`] carrying the spec's error code.

mod names;

pub mod app;
pub mod cluster;
pub mod instance;
pub mod key;

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub use app::{AppCreated, AppInfo};
pub use cluster::{ClusterStatus, ClusterSummary, MemberHealth, MemberRole, MemberStatus};
pub use instance::{InstanceInfo, InstanceKind};
pub use key::{
    AutomaticRotation, CreateKey, DeletionProtection, KeyDescription, KeyList, KeyMetadata, KeySpec, KeyState,
    KeyUsage, KeyVersionInfo, ListKeys, Origin, ProtectionLevel,
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
}

/// Body of an admin response frame.
pub type AdminResult = Result<AdminReply, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::{SecretString, Timestamp, decode_body, encode_body};

    fn round_trip<T>(value: &T)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let bytes = encode_body(value).expect("encodes");
        assert_eq!(&decode_body::<T>(&bytes).expect("decodes"), value);
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
            }),
            AdminRequest::KeyDescribe { key: "alias/x".into() },
            AdminRequest::KeyList(ListKeys { instance: Some("hsm1".into()) }),
            AdminRequest::KeyListVersions { key: "key-1".into() },
            AdminRequest::ClusterList,
            AdminRequest::ClusterStatus { name: "hsm1".into() },
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
        let key =
            KeyDescription { key_metadata: metadata(), aliases: vec!["alias/x".into()], pkcs11_id: "00".repeat(16) };
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
                }],
                checked_at: Timestamp(5),
            })),
            Err(ApiError::new(ErrorCode::KeyNotFound, "no such key")),
        ];
        for reply in &replies {
            round_trip(reply);
        }
    }

    #[test]
    fn json_uses_the_spec_field_names() {
        let json = serde_json::to_value(KeyDescription {
            key_metadata: metadata(),
            aliases: vec![],
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
    }
}
