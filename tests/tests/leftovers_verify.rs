//! Leftovers of a creation killed before its commit that a member refuses
//! to destroy (here: the member's copy is a key SoftHSM must not destroy,
//! `CKA_DESTROYABLE` false) stay marked by their creation intent:
//! `cluster verify` and `cluster status` list them apart from real
//! differences (which still count), and the cluster stays consistent;
//! leftovers of the same creation that show up later are destroyed by
//! `cluster resync`.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::mechanism::Mechanism;
use cryptoki::object::Attribute;
use serde_json::Value;

use p11kms_tests::{Daemon, MemberTokens};

fn orphans_on(report: &Value, index: u64) -> usize {
    let members = report["Members"].as_array().expect("members");
    members.iter().find(|m| m["Index"] == index).expect("member")["Orphans"].as_array().expect("orphans").len()
}

#[test]
fn leftovers_a_member_cannot_drop_yet_are_listed_apart_until_resync_destroys_them() {
    let config = tempfile::tempdir().expect("config dir");
    let config_file = config.path().join("p11kmsd.toml");
    // One scheduler pass at start, none during the test: the resync below
    // is the one that heals.
    std::fs::write(&config_file, "[keys]\nscheduler_interval_seconds = 3600\n").expect("config");
    let mut daemon = Daemon::start_with(&["--test-clock", "--config", config_file.to_str().expect("path")]);
    let kept = daemon.create_key(&["--key-spec", "AES_256"]);
    let tokens = MemberTokens::open(&daemon);
    let known = tokens.version_ids(0);
    daemon.set_env("P11KMS_TEST_CRASH_AT", Some("version-written"));
    daemon.restart();
    let (code, _, _) = daemon.cli_outcome(&["key", "create", "--instance", "hsm1", "--key-spec", "AES_256"]);
    assert_ne!(code, Some(0), "the crash point ended the daemon");
    let crashed: Vec<Vec<u8>> = tokens.version_ids(0).difference(&known).cloned().collect();
    assert_eq!(crashed.len(), 1, "the crashed version is on the primary");
    let crashed = crashed[0].clone();

    // Mirror 2 holds its copy as an object it must not destroy.
    let session = tokens.session(2);
    for object in session.find_objects(&[Attribute::Id(crashed.clone())]).expect("find") {
        session.destroy_object(object).expect("destroy");
    }
    session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::ValueLen(32.into()),
                Attribute::Id(crashed.clone()),
                Attribute::Destroyable(false),
            ],
        )
        .expect("a key that cannot be destroyed");

    daemon.set_env("P11KMS_TEST_CRASH_AT", None);
    daemon.restart();
    assert!(daemon.log().contains("members to clear later"), "{}", daemon.log());
    let (code, report) = daemon.cli_json_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!(code, Some(0), "leftovers are no difference: {report}");
    assert_eq!((orphans_on(&report, 0), orphans_on(&report, 1), orphans_on(&report, 2)), (0, 0, 1), "{report}");
    let members = report["Members"].as_array().expect("members");
    assert!(members.iter().all(|m| m["Unexpected"].as_array().expect("unexpected").is_empty()), "{report}");
    let (_, text, _) = daemon.cli_outcome(&["cluster", "verify", "hsm1"]);
    assert!(text.contains("leftover (to destroy)"), "{text}");
    let status = daemon.cli_json(&["cluster", "status", "hsm1"]);
    let third = status["Members"].as_array().expect("members").iter().find(|m| m["Index"] == 2).cloned();
    let third = third.expect("member 2");
    assert_eq!((third["Orphans"].as_u64(), third["InSync"].as_bool()), (Some(1), Some(true)), "{status}");
    // A real difference is not hidden by the leftovers: an object nobody
    // announced makes the cluster inconsistent.
    let mirror = tokens.session(1);
    let stranger = mirror
        .generate_key(
            &Mechanism::AesKeyGen,
            &[Attribute::Token(true), Attribute::ValueLen(32.into()), Attribute::Id(vec![7; 16])],
        )
        .expect("an object nobody announced");
    let (code, report) = daemon.cli_json_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!(code, Some(5), "{report}");
    let unexpected = &report["Members"][1]["Unexpected"];
    assert_eq!(unexpected.as_array().map(Vec::len), Some(1), "{report}");
    mirror.destroy_object(stranger).expect("gone again");

    // The intent outlives the start: leftovers that show up later (here a
    // destroyable copy on mirror 1, as a member restored from old token
    // files would bring back) are destroyed by a resync; the copy mirror 2
    // refuses to give up stays listed apart.
    mirror
        .generate_key(
            &Mechanism::AesKeyGen,
            &[Attribute::Token(true), Attribute::ValueLen(32.into()), Attribute::Id(crashed.clone())],
        )
        .expect("a leftover that shows up again");
    let (_, report) = daemon.cli_json_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!(orphans_on(&report, 1), 1, "{report}");
    let (code, out, err) = daemon.cli_outcome(&["--json", "cluster", "resync", "hsm1"]);
    assert_eq!(code, Some(0), "leftovers do not make a cluster less whole: {out}{err}");
    let healed: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(healed["OrphansDestroyed"].as_array().expect("destroyed").len(), 1, "{healed}");
    let (code, report) = daemon.cli_json_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!((orphans_on(&report, 1), orphans_on(&report, 2)), (0, 1), "{report}");
    assert!(!tokens.version_ids(1).contains(&crashed), "gone from mirror 1's token files");
    assert!(tokens.version_ids(2).contains(&crashed), "mirror 2 still refuses");
    daemon.restart();
    let (code, report) = daemon.cli_json_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!((code, orphans_on(&report, 2)), (Some(0), 1), "and after a restart: {report}");
    assert_eq!(daemon.version_ids(&kept).len(), 1);
}
