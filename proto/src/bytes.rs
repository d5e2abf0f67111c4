//! Byte strings in messages: raw on the wire (postcard), base64 in
//! human-readable renderings (the CLI's `--json`), as the spec's API shows
//! `CiphertextBlob`, `Plaintext` and signatures.
//!
//! Every `Vec<u8>` in a message goes through here. Without it serde treats
//! the vector as a sequence and postcard handles it one byte at a time,
//! which made a 4 KiB payload cost microseconds on each side; as bytes it
//! is one copy. The encoding is the same either way (a varint length, then
//! the bytes), so peers built before this change still understand it.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serializer, de};

/// Serializes bytes as base64 for humans, raw for postcard.
pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    if serializer.is_human_readable() {
        serializer.serialize_str(&STANDARD.encode(bytes))
    } else {
        serializer.serialize_bytes(bytes)
    }
}

/// The inverse of [`serialize`].
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    if deserializer.is_human_readable() {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text.trim()).map_err(de::Error::custom)
    } else {
        deserializer.deserialize_byte_buf(ByteBufVisitor)
    }
}

struct ByteBufVisitor;

impl<'de> de::Visitor<'de> for ByteBufVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(b) = seq.next_element()? {
            out.push(b);
        }
        Ok(out)
    }
}

/// The same for an optional byte string (`#[serde(with = "crate::bytes::option")]`).
pub mod option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Bytes(#[serde(with = "crate::bytes")] Vec<u8>);

    /// Serializes `Some` bytes as [`super::serialize`] does.
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, serializer: S) -> Result<S::Ok, S::Error> {
        bytes.as_ref().map(|b| Bytes(b.clone())).serialize(serializer)
    }

    /// The inverse of [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u8>>, D::Error> {
        Ok(Option::<Bytes>::deserialize(deserializer)?.map(|b| b.0))
    }
}

/// Base64 text of bytes (standard alphabet, padded).
pub fn to_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Bytes of base64 text; surrounding whitespace is ignored.
pub fn from_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    STANDARD.decode(text.trim())
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(with = "crate::bytes")]
        value: Vec<u8>,
    }

    #[test]
    fn base64_for_json_and_raw_for_postcard() {
        let holder = Holder { value: vec![0, 1, 2, 250] };
        let json = serde_json::to_string(&holder).expect("json");
        assert_eq!(json, r#"{"value":"AAEC+g=="}"#);
        assert_eq!(serde_json::from_str::<Holder>(&json).expect("parses"), holder);
        let wire = postcard::to_stdvec(&holder).expect("postcard");
        assert_eq!(wire, vec![4, 0, 1, 2, 250]);
        assert_eq!(postcard::from_bytes::<Holder>(&wire).expect("decodes"), holder);
    }

    /// The wire promise: bytes encode exactly as a sequence of `u8` does,
    /// across the varint length boundaries, and decode from it.
    #[test]
    fn bytes_encode_like_a_sequence_of_u8() {
        #[derive(Serialize)]
        struct AsSequence {
            value: Vec<u8>,
        }
        for len in [0usize, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
            let value: Vec<u8> = (0..len).map(|i| (i % 256) as u8).collect();
            let sequence = postcard::to_stdvec(&AsSequence { value: value.clone() }).expect("sequence");
            let holder = Holder { value };
            assert_eq!(postcard::to_stdvec(&holder).expect("bytes"), sequence, "length {len}");
            assert_eq!(postcard::from_bytes::<Holder>(&sequence).expect("decodes"), holder, "length {len}");
        }
    }
}
