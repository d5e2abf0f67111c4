//! A cluster of tokens the daemon does not manage, given in the
//! configuration by module path, token label and PIN file: here SoftHSM
//! configured explicitly as such a module, with its own configuration
//! passed through `environment`. The daemon adopts the tokens, gives them a
//! cluster key, keeps keys on both, and finds them again after a restart.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use p11kms_tests::{Daemon, run};

const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";

#[test]
fn tokens_of_a_configured_module_form_a_cluster() {
    let dir = tempfile::tempdir().expect("dir");
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).expect("tokens");
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(&conf, format!("directories.tokendir = {}\nobjectstore.backend = file\n", tokens.display()))
        .expect("conf");
    for label in ["ext-a", "ext-b"] {
        run(Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", label, "--pin", "user-pin-1", "--so-pin", "so-pin-12"])
            .env("SOFTHSM2_CONF", &conf));
    }
    let pin_file = dir.path().join("user.pin");
    std::fs::write(&pin_file, "user-pin-1\n").expect("pin");
    std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let config = dir.path().join("p11kmsd.toml");
    let member = |label: &str| {
        format!(
            "[[clusters.members]]\nmodule = \"{SOFTHSM}\"\ntoken_label = \"{label}\"\npin_file = \"{}\"\n\
             environment = {{ SOFTHSM2_CONF = \"{}\" }}\n",
            pin_file.display(),
            conf.display()
        )
    };
    std::fs::write(
        &config,
        format!("[[clusters]]\nname = \"ext\"\ninstance = \"external\"\n{}{}", member("ext-a"), member("ext-b")),
    )
    .expect("config");
    let mut daemon = Daemon::start_with(&["--config", config.to_str().expect("path")]);

    let status = daemon.cli_json(&["cluster", "status", "ext"]);
    let members = status["Members"].as_array().expect("members");
    assert_eq!(members.len(), 2, "{status}");
    for member in members {
        assert_eq!(member["Module"], SOFTHSM, "the configured module, not a managed copy: {status}");
        assert_eq!(member["Health"], "healthy");
    }
    let key =
        daemon.cli_json(&["key", "create", "--instance", "external", "--key-spec", "AES_256"])["KeyMetadata"]["KeyId"]
            .as_str()
            .expect("KeyId")
            .to_owned();
    let blob = daemon.cli_json(&["encrypt", "--key-id", &key, "--plaintext", "outside"])["CiphertextBlob"]
        .as_str()
        .expect("blob")
        .to_owned();
    let status = daemon.cli_json(&["cluster", "status", "ext"]);
    assert!(status["Members"].as_array().expect("m").iter().all(|m| m["InSync"] == true), "{status}");

    // The tokens really hold the key: SoftHSM itself lists it on both.
    for label in ["ext-a", "ext-b"] {
        let out = Command::new("pkcs11-tool")
            .args(["--module", SOFTHSM, "--token-label", label, "--login", "--pin", "user-pin-1", "-O"])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .expect("pkcs11-tool");
        let listed = String::from_utf8_lossy(&out.stdout);
        assert!(listed.contains(&key), "{label} holds {key}:\n{listed}");
    }

    daemon.restart();
    assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob])["Plaintext"], "b3V0c2lkZQ==");
    let (code, out, _) = daemon.cli_outcome(&["cluster", "verify", "ext"]);
    assert_eq!(code, Some(0), "{out}");
}
