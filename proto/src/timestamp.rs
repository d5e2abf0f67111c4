//! Points in time on the wire: whole seconds since the Unix epoch in UTC.
//! postcard carries them as integers; human-readable formats (the CLI's
//! `--json`) show RFC 3339, as the spec's API responses do.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// Seconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// From Unix seconds.
    pub const fn from_unix(seconds: i64) -> Self {
        Self(seconds)
    }

    /// Unix seconds.
    pub const fn unix(self) -> i64 {
        self.0
    }

    /// This instant moved by `seconds` (saturating).
    pub const fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds))
    }

    /// RFC 3339 in UTC, e.g. `2026-11-22T10:00:00Z`.
    pub fn to_rfc3339(self) -> String {
        OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| self.0.to_string())
    }

    /// Parses RFC 3339 (any offset; stored as UTC seconds).
    pub fn parse_rfc3339(text: &str) -> Result<Self, time::error::Parse> {
        Ok(Self(OffsetDateTime::parse(text, &Rfc3339)?.unix_timestamp()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_rfc3339())
        } else {
            serializer.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            Self::parse_rfc3339(&text).map_err(de::Error::custom)
        } else {
            Ok(Self(i64::deserialize(deserializer)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shows_rfc3339_and_postcard_an_integer() {
        let t = Timestamp(1_700_000_000);
        assert_eq!(serde_json::to_string(&t).expect("json"), "\"2023-11-14T22:13:20Z\"");
        let back: Timestamp = serde_json::from_str("\"2023-11-14T23:13:20+01:00\"").expect("parses");
        assert_eq!(back, t);
        let bytes = postcard::to_stdvec(&t).expect("postcard");
        assert_eq!(postcard::from_bytes::<Timestamp>(&bytes).expect("decodes"), t);
    }
}
