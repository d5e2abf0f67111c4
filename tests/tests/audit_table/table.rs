//! The table's machinery: rows (`ok`, `refused`), the `Audit` that runs
//! them against a daemon and checks the trail after each, the `Report` of
//! what it found, and the lookups and helpers the row groups share.

use std::collections::BTreeSet;
use std::path::Path;

use p11kms_proto::bytes::to_base64;
use p11kms_tests::Daemon;
use serde_json::Value;

/// The `--start-time` of this test's own lookups (before and after each
/// command): harmless as a filter, and the mark that tells them from the
/// `audit lookup-events` commands of the table in LookupEvents' events.
const PROBE_START: &str = "1970-01-01T00:00:00Z";

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
pub(crate) struct Row {
    name: &'static str,
    args: Vec<String>,
    resources: Vec<String>,
    expect: Expect,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// A row that must succeed.
pub(crate) fn ok(name: &'static str, args: &[&str], resources: &[&str]) -> Row {
    Row { name, args: strings(args), resources: strings(resources), expect: Expect::Success }
}

/// A row that must be refused with `code`.
pub(crate) fn refused(name: &'static str, args: &[&str], resources: &[&str], code: &'static str) -> Row {
    Row { name, args: strings(args), resources: strings(resources), expect: Expect::Refused(code) }
}

/// What the rows found: the operations covered (name, succeeded) and the
/// trail's mistakes, reported together at the end.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) covered: BTreeSet<(&'static str, bool)>,
    pub(crate) commands: usize,
    pub(crate) failures: Vec<String>,
}

/// Runs rows against one daemon and checks the trail after each.
pub(crate) struct Audit<'a> {
    pub(crate) daemon: &'a Daemon,
    pub(crate) report: &'a mut Report,
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
    pub(crate) fn run(&mut self, row: &Row) -> (Value, Option<Value>) {
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
    pub(crate) fn table(&mut self, rows: &[Row]) {
        for row in rows {
            self.run(row);
        }
    }

    /// Runs a row and checks that its event also names the resource
    /// `extra` makes of the command's reply (a key made, an image taken).
    pub(crate) fn run_naming(&mut self, row: &Row, extra: impl Fn(&Value) -> String) -> Value {
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

pub(crate) fn text(value: &Value, path: &str) -> String {
    let mut value = value;
    for part in path.split('.') {
        value = match part.parse::<usize>() {
            Ok(index) => &value[index],
            Err(_) => &value[part],
        };
    }
    value.as_str().unwrap_or_else(|| panic!("{path} in {value}")).to_owned()
}

pub(crate) fn key(id: &str) -> String {
    format!("key/{id}")
}

pub(crate) fn version(id: &str, version: &str) -> String {
    format!("key/{id}/version/{version}")
}

/// The key id of a `key create` reply, as a resource.
pub(crate) fn created_key(reply: &Value) -> String {
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
pub(crate) fn leaks(dir: &Path, values: &[(&str, Vec<u8>)]) -> Vec<String> {
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

/// The values the commands gave back, with what each is, to look for in
/// the trail's files at the end.
pub(crate) type Received = Vec<(&'static str, Vec<u8>)>;
