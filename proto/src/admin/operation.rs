//! What an admin operation is on the wire: an explicit opcode, a request
//! type and a reply type, bound together by the [`Operation`] trait, and
//! the two bodies that carry them.
//!
//! ```text
//! AdminCall body    opcode (2 bytes, big-endian) | postcard(request)
//! AdminAnswer body  postcard(Result<reply, ApiError>)
//! ```
//!
//! The opcode, not a position in an enum, says which operation a call is:
//! opcodes are the protocol and are never renumbered or reused (the table
//! in [`super::op`] lists them, `docs/wire.md` prints it, golden-byte tests
//! pin the encoding of every operation). A request or reply type only
//! grows at its end within one protocol major version.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use crate::{CodecError, decode_body, encode_body};

/// An admin operation's wire number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Opcode(pub u16);

impl std::fmt::Display for Opcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{:04x}", self.0)
    }
}

/// One operation of the admin plane. Implemented by the marker types of
/// [`super::op`], one per operation, never by hand elsewhere.
pub trait Operation: 'static {
    /// Its wire number.
    const OPCODE: Opcode;
    /// The API's name for it (`CreateKey`): what logs and the audit trail
    /// record.
    const NAME: &'static str;
    /// The `p11kms` command that sends it, word by word
    /// (`["key", "create"]`).
    const COMMAND: &'static [&'static str];
    /// The command's last word, the name of its CLI subcommand.
    const VERB: &'static str = last(Self::COMMAND);
    /// What the call carries.
    type Request: Serialize + DeserializeOwned + std::fmt::Debug + 'static;
    /// What a successful answer carries.
    type Reply: Serialize + DeserializeOwned + std::fmt::Debug + 'static;
}

const fn last(words: &'static [&'static str]) -> &'static str {
    match words {
        [.., last] => last,
        [] => "",
    }
}

/// An operation's names and number, for tables and listings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationInfo {
    /// Its wire number.
    pub opcode: Opcode,
    /// The API's name.
    pub name: &'static str,
    /// The `p11kms` command, word by word.
    pub command: &'static [&'static str],
}

impl OperationInfo {
    /// The entry of operation `O`.
    pub const fn of<O: Operation>() -> Self {
        Self { opcode: O::OPCODE, name: O::NAME, command: O::COMMAND }
    }

    /// The command as typed (`key create`).
    pub fn command_line(&self) -> String {
        self.command.join(" ")
    }
}

/// The body of an `AdminCall` frame for operation `O`.
pub fn encode_call<O: Operation>(request: &O::Request) -> Result<Vec<u8>, CodecError> {
    let mut body = O::OPCODE.0.to_be_bytes().to_vec();
    body.extend_from_slice(&encode_body(request)?);
    Ok(body)
}

/// Splits an `AdminCall` body into its opcode and the request's bytes.
pub fn split_call(body: &[u8]) -> Result<(Opcode, &[u8]), ApiError> {
    match body {
        [high, low, request @ ..] => Ok((Opcode(u16::from_be_bytes([*high, *low])), request)),
        _ => Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("an admin call starts with a 2-byte opcode; this one has {} bytes", body.len()),
        )),
    }
}

/// Decodes the request of operation `O` from the bytes after its opcode.
/// A body that is not one is answered, not fatal: the frame around it was
/// sound, so the connection stays usable.
pub fn decode_request<O: Operation>(bytes: &[u8]) -> Result<O::Request, ApiError> {
    decode_body(bytes).map_err(|error| {
        ApiError::new(ErrorCode::InvalidParameter, format!("the {} request is malformed: {error}", O::NAME))
    })
}

/// The body of an `AdminAnswer` frame.
pub fn encode_answer<T: Serialize>(answer: &Result<T, ApiError>) -> Result<Vec<u8>, CodecError> {
    encode_body(answer)
}

/// Decodes the answer to a call of operation `O`.
pub fn decode_answer<O: Operation>(body: &[u8]) -> Result<Result<O::Reply, ApiError>, CodecError> {
    decode_body(body)
}

/// The answer to a call whose opcode no operation has (a newer client, or
/// garbage): an error naming the opcode.
pub fn unknown_opcode(opcode: Opcode) -> ApiError {
    ApiError::new(
        ErrorCode::UnknownOperation,
        format!("no admin operation has opcode {opcode}; is p11kms newer than this p11kmsd?"),
    )
}

#[cfg(test)]
mod tests {
    use super::super::op::{DescribeKey, ListInstances};
    use super::*;
    use crate::admin::KeyRef;

    #[test]
    fn a_call_is_its_opcode_then_its_request() {
        let body = encode_call::<DescribeKey>(&KeyRef { key: "k".into() }).expect("encodes");
        assert_eq!(body, [0x03, 0x02, 0x01, b'k']);
        let (opcode, request) = split_call(&body).expect("splits");
        assert_eq!(opcode, DescribeKey::OPCODE);
        assert_eq!(decode_request::<DescribeKey>(request).expect("decodes"), KeyRef { key: "k".into() });
        assert_eq!(encode_call::<ListInstances>(&()).expect("encodes"), [0x01, 0x01]);
    }

    #[test]
    fn short_bodies_and_malformed_requests_are_answered_as_errors() {
        for body in [&[][..], &[0x03][..]] {
            assert_eq!(split_call(body).expect_err("too short").code, ErrorCode::InvalidParameter);
        }
        let error = decode_request::<DescribeKey>(&[0x05, b'k']).expect_err("string cut short");
        assert_eq!(error.code, ErrorCode::InvalidParameter);
        assert!(error.message.contains("DescribeKey"), "{error}");
        let error = decode_request::<ListInstances>(&[0]).expect_err("trailing byte");
        assert!(error.message.contains("trailing"), "{error}");
    }

    #[test]
    fn an_unknown_opcode_is_named_in_its_answer() {
        let error = unknown_opcode(Opcode(0xbeef));
        assert_eq!(error.code, ErrorCode::UnknownOperation);
        assert!(error.message.contains("0xbeef"), "{error}");
    }

    #[test]
    fn the_verb_is_the_last_word_of_the_command() {
        assert_eq!(DescribeKey::VERB, "describe");
        assert_eq!(OperationInfo::of::<DescribeKey>().command_line(), "key describe");
    }
}
