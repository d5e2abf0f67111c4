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
//!
//! The row machinery is in `audit_table/table.rs`; the rows, a group a
//! module, in the other files of `audit_table/`, run in the order below.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use p11kms_proto::admin::op;
use p11kms_tests::Daemon;

#[path = "audit_table/backups.rs"]
mod backups;
#[path = "audit_table/crypto.rs"]
mod crypto;
#[path = "audit_table/instances.rs"]
mod instances;
#[path = "audit_table/keys.rs"]
mod keys;
#[path = "audit_table/secrets.rs"]
mod secrets;
#[path = "audit_table/table.rs"]
mod table;

use table::{Audit, Received, Report, leaks, ok, refused};

/// Operations no row runs: they make several calls a command.
const NOT_RUN: &[&str] = &["ReEncryptBatch"];

/// Operations the CLI cannot get refused (no argument to get wrong).
const NOT_REFUSABLE: &[&str] =
    &["ListInstances", "ListApps", "ListClusters", "ListClusterImages", "GetClock", "ListConnections", "VerifyAudit"];

// Values that must never reach the trail.
const SECRET_V1: &str = "audit-table-secret-value-one-7f3a9c";
const SECRET_V2: &str = "audit-table-secret-value-two-1d8e4b";
const RDS_PASSWORD: &str = "audit-table-rds-password-93c0aa";
const PLAINTEXT: &str = "audit-table-plaintext-5be1d2";
const ASYM_PLAINTEXT: &str = "audit-table-asym-plaintext-0c4f";
const MATERIAL: &[u8; 32] = b"audit-table-key-material-32bytes";
const CONTEXT: &str = r#"{"purpose":"audit"}"#;

#[test]
fn every_admin_operation_leaves_one_event_accepted_or_refused() {
    let started = std::time::Instant::now();
    let daemon = Daemon::start_with(&["--test-clock"]);
    let system_clock = Daemon::start();
    let mut report = Report::default();
    let work = tempfile::tempdir().expect("work dir");
    let mut received = Received::new();

    let mut audit = Audit { daemon: &daemon, report: &mut report };

    // The rows, in this order: later rows use what earlier ones made.
    instances::apps(&mut audit, &mut received);
    let made = keys::keys(&mut audit, &mut received);
    keys::aliases(&mut audit, &made);
    crypto::crypto(&mut audit, &made, work.path(), &mut received);
    secrets::secrets(&mut audit, work.path(), &mut received);
    instances::clock(&mut audit);
    instances::clusters(&mut audit);
    backups::backups(&mut audit, work.path(), &mut received);
    let k = made.k;

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
