//! Walks the state table of `docs/keys.md` against a running daemon: for
//! every operation and every key state the table lists, put a fresh key of
//! a kind the operation applies to in that state, run the operation
//! through the CLI, and check the outcome is the table's (`OK`, or the
//! error code). The table is the documentation and the test at once.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::Path;

use p11kms_tests::Daemon;

/// The kind of key an operation needs to succeed when the state allows it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Symmetric,
    Signing,
    RsaCrypt,
    External,
}

fn kind_for(operation: &str) -> Kind {
    match operation {
        "sign" => Kind::Signing,
        "asymmetric-encrypt" | "get-public-key" => Kind::RsaCrypt,
        "get-parameters-for-import" | "delete-key-material" => Kind::External,
        _ => Kind::Symmetric,
    }
}

fn table() -> Vec<(String, Vec<(String, String)>)> {
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/keys.md")).expect("docs/keys.md");
    let after = docs.split("<!-- state-table").nth(1).expect("the state-table marker");
    let mut lines = after.lines().skip(1).take_while(|l| l.starts_with('|'));
    let header: Vec<String> =
        lines.next().expect("header").split('|').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
    assert_eq!(header, ["operation", "Enabled", "Disabled", "PendingDeletion", "PendingImport"]);
    lines
        .skip(1) // the |---| line
        .map(|line| {
            let cells: Vec<String> = line.split('|').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
            let states = header[1..].iter().cloned().zip(cells[1..].iter().cloned()).collect();
            (cells[0].clone(), states)
        })
        .collect()
}

/// A fresh key of `kind` in `state`; returns its id.
fn key_in(daemon: &Daemon, kind: Kind, state: &str) -> String {
    let kind = if state == "PendingImport" { Kind::External } else { kind };
    let key = match kind {
        Kind::Symmetric => daemon.create_key(&["--key-spec", "AES_256"]),
        Kind::Signing => daemon.create_key(&["--key-spec", "EC_P256"]),
        Kind::RsaCrypt => daemon.create_key(&["--key-spec", "RSA_2048", "--key-usage", "ENCRYPT/DECRYPT"]),
        Kind::External => daemon.create_key(&["--key-spec", "AES_256", "--origin", "EXTERNAL"]),
    };
    if kind == Kind::External && state != "PendingImport" {
        let (code, _, stderr) = daemon.import_material(&key, &[0x5a; 32], "RSAES_OAEP_SHA_1", &[]);
        assert_eq!(code, Some(0), "import: {stderr}");
    }
    match state {
        "Enabled" | "PendingImport" => {}
        "Disabled" => {
            daemon.cli_json(&["key", "disable", &key]);
        }
        "PendingDeletion" => {
            daemon.cli_json(&["key", "schedule-deletion", &key, "--pending-window-in-days", "7"]);
        }
        other => panic!("unknown state {other}"),
    }
    assert_eq!(daemon.key_field(&key, "KeyMetadata.KeyState"), state, "the key is in the state under test");
    key
}

/// The command line of an operation on `key` (`cell` keeps aliases unique).
fn command(daemon: &Daemon, operation: &str, key: &str, cell: usize) -> Vec<String> {
    let version = || daemon.key_field(key, "KeyMetadata.PrimaryKeyVersion").as_str().expect("version").to_owned();
    let args: Vec<String> = match operation {
        "describe" => ["key", "describe", key].map(String::from).to_vec(),
        "list-versions" => ["key", "list-versions", key].map(String::from).to_vec(),
        "tag" => ["key", "tag", key, "--tag", "team=payments"].map(String::from).to_vec(),
        "untag" => ["key", "untag", key, "--tag-key", "team"].map(String::from).to_vec(),
        "alias-create" => {
            vec!["alias".into(), "create".into(), format!("alias/cell-{cell}"), "--key-id".into(), key.into()]
        }
        "set-deletion-protection" => ["key", "set-deletion-protection", key, "--enable"].map(String::from).to_vec(),
        "enable" => ["key", "enable", key].map(String::from).to_vec(),
        "disable" => ["key", "disable", key].map(String::from).to_vec(),
        "schedule-deletion" => {
            ["key", "schedule-deletion", key, "--pending-window-in-days", "7"].map(String::from).to_vec()
        }
        "cancel-deletion" => ["key", "cancel-deletion", key].map(String::from).to_vec(),
        "create-version" => ["key", "create-version", key].map(String::from).to_vec(),
        "update-rotation-policy" => {
            ["key", "update-rotation-policy", key, "--enable-automatic-rotation", "--rotation-interval", "30d"]
                .map(String::from)
                .to_vec()
        }
        "encrypt" => ["encrypt", "--key-id", key, "--plaintext", "hello"].map(String::from).to_vec(),
        "generate-data-key" => ["generate-data-key", "--key-id", key].map(String::from).to_vec(),
        "sign" => vec![
            "sign".into(),
            "--key-id".into(),
            key.into(),
            "--key-version-id".into(),
            version(),
            "--algorithm".into(),
            "ECDSA_SHA_256".into(),
            "--message".into(),
            "hello".into(),
        ],
        "asymmetric-encrypt" => vec![
            "asymmetric-encrypt".into(),
            "--key-id".into(),
            key.into(),
            "--key-version-id".into(),
            version(),
            "--algorithm".into(),
            "RSAES_OAEP_SHA_256".into(),
            "--plaintext".into(),
            "hello".into(),
        ],
        "get-public-key" => ["get-public-key", "--key-id", key].map(String::from).to_vec(),
        "get-parameters-for-import" => {
            ["key", "get-parameters-for-import", key, "--wrapping-algorithm", "RSAES_OAEP_SHA_1"]
                .map(String::from)
                .to_vec()
        }
        "delete-key-material" => ["key", "delete-key-material", key].map(String::from).to_vec(),
        other => panic!("docs/keys.md lists an operation this test does not know: {other}"),
    };
    args
}

#[test]
fn every_cell_of_the_state_table_holds() {
    let daemon = Daemon::start();
    let table = table();
    assert!(table.len() >= 19, "the table lists the operations: {}", table.len());
    let mut checked = 0;
    for (operation, cells) in &table {
        for (state, expected) in cells {
            let key = key_in(&daemon, kind_for(operation), state);
            let args = command(&daemon, operation, &key, checked);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, _, stderr) = daemon.cli_outcome(&args);
            if expected == "OK" {
                assert_eq!(code, Some(0), "{operation} on a {state} key should succeed: {stderr}");
            } else {
                assert_eq!(code, Some(1), "{operation} on a {state} key should fail with {expected}: {stderr}");
                assert!(stderr.starts_with(&format!("{expected}: ")), "{operation} on a {state} key: {stderr}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, table.len() * 4);
}
