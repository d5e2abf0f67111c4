//! A CMK migration killed at each of its steps (`kill -9` through the test
//! crash points `migration-started`, `migration-copied`,
//! `migration-switched`): after the restart the key is in exactly one
//! instance, decrypts what it encrypted before, and the HSM members hold
//! its material exactly when the key is in `hsm1`; the daemon undoes a run
//! that had not moved the key (and runs it again in its window) and
//! finishes one that had. Objects are counted on the token files
//! themselves, through SoftHSM.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use p11kms_tests::{Daemon, MemberTokens};

const CRASH_AT: &str = "P11KMS_TEST_CRASH_AT";

/// The instances whose key list holds `key`.
fn instances_holding(daemon: &Daemon, key: &str) -> Vec<String> {
    ["default", "hsm1"]
        .into_iter()
        .filter(|instance| {
            let list = daemon.cli_json(&["key", "list", "--instance", instance]);
            list["Keys"].as_array().expect("keys").iter().any(|k| k["KeyMetadata"]["KeyId"] == key)
        })
        .map(str::to_owned)
        .collect()
}

/// The task's status once it is not `Running`.
fn settled(daemon: &Daemon, task_id: &str) -> String {
    for _ in 0..200 {
        let status =
            daemon.cli_json(&["key", "describe-migration", task_id])["Status"].as_str().expect("status").to_owned();
        if status != "Running" {
            return status;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the task stays Running:\n{}", daemon.log());
}

fn on_members(tokens: &MemberTokens, id: &[u8; 16]) -> Vec<bool> {
    (0..3).map(|index| tokens.version_ids(index).contains(id.as_slice())).collect()
}

#[test]
fn a_migration_killed_at_each_step_leaves_the_key_in_exactly_one_instance() {
    let mut daemon = Daemon::start_with(&["--test-clock"]);
    let tokens = MemberTokens::open(&daemon);
    for (round, point) in ["migration-started", "migration-copied", "migration-switched"].into_iter().enumerate() {
        let alias = format!("alias/moving-{round}");
        let created =
            daemon.cli_json(&["key", "create", "--instance", "default", "--key-spec", "AES_256", "--alias", &alias]);
        let key = created["KeyMetadata"]["KeyId"].as_str().expect("key id").to_owned();
        let id = daemon.version_ids(&key)[0];
        let blob = daemon.cli_json(&["encrypt", "--key-id", &alias, "--plaintext", "before"])["CiphertextBlob"]
            .as_str()
            .expect("blob")
            .to_owned();
        daemon.set_env(CRASH_AT, Some(point));
        daemon.restart();
        let task = daemon.cli_json(&["key", "migrate", &alias, "--to-instance", "hsm1"]);
        let task_id = task["TaskId"].as_str().expect("task id").to_owned();
        assert_eq!(task["Status"], "Scheduled");
        // The pass after the clock moves runs the task, and dies in it.
        daemon.crash_in(&["clock", "advance", "1s"]);

        daemon.set_env(CRASH_AT, None);
        daemon.restart();
        let log = daemon.log();
        let moved = point == "migration-switched";
        let said = if moved { "destroying what it left behind" } else { "it is scheduled again" };
        assert!(log.contains(said), "{point}: the start settled the task:\n{log}");
        // The start's scheduler pass may already run the task again (its
        // window is open): wait for it to settle, then look.
        let status = settled(&daemon, &task_id);
        let holder = &instances_holding(&daemon, &key);
        assert_eq!(holder.len(), 1, "{point}: exactly one instance holds the key: {holder:?}");
        let in_hsm1 = holder[0] == "hsm1";
        assert!(moved <= in_hsm1, "{point}: a key that moved stays moved");
        assert_eq!(in_hsm1, status == "Succeeded", "{point}: {status}");
        assert_eq!(on_members(&tokens, &id), [in_hsm1; 3], "{point}: the members hold it exactly when it is in hsm1");
        let plain = daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob]);
        assert_eq!(plain["Plaintext"], "YmVmb3Jl", "{point}: old ciphertext decrypts");

        // Its window is still open: the task runs again, or has run.
        daemon.cli(&["clock", "advance", "1s"]);
        assert_eq!(settled(&daemon, &task_id), "Succeeded", "{point}");
        assert_eq!(instances_holding(&daemon, &key), ["hsm1"], "{point}");
        assert_eq!(on_members(&tokens, &id), [true; 3], "{point}: on every member");
        assert_eq!(daemon.cli_json(&["decrypt", "--ciphertext-blob", &blob])["Plaintext"], "YmVmb3Jl", "{point}");
        let (code, report) = daemon.cli_json_outcome(&["cluster", "verify", "hsm1"]);
        assert_eq!((code, report["Consistent"].as_bool()), (Some(0), Some(true)), "{point}: {report}");
    }
}
