//! A cluster keeps serving and heals itself when members lose key objects.
//!
//! The faults are real: the test opens the cluster's token directory with
//! SoftHSM itself (as another process on the same files) and destroys key
//! objects behind the daemon's back, on a mirror and on the primary.
//! Clients keep signing and decrypting through the module without a single
//! failure; `cluster verify` reports each missing version; `cluster resync`
//! and the daemon's own pass copy them back from members that hold them.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use serde_json::Value;

use p11kms_tests::{Daemon, MemberTokens, hsm1, load_module};

/// Destroys every object of these versions on member `index`; returns how
/// many were destroyed.
fn destroy_versions(tokens: &MemberTokens, index: u32, versions: &[[u8; 16]]) -> usize {
    let session = tokens.session(index);
    let mut destroyed = 0;
    for version in versions {
        for object in session.find_objects(&[Attribute::Id(version.to_vec())]).expect("find") {
            session.destroy_object(object).expect("destroy");
            destroyed += 1;
        }
    }
    destroyed
}

fn missing_on(report: &Value, index: u64) -> usize {
    report["Members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["Index"] == index)
        .map(|m| m["Missing"].as_array().expect("missing").len())
        .expect("member")
}

#[test]
fn members_that_lose_keys_are_reported_served_around_and_healed() {
    let config = tempfile::tempdir().expect("config dir");
    let config_file = config.path().join("p11kmsd.toml");
    std::fs::write(&config_file, "[keys]\nscheduler_interval_seconds = 1\n[hsm]\nresync_interval_seconds = 1\n")
        .expect("config");
    let daemon = Daemon::start_with(&["--config", config_file.to_str().expect("path")]);
    let pin = daemon.create_app("steady", "hsm1");
    let ctx = load_module(&daemon);
    let session = ctx.open_rw_session(hsm1(&ctx)).expect("session");
    session.login(UserType::User, Some(&AuthPin::from(pin))).expect("login");

    let p256 = vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let (public, private) = session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[Attribute::Token(true), Attribute::EcParams(p256), Attribute::Verify(true)],
            &[Attribute::Token(true), Attribute::Label(b"durable-ec".to_vec()), Attribute::Sign(true)],
        )
        .expect("EC key");
    let aes = session
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Token(true),
                Attribute::ValueLen(32.into()),
                Attribute::Label(b"durable-aes".to_vec()),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
            ],
        )
        .expect("AES key");
    let cbc = Mechanism::AesCbcPad([8; 16]);
    let sealed = session.encrypt(&cbc, aes, b"kept through faults").expect("encrypt");
    let (code, report) = daemon.cli_json_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!((code, report["Consistent"].as_bool()), (Some(0), Some(true)), "{report}");
    assert_eq!(report["ExpectedVersions"], 2);

    let versions = [daemon.version_ids("alias/durable-ec"), daemon.version_ids("alias/durable-aes")].concat();
    assert_eq!(versions.len(), 2);
    let tokens = MemberTokens::open(&daemon);

    // Clients work on through each fault.
    let work = |what: &str| {
        let digest = [0x42; 32];
        let signature =
            session.sign(&Mechanism::Ecdsa, private, &digest).unwrap_or_else(|e| panic!("sign {what}: {e}"));
        session.verify(&Mechanism::Ecdsa, public, &digest, &signature).unwrap_or_else(|e| panic!("verify {what}: {e}"));
        let plain = session.decrypt(&cbc, aes, &sealed).unwrap_or_else(|e| panic!("decrypt {what}: {e}"));
        assert_eq!(plain, b"kept through faults");
        session.encrypt(&cbc, aes, b"more").unwrap_or_else(|e| panic!("encrypt {what}: {e}"));
        let found = session
            .find_objects(&[Attribute::Label(b"durable-ec".to_vec()), Attribute::Class(ObjectClass::PRIVATE_KEY)])
            .unwrap_or_else(|e| panic!("find {what}: {e}"));
        assert_eq!(found, vec![private]);
    };
    work("before any fault");

    // A mirror loses everything; verify names each loss.
    assert_eq!(destroy_versions(&tokens, 1, &versions), 3, "EC pair and AES key on mirror 1");
    work("with mirror 1 damaged");
    let (code, report) = daemon.cli_json_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!(code, Some(5), "verify exits 5 on a difference: {report}");
    assert_eq!(report["Consistent"], false);
    assert_eq!(missing_on(&report, 1), 2, "{report}");
    assert_eq!(missing_on(&report, 0), 0);
    let status = daemon.cli_json(&["cluster", "status", "hsm1"]);
    let lagging = status["Members"].as_array().expect("members").iter().find(|m| m["Index"] == 1).cloned();
    let lagging = lagging.expect("member 1");
    assert_eq!((lagging["InSync"].as_bool(), lagging["MissingVersions"].as_u64()), (Some(false), Some(2)), "{status}");
    assert!(lagging["LastSync"].is_string(), "it was in sync before: {status}");

    // The primary loses them too: the mirror that still has them serves.
    assert_eq!(destroy_versions(&tokens, 0, &versions), 3);
    for round in 0..20 {
        work(&format!("with the primary damaged, round {round}"));
    }

    // Resync copies from the member that holds them (mirror 2).
    let healed = daemon.cli_json(&["cluster", "resync", "hsm1"]);
    assert!(healed["Copied"].as_u64().is_some_and(|n| n >= 2), "{healed}");
    let (code, report) = daemon.cli_json_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!((code, report["Consistent"].as_bool()), (Some(0), Some(true)), "{report}");
    work("after the resync");

    // The daemon heals on its own, too.
    assert_eq!(destroy_versions(&tokens, 2, &versions), 3);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, report) = daemon.cli_json_outcome(&["cluster", "verify", "hsm1"]);
        if code == Some(0) {
            break;
        }
        assert!(Instant::now() < deadline, "not healed within 30 s: {report}");
        std::thread::sleep(Duration::from_millis(250));
    }
    let status = daemon.cli_json(&["cluster", "status", "hsm1"]);
    for member in status["Members"].as_array().expect("members") {
        assert_eq!(member["InSync"], true, "{status}");
    }
    work("after the daemon healed mirror 2");
}
