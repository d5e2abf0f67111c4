//! App access policies through OpenSC's `pkcs11-tool`: two apps of one
//! instance each list only the keys and secrets their policies name, sign
//! with their own key and not with the other's (by `--id`, which pkcs11-tool
//! looks up), read their own secret and not the other's; an app without
//! `kms:CreateKey` cannot make a key pair; a policy changed between two
//! runs applies to the second.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use p11kms_tests::Daemon;

const SIGNER: &str = r#"{"Version": "1", "Statement": [
  {"Effect": "Allow", "Action": ["kms:Sign", "kms:GetPublicKey"], "Resource": "alias/signer-*"},
  {"Effect": "Allow", "Action": "kms:GetSecretValue", "Resource": "secret/signer/*"}
]}"#;

const BUILDER: &str = r#"{"Version": "1", "Statement": [
  {"Effect": "Allow", "Action": "RbacPermission/Template/CryptoServiceKeyUser", "Resource": "alias/builder-key"},
  {"Effect": "Allow", "Action": "kms:GetSecretValue", "Resource": "secret/builder/*"},
  {"Effect": "Allow", "Action": "kms:CreateKey", "Resource": "key/*"}
]}"#;

/// The labels `pkcs11-tool -O` lists for an app, sorted, deduplicated (a
/// key pair lists its label twice).
fn listed(daemon: &Daemon, pin: &str) -> Vec<String> {
    let out = daemon.pkcs11_tool(&["--login", "--pin", pin, "-O"]);
    let mut labels: Vec<String> = out
        .lines()
        .filter_map(|line| line.trim().strip_prefix("label:"))
        .map(|label| label.trim().trim_matches('\'').to_owned())
        .collect();
    labels.sort();
    labels.dedup();
    labels
}

/// Signs a digest with the key `key`'s primary version (by its
/// `Pkcs11Id`); the outcome and stderr.
fn sign(daemon: &Daemon, pin: &str, key: &str, dir: &std::path::Path) -> (bool, String) {
    let id = daemon.key_field(key, "Pkcs11Id");
    let id = id.as_str().expect("Pkcs11Id");
    let input = dir.join("digest");
    std::fs::write(&input, [7u8; 32]).expect("digest");
    let output = dir.join("signature");
    let out = daemon.pkcs11_tool_output(&[
        "--login",
        "--pin",
        pin,
        "--sign",
        "-m",
        "ECDSA",
        "--id",
        id,
        "-i",
        input.to_str().expect("utf-8"),
        "-o",
        output.to_str().expect("utf-8"),
    ]);
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn read_secret(daemon: &Daemon, pin: &str, name: &str) -> (bool, Vec<u8>) {
    let out = daemon.pkcs11_tool_output(&["--login", "--pin", pin, "--read-object", "--type", "data", "--label", name]);
    (out.status.success(), out.stdout)
}

#[test]
fn pkcs11_tool_sees_and_uses_only_what_each_policy_names() {
    let daemon = Daemon::start();
    daemon.create_key(&["--key-spec", "EC_P256", "--alias", "alias/signer-main"]);
    daemon.create_key(&["--key-spec", "EC_P256", "--alias", "alias/builder-key"]);
    daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/nobody-uses"]);
    daemon.create_secret("signer/api", "hsm1", b"signer api token", false);
    daemon.create_secret("builder/registry", "hsm1", b"registry password", false);
    let signer = daemon.create_app_with_policy("signer", "hsm1", SIGNER);
    let builder = daemon.create_app_with_policy("builder", "hsm1", BUILDER);
    let dir = tempfile::tempdir().expect("dir");

    assert_eq!(listed(&daemon, &signer), ["signer-main", "signer/api"]);
    assert_eq!(listed(&daemon, &builder), ["builder-key", "builder/registry"]);

    let (ok, stderr) = sign(&daemon, &signer, "alias/signer-main", dir.path());
    assert!(ok, "signer signs with its key: {stderr}");
    let (ok, stderr) = sign(&daemon, &signer, "alias/builder-key", dir.path());
    assert!(!ok && stderr.contains("not found"), "builder's key is not found for signer: {stderr}");
    let (ok, stderr) = sign(&daemon, &builder, "alias/builder-key", dir.path());
    assert!(ok, "builder signs with its key: {stderr}");

    assert_eq!(read_secret(&daemon, &signer, "signer/api"), (true, b"signer api token".to_vec()));
    let (ok, stdout) = read_secret(&daemon, &signer, "builder/registry");
    assert!(!ok && stdout.is_empty(), "builder's secret is not found for signer");
    assert_eq!(read_secret(&daemon, &builder, "builder/registry"), (true, b"registry password".to_vec()));

    // Key creation: builder may, signer may not.
    let keygen = |pin: &str, label: &str| {
        daemon.pkcs11_tool_output(&[
            "--login",
            "--pin",
            pin,
            "--keypairgen",
            "--key-type",
            "EC:prime256v1",
            "--label",
            label,
        ])
    };
    let out = keygen(&signer, "signer-made");
    assert!(!out.status.success(), "signer may not create keys");
    // CKR_ACTION_PROHIBITED, which pkcs11-tool 0.23 has no name for.
    assert!(String::from_utf8_lossy(&out.stderr).contains("0x1b"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = keygen(&builder, "builder-made");
    assert!(out.status.success(), "builder creates keys: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(listed(&daemon, &builder), ["builder-key", "builder-made", "builder/registry"]);
    let (ok, stderr) = sign(&daemon, &builder, "alias/builder-made", dir.path());
    assert!(ok, "builder signs with the key it made: {stderr}");
    assert_eq!(listed(&daemon, &signer), ["signer-main", "signer/api"], "signer does not see it");

    // A new policy applies to the next run: signer loses Sign.
    daemon.update_app_policy(
        "signer",
        r#"{"Version": "1", "Statement": [
          {"Effect": "Allow", "Action": "kms:GetPublicKey", "Resource": "alias/signer-*"}
        ]}"#,
    );
    let (ok, stderr) = sign(&daemon, &signer, "alias/signer-main", dir.path());
    // CKR_KEY_FUNCTION_NOT_PERMITTED.
    assert!(!ok && stderr.contains("CKR_KEY_FUNCTION_NOT_PERMITTED"), "{stderr}");
    assert_eq!(listed(&daemon, &signer), ["signer-main"], "the secret statement is gone");
}
