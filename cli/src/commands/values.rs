//! Parsers for argument values shared by several commands: proto's named
//! enums (`EC_P256`), tags (`K=V`), intervals (`30d`), encryption contexts
//! (a JSON object of strings), base64 byte strings and RFC 3339 times. Each
//! gives a message that says what is wrong and what is expected.

use std::str::FromStr;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use p11kms_proto::Timestamp;
use p11kms_proto::admin::Tag;
use p11kms_proto::blob::EncryptionContext;
use p11kms_proto::bytes::from_base64;
use p11kms_proto::interval::parse_interval;

/// A clap value parser for one of proto's named enums (`KeySpec`,
/// `KeyUsage`, …): accepts the spellings users type, in any case, and lists
/// them in `--help` and in the error for a value that is not one of them.
pub fn named_value<T>(all: &'static [T], name: fn(T) -> &'static str) -> impl TypedValueParser<Value = T>
where
    T: FromStr<Err = String> + Copy + Send + Sync + 'static,
{
    NamedValue { all, name }
}

/// See [`named_value`]: the enum's own parsing (any case) first; clap's
/// list of the spellings for the error and for `--help`.
#[derive(Clone)]
struct NamedValue<T: 'static> {
    all: &'static [T],
    name: fn(T) -> &'static str,
}

impl<T> TypedValueParser for NamedValue<T>
where
    T: FromStr<Err = String> + Copy + Send + Sync + 'static,
{
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        // Only the values this argument takes (some take part of an enum).
        let allowed = |parsed: &T| self.all.iter().any(|v| (self.name)(*v) == (self.name)(*parsed));
        if let Some(parsed) = value.to_str().and_then(|text| text.parse::<T>().ok()).filter(allowed) {
            return Ok(parsed);
        }
        // Not one of them: clap's parser says so, listing the spellings.
        let spelled = PossibleValuesParser::new(self.all.iter().map(|v| (self.name)(*v))).parse_ref(cmd, arg, value)?;
        spelled.parse::<T>().map_err(|message| clap::Error::raw(clap::error::ErrorKind::InvalidValue, message))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(self.all.iter().map(|v| clap::builder::PossibleValue::new((self.name)(*v)))))
    }
}

/// `KEY=VALUE` as a tag (the value may be empty, the key may not; the
/// value is everything after the first `=`).
pub fn tag(text: &str) -> Result<Tag, String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok(Tag { tag_key: key.to_owned(), tag_value: value.to_owned() }),
        _ => Err(format!("'{text}' is not a tag: use KEY=VALUE, with a KEY")),
    }
}

/// An interval (`7d`, `12h`, `3600s`) in seconds.
pub fn interval(text: &str) -> Result<i64, String> {
    parse_interval(text)
}

/// An encryption context: a JSON object whose values are strings.
pub fn context(text: &str) -> Result<EncryptionContext, String> {
    serde_json::from_str(text).map_err(|e| {
        format!("'{text}' is not an encryption context (a JSON object of strings, e.g. {{\"k\":\"v\"}}): {e}")
    })
}

/// Bytes given as base64 on the command line. A newtype, because clap
/// reads a `Vec<u8>` field as a list of numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

/// Bytes given in base64.
pub fn base64(text: &str) -> Result<Bytes, String> {
    from_base64(text).map(Bytes).map_err(|e| format!("not valid base64: {e}"))
}

/// The switch and interval of the `update-rotation-policy` commands (of
/// keys and of secrets): enable (with an interval, unless one is set), or
/// disable.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("rotation").required(true).args(["enable_automatic_rotation", "disable_automatic_rotation"]))]
pub struct RotationPolicyArg {
    /// Rotate on a schedule.
    #[arg(long)]
    pub enable_automatic_rotation: bool,
    /// Stop rotating (the interval is kept).
    #[arg(long)]
    pub disable_automatic_rotation: bool,
    /// Rotation interval: 7d to 365d for a key, 6h to 365d for a secret (also 12h, 3600s).
    #[arg(long, value_name = "INTERVAL", value_parser = interval)]
    pub rotation_interval: Option<i64>,
}

/// An RFC 3339 time.
pub fn time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text)
        .map_err(|e| format!("'{text}' is not an RFC 3339 time (e.g. 2027-01-01T00:00:00Z): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_values_take_any_case_and_list_the_spellings_otherwise() {
        use p11kms_proto::admin::BackupType;
        let command = clap::Command::new("t")
            .arg(clap::Arg::new("ty").long("ty").value_parser(named_value(BackupType::ALL, BackupType::as_str)));
        for typed in ["retained", "Retained", "RETAINED"] {
            let matches = command.clone().try_get_matches_from(["t", "--ty", typed]).expect("parsed");
            assert_eq!(matches.get_one::<BackupType>("ty"), Some(&BackupType::Retained), "{typed}");
        }
        let error = command.try_get_matches_from(["t", "--ty", "weekly"]).expect_err("refused").to_string();
        assert!(error.contains("weekly") && error.contains("retained") && error.contains("system"), "{error}");
    }

    #[test]
    fn values_parse_or_explain() {
        assert_eq!(tag("team=payments").expect("tag"), Tag { tag_key: "team".into(), tag_value: "payments".into() });
        assert_eq!(tag("empty=").expect("tag").tag_value, "");
        assert_eq!(tag("url=a=b").expect("tag").tag_value, "a=b");
        assert!(tag("nope").expect_err("no =").contains("KEY=VALUE"));
        assert!(tag("=v").expect_err("no key").contains("KEY=VALUE"));
        assert_eq!(interval("30d"), Ok(2_592_000));
        assert!(interval("30x").is_err());
        assert_eq!(context(r#"{"a":"1"}"#).expect("context").get("a").map(String::as_str), Some("1"));
        assert!(context(r#"{"a":1}"#).is_err(), "values are strings");
        assert!(context("[]").is_err());
        assert!(context("{").expect_err("not JSON").contains("a JSON object of strings"));
        assert!(interval("").is_err());
        assert_eq!(base64("AAE=").expect("b64"), Bytes(vec![0, 1]));
        assert!(base64("%%").is_err());
        assert_eq!(time("1970-01-01T00:01:00Z").expect("time"), Timestamp(60));
    }
}
