//! `p11kms secret migrate` end to end: two real daemons with regions of
//! their own (a config file each), the real CLI between them. The issue's
//! case (three versions, one deprecated, a custom stage on the first)
//! compared equal and then read back on each side on its own; a binary
//! secret under a named destination key; a source that changes at each
//! point of the migration (held there by the CLI's test pause), which
//! stops it and leaves the destination clean and the source as the test
//! left it, and a copy changed before the comparison (reported side by
//! side, removed); the refusals (a name taken at the destination, a secret pending
//! deletion, the source's own region, an instance that cannot hold
//! secrets, a RAM secret) and the types that need no migration (Rds, ECS).

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use p11kms_proto::bytes::to_base64;
use p11kms_tests::{Daemon, artifact};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A daemon whose configuration names `region`, with `args` besides.
fn region(region: &str, args: &[&str]) -> (Daemon, TempDir) {
    let dir = tempfile::tempdir().expect("config dir");
    let config = dir.path().join("p11kmsd.toml");
    std::fs::write(&config, format!("region = \"{region}\"\n")).expect("config");
    let mut full = vec!["--config", config.to_str().expect("utf-8 path")];
    full.extend_from_slice(args);
    (Daemon::start_with(&full), dir)
}

/// The CLI against `source`, sending `secret migrate NAME` to `destination`.
fn migrate_command(source: &Daemon, destination: &Daemon, name: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(artifact("p11kms"));
    command
        .args(["secret", "migrate", name, "--to-socket"])
        .arg(destination.admin_socket())
        .args(["--to-instance", "hsm1"])
        .args(extra)
        .env("P11KMS_ADMIN_SOCKET", source.admin_socket());
    command
}

/// Runs a migration; returns (exit code, stdout, stderr).
fn migrate(source: &Daemon, destination: &Daemon, name: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = migrate_command(source, destination, name, extra).output().expect("run p11kms");
    outcome(&out)
}

fn outcome(out: &Output) -> (Option<i32>, String, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn secret(daemon: &Daemon, args: &[&str]) -> Value {
    let mut full = vec!["secret"];
    full.extend_from_slice(args);
    daemon.cli_json(&full)
}

/// Every version, oldest first, with its stages sorted.
fn versions(daemon: &Daemon, name: &str) -> Vec<(String, Vec<String>)> {
    let list = secret(daemon, &["list-version-ids", name, "--include-deprecated"]);
    list["VersionIds"]
        .as_array()
        .expect("VersionIds")
        .iter()
        .map(|v| {
            let mut stages: Vec<String> = v["VersionStages"]
                .as_array()
                .expect("stages")
                .iter()
                .map(|s| s.as_str().expect("s").to_owned())
                .collect();
            stages.sort();
            (v["VersionId"].as_str().expect("id").to_owned(), stages)
        })
        .collect()
}

/// Each version's value and data type, oldest first.
fn values(daemon: &Daemon, name: &str) -> Vec<(String, String, String)> {
    versions(daemon, name)
        .into_iter()
        .map(|(id, _)| {
            let got = secret(daemon, &["get-value", name, "--version-id", &id]);
            let data = got["SecretData"].as_str().expect("SecretData").to_owned();
            (id, data, got["SecretDataType"].as_str().expect("type").to_owned())
        })
        .collect()
}

/// Creates the managed secret `name` (`Rds`, `RAM`, `ECS`) with its
/// ExtendedConfig and first value.
fn managed(daemon: &Daemon, name: &str, secret_type: &str, config: &str, value: &str) {
    let version = ["--instance", "hsm1", "--version-id", "v1"];
    let typed = ["--secret-type", secret_type, "--extended-config", config, "--secret-data", value];
    secret(daemon, &[&["create", name][..], &version, &typed].concat());
}

fn secret_count(daemon: &Daemon) -> u64 {
    secret(daemon, &["list"])["TotalCount"].as_u64().expect("TotalCount")
}

fn sorted_tags(described: &Value) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = described["Tags"]
        .as_array()
        .expect("Tags")
        .iter()
        .map(|t| (t["TagKey"].as_str().expect("k").to_owned(), t["TagValue"].as_str().expect("v").to_owned()))
        .collect();
    tags.sort();
    tags
}

/// The issue's source: v1 with the custom stage 001 and ACSPrevious, v2
/// deprecated, v3 ACSCurrent; a description and two tags.
fn issue_secret(daemon: &Daemon, name: &str) {
    secret(
        daemon,
        &[
            "create",
            name,
            "--instance",
            "hsm1",
            "--version-id",
            "v1",
            "--secret-data",
            "pw-alpha-1",
            "--description",
            "orders database",
            "--tag",
            "team=pay",
            "--tag",
            "env=prod",
        ],
    );
    secret(daemon, &["update-version-stage", name, "--version-stage", "001", "--move-to-version", "v1"]);
    secret(daemon, &["put-value", name, "--version-id", "v2", "--secret-data", "pw-bravo-2"]);
    secret(daemon, &["put-value", name, "--version-id", "v3", "--secret-data", "pw-charlie-3"]);
    secret(
        daemon,
        &[
            "update-version-stage",
            name,
            "--version-stage",
            "ACSPrevious",
            "--remove-from-version",
            "v2",
            "--move-to-version",
            "v1",
        ],
    );
}

#[test]
fn three_versions_with_a_custom_stage_and_a_deprecated_one_move_to_another_region() {
    let (source, _a) = region("eu-west", &[]);
    let (destination, _b) = region("eu-east", &[]);
    issue_secret(&source, "db/orders");
    let stages = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        versions(&source, "db/orders"),
        [
            ("v1".to_owned(), stages(&["001", "ACSPrevious"])),
            ("v2".to_owned(), vec![]),
            ("v3".to_owned(), stages(&["ACSCurrent"])),
        ]
    );
    let source_before = secret(&source, &["describe", "db/orders", "--fetch-tags"]);
    let source_values = values(&source, "db/orders");

    let (code, stdout, stderr) = migrate(&source, &destination, "db/orders", &["--json"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["Outcome"], "Migrated");
    assert_eq!(report["Source"], json!({"Region": "eu-west", "DKMSInstanceId": "hsm1"}));
    assert_eq!(report["Destination"], json!({"Region": "eu-east", "DKMSInstanceId": "hsm1"}));
    assert_eq!(report["Steps"][0], json!({"Operation": "CreateSecret", "VersionId": "v1"}));
    let comparison = &report["Comparison"];
    assert_eq!(comparison["Equal"], true, "{comparison:#}");
    let rows = comparison["Versions"].as_array().expect("Versions");
    let ids: Vec<&str> = rows.iter().map(|r| r["VersionId"].as_str().expect("id")).collect();
    assert_eq!(ids, ["v1", "v2", "v3"]);
    for row in rows {
        assert_eq!(row["Equal"], true);
        assert_eq!(row["Source"]["ValueDigest"], row["Destination"]["ValueDigest"]);
        assert_eq!(row["Source"]["VersionStages"], row["Destination"]["VersionStages"]);
    }
    assert_eq!(rows[0]["Destination"]["VersionStages"], json!(["001", "ACSPrevious"]));
    assert_eq!(rows[1]["Destination"]["VersionStages"], json!([]));
    let fields = comparison["Fields"].as_array().expect("Fields");
    let field = |name: &str| fields.iter().find(|f| f["Field"] == name).unwrap_or_else(|| panic!("{name}"));
    assert_eq!(
        (field("Tags")["Source"].as_str(), field("Tags")["Equal"].as_bool()),
        (Some("env=prod,team=pay"), Some(true))
    );
    assert_eq!(field("EncryptionKeyId")["Compared"], false);
    for (_, value, _) in &source_values {
        assert!(!stdout.contains(value.as_str()) && !stderr.contains(value.as_str()), "a value was printed");
    }

    // Each side on its own.
    assert_eq!(versions(&destination, "db/orders"), versions(&source, "db/orders"));
    assert_eq!(values(&destination, "db/orders"), source_values);
    let copy = secret(&destination, &["describe", "db/orders", "--fetch-tags"]);
    for field in ["SecretName", "SecretType", "Description", "ExtendedConfig", "AutomaticRotation"] {
        assert_eq!(copy[field], source_before[field], "{field}");
    }
    assert_eq!(sorted_tags(&copy), sorted_tags(&source_before));
    assert_eq!(copy["Arn"], "acs:kms:eu-east:hsm1:secret/db/orders");
    // The destination's service key, not the source's key (which means
    // nothing there).
    let key = copy["EncryptionKeyId"].as_str().expect("EncryptionKeyId");
    assert_ne!(key, source_before["EncryptionKeyId"].as_str().expect("source key"));
    let service = destination.cli_json(&["key", "describe", "alias/acs/secrets/hsm1"]);
    assert_eq!(service["KeyMetadata"]["KeyId"], key);
    let source_key = source_before["EncryptionKeyId"].as_str().expect("source key");
    assert_eq!(destination.cli_error(&["key", "describe", source_key]), "Forbidden.KeyNotFound");
    // The source is untouched.
    assert_eq!(secret(&source, &["describe", "db/orders", "--fetch-tags"]), source_before);
    assert_eq!(values(&source, "db/orders"), source_values);
    // And a second run finds the name taken.
    let (code, _, stderr) = migrate(&source, &destination, "db/orders", &[]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with("Rejected.ResourceExist: secret 'db/orders' already exists at the destination"),
        "{stderr}"
    );
}

#[test]
fn a_binary_secret_moves_byte_for_byte_under_a_named_destination_key() {
    let (source, _a) = region("ap-1", &[]);
    let (destination, _b) = region("ap-2", &[]);
    let key = destination.create_key(&["--key-spec", "AES_256"]);
    let first = [0u8, 1, 2, 0, 255, 254, 10, 13];
    let second: Vec<u8> = (0..=255u8).rev().collect();
    secret(
        &source,
        &[
            "create",
            "blob",
            "--instance",
            "hsm1",
            "--version-id",
            "b1",
            "--secret-data-type",
            "binary",
            "--secret-data",
            &to_base64(&first),
        ],
    );
    secret(
        &source,
        &[
            "put-value",
            "blob",
            "--version-id",
            "b2",
            "--secret-data-type",
            "binary",
            "--secret-data",
            &to_base64(&second),
            "--version-stages",
            "ACSCurrent,green",
        ],
    );
    let (code, stdout, stderr) = migrate(&source, &destination, "blob", &["--encryption-key-id", &key]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Secret 'blob' (Generic): region ap-1, instance hsm1 -> region ap-2, instance hsm1.\n"),
        "{stdout}"
    );
    let line = |id: &str| stdout.lines().find(|l| l.starts_with(id)).unwrap_or_else(|| panic!("no row {id}: {stdout}"));
    // VERSION, SOURCE STAGES, SOURCE VALUE (type and digest), DESTINATION
    // STAGES, DESTINATION VALUE, MATCH.
    let cells: Vec<&str> = line("b2 ").split_whitespace().collect();
    assert_eq!(cells.len(), 8, "{cells:?}");
    assert_eq!((cells[1], cells[2], cells[4], cells[5]), ("ACSCurrent,green", "binary", "ACSCurrent,green", "binary"));
    assert_eq!(cells[3], cells[6], "the same digest on both sides");
    assert_eq!(cells[7], "equal");
    assert!(line("b1 ").ends_with("equal"), "{stdout}");
    assert!(!stdout.contains(&to_base64(&first)) && !stdout.contains(&to_base64(&second)), "no value printed");
    assert!(stdout.contains("both sides compare equal"), "{stdout}");

    assert_eq!(values(&destination, "blob"), values(&source, "blob"));
    assert_eq!(values(&destination, "blob")[0].1, to_base64(&first));
    assert_eq!(versions(&destination, "blob"), versions(&source, "blob"));
    assert_eq!(secret(&destination, &["describe", "blob"])["EncryptionKeyId"], key.as_str());
}

/// A migration held at a test pause while the test changes the source.
struct Paused {
    child: Child,
    dir: TempDir,
    point: &'static str,
}

impl Paused {
    /// Starts a migration that stops at `point` and waits until it is there.
    fn start(source: &Daemon, destination: &Daemon, name: &str, point: &'static str) -> Self {
        let dir = tempfile::tempdir().expect("pause dir");
        let child = migrate_command(source, destination, name, &[])
            .env("P11KMS_TEST_MIGRATE_PAUSE", format!("{point}:{}", dir.path().display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("p11kms");
        let mut paused = Self { child, dir, point };
        paused.wait_reached();
        paused
    }

    fn wait_reached(&mut self) {
        let reached = self.dir.path().join(format!("{}.reached", self.point));
        let deadline = Instant::now() + Duration::from_secs(60);
        while !reached.exists() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("p11kms ended ({status}) before the pause at {}", self.point);
            }
            assert!(Instant::now() < deadline, "the migration did not reach {}", self.point);
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Lets it go on; returns how it ended.
    fn resume(self) -> (Option<i32>, String, String) {
        std::fs::write(self.dir.path().join(format!("{}.resume", self.point)), b"").expect("resume");
        outcome(&self.child.wait_with_output().expect("wait"))
    }
}

fn assert_absent(daemon: &Daemon, name: &str) {
    assert_eq!(daemon.cli_error(&["secret", "describe", name]), "Forbidden.ResourceNotFound");
}

#[test]
fn a_source_that_changes_stops_the_migration_and_leaves_the_destination_clean() {
    // The test clock arms the CLI's pause, and holds UpdateTime still
    // unless the test moves it: each kind of detection is seen.
    let (source, _a) = region("eu-1", &["--test-clock"]);
    let (destination, _b) = region("eu-2", &["--test-clock"]);
    issue_secret(&source, "db");

    // A new version while the source is read, UpdateTime moved: refused
    // before anything is made.
    let paused = Paused::start(&source, &destination, "db", "after-read");
    source.cli_json(&["clock", "advance", "1s"]);
    secret(&source, &["put-value", "db", "--version-id", "v4", "--secret-data", "pw-delta-4"]);
    let (code, _, stderr) = paused.resume();
    assert_eq!(code, Some(6), "{stderr}");
    assert!(
        stderr.starts_with("error: the source secret 'db' changed during the migration (UpdateTime changed)"),
        "{stderr}"
    );
    assert!(!stderr.contains("removed"), "nothing was made: {stderr}");
    assert_absent(&destination, "db");
    assert_eq!(secret_count(&destination), 0);

    // The description changed once the secret exists at the destination:
    // seen before the next put, and the copy removed.
    let before = versions(&source, "db");
    let paused = Paused::start(&source, &destination, "db", "after-create");
    assert_eq!(versions(&destination, "db").len(), 1, "the first version is there");
    source.cli_json(&["clock", "advance", "1s"]);
    secret(&source, &["update", "db", "--description", "changed"]);
    let (code, _, stderr) = paused.resume();
    assert_eq!(code, Some(6), "{stderr}");
    assert!(stderr.contains("(Description, UpdateTime changed)"), "{stderr}");
    assert!(stderr.contains("the copy made at the destination was removed; the source is untouched"), "{stderr}");
    assert_absent(&destination, "db");
    assert_eq!(versions(&source, "db"), before, "the source has only the test's change");

    // A stage moved in the same second (UpdateTime does not move): seen
    // by the final reading of the source.
    let paused = Paused::start(&source, &destination, "db", "before-compare");
    assert_eq!(versions(&destination, "db"), before, "the copy is whole");
    secret(&source, &["update-version-stage", "db", "--version-stage", "blue", "--move-to-version", "v2"]);
    let (code, _, stderr) = paused.resume();
    assert_eq!(code, Some(6), "{stderr}");
    assert!(stderr.contains("(version 'v2' changed)"), "{stderr}");
    assert!(stderr.contains("was removed"), "{stderr}");
    assert_absent(&destination, "db");
    let mut expected = before.clone();
    expected[1].1 = vec!["blue".to_owned()];
    assert_eq!(versions(&source, "db"), expected);

    // The copy changed instead (nothing else should touch it): the
    // comparison shows it, exit 5, and the copy is removed.
    let paused = Paused::start(&source, &destination, "db", "before-compare");
    secret(&destination, &["update", "db", "--description", "edited at the destination"]);
    let (code, stdout, stderr) = paused.resume();
    assert_eq!(code, Some(5), "{stdout}\n{stderr}");
    let row = stdout.lines().find(|l| l.starts_with("Description")).expect("the Description row");
    assert!(row.contains(" changed ") && row.contains("edited at the destination"), "{row}");
    assert!(row.ends_with("DIFFERENT"), "{row}");
    assert!(stdout.lines().filter(|l| l.starts_with('v')).all(|l| l.ends_with("equal")), "{stdout}");
    assert!(stdout.contains("differs from the source: the copy made at the destination was removed"), "{stdout}");
    assert_absent(&destination, "db");

    // Left alone, it goes through.
    let (code, stdout, stderr) = migrate(&source, &destination, "db", &[]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_eq!(versions(&destination, "db"), expected);
    assert_eq!(values(&destination, "db"), values(&source, "db"));
}

#[test]
fn a_name_taken_at_the_destination_is_refused_as_are_a_deleted_secret_and_the_sources_own_region() {
    let (source, _a) = region("eu-1", &[]);
    let (destination, _b) = region("eu-2", &[]);
    secret(&source, &["create", "db", "--instance", "hsm1", "--version-id", "v1", "--secret-data", "ours"]);
    secret(&destination, &["create", "db", "--instance", "hsm1", "--version-id", "v1", "--secret-data", "theirs"]);
    let (code, stdout, stderr) = migrate(&source, &destination, "db", &[]);
    assert_eq!((code, stdout.as_str()), (Some(1), ""), "{stderr}");
    assert!(
        stderr.starts_with(
            "Rejected.ResourceExist: secret 'db' already exists at the destination (region eu-2, instance hsm1)"
        ),
        "{stderr}"
    );
    assert_eq!(values(&destination, "db"), [("v1".to_owned(), "theirs".to_owned(), "text".to_owned())]);
    assert_eq!(values(&source, "db"), [("v1".to_owned(), "ours".to_owned(), "text".to_owned())]);

    secret(&source, &["create", "old", "--instance", "hsm1", "--version-id", "v1", "--secret-data", "x"]);
    secret(&source, &["delete", "old", "--recovery-window-in-days", "7"]);
    let (code, _, stderr) = migrate(&source, &destination, "old", &[]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with("Rejected.SecretPendingDeletion: secret 'old' is pending deletion at the source"),
        "{stderr}"
    );
    assert_absent(&destination, "old");

    secret(&source, &["create", "new", "--instance", "hsm1", "--version-id", "v1", "--secret-data", "x"]);
    let (code, _, stderr) = migrate(&source, &source, "new", &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.starts_with("InvalidParameter: the destination is in region 'eu-1', the source's own"), "{stderr}");
    assert_eq!(secret_count(&destination), 1, "only its own secret");
}

#[test]
fn a_destination_instance_that_cannot_hold_secrets_is_refused_before_anything_is_made() {
    let (source, _a) = region("eu-1", &[]);
    let (destination, _b) = region("eu-2", &[]);
    secret(&source, &["create", "db", "--instance", "hsm1", "--version-id", "v1", "--secret-data", "pw"]);
    let to = |instance: &str| {
        let out = Command::new(artifact("p11kms"))
            .args(["secret", "migrate", "db", "--to-instance", instance, "--to-socket"])
            .arg(destination.admin_socket())
            .env("P11KMS_ADMIN_SOCKET", source.admin_socket())
            .output()
            .expect("p11kms");
        outcome(&out)
    };
    let (code, _, stderr) = to("default");
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with(
            "Rejected.UnsupportedOperation: instance 'default' of the destination (region eu-2) cannot hold secrets"
        ),
        "{stderr}"
    );
    let (code, _, stderr) = to("hsm9");
    assert_eq!(code, Some(1));
    assert!(stderr.starts_with("Forbidden.ResourceNotFound: destination: instance 'hsm9'"), "{stderr}");
    assert_eq!(secret_count(&destination), 0);
    let keys = destination.cli_json(&["key", "list"]);
    assert_eq!(keys["TotalCount"], 0, "not even the service key was made");
}

#[test]
fn a_ram_secret_is_refused_with_the_specs_advice() {
    let (source, _a) = region("eu-1", &[]);
    let (destination, _b) = region("eu-2", &[]);
    managed(
        &source,
        "acs/ram/user/alice",
        "RAM",
        r#"{"SecretSubType":"RamUserAccessKey","UserName":"alice"}"#,
        r#"{"AccessKeys":[{"AccessKeyId":"LTAI0123456789abcdefghij","AccessKeySecret":"s3cr3t"}]}"#,
    );
    let (code, stdout, stderr) = migrate(&source, &destination, "acs/ram/user/alice", &[]);
    assert_eq!((code, stdout.as_str()), (Some(1), ""), "{stderr}");
    assert!(
        stderr.starts_with(
            "Rejected.UnsupportedOperation: secret 'acs/ram/user/alice' is a RAM secret: migration is not supported."
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("delete it in the source region, then create a new one in the destination region"),
        "{stderr}"
    );
    assert!(stderr.contains("does not delete the associated AccessKey pair"), "{stderr}");
    assert_eq!(secret_count(&destination), 0);
    assert_eq!(versions(&source, "acs/ram/user/alice").len(), 1, "the source is untouched");
}

#[test]
fn rds_and_ecs_secrets_need_no_migration() {
    let (source, _a) = region("eu-1", &[]);
    let (destination, _b) = region("eu-2", &[]);
    managed(
        &source,
        "rds/orders",
        "Rds",
        r#"{"SecretSubType":"SingleUser","DBInstanceId":"rm-1"}"#,
        r#"{"Accounts":[{"AccountName":"app","AccountPassword":"pw"}]}"#,
    );
    managed(
        &source,
        "acs/ecs/root",
        "ECS",
        r#"{"SecretSubType":"Password","RegionId":"eu-1","InstanceId":"i-1"}"#,
        r#"{"UserName":"root","Password":"pw"}"#,
    );
    let (code, stdout, stderr) = migrate(&source, &destination, "rds/orders", &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("secret 'rds/orders' is an Rds secret: no migration needed."), "{stdout}");
    let (code, stdout, stderr) = migrate(&source, &destination, "acs/ecs/root", &["--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!((report["Outcome"].as_str(), report["SecretType"].as_str()), (Some("NoMigrationNeeded"), Some("ECS")));
    assert!(report["Comparison"].is_null() && report["Steps"] == json!([]));
    assert_eq!(secret_count(&destination), 0, "nothing made");
}
