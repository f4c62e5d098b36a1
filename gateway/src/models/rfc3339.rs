//! Timestamps in response bodies, written by hand with exactly chrono's serde output
//! (`2026-12-02T06:01:28.123456Z`: the fraction in 0, 3, 6 or 9 digits, whichever shows the
//! nanoseconds exactly, and `Z`).
//!
//! chrono's `Serialize` formats through `core::fmt` (`collect_str`), which was about a fifth of
//! the gateway's instructions for a page of 20 projects or tasks (BENCHMARKS.md, "Instructions per
//! request"); this writes the same bytes into a stack buffer. Years outside 0..=9999 and leap
//! seconds, which chrono writes differently, are left to chrono. Use on response fields:
//! `#[serde(serialize_with = "rfc3339::write")]` (or `write_opt` for an `Option`).

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serializer;

/// Serializes `t` as chrono would, without `core::fmt`.
pub fn write<S: Serializer>(t: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 30];
    match format(t, &mut buf) {
        Some(text) => serializer.serialize_str(text),
        None => serde::Serialize::serialize(t, serializer),
    }
}

/// [`write`] for an optional timestamp (`null` when `None`).
pub fn write_opt<S: Serializer>(t: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => write(t, serializer),
        None => serializer.serialize_none(),
    }
}

/// The text of `t` in `buf`; `None` when chrono's own formatting must be used.
fn format<'a>(t: &DateTime<Utc>, buf: &'a mut [u8; 30]) -> Option<&'a str> {
    let year = t.year();
    let nanos = t.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut put = |at: usize, value: u32, width: usize| {
        let mut v = value;
        for i in (0..width).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, t.month(), 2);
    put(8, t.day(), 2);
    put(11, t.hour(), 2);
    put(14, t.minute(), 2);
    put(17, t.second(), 2);
    let (digits, fraction) = if nanos == 0 {
        (0, 0)
    } else if nanos.is_multiple_of(1_000_000) {
        (3, nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        (6, nanos / 1_000)
    } else {
        (9, nanos)
    };
    let mut end = 19;
    if digits > 0 {
        put(20, fraction, digits);
        end = 20 + digits;
    }
    buf[4] = b'-';
    buf[7] = b'-';
    buf[10] = b'T';
    buf[13] = b':';
    buf[16] = b':';
    buf[19] = b'.';
    buf[end] = b'Z';
    std::str::from_utf8(&buf[..=end]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Ours(#[serde(serialize_with = "write")] DateTime<Utc>);

    fn same(t: DateTime<Utc>) {
        let theirs = serde_json::to_string(&t).expect("chrono");
        let ours = serde_json::to_string(&Ours(t)).expect("ours");
        assert_eq!(ours, theirs, "{t:?}");
    }

    #[test]
    fn writes_exactly_what_chrono_writes() {
        let base = DateTime::from_timestamp(1_764_655_288, 0).expect("time");
        for nanos in [0, 1, 999, 1_000, 123_000, 123_456_000, 120_000_000, 100_000_000, 999_999_999, 5] {
            same(base.with_nanosecond(nanos).expect("nanos"));
        }
        for seconds in [0_i64, 59, 951_782_400, 4_102_444_799, -62_167_219_200, 253_402_300_799, -1] {
            same(DateTime::from_timestamp(seconds, 0).expect("time"));
            same(DateTime::from_timestamp(seconds, 7_000).expect("time"));
        }
        // Random instants across years 0..=9999 at every precision.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let seconds = -62_167_219_200 + (x % 315_537_897_600) as i64;
            let nanos = match x % 4 {
                0 => 0,
                1 => (x >> 8) as u32 % 1000 * 1_000_000,
                2 => (x >> 8) as u32 % 1_000_000 * 1000,
                _ => (x >> 8) as u32 % 1_000_000_000,
            };
            same(DateTime::from_timestamp(seconds, nanos).expect("time"));
        }
    }

    #[test]
    fn leaves_other_years_and_leap_seconds_to_chrono() {
        same(DateTime::from_timestamp(253_402_300_800, 0).expect("year 10000"));
        same(DateTime::from_timestamp(-62_167_219_201, 0).expect("year -1"));
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .expect("leap second")
            .and_utc();
        same(leap);
        let none: Option<DateTime<Utc>> = None;
        #[derive(serde::Serialize)]
        struct Opt(#[serde(serialize_with = "write_opt")] Option<DateTime<Utc>>);
        assert_eq!(serde_json::to_string(&Opt(none)).expect("none"), "null");
        assert_eq!(
            serde_json::to_string(&Opt(Some(leap))).expect("some"),
            serde_json::to_string(&leap).expect("c")
        );
    }
}
