//! Asymmetric keys over the admin API, checked with openssl: sign and
//! verify with every algorithm, RSA-OAEP both ways, public keys in PEM
//! equal to what the PKCS#11 module shows.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use p11kms_proto::bytes::{from_base64, to_base64};
use p11kms_tests::{Daemon, run};

fn openssl_ok(args: &[&str], dir: &Path) -> bool {
    Command::new("openssl").args(args).current_dir(dir).output().expect("openssl").status.success()
}

fn version(daemon: &Daemon, key: &str) -> String {
    daemon.key_field(key, "KeyMetadata.PrimaryKeyVersion").as_str().expect("version").to_owned()
}

fn pem(daemon: &Daemon, key: &str, dir: &Path) -> String {
    let public = daemon.cli_json(&["get-public-key", "--key-id", key]);
    let path = format!("{key}.pem");
    std::fs::write(dir.join(&path), public["PublicKey"].as_str().expect("PublicKey")).expect("pem");
    path
}

fn sign(daemon: &Daemon, key: &str, algorithm: &str, message: &str) -> Vec<u8> {
    let out = daemon.cli_json(&[
        "sign",
        "--key-id",
        key,
        "--key-version-id",
        &version(daemon, key),
        "--algorithm",
        algorithm,
        "--message",
        message,
    ]);
    from_base64(out["Value"].as_str().expect("Value")).expect("base64")
}

fn verify(daemon: &Daemon, key: &str, algorithm: &str, message: &str, signature: &[u8]) -> (Option<i32>, bool) {
    let (code, stdout, _) = daemon.cli_outcome(&[
        "--json",
        "verify",
        "--key-id",
        key,
        "--key-version-id",
        &version(daemon, key),
        "--algorithm",
        algorithm,
        "--message",
        message,
        "--value",
        &to_base64(signature),
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    (code, json["Value"].as_bool().expect("Value"))
}

#[test]
fn signatures_verify_here_and_in_openssl() {
    let daemon = Daemon::start();
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("message"), "pay 10 EUR to Bob").expect("message");
    let rsa = daemon.create_key(&["--key-spec", "RSA_2048", "--key-usage", "SIGN/VERIFY"]);
    let cases: [(&str, &str, &[&str]); 4] = [
        (&rsa, "RSA_PKCS1_SHA_256", &[]),
        (&rsa, "RSA_PSS_SHA_256", &["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"]),
        ("", "ECDSA_SHA_256", &[]),
        ("", "ECDSA_SHA_256", &[]),
    ];
    let p256 = daemon.create_key(&["--key-spec", "EC_P256"]);
    let k256 = daemon.create_key(&["--key-spec", "EC_P256K"]);
    for (i, (key, algorithm, sigopts)) in cases.iter().enumerate() {
        let key = match i {
            2 => p256.as_str(),
            3 => k256.as_str(),
            _ => key,
        };
        let signature = sign(&daemon, key, algorithm, "pay 10 EUR to Bob");
        std::fs::write(dir.path().join("sig"), &signature).expect("sig");
        let pem = pem(&daemon, key, dir.path());
        let mut args = vec!["dgst", "-sha256", "-verify", pem.as_str(), "-signature", "sig"];
        args.extend_from_slice(sigopts);
        args.push("message");
        assert!(openssl_ok(&args, dir.path()), "openssl verifies {algorithm} of {key}");
        assert_eq!(verify(&daemon, key, algorithm, "pay 10 EUR to Bob", &signature), (Some(0), true));
        assert_eq!(verify(&daemon, key, algorithm, "pay 99 EUR to Bob", &signature), (Some(4), false), "{algorithm}");
    }
    let digest = to_base64(&[1; 31]);
    assert_eq!(
        daemon.cli_error(&[
            "sign",
            "--key-id",
            &p256,
            "--key-version-id",
            &version(&daemon, &p256),
            "--algorithm",
            "ECDSA_SHA_256",
            "--digest",
            &digest
        ]),
        "InvalidParameter"
    );
    assert_eq!(
        daemon.cli_error(&[
            "sign",
            "--key-id",
            &rsa,
            "--key-version-id",
            &version(&daemon, &rsa),
            "--algorithm",
            "ECDSA_SHA_256",
            "--message",
            "x"
        ]),
        "InvalidParameter",
        "an algorithm of another key type"
    );
}

#[test]
fn rsa_oaep_both_ways_with_sha1_and_sha256() {
    let daemon = Daemon::start();
    let dir = tempfile::tempdir().expect("dir");
    let key = daemon.create_key(&["--key-spec", "RSA_3072", "--key-usage", "ENCRYPT/DECRYPT"]);
    let pem = pem(&daemon, &key, dir.path());
    let v = version(&daemon, &key);
    for (algorithm, md) in [("RSAES_OAEP_SHA_1", "sha1"), ("RSAES_OAEP_SHA_256", "sha256")] {
        let sealed = daemon.cli_json(&[
            "asymmetric-encrypt",
            "--key-id",
            &key,
            "--key-version-id",
            &v,
            "--algorithm",
            algorithm,
            "--plaintext",
            "secret note",
        ]);
        let blob = sealed["CiphertextBlob"].as_str().expect("blob");
        let opened = daemon.cli_json(&[
            "asymmetric-decrypt",
            "--key-id",
            &key,
            "--key-version-id",
            &v,
            "--algorithm",
            algorithm,
            "--ciphertext-blob",
            blob,
        ]);
        assert_eq!(
            from_base64(opened["Plaintext"].as_str().expect("Plaintext")).expect("b64"),
            b"secret note",
            "{algorithm}"
        );

        // openssl encrypts, the HSM decrypts.
        std::fs::write(dir.path().join("plain"), "from openssl").expect("plain");
        let opts = [
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            &format!("rsa_oaep_md:{md}"),
            "-pkeyopt",
            &format!("rsa_mgf1_md:{md}"),
        ];
        run(Command::new("openssl")
            .args(["pkeyutl", "-encrypt", "-pubin", "-inkey", &pem, "-in", "plain", "-out", "cipher"])
            .args(opts)
            .current_dir(dir.path()));
        let cipher = to_base64(&std::fs::read(dir.path().join("cipher")).expect("cipher"));
        let opened = daemon.cli_json(&[
            "asymmetric-decrypt",
            "--key-id",
            &key,
            "--key-version-id",
            &v,
            "--algorithm",
            algorithm,
            "--ciphertext-blob",
            &cipher,
        ]);
        assert_eq!(
            from_base64(opened["Plaintext"].as_str().expect("Plaintext")).expect("b64"),
            b"from openssl",
            "{algorithm}"
        );

        let mut bad = from_base64(&cipher).expect("b64");
        bad[5] ^= 1;
        let code = daemon.cli_error(&[
            "asymmetric-decrypt",
            "--key-id",
            &key,
            "--key-version-id",
            &v,
            "--algorithm",
            algorithm,
            "--ciphertext-blob",
            &to_base64(&bad),
        ]);
        assert_eq!(code, "Rejected.InvalidCiphertext", "{algorithm}");
    }
    let signer = daemon.create_key(&["--key-spec", "RSA_2048", "--key-usage", "SIGN/VERIFY"]);
    let code = daemon.cli_error(&[
        "asymmetric-encrypt",
        "--key-id",
        &signer,
        "--key-version-id",
        &version(&daemon, &signer),
        "--algorithm",
        "RSAES_OAEP_SHA_1",
        "--plaintext",
        "x",
    ]);
    assert_eq!(code, "Rejected.UnsupportedOperation");
}

#[test]
fn public_keys_are_the_same_through_the_cli_and_the_module() {
    let daemon = Daemon::start();
    let dir = tempfile::tempdir().expect("dir");
    for spec in ["EC_P256", "RSA_2048"] {
        let alias = format!("alias/pub-{}", spec.to_lowercase());
        let key = daemon.create_key(&["--key-spec", spec, "--alias", &alias]);
        let pem = pem(&daemon, &key, dir.path());
        let from_cli = run(Command::new("openssl")
            .args(["pkey", "-pubin", "-in", &pem, "-outform", "DER"])
            .current_dir(dir.path()));
        let der = dir.path().join("module.der");
        let label = alias.trim_start_matches("alias/");
        daemon.pkcs11_tool(&["--read-object", "--type", "pubkey", "--label", label, "-o", der.to_str().expect("path")]);
        assert_eq!(std::fs::read(der).expect("der"), from_cli, "{spec}");
    }
    let aes = daemon.create_key(&["--key-spec", "AES_256"]);
    assert_eq!(daemon.cli_error(&["get-public-key", "--key-id", &aes]), "Rejected.UnsupportedOperation");
}
