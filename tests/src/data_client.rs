//! The daemon's data socket spoken directly, without the module: for
//! tests of what the daemon itself refuses (a module would refuse first).

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use p11kms_proto::data::{DataReply, DataRequest, DataResult};
use p11kms_proto::decode_body;
use p11kms_proto::frame::{MAX_BODY_LEN, MessageKind, encode_frame, read_frame};
use p11kms_proto::pkcs11::SlotId;

use crate::Daemon;

/// Sends one data request and reads its answer.
///
/// # Panics
/// When the exchange itself fails (not when the daemon refuses).
pub fn request(stream: &mut UnixStream, id: u32, request: &DataRequest) -> DataResult {
    stream.write_all(&encode_frame(MessageKind::DataRequest, id, request).expect("encode")).expect("send");
    let (header, body) = read_frame(stream, MAX_BODY_LEN).expect("an answer").expect("not closed");
    assert_eq!((header.kind, header.request_id), (MessageKind::DataResponse, id));
    decode_body(&body).expect("answer body")
}

/// A connection of client `client_id` that said hello and logged in to the
/// slot of token `label` with `pin`; returns it with the slot. The next
/// request id to use is 4.
///
/// # Panics
/// When any of the three is refused.
pub fn logged_in(daemon: &Daemon, client_id: [u8; 16], label: &str, pin: &str) -> (UnixStream, SlotId) {
    let mut stream = UnixStream::connect(daemon.data_socket()).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let hello = DataRequest::Hello { client_id, module_version: "data client test".into() };
    assert!(matches!(request(&mut stream, 1, &hello), Ok(DataReply::Welcome { .. })));
    let Ok(DataReply::Slots(slots)) = request(&mut stream, 2, &DataRequest::ListSlots) else { panic!("slots") };
    let slot = slots
        .iter()
        .find(|s| s.token.as_ref().is_some_and(|t| t.label.trim_end() == label))
        .unwrap_or_else(|| panic!("the {label} slot"))
        .id;
    let login = DataRequest::Login { slot, user_type: 1, pin: pin.into() };
    assert!(matches!(request(&mut stream, 3, &login), Ok(DataReply::Done)));
    (stream, slot)
}
