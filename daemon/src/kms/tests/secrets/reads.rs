//! Descriptions and lists (filters, pages, tags), UpdateSecret, and what
//! the data plane reads: the secrets visible in an instance and a
//! secret's ACSCurrent value, with their refusals.

use p11kms_proto::ErrorCode;
use p11kms_proto::SecretString;
use p11kms_proto::admin::{DescribeSecretRequest, ListSecretsRequest, SecretFilter, SecretType, UpdateSecretRequest};

use super::{create, create_with, generic, put, secret};
use crate::kms::secrets::{lifecycle, read};
use crate::kms::testing::{Fixture, INSTANCE};
use crate::kms::tests::{code, tag};
use crate::kms::{KmsError, instances};

fn list(fx: &Fixture, filters: &[(&str, &[&str])], page: Option<(u32, u32)>) -> Result<(Vec<String>, u64), KmsError> {
    let request = ListSecretsRequest {
        instance: None,
        fetch_tags: true,
        filters: filters
            .iter()
            .map(|(k, v)| SecretFilter { key: (*k).into(), values: v.iter().map(|x| (*x).to_owned()).collect() })
            .collect(),
        page_number: page.map(|p| p.0),
        page_size: page.map(|p| p.1),
    };
    let list = read::list(&fx.kms, &request)?;
    Ok((list.secret_list.into_iter().map(|s| s.secret_name).collect(), list.total_count))
}

#[test]
fn lists_filter_and_page() {
    let fx = Fixture::new();
    for (name, description, team) in [("db-a", "orders", "pay"), ("db-b", "billing", "pay"), ("api", "orders", "web")] {
        let mut request = generic(name, "pw");
        request.description = description.into();
        request.tags = vec![tag("team", team)];
        create_with(&fx, &request).unwrap();
    }
    assert_eq!(list(&fx, &[], None).unwrap(), (vec!["api".into(), "db-a".into(), "db-b".into()], 3));
    assert_eq!(list(&fx, &[("SecretName", &["db"])], None).unwrap().0, ["db-a", "db-b"]);
    assert_eq!(list(&fx, &[("Description", &["orders"])], None).unwrap().0, ["api", "db-a"]);
    assert_eq!(list(&fx, &[("TagValue", &["pay"]), ("Description", &["orders"])], None).unwrap().0, ["db-a"]);
    assert_eq!(list(&fx, &[("TagKey", &["team"])], None).unwrap().1, 3);
    assert_eq!(list(&fx, &[("SecretName", &["api", "db-b"])], None).unwrap().0, ["api", "db-b"]);
    assert_eq!(list(&fx, &[], Some((2, 2))).unwrap(), (vec!["db-b".into()], 3));
    assert_eq!(code(list(&fx, &[("Owner", &["x"])], None)), ErrorCode::InvalidParameter);
    assert_eq!(code(list(&fx, &[("SecretName", &[])], None)), ErrorCode::InvalidParameter);
    assert_eq!(code(list(&fx, &[], Some((1, 101)))), ErrorCode::InvalidParameter);
}

#[test]
fn describe_shows_the_api_fields_and_tags_when_asked() {
    let fx = Fixture::new();
    let mut request = generic("db", "pw");
    request.description = "orders database".into();
    request.tags = vec![tag("team", "pay")];
    create_with(&fx, &request).unwrap();
    let describe =
        |fetch_tags| read::describe(&fx.kms, &DescribeSecretRequest { secret_name: "db".into(), fetch_tags }).unwrap();
    let described = describe(true);
    assert_eq!(described.arn, "acs:kms:local:hsm1:secret/db");
    assert_eq!(described.secret_type, SecretType::Generic);
    assert_eq!(described.description, "orders database");
    assert_eq!(described.instance, INSTANCE);
    assert_eq!(described.tags, Some(vec![tag("team", "pay")]));
    assert_eq!(described.encryption_key_id, secret(&fx, "db").record.encryption_key_id);
    assert_eq!((described.create_time, described.update_time), (fx.now(), fx.now()));
    assert_eq!(describe(false).tags, None);
    let json = serde_json::to_value(&described).unwrap();
    for field in ["Arn", "CreateTime", "UpdateTime", "EncryptionKeyId", "DKMSInstanceId", "PlannedDeleteTime"] {
        assert!(json.get(field).is_some(), "{field}");
    }
    assert_eq!(
        code(read::describe(&fx.kms, &DescribeSecretRequest { secret_name: "x".into(), fetch_tags: false })),
        ErrorCode::ResourceNotFound
    );
}

#[test]
fn update_changes_the_description_and_custom_data() {
    let fx = Fixture::new();
    create(&fx, "db", "pw");
    let update = |name: &str, description: Option<&str>, custom: Option<&str>| {
        let request = UpdateSecretRequest {
            secret_name: name.into(),
            description: description.map(Into::into),
            extended_config_custom_data: custom.map(Into::into),
        };
        lifecycle::update(&fx.kms, &request)
    };
    update("db", Some("new"), None).unwrap();
    assert_eq!(secret(&fx, "db").record.description, "new");
    assert_eq!(code(update("db", None, None)), ErrorCode::InvalidParameter);
    assert_eq!(code(update("db", None, Some("{}"))), ErrorCode::UnsupportedOperation, "a Generic secret has none");
    let mut rds = generic("rds", r#"{"Accounts":[{"AccountName":"a","AccountPassword":"p"}]}"#);
    rds.secret_type = SecretType::Rds;
    rds.extended_config = Some(r#"{"SecretSubType":"SingleUser","DBInstanceId":"rm-1"}"#.into());
    create_with(&fx, &rds).unwrap();
    update("rds", None, Some(r#"{"owner":"ops"}"#)).unwrap();
    let config: serde_json::Value =
        serde_json::from_str(secret(&fx, "rds").record.extended_config.as_deref().unwrap()).unwrap();
    assert_eq!(config["CustomData"]["owner"], "ops");
    assert_eq!(config["DBInstanceId"], "rm-1", "the rest is kept");
    assert_eq!(code(update("rds", None, Some("[1]"))), ErrorCode::InvalidParameter);
}

#[test]
fn the_data_plane_lists_visible_secrets_and_reads_current_values() {
    let fx = Fixture::new();
    instances::create(&fx.kms, "other", p11kms_proto::admin::InstanceKind::Software, crate::kms::testing::CLUSTER)
        .unwrap();
    create(&fx, "db", "pw-1");
    put(&fx, "db", "v2", "pw-2", None).unwrap();
    create(&fx, "gone", "pw");
    let mut elsewhere = generic("theirs", "pw");
    elsewhere.instance = "other".into();
    create_with(&fx, &elsewhere).unwrap();
    let delete = p11kms_proto::admin::DeleteSecretRequest {
        secret_name: "gone".into(),
        recovery_window_in_days: None,
        force_delete_without_recovery: false,
    };
    lifecycle::delete(&fx.kms, &delete).unwrap();
    let visible = read::visible(&fx.kms, INSTANCE).unwrap();
    assert_eq!(visible.len(), 1, "not the one pending deletion, nor the other instance's");
    assert_eq!((visible[0].name.as_str(), visible[0].current_version_id.as_str()), ("db", "v2"));
    assert_eq!(visible[0].update_time, secret(&fx, "db").record.updated_at);
    assert_eq!(read::current_value(&fx.kms, INSTANCE, "db").unwrap().expose(), b"pw-2");
    let missing = read::current_value(&fx.kms, INSTANCE, "theirs").unwrap_err();
    assert_eq!(
        (missing.code(), missing.ck_rv()),
        (ErrorCode::ResourceNotFound, cryptoki_sys::CKR_OBJECT_HANDLE_INVALID)
    );
    let pending = read::current_value(&fx.kms, INSTANCE, "gone").unwrap_err();
    assert_eq!(
        (pending.code(), pending.ck_rv()),
        (ErrorCode::SecretPendingDeletion, cryptoki_sys::CKR_ACTION_PROHIBITED)
    );
    assert_eq!(code(read::visible(&fx.kms, "nowhere")), ErrorCode::ResourceNotFound);
    let _ = SecretString::default();
}

fn deletion(name: &str, force: bool) -> p11kms_proto::admin::DeleteSecretRequest {
    p11kms_proto::admin::DeleteSecretRequest {
        secret_name: name.into(),
        recovery_window_in_days: None,
        force_delete_without_recovery: force,
    }
}

#[test]
fn the_data_plane_finds_a_secret_by_name_and_by_number() {
    let fx = Fixture::new();
    create(&fx, "db", "pw");
    create(&fx, "api", "token");
    let (db, api) = (secret(&fx, "db").number(), secret(&fx, "api").number());
    let found = read::visible_named(&fx.kms, INSTANCE, "db").unwrap().expect("visible by name");
    assert_eq!((found.name.as_str(), found.number), ("db", db));
    let numbers: Vec<u64> = read::visible(&fx.kms, INSTANCE).unwrap().iter().map(|v| v.number).collect();
    assert_eq!(numbers, [api, db], "by name");
    assert_eq!(read::visible_named(&fx.kms, INSTANCE, "nope").unwrap(), None);
    assert_eq!(read::named(&fx.kms, INSTANCE, db).unwrap().as_deref(), Some("db"));
    assert_eq!(read::named(&fx.kms, "elsewhere", db).unwrap(), None, "only in its own instance");
    assert_eq!(read::named(&fx.kms, INSTANCE, db ^ 1).unwrap(), None);

    // Pending deletion: no longer listed, still named (a handle from before).
    lifecycle::delete(&fx.kms, &deletion("db", false)).unwrap();
    assert_eq!(read::visible_named(&fx.kms, INSTANCE, "db").unwrap(), None);
    assert_eq!(read::named(&fx.kms, INSTANCE, db).unwrap().as_deref(), Some("db"));
    lifecycle::delete(&fx.kms, &deletion("db", true)).unwrap();
    assert_eq!(read::named(&fx.kms, INSTANCE, db).unwrap(), None, "gone");
    create(&fx, "db", "again");
    assert_eq!(read::named(&fx.kms, INSTANCE, db).unwrap().as_deref(), Some("db"), "the name names it again");
}

#[test]
fn two_names_on_one_number_show_one_object() {
    let fx = Fixture::new();
    create(&fx, "db", "pw");
    let db = secret(&fx, "db");
    let mut twin = db.clone().with_number(db.number());
    twin.record.name = "twin".into();
    fx.kms.registry_mut().unwrap().put_secret(twin);
    let names = |fx: &Fixture| -> Vec<String> {
        read::visible(&fx.kms, INSTANCE).unwrap().into_iter().map(|v| v.name).collect()
    };
    assert_eq!(names(&fx), ["db"], "the first keeps the number");
    assert_eq!(read::named(&fx.kms, INSTANCE, db.number()).unwrap().as_deref(), Some("db"));
    fx.kms.registry_mut().unwrap().remove_secret("db");
    assert_eq!(names(&fx), ["twin"], "the other takes it over");
    assert_eq!(read::named(&fx.kms, INSTANCE, db.number()).unwrap().as_deref(), Some("twin"));
}
