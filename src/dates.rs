//! Dates as LiveChat sends them (unix seconds or ms, as numbers or strings, ISO 8601) and as
//! flows see them: RFC 3339 UTC with milliseconds.

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Formats unix milliseconds as `yyyy-MM-ddTHH:mm:ss.fffZ`.
pub fn format_ms(ms: i64) -> Option<String> {
    let mut out = Vec::with_capacity(24);
    push_ms(&mut out, ms).then(|| String::from_utf8(out).ok())?
}

/// Appends `format_ms(ms)` to `out`; false (and nothing appended) when no date has it. The
/// years 0..=9999 are computed by hand (a 25 KB ticket carries about 60 dates, and `time`'s
/// calendar and formatter took most of its rewrite); `time` formats the rest.
pub fn push_ms(out: &mut Vec<u8>, ms: i64) -> bool {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        let formatted = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .ok()
            .and_then(format_with_time);
        return formatted
            .map(|s| out.extend_from_slice(s.as_bytes()))
            .is_some();
    }
    // In range every field fits a u32; two digits at a time, each pair one division by 10.
    let (year, month, day) = (year as u32, month as u32, day as u32);
    let in_day = in_day as u32;
    let (secs, milli) = (in_day / 1000, in_day % 1000);
    let mut text = *b"0000-00-00T00:00:00.000Z";
    for (at, n) in [
        (0, year / 100),
        (2, year % 100),
        (5, month),
        (8, day),
        (11, secs / 3600),
        (14, secs / 60 % 60),
        (17, secs % 60),
        (21, milli % 100),
    ] {
        text[at..at + 2].copy_from_slice(&two_digits(n));
    }
    text[20] = b'0' + (milli / 100) as u8;
    out.extend_from_slice(&text);
    true
}

/// `n` (below 100) as two ASCII digits.
fn two_digits(n: u32) -> [u8; 2] {
    [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn format_with_time(t: OffsetDateTime) -> Option<String> {
    let f =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.format(&f).ok()
}

/// Any date LiveChat sends (unix seconds or ms as number or string, ISO 8601) as unix ms.
/// `0` means "never" in LiveChat's answers and yields `None`.
pub fn parse_ms(v: &Value) -> Option<i64> {
    let from_number = |n: f64| -> Option<i64> {
        if !n.is_finite() || n <= 0.0 {
            return None;
        }
        // Seconds until the year 5138; anything larger is already milliseconds.
        Some(if n < 1e11 {
            (n * 1000.0).round() as i64
        } else {
            n.round() as i64
        })
    };
    match v {
        Value::Number(n) => from_number(n.as_f64()?),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<f64>() {
                return from_number(n);
            }
            if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
                return Some((t.unix_timestamp_nanos() / 1_000_000) as i64);
            }
            let naive =
                format_description!("[year]-[month]-[day][first [T][ ]][hour]:[minute]:[second]");
            PrimitiveDateTime::parse(s, &naive)
                .ok()
                .map(|t| (t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
        }
        _ => None,
    }
}

/// Rewrites `obj[key]` as an RFC 3339 date-time; removes it when it is "never" or unreadable.
pub fn date_field(obj: &mut Map<String, Value>, key: &str) {
    let Some(v) = obj.get(key) else { return };
    match parse_ms(v).and_then(format_ms) {
        Some(s) => {
            obj.insert(key.to_string(), Value::String(s));
        }
        None => {
            if !(v.is_null() || v == &Value::from(0) || v == &Value::from("0")) {
                log::warn!("dropping unreadable date-time in field `{key}`");
            }
            obj.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        /// The hand-written format is `time`'s, for every instant `time` can hold.
        #[test]
        fn formats_as_time_does(ms in -377_705_116_800_000i64..253_402_300_800_000) {
            let t = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap();
            prop_assert_eq!(format_ms(ms), format_with_time(t));
        }

        /// Whatever the number, no panic, and a date only where `time` has one.
        #[test]
        fn formats_any_number_or_refuses(ms in any::<i64>()) {
            let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000);
            prop_assert_eq!(format_ms(ms).is_some(), t.is_ok());
        }
    }

    #[test]
    fn dates_from_every_shape() {
        let want = "2013-11-18T15:26:42.000Z";
        for v in [
            json!(1384788402),
            json!("1384788402"),
            json!(1384788402000i64),
            json!("2013-11-18T15:26:42Z"),
            json!("2013-11-18T16:26:42+01:00"),
            json!("2013-11-18 15:26:42"),
        ] {
            assert_eq!(
                parse_ms(&v).and_then(format_ms).as_deref(),
                Some(want),
                "{v}"
            );
        }
        assert_eq!(parse_ms(&json!(0)), None);
        assert_eq!(parse_ms(&json!("soon")), None);
        assert_eq!(format_ms(1_500).unwrap(), "1970-01-01T00:00:01.500Z");
    }
}
