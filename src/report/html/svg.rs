//! The pictures of the HTML report, as inline SVG written here (no
//! plotting library, nothing fetched): latency histograms and timelines.
//!
//! Every text inside goes through [`Esc`]; numbers are formatted by Rust.

use super::escape::Esc;
use super::format::{Dur, Offset};
use super::timeline::{Counts, Marker, Timeline};
use crate::analysis::LatencyStats;
use std::fmt::Write;

/// One lane of a timeline: what it counts, its CSS class and its label.
pub struct Lane {
    pub class: &'static str,
    pub label: &'static str,
    /// What the label means, in full.
    pub title: &'static str,
    pub count: fn(&Counts) -> u32,
}

/// The lanes, top to bottom.
pub const LANES: [Lane; 4] = [
    Lane {
        class: "pub-c2s",
        label: "PUBLISH c→s",
        title: "PUBLISH packets client → server",
        count: |c| c.publish_c2s,
    },
    Lane {
        class: "pub-s2c",
        label: "PUBLISH s→c",
        title: "PUBLISH packets server → client",
        count: |c| c.publish_s2c,
    },
    Lane {
        class: "acks",
        label: "acks",
        title: "PUBACK, PUBREC, PUBREL and PUBCOMP, both directions",
        count: |c| c.acks,
    },
    Lane {
        class: "findings",
        label: "findings",
        title: "findings raised (marks: the first ones at their exact time)",
        count: |c| c.findings,
    },
];

/// Height of a lane in SVG units (bars reach [`BAR_MAX`] of it).
const LANE_H: u32 = 20;
const BAR_MAX: u32 = 18;

/// Bars of histograms.
pub const HIST_BINS: usize = 24;

/// Per lane, the largest bucket count (for the lane's scale and label).
pub fn lane_maxima(t: &Timeline) -> [u32; 4] {
    let mut m = [0u32; 4];
    for b in t.buckets() {
        for (slot, lane) in m.iter_mut().zip(LANES.iter()) {
            *slot = (*slot).max((lane.count)(b));
        }
    }
    m
}

/// A timeline as an SVG whose x axis is the bucket index (stretched to
/// the width of its box, so CSS can zoom it): one path per lane, a bar
/// per non-empty bucket, height proportional to the lane's largest
/// bucket; findings at their exact time as marks; with `hover`, one
/// invisible box per non-empty bucket that shows its counts.
pub fn timeline(
    out: &mut String,
    t: &Timeline,
    markers: &[Marker],
    origin_ns: i128,
    hover: bool,
    label: &str,
) {
    let n = t.buckets().len().max(1);
    let height = LANE_H * LANES.len() as u32;
    let max = lane_maxima(t);
    let _ = write!(
        out,
        r#"<svg class="timeline" viewBox="0 0 {n} {height}" preserveAspectRatio="none" role="img" aria-label="{}">"#,
        Esc(label)
    );
    for (row, (lane, &lane_max)) in LANES.iter().zip(max.iter()).enumerate() {
        let base = LANE_H * (row as u32 + 1);
        let _ = write!(
            out,
            r#"<line class="lane" x1="0" x2="{n}" y1="{base}" y2="{base}"/>"#
        );
        if lane_max == 0 {
            continue;
        }
        let _ = write!(out, r#"<path class="{}" d=""#, lane.class);
        for (i, b) in t.buckets().iter().enumerate() {
            let v = (lane.count)(b);
            if v == 0 {
                continue;
            }
            // At least one unit high, so a single message shows.
            let h = (u64::from(v) * u64::from(BAR_MAX)).div_ceil(u64::from(lane_max)) as u32;
            let _ = write!(out, "M{i} {base}v-{h}h1v{h}z");
        }
        out.push_str(r#""/>"#);
    }
    let start = t.start_ns().unwrap_or(origin_ns);
    let width = t.width_ns().max(1) as f64;
    let top = LANE_H * (LANES.len() as u32 - 1);
    for m in markers {
        let x = ((m.ts.as_nanos() - start) as f64 / width).clamp(0.0, n as f64);
        let severity = m.kind.severity().as_str();
        let frame = m
            .frame
            .map(|f| format!(" at frame {f}"))
            .unwrap_or_default();
        let _ = write!(
            out,
            r#"<line class="mark {severity}" x1="{x:.2}" x2="{x:.2}" y1="{top}" y2="{height}"><title>{} {}{frame}, {}: {}</title></line>"#,
            Esc(severity),
            Esc(m.kind.as_str()),
            Offset {
                ns: m.ts.as_nanos() - origin_ns,
                span_ns: 0
            },
            Esc(m.kind.describe()),
        );
    }
    if hover {
        for (i, b) in t.buckets().iter().enumerate() {
            if b.is_empty() {
                continue;
            }
            let from = start - origin_ns + i as i128 * t.width_ns() as i128;
            let to = from + t.width_ns() as i128;
            let span = t.width_ns() as i128 * n as i128;
            let _ = write!(
                out,
                r#"<rect class="hit" x="{i}" y="0" width="1" height="{height}"><title>{} – {}: {} PUBLISH client → server, {} server → client, {} acks, {} findings</title></rect>"#,
                Offset {
                    ns: from,
                    span_ns: span
                },
                Offset {
                    ns: to,
                    span_ns: span
                },
                b.publish_c2s,
                b.publish_s2c,
                b.acks,
                b.findings
            );
        }
    }
    out.push_str("</svg>");
}

/// One bin of a histogram: samples in `(lo, hi]` (the first bin also
/// holds the minimum).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bin {
    pub lo_ns: u64,
    pub hi_ns: u64,
    pub count: u64,
}

/// The samples of `s` in [`HIST_BINS`] bins of equal width on a
/// logarithmic axis from the minimum to the maximum (latencies spread over
/// orders of magnitude; a linear axis would put all but the outliers in one
/// bar). Counts come from the HDR histogram, within its precision; they add
/// up to the sample count. One bin when every sample is the same.
pub fn bins(s: &LatencyStats) -> Vec<Bin> {
    let (Some(min), Some(max)) = (s.min_ns(), s.max_ns()) else {
        return Vec::new();
    };
    let lo = min.max(1);
    if max <= lo {
        return vec![Bin {
            lo_ns: min,
            hi_ns: max,
            count: s.count(),
        }];
    }
    let ratio = (max as f64 / lo as f64).ln();
    let edge = |i: usize| -> u64 {
        if i == 0 {
            min
        } else if i >= HIST_BINS {
            max
        } else {
            (lo as f64 * (ratio * i as f64 / HIST_BINS as f64).exp()) as u64
        }
    };
    let mut out = Vec::with_capacity(HIST_BINS);
    let mut below = 0;
    for i in 0..HIST_BINS {
        let hi = edge(i + 1);
        let upto = s.count_at_most(hi).max(below);
        out.push(Bin {
            lo_ns: edge(i),
            hi_ns: hi,
            count: upto - below,
        });
        below = upto;
    }
    out
}

/// Where `ns` lies on the histogram's logarithmic axis, 0..=1.
fn log_pos(ns: u64, lo: u64, hi: u64) -> f64 {
    if hi <= lo {
        return 0.5;
    }
    let lo = lo.max(1) as f64;
    ((ns.max(1) as f64 / lo).ln() / (hi as f64 / lo).ln()).clamp(0.0, 1.0)
}

/// A latency histogram: bars of [`bins`], the median and the 99th
/// percentile as lines, the range on the axis.
pub fn histogram(out: &mut String, key: &str, label: &str, s: &LatencyStats) {
    let bins = bins(s);
    let (Some(min), Some(max)) = (s.min_ns(), s.max_ns()) else {
        return;
    };
    let (x0, x1, y0, y1) = (8.0f64, 352.0f64, 14.0f64, 96.0f64);
    let peak = bins.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let _ = write!(
        out,
        r#"<svg class="hist" data-key="{}" viewBox="0 0 360 124" role="img" aria-label="{} latency histogram">"#,
        Esc(key),
        Esc(label)
    );
    let _ = write!(
        out,
        r#"<line class="axis" x1="{x0}" x2="{x1}" y1="{y1}" y2="{y1}"/>"#
    );
    let w = (x1 - x0) / HIST_BINS as f64;
    // One bin (every sample the same): one bar in the middle.
    let first_x = if bins.len() == 1 {
        (x0 + x1 - w) / 2.0
    } else {
        x0
    };
    for (i, b) in bins.iter().enumerate() {
        if b.count == 0 {
            continue;
        }
        let h = ((b.count as f64 / peak as f64) * (y1 - y0)).max(1.0);
        let _ = write!(
            out,
            r#"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{} – {}: {}</title></rect>"#,
            first_x + i as f64 * w + 0.5,
            y1 - h,
            (w - 1.0).max(0.5),
            h,
            Dur(b.lo_ns),
            Dur(b.hi_ns),
            b.count
        );
    }
    for (class, q, name) in [("p50", 0.5, "p50"), ("p99", 0.99, "p99")] {
        let Some(v) = s.quantile_ns(q) else {
            continue;
        };
        let x = x0 + log_pos(v, min, max) * (x1 - x0);
        let _ = write!(
            out,
            r#"<line class="{class}" x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{y1}"><title>{name} {}</title></line>"#,
            y0 - 4.0,
            Dur(v)
        );
    }
    let _ = write!(
        out,
        r#"<text class="peak" x="{x0}" y="10">highest bar: {peak}</text><text x="{x0}" y="112">{}</text><text x="{x1}" y="112" text-anchor="end">{}</text><text x="180" y="112" text-anchor="middle" class="dim">log scale</text>"#,
        Dur(min),
        Dur(max)
    );
    out.push_str("</svg>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Precision;

    #[test]
    fn bins_add_up_and_span_the_range() {
        let mut s = LatencyStats::new(Precision::Fine);
        for us in [100u64, 120, 150, 200, 1_000, 5_000, 50_000] {
            s.record(us * 1_000);
        }
        let b = bins(&s);
        assert_eq!(b.len(), HIST_BINS);
        assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), 7);
        assert_eq!(b.first().map(|b| b.lo_ns), Some(100_000));
        assert_eq!(b.last().map(|b| b.hi_ns), Some(50_000_000));
        assert_eq!(
            b.last().map(|b| b.count),
            Some(1),
            "the maximum is in the last bin"
        );
        assert!(
            b.first().is_some_and(|b| b.count >= 1),
            "the minimum is in the first"
        );
    }

    #[test]
    fn one_value_is_one_bin() {
        let mut s = LatencyStats::new(Precision::Fine);
        s.record(0);
        s.record(0);
        assert_eq!(
            bins(&s),
            vec![Bin {
                lo_ns: 0,
                hi_ns: 0,
                count: 2
            }]
        );
        assert!(bins(&LatencyStats::new(Precision::Fine)).is_empty());
    }

    #[test]
    fn a_bar_per_non_empty_bucket() {
        use super::super::timeline::Series;
        use crate::base::{Direction, Timestamp};
        let mut t = Timeline::new(8);
        for us in [0i64, 1, 5] {
            t.add(
                Timestamp::new(10, us as u64 * 1_000, 6),
                Series::Publish(Direction::ClientToServer),
            );
        }
        let mut svg = String::new();
        timeline(&mut svg, &t, &[], t.start_ns().unwrap(), true, "x");
        let path = svg
            .split(r#"<path class="pub-c2s" d=""#)
            .nth(1)
            .and_then(|p| p.split('"').next())
            .unwrap();
        assert_eq!(path.matches('M').count(), 3, "{path}");
        assert_eq!(svg.matches(r#"class="hit""#).count(), 3);
        assert!(
            !svg.contains(r#"class="acks""#),
            "an empty lane draws nothing"
        );
    }
}
