//! Names, version ids, sizes and quotas: `InvalidParameter` for what is
//! malformed, `Rejected.ResourceExist` for a taken name,
//! `Rejected.LimitExceeded` for a full instance; the `default` instance
//! holds no secrets.

use p11kms_proto::ErrorCode;
use p11kms_proto::SecretString;

use super::{create, create_with, generic, put};
use crate::config::Config;
use crate::kms::secrets::lifecycle;
use crate::kms::secrets::limits::MAX_VALUE;
use crate::kms::testing::Fixture;
use crate::kms::tests::code;
use crate::kms::{instances, secrets};

#[test]
fn names_version_ids_and_sizes_are_checked() {
    let fx = Fixture::new();
    for bad in ["", "a b", "ü", &"n".repeat(193)] {
        assert_eq!(code(create_with(&fx, &generic(bad, "pw"))), ErrorCode::InvalidParameter, "{bad:?}");
    }
    create(&fx, &"n".repeat(192), "pw");
    let mut request = generic("db", "pw");
    request.version_id = "v".repeat(65);
    assert_eq!(code(create_with(&fx, &request)), ErrorCode::InvalidParameter);
    request.version_id = "v1".into();
    request.secret_data = SecretString::new("x".repeat(MAX_VALUE + 1));
    assert_eq!(code(create_with(&fx, &request)), ErrorCode::InvalidParameter, "over 30720 bytes");
    request.secret_data = SecretString::new(String::new());
    assert_eq!(code(create_with(&fx, &request)), ErrorCode::InvalidParameter, "empty");
    request.secret_data = SecretString::new("x".repeat(MAX_VALUE));
    create_with(&fx, &request).unwrap();
    assert_eq!(code(put(&fx, "db", "v2", &"y".repeat(MAX_VALUE + 1), None)), ErrorCode::InvalidParameter);
    assert_eq!(code(put(&fx, "db", "v 2", "y", None)), ErrorCode::InvalidParameter);
    assert_eq!(code(put(&fx, "db", "v2", "y", Some(&[]))), ErrorCode::InvalidParameter, "no stage");
    assert_eq!(code(put(&fx, "db", "v2", "y", Some(&["a", "a"]))), ErrorCode::InvalidParameter);
    assert_eq!(code(put(&fx, "none", "v2", "y", None)), ErrorCode::ResourceNotFound);
}

#[test]
fn a_name_is_unique_in_the_region() {
    let fx = Fixture::new();
    instances::create(&fx.kms, "other", p11kms_proto::admin::InstanceKind::Software, crate::kms::testing::CLUSTER)
        .unwrap();
    create(&fx, "db", "pw");
    assert_eq!(code(create_with(&fx, &generic("db", "pw"))), ErrorCode::ResourceExist);
    let mut elsewhere = generic("db", "pw");
    elsewhere.instance = "other".into();
    assert_eq!(code(create_with(&fx, &elsewhere)), ErrorCode::ResourceExist, "in another instance too");
    let mut request = generic("db2", "pw");
    request.instance = "nowhere".into();
    assert_eq!(code(create_with(&fx, &request)), ErrorCode::ResourceNotFound);
}

#[test]
fn an_instance_holds_at_most_its_quota_of_secrets() {
    let mut config = Config::default();
    config.instances.secret_quota = 2;
    let fx = Fixture::with_config(config);
    create(&fx, "a", "pw");
    create(&fx, "b", "pw");
    let journal = fx.journal_len();
    assert_eq!(code(create_with(&fx, &generic("c", "pw"))), ErrorCode::LimitExceeded);
    assert_eq!(fx.journal_len(), journal, "nothing written");
    // A secret in its window still counts; one gone frees its place.
    let delete = p11kms_proto::admin::DeleteSecretRequest {
        secret_name: "a".into(),
        recovery_window_in_days: Some(7),
        force_delete_without_recovery: false,
    };
    lifecycle::delete(&fx.kms, &delete).unwrap();
    assert_eq!(code(create_with(&fx, &generic("c", "pw"))), ErrorCode::LimitExceeded);
    fx.advance_days(7);
    create(&fx, "c", "pw");
    let registry = fx.kms.registry().unwrap();
    let info = instances::info(&fx.kms.config, &registry, registry.instance("hsm1").unwrap());
    assert_eq!((info.secret_quota, info.secret_count), (2, 2));
}

#[test]
fn the_default_instance_holds_no_secrets() {
    let fx = Fixture::new();
    let mut request = generic("db", "pw");
    request.instance = "default".into();
    let refused = create_with(&fx, &request).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::UnsupportedOperation);
    assert!(refused.to_string().contains("hardware or software instance"), "{refused}");
    let registry = fx.kms.registry().unwrap();
    assert_eq!(secrets::quota(&fx.kms.config, registry.instance("default").unwrap()), 0);
    assert_eq!(registry.keys().count(), 0, "no service key was made for it");
}

#[test]
fn description_and_tags_follow_their_limits() {
    let fx = Fixture::new();
    let mut request = generic("db", "pw");
    request.description = "d".repeat(8193);
    assert_eq!(code(create_with(&fx, &request)), ErrorCode::InvalidParameter);
    request.description = String::new();
    request.tags = (0..21).map(|i| crate::kms::tests::tag(&format!("k{i}"), "v")).collect();
    assert_eq!(code(create_with(&fx, &request)), ErrorCode::InvalidParameter, "at most 20 tags");
    request.tags.truncate(20);
    create_with(&fx, &request).unwrap();
    let more = [crate::kms::tests::tag("k20", "v")];
    assert_eq!(code(lifecycle::tag(&fx.kms, "db", &more)), ErrorCode::InvalidParameter);
    assert_eq!(
        code(lifecycle::tag(&fx.kms, "db", &[crate::kms::tests::tag("acs:x", "v")])),
        ErrorCode::InvalidParameter
    );
}
