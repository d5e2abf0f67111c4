//! An application keeps working when the daemon closes its idle
//! connections (`sockets.idle_timeout_seconds`): the module notices the
//! close before its next call (a non-blocking peek of each pooled
//! connection) and opens a new connection. A logged-in application's
//! connections are never closed for idleness, and its login stays.
//!
//! Its own test binary: the module is loaded in this process, which can
//! only load it once (it reads `P11KMS_SOCKET` at `C_Initialize`).

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use cryptoki::object::Attribute;
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

use p11kms_proto::data::{DataReply, DataRequest, DataResult};
use p11kms_proto::decode_body;
use p11kms_proto::frame::{MAX_BODY_LEN, MessageKind, encode_frame, read_frame};
use p11kms_tests::{Daemon, hsm1, load_module};

/// Idle limit of the daemon under test: short, so the test takes seconds.
const IDLE_SECONDS: u64 = 2;
/// How long a wait for the daemon's idle close may take before the test
/// fails: far beyond the limit, so only a close that never comes fails.
const PATIENCE: Duration = Duration::from_secs(120);

/// The ids of this process's data connections.
fn my_connections(daemon: &Daemon) -> BTreeSet<u64> {
    let me = i64::from(std::process::id());
    let rows = daemon.cli_json(&["connection", "list"]);
    let rows = rows["Connections"].as_array().expect("Connections list");
    rows.iter()
        .filter(|row| row["Pid"].as_i64() == Some(me))
        .map(|row| row["ConnectionId"].as_u64().expect("connection id"))
        .collect()
}

/// A raw connection that says hello, then idles: it is closed after the
/// idle limit, so once it is, every connection idle since before it was
/// opened has idled past the limit too.
fn idle_witness(daemon: &Daemon) -> UnixStream {
    let mut stream = UnixStream::connect(daemon.data_socket()).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let hello = DataRequest::Hello { client_id: [0x77; 16], module_version: "witness".into() };
    stream.write_all(&encode_frame(MessageKind::DataRequest, 1, &hello).expect("encode")).expect("send");
    let (_, body) = read_frame(&mut stream, MAX_BODY_LEN).expect("welcome").expect("not closed");
    assert!(matches!(decode_body::<DataResult>(&body), Ok(Ok(DataReply::Welcome { .. }))));
    stream
}

/// Waits until the daemon closes the witness: the end of the stream.
fn wait_for_idle_close(mut witness: UnixStream) {
    let mut rest = Vec::new();
    witness.read_to_end(&mut rest).expect("closed by the daemon within the patience");
    assert!(rest.is_empty(), "an idle connection is closed without a frame");
}

#[test]
fn an_application_goes_on_working_after_the_daemon_closed_its_idle_connections() {
    let config = tempfile::tempdir().expect("config dir");
    let path = config.path().join("p11kmsd.toml");
    std::fs::write(&path, format!("[sockets]\nidle_timeout_seconds = {IDLE_SECONDS}\n")).expect("config");
    let daemon = Daemon::start_with(&["--config", path.to_str().expect("utf-8")]);
    daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/idle"]);
    let pin = daemon.create_app("idler", "hsm1");
    let ctx = load_module(&daemon);
    let slot = hsm1(&ctx);

    // Not logged in: the daemon closes the pooled connections after the
    // idle limit...
    let session = ctx.open_ro_session(slot).expect("session");
    assert_eq!(session.generate_random_vec(16).expect("random").len(), 16);
    let before = my_connections(&daemon);
    assert!(!before.is_empty(), "the module holds a pooled connection");
    let deadline = Instant::now() + PATIENCE;
    while !my_connections(&daemon).is_disjoint(&before) {
        assert!(Instant::now() < deadline, "the daemon did not close the idle connections {before:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // ...and the application's next calls simply work, on a new connection.
    assert_eq!(session.generate_random_vec(16).expect("random after the idle close").len(), 16);
    assert_eq!(ctx.get_token_info(slot).expect("token info").label(), "hsm1");
    let after = my_connections(&daemon);
    assert!(!after.is_empty() && after.is_disjoint(&before), "a new connection: {before:?} then {after:?}");

    // Logged in: the connections stay however long they idle, and so does
    // the login.
    session.login(UserType::User, Some(&AuthPin::from(pin))).expect("login");
    assert_eq!(session.find_objects(&[Attribute::Label(b"alias/idle".to_vec())]).expect("find").len(), 1);
    let logged_in = my_connections(&daemon);
    wait_for_idle_close(idle_witness(&daemon));
    let kept = my_connections(&daemon);
    assert!(logged_in.is_subset(&kept), "a logged-in client keeps its connections: {logged_in:?} then {kept:?}");
    let found = session.find_objects(&[Attribute::Label(b"alias/idle".to_vec())]).expect("find after idling");
    assert_eq!(found.len(), 1, "still logged in: the private key is found");
}
