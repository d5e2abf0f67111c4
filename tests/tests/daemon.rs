//! The daemon's life on a state directory: first start, second start,
//! file modes, one daemon per directory, graceful stop, admin access.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use p11kms_tests::{Daemon, artifact};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[test]
fn first_start_creates_everything_private_and_a_restart_loses_nothing() {
    let mut daemon = Daemon::start();
    let state = daemon.state_dir().to_owned();
    let instances = daemon.cli_json(&["instance", "list"]);
    let names: Vec<&str> =
        instances["Instances"].as_array().expect("list").iter().filter_map(|i| i["Name"].as_str()).collect();
    assert_eq!(names, ["default", "hsm1"]);
    assert_eq!(instances["TotalCount"], 2);
    let hsm1 = &instances["Instances"][1];
    assert_eq!(hsm1["Kind"], "hardware");
    assert_eq!(hsm1["Cluster"], "hsm1");
    assert_eq!(hsm1["SlotId"], 0, "the hardware instance is the first slot");

    assert_eq!(mode(&state.join("p11kms.db")), 0o600);
    assert_eq!(mode(&state.join("secrets")), 0o700);
    assert_eq!(mode(&state.join("admin.sock")), 0o600);
    assert_eq!(mode(&state.join("data.sock")), 0o660);
    for index in 0..3 {
        for kind in ["user-pin", "so-pin"] {
            let pin = state.join(format!("secrets/hsm1-{index}.{kind}"));
            assert_eq!(mode(&pin), 0o600, "{}", pin.display());
            assert_eq!(std::fs::read_to_string(&pin).expect("pin").trim().len(), 32);
        }
    }
    let conf = std::fs::read_to_string(state.join("clusters/hsm1/softhsm2.conf")).expect("SoftHSM config");
    assert!(conf.contains(&state.join("clusters/hsm1/tokens").display().to_string()), "{conf}");

    let status = daemon.cli_json(&["cluster", "status", "hsm1"]);
    let serials: Vec<String> = status["Members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["Serial"].as_str().expect("serial").to_owned())
        .collect();
    assert_eq!(serials.len(), 3);
    let pin = daemon.create_app("web", "hsm1");
    let key =
        daemon.cli_json(&["key", "create", "--instance", "hsm1", "--key-spec", "EC_P256", "--alias", "alias/keep"]);
    let key_id = key["KeyMetadata"]["KeyId"].as_str().expect("KeyId").to_owned();

    let before = daemon.cli_json(&["instance", "list"]);
    daemon.restart();
    let log = daemon.log();
    assert!(log.contains("primary matches the store"), "{log}");
    assert_eq!(daemon.cli_json(&["instance", "list"]), before, "same instances and counts after a restart");
    let again = daemon.cli_json(&["cluster", "status", "hsm1"]);
    let serials_again: Vec<String> = again["Members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["Serial"].as_str().expect("serial").to_owned())
        .collect();
    assert_eq!(serials_again, serials, "the same tokens are reused");
    assert_eq!(daemon.cli_json(&["key", "describe", "alias/keep"])["KeyMetadata"]["KeyId"], key_id.as_str());
    assert!(daemon.cli_json(&["app", "describe", "web"])["AppName"] == "web");
    assert!(!daemon.log().contains(&pin), "the PIN never reaches the log");
}

#[test]
fn a_second_daemon_on_the_same_state_directory_is_refused() {
    let daemon = Daemon::start();
    let out = Command::new(artifact("p11kmsd")).arg("--state-dir").arg(daemon.state_dir()).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another p11kmsd is running"));
    assert!(daemon.cli(&["instance", "list"]).status.success(), "the first one is unharmed");
}

#[test]
fn sigterm_stops_gracefully_and_removes_the_sockets() {
    let mut daemon = Daemon::start();
    let (data, admin) = (daemon.data_socket(), daemon.admin_socket());
    assert_eq!(daemon.stop(), Some(0));
    assert!(!data.exists() && !admin.exists());
    assert!(daemon.log().contains("p11kmsd stopped"));
}

#[test]
fn the_admin_socket_refuses_users_the_config_does_not_allow() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to act as another user");
        return;
    }
    let daemon = Daemon::start();
    // Open the file-system path so that only the uid check stands in the way.
    std::fs::set_permissions(daemon.state_dir(), std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    std::fs::set_permissions(daemon.admin_socket(), std::fs::Permissions::from_mode(0o666)).expect("chmod socket");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(artifact("p11kms"))
        .args(["instance", "list"])
        .env("P11KMS_ADMIN_SOCKET", daemon.admin_socket())
        .output()
        .expect("run setpriv");
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("65534"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(daemon.log().contains("admin connection refused"));
}

#[test]
fn a_log_written_to_a_file_carries_no_colour_codes() {
    let daemon = Daemon::start();
    assert!(daemon.cli(&["instance", "list"]).status.success());
    let log = daemon.log();
    assert!(log.contains("admin request"), "the daemon logged: {log}");
    assert!(!log.contains('\u{1b}'), "no ANSI escape in a log file:\n{log}");
}
