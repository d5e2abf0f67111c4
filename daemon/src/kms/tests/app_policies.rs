//! App access policies as the KMS keeps them (`apps.rs`, `policy/`): an
//! app made without a policy may do nothing; a given policy is checked
//! (shape, actions, resources of another instance) and stored; an update
//! is in force in the registry at once, survives a reload and is
//! journaled. Deciding calls is `policy/tests.rs`'s.

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{InstanceKind, KeySpec};

use super::code;
use crate::kms::apps;
use crate::kms::instances;
use crate::kms::policy::{Action, FULL_ACCESS, NO_ACCESS, Subject};
use crate::kms::testing::{CLUSTER, Fixture, INSTANCE};

fn allow(action: &str, resource: &str) -> String {
    format!(r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#)
}

fn may_sign(fx: &Fixture, app: &str, key: &str) -> bool {
    let policy = fx.kms.registry().unwrap().app_policy(app).expect("the app's policy");
    policy.allows(Action::Sign, &Subject::Key { id: key, aliases: &[], tags: &[], own: false })
}

#[test]
fn an_app_without_a_policy_may_do_nothing_and_all_allows_everything() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::EcP256).record.key_id;
    apps::create(&fx.kms, "quiet", INSTANCE, None).unwrap();
    apps::create(&fx.kms, "open", INSTANCE, Some(FULL_ACCESS)).unwrap();
    assert_eq!(fx.kms.registry().unwrap().app("quiet").unwrap().policy, NO_ACCESS);
    assert!(!may_sign(&fx, "quiet", &key));
    assert!(may_sign(&fx, "open", &key));
    assert_eq!(fx.reloaded().app("open").unwrap().policy, FULL_ACCESS, "stored");
}

#[test]
fn an_updated_policy_is_in_force_at_once_stored_and_journaled() {
    let fx = Fixture::new();
    let (a, b) = (fx.create(KeySpec::EcP256).record.key_id, fx.create(KeySpec::EcP256).record.key_id);
    apps::create(&fx.kms, "web", INSTANCE, Some(&allow("kms:Sign", &format!("key/{a}")))).unwrap();
    assert!(may_sign(&fx, "web", &a) && !may_sign(&fx, "web", &b));
    let journal = fx.journal_len();
    let info = apps::update_policy(&fx.kms, "web", &allow("kms:Sign", &format!("key/{b}"))).unwrap();
    assert!(info.policy.contains(&b));
    assert!(!may_sign(&fx, "web", &a) && may_sign(&fx, "web", &b), "the registry answers with the new policy");
    assert_eq!(fx.journal_len(), journal + 1, "one journal entry");
    assert!(fx.reloaded().app("web").unwrap().policy.contains(&b), "the store has it");
}

#[test]
fn bad_policies_are_refused_and_change_nothing() {
    let fx = Fixture::new();
    apps::create(&fx.kms, "web", INSTANCE, Some(FULL_ACCESS)).unwrap();
    for bad in [
        "{".to_owned(),
        allow("kms:Sigh", "*"),
        allow("kms:Sign", "keys/x"),
        r#"{"Version":"1","Statement":[],"Extra":true}"#.to_owned(),
    ] {
        assert_eq!(code(apps::update_policy(&fx.kms, "web", &bad)), ErrorCode::InvalidParameter, "{bad}");
        assert_eq!(code(apps::create(&fx.kms, "other", INSTANCE, Some(&bad))), ErrorCode::InvalidParameter);
    }
    assert_eq!(fx.kms.registry().unwrap().app("web").unwrap().policy, FULL_ACCESS, "unchanged");
    assert!(fx.kms.registry().unwrap().app("other").is_err(), "not created");
    assert_eq!(code(apps::update_policy(&fx.kms, "nobody", FULL_ACCESS)), ErrorCode::ResourceNotFound);
}

#[test]
fn resources_of_another_instance_are_refused_by_name() {
    let fx = Fixture::new();
    instances::create(&fx.kms, "other", InstanceKind::Hardware, CLUSTER).unwrap();
    let mut new = fx.new_key(KeySpec::Aes256);
    new.instance = "other".into();
    new.alias = Some("alias/elsewhere".into());
    let theirs = fx.create_with(new).record.key_id;
    let mine = fx.create(KeySpec::Aes256).record.key_id;
    apps::create(&fx.kms, "web", INSTANCE, None).unwrap();
    for resource in [format!("key/{theirs}"), "alias/elsewhere".to_owned()] {
        let refused = apps::update_policy(&fx.kms, "web", &allow("kms:Encrypt", &resource)).unwrap_err();
        assert!(refused.to_string().contains("instance 'other'"), "{resource}: {refused}");
    }
    // Its own keys, patterns and keys not made yet are fine.
    for resource in [format!("key/{mine}"), "key/key-*".to_owned(), "key/key-not-yet".to_owned()] {
        apps::update_policy(&fx.kms, "web", &allow("kms:Encrypt", &resource)).unwrap();
    }
}
