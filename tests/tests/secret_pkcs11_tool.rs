//! A secret read with OpenSC's `pkcs11-tool --read-object --type data
//! --label NAME` (Debian bookworm's 0.23), as `docs/secrets.md` shows it:
//! the value on standard output, exactly; the new value after `p11kms
//! secret put-value`; binary bytes and 30 KiB through `-o`; nothing
//! without the login; `--delete-object` refused; gone while pending
//! deletion; listed by `-O` with its application.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use p11kms_tests::Daemon;

/// `pkcs11-tool --read-object --type data --label NAME` logged in with
/// `pin` (none: not logged in), then `extra`: exit code, stdout, stderr.
fn read_object(daemon: &Daemon, name: &str, pin: Option<&str>, extra: &[&str]) -> (Option<i32>, Vec<u8>, String) {
    let mut args = vec!["--read-object", "--type", "data", "--label", name];
    if let Some(pin) = pin {
        args.extend(["--login", "--pin", pin]);
    }
    args.extend_from_slice(extra);
    let out = daemon.pkcs11_tool_output(&args);
    (out.status.code(), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn pkcs11_tool_reads_a_secret_by_its_name() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("web", "hsm1");
    daemon.create_secret("db/orders", "hsm1", b"pw-1", false);

    let (code, stdout, stderr) = read_object(&daemon, "db/orders", None, &[]);
    assert_ne!(code, Some(0), "no secret without the login: {stderr}");
    assert!(stderr.contains("object not found") && stdout.is_empty(), "{stderr}");

    let (code, stdout, stderr) = read_object(&daemon, "db/orders", Some(&pin), &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, b"pw-1", "the value alone on standard output");

    daemon.cli_json(&["secret", "put-value", "db/orders", "--version-id", "v2", "--secret-data", "pw-2, longer"]);
    let (_, stdout, stderr) = read_object(&daemon, "db/orders", Some(&pin), &[]);
    assert_eq!(stdout, b"pw-2, longer", "the next read gives the new value: {stderr}");

    // Binary bytes and a 30 KiB value, written to a file by -o.
    let binary: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    daemon.create_secret("blob", "hsm1", &binary, true);
    let large: Vec<u8> = (0..30 * 1024).map(|i| b'A' + (i % 26) as u8).collect();
    daemon.create_secret("large", "hsm1", &large, false);
    let dir = tempfile::tempdir().expect("dir");
    for (name, expected) in [("blob", &binary), ("large", &large)] {
        let out = dir.path().join(name);
        let (code, _, stderr) = read_object(&daemon, name, Some(&pin), &["-o", out.to_str().expect("utf-8")]);
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(&std::fs::read(&out).expect("output"), expected, "{name}: every byte");
    }

    // Listed with its application; not destroyable.
    let listed = daemon.pkcs11_tool(&["--login", "--pin", &pin, "-O", "--type", "data"]);
    assert!(listed.contains("label:          'db/orders'"), "{listed}");
    assert!(listed.contains("application:    'p11kms secret'"), "{listed}");
    let out =
        daemon.pkcs11_tool_output(&["--login", "--pin", &pin, "--delete-object", "--type", "data", "--label", "blob"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    // CKR_ACTION_PROHIBITED, which pkcs11-tool 0.23 has no name for.
    assert!(stderr.contains("C_DestroyObject") && stderr.contains("0x1b"), "{stderr}");
    let (code, stdout, _) = read_object(&daemon, "blob", Some(&pin), &[]);
    assert_eq!((code, stdout), (Some(0), binary), "still there");

    // In its recovery window the secret is not found.
    daemon.cli_json(&["secret", "delete", "db/orders", "--recovery-window-in-days", "7"]);
    let (code, _, stderr) = read_object(&daemon, "db/orders", Some(&pin), &[]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("object not found"), "{stderr}");
}
