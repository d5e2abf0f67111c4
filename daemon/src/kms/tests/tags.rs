//! Tags (`keys/tags.rs` through `lifecycle::tag` and `untag`, and `key
//! create`): tagging merges, overwriting the values of keys already there;
//! at most 20 per key, counted after the merge; keys of 1 to 128
//! characters outside the reserved `aliyun` and `acs:` prefixes (any
//! case), values of at most 128; untag removes by key and ignores absent
//! keys; a refused change leaves the tags as they were; tags survive a
//! restart.

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{KeySpec, Tag};

use super::{code, tag};
use crate::kms::keys::lifecycle;
use crate::kms::testing::Fixture;

fn tags(fx: &Fixture, key: &str) -> Vec<Tag> {
    fx.key(key).record.tags
}

fn many(prefix: &str, n: usize) -> Vec<Tag> {
    (0..n).map(|i| tag(&format!("{prefix}{i:02}"), "v")).collect()
}

#[test]
fn tagging_merges_and_overwrites() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    lifecycle::tag(&fx.kms, &key, &[tag("team", "a"), tag("env", "prod")]).expect("tags");
    let journal = fx.journal_len();
    lifecycle::tag(&fx.kms, &key, &[tag("team", "b"), tag("cost", "42")]).expect("tags");
    assert!(fx.journal_len() > journal);
    assert_eq!(tags(&fx, &key), vec![tag("cost", "42"), tag("env", "prod"), tag("team", "b")]);
    assert_eq!(fx.reloaded().key(&key).unwrap().record.tags, tags(&fx, &key), "and after a restart");
    fx.assert_consistent();
}

#[test]
fn untag_removes_by_key_and_ignores_absent_keys() {
    let fx = Fixture::new();
    let mut new = fx.new_key(KeySpec::Aes256);
    new.tags = vec![tag("b", "2"), tag("a", "1"), tag("c", "3")];
    let key = fx.create_with(new).record.key_id;
    assert_eq!(tags(&fx, &key), vec![tag("a", "1"), tag("b", "2"), tag("c", "3")], "kept sorted");
    lifecycle::untag(&fx.kms, &key, &["a".into(), "nope".into()]).expect("untags");
    assert_eq!(tags(&fx, &key), vec![tag("b", "2"), tag("c", "3")]);
    lifecycle::untag(&fx.kms, &key, &["b".into(), "c".into()]).expect("untags");
    assert!(tags(&fx, &key).is_empty());
    fx.assert_consistent();
}

#[test]
fn a_key_carries_at_most_20_tags_after_the_merge() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    lifecycle::tag(&fx.kms, &key, &many("k", 19)).expect("19 tags");
    let before = tags(&fx, &key);
    assert_eq!(code(lifecycle::tag(&fx.kms, &key, &many("new", 2))), ErrorCode::InvalidParameter, "21 after the merge");
    assert_eq!(tags(&fx, &key), before, "a refused change leaves the tags alone");
    lifecycle::tag(&fx.kms, &key, &many("new", 1)).expect("the 20th");
    // Overwriting values keeps the count: still allowed at 20.
    lifecycle::tag(&fx.kms, &key, &[tag("k00", "changed")]).expect("overwrites at the limit");
    assert_eq!(tags(&fx, &key).len(), 20);
    assert_eq!(code(lifecycle::tag(&fx.kms, &key, &[tag("one-more", "x")])), ErrorCode::InvalidParameter);

    let mut new = fx.new_key(KeySpec::Aes256);
    new.tags = many("k", 21);
    assert_eq!(code(crate::kms::keys::create(&fx.kms, new)), ErrorCode::InvalidParameter, "create with 21");
    let mut new = fx.new_key(KeySpec::Aes256);
    new.tags = many("k", 20);
    assert_eq!(fx.create_with(new).record.tags.len(), 20, "create with 20");
}

#[test]
fn reserved_prefixes_and_lengths_are_refused() {
    let fx = Fixture::new();
    let key = fx.create(KeySpec::Aes256).record.key_id;
    let long_key = "k".repeat(129);
    let bad = [
        tag("aliyun", "x"),
        tag("aliyun:owner", "x"),
        tag("ALIYUNx", "x"),
        tag("acs:service", "x"),
        tag("ACS:x", "x"),
        tag("", "x"),
        tag(&long_key, "x"),
        tag("k", &"v".repeat(129)),
    ];
    for t in &bad {
        assert_eq!(code(lifecycle::tag(&fx.kms, &key, std::slice::from_ref(t))), ErrorCode::InvalidParameter, "{t:?}");
        let mut new = fx.new_key(KeySpec::Aes256);
        new.tags = vec![t.clone()];
        assert_eq!(code(crate::kms::keys::create(&fx.kms, new)), ErrorCode::InvalidParameter, "create {t:?}");
    }
    assert_eq!(
        code(lifecycle::tag(&fx.kms, &key, &[tag("dup", "1"), tag("dup", "2")])),
        ErrorCode::InvalidParameter,
        "one key twice"
    );
    assert!(tags(&fx, &key).is_empty());
    // The prefixes are reserved, not the words.
    lifecycle::tag(&fx.kms, &key, &[tag("my-aliyun", "x"), tag("acs", "x"), tag(&"k".repeat(128), &"v".repeat(128))])
        .expect("allowed");
    assert_eq!(tags(&fx, &key).len(), 3);
    assert_eq!(fx.kms.registry().unwrap().keys().count(), 1, "no refused create made a key");
}
