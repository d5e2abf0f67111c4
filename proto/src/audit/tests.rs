//! The chain: lines round-trip, and each kind of tampering is reported at
//! its place.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Write;

use super::*;

fn event(name: &str, n: i64) -> Event {
    Event {
        event_time: Timestamp(1_700_000_000 + n),
        event_name: name.into(),
        event_source: EventSource::Admin,
        region: "local".into(),
        request_id: format!("r-{n}"),
        user_identity: UserIdentity { uid: 1000, gid: Some(1000), user_name: Some("ops".into()), pid: None, app: None },
        instance: Some("hsm1".into()),
        resource_name: vec![format!("key/k-{n}")],
        request_parameters: serde_json::json!({"KeyId": format!("k-{n}"), "Note": "ünïcödé \"quoted\""}),
        result: SUCCESS.into(),
        error_code: None,
        uses: None,
    }
}

/// Writes `count` records over two files; returns their lines by file.
fn trail(dir: &Path, count: u64) -> (Vec<String>, Vec<String>, Head) {
    let mut prev = GENESIS;
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for seq in 1..=count {
        let record = Record { seq, prev_hash: prev, event: event("Encrypt", seq as i64) };
        let (line, hash) = encode_line(&record).unwrap();
        if seq <= count / 2 {
            first.push(line);
        } else {
            second.push(line);
        }
        prev = hash;
    }
    write(dir, "2026-12-05", &first);
    write(dir, "2026-12-06", &second);
    (first, second, Head { seq: count, hash: prev })
}

fn write(dir: &Path, date: &str, lines: &[String]) {
    let mut file = std::fs::File::create(dir.join(file_name(date))).unwrap();
    for line in lines {
        writeln!(file, "{line}").unwrap();
    }
}

#[test]
fn a_line_reads_back_with_its_hash() {
    let record = Record { seq: 1, prev_hash: GENESIS, event: event("CreateKey", 1) };
    let (line, hash) = encode_line(&record).unwrap();
    let read = decode_line(&line).expect("a record line");
    assert_eq!(read.record, record);
    assert_eq!((read.claimed, read.computed), (hash, hash));
    let parsed: serde_json::Value = serde_json::from_str(&line).expect("each line is JSON");
    assert_eq!(parsed["Record"]["Event"]["EventName"], "CreateKey");
    assert_eq!(parsed["Hash"], hex(&hash));
    assert!(decode_line("{\"Hash\":\"00\"}").is_none());
}

#[test]
fn an_intact_trail_verifies_to_its_head_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, head) = trail(dir.path(), 10);
    let report = verify_dir(dir.path(), Some(head)).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.files, report.records, report.first_seq, report.last), (2, 10, 1, head));
    // Files that are not the trail's are ignored.
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    assert!(verify_dir(dir.path(), Some(head)).unwrap().is_intact());
}

#[test]
fn each_kind_of_tampering_is_reported_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second, head) = trail(dir.path(), 10);
    let check = |first: &[String], second: &[String], expected: Problem| {
        write(dir.path(), "2026-12-05", first);
        write(dir.path(), "2026-12-06", second);
        let report = verify_dir(dir.path(), Some(head)).unwrap();
        assert_eq!(report.problem, Some(expected));
    };
    let place = |file: &str, line: u64| Place { file: file.into(), line };

    let mut changed = second.clone();
    changed[1] = changed[1].replace("k-7", "k-9");
    check(&first, &changed, Problem::Changed { place: place("2026-12-06.jsonl", 2), seq: 7 });

    let mut removed = first.clone();
    removed.remove(2);
    check(&removed, &second, Problem::Removed { place: place("2026-12-05.jsonl", 3), from_seq: 3, to_seq: 3 });

    let mut reordered = second.clone();
    reordered.swap(0, 1);
    check(&first, &reordered, Problem::Reordered { place: place("2026-12-06.jsonl", 1), seq: 7, expected_seq: 6 });
    let mut swapped = second.clone();
    swapped.swap(1, 2);
    check(&first, &swapped, Problem::Reordered { place: place("2026-12-06.jsonl", 2), seq: 8, expected_seq: 7 });
    let mut back = second.clone();
    back.insert(2, first[4].clone());
    check(&first, &back, Problem::Reordered { place: place("2026-12-06.jsonl", 3), seq: 5, expected_seq: 8 });

    check(&first, &second[..3], Problem::Cut { last_seq: 8, head_seq: 10 });

    // A record rewritten with a fresh, self-consistent hash: the next one
    // no longer chains from it.
    let mut rewritten = second.clone();
    let mut record = decode_line(&second[0]).unwrap().record;
    record.event.event_name = "Decrypt".into();
    rewritten[0] = encode_line(&record).unwrap().0;
    check(&first, &rewritten, Problem::Unchained { place: place("2026-12-06.jsonl", 2), seq: 7 });

    // The whole tail rewritten consistently: only the stored head tells.
    let mut prev = decode_line(&first[4]).unwrap().claimed;
    let mut forged = Vec::new();
    for line in &second {
        let mut record = decode_line(line).unwrap().record;
        record.prev_hash = prev;
        record.event.result = "Forbidden.NoPermission".into();
        let (line, hash) = encode_line(&record).unwrap();
        forged.push(line);
        prev = hash;
    }
    check(&first, &forged, Problem::HeadMismatch { head_seq: 10 });

    let mut garbage = first.clone();
    garbage[0] = "not json".into();
    check(&garbage, &second, Problem::Malformed { place: place("2026-12-05.jsonl", 1) });
}

#[test]
fn a_pruned_trail_verifies_from_its_oldest_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, head) = trail(dir.path(), 10);
    std::fs::remove_file(dir.path().join(file_name("2026-12-05"))).unwrap();
    let report = verify_dir(dir.path(), Some(head)).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.first_seq, report.records), (6, 5));
}

#[test]
fn problems_say_what_happened() {
    let place = Place { file: "2026-12-06.jsonl".into(), line: 4 };
    assert_eq!(
        Problem::Removed { place: place.clone(), from_seq: 3, to_seq: 5 }.to_string(),
        "2026-12-06.jsonl line 4: records 3 to 5 before it were removed"
    );
    assert_eq!(
        Problem::Cut { last_seq: 8, head_seq: 10 }.to_string(),
        "the trail ends at record 8 but the daemon's head is record 10: the tail was cut"
    );
}
