//! Versions and stages: ACSCurrent moves and leaves ACSPrevious behind,
//! puts are idempotent by version id, a full secret loses its oldest
//! version without a stage (or refuses when every version has one), a
//! secret carries at most 8 stages, ACSCurrent is moved, never removed,
//! and deprecated versions are listed only when asked for.

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{ListSecretVersionIdsRequest, UpdateSecretVersionStageRequest};

use super::{create, expect, get, put, secret, stages};
use crate::config::Config;
use crate::kms::KmsError;
use crate::kms::secrets::{read, stages as stage_ops};
use crate::kms::testing::Fixture;
use crate::kms::tests::code;

fn update(fx: &Fixture, stage: &str, remove: Option<&str>, to: Option<&str>) -> Result<(), KmsError> {
    let request = UpdateSecretVersionStageRequest {
        secret_name: "db".into(),
        version_stage: stage.into(),
        remove_from_version: remove.map(Into::into),
        move_to_version: to.map(Into::into),
    };
    stage_ops::update_version_stage(&fx.kms, &request).map(|_| ())
}

fn listed(fx: &Fixture, include_deprecated: bool) -> Vec<String> {
    let request = ListSecretVersionIdsRequest {
        secret_name: "db".into(),
        include_deprecated,
        page_number: None,
        page_size: None,
    };
    read::list_version_ids(&fx.kms, &request).unwrap().version_ids.into_iter().map(|v| v.version_id).collect()
}

#[test]
fn a_new_current_version_leaves_the_old_one_previous() {
    let fx = Fixture::new();
    create(&fx, "db", "one");
    assert_eq!(stages(&fx, "db"), expect(&[("v1", &["ACSCurrent"])]));
    let put2 = put(&fx, "db", "v2", "two", None).unwrap();
    assert_eq!(put2.version_stages, ["ACSCurrent"]);
    put(&fx, "db", "v3", "three", None).unwrap();
    assert_eq!(stages(&fx, "db"), expect(&[("v1", &[]), ("v2", &["ACSPrevious"]), ("v3", &["ACSCurrent"])]));
    assert_eq!(get(&fx, "db", None, None).unwrap(), "three");
    assert_eq!(get(&fx, "db", None, Some("ACSPrevious")).unwrap(), "two");
    assert_eq!(get(&fx, "db", Some("v1"), None).unwrap(), "one");
    assert_eq!(code(get(&fx, "db", Some("v9"), None)), ErrorCode::ResourceNotFound);
    assert_eq!(code(get(&fx, "db", Some("v1"), Some("ACSCurrent"))), ErrorCode::ResourceNotFound);
    // A version with other stages leaves ACSCurrent where it is.
    put(&fx, "db", "v4", "four", Some(&["blue"])).unwrap();
    assert_eq!(get(&fx, "db", None, None).unwrap(), "three");
    assert_eq!(get(&fx, "db", None, Some("blue")).unwrap(), "four");
    super::assert_reloads(&fx);
}

#[test]
fn a_put_is_idempotent_by_version_id() {
    let fx = Fixture::new();
    create(&fx, "db", "one");
    put(&fx, "db", "v2", "two", None).unwrap();
    let (journal, updated) = (fx.journal_len(), secret(&fx, "db").record.updated_at);
    fx.kms.clock.advance(60).unwrap();
    let again = put(&fx, "db", "v2", "two", None).unwrap();
    assert_eq!(again.version_stages, ["ACSCurrent"]);
    assert_eq!(fx.journal_len(), journal, "the same value again adds nothing");
    assert_eq!(secret(&fx, "db").record.updated_at, updated, "nor changes UpdateTime");
    assert_eq!(code(put(&fx, "db", "v2", "other", None)), ErrorCode::ResourceExist);
    assert_eq!(code(put(&fx, "db", "v1", "uno", Some(&["x"]))).to_string(), "Rejected.ResourceExist");
    assert_eq!(get(&fx, "db", Some("v2"), None).unwrap(), "two");
}

#[test]
fn a_full_secret_loses_its_oldest_version_without_a_stage() {
    let fx = Fixture::new();
    create(&fx, "db", "value 1");
    for i in 2..=10 {
        put(&fx, "db", &format!("v{i}"), &format!("value {i}"), None).unwrap();
    }
    assert_eq!(secret(&fx, "db").versions.len(), 10);
    // v9 holds ACSPrevious, v10 ACSCurrent; give v1 a stage, so v2 is the
    // oldest without one.
    put(&fx, "db", "v11", "value 11", None).unwrap();
    let ids: Vec<String> = stages(&fx, "db").into_iter().map(|(v, _)| v).collect();
    assert_eq!(ids.len(), 10);
    assert_eq!(ids.first().map(String::as_str), Some("v2"), "v1 went first");
    update(&fx, "keep", None, Some("v2")).unwrap();
    put(&fx, "db", "v12", "value 12", None).unwrap();
    let ids: Vec<String> = stages(&fx, "db").into_iter().map(|(v, _)| v).collect();
    assert_eq!(&ids[..2], ["v2", "v4"], "v3 went: v2 has a stage");
    assert_eq!(code(get(&fx, "db", Some("v3"), None)), ErrorCode::ResourceNotFound);
    super::assert_reloads(&fx);
}

#[test]
fn a_put_is_refused_when_every_version_has_a_stage() {
    let mut config = Config::default();
    config.secrets.max_versions = 3;
    let fx = Fixture::with_config(config);
    create(&fx, "db", "one");
    put(&fx, "db", "v2", "two", None).unwrap();
    put(&fx, "db", "v3", "three", Some(&["green"])).unwrap();
    assert_eq!(stages(&fx, "db"), expect(&[("v1", &["ACSPrevious"]), ("v2", &["ACSCurrent"]), ("v3", &["green"])]));
    let journal = fx.journal_len();
    let refused = put(&fx, "db", "v4", "four", Some(&["blue"])).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::LimitExceeded);
    assert!(refused.to_string().contains("every one has a stage"), "{refused}");
    assert_eq!(fx.journal_len(), journal, "nothing written");
    assert_eq!(code(get(&fx, "db", Some("v4"), None)), ErrorCode::ResourceNotFound);
    update(&fx, "green", Some("v3"), None).unwrap();
    put(&fx, "db", "v4", "four", Some(&["blue"])).unwrap();
    assert_eq!(stages(&fx, "db"), expect(&[("v1", &["ACSPrevious"]), ("v2", &["ACSCurrent"]), ("v4", &["blue"])]));
}

#[test]
fn a_secret_carries_at_most_eight_stages() {
    let fx = Fixture::new();
    create(&fx, "db", "one");
    put(&fx, "db", "v2", "two", None).unwrap();
    for i in 0..6 {
        update(&fx, &format!("s{i}"), None, Some("v1")).unwrap();
    }
    assert_eq!(secret(&fx, "db").stage_count(), 8);
    assert_eq!(code(update(&fx, "s6", None, Some("v2"))), ErrorCode::LimitExceeded);
    assert_eq!(code(put(&fx, "db", "v3", "three", Some(&["ACSCurrent", "s7"]))), ErrorCode::LimitExceeded);
    // Moving a stage it has keeps the count.
    update(&fx, "s0", None, Some("v2")).unwrap();
    assert_eq!(secret(&fx, "db").stage_count(), 8);
}

#[test]
fn stages_move_one_version_at_a_time_and_acscurrent_is_never_removed() {
    let fx = Fixture::new();
    create(&fx, "db", "one");
    put(&fx, "db", "v2", "two", None).unwrap();
    for stage in ["ACSCurrent", "ACSPrevious"] {
        assert_eq!(code(update(&fx, stage, Some("v2"), None)), ErrorCode::InvalidParameter, "{stage}");
    }
    assert_eq!(code(update(&fx, "x", None, None)), ErrorCode::InvalidParameter);
    assert_eq!(code(update(&fx, "blue", Some("v1"), None)), ErrorCode::InvalidParameter, "v1 has no 'blue'");
    assert_eq!(code(update(&fx, "blue", None, Some("v9"))), ErrorCode::ResourceNotFound);
    update(&fx, "blue", None, Some("v1")).unwrap();
    update(&fx, "blue", Some("v1"), Some("v2")).unwrap();
    assert_eq!(stages(&fx, "db"), expect(&[("v1", &["ACSPrevious"]), ("v2", &["ACSCurrent", "blue"])]));
    // Moving ACSCurrent back: the version that had it gets ACSPrevious.
    update(&fx, "ACSCurrent", Some("v2"), Some("v1")).unwrap();
    assert_eq!(stages(&fx, "db"), expect(&[("v1", &["ACSCurrent"]), ("v2", &["blue", "ACSPrevious"])]));
    assert_eq!(get(&fx, "db", None, None).unwrap(), "one");
    update(&fx, "blue", Some("v2"), None).unwrap();
    assert_eq!(stages(&fx, "db"), expect(&[("v1", &["ACSCurrent"]), ("v2", &["ACSPrevious"])]));
    super::assert_reloads(&fx);
}

#[test]
fn deprecated_versions_are_listed_only_when_asked_for() {
    let fx = Fixture::new();
    create(&fx, "db", "one");
    put(&fx, "db", "v2", "two", None).unwrap();
    put(&fx, "db", "v3", "three", None).unwrap();
    assert_eq!(listed(&fx, false), ["v2", "v3"]);
    assert_eq!(listed(&fx, true), ["v1", "v2", "v3"]);
    let page = read::list_version_ids(
        &fx.kms,
        &ListSecretVersionIdsRequest {
            secret_name: "db".into(),
            include_deprecated: true,
            page_number: Some(2),
            page_size: Some(2),
        },
    )
    .unwrap();
    assert_eq!((page.version_ids.len(), page.total_count, page.page_number), (1, 3, 2));
}

#[test]
fn every_change_moves_update_time_and_reads_do_not() {
    use p11kms_proto::admin::UpdateSecretRequest;

    use crate::kms::secrets::lifecycle;

    let fx = Fixture::new();
    create(&fx, "db", "one");
    let mut last = secret(&fx, "db").record.updated_at;
    let mut step = |what: &str, change: &dyn Fn()| {
        fx.kms.clock.advance(10).unwrap();
        change();
        let now = secret(&fx, "db").record.updated_at;
        assert!(now > last, "{what} moved UpdateTime");
        last = now;
    };
    step("a put", &|| drop(put(&fx, "db", "v2", "two", None).unwrap()));
    step("a stage", &|| update(&fx, "blue", None, Some("v1")).unwrap());
    step("a description", &|| {
        let request = UpdateSecretRequest {
            secret_name: "db".into(),
            description: Some("d".into()),
            extended_config_custom_data: None,
        };
        lifecycle::update(&fx.kms, &request).unwrap();
    });
    step("a tag", &|| lifecycle::tag(&fx.kms, "db", &[crate::kms::tests::tag("team", "pay")]).unwrap());
    step("an untag", &|| lifecycle::untag(&fx.kms, "db", &["team".into()]).unwrap());
    fx.kms.clock.advance(10).unwrap();
    get(&fx, "db", None, None).unwrap();
    assert_eq!(secret(&fx, "db").record.updated_at, last, "a read changes nothing");
}
