//! ExportDataKey and GenerateAndExportDataKey end to end, with openssl as
//! the caller: RSA key pairs made by `openssl genpkey`, data keys exported
//! under their public keys (PEM file, DER file or base64) with each
//! wrapping algorithm and key size, `ExportedDataKey` decrypted by
//! `openssl pkeyutl -decrypt` with the private key and compared with what
//! `p11kms decrypt` gives for `CiphertextBlob`; the export of a blob from
//! `generate-data-key`; the refusals (a key size other than the public
//! key's, an EC public key, a private key file, a disabled key, a
//! malformed blob); `key describe` showing which keys were used with
//! ReEncrypt, ExportDataKey or GenerateAndExportDataKey, after a restart;
//! and no data key in the daemon's log or the audit trail.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use p11kms_proto::bytes::{from_base64, to_base64};
use p11kms_tests::{Daemon, run};
use serde_json::Value;
use tempfile::TempDir;

/// A caller's RSA key pair made by openssl, in a directory of its own.
struct KeyPair {
    dir: TempDir,
}

impl KeyPair {
    /// `openssl genpkey` of an RSA key of `bits`.
    fn rsa(bits: u32) -> Self {
        Self::generate(&["-algorithm", "RSA", "-pkeyopt", &format!("rsa_keygen_bits:{bits}")])
    }

    /// `openssl genpkey` of a P-256 key: not a key data keys go under.
    fn ec() -> Self {
        Self::generate(&["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
    }

    fn generate(options: &[&str]) -> Self {
        let dir = tempfile::Builder::new().prefix("p11kms-export-").tempdir().expect("work dir");
        run(Command::new("openssl").args(["genpkey", "-out", "private.pem"]).args(options).current_dir(dir.path()));
        run(Command::new("openssl")
            .args(["pkey", "-in", "private.pem", "-pubout", "-out", "public.pem"])
            .current_dir(dir.path()));
        run(Command::new("openssl")
            .args(["pkey", "-in", "private.pem", "-pubout", "-outform", "DER", "-out", "public.der"])
            .current_dir(dir.path()));
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The public key's PEM file.
    fn public_pem(&self) -> String {
        self.path("public.pem").to_str().expect("utf-8").to_owned()
    }

    /// The public key's DER file.
    fn public_der(&self) -> String {
        self.path("public.der").to_str().expect("utf-8").to_owned()
    }

    /// The public key as the API takes it: base64 of the DER.
    fn public_blob(&self) -> String {
        to_base64(&std::fs::read(self.path("public.der")).expect("public.der"))
    }

    /// `ExportedDataKey` (base64) decrypted by openssl with the private
    /// key, as `algorithm` says.
    fn decrypt(&self, algorithm: &str, exported: &str) -> Vec<u8> {
        std::fs::write(self.path("exported.bin"), from_base64(exported).expect("base64")).expect("write");
        let padding: &[&str] = match algorithm {
            "RSAES_OAEP_SHA_256" => &[
                "-pkeyopt",
                "rsa_padding_mode:oaep",
                "-pkeyopt",
                "rsa_oaep_md:sha256",
                "-pkeyopt",
                "rsa_mgf1_md:sha256",
            ],
            "RSAES_OAEP_SHA_1" => {
                &["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha1", "-pkeyopt", "rsa_mgf1_md:sha1"]
            }
            "RSAES_PKCS1_V1_5" => &["-pkeyopt", "rsa_padding_mode:pkcs1"],
            other => panic!("no such algorithm {other}"),
        };
        run(Command::new("openssl")
            .args(["pkeyutl", "-decrypt", "-inkey", "private.pem", "-in", "exported.bin", "-out", "data-key.bin"])
            .args(padding)
            .current_dir(self.dir.path()));
        std::fs::read(self.path("data-key.bin")).expect("data-key.bin")
    }
}

/// What `p11kms decrypt` gives for a blob: its `Plaintext`, decoded.
fn decrypted(daemon: &Daemon, blob: &str, context: Option<&str>) -> Vec<u8> {
    let mut args = vec!["decrypt", "--ciphertext-blob", blob];
    if let Some(context) = context {
        args.extend(["--encryption-context", context]);
    }
    from_base64(daemon.cli_json(&args)["Plaintext"].as_str().expect("Plaintext")).expect("base64")
}

fn text(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_else(|| panic!("{field} in {value}")).to_owned()
}

/// The operations `key describe --json` says the key was used with.
fn used_with(daemon: &Daemon, key: &str) -> Vec<String> {
    let described = daemon.cli_json(&["key", "describe", key]);
    let list = described["UsedWithExportOperations"].as_array().unwrap_or_else(|| panic!("{described}"));
    list.iter().map(|v| v.as_str().expect("an operation name").to_owned()).collect()
}

/// The places where any of `values` shows in the files under `dir` (or
/// the file `dir` itself), as base64 or hex.
fn leaks(dir: &Path, values: &[Vec<u8>]) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).expect("read dir").map(|e| e.expect("entry").path()));
        } else if path.is_file() {
            files.push(path);
        }
    }
    let mut found = Vec::new();
    for value in values {
        let hex: String = value.iter().map(|b| format!("{b:02x}")).collect();
        let base64 = to_base64(value);
        for form in [hex, base64.trim_end_matches('=').to_owned()] {
            for file in &files {
                let bytes = std::fs::read(file).unwrap_or_default();
                if bytes.windows(form.len()).any(|w| w == form.as_bytes()) {
                    found.push(format!("{form} in {}", file.display()));
                }
            }
        }
    }
    found
}

#[test]
fn exported_data_keys_decrypt_with_openssl_to_what_the_blob_holds() {
    let daemon = Daemon::start();
    let key = daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/exports"]);
    let rsa_2048 = KeyPair::rsa(2048);
    let context = r#"{"bucket":"invoices"}"#;
    let mut data_keys = Vec::new();

    // Each wrapping algorithm, and each way to give the public key.
    let ways = [
        ("RSAES_OAEP_SHA_256", "--public-key-file", rsa_2048.public_pem()),
        ("RSAES_OAEP_SHA_1", "--public-key-file", rsa_2048.public_der()),
        ("RSAES_PKCS1_V1_5", "--public-key-blob", rsa_2048.public_blob()),
    ];
    for (algorithm, how, public_key) in &ways {
        let made = daemon.cli_json(&[
            "generate-and-export-data-key",
            "--key-id",
            "alias/exports",
            "--encryption-context",
            context,
            how,
            public_key,
            "--wrapping-algorithm",
            algorithm,
            "--wrapping-key-spec",
            "RSA_2048",
        ]);
        assert_eq!(text(&made, "KeyId"), key);
        assert!(made.get("Plaintext").is_none(), "the data key never comes back in clear: {made}");
        let data_key = rsa_2048.decrypt(algorithm, &text(&made, "ExportedDataKey"));
        assert_eq!(data_key.len(), 32, "AES_256 by default");
        assert_eq!(decrypted(&daemon, &text(&made, "CiphertextBlob"), Some(context)), data_key, "{algorithm}");
        data_keys.push(data_key);
    }

    // Larger caller keys, and the data key sizes.
    let rsa_3072 = KeyPair::rsa(3072);
    let made = daemon.cli_json(&[
        "generate-and-export-data-key",
        "--key-id",
        &key,
        "--key-spec",
        "AES_128",
        "--public-key-file",
        &rsa_3072.public_pem(),
        "--wrapping-algorithm",
        "RSAES_OAEP_SHA_256",
        "--wrapping-key-spec",
        "RSA_3072",
    ]);
    let data_key = rsa_3072.decrypt("RSAES_OAEP_SHA_256", &text(&made, "ExportedDataKey"));
    assert_eq!(data_key.len(), 16);
    assert_eq!(decrypted(&daemon, &text(&made, "CiphertextBlob"), None), data_key);
    data_keys.push(data_key);
    let rsa_4096 = KeyPair::rsa(4096);
    let made = daemon.cli_json(&[
        "generate-and-export-data-key",
        "--key-id",
        &key,
        "--number-of-bytes",
        "400",
        "--public-key-file",
        &rsa_4096.public_pem(),
        "--wrapping-algorithm",
        "RSAES_PKCS1_V1_5",
        "--wrapping-key-spec",
        "rsa_4096",
    ]);
    let data_key = rsa_4096.decrypt("RSAES_PKCS1_V1_5", &text(&made, "ExportedDataKey"));
    assert_eq!(data_key.len(), 400);
    assert_eq!(decrypted(&daemon, &text(&made, "CiphertextBlob"), None), data_key);
    data_keys.push(data_key);

    // export-data-key of a blob that generate-data-key made.
    let generated = daemon.cli_json(&["generate-data-key", "--key-id", &key, "--encryption-context", context]);
    let plaintext = from_base64(&text(&generated, "Plaintext")).expect("base64");
    let blob = text(&generated, "CiphertextBlob");
    for (algorithm, how, public_key) in &ways {
        let exported = daemon.cli_json(&[
            "export-data-key",
            "--ciphertext-blob",
            &blob,
            "--encryption-context",
            context,
            how,
            public_key,
            "--wrapping-algorithm",
            algorithm,
            "--wrapping-key-spec",
            "RSA_2048",
        ]);
        assert_eq!(text(&exported, "KeyId"), key);
        assert_eq!(text(&exported, "KeyVersionId"), text(&generated, "KeyVersionId"));
        assert_eq!(rsa_2048.decrypt(algorithm, &text(&exported, "ExportedDataKey")), plaintext, "{algorithm}");
    }
    // --query picks the one field a script wants.
    let out = daemon.cli(&[
        "export-data-key",
        "--ciphertext-blob",
        &blob,
        "--encryption-context",
        context,
        "--public-key-file",
        &rsa_2048.public_pem(),
        "--wrapping-algorithm",
        "RSAES_OAEP_SHA_256",
        "--wrapping-key-spec",
        "RSA_2048",
        "--query",
        "ExportedDataKey",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let exported = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(rsa_2048.decrypt("RSAES_OAEP_SHA_256", exported.trim()), plaintext);
    // Humans read the same fields.
    let (status, human, _) = daemon.cli_outcome(&[
        "export-data-key",
        "--ciphertext-blob",
        &blob,
        "--encryption-context",
        context,
        "--public-key-blob",
        &rsa_2048.public_blob(),
        "--wrapping-algorithm",
        "RSAES_OAEP_SHA_1",
        "--wrapping-key-spec",
        "RSA_2048",
    ]);
    assert_eq!(status, Some(0));
    assert!(human.starts_with("ExportedDataKey: ") && human.contains(&format!("KeyId:           {key}")), "{human}");
    data_keys.push(plaintext);

    // No data key reached the daemon's log or the audit trail (which did
    // record the calls).
    let audit = daemon.state_dir().join("audit");
    let trail: String = std::fs::read_dir(&audit)
        .expect("the audit trail")
        .map(|entry| std::fs::read_to_string(entry.expect("entry").path()).unwrap_or_default())
        .collect();
    assert!(trail.contains("\"GenerateAndExportDataKey\"") && trail.contains("\"ExportDataKey\""), "{trail}");
    let found = [leaks(&daemon.state_dir().join("daemon.log"), &data_keys), leaks(&audit, &data_keys)].concat();
    assert!(found.is_empty(), "data keys leaked: {found:#?}");
}

#[test]
fn exports_are_refused_for_the_wrong_key_size_a_non_rsa_key_a_disabled_key_or_a_malformed_blob() {
    let daemon = Daemon::start();
    let key = daemon.create_key(&["--key-spec", "AES_256"]);
    let rsa_2048 = KeyPair::rsa(2048);
    let ec = KeyPair::ec();
    let blob = text(&daemon.cli_json(&["generate-data-key", "--key-id", &key]), "CiphertextBlob");
    let generate = |public_key: &str, spec: &str, extra: &[&str]| {
        let mut args = vec![
            "generate-and-export-data-key",
            "--key-id",
            &key,
            "--public-key-file",
            public_key,
            "--wrapping-algorithm",
            "RSAES_OAEP_SHA_256",
            "--wrapping-key-spec",
            spec,
        ];
        args.extend_from_slice(extra);
        daemon.cli_outcome(&args)
    };
    let export = |blob: &str, public_key: &str, spec: &str| {
        daemon.cli_outcome(&[
            "export-data-key",
            "--ciphertext-blob",
            blob,
            "--public-key-file",
            public_key,
            "--wrapping-algorithm",
            "RSAES_OAEP_SHA_256",
            "--wrapping-key-spec",
            spec,
        ])
    };
    let refused = |(status, _, stderr): (Option<i32>, String, String), code: &str, says: &str| {
        assert_eq!(status, Some(1), "{stderr}");
        assert!(stderr.starts_with(&format!("{code}: ")), "{stderr}");
        assert!(stderr.contains(says), "{says}: {stderr}");
    };

    // The key size must be the public key's.
    let says = "an RSA key of 2048 bits, not of 3072 bits";
    refused(generate(&rsa_2048.public_pem(), "RSA_3072", &[]), "InvalidParameter", says);
    refused(export(&blob, &rsa_2048.public_pem(), "RSA_4096"), "InvalidParameter", "2048 bits, not of 4096 bits");
    // The public key must be RSA.
    refused(generate(&ec.public_pem(), "RSA_2048", &[]), "InvalidParameter", "not an RSA public key");
    refused(export(&blob, &ec.public_der(), "RSA_2048"), "InvalidParameter", "not an RSA public key");
    // A data key the public key cannot take in one encryption.
    let says = "at most 190 bytes";
    refused(generate(&rsa_2048.public_pem(), "RSA_2048", &["--number-of-bytes", "191"]), "InvalidParameter", says);
    // A private key is not sent at all: the CLI says what to give instead.
    let (status, _, stderr) = generate(&rsa_2048.path("private.pem").to_string_lossy(), "RSA_2048", &[]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("private key") && stderr.contains("-pubout"), "{stderr}");
    // A blob that is not one, or was changed.
    refused(export("AAAA", &rsa_2048.public_pem(), "RSA_2048"), "Rejected.InvalidCiphertext", "");
    let mut changed = from_base64(&blob).expect("base64");
    if let Some(last) = changed.last_mut() {
        *last ^= 1;
    }
    refused(export(&to_base64(&changed), &rsa_2048.public_pem(), "RSA_2048"), "Rejected.InvalidCiphertext", "");
    // A disabled key makes no data key and exports none.
    daemon.cli_json(&["key", "disable", &key]);
    refused(generate(&rsa_2048.public_pem(), "RSA_2048", &[]), "Rejected.Disabled", &key);
    refused(export(&blob, &rsa_2048.public_pem(), "RSA_2048"), "Rejected.Disabled", &key);
    // An asymmetric key is not for data keys.
    let ec_key = daemon.create_key(&["--key-spec", "EC_P256"]);
    let (status, _, stderr) = daemon.cli_outcome(&[
        "generate-and-export-data-key",
        "--key-id",
        &ec_key,
        "--public-key-blob",
        &rsa_2048.public_blob(),
        "--wrapping-algorithm",
        "RSAES_PKCS1_V1_5",
        "--wrapping-key-spec",
        "RSA_2048",
    ]);
    assert_eq!(status, Some(1));
    assert!(stderr.starts_with("Rejected.UnsupportedOperation: "), "{stderr}");

    daemon.cli_json(&["key", "enable", &key]);
    assert_eq!(used_with(&daemon, &key), Vec::<String>::new(), "no refused call is recorded");
}

#[test]
fn key_describe_shows_the_recorded_uses_after_a_restart() {
    let mut daemon = Daemon::start();
    let generated = daemon.create_key(&["--key-spec", "AES_256"]);
    let exported = daemon.create_key(&["--key-spec", "AES_256"]);
    let source = daemon.create_key(&["--key-spec", "AES_256"]);
    let destination = daemon.create_key(&["--key-spec", "AES_128"]);
    let untouched = daemon.create_key(&["--key-spec", "AES_256"]);
    let rsa_2048 = KeyPair::rsa(2048);
    let pem = rsa_2048.public_pem();
    let wrapping = [
        "--public-key-file",
        pem.as_str(),
        "--wrapping-algorithm",
        "RSAES_OAEP_SHA_1",
        "--wrapping-key-spec",
        "RSA_2048",
    ];

    daemon.cli_json(&[&["generate-and-export-data-key", "--key-id", &generated][..], &wrapping].concat());
    let blob = text(&daemon.cli_json(&["generate-data-key", "--key-id", &exported]), "CiphertextBlob");
    daemon.cli_json(&[&["export-data-key", "--ciphertext-blob", &blob][..], &wrapping].concat());
    let sealed = text(&daemon.cli_json(&["encrypt", "--key-id", &source, "--plaintext", "moving"]), "CiphertextBlob");
    daemon.cli_json(&["re-encrypt", "--ciphertext-blob", &sealed, "--destination-key-id", &destination]);
    // Ordinary use is no such use.
    daemon.cli_json(&["encrypt", "--key-id", &untouched, "--plaintext", "x"]);
    daemon.cli_json(&["generate-data-key", "--key-id", &untouched]);

    let expected = [
        (&generated, vec!["GenerateAndExportDataKey"]),
        (&exported, vec!["ExportDataKey"]),
        (&source, vec!["ReEncrypt"]),
        (&destination, vec!["ReEncrypt"]),
        (&untouched, vec![]),
    ];
    for (key, operations) in &expected {
        assert_eq!(used_with(&daemon, key), *operations, "{key} before the restart");
    }
    daemon.restart();
    for (key, operations) in &expected {
        assert_eq!(used_with(&daemon, key), *operations, "{key} after the restart");
    }
    // A second kind of use adds to the record; the human description says it.
    daemon.cli_json(&[&["generate-and-export-data-key", "--key-id", &exported][..], &wrapping].concat());
    assert_eq!(used_with(&daemon, &exported), ["ExportDataKey", "GenerateAndExportDataKey"]);
    let (status, human, _) = daemon.cli_outcome(&["key", "describe", &exported]);
    assert_eq!(status, Some(0));
    assert!(human.lines().any(|l| l == "UsedWithExportOperations: ExportDataKey,GenerateAndExportDataKey"), "{human}");
    let (_, human, _) = daemon.cli_outcome(&["key", "describe", &untouched]);
    assert!(!human.contains("UsedWithExportOperations"), "{human}");
    assert_eq!(
        daemon.cli(&["key", "describe", &source, "--query", "UsedWithExportOperations"]).stdout,
        b"[\"ReEncrypt\"]\n"
    );
}
