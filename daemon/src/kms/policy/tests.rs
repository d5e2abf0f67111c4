//! Policies: what parses, and how calls are decided.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use p11kms_proto::admin::Tag;

use super::action::Action;
use super::document::{FULL_ACCESS, NO_ACCESS, parse};
use super::evaluate::Subject;

fn tag(key: &str, value: &str) -> Tag {
    Tag { tag_key: key.into(), tag_value: value.into() }
}

fn key<'a>(id: &'a str, aliases: &'a [String], tags: &'a [Tag]) -> Subject<'a> {
    Subject::Key { id, aliases, tags, own: false }
}

fn policy(statements: &str) -> super::Document {
    parse(&format!(r#"{{"Version":"1","Statement":[{statements}]}}"#)).unwrap()
}

#[test]
fn deny_by_default_and_an_explicit_statement_allows() {
    let none = parse(NO_ACCESS).unwrap();
    assert!(!none.allows(Action::Sign, &key("key-1", &[], &[])));
    assert!(!none.reveals(&key("key-1", &[], &[])));
    let all = parse(FULL_ACCESS).unwrap();
    assert!(all.allows(Action::Sign, &key("key-1", &[], &[])));
    assert!(all.allows(Action::GetSecretValue, &Subject::Secret { name: "db", tags: &[] }));
    assert!(all.allows(Action::CreateKey, &Subject::Instance));

    let p = policy(r#"{"Effect":"Allow","Action":["kms:Sign"],"Resource":["key/key-1"]}"#);
    assert!(p.allows(Action::Sign, &key("key-1", &[], &[])));
    assert!(!p.allows(Action::Verify, &key("key-1", &[], &[])), "another action");
    assert!(!p.allows(Action::Sign, &key("key-2", &[], &[])), "another key");
    assert!(p.reveals(&key("key-1", &[], &[])) && !p.reveals(&key("key-2", &[], &[])));
}

#[test]
fn aliases_secrets_and_tags_are_matched_as_they_are_now() {
    let p = policy(
        r#"{"Effect":"Allow","Action":"kms:Sign","Resource":"alias/pay*"},
           {"Effect":"Allow","Action":"kms:GetSecretValue","Resource":["secret/db/*","tag:team=payments"]},
           {"Effect":"Allow","Action":"kms:Decrypt","Resource":"tag:team=pay*"}"#,
    );
    let aliases = vec!["alias/other".to_owned(), "alias/payments".to_owned()];
    assert!(p.allows(Action::Sign, &key("key-1", &aliases, &[])));
    assert!(!p.allows(Action::Sign, &key("key-1", &aliases[..1], &[])), "the alias moved away");
    assert!(p.allows(Action::GetSecretValue, &Subject::Secret { name: "db/orders", tags: &[] }));
    assert!(!p.allows(Action::GetSecretValue, &Subject::Secret { name: "dbx", tags: &[] }));
    let payments = [tag("team", "payments")];
    assert!(p.allows(Action::GetSecretValue, &Subject::Secret { name: "api", tags: &payments }));
    assert!(p.allows(Action::Decrypt, &key("key-9", &[], &payments)));
    assert!(!p.allows(Action::Decrypt, &key("key-9", &[], &[tag("team", "web")])), "the tag changed");
    assert!(!p.allows(Action::Decrypt, &key("key-9", &[], &[tag("owner", "payments")])), "another tag key");
}

#[test]
fn a_deny_wins_over_every_allow() {
    let p = policy(
        r#"{"Effect":"Allow","Action":"kms:*","Resource":"*"},
           {"Effect":"Deny","Action":["kms:Decrypt"],"Resource":"key/key-secret*"}"#,
    );
    assert!(p.allows(Action::Encrypt, &key("key-secret-1", &[], &[])));
    assert!(!p.allows(Action::Decrypt, &key("key-secret-1", &[], &[])));
    assert!(p.allows(Action::Decrypt, &key("key-public-1", &[], &[])));
}

#[test]
fn actions_apply_to_their_kind_of_resource_only() {
    let p = policy(r#"{"Effect":"Allow","Action":"kms:*","Resource":"secret/*"}"#);
    assert!(!p.allows(Action::Sign, &key("key-1", &[], &[])), "secret/* names no key");
    assert!(!p.allows(Action::CreateKey, &Subject::Instance));
    let p = policy(r#"{"Effect":"Allow","Action":"kms:GetSecretValue","Resource":"key/*"}"#);
    assert!(!p.allows(Action::GetSecretValue, &Subject::Secret { name: "db", tags: &[] }));
}

#[test]
fn an_app_that_may_create_keys_may_use_its_own() {
    let p = policy(r#"{"Effect":"Allow","Action":"kms:CreateKey","Resource":"key/*"}"#);
    assert!(p.allows(Action::CreateKey, &Subject::Instance));
    let own = Subject::Key { id: "key-1", aliases: &[], tags: &[], own: true };
    assert!(p.allows(Action::Sign, &own) && p.reveals(&own));
    assert!(!p.allows(Action::Sign, &key("key-1", &[], &[])), "not a key it made");
    let denied = policy(
        r#"{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*"},
           {"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}"#,
    );
    assert!(!denied.allows(Action::Decrypt, &own), "a deny still wins");
    let no_create = policy(r#"{"Effect":"Allow","Action":"kms:Sign","Resource":"key/other"}"#);
    assert!(!no_create.allows(Action::Sign, &own));
}

#[test]
fn malformed_documents_are_refused_saying_where() {
    for (text, says) in [
        ("not json", "not a policy document"),
        (r#"{"Version":"2","Statement":[]}"#, "only version"),
        (r#"{"Version":"1"}"#, "Statement"),
        (r#"{"Version":"1","Statement":[],"Extra":1}"#, "Extra"),
        (r#"{"Version":"1","Statement":[{"Effect":"Maybe","Action":"kms:Sign","Resource":"*"}]}"#, "statement 1"),
        (r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:Sigh","Resource":"*"}]}"#, "kms:Sigh"),
        (r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#, "at least one"),
        (r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:Sign","Resource":"keys/x"}]}"#, "keys/x"),
        (r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:Sign","Resource":"key/"}]}"#, "empty pattern"),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:Sign","Resource":"tag:team"}]}"#,
            "tag:<key>=<value>",
        ),
        (
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:Sign","Resource":"tag:t*=x"}]}"#,
            "without wildcards",
        ),
    ] {
        let why = parse(text).expect_err(text);
        assert!(why.contains(says), "{text}: {why}");
    }
    let many = vec![r#"{"Effect":"Allow","Action":"kms:Sign","Resource":"*"}"#; 101].join(",");
    assert!(parse(&format!(r#"{{"Version":"1","Statement":[{many}]}}"#)).unwrap_err().contains("at most 100"));
}

#[test]
fn an_empty_tag_value_is_a_value() {
    let p = policy(r#"{"Effect":"Allow","Action":"kms:Sign","Resource":"tag:reviewed="}"#);
    assert!(p.allows(Action::Sign, &key("k", &[], &[tag("reviewed", "")])));
    assert!(!p.allows(Action::Sign, &key("k", &[], &[tag("reviewed", "no")])));
}
