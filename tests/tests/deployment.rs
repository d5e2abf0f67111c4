//! The deployment files in `conf/` work as written: p11-kit's proxy finds
//! the module through `conf/p11kms.module`, and the systemd unit starts
//! the daemon with options it has.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use p11kms_tests::{Daemon, artifact, module};

fn conf(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf").join(name)
}

/// Runs `program` as a user p11-kit reads user configuration for: p11-kit
/// ignores `~/.config/pkcs11` for root, so as root the command runs as
/// `nobody` (whose way to the module, home and socket the caller opened).
fn as_plain_user(program: &str) -> Command {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } == 0 {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", program]);
        command
    } else {
        Command::new(program)
    }
}

#[test]
fn p11_kit_proxy_finds_the_module_through_its_module_file() {
    let daemon = Daemon::start();
    // Let `nobody` reach the data socket (the state directory is 0711).
    std::fs::set_permissions(daemon.data_socket(), std::fs::Permissions::from_mode(0o666)).expect("chmod socket");

    let home = tempfile::tempdir().expect("home");
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod home");
    let modules = home.path().join(".config/pkcs11/modules");
    std::fs::create_dir_all(&modules).expect("modules dir");
    for dir in [home.path().join(".config"), home.path().join(".config/pkcs11"), modules.clone()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    // The shipped file names the module by its bare name (installed in
    // p11-kit's module directory); here it points at the build instead.
    let shipped = std::fs::read_to_string(conf("p11kms.module")).expect("conf/p11kms.module");
    assert!(shipped.lines().any(|line| line == "module: libp11kms.so"), "the shipped file names the module");
    let local = shipped.replace("module: libp11kms.so", &format!("module: {}", module().display()));
    std::fs::write(modules.join("p11kms.module"), local).expect("module file");
    std::fs::set_permissions(modules.join("p11kms.module"), std::fs::Permissions::from_mode(0o644)).expect("chmod");

    let listed = as_plain_user("p11-kit")
        .arg("list-modules")
        .env("HOME", home.path())
        .env("P11KMS_SOCKET", daemon.data_socket())
        .output()
        .expect("run p11-kit");
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "p11-kit list-modules: {}", String::from_utf8_lossy(&listed.stderr));
    // The module's block: its header line and the indented lines under it.
    let mut lines = text.lines().skip_while(|line| !line.starts_with("p11kms:"));
    let header = lines.next().unwrap_or_else(|| panic!("p11-kit does not list p11kms:\n{text}"));
    assert!(header.ends_with("libp11kms.so"), "{header}");
    let section: Vec<&str> = lines.take_while(|line| line.starts_with(' ')).map(str::trim).collect();
    assert!(section.contains(&"token: hsm1"), "the hsm1 token through p11-kit:\n{text}");

    // Through the proxy, as any application that loads p11-kit-proxy.so.
    let proxy = "/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so";
    let out = as_plain_user("pkcs11-tool")
        .args(["--module", proxy, "-L"])
        .env("HOME", home.path())
        .env("P11KMS_SOCKET", daemon.data_socket())
        .output()
        .expect("run pkcs11-tool");
    let slots = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "pkcs11-tool via the proxy: {}", String::from_utf8_lossy(&out.stderr));
    assert!(slots.contains("token label        : hsm1"), "hsm1 through p11-kit-proxy.so:\n{slots}");
}

#[test]
fn the_systemd_unit_runs_the_daemon_with_options_it_has() {
    let unit = std::fs::read_to_string(conf("p11kmsd.service")).expect("conf/p11kmsd.service");
    let exec = unit.lines().find_map(|line| line.strip_prefix("ExecStart=")).expect("ExecStart");
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/p11kmsd"));
    let help = Command::new(artifact("p11kmsd")).arg("--help").output().expect("p11kmsd --help");
    let help = String::from_utf8_lossy(&help.stdout);
    for option in words.filter(|word| word.starts_with("--")) {
        assert!(help.contains(option), "p11kmsd has no option {option}");
    }
    // The unit's state directory mode is the one the daemon keeps.
    assert!(unit.contains("StateDirectoryMode=0711"));
    assert!(unit.lines().any(|line| line == "KillSignal=SIGTERM"), "SIGTERM is the graceful shutdown");
    for hardening in ["NoNewPrivileges=yes", "ProtectSystem=strict", "RestrictAddressFamilies=AF_UNIX", "LimitCORE=0"] {
        assert!(unit.lines().any(|line| line == hardening), "{hardening}");
    }
}
