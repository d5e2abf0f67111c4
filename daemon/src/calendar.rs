//! The backups' calendar: which day a second belongs to, and where a day
//! starts, in the time zone `[backups] time_zone` names (the spec's
//! "region's time zone", UTC by default). The daily full is at the first
//! second of each day, `backup show --date` and `restore-key --date` name
//! days of this calendar, and viewable days count them.
//!
//! Days are civil days of the zone: where it keeps daylight saving time,
//! one day a year lasts 23 hours and one 25. A day is numbered as the
//! days from 1970-01-01 to its date, whatever the zone, so two seconds
//! are on the same day exactly when their numbers are equal. The zone's
//! rules come from the system's time zone database (`/usr/share/zoneinfo`,
//! read by the `jiff` crate; `docs/dependencies.md`).

use std::fmt;

use jiff::tz::{Offset, TimeZone};
use serde::Deserialize;

use p11kms_proto::Timestamp;

/// Seconds of a day of UTC.
const UTC_DAY: i64 = 86_400;

/// A time zone, by the name the configuration gives it.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Calendar {
    name: String,
    zone: TimeZone,
}

impl fmt::Debug for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Calendar").field(&self.name).finish()
    }
}

impl Default for Calendar {
    fn default() -> Self {
        Self::utc()
    }
}

impl TryFrom<String> for Calendar {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        Self::named(&name)
    }
}

/// Days from 1970-01-01 to `year-month-day` of the proleptic Gregorian
/// calendar (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `+HH:MM` or `-HH:MM`, at most 14 hours, as seconds east of UTC.
fn fixed_offset(text: &str) -> Option<i32> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    (hours <= 14 && minutes < 60 && hours * 60 + minutes <= 14 * 60).then_some(sign * (hours * 3600 + minutes * 60))
}

impl Calendar {
    /// UTC.
    pub fn utc() -> Self {
        Self { name: "UTC".into(), zone: TimeZone::UTC }
    }

    /// The zone `name`: `UTC`, a fixed offset (`+08:00`), or a name of
    /// the time zone database (`Asia/Shanghai`, `Europe/Berlin`).
    pub fn named(name: &str) -> Result<Self, String> {
        if name.eq_ignore_ascii_case("utc") || name == "Z" {
            return Ok(Self::utc());
        }
        let zone = match fixed_offset(name) {
            Some(seconds) => Offset::from_seconds(seconds).map(TimeZone::fixed).map_err(|e| e.to_string())?,
            None if name.starts_with(['+', '-']) => {
                return Err(format!("'{name}': an offset is +HH:MM or -HH:MM, at most 14 hours"));
            }
            None => TimeZone::get(name).map_err(|e| {
                format!("'{name}' is not UTC, an offset (+08:00) or a zone of the system's time zone database: {e}")
            })?,
        };
        Ok(Self { name: name.to_owned(), zone })
    }

    /// The name it was given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The day of second `t`.
    pub fn day(&self, t: Timestamp) -> i64 {
        match jiff::Timestamp::from_second(t.unix()) {
            Ok(at) => {
                let date = at.to_zoned(self.zone.clone()).date();
                days_from_civil(i64::from(date.year()), i64::from(date.month()), i64::from(date.day()))
            }
            // Outside jiff's years (-9999 to 9999): UTC's days.
            Err(_) => t.unix().div_euclid(UTC_DAY),
        }
    }

    /// The first second of day `day` (its 00:00, or the first second
    /// after it when a change of offset skips midnight).
    pub fn start(&self, day: i64) -> Timestamp {
        let (year, month, date) = civil_from_days(day);
        let start = (|| {
            let civil =
                jiff::civil::Date::new(i16::try_from(year).ok()?, i8::try_from(month).ok()?, i8::try_from(date).ok()?)
                    .ok()?;
            Some(civil.to_zoned(self.zone.clone()).ok()?.start_of_day().ok()?.timestamp().as_second())
        })();
        Timestamp(start.unwrap_or(day * UTC_DAY))
    }

    /// The first second after day `day`.
    pub fn end(&self, day: i64) -> Timestamp {
        self.start(day + 1)
    }

    /// The day `date` (`YYYY-MM-DD`) names, or why it names none.
    pub fn parse(&self, date: &str) -> Result<i64, String> {
        let bad = || format!("'{date}' is not a date: use YYYY-MM-DD");
        let bytes = date.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(bad());
        }
        let number = |range: std::ops::Range<usize>| date.get(range).and_then(|p| p.parse::<i64>().ok());
        let (year, month, day) = (number(0..4).ok_or_else(bad)?, number(5..7).ok_or_else(bad)?, number(8..10));
        let day = day.ok_or_else(bad)?;
        let days = days_from_civil(year, month, day);
        if !(1..=12).contains(&month) || civil_from_days(days) != (year, month, day) {
            return Err(bad());
        }
        Ok(days)
    }

    /// The date of day `day`, `YYYY-MM-DD`.
    pub fn date(&self, day: i64) -> String {
        let (year, month, date) = civil_from_days(day);
        format!("{year:04}-{month:02}-{date:02}")
    }

    /// The date of second `t`.
    pub fn date_of(&self, t: Timestamp) -> String {
        self.date(self.day(t))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).expect("a time")
    }

    #[test]
    fn civil_days_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn utc_days_are_86400_seconds_from_midnight() {
        let utc = Calendar::utc();
        let day = utc.parse("2026-12-05").expect("a date");
        assert_eq!(utc.start(day), at("2026-12-05T00:00:00Z"));
        assert_eq!(utc.end(day).unix() - utc.start(day).unix(), 86_400);
        assert_eq!(utc.day(at("2026-12-05T23:59:59Z")), day);
        assert_eq!(utc.day(at("2026-12-06T00:00:00Z")), day + 1);
        assert_eq!(utc.date(day), "2026-12-05");
    }

    #[test]
    fn a_fixed_offset_moves_midnight() {
        let shanghai = Calendar::named("+08:00").expect("an offset");
        let day = shanghai.parse("2026-12-05").expect("a date");
        assert_eq!(shanghai.start(day), at("2026-12-04T16:00:00Z"));
        assert_eq!(shanghai.date_of(at("2026-12-04T16:00:00Z")), "2026-12-05");
        assert_eq!(shanghai.date_of(at("2026-12-04T15:59:59Z")), "2026-12-04");
        let west = Calendar::named("-05:30").expect("an offset");
        assert_eq!(west.start(west.parse("2026-12-05").unwrap()), at("2026-12-05T05:30:00Z"));
    }

    #[test]
    fn a_zone_with_daylight_saving_has_days_of_23_and_25_hours() {
        let berlin = Calendar::named("Europe/Berlin").expect("in the system's database");
        let length = |date: &str| {
            let day = berlin.parse(date).unwrap();
            berlin.end(day).unix() - berlin.start(day).unix()
        };
        assert_eq!(length("2026-03-29"), 23 * 3600, "the spring change");
        assert_eq!(length("2026-10-25"), 25 * 3600, "the autumn change");
        assert_eq!(length("2026-12-05"), 24 * 3600);
        assert_eq!(berlin.start(berlin.parse("2026-07-01").unwrap()), at("2026-06-30T22:00:00Z"));
    }

    #[test]
    fn bad_zones_and_dates_are_refused_with_the_reason() {
        for bad in ["Mars/Olympus", "+15:00", "+8", "08:00", ""] {
            assert!(Calendar::named(bad).is_err(), "{bad}");
        }
        let utc = Calendar::utc();
        for bad in ["2026-02-30", "2026-13-01", "26-12-05", "2026/12/05", "2026-1-05"] {
            assert!(utc.parse(bad).unwrap_err().contains("YYYY-MM-DD"), "{bad}");
        }
        let parsed: Calendar = toml::from_str::<std::collections::BTreeMap<String, Calendar>>("z = \"Asia/Shanghai\"")
            .expect("a zone")
            .remove("z")
            .expect("z");
        assert_eq!(parsed.name(), "Asia/Shanghai");
    }
}
