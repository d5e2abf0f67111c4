//! Data-plane bodies: what the daemon decodes from every `DataRequest`
//! frame of a module (`decode_body::<DataRequest>`), and what the module
//! decodes from the daemon's `DataResponse` frames (`DataResult`).
//!
//! Checked: nothing panics; whatever decodes encodes again, and that
//! encoding decodes to the same value and re-encodes to the same bytes (a
//! value has one encoding, whatever the input that produced it); `Debug`,
//! which logs may use, formats it.
#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use p11kms_proto::data::{DataRequest, DataResult};
use p11kms_proto::{decode_body, encode_body};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(data: &[u8]) {
    let Ok(value) = decode_body::<T>(data) else { return };
    let bytes = encode_body(&value).expect("a decoded value encodes");
    let again: T = decode_body(&bytes).expect("a re-encoded value decodes");
    assert_eq!(again, value, "the round trip keeps the value");
    assert_eq!(encode_body(&again).expect("encodes"), bytes, "one value, one encoding");
    let _ = format!("{value:?}");
}

fuzz_target!(|data: &[u8]| {
    round_trip::<DataRequest>(data);
    round_trip::<DataResult>(data);
});
