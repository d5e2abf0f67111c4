//! The rows of cryptographic operations: encryption, data keys,
//! signatures, asymmetric encryption and exported data keys.

use std::path::Path;

use p11kms_proto::bytes::from_base64;
use p11kms_tests::run;

use super::keys::Keys;
use super::table::{Audit, Received, key, ok, refused, text, version};
use super::{ASYM_PLAINTEXT, CONTEXT, PLAINTEXT};

/// Cryptographic operations, with the keys of [`super::keys::keys`].
pub(crate) fn crypto(audit: &mut Audit<'_>, keys: &Keys, work: &Path, received: &mut Received) {
    let daemon = audit.daemon;
    let Keys { k, k2, r, c, kv, rv, cv } = keys.clone();
    let (kr, k2r, rr, cr) = (key(&k), key(&k2), key(&r), key(&c));
    let encrypt = ["encrypt", "--key-id", "alias/audit-aes", "--plaintext", PLAINTEXT, "--encryption-context", CONTEXT];
    let (encrypted, _) = audit.run(&ok("Encrypt", &encrypt, &["alias/audit-aes", &kr, &version(&k, &kv)]));
    let blob = text(&encrypted, "CiphertextBlob");
    let blob2 = text(&daemon.cli_json(&["encrypt", "--key-id", &k2, "--plaintext", PLAINTEXT]), "CiphertextBlob");
    audit.table(&[
        refused("Encrypt", &["encrypt", "--key-id", &r, "--plaintext", "x"], &[&rr], "Rejected.UnsupportedOperation"),
        ok("Decrypt", &["decrypt", "--ciphertext-blob", &blob, "--encryption-context", CONTEXT], &[&kr]),
        // Not a blob: no key to name.
        refused("Decrypt", &["decrypt", "--ciphertext-blob", "AAAA"], &[], "Rejected.InvalidCiphertext"),
        ok("DisableKey", &["key", "disable", &k2], &[&k2r]),
        // The blob names its key, and the refusal says which: an
        // auditor looking for the uses of that key must find this one.
        refused("Decrypt", &["decrypt", "--ciphertext-blob", &blob2], &[&k2r], "Rejected.Disabled"),
        // Likewise a re-encryption to the blob's own (disabled) key.
        refused("ReEncrypt", &["re-encrypt", "--ciphertext-blob", &blob2], &[&k2r], "Rejected.Disabled"),
        ok("EnableKey", &["key", "enable", &k2], &[&k2r]),
        // The source key (from the blob, in the reply) too: the call
        // decrypted under it.
        ok(
            "ReEncrypt",
            &[
                "re-encrypt",
                "--ciphertext-blob",
                &blob,
                "--source-encryption-context",
                CONTEXT,
                "--destination-key-id",
                &k2,
            ],
            &[&k2r, &kr],
        ),
        refused(
            "ReEncrypt",
            &[
                "re-encrypt",
                "--ciphertext-blob",
                &blob,
                "--source-encryption-context",
                CONTEXT,
                "--destination-key-id",
                "nope",
            ],
            &["key/nope"],
            "Forbidden.KeyNotFound",
        ),
    ]);
    let (data_key, _) = audit.run(&ok("GenerateDataKey", &["generate-data-key", "--key-id", &k], &[&kr]));
    received.push(("a data key", from_base64(&text(&data_key, "Plaintext")).expect("base64")));
    let (signed, _) = audit.run(&ok(
        "AsymmetricSign",
        &["sign", "--key-id", &c, "--key-version-id", &cv, "--algorithm", "ECDSA_SHA_256", "--message", "audit"],
        &[&version(&c, &cv)],
    ));
    let signature = text(&signed, "Value");
    let (asym, _) = audit.run(&ok(
        "AsymmetricEncrypt",
        &[
            "asymmetric-encrypt",
            "--key-id",
            &r,
            "--key-version-id",
            &rv,
            "--algorithm",
            "RSAES_OAEP_SHA_256",
            "--plaintext",
            ASYM_PLAINTEXT,
        ],
        &[&version(&r, &rv)],
    ));
    let asym_blob = text(&asym, "CiphertextBlob");
    let asym_decrypt =
        ["asymmetric-decrypt", "--key-id", &r, "--key-version-id", &rv, "--algorithm", "RSAES_OAEP_SHA_256"];
    let asym_ok: Vec<&str> = [&asym_decrypt[..], &["--ciphertext-blob", &asym_blob]].concat();
    let asym_bad: Vec<&str> = [&asym_decrypt[..], &["--ciphertext-blob", "AAAA"]].concat();
    audit.table(&[
        refused(
            "GenerateDataKey",
            &["generate-data-key", "--key-id", &k, "--number-of-bytes", "2000"],
            &[&kr],
            "InvalidParameter",
        ),
        ok("GenerateDataKeyWithoutPlaintext", &["generate-data-key-without-plaintext", "--key-id", &k], &[&kr]),
        refused(
            "GenerateDataKeyWithoutPlaintext",
            &["generate-data-key-without-plaintext", "--key-id", &c],
            &[&cr],
            "Rejected.UnsupportedOperation",
        ),
        refused(
            "AsymmetricSign",
            &["sign", "--key-id", &c, "--key-version-id", &cv, "--algorithm", "RSA_PSS_SHA_256", "--message", "audit"],
            &[&version(&c, &cv)],
            "InvalidParameter",
        ),
        ok(
            "AsymmetricVerify",
            &[
                "verify",
                "--key-id",
                &c,
                "--key-version-id",
                &cv,
                "--algorithm",
                "ECDSA_SHA_256",
                "--message",
                "audit",
                "--value",
                &signature,
            ],
            &[&version(&c, &cv)],
        ),
        refused(
            "AsymmetricVerify",
            &[
                "verify",
                "--key-id",
                &c,
                "--key-version-id",
                &cv,
                "--algorithm",
                "RSA_PSS_SHA_256",
                "--message",
                "audit",
                "--value",
                &signature,
            ],
            &[&version(&c, &cv)],
            "InvalidParameter",
        ),
        refused(
            "AsymmetricEncrypt",
            &[
                "asymmetric-encrypt",
                "--key-id",
                &c,
                "--key-version-id",
                &cv,
                "--algorithm",
                "RSAES_OAEP_SHA_256",
                "--plaintext",
                "x",
            ],
            &[&version(&c, &cv)],
            "Rejected.UnsupportedOperation",
        ),
        ok("AsymmetricDecrypt", &asym_ok, &[&version(&r, &rv)]),
        refused("AsymmetricDecrypt", &asym_bad, &[&version(&r, &rv)], "Rejected.InvalidCiphertext"),
        ok("GetPublicKey", &["get-public-key", "--key-id", &c, "--key-version-id", &cv], &[&version(&c, &cv)]),
        refused("GetPublicKey", &["get-public-key", "--key-id", &k], &[&kr], "Rejected.UnsupportedOperation"),
    ]);
    // Data keys exported under a caller's RSA public key (openssl's).
    run(std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "caller.pem"])
        .current_dir(work));
    run(std::process::Command::new("openssl")
        .args(["pkey", "-in", "caller.pem", "-pubout", "-out", "caller.pub.pem"])
        .current_dir(work));
    let caller = work.join("caller.pub.pem");
    let caller = caller.to_str().expect("utf-8");
    let wrapping =
        ["--public-key-file", caller, "--wrapping-algorithm", "RSAES_OAEP_SHA_256", "--wrapping-key-spec", "RSA_2048"];
    let generate_export = |key: &str, spec: &'static str| -> Vec<String> {
        let mut args = vec!["generate-and-export-data-key", "--key-id", key];
        args.extend_from_slice(&wrapping[..5]);
        args.push(spec);
        args.into_iter().map(str::to_owned).collect()
    };
    let generate_export_ok = generate_export(&k, "RSA_2048");
    let args: Vec<&str> = generate_export_ok.iter().map(String::as_str).collect();
    let (exported, _) = audit.run(&ok("GenerateAndExportDataKey", &args, &[&kr, &version(&k, &kv)]));
    let exported_blob = text(&exported, "CiphertextBlob");
    let opened = daemon.cli_json(&["decrypt", "--ciphertext-blob", &exported_blob]);
    received.push(("an exported data key", from_base64(&text(&opened, "Plaintext")).expect("base64")));
    let data_key_blob = text(&data_key, "CiphertextBlob");
    let export_ok: Vec<&str> = [&["export-data-key", "--ciphertext-blob", &data_key_blob][..], &wrapping].concat();
    let export_bad: Vec<&str> = [&["export-data-key", "--ciphertext-blob", "AAAA"][..], &wrapping].concat();
    let generate_export_bad = generate_export(&k, "RSA_3072");
    let args_bad: Vec<&str> = generate_export_bad.iter().map(String::as_str).collect();
    audit.table(&[
        refused("GenerateAndExportDataKey", &args_bad, &[&kr], "InvalidParameter"),
        ok("ExportDataKey", &export_ok, &[&kr]),
        refused("ExportDataKey", &export_bad, &[], "Rejected.InvalidCiphertext"),
    ]);
}
