//! Rotation: refused for Generic secrets; for Rds, RAMCredentials and ECS
//! secrets, a new random value of the same JSON shape becomes ACSCurrent
//! (the old one ACSPrevious), by hand or on the schedule of the daemon's
//! clock; failures are kept and retried; a RAM user has one RAM secret.

use serde_json::Value;

use p11kms_proto::ErrorCode;
use p11kms_proto::SecretString;
use p11kms_proto::admin::{
    AutomaticRotation, CreateSecretRequest, KeySpec, SecretType, UpdateSecretRotationPolicyRequest,
};

use super::{create, create_with, expect, generic, get, put, secret, stages};
use crate::kms::keys::lifecycle as keys;
use crate::kms::secrets::rotation;
use crate::kms::testing::Fixture;
use crate::kms::tests::{DAY, code};

const RDS: &str = r#"{"SecretSubType":"SingleUser","DBInstanceId":"rm-1","CustomData":{}}"#;
const RDS_VALUE: &str = r#"{"Accounts":[{"AccountName":"app","AccountPassword":"first-pw"}]}"#;
const RAM: &str = r#"{"SecretSubType":"RamUserAccessKey","UserName":"alice"}"#;
const RAM_VALUE: &str = r#"{"AccessKeys":[{"AccessKeyId":"LTAIold","AccessKeySecret":"old-secret"}]}"#;
const ECS: &str = r#"{"SecretSubType":"Password","RegionId":"local","InstanceId":"i-1"}"#;
const ECS_VALUE: &str = r#"{"UserName":"root","Password":"old-password"}"#;

fn managed(name: &str, secret_type: SecretType, config: &str, value: &str) -> CreateSecretRequest {
    CreateSecretRequest {
        secret_type,
        extended_config: Some(config.into()),
        secret_data: SecretString::new(value.into()),
        ..generic(name, value)
    }
}

fn policy(fx: &Fixture, name: &str, enable: bool, interval: Option<i64>) -> Result<(), crate::kms::KmsError> {
    let request = UpdateSecretRotationPolicyRequest {
        secret_name: name.into(),
        enable_automatic_rotation: enable,
        rotation_interval: interval,
    };
    rotation::update_policy(&fx.kms, &request)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

#[test]
fn generic_secrets_are_rotated_by_their_owners() {
    let fx = Fixture::new();
    create(&fx, "db", "pw");
    assert_eq!(code(policy(&fx, "db", true, Some(30 * DAY))), ErrorCode::UnsupportedOperation);
    assert_eq!(code(rotation::rotate(&fx.kms, "db", None)), ErrorCode::UnsupportedOperation);
    let mut request = generic("other", "pw");
    request.enable_automatic_rotation = true;
    request.rotation_interval = Some(30 * DAY);
    assert_eq!(code(create_with(&fx, &request)), ErrorCode::UnsupportedOperation);
}

#[test]
fn each_managed_type_rotates_to_a_new_value_of_the_same_shape() {
    let fx = Fixture::new();
    let cases = [
        ("rds-app", SecretType::Rds, RDS, RDS_VALUE, vec!["AccountPassword"], "/Accounts/0"),
        (
            "acs/ram/user/alice",
            SecretType::RamCredentials,
            RAM,
            RAM_VALUE,
            vec!["AccessKeyId", "AccessKeySecret"],
            "/AccessKeys/0",
        ),
        ("acs/ecs/root", SecretType::Ecs, ECS, ECS_VALUE, vec!["Password"], ""),
    ];
    for (name, secret_type, config, value, replaced, at) in cases {
        create_with(&fx, &managed(name, secret_type, config, value)).unwrap();
        let version = rotation::rotate(&fx.kms, name, Some("r1")).unwrap();
        assert_eq!(version, "r1");
        assert_eq!(stages(&fx, name), expect(&[("v1", &["ACSPrevious"]), ("r1", &["ACSCurrent"])]), "{name}");
        let (old, new) = (json(value), json(&get(&fx, name, None, None).unwrap()));
        assert_eq!(json(&get(&fx, name, None, Some("ACSPrevious")).unwrap()), old, "{name}: the old value is kept");
        let (old_object, new_object) = (old.pointer(at).unwrap(), new.pointer(at).unwrap());
        for (field, old_value) in old_object.as_object().unwrap() {
            let new_value = &new_object[field];
            if replaced.contains(&field.as_str()) {
                assert_ne!(new_value, old_value, "{name}: {field} is new");
                assert!(new_value.as_str().unwrap().len() >= 20, "{name}: {field} is long");
            } else {
                assert_eq!(new_value, old_value, "{name}: {field} is kept");
            }
        }
        assert_eq!(secret(&fx, name).record.last_rotation_date, Some(fx.now()));
        // The version id is the daemon's when none is given, and unique.
        let made = rotation::rotate(&fx.kms, name, None).unwrap();
        assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
        assert_eq!(code(rotation::rotate(&fx.kms, name, Some("r1"))), ErrorCode::ResourceExist);
    }
    let rds = json(&get(&fx, "rds-app", None, None).unwrap());
    let password = rds["Accounts"][0]["AccountPassword"].as_str().unwrap();
    assert_eq!(password.len(), 32);
    for class in [char::is_ascii_uppercase, char::is_ascii_lowercase, char::is_ascii_digit] {
        assert!(password.chars().any(|c| class(&c)), "{password}");
    }
    let ram = json(&get(&fx, "acs/ram/user/alice", None, None).unwrap());
    assert!(ram["AccessKeys"][0]["AccessKeyId"].as_str().unwrap().starts_with("LTAI"));
}

#[test]
fn managed_secrets_rotate_on_the_daemons_clock() {
    let fx = Fixture::new();
    let mut request = managed("rds-app", SecretType::Rds, RDS, RDS_VALUE);
    request.enable_automatic_rotation = true;
    request.rotation_interval = Some(7 * DAY);
    let created = create_with(&fx, &request).unwrap();
    let t0 = created.record.created_at;
    assert_eq!(rotation::status(&created), AutomaticRotation::Enabled);
    assert_eq!(rotation::next_rotation(&created), Some(t0.plus_seconds(7 * DAY)));
    assert_eq!(fx.advance_seconds(7 * DAY - 1).secrets_rotated, 0);
    assert_eq!(fx.advance_seconds(1).secrets_rotated, 1);
    assert_eq!(secret(&fx, "rds-app").versions.len(), 2);
    assert_eq!(rotation::next_rotation(&secret(&fx, "rds-app")), Some(t0.plus_seconds(14 * DAY)));
    for _ in 0..3 {
        fx.advance_days(7);
    }
    assert_eq!(secret(&fx, "rds-app").versions.len(), 5);
    // Off: nothing more; on again with a date passed: at once.
    policy(&fx, "rds-app", false, None).unwrap();
    assert_eq!(fx.advance_days(30).secrets_rotated, 0);
    policy(&fx, "rds-app", true, None).unwrap();
    assert_eq!(secret(&fx, "rds-app").versions.len(), 6, "an overdue policy rotates at once");
    assert_eq!(code(policy(&fx, "rds-app", true, Some(3600))), ErrorCode::InvalidParameter, "6 hours at least");
    assert_eq!(code(policy(&fx, "rds-app", true, Some(366 * DAY))), ErrorCode::InvalidParameter);
    policy(&fx, "rds-app", true, Some(6 * 3600)).unwrap();
    assert_eq!(fx.advance_seconds(6 * 3600).secrets_rotated, 1);
    super::assert_reloads(&fx);
}

#[test]
fn a_failed_scheduled_rotation_is_shown_and_retried() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let mut request = managed("acs/ecs/root", SecretType::Ecs, ECS, ECS_VALUE);
    request.encryption_key_id = Some(key.clone());
    request.enable_automatic_rotation = true;
    request.rotation_interval = Some(DAY);
    create_with(&fx, &request).unwrap();
    keys::disable(&fx.kms, &key).unwrap();
    let pass = fx.advance_days(1);
    assert_eq!((pass.secrets_rotated, pass.failed), (0, 1));
    let failure = secret(&fx, "acs/ecs/root").rotation_failure.expect("the failure is kept");
    assert_eq!(failure.code, "Rejected.Disabled");
    assert_eq!(fx.advance_seconds(60).failed, 1, "retried at every pass");
    keys::enable(&fx.kms, &key).unwrap();
    assert_eq!(fx.advance_seconds(60).secrets_rotated, 1);
    assert!(secret(&fx, "acs/ecs/root").rotation_failure.is_none(), "cleared by a success");
}

#[test]
fn a_secret_pending_deletion_is_not_rotated() {
    let fx = Fixture::new();
    let mut request = managed("rds-app", SecretType::Rds, RDS, RDS_VALUE);
    request.enable_automatic_rotation = true;
    request.rotation_interval = Some(DAY);
    create_with(&fx, &request).unwrap();
    let delete = p11kms_proto::admin::DeleteSecretRequest {
        secret_name: "rds-app".into(),
        recovery_window_in_days: Some(7),
        force_delete_without_recovery: false,
    };
    crate::kms::secrets::lifecycle::delete(&fx.kms, &delete).unwrap();
    assert_eq!(rotation::status(&secret(&fx, "rds-app")), AutomaticRotation::Suspended);
    assert_eq!(fx.advance_days(3).secrets_rotated, 0);
}

#[test]
fn a_ram_user_has_one_ram_secret_named_after_it() {
    let fx = Fixture::new();
    let mut auto = managed("$Auto", SecretType::RamCredentials, RAM, RAM_VALUE);
    assert_eq!(create_with(&fx, &auto).unwrap().record.name, "acs/ram/user/alice");
    let again = create_with(&fx, &auto).unwrap_err();
    assert_eq!(again.code(), ErrorCode::ResourceExist);
    assert!(again.to_string().contains("RAM user 'alice'"), "{again}");
    auto.secret_name = "acs/ram/user/bob".into();
    assert_eq!(code(create_with(&fx, &auto)), ErrorCode::InvalidParameter, "the name is the user's");
    auto.secret_name = "$Auto".into();
    auto.extended_config = Some(RAM.replace("alice", "bob"));
    assert_eq!(create_with(&fx, &auto).unwrap().record.name, "acs/ram/user/bob");
}

#[test]
fn managed_types_check_their_configuration_and_value() {
    let fx = Fixture::new();
    let cases: [(&str, SecretType, Option<&str>, &str); 8] = [
        ("rds-a", SecretType::Rds, None, RDS_VALUE),
        ("rds-b", SecretType::Rds, Some(r#"{"SecretSubType":"SingleUser"}"#), RDS_VALUE),
        ("rds-c", SecretType::Rds, Some(r#"{"SecretSubType":"Triple","DBInstanceId":"x"}"#), RDS_VALUE),
        ("rds-d", SecretType::Rds, Some("[]"), RDS_VALUE),
        ("rds-e", SecretType::Rds, Some(RDS), "not json"),
        ("rds-f", SecretType::Rds, Some(RDS), r#"{"Accounts":[{"AccountName":"app"}]}"#),
        ("acs/ecs/x", SecretType::Ecs, Some(r#"{"SecretSubType":"Password","RegionId":"r"}"#), ECS_VALUE),
        ("ecs-x", SecretType::Ecs, Some(ECS), ECS_VALUE),
    ];
    for (name, secret_type, config, value) in cases {
        let mut request = managed(name, secret_type, config.unwrap_or("{}"), value);
        request.extended_config = config.map(Into::into);
        assert_eq!(code(create_with(&fx, &request)), ErrorCode::InvalidParameter, "{name}");
    }
    let mut generic_with_config = generic("g", "pw");
    generic_with_config.extended_config = Some(RDS.into());
    assert_eq!(code(create_with(&fx, &generic_with_config)), ErrorCode::InvalidParameter);
    for reserved in ["acs/db", "acs/ram/user/x"] {
        assert_eq!(code(create_with(&fx, &generic(reserved, "pw"))), ErrorCode::InvalidParameter, "{reserved}");
    }
    create_with(&fx, &managed("rds-ok", SecretType::Rds, RDS, RDS_VALUE)).unwrap();
    assert_eq!(code(put(&fx, "rds-ok", "v2", RDS_VALUE, None)), ErrorCode::UnsupportedOperation, "values are rotated");
    let ssh = r#"{"SecretSubType":"SSHKey","RegionId":"r","InstanceId":"i"}"#;
    let ssh_value = r#"{"UserName":"root","PublicKey":"ssh-ed25519 AAAA","PrivateKey":"key"}"#;
    create_with(&fx, &managed("acs/ecs/ssh", SecretType::Ecs, ssh, ssh_value)).unwrap();
    assert_eq!(code(rotation::rotate(&fx.kms, "acs/ecs/ssh", None)), ErrorCode::UnsupportedOperation);
}

#[test]
fn every_managed_type_rotates_on_schedule() {
    let fx = Fixture::new();
    let secrets = [
        ("rds-app", SecretType::Rds, RDS, RDS_VALUE),
        ("acs/ram/user/alice", SecretType::RamCredentials, RAM, RAM_VALUE),
        ("acs/ecs/root", SecretType::Ecs, ECS, ECS_VALUE),
    ];
    for (name, secret_type, config, value) in secrets {
        let mut request = managed(name, secret_type, config, value);
        request.enable_automatic_rotation = true;
        request.rotation_interval = Some(DAY);
        create_with(&fx, &request).unwrap();
    }
    assert_eq!(fx.advance_days(1).secrets_rotated, 3);
    for (name, _, _, value) in secrets {
        assert_eq!(secret(&fx, name).versions.len(), 2, "{name}");
        assert_ne!(get(&fx, name, None, None).unwrap(), value, "{name}: a new value is current");
        assert_eq!(get(&fx, name, None, Some("ACSPrevious")).unwrap(), value, "{name}");
    }
}
