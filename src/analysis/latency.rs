//! Latency statistics: count, min, mean, percentiles and max per latency key.
//!
//! Samples are integer nanoseconds (capture timestamps are exact integers,
//! see [`crate::time`]). `min`, `max` and `mean` are exact: they come from
//! the integer samples and a `u128` sum, never from a floating-point
//! running sum that would drift. Percentiles come from an HDR histogram of
//! nanoseconds (`hdrhistogram::Histogram<u64>`), which is mergeable (the
//! per-topic / per-client breakdowns fold evicted entries into an `other`
//! bucket) and has a fixed relative precision:
//!
//! - [`Precision::Fine`], 3 significant digits (±0.1 %), for the overall
//!   and per-direction statistics (at most about 270 KiB per key that has
//!   samples);
//! - [`Precision::Coarse`], 2 significant digits (±1 %), for the per-topic
//!   and per-client breakdowns (at most about 37 KiB per key that has
//!   samples).
//!
//! A histogram grows to its largest sample ([`growing_histogram`]), so
//! keys of millisecond latencies take about a third of those sizes.
//! It covers 1 ns to one hour ([`MAX_TRACKED_NS`]); a longer
//! latency is recorded as one hour in the histogram (clamped, never
//! dropped, never a panic) while `max` keeps its exact value. Reported
//! percentiles are clamped to `[min, max]`, so a percentile never claims a
//! value outside what was measured. Values are printed in milliseconds.

use hdrhistogram::Histogram;

/// Largest latency the histogram resolves: one hour, in nanoseconds.
pub const MAX_TRACKED_NS: u64 = 3_600 * 1_000_000_000;

/// Histogram resolution (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 3 significant digits.
    Fine,
    /// 2 significant digits.
    Coarse,
}

impl Precision {
    fn sigfig(self) -> u8 {
        match self {
            Precision::Fine => 3,
            Precision::Coarse => 2,
        }
    }
}

/// A latency measured by the analysis (the contract's `latency` keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LatencyKey {
    /// SYN → final ACK of the TCP three-way handshake.
    TcpHandshake,
    /// CONNECT → CONNACK.
    Connack,
    /// SUBSCRIBE → SUBACK.
    Suback,
    /// UNSUBSCRIBE → UNSUBACK.
    Unsuback,
    /// PINGREQ → PINGRESP.
    Pingresp,
    /// QoS 1 PUBLISH → PUBACK.
    Puback,
    /// QoS 2 PUBLISH → PUBREC.
    Pubrec,
    /// PUBREC → PUBREL.
    Pubrel,
    /// PUBREL → PUBCOMP.
    Pubcomp,
    /// QoS 2 PUBLISH → PUBCOMP.
    Qos2Total,
}

impl LatencyKey {
    pub const ALL: [LatencyKey; 10] = [
        LatencyKey::TcpHandshake,
        LatencyKey::Connack,
        LatencyKey::Suback,
        LatencyKey::Unsuback,
        LatencyKey::Pingresp,
        LatencyKey::Puback,
        LatencyKey::Pubrec,
        LatencyKey::Pubrel,
        LatencyKey::Pubcomp,
        LatencyKey::Qos2Total,
    ];

    /// The JSON key.
    pub fn as_str(self) -> &'static str {
        match self {
            LatencyKey::TcpHandshake => "tcp_handshake",
            LatencyKey::Connack => "connack",
            LatencyKey::Suback => "suback",
            LatencyKey::Unsuback => "unsuback",
            LatencyKey::Pingresp => "pingresp",
            LatencyKey::Puback => "puback",
            LatencyKey::Pubrec => "pubrec",
            LatencyKey::Pubrel => "pubrel",
            LatencyKey::Pubcomp => "pubcomp",
            LatencyKey::Qos2Total => "qos2_total",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The statistics of one latency key.
#[derive(Debug, Clone)]
pub struct LatencyStats {
    count: u64,
    min_ns: u64,
    max_ns: u64,
    sum_ns: u128,
    /// `None` only if the histogram could not be built (never with the
    /// constant bounds used here); percentiles then fall back to min/max.
    hist: Option<Histogram<u64>>,
}

/// A histogram that starts with one bucket and grows to the largest
/// sample it has seen (at most [`MAX_TRACKED_NS`]).
///
/// Allocated for the whole hour up front, a 3-digit histogram takes
/// about 270 KiB and a 2-digit one 37 KiB, however small the latencies;
/// grown on demand, a key whose answers come within a few milliseconds
/// takes about a third of that. Bucket boundaries depend only on the
/// lowest value and the precision, never on the upper bound, so the
/// percentiles are the same either way. Growing is an allocation, but
/// only when a sample exceeds every earlier one by a power of two: a
/// few dozen times in a histogram's life at most.
fn growing_histogram(precision: Precision) -> Option<Histogram<u64>> {
    let mut h = Histogram::new_with_bounds(1, 2, precision.sigfig()).ok()?;
    h.auto(true);
    Some(h)
}

impl LatencyStats {
    pub fn new(precision: Precision) -> Self {
        LatencyStats {
            count: 0,
            min_ns: u64::MAX,
            max_ns: 0,
            sum_ns: 0,
            hist: growing_histogram(precision),
        }
    }

    /// Adds one sample.
    pub fn record(&mut self, ns: u64) {
        self.count = self.count.saturating_add(1);
        self.min_ns = self.min_ns.min(ns);
        self.max_ns = self.max_ns.max(ns);
        self.sum_ns = self.sum_ns.saturating_add(u128::from(ns));
        if let Some(h) = &mut self.hist {
            let clamped = ns.min(MAX_TRACKED_NS);
            if h.record(clamped).is_err() {
                h.saturating_record(clamped);
            }
        }
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &LatencyStats) {
        if other.count == 0 {
            return;
        }
        self.count = self.count.saturating_add(other.count);
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
        self.sum_ns = self.sum_ns.saturating_add(other.sum_ns);
        // Adding cannot fail with equal bounds; without a histogram the
        // totals stay honest and percentiles fall back to min / max.
        let failed = match (&mut self.hist, &other.hist) {
            (Some(a), Some(b)) => a.add(b).is_err(),
            (Some(_), None) => true,
            _ => false,
        };
        if failed {
            self.hist = None;
        }
    }

    /// Statistics rebuilt from their printed parts (`mqtt-inspect merge`):
    /// the exact totals and the histogram, when there is one.
    pub fn from_parts(
        count: u64,
        min_ns: u64,
        max_ns: u64,
        sum_ns: u128,
        hist: Option<Histogram<u64>>,
    ) -> Self {
        let mut hist = hist;
        if let Some(h) = &mut hist {
            h.auto(true);
        }
        LatencyStats {
            count,
            min_ns: if count == 0 { u64::MAX } else { min_ns },
            max_ns,
            sum_ns,
            hist,
        }
    }

    /// The histogram behind the percentiles (`None` only if it could not
    /// be built or merged).
    pub fn histogram(&self) -> Option<&Histogram<u64>> {
        self.hist.as_ref()
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn min_ns(&self) -> Option<u64> {
        (self.count > 0).then_some(self.min_ns)
    }

    pub fn max_ns(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max_ns)
    }

    /// The exact sum of all samples.
    pub fn sum_ns(&self) -> u128 {
        self.sum_ns
    }

    /// Samples at most `ns` (a cumulative histogram bucket), within the
    /// histogram's precision; exact when `ns` is below the minimum or at
    /// least the maximum.
    pub fn count_at_most(&self, ns: u64) -> u64 {
        if self.count == 0 || ns < self.min_ns {
            return 0;
        }
        if ns >= self.max_ns {
            return self.count;
        }
        match &self.hist {
            Some(h) => h.count_between(0, ns).min(self.count),
            None => 0,
        }
    }

    /// The value at `q` (0..=1), within the histogram's precision and
    /// clamped to the exact `[min, max]`.
    pub fn quantile_ns(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let v = match &self.hist {
            Some(h) => h.value_at_quantile(q),
            None if q < 0.5 => self.min_ns,
            None => self.max_ns,
        };
        Some(v.clamp(self.min_ns, self.max_ns))
    }

    /// The printed form; `None` without samples.
    pub fn summary(&self) -> Option<LatencySummary> {
        if self.count == 0 {
            return None;
        }
        let ms = |ns: u64| ns as f64 / 1e6;
        let q = |p: f64| self.quantile_ns(p).map_or(0.0, ms);
        Some(LatencySummary {
            count: self.count,
            min_ms: ms(self.min_ns),
            mean_ms: self.sum_ns as f64 / self.count as f64 / 1e6,
            p50_ms: q(0.50),
            p90_ms: q(0.90),
            p99_ms: q(0.99),
            max_ms: ms(self.max_ns),
        })
    }
}

/// One latency key as the contract prints it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub min_ms: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Statistics for every latency key, allocated on the first sample of a
/// key. Serialises as the contract's `latency` object: keys without
/// samples are left out.
#[derive(Debug, Clone)]
pub struct LatencySet {
    precision: Precision,
    stats: [Option<Box<LatencyStats>>; 10],
}

impl LatencySet {
    pub fn new(precision: Precision) -> Self {
        LatencySet {
            precision,
            stats: Default::default(),
        }
    }

    pub fn record(&mut self, key: LatencyKey, ns: u64) {
        if let Some(slot) = self.stats.get_mut(key.index()) {
            slot.get_or_insert_with(|| Box::new(LatencyStats::new(self.precision)))
                .record(ns);
        }
    }

    pub fn get(&self, key: LatencyKey) -> Option<&LatencyStats> {
        self.stats.get(key.index()).and_then(|s| s.as_deref())
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &LatencySet) {
        for (mine, theirs) in self.stats.iter_mut().zip(other.stats.iter()) {
            if let Some(theirs) = theirs {
                mine.get_or_insert_with(|| Box::new(LatencyStats::new(self.precision)))
                    .merge(theirs);
            }
        }
    }

    /// Whether no key has a sample.
    pub fn is_empty(&self) -> bool {
        self.stats.iter().flatten().all(|s| s.count() == 0)
    }

    /// `(key, statistics)` for every key with samples, in contract order.
    pub fn stats(&self) -> impl Iterator<Item = (LatencyKey, &LatencyStats)> + '_ {
        LatencyKey::ALL
            .into_iter()
            .filter_map(|k| self.get(k).filter(|s| s.count() > 0).map(|s| (k, s)))
    }

    /// Adds every sample of `stats` to `key` (merging summaries).
    pub fn merge_key(&mut self, key: LatencyKey, stats: &LatencyStats) {
        if let Some(slot) = self.stats.get_mut(key.index()) {
            slot.get_or_insert_with(|| Box::new(LatencyStats::new(self.precision)))
                .merge(stats);
        }
    }

    /// `(key, summary)` for every key with samples, in contract order.
    pub fn summaries(&self) -> impl Iterator<Item = (LatencyKey, LatencySummary)> + '_ {
        LatencyKey::ALL
            .into_iter()
            .filter_map(|k| Some((k, self.get(k)?.summary()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumulative_counts_for_histogram_buckets() {
        let mut s = LatencyStats::new(Precision::Fine);
        for us in [100u64, 200, 300, 5_000] {
            s.record(us * 1000);
        }
        assert_eq!(s.count_at_most(50_000), 0);
        assert_eq!(s.count_at_most(250_000), 2);
        assert_eq!(s.count_at_most(1_000_000), 3);
        assert_eq!(s.count_at_most(10_000_000), 4);
    }

    #[test]
    fn min_max_mean_are_exact() {
        let mut s = LatencyStats::new(Precision::Fine);
        for ns in [1_000_001u64, 3, 2_000_000_007] {
            s.record(ns);
        }
        let sum = 1_000_001u128 + 3 + 2_000_000_007;
        assert_eq!(s.sum_ns(), sum);
        let out = s.summary().unwrap();
        assert_eq!(out.count, 3);
        assert_eq!(out.min_ms, 0.000003);
        assert_eq!(out.max_ms, 2000.000007);
        assert_eq!(out.mean_ms, sum as f64 / 3.0 / 1e6);
    }

    #[test]
    fn sums_do_not_drift() {
        // A million samples of 0.1 ms plus 1 ns: a float accumulator in ms
        // would drift; the integer sum gives the exact mean.
        let mut s = LatencyStats::new(Precision::Coarse);
        let mut float_ms = 0.0f64;
        for _ in 0..1_000_000u32 {
            s.record(100_001);
            float_ms += 0.100001;
        }
        assert_ne!(float_ms / 1e6, 0.100001, "the float sum should drift");
        assert_eq!(s.sum_ns(), 100_001_000_000);
        assert_eq!(s.summary().unwrap().mean_ms, 0.100001);
    }

    #[test]
    fn percentiles_within_histogram_precision() {
        let mut s = LatencyStats::new(Precision::Fine);
        // 1..=1000 µs
        for us in 1..=1000u64 {
            s.record(us * 1000);
        }
        for (q, want_ns) in [(0.5, 500_000u64), (0.9, 900_000), (0.99, 990_000)] {
            let got = s.quantile_ns(q).unwrap();
            let err = got.abs_diff(want_ns) as f64 / want_ns as f64;
            assert!(err <= 0.001, "q{q}: {got} vs {want_ns}");
        }
        let out = s.summary().unwrap();
        assert!((out.p50_ms - 0.5).abs() <= 0.0005, "{out:?}");
        assert_eq!(out.min_ms, 0.001);
        assert_eq!(out.max_ms, 1.0);
    }

    #[test]
    fn coarse_precision_is_one_percent() {
        let mut s = LatencyStats::new(Precision::Coarse);
        for _ in 0..10 {
            s.record(123_456_789);
        }
        s.record(1);
        let p50 = s.quantile_ns(0.5).unwrap();
        assert!(p50.abs_diff(123_456_789) as f64 / 123_456_789.0 <= 0.01);
    }

    #[test]
    fn values_above_the_range_are_clamped_not_lost() {
        let mut s = LatencyStats::new(Precision::Fine);
        let huge = u64::MAX / 2;
        s.record(huge);
        s.record(5);
        assert_eq!(s.count(), 2);
        assert_eq!(s.max_ns(), Some(huge));
        // p99 comes from the clamped bucket, within [min, max].
        let p99 = s.quantile_ns(0.99).unwrap();
        assert!(p99 >= MAX_TRACKED_NS && p99 <= huge, "{p99}");
        assert_eq!(s.quantile_ns(0.0), Some(5));
        assert_eq!(s.summary().unwrap().max_ms, huge as f64 / 1e6);
    }

    #[test]
    fn merging_adds_samples() {
        let mut a = LatencyStats::new(Precision::Coarse);
        let mut b = LatencyStats::new(Precision::Coarse);
        a.record(10);
        b.record(30);
        b.record(20);
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.min_ns(), Some(10));
        assert_eq!(a.max_ns(), Some(30));
        assert_eq!(a.sum_ns(), 60);
        assert_eq!(a.quantile_ns(1.0), Some(30));
        a.merge(&LatencyStats::new(Precision::Coarse));
        assert_eq!(a.count(), 3);
    }
}
