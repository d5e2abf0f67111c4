//! The trail with a real store: counted and per-call uses, the head kept
//! in the store, a restart going on from the last record, a cut tail
//! kept visible, retention.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use p11kms_proto::audit::{EventSource, SUCCESS, verify_dir};

use super::*;

fn config(per_call_uses: bool, retention_days: u32) -> AuditConfig {
    AuditConfig { enabled: true, per_call_uses, retention_days }
}

fn use_key() -> UseKey {
    uses::tests::key("Sign")
}

fn admin_event(trail: &Trail, day: i64, name: &str) -> Event {
    Event {
        event_time: Timestamp(1_767_225_600 + day * 86_400),
        event_name: name.into(),
        event_source: EventSource::Admin,
        region: trail.region().into(),
        request_id: trail.request_id(),
        user_identity: trail.identity(0, Some(0), None, None),
        instance: None,
        resource_name: Vec::new(),
        request_parameters: serde_json::Value::Null,
        result: SUCCESS.into(),
        error_code: None,
        uses: None,
    }
}

fn lines(dir: &Path) -> usize {
    p11kms_proto::audit::files(dir).unwrap().iter().map(|f| std::fs::read_to_string(f).unwrap().lines().count()).sum()
}

#[test]
fn uses_are_counted_unless_each_is_asked_for() {
    let store = Store::open_in_memory().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let counted = Trail::open(dir.path(), &store, &config(false, 400), "local", [1; 16]).unwrap();
    for _ in 0..3 {
        counted.key_use(&store, use_key(), Timestamp(1_767_225_600));
    }
    assert_eq!(lines(dir.path()), 0, "nothing before the flush");
    counted.flush(&store);
    assert_eq!(lines(dir.path()), 1, "one record for three uses");
    assert_eq!(store.audit_head().unwrap(), counted.head(), "the flush records the head");

    let other = tempfile::tempdir().unwrap();
    let each = Trail::open(other.path(), &store, &config(true, 400), "local", [1; 16]).unwrap();
    for _ in 0..3 {
        each.key_use(&store, use_key(), Timestamp(1_767_225_600));
    }
    assert_eq!(lines(other.path()), 3, "per_call_uses: a record each");
}

#[test]
fn a_restart_goes_on_from_the_last_record_and_a_cut_tail_stays_a_gap() {
    let store = Store::open_in_memory().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let trail = Trail::open(dir.path(), &store, &config(false, 400), "local", [1; 16]).unwrap();
    for n in 0..3 {
        trail.record(&store, admin_event(&trail, 0, &format!("Op{n}")), true);
    }
    drop(trail);
    let again = Trail::open(dir.path(), &store, &config(false, 400), "local", [2; 16]).unwrap();
    again.record(&store, admin_event(&again, 0, "After"), true);
    assert_eq!(again.head().map(|h| h.seq), Some(4));
    assert!(again.verify(&store).unwrap().is_intact());

    // The last two records cut off the file: the next start goes on from
    // the store's head, so the gap is there for verify to report.
    let file = &p11kms_proto::audit::files(dir.path()).unwrap()[0];
    let text = std::fs::read_to_string(file).unwrap();
    let kept: Vec<&str> = text.lines().take(2).collect();
    std::fs::write(file, format!("{}\n", kept.join("\n"))).unwrap();
    drop(again);
    let cut = Trail::open(dir.path(), &store, &config(false, 400), "local", [3; 16]).unwrap();
    assert!(matches!(cut.verify(&store).unwrap().problem, Some(p11kms_proto::audit::Problem::Cut { .. })));
    cut.record(&store, admin_event(&cut, 0, "Later"), true);
    let report = verify_dir(dir.path(), store.audit_head().unwrap()).unwrap();
    assert!(
        matches!(report.problem, Some(p11kms_proto::audit::Problem::Removed { from_seq: 3, to_seq: 4, .. })),
        "{report:?}"
    );
}

#[test]
fn days_have_their_files_and_retention_prunes_the_oldest() {
    let store = Store::open_in_memory().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let trail = Trail::open(dir.path(), &store, &config(false, 2), "local", [1; 16]).unwrap();
    for day in 0..4 {
        trail.record(&store, admin_event(&trail, day, "Daily"), true);
    }
    let names: Vec<String> = p11kms_proto::audit::files(dir.path())
        .unwrap()
        .iter()
        .map(|f| f.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["2026-01-03.jsonl", "2026-01-04.jsonl"], "two days kept");
    let report = trail.verify(&store).unwrap();
    assert!(report.is_intact(), "verifies from the oldest file kept: {report:?}");
    assert_eq!(report.first_seq, 3);
}

#[test]
fn a_trail_that_is_off_records_nothing() {
    let store = Store::open_in_memory().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let off = Trail::open(dir.path(), &store, &AuditConfig { enabled: false, ..config(false, 400) }, "local", [1; 16])
        .unwrap();
    off.record(&store, admin_event(&off, 0, "Nothing"), true);
    off.key_use(&store, use_key(), Timestamp(0));
    off.flush(&store);
    assert_eq!(lines(dir.path()), 0);
    assert!(matches!(off.verify(&store), Err(AuditError::Disabled)));
}
