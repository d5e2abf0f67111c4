//! Objects applications create cannot take the daemon's memory or store:
//! public session objects need no login, so their bytes are budgeted per
//! peer uid and in all; objects and their values have a largest size; an
//! instance has a budget of token objects. Past a budget the answer is
//! `CKR_DEVICE_MEMORY`, at once, and everyone else is still served.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
// PKCS#11 numbers, as the standard gives them.
const CKA_CLASS: u64 = 0x0;
const CKA_PRIVATE: u64 = 0x2;
const CKA_VALUE: u64 = 0x11;
const CKO_DATA: u64 = 0x0;
const CKR_DEVICE_MEMORY: u64 = 0x31;

use p11kms_proto::data::{DataReply, DataRequest, DataResult};
use p11kms_proto::frame::{MAX_BODY_LEN, MessageKind, encode_frame, read_frame};
use p11kms_proto::pkcs11::Attribute as WireAttribute;
use p11kms_proto::{CkRv, decode_body};
use p11kms_tests::{Daemon, hsm1, load_module, rv};

/// A connection of a client of its own (its own client id), spoken to in
/// frames, as a module would.
struct RawClient {
    stream: UnixStream,
    next: u32,
}

impl RawClient {
    fn connect(daemon: &Daemon, id: u8) -> Self {
        let stream = UnixStream::connect(daemon.data_socket()).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        let mut client = Self { stream, next: 1 };
        let hello = DataRequest::Hello { client_id: [id; 16], module_version: "budget test".into() };
        assert!(matches!(client.call(&hello), Ok(DataReply::Welcome { .. })));
        client
    }

    fn call(&mut self, request: &DataRequest) -> DataResult {
        let id = self.next;
        self.next += 1;
        self.stream.write_all(&encode_frame(MessageKind::DataRequest, id, request).expect("encode")).expect("send");
        let (header, body) = read_frame(&mut self.stream, MAX_BODY_LEN).expect("reply").expect("not EOF");
        assert_eq!(header.request_id, id);
        decode_body(&body).expect("reply body")
    }

    /// `C_CreateObject` of a public session data object holding `len` bytes.
    fn create_public_object(&mut self, len: usize) -> DataResult {
        let template = vec![
            WireAttribute::ulong(CKA_CLASS, CKO_DATA),
            WireAttribute::bool(CKA_PRIVATE, false),
            WireAttribute::bytes(CKA_VALUE, vec![0x5a; len]),
        ];
        self.call(&DataRequest::CreateObject { slot: 0, template })
    }
}

#[test]
fn public_session_objects_stop_at_their_budgets_and_the_daemon_serves_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("p11kmsd.toml");
    std::fs::write(&config, "[objects]\nsession_bytes_per_uid = 4194304\nsession_bytes_total = 8388608\n")
        .expect("config");
    let mut daemon = Daemon::start_with(&["--config", config.to_str().expect("path")]);
    let pin = daemon.create_app("web", "hsm1");
    let before = daemon.rss_kib();

    // Four "processes" of this uid fill the uid's budget with 60 KB objects,
    // and the next object is refused at once, whoever asks.
    let mut attackers: Vec<RawClient> = (1..=4).map(|id| RawClient::connect(&daemon, id)).collect();
    let mut made = 0;
    'fill: for round in 0.. {
        for attacker in &mut attackers {
            match attacker.create_public_object(60_000) {
                Ok(DataReply::Objects(_)) => made += 1,
                Err(CkRv(code)) if code == CKR_DEVICE_MEMORY => break 'fill,
                other => panic!("round {round}: {other:?}"),
            }
        }
    }
    assert!((60..=70).contains(&made), "about 4 MiB of 60 KB objects, not {made}");
    for attacker in &mut attackers {
        assert_eq!(attacker.create_public_object(60_000), Err(CkRv(CKR_DEVICE_MEMORY)), "the budget is the uid's");
    }
    // The daemon grew by about the budget, not by what was asked for:
    // 4 MiB of objects, with room for the allocator's own (generous: the
    // bound is about not growing without end, not a measure).
    let grown_kib = daemon.rss_kib().saturating_sub(before);
    assert!(grown_kib < 32 * 1024, "the daemon grew by {grown_kib} KiB for a 4 MiB budget");

    // Everyone else is served meanwhile: a logged-in application signs.
    let ctx = load_module(&daemon);
    let session = ctx.open_rw_session(hsm1(&ctx)).expect("session");
    session.login(UserType::User, Some(&AuthPin::from(pin))).expect("login");
    let (_, private) = session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[
                Attribute::Token(true),
                Attribute::EcParams(vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
            ],
            &[Attribute::Token(true), Attribute::Sign(true), Attribute::Label(b"served".to_vec())],
        )
        .expect("a key");
    assert_eq!(session.sign(&Mechanism::Ecdsa, private, &[7; 32]).expect("signs").len(), 64);
    // Its own public session objects are this uid's too: refused, clearly.
    let note = [Attribute::Class(ObjectClass::DATA), Attribute::Private(false), Attribute::Value(vec![1; 60_000])];
    assert_eq!(rv(session.create_object(&note)), RvError::DeviceMemory);

    // The attackers leave: their bytes come back.
    drop(attackers);
    std::thread::sleep(Duration::from_millis(200));
    session.create_object(&note).expect("room again once the clients are gone");
    daemon.stop();
}
