//! GnuTLS's `p11tool` and `certtool` (3.7, Debian bookworm) with
//! `--provider libp11kms.so`: the tokens are listed, ECDSA and RSA keys
//! generated through p11tool become KMS keys and pass p11tool's
//! `--test-sign` (sign, then verify against the token's public key; RSA
//! with PKCS #1 v1.5 and PSS), and certtool makes a self-signed certificate
//! with the ECDSA key that certtool and openssl verify. The PIN comes from
//! `GNUTLS_PIN`. Each test runs its own daemon.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use p11kms_tests::output::{succeeded, text};
use p11kms_tests::{Daemon, module};

/// The URI of slot 0's token.
const TOKEN: &str = "pkcs11:token=hsm1";

/// Runs a GnuTLS tool (`p11tool`, `certtool`) with `--provider
/// libp11kms.so` and the app's PIN, in `dir`.
fn gnutls(daemon: &Daemon, program: &str, pin: &str, dir: &Path, args: &[&str]) -> Output {
    daemon
        .client_command("timeout")
        .args(["120", program, "--provider"])
        .arg(module())
        .args(args)
        .env("GNUTLS_PIN", pin)
        .current_dir(dir)
        .output()
        .expect("run a GnuTLS tool")
}

fn plain(program: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(program).args(args).current_dir(dir).output().expect("run")
}

#[test]
fn p11tool_lists_generates_and_certtool_self_signs() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("gnutls", "hsm1");
    let dir = tempfile::tempdir().expect("work dir");
    let dir = dir.path();

    let tokens =
        succeeded("p11tool --list-tokens", &gnutls(&daemon, "p11tool", &pin, dir, &["--list-tokens"]), &daemon);
    assert!(tokens.contains("Label: hsm1") && tokens.contains("Model: p11kms hardware"), "{tokens}");
    assert!(tokens.contains("Label: default") && tokens.contains("Model: p11kms default"), "{tokens}");
    assert!(tokens.contains("URL: pkcs11:model=p11kms%20hardware;manufacturer=p11kms;"), "{tokens}");

    // Generate an ECDSA P-256 key on slot 0; p11tool prints its public key.
    let generated = succeeded(
        "p11tool --generate-privkey",
        &gnutls(
            &daemon,
            "p11tool",
            &pin,
            dir,
            &["--login", "--generate-privkey", "ecdsa", "--curve", "secp256r1", "--label", "gnutls-ec", TOKEN],
        ),
        &daemon,
    );
    let public = generated
        .find("-----BEGIN PUBLIC KEY-----")
        .map(|start| generated[start..].trim().to_owned())
        .expect("public key printed");

    // It is a KMS key like any other.
    let described = daemon.cli_json(&["key", "describe", "alias/gnutls-ec"]);
    let meta = &described["KeyMetadata"];
    assert_eq!(meta["KeySpec"], "EC_P256");
    assert_eq!(meta["KeyUsage"], "SIGN/VERIFY");
    assert_eq!(meta["Creator"], "app:gnutls");
    let version = meta["PrimaryKeyVersion"].as_str().expect("version").replace('-', "");
    let id = version.as_bytes().chunks(2).map(|pair| std::str::from_utf8(pair).expect("hex")).collect::<Vec<_>>();

    let privkeys = succeeded(
        "p11tool --list-privkeys",
        &gnutls(&daemon, "p11tool", &pin, dir, &["--login", "--list-privkeys", TOKEN]),
        &daemon,
    );
    assert!(privkeys.contains("Label: gnutls-ec"), "{privkeys}");
    assert!(privkeys.contains("Type: Private key (EC/ECDSA-SECP256R1)"), "{privkeys}");
    // p11tool sets CKA_ID to its key id (SHA-1 of the public key) after
    // generating: the key keeps it (docs/pkcs11.md, "Keys that
    // applications name"), and its version id still finds it.
    let set_id = privkeys.lines().find_map(|l| l.trim().strip_prefix("ID: ")).expect("ID line");
    assert_eq!(set_id.split(':').count(), 20, "CKA_ID is the one p11tool set: {privkeys}");
    let by_version = succeeded(
        "p11tool --list-privkeys by the version id",
        &gnutls(
            &daemon,
            "p11tool",
            &pin,
            dir,
            &["--login", "--list-privkeys", &format!("{TOKEN};id=%{}", id.join("%"))],
        ),
        &daemon,
    );
    assert!(by_version.contains("Label: gnutls-ec"), "{by_version}");
    assert!(privkeys.contains("CKA_NEVER_EXTRACTABLE; CKA_SENSITIVE"), "{privkeys}");
    // p11tool signs with it and checks the signature against the token's
    // public key.
    let signed = gnutls(
        &daemon,
        "p11tool",
        &pin,
        dir,
        &["--login", "--test-sign", &format!("{TOKEN};object=gnutls-ec;type=private")],
    );
    succeeded("p11tool --test-sign", &signed, &daemon);
    let report = text(&signed.stderr);
    assert!(report.contains("Signing using ECDSA-SHA256... ok"), "{report}");
    assert!(report.contains("Verifying against public key in the token... ok"), "{report}");

    // Without login only the public key is seen.
    let anonymous = succeeded(
        "p11tool --list-all without login",
        &gnutls(&daemon, "p11tool", &pin, dir, &["--list-all", TOKEN]),
        &daemon,
    );
    assert!(anonymous.contains("Label: gnutls-ec"), "{anonymous}");
    assert!(anonymous.contains("Type: Public key (EC/ECDSA-SECP256R1)"), "{anonymous}");
    assert!(!anonymous.contains("Private key"), "{anonymous}");

    // certtool signs a self-signed CA certificate with the p11kms key.
    std::fs::write(
        dir.join("template"),
        "cn = \"p11kms interop\"\nexpiration_days = 1\nca\ncert_signing_key\nsigning_key\n",
    )
    .expect("template");
    succeeded(
        "certtool --generate-self-signed",
        &gnutls(
            &daemon,
            "certtool",
            &pin,
            dir,
            &[
                "--generate-self-signed",
                "--load-privkey",
                &format!("{TOKEN};object=gnutls-ec;type=private"),
                "--template",
                "template",
                "--outfile",
                "cert.pem",
            ],
        ),
        &daemon,
    );
    let verified = plain("certtool", dir, &["--verify", "--load-ca-certificate", "cert.pem", "--infile", "cert.pem"]);
    let report = text(&verified.stdout);
    assert!(verified.status.success(), "{report}{}", text(&verified.stderr));
    assert!(report.contains("Verified. The certificate is trusted."), "{report}");
    let openssl = plain("openssl", dir, &["verify", "-CAfile", "cert.pem", "cert.pem"]);
    assert!(openssl.status.success(), "{}{}", text(&openssl.stdout), text(&openssl.stderr));
    assert_eq!(text(&openssl.stdout).trim(), "cert.pem: OK");

    // The certificate's key is the one generated through p11tool.
    let cert_key = plain("openssl", dir, &["x509", "-in", "cert.pem", "-pubkey", "-noout"]);
    assert_eq!(text(&cert_key.stdout).trim(), public);
    let subject = plain("openssl", dir, &["x509", "-in", "cert.pem", "-subject", "-noout"]);
    assert_eq!(text(&subject.stdout).trim(), "subject=CN = p11kms interop");
}

#[test]
fn p11tool_generates_rsa_keys_that_sign_with_pkcs1_and_pss() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("gnutls", "hsm1");
    let dir = tempfile::tempdir().expect("work dir");
    let dir = dir.path();
    let generated = gnutls(
        &daemon,
        "p11tool",
        &pin,
        dir,
        &["--login", "--generate-privkey", "rsa", "--bits", "2048", "--label", "gnutls-rsa", TOKEN],
    );
    succeeded("p11tool --generate-privkey rsa", &generated, &daemon);
    let meta = daemon.cli_json(&["key", "describe", "alias/gnutls-rsa"])["KeyMetadata"].take();
    assert_eq!(meta["KeySpec"], "RSA_2048");
    assert_eq!(meta["KeyUsage"], "SIGN/VERIFY");

    let key = format!("{TOKEN};object=gnutls-rsa;type=private");
    for (params, expected) in
        [(None, "Signing using RSA-SHA256... ok"), (Some("RSA-PSS"), "Signing using RSA-PSS-SHA256... ok")]
    {
        let mut args = vec!["--login", "--test-sign"];
        if let Some(params) = params {
            args.extend_from_slice(&["--sign-params", params]);
        }
        args.push(&key);
        let signed = gnutls(&daemon, "p11tool", &pin, dir, &args);
        succeeded("p11tool --test-sign", &signed, &daemon);
        let report = text(&signed.stderr);
        assert!(report.contains(expected), "{report}");
        assert!(report.contains("Verifying against public key in the token... ok"), "{report}");
    }
}
