//! A latency histogram in one line of block characters (`▁▂▃▄▅▆▇█`).
//!
//! Latencies are long-tailed: a linear axis puts nearly every sample in
//! the first cell. The axis is logarithmic, and it is the same for every
//! key of the table (from the smallest minimum to the largest maximum),
//! so the rows can be compared with each other: a row whose bars sit to
//! the right is slower. Each row's bars are scaled to its own fullest
//! cell. The counts come from the key's HDR histogram
//! ([`LatencyStats::count_at_most`]), within its precision.

use crate::analysis::LatencyStats;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A log axis of `cells` cells from `lo` to `hi` nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct Axis {
    lo: f64,
    hi: f64,
    cells: usize,
}

impl Axis {
    /// The axis for samples from `min_ns` to `max_ns`; `None` for no cells.
    pub fn new(min_ns: u64, max_ns: u64, cells: usize) -> Option<Axis> {
        if cells == 0 {
            return None;
        }
        // A latency of 0 ns (same timestamp) sits in the first cell.
        let lo = (min_ns.max(1)) as f64;
        let hi = (max_ns.max(min_ns).max(1)) as f64;
        Some(Axis { lo, hi, cells })
    }

    /// The upper edge of cell `i` in nanoseconds (the last is `hi`).
    fn edge(&self, i: usize) -> u64 {
        if i + 1 >= self.cells || self.hi <= self.lo {
            return self.hi as u64;
        }
        let f = (i + 1) as f64 / self.cells as f64;
        (self.lo * (self.hi / self.lo).powf(f)) as u64
    }

    /// The samples of `stats` in each cell.
    pub fn counts(&self, stats: &LatencyStats) -> Vec<u64> {
        let mut below = 0;
        (0..self.cells)
            .map(|i| {
                let upto = stats.count_at_most(self.edge(i));
                let n = upto.saturating_sub(below);
                below = below.max(upto);
                n
            })
            .collect()
    }

    /// The histogram of `stats` on this axis: a space for an empty cell,
    /// otherwise a bar as high as the cell's share of the fullest.
    pub fn render(&self, stats: &LatencyStats) -> String {
        bars(&self.counts(stats))
    }
}

/// Bars for counts: empty cells are spaces, the fullest a full block, any
/// non-empty cell at least the lowest bar.
pub fn bars(counts: &[u64]) -> String {
    let top = counts.iter().copied().max().unwrap_or(0);
    counts
        .iter()
        .map(|&n| {
            if n == 0 || top == 0 {
                ' '
            } else {
                let level = (n as f64 / top as f64 * BARS.len() as f64).ceil() as usize;
                BARS.get(level.clamp(1, BARS.len()) - 1)
                    .copied()
                    .unwrap_or('█')
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Precision;

    #[test]
    fn bars_scale_to_the_fullest_cell() {
        assert_eq!(bars(&[0, 1, 8, 4]), " ▁█▄");
        assert_eq!(bars(&[0, 0]), "  ");
        assert_eq!(bars(&[1000, 1]), "█▁", "one sample still shows");
    }

    #[test]
    fn every_sample_lands_in_one_cell_of_a_log_axis() {
        let mut s = LatencyStats::new(Precision::Fine);
        // 1 µs ×3, 100 µs ×1, 10 ms ×2: two decades apart each.
        for ns in [1_000, 1_000, 1_000, 100_000, 10_000_000, 10_000_000] {
            s.record(ns);
        }
        let axis = Axis::new(1_000, 10_000_000, 5).unwrap();
        let counts = axis.counts(&s);
        assert_eq!(counts.iter().sum::<u64>(), 6);
        assert_eq!(counts.first(), Some(&3), "{counts:?}");
        assert_eq!(counts.last(), Some(&2), "{counts:?}");
        assert_eq!(counts.get(2), Some(&1), "the middle decade: {counts:?}");
        assert_eq!(axis.render(&s), "█ ▃ ▆");
    }

    #[test]
    fn a_single_value_is_one_bar() {
        let mut s = LatencyStats::new(Precision::Fine);
        s.record(5_000);
        let axis = Axis::new(5_000, 5_000, 4).unwrap();
        assert_eq!(axis.counts(&s).iter().sum::<u64>(), 1);
        assert!(Axis::new(0, 0, 0).is_none());
    }
}
