//! The primary's token is destroyed while the daemon runs (its token
//! directory deleted): reads fail over to the mirrors, the next write
//! promotes an in-sync mirror, and the cluster carries on with the roles
//! recorded. Everything through the operator's CLI; the PKCS#11 side of
//! failover is in `cluster_sync.rs`.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use p11kms_tests::Daemon;

fn member(status: &serde_json::Value, index: u64) -> serde_json::Value {
    status["Members"].as_array().expect("members").iter().find(|m| m["Index"] == index).cloned().expect("member")
}

#[test]
fn losing_the_primary_token_loses_no_key_and_no_request() {
    let mut daemon = Daemon::start();
    daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/kept-aes"]);
    daemon.create_key(&["--key-spec", "EC_P256", "--alias", "alias/kept-ec"]);
    let blob =
        daemon.cli_json(&["encrypt", "--key-id", "alias/kept-aes", "--plaintext", "before the loss"])["CiphertextBlob"]
            .as_str()
            .expect("blob")
            .to_owned();
    let version = daemon.key_field("alias/kept-ec", "KeyMetadata.PrimaryKeyVersion").as_str().expect("v").to_owned();
    // `sign` or `verify` of one message with the EC key's version.
    let signing = |command: &'static str, value: Option<&str>| {
        let mut args = vec![
            command,
            "--key-id",
            "alias/kept-ec",
            "--key-version-id",
            &version,
            "--algorithm",
            "ECDSA_SHA_256",
            "--message",
            "still signing",
        ];
        args.extend(value.map(|v| ["--value", v]).into_iter().flatten());
        daemon.cli_json(&args)["Value"].clone()
    };
    let sign = || signing("sign", None).as_str().expect("signature").to_owned();
    let before = sign();

    std::fs::remove_dir_all(daemon.token_dir("hsm1-0")).expect("destroy the primary's token files");

    // Reads go on, served by the mirrors.
    let decrypted = daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob]);
    // JSON carries plaintext in base64.
    assert_eq!(decrypted["Plaintext"], "YmVmb3JlIHRoZSBsb3Nz", "\"before the loss\"");
    let signature = sign();
    for value in [&before, &signature] {
        let verified = signing("verify", Some(value));
        assert_eq!(verified, true);
    }

    // The next write promotes a mirror and succeeds.
    let after = daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/after-loss"]);
    let status = daemon.cli_json(&["cluster", "status", "hsm1"]);
    let promoted = member(&status, 1);
    assert_eq!(promoted["Role"], "primary", "{status}");
    assert_eq!(member(&status, 0)["Role"], "mirror", "{status}");
    assert_eq!(promoted["InSync"], true);
    assert_eq!(member(&status, 2)["InSync"], true);
    let sealed = daemon.cli_json(&["encrypt", "--key-id", &after, "--plaintext", "after the loss"])["CiphertextBlob"]
        .as_str()
        .expect("blob")
        .to_owned();
    assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", &sealed])["Plaintext"], "YWZ0ZXIgdGhlIGxvc3M=");

    // The lost member is reported, not hidden.
    let (code, out, _) = daemon.cli_outcome(&["--json", "cluster", "verify", "hsm1"]);
    assert_eq!(code, Some(5), "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(report["Consistent"], false);
    assert!(daemon.log().contains("mirror promoted"), "the promotion is logged");

    // A restart opens the cluster without the lost member, with the
    // promoted primary, and every key still works.
    daemon.restart();
    let status = daemon.cli_json(&["cluster", "status", "hsm1"]);
    assert_eq!(member(&status, 1)["Role"], "primary", "{status}");
    assert_eq!(member(&status, 0)["Health"], "unreachable", "{status}");
    assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob])["Plaintext"], "YmVmb3JlIHRoZSBsb3Nz");
    assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", &sealed])["Plaintext"], "YWZ0ZXIgdGhlIGxvc3M=");
    daemon.create_key(&["--key-spec", "EC_P256", "--alias", "alias/after-restart"]);

    // The lost member is replaced: a new token, in sync before it serves,
    // then the old one leaves; the cluster is whole again.
    let status = daemon.cli_json(&["cluster", "add-member", "hsm1"]);
    let added = member(&status, 3);
    assert_eq!((added["Health"].as_str(), added["InSync"].as_bool()), (Some("healthy"), Some(true)), "{status}");
    assert_eq!(added["ObjectCount"], 4, "every version: {status}");
    let (code, _, refused) = daemon.cli_outcome(&["cluster", "remove-member", "hsm1", "--index", "1"]);
    assert_eq!(code, Some(1));
    assert!(refused.starts_with("InvalidParameter") && refused.contains("primary"), "{refused}");
    let status = daemon.cli_json(&["cluster", "remove-member", "hsm1", "--index", "0"]);
    assert_eq!(status["Members"].as_array().expect("members").len(), 3, "{status}");
    let (code, out, _) = daemon.cli_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!(code, Some(0), "consistent again: {out}");
    daemon.restart();
    let (code, out, _) = daemon.cli_outcome(&["cluster", "verify", "hsm1"]);
    assert_eq!(code, Some(0), "and after a restart: {out}");
    assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob])["Plaintext"], "YmVmb3JlIHRoZSBsb3Nz");
}
