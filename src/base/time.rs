//! Capture timestamps with the precision the capture recorded.
//!
//! Timestamps are kept as integer seconds + nanoseconds so that latencies
//! computed from them are exact (an `f64` of epoch seconds cannot hold
//! nanoseconds), and they are printed with exactly the digits the capture
//! had: 6 for microsecond captures, 9 for nanosecond ones.

use std::cmp::Ordering;
use std::fmt;

/// A point in time as recorded by the capture.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timestamp {
    /// Whole seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second, always `< 1_000_000_000`.
    pub nanos: u32,
    /// Fraction digits the source recorded (6 = µs, 9 = ns); used only for printing.
    pub digits: u8,
}

impl Timestamp {
    /// Builds a timestamp, normalising `nanos` overflow into `secs`.
    pub fn new(secs: i64, nanos: u64, digits: u8) -> Self {
        let extra = (nanos / 1_000_000_000) as i64;
        Timestamp {
            secs: secs.saturating_add(extra),
            nanos: (nanos % 1_000_000_000) as u32,
            digits: digits.clamp(0, 9),
        }
    }

    /// Nanoseconds since the epoch as a wide integer (no precision loss).
    pub fn as_nanos(&self) -> i128 {
        self.secs as i128 * 1_000_000_000 + self.nanos as i128
    }

    /// `self - earlier` in nanoseconds (negative if `earlier` is later).
    pub fn nanos_since(&self, earlier: &Timestamp) -> i128 {
        self.as_nanos() - earlier.as_nanos()
    }

    /// `self - earlier` in milliseconds, the unit every latency is reported in.
    pub fn millis_since(&self, earlier: &Timestamp) -> f64 {
        self.nanos_since(earlier) as f64 / 1_000_000.0
    }

    /// Seconds since the epoch as a float, for relative-time display only.
    pub fn as_secs_f64(&self) -> f64 {
        self.secs as f64 + self.nanos as f64 / 1e9
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.secs == other.secs && self.nanos == other.nanos
    }
}
impl Eq for Timestamp {}
impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.secs, self.nanos).cmp(&(other.secs, other.nanos))
    }
}

impl fmt::Display for Timestamp {
    /// `1795567362.869821` — seconds with the capture's own number of digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.digits.min(9) as u32;
        if digits == 0 {
            return write!(f, "{}", self.secs);
        }
        let frac = self.nanos / 10u32.pow(9 - digits);
        if self.secs < 0 && self.nanos > 0 {
            // Rare (pre-1970 timestamps): fall back to a float rather than a wrong sign.
            return write!(f, "{:.*}", digits as usize, self.as_secs_f64());
        }
        write!(f, "{}.{:0width$}", self.secs, frac, width = digits as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_with_capture_precision() {
        assert_eq!(
            Timestamp::new(1795567362, 869_821_000, 6).to_string(),
            "1795567362.869821"
        );
        assert_eq!(Timestamp::new(1, 5, 9).to_string(), "1.000000005");
        assert_eq!(Timestamp::new(1, 1_500_000_000, 6).to_string(), "2.500000");
    }

    #[test]
    fn differences_are_exact() {
        let a = Timestamp::new(10, 999_999_999, 9);
        let b = Timestamp::new(11, 1, 9);
        assert_eq!(b.nanos_since(&a), 2);
        assert!((b.millis_since(&a) - 0.000002).abs() < 1e-12);
        assert!(a < b);
    }
}

/// `2026-11-25 15:22:42.869` (UTC), for the human report.
pub fn format_utc(ts: &Timestamp, frac_digits: usize) -> String {
    let days = ts.secs.div_euclid(86_400);
    let rem = ts.secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let frac = match frac_digits.min(9) {
        0 => String::new(),
        n => format!(".{:0width$}", ts.nanos / 10u32.pow(9 - n as u32), width = n),
    };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}{frac}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(
            format_utc(&Timestamp::new(0, 0, 6), 0),
            "1970-01-01 00:00:00"
        );
        // 2026-11-25 15:22:42.869821 UTC
        assert_eq!(
            format_utc(&Timestamp::new(1_795_620_162, 869_821_000, 6), 3),
            "2026-11-25 15:22:42.869"
        );
        assert_eq!(
            format_utc(&Timestamp::new(951_782_400, 0, 6), 0),
            "2000-02-29 00:00:00"
        );
    }
}
