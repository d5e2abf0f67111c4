//! OpenSSL's pkcs11 engine (libp11, `libengine-pkcs11-openssl`) given an
//! app's PIN in the key's URI (`pin-value=`), which it takes only up to 32
//! characters: p11kms's issued PINs have 32. The engine's configuration
//! names the module and no PIN, so the URI's is the only one. A
//! self-signed certificate (`openssl req -new -x509`) and a detached
//! signature (`openssl dgst -sign`) made with keys held in p11kms verify
//! with plain OpenSSL against the keys' public halves read through the
//! module; a wrong PIN in the URI signs nothing.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use p11kms_tests::Daemon;
use p11kms_tests::openssl_engine::{engine_config, engine_openssl};
use p11kms_tests::output::{succeeded, text};

/// `openssl ARGS` without the engine, in `dir`; asserts success.
fn plain_openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", text(&out.stderr));
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// The engine's URI of a private key of `hsm1`, with the PIN in it.
fn key_uri(label: &str, pin: &str) -> String {
    format!("pkcs11:token=hsm1;object={label};type=private;pin-value={pin}")
}

/// The public key of `label`, read through the module, as a PEM file in
/// `dir`; returns its name.
fn public_pem(daemon: &Daemon, label: &str, dir: &Path) -> String {
    let der = dir.join(format!("{label}.pub.der"));
    daemon.pkcs11_tool(&["--read-object", "--type", "pubkey", "--label", label, "-o", der.to_str().expect("path")]);
    let pem = format!("{label}.pub.pem");
    plain_openssl(dir, &["pkey", "-pubin", "-inform", "DER", "-in", der.to_str().expect("path"), "-out", &pem]);
    pem
}

#[test]
fn a_pin_value_uri_signs_a_certificate_and_data_that_verify() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("engine", "hsm1");
    assert_eq!(pin.len(), 32, "the engine takes at most 32 characters");
    for (key_type, label) in [("rsa:2048", "uri-rsa"), ("EC:prime256v1", "uri-ec")] {
        daemon.pkcs11_tool(&[
            "--login",
            "--pin",
            &pin,
            "--token-label",
            "hsm1",
            "--keypairgen",
            "--key-type",
            key_type,
            "--label",
            label,
            "--usage-sign",
        ]);
    }
    let dir = tempfile::tempdir().expect("work dir");
    let config = engine_config(dir.path(), None);
    std::fs::write(dir.path().join("data.txt"), b"signed through a pin-value URI\n").expect("data");

    for label in ["uri-rsa", "uri-ec"] {
        let uri = key_uri(label, &pin);
        let cert = format!("{label}.crt");
        let made = engine_openssl(
            &daemon,
            &config,
            dir.path(),
            &[
                "req", "-new", "-x509", "-engine", "pkcs11", "-keyform", "engine", "-key", &uri, "-subj", "/CN=t",
                "-days", "1", "-out", &cert,
            ],
        );
        succeeded(&format!("openssl req -new -x509 with {label}"), &made, &daemon);
        // The certificate is self-signed by the key p11kms holds.
        let verified = plain_openssl(dir.path(), &["verify", "-CAfile", &cert, &cert]);
        assert!(verified.contains(&format!("{cert}: OK")), "{label}: {verified}");
        let pem = public_pem(&daemon, label, dir.path());
        let cert_key = plain_openssl(dir.path(), &["x509", "-in", &cert, "-noout", "-pubkey"]);
        let module_key = std::fs::read_to_string(dir.path().join(&pem)).expect("pem");
        assert_eq!(cert_key, module_key, "{label}: the certificate carries p11kms's key");

        // A detached signature, checked by plain OpenSSL with the public key.
        let sig = format!("{label}.sig");
        let signed = engine_openssl(
            &daemon,
            &config,
            dir.path(),
            &["dgst", "-sha256", "-engine", "pkcs11", "-keyform", "engine", "-sign", &uri, "-out", &sig, "data.txt"],
        );
        succeeded(&format!("openssl dgst -sign with {label}"), &signed, &daemon);
        let checked = plain_openssl(dir.path(), &["dgst", "-sha256", "-verify", &pem, "-signature", &sig, "data.txt"]);
        assert!(checked.contains("Verified OK"), "{label}: {checked}");
        std::fs::write(dir.path().join("other.txt"), b"other data\n").expect("other");
        let refused = Command::new("openssl")
            .args(["dgst", "-sha256", "-verify", &pem, "-signature", &sig, "other.txt"])
            .current_dir(dir.path())
            .output()
            .expect("run openssl");
        assert!(!refused.status.success(), "{label}: the signature is of data.txt only");
    }

    // The URI's PIN is the one used: a wrong one signs nothing.
    let wrong = format!("{}{}", &pin[..8], if pin.ends_with('x') { "y" } else { "x" }.repeat(24));
    let refused = engine_openssl(
        &daemon,
        &config,
        dir.path(),
        &[
            "dgst",
            "-sha256",
            "-engine",
            "pkcs11",
            "-keyform",
            "engine",
            "-sign",
            &key_uri("uri-ec", &wrong),
            "-out",
            "wrong.sig",
            "data.txt",
        ],
    );
    assert!(!refused.status.success(), "a wrong PIN in the URI: {}", text(&refused.stderr));
    let failed = daemon.cli_json(&["app", "describe", "engine"])["FailedLogins"].as_u64().expect("FailedLogins");
    assert!(failed >= 1, "the wrong PIN reached the daemon and counted");
    assert!(!daemon.log().contains(&pin[8..]), "PINs never reach the log");
}
