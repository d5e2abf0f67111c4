//! Body encoding: postcard over serde, one function each way, so that every
//! crate encodes bodies the same way and reports the same errors.

use serde::{Serialize, de::DeserializeOwned};

/// A body could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// Serialization failed (a bug on this side).
    #[error("cannot encode message body: {0}")]
    Encode(postcard::Error),
    /// The body is not a valid message of the expected type: corrupted, or
    /// from a newer peer that sent a variant this side does not know.
    #[error("malformed message body: {0}")]
    Decode(postcard::Error),
    /// The body would exceed the protocol's hard limit.
    #[error("message body of {0} bytes is over the protocol limit")]
    TooLong(usize),
    /// The body decoded but bytes were left over.
    #[error("message body has {0} trailing bytes")]
    TrailingBytes(usize),
}

/// Serializes a body.
pub fn encode_body<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    postcard::to_stdvec(value).map_err(CodecError::Encode)
}

/// Deserializes a body; trailing bytes are an error, not ignored.
pub fn decode_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(CodecError::Decode)?;
    if rest.is_empty() { Ok(value) } else { Err(CodecError::TrailingBytes(rest.len())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode_body(&5u32).expect("encodes");
        bytes.push(0);
        assert!(matches!(decode_body::<u32>(&bytes), Err(CodecError::TrailingBytes(1))));
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(matches!(decode_body::<String>(&[0xff, 0xff, 0xff]), Err(CodecError::Decode(_))));
    }
}
