//! Admin-plane bodies, both ways, for every operation of proto's
//! `admin_operations!` table (reached through the table itself, so an
//! operation added there is fuzzed without touching this file):
//!
//! - the daemon's side: `split_call` on an `AdminCall` body, then, as the
//!   daemon routes it, `decode_request::<O>` for the operation `O` with
//!   that opcode;
//! - the CLI's side: `decode_answer::<O>` of an `AdminAnswer` body for the
//!   same operation (the input after its first two bytes), and the
//!   `--json` rendering of what decodes.
//!
//! Checked: nothing panics; what decodes encodes again to bytes that
//! decode and re-encode to the same bytes (request types need not be
//! `PartialEq`; one encoding per value says the same); a decoded answer
//! renders as JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use p11kms_proto::admin::op;
use p11kms_proto::admin::operation::{
    Opcode, Operation, decode_answer, decode_request, encode_answer, encode_call, split_call,
};

/// The daemon decodes the request of a call to `O`.
fn request<O: Operation>(bytes: &[u8]) {
    let Ok(request) = decode_request::<O>(bytes) else { return };
    let call = encode_call::<O>(&request).expect("a decoded request encodes");
    let (opcode, encoded) = split_call(&call).expect("an encoded call splits");
    assert_eq!(opcode, O::OPCODE);
    let again = decode_request::<O>(encoded).expect("a re-encoded request decodes");
    assert_eq!(encode_call::<O>(&again).expect("encodes"), call, "one request, one encoding");
}

/// The CLI decodes the answer to a call of `O` and may print it as JSON.
fn answer<O: Operation>(bytes: &[u8]) {
    let Ok(answer) = decode_answer::<O>(bytes) else { return };
    let encoded = encode_answer(&answer).expect("a decoded answer encodes");
    let again = decode_answer::<O>(&encoded).expect("a re-encoded answer decodes");
    assert_eq!(encode_answer(&again).expect("encodes"), encoded, "one answer, one encoding");
    match &answer {
        Ok(reply) => {
            serde_json::to_string_pretty(reply).expect("a reply renders as JSON");
        }
        Err(error) => {
            let _ = format!("{}: {}", error.code.as_str(), error.message);
        }
    }
}

/// One arm per operation of the table: the operation with `opcode`, if any.
macro_rules! dispatch {
    ($($(#[$doc:meta])* $opcode:literal $name:ident [$($word:literal)+] $request:ty => $reply:ty;)+) => {
        fn by_opcode(opcode: Opcode, call: &[u8], answer_body: &[u8]) -> bool {
            $(
                if opcode == <op::$name as Operation>::OPCODE {
                    request::<op::$name>(call);
                    answer::<op::$name>(answer_body);
                    return true;
                }
            )+
            false
        }
    };
}

p11kms_proto::admin_operations!(dispatch);

fuzz_target!(|data: &[u8]| {
    // The daemon's path: a body too short for an opcode is answered, and
    // an opcode no operation has is answered `InvalidAction.NotFound`.
    let Ok((opcode, rest)) = split_call(data) else {
        assert!(data.len() < 2);
        return;
    };
    let known = by_opcode(opcode, rest, rest);
    assert_eq!(known, op::find(opcode).is_some());
});
