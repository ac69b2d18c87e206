//! Turning a capture's timestamp units into [`Timestamp`]s without losing precision.
//!
//! pcap files count micro- or nanoseconds; pcapng interfaces may declare any
//! power of ten or of two per second (`if_tsresol`). Conversions are exact
//! integer arithmetic (rounded down to the nanosecond for units finer than
//! that or not a divisor of a second), never floating point.

use crate::base::Timestamp;

/// Ticks per second and the fraction digits worth printing for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resolution {
    ticks_per_sec: u64,
    digits: u8,
}

impl Resolution {
    pub const MICROS: Resolution = Resolution {
        ticks_per_sec: 1_000_000,
        digits: 6,
    };
    pub const NANOS: Resolution = Resolution {
        ticks_per_sec: 1_000_000_000,
        digits: 9,
    };

    /// Decodes the pcapng `if_tsresol` byte: high bit clear = 10^-n s, set = 2^-n s.
    /// `None` when the unit cannot be represented (more than 2^64 ticks per second).
    pub fn from_tsresol(byte: u8) -> Option<Resolution> {
        let exponent = u32::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            let ticks_per_sec = 10u64.checked_pow(exponent)?;
            let digits = exponent.min(9) as u8;
            Some(Resolution {
                ticks_per_sec,
                digits,
            })
        } else {
            let ticks_per_sec = 1u64.checked_shl(exponent).filter(|_| exponent < 64)?;
            // Enough decimal digits to tell two adjacent ticks apart.
            let mut digits = 0u8;
            while digits < 9 && 10u64.pow(u32::from(digits)) < ticks_per_sec {
                digits += 1;
            }
            Some(Resolution {
                ticks_per_sec,
                digits,
            })
        }
    }

    pub fn digits(self) -> u8 {
        self.digits
    }

    /// A tick count since the epoch (plus a whole-second offset) as a timestamp.
    pub fn timestamp(self, ticks: u64, offset_secs: i64) -> Timestamp {
        let per_sec = self.ticks_per_sec.max(1);
        let secs = i64::try_from(ticks / per_sec).unwrap_or(i64::MAX);
        let frac = ticks % per_sec;
        let nanos = if 1_000_000_000u64.is_multiple_of(per_sec) {
            frac * (1_000_000_000 / per_sec)
        } else if per_sec.is_multiple_of(1_000_000_000) {
            frac / (per_sec / 1_000_000_000)
        } else {
            // frac < per_sec, so the quotient is < 10^9 and fits.
            (u128::from(frac) * 1_000_000_000 / u128::from(per_sec)) as u64
        };
        Timestamp::new(secs.saturating_add(offset_secs), nanos, self.digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(ts: Timestamp) -> (i64, u32, u8) {
        (ts.secs, ts.nanos, ts.digits)
    }

    #[test]
    fn powers_of_ten() {
        let us = Resolution::from_tsresol(6).unwrap();
        assert_eq!(us, Resolution::MICROS);
        assert_eq!(
            parts(us.timestamp(1_500_000_123_456, 0)),
            (1_500_000, 123_456_000, 6)
        );
        let ns = Resolution::from_tsresol(9).unwrap();
        assert_eq!(parts(ns.timestamp(1_000_000_007, 5)), (6, 7, 9));
        let ps = Resolution::from_tsresol(12).unwrap();
        assert_eq!(parts(ps.timestamp(2_000_000_001_999, 0)), (2, 1, 9));
        let s = Resolution::from_tsresol(0).unwrap();
        assert_eq!(parts(s.timestamp(42, 0)), (42, 0, 0));
        assert_eq!(Resolution::from_tsresol(19).map(|r| r.digits()), Some(9));
        assert_eq!(Resolution::from_tsresol(20), None);
    }

    #[test]
    fn powers_of_two() {
        let r = Resolution::from_tsresol(0x80 | 10).unwrap();
        assert_eq!(r.digits(), 4);
        // 3 s + 1/1024 s = 976562.5 ns, rounded down.
        assert_eq!(parts(r.timestamp(3 * 1024 + 1, 0)), (3, 976_562, 4));
        let r = Resolution::from_tsresol(0x80 | 30).unwrap();
        assert_eq!(r.digits(), 9);
        assert_eq!(
            parts(r.timestamp((1 << 30) + (1 << 29), 0)),
            (1, 500_000_000, 9)
        );
        let r = Resolution::from_tsresol(0x80 | 63).unwrap();
        assert_eq!(parts(r.timestamp(u64::MAX, 0)).0, 1);
        assert_eq!(Resolution::from_tsresol(0x80 | 64), None);
    }

    #[test]
    fn huge_tick_counts_saturate_instead_of_wrapping() {
        let s = Resolution::from_tsresol(0).unwrap();
        assert_eq!(s.timestamp(u64::MAX, i64::MAX).secs, i64::MAX);
    }
}
