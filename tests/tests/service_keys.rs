//! Service keys end to end (`docs/keys.md` "Service keys"): the first
//! secret of `hsm1` that names no key makes the secrets service key
//! (`alias/acs/secrets/hsm1`); `key list` and `key describe` show its
//! `KeyManagerType` (`Service Key`, `CMK` for the operator's key), in
//! `--json` and in the human output; every change to it, to its alias or
//! to the `alias/acs/` space is refused through the real `p11kms` with
//! `Rejected.UnsupportedOperation` and exit status 1, and changes nothing;
//! through PKCS#11 no app sees it (`pkcs11-tool`, with the full policy or
//! a policy naming its alias), and a client that guesses object ids on the
//! raw wire can neither read nor destroy it, while the secret it protects
//! still reads.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::panic)]

use p11kms_proto::CkRv;
use p11kms_proto::data::{DataReply, DataRequest};
use p11kms_tests::Daemon;
use p11kms_tests::data_client::{logged_in, request};

/// The service key's alias.
const SERVICE: &str = "alias/acs/secrets/hsm1";
/// `CKR_OBJECT_HANDLE_INVALID`.
const CKR_OBJECT_HANDLE_INVALID: u64 = 0x82;
/// `CKA_ID`.
const CKA_ID: u64 = 0x102;

/// A daemon with the operator's key `alias/mine` and secret `db` (which
/// makes the service key); returns the daemon and both key ids.
fn daemon_with_both_keys() -> (Daemon, String, String) {
    let daemon = Daemon::start();
    let cmk = daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/mine"]);
    daemon.create_secret("db", "hsm1", b"pw-1", false);
    let service = daemon.key_field(SERVICE, "KeyMetadata.KeyId").as_str().expect("KeyId").to_owned();
    (daemon, cmk, service)
}

/// Runs a command expected to be refused: exit status 1, and stderr is
/// `Rejected.UnsupportedOperation: ` then a message starting `message`.
#[track_caller]
fn assert_refused(daemon: &Daemon, args: &[&str], message: &str) {
    let (code, stdout, stderr) = daemon.cli_outcome(args);
    assert_eq!(code, Some(1), "p11kms {args:?} should be refused: {stdout}{stderr}");
    let expected = format!("Rejected.UnsupportedOperation: {message}");
    assert!(stderr.starts_with(&expected), "p11kms {args:?}: {stderr:?} does not start with {expected:?}");
}

#[test]
fn service_keys_are_shown_and_refused_through_the_cli() {
    let (daemon, cmk, service) = daemon_with_both_keys();

    // KeyManagerType, in JSON with the API's name...
    let list = daemon.cli_json(&["key", "list"]);
    assert_eq!(list["TotalCount"], 2, "{list}");
    for key in list["Keys"].as_array().expect("Keys") {
        let meta = &key["KeyMetadata"];
        let (id, expected) = if meta["KeyId"] == cmk.as_str() { (&cmk, "CMK") } else { (&service, "Service Key") };
        assert_eq!(meta["KeyId"], id.as_str());
        assert_eq!(meta["KeyManagerType"], expected, "{key}");
    }
    let described = daemon.cli_json(&["key", "describe", SERVICE]);
    assert_eq!(described["KeyMetadata"]["KeyManagerType"], "Service Key");
    assert_eq!(described["KeyMetadata"]["Creator"], "service:secrets");
    assert_eq!(daemon.key_field(&cmk, "KeyMetadata.KeyManagerType"), "CMK");
    // ...and for humans.
    let (_, text, _) = daemon.cli_outcome(&["key", "describe", SERVICE]);
    assert!(text.lines().any(|l| l == "KeyManagerType:     Service Key"), "{text}");
    let (_, table, _) = daemon.cli_outcome(&["key", "list"]);
    let header = table.lines().next().expect("a header");
    assert!(header.contains("KEY-MANAGER-TYPE"), "{table}");
    let row = |id: &str| table.lines().find(|l| l.starts_with(id)).unwrap_or_else(|| panic!("{id}: {table}"));
    assert!(row(&service).contains(" Service Key "), "{table}");
    assert!(row(&cmk).contains(" CMK "), "{table}");

    // Every change to the key, by alias or by id.
    let refused = format!("key '{service}' is a service key: the daemon made it for its own use (service:secrets)");
    for name in [SERVICE, service.as_str()] {
        let changes: &[&[&str]] = &[
            &["key", "disable", name],
            &["key", "enable", name],
            &["key", "schedule-deletion", name, "--pending-window-in-days", "7"],
            &["key", "cancel-deletion", name],
            &["key", "set-deletion-protection", name, "--enable"],
            &["key", "set-deletion-protection", name, "--disable"],
            &["key", "create-version", name],
            &["key", "update-rotation-policy", name, "--enable-automatic-rotation", "--rotation-interval", "30d"],
            &["key", "update-rotation-policy", name, "--disable-automatic-rotation"],
            &["key", "tag", name, "--tag", "team=ops"],
            &["key", "untag", name, "--tag-key", "team"],
            &["key", "get-parameters-for-import", name, "--wrapping-algorithm", "RSAES_OAEP_SHA_256"],
            &["key", "import-key-material", name, "--import-token", "t", "--encrypted-key-material", "AA=="],
            &["key", "delete-key-material", name],
            &["alias", "create", "alias/to-service", "--key-id", name],
            &["alias", "update", "alias/mine", "--key-id", name],
        ];
        for args in changes {
            assert_refused(&daemon, args, &refused);
        }
        // Nor does it migrate: the refusal names it as the others do.
        let (code, _, err) = daemon.cli_outcome(&["key", "migrate", name, "--to-instance", "hsm1"]);
        assert_eq!(code, Some(1));
        assert!(
            err.starts_with(&format!("Rejected.UnsupportedOperation: {refused}")) && err.contains("migrated"),
            "{err}"
        );
    }
    // The `alias/acs/` space: no alias of a user's there, and the service
    // key's own alias neither moves nor goes.
    let space = |alias: &str| format!("alias '{alias}' is in the 'alias/acs/' space");
    for alias in ["alias/acs/x", "alias/acs", SERVICE] {
        assert_refused(&daemon, &["alias", "create", alias, "--key-id", &cmk], &space(alias));
    }
    assert_refused(&daemon, &["alias", "update", SERVICE, "--key-id", &cmk], &space(SERVICE));
    assert_refused(&daemon, &["alias", "delete", SERVICE], &space(SERVICE));
    assert_refused(
        &daemon,
        &["key", "create", "--instance", "hsm1", "--key-spec", "AES_256", "--alias", "alias/acs/mine"],
        &space("alias/acs/mine"),
    );

    // Nothing changed, and the secret still reads.
    let after = daemon.cli_json(&["key", "describe", SERVICE]);
    assert_eq!(after, described, "the service key is as it was");
    assert_eq!(daemon.cli_json(&["key", "list-versions", SERVICE])["KeyVersions"].as_array().expect("list").len(), 1);
    assert_eq!(daemon.key_field("alias/mine", "KeyMetadata.KeyId"), cmk.as_str());
    assert_eq!(daemon.cli_json(&["key", "list"])["TotalCount"], 2, "no key was made");
    let value = daemon.cli_json(&["secret", "get-value", "db"]);
    assert_eq!(value["SecretData"], "pw-1");
}

#[test]
fn no_app_sees_a_service_key_through_pkcs11_tool() {
    let (daemon, _cmk, _service) = daemon_with_both_keys();
    let everything = daemon.create_app("web", "hsm1");
    let by_alias = daemon.create_app_with_policy(
        "named",
        "hsm1",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":["alias/acs/*","secret/*"]}]}"#,
    );
    for pin in [&everything, &by_alias] {
        let listed = daemon.pkcs11_tool(&["--login", "--pin", pin, "-O"]);
        assert!(!listed.contains("acs/secrets/hsm1"), "the service key is not listed: {listed}");
        assert!(listed.contains("label:          'db'"), "the secret is: {listed}");
        let out = daemon.pkcs11_tool_output(&[
            "--login",
            "--pin",
            pin,
            "--delete-object",
            "--type",
            "secrkey",
            "--label",
            "acs/secrets/hsm1",
        ]);
        assert_ne!(out.status.code(), Some(0), "nothing to delete");
        // The daemon decrypts the secret with its service key for the app.
        let value = daemon.pkcs11_tool(&["--login", "--pin", pin, "--read-object", "--type", "data", "--label", "db"]);
        assert_eq!(value, "pw-1");
    }
    let listed = daemon.pkcs11_tool(&["--login", "--pin", &everything, "-O"]);
    assert!(listed.contains("label:      mine"), "the operator's key is listed: {listed}");
    // Not before the login either.
    assert!(!daemon.pkcs11_tool(&["-O"]).contains("acs/"));
    assert_eq!(daemon.key_field(SERVICE, "KeyMetadata.KeyState"), "Enabled");
}

#[test]
fn a_client_guessing_object_ids_neither_reads_nor_destroys_a_service_key() {
    let (daemon, _cmk, service) = daemon_with_both_keys();
    let pin = daemon.create_app("web", "hsm1");
    let (mut stream, slot) = logged_in(&daemon, [0x5e; 16], "hsm1", &pin);
    let find = DataRequest::FindObjects { slot, template: Vec::new() };
    let Ok(DataReply::Objects(found)) = request(&mut stream, 4, &find) else { panic!("objects") };
    let seen: Vec<u64> = found.iter().map(|o| o.id).collect();
    assert!(!seen.is_empty(), "the operator's key and the secret are found");
    // Not the service key: no object found carries its version's CKA_ID,
    // so its ids are among those guessed below.
    let service_version = daemon.version_ids(&service)[0].to_vec();
    assert!(
        found.iter().all(|o| !o.fixed.iter().any(|a| a.ty == CKA_ID && a.value == service_version)),
        "the service key is not found"
    );

    // Key objects' ids are `seq << 2 | role`: try every one the app was
    // not shown, among the first versions of the store.
    let mut id = 5;
    for seq in 0..32u64 {
        for role in 1..=3u64 {
            let object = (seq << 2) | role;
            if seen.contains(&object) {
                continue;
            }
            id += 1;
            let read = DataRequest::GetAttributes { slot, object, types: vec![0x03] };
            assert_eq!(request(&mut stream, id, &read), Err(CkRv(CKR_OBJECT_HANDLE_INVALID)), "object {object}");
            id += 1;
            let destroy = DataRequest::DestroyObject { slot, object };
            assert_eq!(request(&mut stream, id, &destroy), Err(CkRv(CKR_OBJECT_HANDLE_INVALID)), "object {object}");
        }
    }
    let meta = daemon.cli_json(&["key", "describe", &service]);
    assert_eq!(meta["KeyMetadata"]["KeyState"], "Enabled", "no deletion was scheduled");
    assert!(meta["KeyMetadata"]["DeleteDate"].is_null());
    assert_eq!(daemon.cli_json(&["secret", "get-value", "db"])["SecretData"], "pw-1");
}
