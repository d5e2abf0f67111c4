//! Instance backups through the CLI, on a real daemon on the test clock:
//! the system backup of `hsm1`, a retained backup enabled on it with its
//! first full, incrementals every 5 minutes and a full as each day turns,
//! the six sets of a day (also after a restart, read back from the
//! checksummed files), viewable days and their extension, a damaged
//! manifest refused, expiry and renewal, and reset.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use serde_json::Value;

use p11kms_tests::Daemon;

fn today(daemon: &Daemon) -> String {
    daemon.cli_json(&["clock", "show"])["Now"].as_str().expect("now")[..10].to_owned()
}

fn ids(day: &Value, set: &str) -> Vec<String> {
    let mut ids: Vec<String> =
        day[set].as_array().expect(set).iter().map(|k| k["KeyId"].as_str().expect("id").to_owned()).collect();
    ids.sort();
    ids
}

#[test]
fn backups_are_taken_on_schedule_and_show_each_day() {
    let mut daemon = Daemon::start_with(&["--test-clock"]);
    let old = daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/old"]);
    let rotating = daemon.create_key(&["--key-spec", "AES_256"]);
    daemon.cli(&["clock", "advance", "1s"]);

    // The daemon's own backup of hsm1.
    let system = daemon.cli_json(&["backup", "list", "--backup-type", "system"]);
    assert_eq!(system["TotalCount"], 1, "{system}");
    let system = &system["Backups"][0];
    assert_eq!((system["Instance"].as_str(), system["ViewableDays"].as_u64()), (Some("hsm1"), Some(90)));
    assert_eq!(system["Cluster"], "hsm1", "a hardware backup names the cluster whose images hold the material");
    let system_id = system["BackupId"].as_str().expect("id").to_owned();
    assert!(daemon.cli_error(&["backup", "reset", &system_id, "--yes"]).contains("UnsupportedOperation"));

    // A retained backup, enabled on hsm1: a full at once.
    let created = daemon.cli_json(&[
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
        "--alias",
        "nightly",
    ]);
    let id = created["BackupId"].as_str().expect("id").to_owned();
    assert_eq!(created["Status"], "Disabled");
    let enabled = daemon.cli_json(&["backup", "enable", &id, "--instance", "hsm1"]);
    assert_eq!((enabled["Status"].as_str(), enabled["PointCount"].as_u64()), (Some("Enabled"), Some(1)));
    assert!(daemon.cli_error(&["backup", "enable", &id, "--instance", "hsm1"]).contains("StateModifiedFailed"));
    let day1 = today(&daemon);

    // The next day: a full as it turns, then a new key and a rotation,
    // which the next incremental takes.
    let now = daemon.cli_json(&["clock", "show"])["Now"].as_str().expect("now").to_owned();
    daemon.cli(&["clock", "set", &format!("{}T00:00:30Z", next_day(&now[..10]))]);
    let day2 = today(&daemon);
    let new = daemon.create_key(&["--key-spec", "EC_P256", "--key-usage", "SIGN/VERIFY"]);
    daemon.cli(&["key", "create-version", &rotating]);
    daemon.cli(&["clock", "advance", "5m"]);
    let described = daemon.cli_json(&["backup", "describe", &id]);
    assert_eq!(described["PointCount"], 3, "enable full, day-2 full, incremental: {described}");

    let shown = show(&daemon, &id, &day2);
    let mut as_of_midnight = vec![old.clone(), rotating.clone()];
    as_of_midnight.sort();
    assert_eq!(ids(&shown, "FullyBackedUpKeys"), as_of_midnight);
    assert_eq!(ids(&shown, "IncrementallyBackedUpKeys"), vec![new.clone()]);
    assert_eq!(ids(&shown, "RotatedKeys"), vec![rotating.clone()]);
    assert_eq!(ids(&show(&daemon, &id, &day1), "FullyBackedUpKeys"), as_of_midnight, "the enable full");

    // After a restart, the same days read back from the files.
    daemon.restart();
    assert_eq!(ids(&show(&daemon, &id, &day2), "RotatedKeys"), vec![rotating.clone()]);

    // Eight days on, day 1 is out of the 7 viewable days: extend.
    daemon.cli(&["clock", "advance", "8d"]);
    let (code, _, refused) = daemon.cli_outcome(&["backup", "show", &id, "--date", &day1]);
    assert_eq!(code, Some(1));
    assert!(refused.contains("--viewable-days 10"), "{refused}");
    daemon.cli_json(&["backup", "extend", &id, "--viewable-days", "10"]);
    assert_eq!(ids(&show(&daemon, &id, &day1), "FullyBackedUpKeys"), as_of_midnight);
    assert!(daemon.cli_error(&["backup", "extend", &id, "--viewable-days", "9"]).contains("InvalidParameter"));

    // A damaged manifest is refused, not read.
    let manifest = daemon.state_dir().join("backups").join(&id).join("1.json");
    let good = std::fs::read(&manifest).expect("manifest");
    let mut bad = good.clone();
    let last = bad.len() - 2;
    bad[last] ^= 0x01;
    std::fs::write(&manifest, &bad).expect("damaged");
    let (code, _, refused) = daemon.cli_outcome(&["backup", "show", &id, "--date", &day1]);
    assert_ne!(code, Some(0));
    assert!(refused.contains("damaged"), "{refused}");
    std::fs::write(&manifest, &good).expect("repaired");

    // Past its 30 days it expires: only renewal is taken.
    daemon.cli(&["clock", "advance", "25d"]);
    assert_eq!(daemon.cli_json(&["backup", "describe", &id])["Status"], "Expired");
    assert!(daemon.cli_error(&["backup", "show", &id, "--date", &today(&daemon)]).contains("BackupExpired"));
    let renewed = daemon.cli_json(&["backup", "renew", &id, "--duration-days", "30"]);
    assert_eq!(renewed["Status"], "Enabled");

    // Reset: no byte of it left, and it can back up again.
    let reset = daemon.cli_json(&["backup", "reset", &id, "--yes"]);
    assert_eq!((reset["Status"].as_str(), reset["PointCount"].as_u64()), (Some("Disabled"), Some(0)));
    assert!(!daemon.state_dir().join("backups").join(&id).exists());
    assert_eq!(daemon.cli_json(&["backup", "enable", &id, "--instance", "hsm1"])["PointCount"], 1);
}

fn show(daemon: &Daemon, id: &str, date: &str) -> Value {
    daemon.cli_json(&["backup", "show", id, "--date", date])
}

/// The day after `date` (`YYYY-MM-DD`).
fn next_day(date: &str) -> String {
    let t = p11kms_proto::Timestamp::parse_rfc3339(&format!("{date}T00:00:00Z")).expect("date");
    p11kms_proto::Timestamp(t.unix() + 86_400).to_string()[..10].to_owned()
}
