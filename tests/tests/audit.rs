//! The audit trail end to end, on the admin side: a copy of a real
//! daemon's trail changed, with a record removed, two records swapped, or
//! its tail cut is reported by `p11kms audit verify --dir` at that record,
//! exit status 5; a `kill -9` right after acknowledged changes loses none
//! of their events and the restarted daemon continues the chain; the
//! trail's files are 0600 in a 0700 directory; lookups filter by name,
//! resource, caller and time, and page.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use p11kms_tests::Daemon;

fn audit_dir(daemon: &Daemon) -> PathBuf {
    daemon.state_dir().join("audit")
}

/// Every line of the trail, file by file (oldest first).
fn trail_files(dir: &Path) -> Vec<(PathBuf, Vec<String>)> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("audit dir").map(|e| e.expect("entry").path()).collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read");
            (path, text.lines().map(str::to_owned).collect())
        })
        .collect()
}

/// A copy of the trail with its one file's lines replaced by `lines`.
fn copy_with(daemon: &Daemon, lines: &[String]) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("copy");
    let files = trail_files(&audit_dir(daemon));
    assert_eq!(files.len(), 1, "one day's file");
    let name = files[0].0.file_name().expect("name").to_owned();
    std::fs::write(copy.path().join(name), lines.iter().map(|l| format!("{l}\n")).collect::<String>()).expect("write");
    copy
}

/// `audit verify --dir` on a copy, with the daemon's head: exit status and
/// the report.
fn verify_copy(daemon: &Daemon, dir: &Path, head: &Value) -> (Option<i32>, Value) {
    let seq = head["Seq"].to_string();
    let hash = head["Hash"].as_str().expect("hash");
    let args = ["audit", "verify", "--dir", dir.to_str().expect("utf-8"), "--head-seq", &seq, "--head-hash", hash];
    daemon.cli_json_outcome(&args)
}

fn events(daemon: &Daemon, args: &[&str]) -> Vec<Value> {
    let mut full = vec!["audit", "lookup-events"];
    full.extend_from_slice(args);
    daemon.cli_json(&full)["Events"].as_array().expect("events").clone()
}

#[test]
fn tampering_with_a_copy_is_reported_at_its_record() {
    let daemon = Daemon::start();
    for n in 0..4 {
        daemon.create_key(&["--key-spec", "AES_256", "--alias", &format!("alias/k{n}")]);
    }
    let intact = daemon.cli_json(&["audit", "verify"]);
    assert!(intact["Problem"].is_null(), "{intact}");
    assert!(intact["Last"]["Seq"].as_u64().expect("seq") >= 4);
    let lines = trail_files(&audit_dir(&daemon)).remove(0).1;
    // The head as the daemon records it: the last record's number and hash.
    let last: Value = serde_json::from_str(lines.last().expect("a record")).expect("JSON");
    let head = serde_json::json!({"Seq": last["Record"]["Seq"], "Hash": last["Hash"]});
    let file = trail_files(&audit_dir(&daemon))[0].0.file_name().unwrap().to_str().unwrap().to_owned();

    let (code, report) = verify_copy(&daemon, copy_with(&daemon, &lines).path(), &head);
    assert_eq!(code, Some(0), "an untouched copy: {report}");

    let mut changed = lines.clone();
    changed[1] = changed[1].replace("alias/k1", "alias/kX");
    let (code, report) = verify_copy(&daemon, copy_with(&daemon, &changed).path(), &head);
    assert_eq!(code, Some(5));
    assert_eq!(report["Problem"]["Changed"]["Seq"], 2, "{report}");
    assert_eq!(report["Problem"]["Changed"]["Place"]["File"], file.as_str());

    let mut removed = lines.clone();
    removed.remove(2);
    let (code, report) = verify_copy(&daemon, copy_with(&daemon, &removed).path(), &head);
    assert_eq!(code, Some(5));
    assert_eq!(report["Problem"]["Removed"]["FromSeq"], 3, "{report}");

    let mut reordered = lines.clone();
    reordered.swap(1, 2);
    let (code, report) = verify_copy(&daemon, copy_with(&daemon, &reordered).path(), &head);
    assert_eq!(code, Some(5));
    assert_eq!(report["Problem"]["Reordered"]["ExpectedSeq"], 2, "{report}");

    let cut = &lines[..lines.len() - 1];
    let (code, report) = verify_copy(&daemon, copy_with(&daemon, cut).path(), &head);
    assert_eq!(code, Some(5));
    assert_eq!(report["Problem"]["Cut"]["HeadSeq"], head["Seq"], "{report}");

    // Without the head, a cut tail cannot be told from a trail that ends
    // there: the head is what the store keeps it for.
    let (code, _) =
        daemon.cli_json_outcome(&["audit", "verify", "--dir", copy_with(&daemon, cut).path().to_str().unwrap()]);
    assert_eq!(code, Some(0));

    // The daemon's own trail, cut in place, is reported by the daemon.
    let live = &trail_files(&audit_dir(&daemon))[0];
    let kept: String = live.1[..live.1.len() - 2].iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&live.0, kept).expect("cut the live trail");
    let (code, report) = daemon.cli_json_outcome(&["audit", "verify"]);
    assert_eq!(code, Some(5), "{report}");
    assert!(report["Problem"]["Cut"].is_object(), "{report}");
}

#[test]
fn a_kill_right_after_acknowledged_changes_loses_no_event_and_the_chain_goes_on() {
    let mut daemon = Daemon::start();
    let mut keys = Vec::new();
    for n in 0..5 {
        keys.push(daemon.create_key(&["--key-spec", "AES_128", "--alias", &format!("alias/crash{n}")]));
    }
    daemon.kill();
    daemon.restart();
    for key in &keys {
        let found = events(&daemon, &["--event-name", "CreateKey", "--resource", key]);
        assert_eq!(found.len(), 1, "the CreateKey of {key} survived the kill");
        assert_eq!(found[0]["Result"], "Success");
    }
    daemon.create_key(&["--key-spec", "AES_128", "--alias", "alias/after"]);
    let report = daemon.cli_json(&["audit", "verify"]);
    assert!(report["Problem"].is_null(), "the restarted daemon continued the chain: {report}");
    assert_eq!(report["FirstSeq"], 1);
    let seqs: Vec<u64> = trail_files(&audit_dir(&daemon))
        .into_iter()
        .flat_map(|(_, lines)| lines)
        .map(|line| serde_json::from_str::<Value>(&line).expect("JSON line")["Record"]["Seq"].as_u64().expect("seq"))
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "numbered without a gap: {seqs:?}");
}

#[test]
fn files_are_private_and_lookups_filter_and_page() {
    let daemon = Daemon::start_with(&["--test-clock"]);
    let dir = audit_dir(&daemon);
    let key = daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/orders"]);
    for n in 0..7 {
        daemon.cli_json(&["encrypt", "--key-id", "alias/orders", "--plaintext", &format!("order {n}")]);
    }
    let later = daemon.cli_json(&["clock", "advance", "2d"])["Now"].as_str().expect("now").to_owned();
    daemon.cli_json(&["encrypt", "--key-id", key.as_str(), "--plaintext", "later"]);
    assert!(!daemon.cli(&["key", "describe", "alias/nope"]).status.success());

    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    let files = trail_files(&dir);
    assert_eq!(files.len(), 2, "one file a day of the daemon clock");
    for (path, _) in &files {
        assert_eq!(std::fs::metadata(path).unwrap().permissions().mode() & 0o777, 0o600, "{}", path.display());
    }

    // By resource: the alias and the key id find the same calls.
    let by_alias = events(&daemon, &["--event-name", "Encrypt", "--resource", "alias/orders"]);
    let by_id = events(&daemon, &["--event-name", "Encrypt", "--resource", &key]);
    assert_eq!(by_alias.len(), 8, "the alias finds the call that named the key by id too");
    assert_eq!(by_id.len(), 8, "the id finds the calls by alias too");
    // Newest first.
    assert!(by_id[0]["RequestParameters"]["key"] == key.as_str());
    // By time: the call two days later only.
    let since = events(&daemon, &["--event-name", "Encrypt", "--start-time", &later]);
    assert_eq!(since.len(), 1, "{since:?}");
    assert_eq!(events(&daemon, &["--event-name", "Encrypt", "--end-time", &later]).len(), 8, "the end is inclusive");
    // By caller: root by uid and by name.
    let uid = events(&daemon, &["--caller", "0", "--event-name", "CreateKey"]);
    assert_eq!(uid.len(), 1);
    assert_eq!(uid[0]["UserIdentity"]["UserName"], "root");
    // A refusal, with its code.
    let refusals = events(&daemon, &["--event-name", "DescribeKey"]);
    assert_eq!(refusals[0]["Result"], "Forbidden.AliasNotFound", "{refusals:?}");
    // Pages of 3 cover the 8 encryptions once each.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut args = vec!["audit", "lookup-events", "--event-name", "Encrypt", "--max-results", "3"];
        if let Some(token) = &token {
            args.extend(["--next-token", token.as_str()]);
        }
        let page = daemon.cli_json(&args);
        let events = page["Events"].as_array().expect("events");
        assert!(events.len() <= 3);
        seen.extend(events.iter().map(|e| e["RequestId"].as_str().expect("id").to_owned()));
        match page["NextToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (8, 8));
    let out = daemon.cli(&["audit", "lookup-events", "--max-results", "51"]);
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("InvalidParameter: "));
}
