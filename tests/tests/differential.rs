//! Differential conformance harness: the same PKCS#11 call sequences on
//! SoftHSM 2.6 loaded directly and on p11kms (`libp11kms.so` and a real
//! `p11kmsd`), compared call by call.
//!
//! Each module gets a fresh token with the same objects, generated in it
//! through PKCS#11 as token objects after login: an AES-256 key
//! (`diff-aes`), two RSA-2048 pairs (`diff-rsa-sign`, sign/verify only;
//! `diff-rsa-enc`, encrypt/decrypt only: a KMS key has exactly one usage)
//! and an EC P-256 pair (`diff-ec`). SoftHSM runs on its own
//! `SOFTHSM2_CONF` and token directory in a temporary directory; the daemon
//! on its own state directory. Both modules are loaded into this process
//! with `dlopen` and called through their 2.40 `CK_FUNCTION_LIST`, so that
//! NULL pointers, lying lengths and malformed parameters reach them
//! (`differential/ffi/`).
//!
//! The cases (`differential/cases/`, a module per class of case) cover
//! every 2.40 function p11kms exports with normal arguments, NULL pointers
//! with zero, small and huge lengths (`0x7fffffff`, `0x80000000`,
//! `CK_ULONG::MAX`, only ever with a NULL pointer), output buffers of 0, 1,
//! one short and exactly enough, wrong key types and usages,
//! missing/short/long/malformed mechanism parameters, the state of an
//! operation after an error, and closed, zero and made-up handles. For
//! every call the harness records the `CK_RV` and an observation that must
//! be the same on both (output length, a digest, "the plaintext came
//! back"). Keys differ between the tokens, so key-dependent bytes are never
//! compared.
//!
//! # Reading the result
//!
//! The full comparison is written as Markdown to
//! `$CARGO_TARGET_TMPDIR/differential.md` (the path is printed; run with
//! `--nocapture` to see it). The test then compares the differing calls
//! with `tests/tests/differential/known_differences.txt` (format in
//! `differential/report.rs`) and fails when a difference appears that is
//! not listed, or when a listed one no longer occurs. So the list always
//! says exactly how p11kms differs from SoftHSM today.
//!
//! # Updating the list
//!
//! After a deliberate change (a fix that removes differences, a new case),
//! rewrite the list from the current behaviour and review its diff:
//!
//! ```text
//! cargo build --workspace
//! P11KMS_BLESS=1 cargo test -p p11kms-tests --test differential
//! git diff tests/tests/differential/known_differences.txt
//! ```
//!
//! Call indexes count from 0 within a case. Adding a call in the middle of
//! a case renumbers the rest of that case: bless, and check that the diff
//! only moves lines.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

#[path = "differential/cases/mod.rs"]
mod cases;
#[path = "differential/ffi/mod.rs"]
mod ffi;
#[path = "differential/report.rs"]
mod report;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use cryptoki_sys::*;
use p11kms_tests::{Daemon, module};

use cases::{Run, Target};
use ffi::{In, P11, load, rv_name};

const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The SoftHSM user PIN: 40 characters, as long as an app PIN.
const SOFTHSM_PIN: &str = "0123456789abcdefghij0123456789abcdefghij";
const SOFTHSM_SO_PIN: &str = "so-pin-differential";

/// A SoftHSM configuration and token directory of its own, with one token
/// `diff` initialized by `softhsm2-util`.
fn softhsm_token(dir: &Path) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir(&tokens).expect("token directory");
    let conf = dir.join("softhsm2.conf");
    let text = format!(
        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
        tokens.display()
    );
    std::fs::write(&conf, text).expect("softhsm2.conf");
    let out = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", "diff", "--so-pin", SOFTHSM_SO_PIN, "--pin", SOFTHSM_PIN])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("run softhsm2-util");
    assert!(out.status.success(), "softhsm2-util --init-token: {}", String::from_utf8_lossy(&out.stderr));
    conf
}

/// Initializes a module, finds the token labelled `label`, logs in on a
/// session kept open for the whole run and generates the keys.
fn prepare(name: &'static str, path: &Path, label: &str, pin: &str) -> Target {
    let p = P11(load(path));
    assert_eq!(p.initialize(), CKR_OK, "{name}: C_Initialize");
    let (rv, slots) = p.slot_list(true, Some(64), false);
    assert_eq!(rv, CKR_OK, "{name}: C_GetSlotList");
    let slot = slots
        .into_iter()
        .find(|&slot| p.token_info(slot, false).1 == label)
        .unwrap_or_else(|| panic!("{name}: no token labelled {label}"));
    let (rv, main) = p.open_session(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, false);
    assert_eq!(rv, CKR_OK, "{name}: C_OpenSession");
    let rv = p.login(main, CKU_USER, In::B(pin.as_bytes()));
    assert_eq!(rv, CKR_OK, "{name}: C_Login: {}", rv_name(rv));
    let k = cases::generate_keys(p, main);
    Target { name, p, slot, pin: pin.as_bytes().to_vec(), main, k }
}

/// Logs the target in again if a case logged it out, and finds the keys
/// again (SoftHSM gives private objects new handles after a logout). Not
/// compared: the cases record what they see themselves.
fn restore(t: &mut Target) {
    let (rv, state, _) = t.p.session_info(t.main, false);
    if rv != CKR_OK {
        return; // the main session is gone: close-all-sessions, the last case
    }
    if state != CKS_RW_USER_FUNCTIONS {
        let _ = t.p.login(t.main, CKU_USER, In::B(&t.pin));
    }
    t.k = cases::find_keys(t.p, t.main).unwrap_or_else(|| panic!("{}: the test keys are gone", t.name));
}

#[test]
fn softhsm_and_p11kms_differ_only_as_listed() {
    let started = Instant::now();
    let daemon = Daemon::start();
    let app_pin = daemon.create_app("differential", "hsm1");
    let softhsm_dir = tempfile::Builder::new().prefix("p11kms-differential-").tempdir().expect("temp dir");
    let conf = softhsm_token(softhsm_dir.path());
    // SAFETY: this binary holds one test, and nothing else reads the
    // environment while it is changed. The daemon already runs, with its
    // own environment; each module reads its variable at C_Initialize.
    unsafe {
        std::env::set_var("SOFTHSM2_CONF", &conf);
        std::env::set_var("P11KMS_SOCKET", daemon.data_socket());
    }
    let mut targets =
        [prepare("softhsm", Path::new(SOFTHSM), "diff", SOFTHSM_PIN), prepare("p11kms", &module(), "hsm1", &app_pin)];

    let table = cases::all();
    let mut rows = Vec::new();
    for case in &table {
        let mut calls = Vec::new();
        for t in &mut targets {
            let mut run = Run::new(t);
            (case.run)(&mut run);
            run.finish();
            calls.push(run.calls);
            restore(t);
        }
        let kms = calls.pop().expect("p11kms calls");
        let soft = calls.pop().expect("SoftHSM calls");
        rows.extend(report::compare(case.name, case.class, soft, kms));
    }
    for t in &targets {
        assert_eq!(t.p.finalize(), CKR_OK, "{}: C_Finalize", t.name);
    }

    let md_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("differential.md");
    std::fs::write(&md_path, report::markdown(&rows, table.len())).expect("write the report");
    let differ = rows.iter().filter(|r| r.differs()).count();
    println!(
        "differential: {} cases, {} calls, {differ} differ, in {:.1} s; report: {}",
        table.len(),
        rows.len(),
        started.elapsed().as_secs_f64(),
        md_path.display()
    );
    for (class, cases, calls, differ) in report::by_class(&rows) {
        println!("  {:<32} {cases:>3} cases {calls:>5} calls {differ:>4} differ", class.label());
    }

    let known_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential/known_differences.txt");
    let current = report::render_known(&rows);
    if std::env::var_os("P11KMS_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&known_path, &current).expect("write known_differences.txt");
        println!("differential: wrote {}", known_path.display());
        return;
    }
    let known = report::parse_known(&std::fs::read_to_string(&known_path).unwrap_or_default());
    let now = report::parse_known(&current);
    let new: Vec<&String> = now.difference(&known).collect();
    let gone: Vec<&String> = known.difference(&now).collect();
    let describe = |keys: &[&String]| {
        keys.iter()
            .map(|key| {
                let what = rows.iter().find(|r| &&r.key() == key).map_or("", |r| r.what.as_str());
                format!("  {key}  # {what}\n")
            })
            .collect::<String>()
    };
    assert!(
        new.is_empty() && gone.is_empty(),
        "the differences from SoftHSM changed (full report: {}).\n\
         New differences, not in known_differences.txt:\n{}\
         Listed differences that no longer occur:\n{}\
         If the change is deliberate, rewrite the list with P11KMS_BLESS=1 and review its diff.",
        md_path.display(),
        describe(&new),
        describe(&gone),
    );
}
