//! Numbers as the page prints them. The ones printed per bucket are
//! `Display` values, written straight into the page (no string each).

use std::fmt;

/// A latency or duration in nanoseconds: `850 ns`, `12.5 µs`, `1.255 ms`,
/// `12.3 ms`, `1.50 s`, `1:02:03`.
pub struct Dur(pub u64);

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        let v = ns as f64;
        if ns < 1_000 {
            write!(f, "{ns} ns")
        } else if ns < 1_000_000 {
            write!(f, "{:.1} µs", v / 1e3)
        } else if ns < 10_000_000 {
            write!(f, "{:.3} ms", v / 1e6)
        } else if ns < 1_000_000_000 {
            write!(f, "{:.1} ms", v / 1e6)
        } else if ns < 120_000_000_000 {
            write!(f, "{:.2} s", v / 1e9)
        } else {
            let s = ns / 1_000_000_000;
            write!(f, "{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
        }
    }
}

/// [`Dur`] as a string.
pub fn ms_text(ns: u64) -> String {
    Dur(ns).to_string()
}

/// A latency given in (fractional) milliseconds, as [`ms_text`].
pub fn ms_f(ms: f64) -> String {
    if ms.is_finite() && ms >= 0.0 {
        ms_text((ms * 1e6).round() as u64)
    } else {
        "–".into()
    }
}

/// A time since the capture's start, `+1.234 s`, with as many digits as a
/// span of `span_ns` needs to tell its points apart (0: the most).
pub struct Offset {
    pub ns: i128,
    pub span_ns: i128,
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.ns < 0 { "−" } else { "+" };
        let a = (self.ns as f64 / 1e9).abs();
        match self.span_ns {
            0 => write!(f, "{sign}{a:.6} s"),
            x if x < 10_000_000 => write!(f, "{sign}{:.3} ms", a * 1e3),
            x if x < 100_000_000_000 => write!(f, "{sign}{a:.3} s"),
            _ => write!(f, "{sign}{a:.1} s"),
        }
    }
}

/// [`Offset`] as a string.
pub fn offset_text(ns: i128, span_ns: i128) -> String {
    Offset { ns, span_ns }.to_string()
}

/// `21.6 KB`.
pub fn bytes_text(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `1 connection` / `3 connections`.
pub fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_numbers() {
        assert_eq!(ms_text(850), "850 ns");
        assert_eq!(ms_text(12_500), "12.5 µs");
        assert_eq!(ms_text(255_000), "255.0 µs");
        assert_eq!(ms_text(1_255_000), "1.255 ms");
        assert_eq!(ms_text(12_300_000), "12.3 ms");
        assert_eq!(ms_text(1_500_000_000), "1.50 s");
        assert_eq!(ms_text(3_723_000_000_000), "1:02:03");
        assert_eq!(ms_f(0.163), "163.0 µs");
        assert_eq!(ms_f(f64::NAN), "–");
        assert_eq!(offset_text(1_234_567_000, 5_000_000_000), "+1.235 s");
        assert_eq!(offset_text(1_234_567, 5_000_000), "+1.235 ms");
        assert_eq!(bytes_text(21_600), "21.6 KB");
        assert_eq!(bytes_text(999), "999 B");
        assert_eq!(plural(1, "error"), "1 error");
        assert_eq!(plural(2, "error"), "2 errors");
    }
}
