//! Java 17's SunPKCS11 keystore (`keytool`, `jarsigner`) on
//! `libp11kms.so` (`docs/pkcs11.md` §10, "Keys that applications name").
//!
//! A key made with `pkcs11-tool --keypairgen --id 6a6b --label jk` and a
//! self-signed certificate written under the same `CKA_ID` (made by
//! OpenSSL's pkcs11 engine with the key, found by its id) are one
//! `PrivateKeyEntry` for `keytool -list`, and `jarsigner` signs a jar
//! with it that `jarsigner -verify` accepts.
//!
//! `keytool -genkeypair` makes a session key pair and stores it with
//! `C_CopyObject(CKA_TOKEN = true, CKA_ID = alias)`, which makes it a KMS
//! key; its self-signed certificate is written beside it, and `jarsigner`
//! signs with it too.
//!
//! Every tool runs as a subprocess, so the module is not loaded here.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use p11kms_tests::openssl_engine::{engine_config, engine_openssl};
use p11kms_tests::output::{succeeded, text};
use p11kms_tests::{Daemon, module, run};

/// Runs a Java tool (`keytool`, `jarsigner`) on the SunPKCS11 keystore of
/// slot 0, in `dir`, with `args` after the keystore options.
fn java_tool(daemon: &Daemon, dir: &Path, tool: &str, pin: &str, args: &[&str]) -> Output {
    let (provider_class, provider_arg) =
        if tool == "jarsigner" { ("-providerClass", "-providerArg") } else { ("-providerclass", "-providerArg") };
    daemon
        .client_command("timeout")
        .args(["180", tool, "-keystore", "NONE", "-storetype", "PKCS11"])
        .args([provider_class, "sun.security.pkcs11.SunPKCS11", provider_arg, "p11kms.cfg", "-storepass", pin])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run a Java tool")
}

#[test]
fn keytool_makes_and_lists_keys_and_jarsigner_signs_with_them() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("java", "hsm1");
    let dir = tempfile::tempdir().expect("work dir");
    let dir = dir.path();
    let config = format!("name = p11kms\nlibrary = {}\nslot = 0\n", module().display());
    std::fs::write(dir.join("p11kms.cfg"), config).expect("p11kms.cfg");

    // keytool -genkeypair: a session pair, stored on the token as a KMS key.
    let genkeypair = java_tool(
        &daemon,
        dir,
        "keytool",
        &pin,
        &["-genkeypair", "-alias", "k", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=k"],
    );
    succeeded("keytool -genkeypair", &genkeypair, &daemon);
    let keys = daemon.cli_json(&["key", "list", "--instance", "hsm1"]);
    assert_eq!(keys["TotalCount"], 1, "the stored pair is a KMS key: {keys}");
    // keytool -genseckey makes its key in Java's software provider and
    // imports it (C_CreateObject with the value and CKA_TOKEN true): key
    // material enters KMS keys by generation or BYOK only.
    let genseckey =
        java_tool(&daemon, dir, "keytool", &pin, &["-genseckey", "-alias", "s", "-keyalg", "AES", "-keysize", "256"]);
    assert!(!genseckey.status.success(), "keytool -genseckey: {}", text(&genseckey.stdout));
    assert!(daemon.log().contains("only by key generation"), "the daemon says why: {}", daemon.log());
    assert_eq!(daemon.cli_json(&["key", "list", "--instance", "hsm1"])["TotalCount"], 1, "no key imported");

    // The key and its certificate, paired by CKA_ID 6a6b ("jk").
    let login = ["--login", "--pin", pin.as_str()];
    daemon.pkcs11_tool(
        &[&["--keypairgen", "--key-type", "EC:prime256v1", "--id", "6a6b", "--label", "jk"][..], &login].concat(),
    );
    let config = engine_config(dir, Some(&pin));
    let key = ["-key", "pkcs11:token=hsm1;id=%6a%6b;type=private"];
    let req = ["req", "-new", "-x509", "-engine", "pkcs11", "-keyform", "engine"];
    let out = ["-subj", "/CN=jk", "-days", "2", "-sha256", "-outform", "der", "-out", "jk.der"];
    let req = engine_openssl(&daemon, &config, dir, &[&req[..], &key, &out].concat());
    succeeded("openssl req", &req, &daemon);
    let cert = dir.join("jk.der");
    let cert = cert.to_str().expect("path");
    daemon.pkcs11_tool(
        &[&["--write-object", cert, "--type", "cert", "--id", "6a6b", "--label", "jk"][..], &login].concat(),
    );

    let list = succeeded("keytool -list", &java_tool(&daemon, dir, "keytool", &pin, &["-list"]), &daemon);
    for alias in ["jk", "k"] {
        let entry = format!("{alias}, PrivateKeyEntry");
        assert!(list.lines().any(|line| line.starts_with(&entry)), "{entry}: {list}");
    }

    std::fs::write(dir.join("hello.txt"), b"hello from p11kms\n").expect("hello.txt");
    for alias in ["jk", "k"] {
        let jar = format!("{alias}.jar");
        run(Command::new("jar").args(["cf", &jar, "hello.txt"]).current_dir(dir));
        succeeded("jarsigner", &java_tool(&daemon, dir, "jarsigner", &pin, &[&jar, alias]), &daemon);
        let verify = Command::new("jarsigner").args(["-verify", "-verbose", "-certs", &jar]).current_dir(dir).output();
        let verify = succeeded("jarsigner -verify", &verify.expect("jarsigner -verify"), &daemon);
        assert!(verify.contains("jar verified."), "{verify}");
        assert!(verify.contains(&format!("CN={alias}")), "signed by the p11kms key's certificate: {verify}");
    }
}
