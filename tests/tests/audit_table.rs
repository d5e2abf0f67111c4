//! The audit trail, operation by operation: a table of (nearly) every
//! single-call `p11kms` command, each run once successfully and once
//! refused (an unknown key, secret, app or cluster, a bad parameter, a
//! wrong state), on a real daemon on the test clock. After each command,
//! `p11kms audit lookup-events --event-name <API name>` must show exactly
//! one new event of that name, from the admin socket, naming the expected
//! resources (`key/<id>`, `key/<id>/version/<v>`, `alias/<name>`,
//! `secret/<name>`, `app/<name>`, `instance/<name>`, `cluster/<name>`),
//! whose `Result` is `Success`, or the error code the CLI printed (and
//! `ErrorCode` with it). The clock's refusals (`ClockNotManual`) come from
//! a second daemon on the system clock. At the end, every operation of
//! the `admin_operations!` table must have been covered, and none of the
//! values given or received (secret values, plaintexts, the app's PIN, a
//! data key, imported key material, the import token) may appear in any
//! file under `<state>/audit/`, as text, base64 or hex.
//!
//! Not covered: `rewrap` (ReEncryptBatch) and `secret migrate` make
//! several calls (migrate also to a second region's daemon), so one
//! command is not one event; `audit verify --dir` makes no call at all.
//! Calls that take no argument (ListInstances, ListApps, ListClusters,
//! GetClock, ListConnections, VerifyAudit) cannot be refused from the CLI
//! while the trail is on, nor can ListClusterImages (an unknown cluster
//! lists no images): they are run successfully only. The cluster
//! operations that build tokens (cluster create, add-member, restore) take
//! about a second each here, so they are covered too.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

use p11kms_proto::Timestamp;
use p11kms_proto::admin::op;
use p11kms_proto::bytes::{from_base64, to_base64};
use p11kms_tests::{Daemon, run};
use serde_json::Value;

/// The `--start-time` of this test's own lookups (before and after each
/// command): harmless as a filter, and the mark that tells them from the
/// `audit lookup-events` commands of the table in LookupEvents' events.
const PROBE_START: &str = "1970-01-01T00:00:00Z";

/// Operations no row runs: they make several calls a command.
const NOT_RUN: &[&str] = &["ReEncryptBatch"];

/// Operations the CLI cannot get refused (no argument to get wrong).
const NOT_REFUSABLE: &[&str] =
    &["ListInstances", "ListApps", "ListClusters", "ListClusterImages", "GetClock", "ListConnections", "VerifyAudit"];

/// What a command must end with.
#[derive(Clone, Copy, Debug)]
enum Expect {
    Success,
    /// Refused with this error code (exit status 1, `Code: message`).
    Refused(&'static str),
}

/// One row of the table: the API name of the event, the command line
/// (without `--json`), the resources its event must name, the outcome.
#[derive(Debug)]
struct Row {
    name: &'static str,
    args: Vec<String>,
    resources: Vec<String>,
    expect: Expect,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// A row that must succeed.
fn ok(name: &'static str, args: &[&str], resources: &[&str]) -> Row {
    Row { name, args: strings(args), resources: strings(resources), expect: Expect::Success }
}

/// A row that must be refused with `code`.
fn refused(name: &'static str, args: &[&str], resources: &[&str], code: &'static str) -> Row {
    Row { name, args: strings(args), resources: strings(resources), expect: Expect::Refused(code) }
}

/// What the rows found: the operations covered (name, succeeded) and the
/// trail's mistakes, reported together at the end.
#[derive(Debug, Default)]
struct Report {
    covered: BTreeSet<(&'static str, bool)>,
    commands: usize,
    failures: Vec<String>,
}

/// Runs rows against one daemon and checks the trail after each.
struct Audit<'a> {
    daemon: &'a Daemon,
    report: &'a mut Report,
}

impl Audit<'_> {
    /// One of this test's lookups (marked with [`PROBE_START`]).
    fn lookup(&self, filters: &[&str]) -> Value {
        let mut args = vec!["audit", "lookup-events", "--start-time", PROBE_START];
        args.extend_from_slice(filters);
        self.daemon.cli_json(&args)
    }

    /// The RequestId of the newest event named `name`, if any.
    fn newest(&self, name: &str) -> Option<String> {
        let page = self.lookup(&["--event-name", name, "--max-results", "1"]);
        page["Events"][0]["RequestId"].as_str().map(str::to_owned)
    }

    /// The events named `name` newer than the one `mark` names (every one
    /// without a mark), newest first, page after page; this test's own
    /// lookups left out.
    fn since(&self, name: &str, mark: Option<&str>) -> Vec<Value> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut filters = vec!["--event-name", name];
            if let Some(token) = &token {
                filters.extend(["--next-token", token.as_str()]);
            }
            let page = self.lookup(&filters);
            for event in page["Events"].as_array().expect("Events") {
                if mark.is_some() && event["RequestId"].as_str() == mark {
                    return found;
                }
                if !is_probe(event) {
                    found.push(event.clone());
                }
            }
            match page["NextToken"].as_str() {
                Some(next) => token = Some(next.to_owned()),
                None => return found,
            }
        }
    }

    fn fail(&mut self, failure: String) {
        self.report.failures.push(failure);
    }

    /// Runs one row: asserts the command's outcome (the table's own
    /// premise), then records what the trail got wrong. Returns the
    /// command's JSON output (`Null` when refused) and its event.
    fn run(&mut self, row: &Row) -> (Value, Option<Value>) {
        let mark = self.newest(row.name);
        let mut args = vec!["--json"];
        args.extend(row.args.iter().map(String::as_str));
        let out = self.daemon.cli(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let what = format!("{} (`p11kms {}`)", row.name, row.args.join(" "));
        self.report.commands += 1;
        let reply = match row.expect {
            Expect::Success => {
                assert!(out.status.success(), "{what} should succeed: {stderr}");
                serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
            }
            Expect::Refused(code) => {
                assert_eq!(out.status.code(), Some(1), "{what} should be refused with {code}: {stderr}");
                let printed = stderr.split(": ").next().unwrap_or_default().trim();
                assert_eq!(printed, code, "{what}: the CLI printed {stderr}");
                Value::Null
            }
        };
        let succeeded = matches!(row.expect, Expect::Success);
        self.report.covered.insert((row.name, succeeded));

        let fresh = self.since(row.name, mark.as_deref());
        let [event] = fresh.as_slice() else {
            self.fail(format!("{what}: {} new {} events instead of 1: {fresh:#?}", fresh.len(), row.name));
            return (reply, None);
        };
        let (result, error_code) = match row.expect {
            Expect::Success => ("Success", Value::Null),
            Expect::Refused(code) => (code, Value::from(code)),
        };
        if event["Result"] != result {
            self.fail(format!("{what}: Result {} instead of {result}", event["Result"]));
        }
        if event.get("ErrorCode").cloned().unwrap_or(Value::Null) != error_code {
            self.fail(format!("{what}: ErrorCode {:?} instead of {error_code}", event.get("ErrorCode")));
        }
        if event["EventSource"] != "Admin" {
            self.fail(format!("{what}: EventSource {} instead of Admin", event["EventSource"]));
        }
        for resource in &row.resources {
            self.expect_resource(&what, event, resource);
        }
        (reply, Some(event.clone()))
    }

    /// Records a failure unless `event` names `resource`.
    fn expect_resource(&mut self, what: &str, event: &Value, resource: &str) {
        let names = event["ResourceName"].as_array().cloned().unwrap_or_default();
        if !names.iter().any(|n| n == resource) {
            self.fail(format!("{what}: ResourceName {names:?} lacks {resource}"));
        }
    }

    /// Runs every row in order.
    fn table(&mut self, rows: &[Row]) {
        for row in rows {
            self.run(row);
        }
    }

    /// Runs a row and checks that its event also names the resource
    /// `extra` makes of the command's reply (a key made, an image taken).
    fn run_naming(&mut self, row: &Row, extra: impl Fn(&Value) -> String) -> Value {
        let (reply, event) = self.run(row);
        if let Some(event) = event {
            let resource = extra(&reply);
            let what = format!("{} (`p11kms {}`)", row.name, row.args.join(" "));
            self.expect_resource(&what, &event, &resource);
        }
        reply
    }
}

/// One of this test's own lookups.
fn is_probe(event: &Value) -> bool {
    event["EventName"] == "LookupEvents" && !event["RequestParameters"]["start_time"].is_null()
}

fn text(value: &Value, path: &str) -> String {
    let mut value = value;
    for part in path.split('.') {
        value = match part.parse::<usize>() {
            Ok(index) => &value[index],
            Err(_) => &value[part],
        };
    }
    value.as_str().unwrap_or_else(|| panic!("{path} in {value}")).to_owned()
}

fn key(id: &str) -> String {
    format!("key/{id}")
}

fn version(id: &str, version: &str) -> String {
    format!("key/{id}/version/{version}")
}

/// The key id of a `key create` reply, as a resource.
fn created_key(reply: &Value) -> String {
    key(&text(reply, "KeyMetadata.KeyId"))
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read the audit directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The places where a value given or received shows in the trail's
/// files: as it is, in base64 (padded or not) or in hex.
fn leaks(dir: &Path, values: &[(&str, Vec<u8>)]) -> Vec<String> {
    let files: Vec<(std::path::PathBuf, Vec<u8>)> =
        files_under(dir).into_iter().map(|path| (path.clone(), std::fs::read(&path).expect("read"))).collect();
    assert!(!files.is_empty(), "the trail has files");
    let mut found = Vec::new();
    for (label, value) in values {
        let base64 = to_base64(value);
        let hex: String = value.iter().map(|b| format!("{b:02x}")).collect();
        let forms = [
            value.clone(),
            base64.clone().into_bytes(),
            base64.trim_end_matches('=').as_bytes().to_vec(),
            hex.into_bytes(),
        ];
        for form in forms.iter().filter(|f| f.len() >= 8) {
            for (path, bytes) in &files {
                if bytes.windows(form.len()).any(|w| w == form.as_slice()) {
                    found.push(format!("{label} ({}) is in {}", String::from_utf8_lossy(form), path.display()));
                }
            }
        }
    }
    found
}

#[test]
fn every_admin_operation_leaves_one_event_accepted_or_refused() {
    let started = std::time::Instant::now();
    let daemon = Daemon::start_with(&["--test-clock"]);
    let system_clock = Daemon::start();
    let mut report = Report::default();
    let work = tempfile::tempdir().expect("work dir");

    // Values that must never reach the trail.
    const SECRET_V1: &str = "audit-table-secret-value-one-7f3a9c";
    const SECRET_V2: &str = "audit-table-secret-value-two-1d8e4b";
    const RDS_PASSWORD: &str = "audit-table-rds-password-93c0aa";
    const PLAINTEXT: &str = "audit-table-plaintext-5be1d2";
    const ASYM_PLAINTEXT: &str = "audit-table-asym-plaintext-0c4f";
    const MATERIAL: &[u8; 32] = b"audit-table-key-material-32bytes";
    const CONTEXT: &str = r#"{"purpose":"audit"}"#;
    let v1_file = work.path().join("v1");
    let v2_file = work.path().join("v2");
    std::fs::write(&v1_file, SECRET_V1).expect("v1");
    std::fs::write(&v2_file, SECRET_V2).expect("v2");
    let (v1_file, v2_file) = (v1_file.to_str().expect("utf-8"), v2_file.to_str().expect("utf-8"));
    let mut received: Vec<(&str, Vec<u8>)> = Vec::new();

    let mut audit = Audit { daemon: &daemon, report: &mut report };

    // Instances and apps.
    audit.table(&[
        ok("ListInstances", &["instance", "list"], &[]),
        ok("DescribeInstance", &["instance", "describe", "hsm1"], &["instance/hsm1"]),
        refused(
            "DescribeInstance",
            &["instance", "describe", "nope"],
            &["instance/nope"],
            "Forbidden.ResourceNotFound",
        ),
    ]);
    let (app, _) = audit.run(&ok(
        "CreateApp",
        &["app", "create", "audit-app", "--instance", "hsm1", "--policy", "all"],
        &["app/audit-app", "instance/hsm1"],
    ));
    received.push(("the app's PIN", text(&app, "Pin").into_bytes()));
    audit.table(&[
        refused(
            "CreateApp",
            &["app", "create", "audit-app", "--instance", "hsm1", "--policy", "all"],
            &["app/audit-app"],
            "Rejected.ResourceExist",
        ),
        ok("ListApps", &["app", "list"], &[]),
        ok("DescribeApp", &["app", "describe", "audit-app"], &["app/audit-app"]),
        refused("DescribeApp", &["app", "describe", "nope"], &["app/nope"], "Forbidden.ResourceNotFound"),
        ok("UpdateAppPolicy", &["app", "update-policy", "audit-app", "--policy", "all"], &["app/audit-app"]),
        refused(
            "UpdateAppPolicy",
            &["app", "update-policy", "nope", "--policy", "all"],
            &["app/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("DeleteApp", &["app", "delete", "audit-app"], &["app/audit-app"]),
        refused("DeleteApp", &["app", "delete", "audit-app"], &["app/audit-app"], "Forbidden.ResourceNotFound"),
    ]);

    // Keys: a symmetric one with an alias, an RSA and an EC one, an
    // EXTERNAL one, and a second symmetric one to delete.
    let create = |spec: &str, extra: &[&str]| {
        let mut args = vec!["key", "create", "--instance", "hsm1", "--key-spec", spec];
        args.extend_from_slice(extra);
        ok("CreateKey", &args, &["instance/hsm1"])
    };
    let aes = audit.run_naming(&create("AES_256", &["--alias", "alias/audit-aes"]), created_key);
    let k = text(&aes, "KeyMetadata.KeyId");
    let k2 = text(&audit.run_naming(&create("AES_256", &[]), created_key), "KeyMetadata.KeyId");
    let r = text(&audit.run_naming(&create("RSA_2048", &[]), created_key), "KeyMetadata.KeyId");
    let c = text(&audit.run_naming(&create("EC_P256", &[]), created_key), "KeyMetadata.KeyId");
    let e = text(&audit.run_naming(&create("AES_256", &["--origin", "EXTERNAL"]), created_key), "KeyMetadata.KeyId");
    let primary = |id: &str| text(&daemon.cli_json(&["key", "list-versions", id]), "KeyVersions.0.KeyVersionId");
    let (kv, rv, cv) = (primary(&k), primary(&r), primary(&c));
    let (kr, k2r, rr, cr, er) = (key(&k), key(&k2), key(&r), key(&c), key(&e));
    audit.table(&[
        refused(
            "CreateKey",
            &["key", "create", "--instance", "nope", "--key-spec", "AES_256"],
            &["instance/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("DescribeKey", &["key", "describe", "alias/audit-aes"], &["alias/audit-aes", &kr]),
        refused("DescribeKey", &["key", "describe", "nope"], &["key/nope"], "Forbidden.KeyNotFound"),
        ok("ListKeys", &["key", "list", "--instance", "hsm1"], &["instance/hsm1"]),
        refused("ListKeys", &["key", "list", "--instance", "nope"], &["instance/nope"], "Forbidden.ResourceNotFound"),
        ok("ListKeyVersions", &["key", "list-versions", &k], &[&kr]),
        refused("ListKeyVersions", &["key", "list-versions", "nope"], &["key/nope"], "Forbidden.KeyNotFound"),
        ok("DescribeKeyVersion", &["key", "describe-version", &k, "--key-version-id", &kv], &[&version(&k, &kv)]),
        refused(
            "DescribeKeyVersion",
            &["key", "describe-version", &k, "--key-version-id", "nope"],
            &[&version(&k, "nope")],
            "Forbidden.ResourceNotFound",
        ),
        refused("CreateKeyVersion", &["key", "create-version", &e], &[&er], "Rejected.PendingImport"),
        ok(
            "UpdateRotationPolicy",
            &["key", "update-rotation-policy", &k, "--enable-automatic-rotation", "--rotation-interval", "30d"],
            &[&kr],
        ),
        refused(
            "UpdateRotationPolicy",
            &["key", "update-rotation-policy", &k, "--enable-automatic-rotation", "--rotation-interval", "1d"],
            &[&kr],
            "InvalidParameter",
        ),
        refused("DisableKey", &["key", "disable", "nope"], &["key/nope"], "Forbidden.KeyNotFound"),
        refused("EnableKey", &["key", "enable", "nope"], &["key/nope"], "Forbidden.KeyNotFound"),
        ok("SetDeletionProtection", &["key", "set-deletion-protection", &k, "--enable"], &[&kr]),
        refused(
            "ScheduleKeyDeletion",
            &["key", "schedule-deletion", &k, "--pending-window-in-days", "7"],
            &[&kr],
            "Rejected.StateModifiedFailed",
        ),
        ok("SetDeletionProtection", &["key", "set-deletion-protection", &k, "--disable"], &[&kr]),
        refused(
            "SetDeletionProtection",
            &["key", "set-deletion-protection", "nope", "--disable"],
            &["key/nope"],
            "Forbidden.KeyNotFound",
        ),
        ok("ScheduleKeyDeletion", &["key", "schedule-deletion", &k2, "--pending-window-in-days", "7"], &[&k2r]),
        ok("CancelKeyDeletion", &["key", "cancel-deletion", &k2], &[&k2r]),
        refused("CancelKeyDeletion", &["key", "cancel-deletion", &k], &[&kr], "Rejected.StateModifiedFailed"),
        ok("TagResource", &["key", "tag", &k, "--tag", "env=audit"], &[&kr]),
        refused("TagResource", &["key", "tag", "nope", "--tag", "env=audit"], &["key/nope"], "Forbidden.KeyNotFound"),
        ok("UntagResource", &["key", "untag", &k, "--tag-key", "env"], &[&kr]),
        refused("UntagResource", &["key", "untag", "nope", "--tag-key", "env"], &["key/nope"], "Forbidden.KeyNotFound"),
        ok(
            "GetParametersForImport",
            &["key", "get-parameters-for-import", &e, "--wrapping-algorithm", "RSAES_OAEP_SHA_256"],
            &[&er],
        ),
        refused(
            "GetParametersForImport",
            &["key", "get-parameters-for-import", &k, "--wrapping-algorithm", "RSAES_OAEP_SHA_256"],
            &[&kr],
            "Rejected.UnsupportedOperation",
        ),
        refused(
            "ImportKeyMaterial",
            &["key", "import-key-material", &e, "--import-token", "garbage", "--encrypted-key-material", "AAAA"],
            &[&er],
            "InvalidParameter",
        ),
    ]);
    let (token, wrapped) = daemon.wrap_for_import(&e, MATERIAL, "RSAES_OAEP_SHA_256");
    received.push(("the imported key material", MATERIAL.to_vec()));
    received.push(("the import token", token.clone().into_bytes()));
    received.push(("the wrapped key material", wrapped.clone().into_bytes()));
    audit.table(&[
        ok(
            "ImportKeyMaterial",
            &["key", "import-key-material", &e, "--import-token", &token, "--encrypted-key-material", &wrapped],
            &[&er],
        ),
        ok("DeleteKeyMaterial", &["key", "delete-key-material", &e], &[&er]),
        refused("DeleteKeyMaterial", &["key", "delete-key-material", &k], &[&kr], "Rejected.UnsupportedOperation"),
        ok("CheckKeyMigration", &["key", "check-migration", &k], &[&kr]),
        refused(
            "CheckKeyMigration",
            &["key", "check-migration", "key-nope"],
            &["key/key-nope"],
            "Forbidden.KeyNotFound",
        ),
    ]);
    // A key of the default instance, moved into hsm1 by a migration task.
    let d = text(
        &audit.run_naming(
            &ok(
                "CreateKey",
                &["key", "create", "--instance", "default", "--key-spec", "AES_256"],
                &["instance/default"],
            ),
            created_key,
        ),
        "KeyMetadata.KeyId",
    );
    let dr = key(&d);
    let task = audit.run_naming(
        &ok("MigrateKey", &["key", "migrate", &d, "--to-instance", "hsm1"], &[&dr, "instance/hsm1"]),
        |reply| format!("migration/{}", text(reply, "TaskId")),
    );
    let task_id = text(&task, "TaskId");
    let task_resource = format!("migration/{task_id}");
    audit.table(&[
        refused(
            "MigrateKey",
            &["key", "migrate", &k, "--to-instance", "hsm1"],
            &[&kr, "instance/hsm1"],
            "Rejected.UnsupportedOperation",
        ),
        ok("DescribeKeyMigration", &["key", "describe-migration", &task_id], &[&task_resource, &dr]),
        refused(
            "DescribeKeyMigration",
            &["key", "describe-migration", "mt-nope"],
            &["migration/mt-nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("ListKeyMigrations", &["key", "list-migrations", "--key", &d], &[&dr]),
        refused(
            "ListKeyMigrations",
            &["key", "list-migrations", "--key", "key-nope"],
            &["key/key-nope"],
            "Forbidden.KeyNotFound",
        ),
    ]);
    let rotated = audit.run_naming(&ok("CreateKeyVersion", &["key", "create-version", &k], &[&kr]), |reply| {
        version(&k, &text(reply, "KeyVersionId"))
    });
    // The new primary version, which encrypts from now on.
    let kv = text(&rotated, "KeyVersionId");

    // Aliases.
    audit.table(&[
        ok("CreateAlias", &["alias", "create", "alias/audit-b", "--key-id", &k], &["alias/audit-b", &kr]),
        refused(
            "CreateAlias",
            &["alias", "create", "alias/audit-b", "--key-id", &k],
            &["alias/audit-b"],
            "AliasAlreadyExists",
        ),
        ok("UpdateAlias", &["alias", "update", "alias/audit-b", "--key-id", &k2], &["alias/audit-b", &k2r]),
        refused(
            "UpdateAlias",
            &["alias", "update", "alias/nope", "--key-id", &k2],
            &["alias/nope"],
            "Forbidden.AliasNotFound",
        ),
        ok("ListAliases", &["alias", "list", "--key-id", &k], &[&kr]),
        refused("ListAliases", &["alias", "list", "--key-id", "nope"], &["key/nope"], "Forbidden.KeyNotFound"),
        ok("DeleteAlias", &["alias", "delete", "alias/audit-b"], &["alias/audit-b"]),
        refused("DeleteAlias", &["alias", "delete", "alias/audit-b"], &["alias/audit-b"], "Forbidden.AliasNotFound"),
    ]);

    // Cryptographic operations.
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
        .current_dir(work.path()));
    run(std::process::Command::new("openssl")
        .args(["pkey", "-in", "caller.pem", "-pubout", "-out", "caller.pub.pem"])
        .current_dir(work.path()));
    let caller = work.path().join("caller.pub.pem");
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

    // Secrets.
    audit.table(&[
        ok(
            "CreateSecret",
            &[
                "secret",
                "create",
                "audit/db",
                "--instance",
                "hsm1",
                "--version-id",
                "v1",
                "--secret-data-file",
                v1_file,
            ],
            &["secret/audit/db", "secret/audit/db/version/v1"],
        ),
        refused(
            "CreateSecret",
            &[
                "secret",
                "create",
                "audit/db",
                "--instance",
                "hsm1",
                "--version-id",
                "v1",
                "--secret-data-file",
                v1_file,
            ],
            &["secret/audit/db"],
            "Rejected.ResourceExist",
        ),
        ok(
            "PutSecretValue",
            &["secret", "put-value", "audit/db", "--version-id", "v2", "--secret-data-file", v2_file],
            &["secret/audit/db", "secret/audit/db/version/v2"],
        ),
        refused(
            "PutSecretValue",
            &["secret", "put-value", "nope", "--version-id", "v2", "--secret-data-file", v2_file],
            &["secret/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("GetSecretValue", &["secret", "get-value", "audit/db"], &["secret/audit/db"]),
        refused("GetSecretValue", &["secret", "get-value", "nope"], &["secret/nope"], "Forbidden.ResourceNotFound"),
        ok("ListSecretVersionIds", &["secret", "list-version-ids", "audit/db"], &["secret/audit/db"]),
        refused(
            "ListSecretVersionIds",
            &["secret", "list-version-ids", "nope"],
            &["secret/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok(
            "UpdateSecretVersionStage",
            &["secret", "update-version-stage", "audit/db", "--version-stage", "ACSCurrent", "--move-to-version", "v1"],
            &["secret/audit/db"],
        ),
        refused(
            "UpdateSecretVersionStage",
            &["secret", "update-version-stage", "audit/db", "--version-stage", "ACSCurrent", "--move-to-version", "v9"],
            &["secret/audit/db"],
            "Forbidden.ResourceNotFound",
        ),
        ok("DescribeSecret", &["secret", "describe", "audit/db", "--fetch-tags"], &["secret/audit/db"]),
        refused("DescribeSecret", &["secret", "describe", "nope"], &["secret/nope"], "Forbidden.ResourceNotFound"),
        ok("UpdateSecret", &["secret", "update", "audit/db", "--description", "audited"], &["secret/audit/db"]),
        refused(
            "UpdateSecret",
            &["secret", "update", "nope", "--description", "audited"],
            &["secret/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("ListSecrets", &["secret", "list", "--instance", "hsm1"], &["instance/hsm1"]),
        refused("ListSecrets", &["secret", "list", "--page-size", "1000"], &[], "InvalidParameter"),
        ok("TagResource", &["secret", "tag", "audit/db", "--tag", "env=audit"], &["secret/audit/db"]),
        refused(
            "TagResource",
            &["secret", "tag", "nope", "--tag", "env=audit"],
            &["secret/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("UntagResource", &["secret", "untag", "audit/db", "--tag-key", "env"], &["secret/audit/db"]),
        refused(
            "UntagResource",
            &["secret", "untag", "nope", "--tag-key", "env"],
            &["secret/nope"],
            "Forbidden.ResourceNotFound",
        ),
        refused(
            "DeleteSecret",
            &["secret", "delete", "audit/db", "--recovery-window-in-days", "6"],
            &["secret/audit/db"],
            "InvalidParameter",
        ),
        ok("DeleteSecret", &["secret", "delete", "audit/db", "--recovery-window-in-days", "7"], &["secret/audit/db"]),
        ok("RestoreSecret", &["secret", "restore", "audit/db"], &["secret/audit/db"]),
        refused(
            "RestoreSecret",
            &["secret", "restore", "audit/db"],
            &["secret/audit/db"],
            "Rejected.StateModifiedFailed",
        ),
    ]);
    let rds_value = format!(r#"{{"Accounts":[{{"AccountName":"app","AccountPassword":"{RDS_PASSWORD}"}}]}}"#);
    let rds_file = work.path().join("rds");
    std::fs::write(&rds_file, &rds_value).expect("rds value");
    audit.table(&[
        ok(
            "CreateSecret",
            &[
                "secret",
                "create",
                "audit/rds",
                "--instance",
                "hsm1",
                "--version-id",
                "v1",
                "--secret-type",
                "Rds",
                "--extended-config",
                r#"{"SecretSubType":"SingleUser","DBInstanceId":"rm-1"}"#,
                "--secret-data-file",
                rds_file.to_str().expect("utf-8"),
            ],
            &["secret/audit/rds"],
        ),
        ok(
            "UpdateSecretRotationPolicy",
            &[
                "secret",
                "update-rotation-policy",
                "audit/rds",
                "--enable-automatic-rotation",
                "--rotation-interval",
                "7d",
            ],
            &["secret/audit/rds"],
        ),
        refused(
            "UpdateSecretRotationPolicy",
            &[
                "secret",
                "update-rotation-policy",
                "audit/db",
                "--enable-automatic-rotation",
                "--rotation-interval",
                "7d",
            ],
            &["secret/audit/db"],
            "Rejected.UnsupportedOperation",
        ),
        ok("RotateSecret", &["secret", "rotate", "audit/rds", "--version-id", "v2"], &["secret/audit/rds"]),
        refused(
            "RotateSecret",
            &["secret", "rotate", "audit/db"],
            &["secret/audit/db"],
            "Rejected.UnsupportedOperation",
        ),
    ]);
    let rotated: Value =
        serde_json::from_str(&text(&daemon.cli_json(&["secret", "get-value", "audit/rds"]), "SecretData"))
            .expect("JSON");
    received.push(("the rotated Rds password", text(&rotated, "Accounts.0.AccountPassword").into_bytes()));

    // The clock (test clock here; refusals of the system clock below).
    let now = Timestamp::parse_rfc3339(&text(&daemon.cli_json(&["clock", "show"]), "Now")).expect("RFC 3339");
    let later = now.plus_seconds(7200).to_string();
    audit.table(&[
        ok("GetClock", &["clock", "show"], &[]),
        ok("AdvanceClock", &["clock", "advance", "1h"], &[]),
        ok("SetClock", &["clock", "set", &later], &[]),
        refused("SetClock", &["clock", "set", &now.to_string()], &[], "InvalidParameter"),
        ok("ListConnections", &["connection", "list"], &[]),
    ]);

    // Clusters and instances, last: the instance moves to a restored cluster.
    audit.table(&[
        ok("ListClusters", &["cluster", "list"], &[]),
        ok("GetClusterStatus", &["cluster", "status", "hsm1"], &["cluster/hsm1"]),
        refused("GetClusterStatus", &["cluster", "status", "nope"], &["cluster/nope"], "Forbidden.ResourceNotFound"),
        ok("VerifyCluster", &["cluster", "verify", "hsm1"], &["cluster/hsm1"]),
        refused("VerifyCluster", &["cluster", "verify", "nope"], &["cluster/nope"], "Forbidden.ResourceNotFound"),
        ok("CreateCluster", &["cluster", "create", "audit-c", "--members", "2"], &["cluster/audit-c"]),
        refused(
            "CreateCluster",
            &["cluster", "create", "audit-c", "--members", "2"],
            &["cluster/audit-c"],
            "Rejected.ResourceExist",
        ),
        ok("AddClusterMember", &["cluster", "add-member", "audit-c"], &["cluster/audit-c"]),
        refused(
            "AddClusterMember",
            &["cluster", "add-member", "nope"],
            &["cluster/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("RemoveClusterMember", &["cluster", "remove-member", "audit-c", "--index", "2"], &["cluster/audit-c"]),
        refused(
            "RemoveClusterMember",
            &["cluster", "remove-member", "audit-c", "--index", "0"],
            &["cluster/audit-c"],
            "InvalidParameter",
        ),
        ok("ResyncCluster", &["cluster", "resync", "audit-c"], &["cluster/audit-c"]),
        refused("ResyncCluster", &["cluster", "resync", "nope"], &["cluster/nope"], "Forbidden.ResourceNotFound"),
        ok(
            "CreateInstance",
            &["instance", "create", "audit-i", "--cluster", "audit-c"],
            &["instance/audit-i", "cluster/audit-c"],
        ),
        refused(
            "CreateInstance",
            &["instance", "create", "audit-j", "--cluster", "nope"],
            &["instance/audit-j", "cluster/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("DeleteInstance", &["instance", "delete", "audit-i"], &["instance/audit-i"]),
        refused("DeleteInstance", &["instance", "delete", "default"], &["instance/default"], "InvalidParameter"),
    ]);
    let (image, _) = audit.run(&ok("CreateClusterImage", &["cluster", "image", "create", "hsm1"], &["cluster/hsm1"]));
    let image = text(&image, "ImageId");
    audit.table(&[
        refused(
            "CreateClusterImage",
            &["cluster", "image", "create", "nope"],
            &["cluster/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("ListClusterImages", &["cluster", "image", "list", "hsm1"], &["cluster/hsm1"]),
        ok(
            "RestoreCluster",
            &["cluster", "restore", "--image", &image, "--name", "audit-r", "--members", "2"],
            &["cluster/audit-r"],
        ),
        refused(
            "RestoreCluster",
            &["cluster", "restore", "--image", "img-nope", "--name", "audit-s", "--members", "2"],
            &["cluster/audit-s"],
            "Forbidden.ResourceNotFound",
        ),
        ok("AttachCluster", &["instance", "attach-cluster", "hsm1", "audit-r"], &["instance/hsm1", "cluster/audit-r"]),
        refused(
            "AttachCluster",
            &["instance", "attach-cluster", "hsm1", "nope"],
            &["instance/hsm1", "cluster/nope"],
            "Forbidden.ResourceNotFound",
        ),
    ]);

    // Backups of instances.
    let (backup, _) = audit.run(&ok(
        "CreateBackup",
        &["backup", "create", "--backup-type", "default", "--instance-kind", "hardware"],
        &[],
    ));
    let backup_id = text(&backup, "BackupId");
    let b = format!("backup/{backup_id}");
    let today = text(&daemon.cli_json(&["clock", "show"]), "Now")[..10].to_owned();
    audit.table(&[
        refused(
            "CreateBackup",
            &["backup", "create", "--backup-type", "retained", "--instance-kind", "hardware"],
            &[],
            "InvalidParameter",
        ),
        ok("EnableBackup", &["backup", "enable", &backup_id, "--instance", "hsm1"], &[&b, "instance/hsm1"]),
        refused(
            "EnableBackup",
            &["backup", "enable", &backup_id, "--instance", "hsm1"],
            &[&b, "instance/hsm1"],
            "Rejected.StateModifiedFailed",
        ),
        ok("ListBackups", &["backup", "list", "--instance", "hsm1"], &["instance/hsm1"]),
        refused(
            "ListBackups",
            &["backup", "list", "--instance", "nope"],
            &["instance/nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("DescribeBackup", &["backup", "describe", &backup_id], &[&b]),
        refused(
            "DescribeBackup",
            &["backup", "describe", "backup-nope"],
            &["backup/backup-nope"],
            "Forbidden.ResourceNotFound",
        ),
        ok("ShowBackup", &["backup", "show", &backup_id, "--date", &today], &[&b]),
        refused("ShowBackup", &["backup", "show", &backup_id, "--date", "2000-01-01"], &[&b], "InvalidParameter"),
        refused(
            "ExtendBackup",
            &["backup", "extend", &backup_id, "--viewable-days", "30"],
            &[&b],
            "Rejected.UnsupportedOperation",
        ),
        refused(
            "RenewBackup",
            &["backup", "renew", &backup_id, "--duration-days", "30"],
            &[&b],
            "Rejected.UnsupportedOperation",
        ),
        ok("ResetBackup", &["backup", "reset", &backup_id, "--yes"], &[&b]),
        refused(
            "ResetBackup",
            &["backup", "reset", "backup-nope", "--yes"],
            &["backup/backup-nope"],
            "Forbidden.ResourceNotFound",
        ),
    ]);
    let (retained, _) = audit.run(&ok(
        "CreateBackup",
        &[
            "backup",
            "create",
            "--backup-type",
            "retained",
            "--instance-kind",
            "hardware",
            "--viewable-days",
            "7",
            "--duration-days",
            "30",
        ],
        &[],
    ));
    let retained_id = text(&retained, "BackupId");
    let r = format!("backup/{retained_id}");
    audit.table(&[
        ok("ExtendBackup", &["backup", "extend", &retained_id, "--viewable-days", "30"], &[&r]),
        ok("RenewBackup", &["backup", "renew", &retained_id, "--duration-days", "30"], &[&r]),
    ]);

    // Restores from the backup of a software instance.
    daemon.cli_json(&["instance", "create", "audit-soft", "--kind", "software", "--cluster", "hsm1"]);
    let ks = text(
        &daemon.cli_json(&["key", "create", "--instance", "audit-soft", "--key-spec", "AES_256"]),
        "KeyMetadata.KeyId",
    );
    daemon.cli_json(&[
        "secret",
        "create",
        "audit-db",
        "--instance",
        "audit-soft",
        "--version-id",
        "v1",
        "--secret-data",
        "audit restore value",
        "--encryption-key-id",
        &ks,
    ]);
    received.push(("a secret value restored from a backup", b"audit restore value".to_vec()));
    let soft_backup = text(
        &daemon.cli_json(&[
            "backup",
            "create",
            "--backup-type",
            "retained",
            "--instance-kind",
            "software",
            "--viewable-days",
            "30",
            "--duration-days",
            "30",
        ]),
        "BackupId",
    );
    daemon.cli_json(&["backup", "enable", &soft_backup, "--instance", "audit-soft"]);
    let sb = format!("backup/{soft_backup}");
    let enabled_on = text(&daemon.cli_json(&["clock", "show"]), "Now")[..10].to_owned();
    daemon.cli_json(&["secret", "delete", "audit-db", "--force-delete-without-recovery"]);
    let (ksr, at) = (key(&ks), text(&daemon.cli_json(&["clock", "show"]), "Now"));
    let restore_secret = [
        "backup",
        "restore-secret",
        &soft_backup,
        "--date",
        &enabled_on,
        "--secret-name",
        "audit-db",
        "--to-instance",
        "audit-soft",
    ];
    let restore_key =
        ["backup", "restore-key", &soft_backup, "--at", &at, "--key-id", &ks, "--to-instance", "audit-soft"];
    audit.table(&[
        ok("RestoreBackupSecret", &restore_secret, &[&sb, "secret/audit-db", "instance/audit-soft"]),
        refused("RestoreBackupSecret", &restore_secret, &[&sb, "secret/audit-db"], "Rejected.ResourceExist"),
        refused("RestoreBackupKey", &restore_key, &[&sb, &ksr], "Rejected.ResourceExist"),
    ]);
    daemon.cli_json(&["secret", "delete", "audit-db", "--force-delete-without-recovery"]);
    daemon.cli_json(&["key", "schedule-deletion", &ks, "--pending-window-in-days", "7"]);
    daemon.cli_json(&["clock", "advance", "8d"]);
    audit.table(&[
        ok("RestoreBackupKey", &restore_key, &[&sb, &ksr, "instance/audit-soft"]),
        ok("DrillBackup", &["backup", "drill", &soft_backup], &[&sb]),
        refused(
            "DrillBackup",
            &["backup", "drill", "backup-nope"],
            &["backup/backup-nope"],
            "Forbidden.ResourceNotFound",
        ),
    ]);

    // A restore into another daemon, call by call (here into this one):
    // the ticket, the package, the import.
    let prepare = [
        "backup",
        "prepare-restore",
        "--to-instance",
        "audit-soft",
        "--secret-name",
        "audit-db",
        "--backup-kind",
        "software",
    ];
    let (ticket, _) = audit.run(&ok("PrepareRestore", &prepare, &["secret/audit-db", "instance/audit-soft"]));
    let export = [
        "backup",
        "export-item",
        &soft_backup,
        "--date",
        &enabled_on,
        "--secret-name",
        "audit-db",
        "--instance-kind",
        "software",
    ];
    let (package, _) = audit.run(&ok("ExportBackupItem", &export, &[&sb, "secret/audit-db"]));
    let package_file = work.path().join("audit-db.package");
    std::fs::write(&package_file, from_base64(&text(&package, "Package")).expect("base64")).expect("package written");
    let package_path = package_file.to_str().expect("utf-8").to_owned();
    let import = ["backup", "import-item", "--ticket", &text(&ticket, "Ticket"), "--package", &package_path];
    audit.table(&[
        ok("ImportBackupItem", &import, &["secret/audit-db", "instance/audit-soft"]),
        refused("ImportBackupItem", &import, &[], "InvalidParameter"),
        refused(
            "PrepareRestore",
            &["backup", "prepare-restore", "--to-instance", "audit-soft", "--key-id", &ks],
            &[&ksr, "instance/audit-soft"],
            "Rejected.ResourceExist",
        ),
        refused(
            "ExportBackupItem",
            &["backup", "export-item", &soft_backup, "--date", &enabled_on, "--key-id", &ks],
            &[&sb, &ksr],
            "InvalidParameter",
        ),
    ]);

    // Backup data files: downloaded, fetched, uploaded; their keys never in the trail.
    let bk = work.path().join("audit-soft.bk");
    let bk_path = bk.to_str().expect("utf-8").to_owned();
    let no_file = work.path().join("never.bk").to_str().expect("utf-8").to_owned();
    let download = ["backup", "download", &soft_backup, "--date", &enabled_on, "--output", &bk_path];
    let (downloaded, _) = audit.run(&ok("DownloadBackup", &download, &[&sb]));
    let file_key = text(&downloaded, "DecryptionKey");
    received.push(("a backup file's decryption key", from_base64(&file_key).expect("base64")));
    let early = ["backup", "download", &soft_backup, "--date", "2000-01-01", "--output", &no_file];
    audit.table(&[refused("DownloadBackup", &early, &[&sb], "InvalidParameter")]);
    let only = ["backup", "download", &soft_backup, "--date", &enabled_on, "--no-fetch"];
    let ready = daemon.cli_json(&only);
    received.push(("a second decryption key", from_base64(&text(&ready, "DecryptionKey")).expect("base64")));
    let download_id = text(&ready, "DownloadId");
    audit.table(&[
        refused("FetchBackupChunk", &["backup", "fetch-chunk", &download_id, "--index", "99"], &[], "InvalidParameter"),
        ok("FetchBackupChunk", &["backup", "fetch-chunk", &download_id, "--index", "0"], &[]),
    ]);
    let chunk_file = work.path().join("chunk");
    std::fs::write(&chunk_file, b"P11KMSBK").expect("chunk");
    let chunk = chunk_file.to_str().expect("utf-8");
    let upload_id = "5d0c3a4e-1f2b-4c6d-8e9f-0a1b2c3d4e5f";
    let wrong_key = to_base64(&[0x5a; 32]);
    audit.table(&[
        ok("UploadBackupChunk", &["backup", "upload-chunk", upload_id, "--index", "0", "--input", chunk], &[]),
        refused(
            "UploadBackupChunk",
            &["backup", "upload-chunk", "not-a-uuid", "--index", "0", "--input", chunk],
            &[],
            "InvalidParameter",
        ),
        refused(
            "UploadBackup",
            &["backup", "upload", "--input", &bk_path, "--decryption-key", &wrong_key, "--name", "audit-up"],
            &[],
            "InvalidParameter",
        ),
    ]);
    audit.run_naming(
        &ok(
            "UploadBackup",
            &["backup", "upload", "--input", &bk_path, "--decryption-key", &file_key, "--name", "audit-up"],
            &[],
        ),
        |reply| format!("backup/{}", text(reply, "BackupId")),
    );

    // The trail itself.
    audit.table(&[
        ok("LookupEvents", &["audit", "lookup-events", "--event-name", "CreateKey", "--max-results", "5"], &[]),
        refused("LookupEvents", &["audit", "lookup-events", "--max-results", "0"], &[], "InvalidParameter"),
        ok("VerifyAudit", &["audit", "verify"], &[]),
    ]);

    // The clock refuses to move on the system clock.
    let mut audit = Audit { daemon: &system_clock, report: &mut report };
    audit.table(&[
        refused("AdvanceClock", &["clock", "advance", "1h"], &[], "Rejected.ClockNotManual"),
        refused("SetClock", &["clock", "set", "2099-01-01T00:00:00Z"], &[], "Rejected.ClockNotManual"),
    ]);

    // Every operation was covered, accepted and refused.
    for info in op::ALL.iter().filter(|info| !NOT_RUN.contains(&info.name)) {
        assert!(report.covered.contains(&(info.name, true)), "no row runs {} successfully", info.name);
        if !NOT_REFUSABLE.contains(&info.name) {
            assert!(report.covered.contains(&(info.name, false)), "no row gets {} refused", info.name);
        }
    }

    // Nothing given or received is in the trail's files.
    received.extend([
        ("a secret value (create)", SECRET_V1.as_bytes().to_vec()),
        ("a secret value (put-value)", SECRET_V2.as_bytes().to_vec()),
        ("an Rds password", RDS_PASSWORD.as_bytes().to_vec()),
        ("a plaintext (encrypt)", PLAINTEXT.as_bytes().to_vec()),
        ("a plaintext (asymmetric-encrypt)", ASYM_PLAINTEXT.as_bytes().to_vec()),
    ]);
    daemon.cli_json(&["audit", "verify"]);
    let trail = daemon.state_dir().join("audit");
    assert!(!leaks(&trail, &[("a key id", k.clone().into_bytes())]).is_empty(), "the search finds what is there");
    report.failures.extend(leaks(&trail, &received));

    eprintln!(
        "audit_table: {} commands, {} operations accepted, {} refused, {:.1} s",
        report.commands,
        report.covered.iter().filter(|(_, ok)| *ok).count(),
        report.covered.iter().filter(|(_, ok)| !*ok).count(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        report.failures.is_empty(),
        "the audit trail got {} things wrong:\n{}",
        report.failures.len(),
        report.failures.join("\n")
    );
}
