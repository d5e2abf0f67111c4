//! The p11kms wire: what crosses the data socket (PKCS#11 calls from
//! `libp11kms.so`) and the admin socket (the KMS API used by `p11kms`).
//!
//! Every message travels in a [`frame`]: a fixed, versioned header followed by
//! a body serialized with `postcard`. The body types live in [`data`] and
//! [`admin`]; the values they share with PKCS#11 in [`pkcs11`]; the admin
//! plane's error codes (the spec's, such as `Forbidden.KeyNotFound`) in
//! [`error`].
//!
//! Compatibility rule: within one major version, enums and structs only grow
//! at their end (postcard encodes enum variants by position), and a peer that
//! receives a variant it does not know answers with an error instead of
//! guessing. A change that breaks this rule bumps [`PROTOCOL_MAJOR`].
//!
//! This crate knows nothing of tokio, cryptoki or the store. Of sockets it
//! knows what both ends share: how to wait for the next frame on a Unix
//! socket and send one ([`socket`]).

pub mod admin;
pub mod audit;
pub mod blob;
pub mod bytes;
pub mod codec;
pub mod data;
pub mod error;
pub mod frame;
pub mod interval;
pub mod pkcs11;
pub mod secret;
pub mod socket;
pub mod timestamp;

pub use codec::{CodecError, decode_body, encode_body};
pub use error::{ApiError, CkRv, ErrorCode};
pub use frame::{FrameError, HEADER_LEN, Header, MAGIC, MAX_BODY_LEN, MessageKind};
pub use secret::{SecretBytes, SecretString};
pub use timestamp::Timestamp;

/// Major protocol version: peers with different majors do not talk.
pub const PROTOCOL_MAJOR: u8 = 1;
/// Minor protocol version: grows when messages are appended. 1: admin
/// calls carry explicit opcodes (`MessageKind::AdminCall`). 2: a secret's
/// value travels as `AttributeValue::Secret` (secrets as data objects).
pub const PROTOCOL_MINOR: u8 = 2;
