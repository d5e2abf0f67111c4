//! Intervals as users type them (`7d`, `12h`, `30m`, `3600s`, or plain
//! seconds) and as the spec's API shows them (`604800s`).

/// Parses an interval into seconds.
pub fn parse_interval(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("'{text}' is not an interval: use a number with s, m, h or d (e.g. 7d, 12h, 3600s)")),
    };
    let value: i64 =
        number.parse().map_err(|_| format!("'{text}' is not an interval: the number is missing or too large"))?;
    value.checked_mul(scale).ok_or_else(|| format!("'{text}' is too long an interval"))
}

/// The spec's rendering of an interval: seconds with an `s`.
pub fn format_interval(seconds: i64) -> String {
    format!("{seconds}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_in_every_unit() {
        assert_eq!(parse_interval("7d"), Ok(604_800));
        assert_eq!(parse_interval("12h"), Ok(43_200));
        assert_eq!(parse_interval("30m"), Ok(1_800));
        assert_eq!(parse_interval("3600s"), Ok(3_600));
        assert_eq!(parse_interval("90"), Ok(90));
        for bad in ["", "d", "7w", "-1d", "1.5d", "99999999999999999999d"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
        assert_eq!(format_interval(604_800), "604800s");
        assert_eq!(parse_interval(&format_interval(1234)), Ok(1234));
    }
}
