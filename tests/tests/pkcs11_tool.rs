//! The user flows with real clients: `pkcs11-tool` (OpenSC 0.23,
//! Debian bookworm) loading `libp11kms.so`, and `openssl` checking what it
//! produced. Each test runs its own daemon.
//!
//! OpenSC 0.23 picks the key of `--sign` and `--decrypt` by `--id` only,
//! has no AES-GCM and cannot decrypt with a secret key; those flows are
//! covered with the cryptoki crate in `cryptoki_client.rs`.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use p11kms_tests::{Daemon, run};

/// The `CKA_ID` (hex) of a key's primary version: its version id's bytes.
fn pkcs11_id(daemon: &Daemon, key: &str) -> String {
    let described = daemon.cli_json(&["key", "describe", key]);
    described["KeyMetadata"]["PrimaryKeyVersion"].as_str().expect("version").replace('-', "")
}

fn openssl(args: &[&str], dir: &Path) -> Vec<u8> {
    run(Command::new("openssl").args(args).current_dir(dir))
}

fn openssl_ok(args: &[&str], dir: &Path) -> bool {
    Command::new("openssl").args(args).current_dir(dir).output().expect("openssl").status.success()
}

/// Reads a public key through the module and converts it to PEM.
fn public_pem(daemon: &Daemon, label: &str, dir: &Path) -> String {
    let der = dir.join(format!("{label}.der"));
    daemon.pkcs11_tool(&["--read-object", "--type", "pubkey", "--label", label, "-o", der.to_str().expect("path")]);
    let pem = format!("{label}.pem");
    openssl(&["pkey", "-pubin", "-inform", "DER", "-in", &format!("{label}.der"), "-out", &pem], dir);
    pem
}

#[test]
fn slots_show_one_token_per_instance() {
    let daemon = Daemon::start();
    let out = daemon.pkcs11_tool(&["-L"]);
    assert!(out.contains("Slot 0 (0x0)") && out.contains("token label        : hsm1"), "{out}");
    assert!(out.contains("Slot 1 (0x1)") && out.contains("token label        : default"), "{out}");
    assert_eq!(out.matches("token label").count(), 2, "{out}");
    assert!(out.contains("token flags        : login required, rng, token initialized, PIN initialized"), "{out}");
    let mechanisms = daemon.pkcs11_tool(&["--token-label", "hsm1", "-M"]);
    for mechanism in ["AES-GCM", "AES-CBC-PAD", "ECDSA,", "RSA-PKCS-PSS", "RSA-PKCS-OAEP", "ECDSA-KEY-PAIR-GEN"] {
        assert!(mechanisms.contains(mechanism), "{mechanism} in {mechanisms}");
    }
    assert!(!mechanisms.contains("DES"), "only what p11kms offers: {mechanisms}");
}

#[test]
fn an_ec_key_made_through_pkcs11_signs_and_openssl_verifies() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("web", "hsm1");
    let dir = tempfile::tempdir().expect("work dir");
    let out =
        daemon.pkcs11_tool(&["--login", "--pin", &pin, "--keypairgen", "--key-type", "EC:prime256v1", "--label", "k1"]);
    assert!(out.contains("label:      k1"), "{out}");

    // The key is a KMS key with metadata and its first version.
    let listed = daemon.cli_json(&["key", "list", "--instance", "hsm1"]);
    assert_eq!(listed["TotalCount"], 1);
    let meta = &listed["Keys"][0]["KeyMetadata"];
    assert_eq!(meta["KeySpec"], "EC_P256");
    assert_eq!(meta["KeyUsage"], "SIGN/VERIFY");
    assert_eq!(meta["Creator"], "app:web");
    assert_eq!(listed["Keys"][0]["Aliases"][0], "alias/k1");
    let id = pkcs11_id(&daemon, "alias/k1");
    assert!(out.contains(&format!("ID:         {id}")), "the PKCS#11 id is the primary version: {out}");

    std::fs::write(dir.path().join("data.txt"), b"sign me, p11kms").expect("data");
    openssl(&["dgst", "-sha256", "-binary", "-out", "data.sha256", "data.txt"], dir.path());
    let sig = dir.path().join("data.sig");
    daemon.pkcs11_tool(&[
        "--login",
        "--pin",
        &pin,
        "--sign",
        "-m",
        "ECDSA",
        "--id",
        &id,
        "-i",
        dir.path().join("data.sha256").to_str().expect("path"),
        "-o",
        sig.to_str().expect("path"),
        "--signature-format",
        "openssl",
    ]);
    let pem = public_pem(&daemon, "k1", dir.path());
    assert!(openssl_ok(&["dgst", "-sha256", "-verify", &pem, "-signature", "data.sig", "data.txt"], dir.path()));
    std::fs::write(dir.path().join("other.txt"), b"sign me, p11kmS").expect("data");
    assert!(!openssl_ok(&["dgst", "-sha256", "-verify", &pem, "-signature", "data.sig", "other.txt"], dir.path()));
}

#[test]
fn rsa_keys_sign_with_pkcs1_and_pss_and_decrypt_oaep() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("web", "hsm1");
    let dir = tempfile::tempdir().expect("work dir");
    let path = |name: &str| dir.path().join(name).to_str().expect("path").to_owned();
    daemon.pkcs11_tool(&[
        "--login",
        "--pin",
        &pin,
        "--keypairgen",
        "--key-type",
        "rsa:2048",
        "--label",
        "signer",
        "--usage-sign",
    ]);
    daemon.pkcs11_tool(&[
        "--login",
        "--pin",
        &pin,
        "--keypairgen",
        "--key-type",
        "rsa:2048",
        "--label",
        "decrypter",
        "--usage-decrypt",
    ]);
    assert_eq!(daemon.cli_json(&["key", "describe", "alias/signer"])["KeyMetadata"]["KeyUsage"], "SIGN/VERIFY");
    assert_eq!(daemon.cli_json(&["key", "describe", "alias/decrypter"])["KeyMetadata"]["KeyUsage"], "ENCRYPT/DECRYPT");
    std::fs::write(dir.path().join("data.txt"), b"an RSA test message").expect("data");

    let signer = pkcs11_id(&daemon, "alias/signer");
    let pem = public_pem(&daemon, "signer", dir.path());
    daemon.pkcs11_tool(&[
        "--login",
        "--pin",
        &pin,
        "--sign",
        "-m",
        "SHA256-RSA-PKCS",
        "--id",
        &signer,
        "-i",
        &path("data.txt"),
        "-o",
        &path("pkcs1.sig"),
    ]);
    assert!(openssl_ok(&["dgst", "-sha256", "-verify", &pem, "-signature", "pkcs1.sig", "data.txt"], dir.path()));
    daemon.pkcs11_tool(&[
        "--login",
        "--pin",
        &pin,
        "--sign",
        "-m",
        "SHA256-RSA-PKCS-PSS",
        "--id",
        &signer,
        "-i",
        &path("data.txt"),
        "-o",
        &path("pss.sig"),
    ]);
    let pss = [
        "dgst",
        "-sha256",
        "-verify",
        &pem,
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:32",
        "-signature",
        "pss.sig",
        "data.txt",
    ];
    assert!(openssl_ok(&pss, dir.path()));

    // SoftHSM 2.6 implements OAEP with SHA-1 only (docs/pkcs11.md).
    let decrypter = pkcs11_id(&daemon, "alias/decrypter");
    let pem = public_pem(&daemon, "decrypter", dir.path());
    openssl(
        &[
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-inkey",
            &pem,
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-in",
            "data.txt",
            "-out",
            "data.oaep",
        ],
        dir.path(),
    );
    daemon.pkcs11_tool(&[
        "--login",
        "--pin",
        &pin,
        "--decrypt",
        "-m",
        "RSA-PKCS-OAEP",
        "--hash-algorithm",
        "SHA-1",
        "--mgf",
        "MGF1-SHA1",
        "--id",
        &decrypter,
        "-i",
        &path("data.oaep"),
        "-o",
        &path("data.dec"),
    ]);
    assert_eq!(std::fs::read(dir.path().join("data.dec")).expect("plaintext"), b"an RSA test message");

    // A signing key does not decrypt, and the other way round.
    let wrong = daemon.pkcs11_tool_output(&[
        "--login",
        "--pin",
        &pin,
        "--sign",
        "-m",
        "SHA256-RSA-PKCS",
        "--id",
        &decrypter,
        "-i",
        &path("data.txt"),
        "-o",
        &path("x.sig"),
    ]);
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("CKR_KEY_FUNCTION_NOT_PERMITTED"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
}

#[test]
fn pins_are_checked_counted_and_locked_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("p11kmsd.toml");
    std::fs::write(&config, "[apps]\nmax_failed_logins = 3\nlockout_seconds = 3600\n").expect("config");
    let daemon = Daemon::start_with(&["--config", config.to_str().expect("path")]);
    let pin = daemon.create_app("web", "hsm1");
    let list = ["--login", "--pin", &pin, "-O"];
    assert!(daemon.pkcs11_tool_output(&list).status.success());
    // The right PIN for the wrong instance.
    let other = daemon.pkcs11_tool_output(&["--token-label", "default", "--login", "--pin", &pin, "-O"]);
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("CKR_PIN_INCORRECT"),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
    let mut wrong = pin.clone();
    wrong.replace_range(20..21, if &pin[20..21] == "a" { "b" } else { "a" });
    for attempt in 1..=3 {
        let out = daemon.pkcs11_tool_output(&["--login", "--pin", &wrong, "-O"]);
        let expected = if attempt < 3 { "CKR_PIN_INCORRECT" } else { "CKR_PIN_LOCKED" };
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(expected),
            "attempt {attempt}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let locked = daemon.pkcs11_tool_output(&list);
    assert!(
        String::from_utf8_lossy(&locked.stderr).contains("CKR_PIN_LOCKED"),
        "even the right PIN waits out the lock"
    );
    let app = daemon.cli_json(&["app", "describe", "web"]);
    assert_eq!(app["FailedLogins"], 3);
    assert!(app["LockedUntil"].is_string());
    assert!(!daemon.log().contains(&pin) && !daemon.log().contains(&wrong), "no PIN in the log");
}

#[test]
fn keys_created_by_the_admin_are_usable_through_pkcs11() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("web", "hsm1");
    daemon.cli_json(&["key", "create", "--instance", "hsm1", "--key-spec", "EC_P256", "--alias", "alias/admin-made"]);
    let objects = daemon.pkcs11_tool(&["--login", "--pin", &pin, "-O"]);
    assert!(objects.contains("label:      admin-made"), "{objects}");
    let public_only = daemon.pkcs11_tool(&["-O"]);
    assert!(
        public_only.contains("Public Key Object") && !public_only.contains("Private Key Object"),
        "without login only public objects: {public_only}"
    );
    let dir = tempfile::tempdir().expect("work dir");
    std::fs::write(dir.path().join("h"), [7u8; 32]).expect("digest");
    let id = pkcs11_id(&daemon, "alias/admin-made");
    daemon.pkcs11_tool(&[
        "--login",
        "--pin",
        &pin,
        "--sign",
        "-m",
        "ECDSA",
        "--id",
        &id,
        "-i",
        dir.path().join("h").to_str().expect("path"),
        "-o",
        dir.path().join("s").to_str().expect("path"),
    ]);
    assert_eq!(std::fs::read(dir.path().join("s")).expect("signature").len(), 64, "raw r||s of P-256");
}
