//! Set-up the backup tests share: a secret encrypted under a given key,
//! and a backup of an instance created and enabled (its first full taken).

use crate::Daemon;

/// Creates secret `name` in `instance`, version `v1` holding `value`,
/// encrypted under `key`.
pub fn create_secret_under(daemon: &Daemon, name: &str, instance: &str, value: &str, key: &str) {
    daemon.cli_json(&[
        "secret",
        "create",
        name,
        "--instance",
        instance,
        "--version-id",
        "v1",
        "--secret-data",
        value,
        "--encryption-key-id",
        key,
    ]);
}

/// A retained backup of a software instance, 30 viewable days, valid 365
/// days (`backup create` with `--backup-type retained`).
pub const RETAINED_SOFTWARE: &[&str] =
    &["--backup-type", "retained", "--instance-kind", "software", "--viewable-days", "30", "--duration-days", "365"];

/// Creates a backup with `create_args` (`backup create …`), enables it on
/// `instance` and returns its id.
pub fn enabled_backup(daemon: &Daemon, instance: &str, create_args: &[&str]) -> String {
    let created = daemon.cli_json(&[&["backup", "create"][..], create_args].concat());
    let id = created["BackupId"].as_str().expect("BackupId").to_owned();
    daemon.cli_json(&["backup", "enable", &id, "--instance", instance]);
    id
}
