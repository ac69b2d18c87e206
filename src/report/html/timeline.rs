//! What the HTML report keeps of the event stream: bounded timelines.
//!
//! A capture of a gigabyte has millions of packets; the page must not keep
//! them. Each timeline is a fixed number of time buckets whose width
//! doubles (neighbours merged) whenever an event falls past the last one,
//! so it covers any span with at most its cap of buckets, the newest
//! events never dropped. One timeline covers the whole capture; each open
//! connection has its own, and when a connection closes only the
//! [`KEPT`] most troubled ones (errors, then warnings, then traffic) are
//! kept for the page. Memory is the cap of buckets per open connection
//! plus [`KEPT`] closed ones, whatever the capture's size.

use crate::analysis::{Finding, FindingKind};
use crate::base::{ConnId, Direction, Endpoint, Timestamp};
use crate::mqtt::PacketType;
use crate::report::{Event, Problems};
use crate::tcp::CloseKind;
use foldhash::HashMap;

/// Buckets of a connection's timeline (its width on the page is fixed, so
/// this is its resolution).
pub const CONN_BUCKETS: usize = 128;
/// Buckets of the whole-capture timeline.
pub const CAPTURE_BUCKETS: usize = 480;
/// Connection timelines kept for the page.
pub const KEPT: usize = 40;
/// Findings of one connection drawn at their exact time (the rest are
/// counted in the buckets).
pub const MARKERS: usize = 16;
/// The first bucket width, in nanoseconds; it doubles as needed.
const FIRST_WIDTH_NS: u64 = 1_000;

/// What a bucket counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// PUBLISH packets client → server.
    pub publish_c2s: u32,
    /// PUBLISH packets server → client.
    pub publish_s2c: u32,
    /// PUBACK, PUBREC, PUBREL and PUBCOMP, both directions.
    pub acks: u32,
    pub findings: u32,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.publish_c2s = self.publish_c2s.saturating_add(o.publish_c2s);
        self.publish_s2c = self.publish_s2c.saturating_add(o.publish_s2c);
        self.acks = self.acks.saturating_add(o.acks);
        self.findings = self.findings.saturating_add(o.findings);
    }

    pub fn is_empty(&self) -> bool {
        *self == Counts::default()
    }
}

/// One thing a timeline counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    Publish(Direction),
    Ack,
    Finding,
}

/// Counts in time buckets of one width, at most `cap` of them.
///
/// Bucket boundaries are multiples of the width since the epoch, not of
/// the first event: a timeline is then a function of the set of times it
/// was given, whatever their order, and two timelines of parts of a run
/// merge ([`Timeline::merge`]) into exactly the timeline of the whole —
/// what lets the workers of `--threads` fold their own connections and
/// the page still equal the one-thread page. Its width is the narrowest
/// (1 µs doubled as often as needed) at which every time reached fits in
/// `cap` buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    cap: usize,
    /// The first bucket's number: it starts `first * width_ns` after the epoch.
    first: i128,
    width_ns: u64,
    /// Empty before any time was reached.
    buckets: Vec<Counts>,
}

impl Timeline {
    pub fn new(cap: usize) -> Self {
        Timeline {
            cap: cap.max(2),
            first: 0,
            width_ns: FIRST_WIDTH_NS,
            buckets: Vec::new(),
        }
    }

    /// The bucket number of `ns` (since the epoch) at the current width.
    fn number(&self, ns: i128) -> i128 {
        ns.div_euclid(i128::from(self.width_ns.max(1)))
    }

    /// The last bucket's number (`first - 1` when empty).
    fn last(&self) -> i128 {
        self.first + self.buckets.len() as i128 - 1
    }

    /// Counts one event at `ts` (an event before every other one extends
    /// the timeline back: the two directions of a connection are not
    /// ordered in time to the nanosecond).
    pub fn add(&mut self, ts: Timestamp, series: Series) {
        let ns = ts.as_nanos();
        self.cover(ns, ns);
        let i = (self.number(ns) - self.first).clamp(0, self.buckets.len() as i128 - 1);
        if let Some(b) = usize::try_from(i)
            .ok()
            .and_then(|i| self.buckets.get_mut(i))
        {
            let one = |n: &mut u32| *n = n.saturating_add(1);
            match series {
                Series::Publish(Direction::ClientToServer) => one(&mut b.publish_c2s),
                Series::Publish(Direction::ServerToClient) => one(&mut b.publish_s2c),
                Series::Ack => one(&mut b.acks),
                Series::Finding => one(&mut b.findings),
            }
        }
    }

    /// The timeline reaches at least `ts` (the start or end of a
    /// connection or of the capture), without counting anything there.
    pub fn reach(&mut self, ts: Timestamp) {
        let ns = ts.as_nanos();
        self.cover(ns, ns);
    }

    /// The buckets cover `lo_ns..=hi_ns` (since the epoch), widened as
    /// needed to stay within the cap.
    fn cover(&mut self, lo_ns: i128, hi_ns: i128) {
        if self.buckets.is_empty() {
            self.first = self.number(lo_ns);
            self.buckets.push(Counts::default());
        }
        let cap = self.cap as i128;
        loop {
            let lo = self.first.min(self.number(lo_ns));
            let hi = self.last().max(self.number(hi_ns));
            if hi - lo < cap || !self.halve() {
                break;
            }
        }
        // Only a span of centuries outgrows the widest bucket; then the
        // times beyond it are counted at its ends.
        let lo = self.number(lo_ns).max(self.last() - cap + 1);
        if lo < self.first {
            let more = usize::try_from(self.first - lo).unwrap_or(0);
            self.buckets
                .splice(0..0, std::iter::repeat_n(Counts::default(), more));
            self.first = lo;
        }
        let hi = self.number(hi_ns).min(self.first + cap - 1);
        if hi > self.last() {
            let len = usize::try_from(hi - self.first + 1).unwrap_or(self.buckets.len());
            self.buckets.resize(len, Counts::default());
        }
    }

    /// Doubles the bucket width: buckets `2k` and `2k+1` (numbered from
    /// the epoch) become bucket `k`, in place (the vector keeps its
    /// capacity). `false` when the width cannot double any more.
    fn halve(&mut self) -> bool {
        let Some(width) = self.width_ns.checked_mul(2) else {
            return false;
        };
        let first = self.first.div_euclid(2);
        for i in 0..self.buckets.len() {
            let k = usize::try_from((self.first + i as i128).div_euclid(2) - first).unwrap_or(0);
            // k <= i: bucket k was already taken, and holds only new sums.
            let b = self
                .buckets
                .get_mut(i)
                .map(std::mem::take)
                .unwrap_or_default();
            if let Some(slot) = self.buckets.get_mut(k) {
                slot.add(&b);
            }
        }
        let len = usize::try_from(self.last().div_euclid(2) - first + 1).unwrap_or(0);
        self.buckets.truncate(len);
        self.first = first;
        self.width_ns = width;
        true
    }

    /// Adds `other`'s counts: the result is the timeline of both sets of
    /// times (the caps being equal).
    pub fn merge(&mut self, other: &Timeline) {
        if other.buckets.is_empty() {
            return;
        }
        let mut o = other.clone();
        if self.buckets.is_empty() {
            self.width_ns = self.width_ns.max(o.width_ns);
        }
        while self.width_ns < o.width_ns && self.halve() {}
        loop {
            while o.width_ns < self.width_ns && o.halve() {}
            let w = i128::from(o.width_ns);
            self.cover(o.first * w, (o.last() + 1) * w - 1);
            if o.width_ns >= self.width_ns {
                break;
            }
        }
        let len = self.buckets.len() as i128;
        for (i, b) in o.buckets.iter().enumerate() {
            let at = (o.first + i as i128 - self.first).clamp(0, len - 1);
            if let Some(slot) = usize::try_from(at)
                .ok()
                .and_then(|i| self.buckets.get_mut(i))
            {
                slot.add(b);
            }
        }
    }

    /// Time of the first bucket's start (ns since the epoch); `None` before any event.
    pub fn start_ns(&self) -> Option<i128> {
        (!self.buckets.is_empty()).then(|| self.first * i128::from(self.width_ns))
    }

    pub fn width_ns(&self) -> u64 {
        self.width_ns
    }

    pub fn buckets(&self) -> &[Counts] {
        &self.buckets
    }

    /// The total of every bucket.
    pub fn total(&self) -> Counts {
        let mut t = Counts::default();
        for b in &self.buckets {
            t.add(b);
        }
        t
    }
}

/// A finding drawn at its exact time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub ts: Timestamp,
    pub kind: FindingKind,
    pub frame: Option<u64>,
}

/// What the page shows of one connection over time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnTrack {
    pub id: ConnId,
    pub client: Endpoint,
    pub server: Endpoint,
    pub timeline: Timeline,
    pub markers: Vec<Marker>,
    /// Findings beyond [`MARKERS`] (counted in the buckets only).
    pub markers_dropped: u64,
    /// Findings on the connection, by severity (from its record when it
    /// closed, plus any raised after).
    pub problems: Problems,
    /// `problems` as its record had them when it closed: what ranks it.
    /// Findings raised later are shown but do not rank, so which
    /// connections are kept does not depend on when the list was pruned
    /// (nor on how `--threads` split the run).
    closed_with: Problems,
    pub client_id: Option<String>,
    /// `None` while open.
    pub close: Option<CloseKind>,
}

impl ConnTrack {
    fn new(id: ConnId, client: Endpoint, server: Endpoint) -> Self {
        ConnTrack {
            id,
            client,
            server,
            timeline: Timeline::new(CONN_BUCKETS),
            markers: Vec::new(),
            markers_dropped: 0,
            problems: Problems::default(),
            closed_with: Problems::default(),
            client_id: None,
            close: None,
        }
    }

    fn finding(&mut self, f: &Finding) {
        self.timeline.add(f.ts, Series::Finding);
        if self.markers.len() < MARKERS {
            self.markers.push(Marker {
                ts: f.ts,
                kind: f.kind,
                frame: f.frames.last().copied(),
            });
        } else {
            self.markers_dropped += 1;
        }
    }

    /// Which connections are kept: troubled first (errors, warnings when
    /// it closed), then traffic; the lower id on a tie.
    fn rank(&self) -> (u64, u64, u64, std::cmp::Reverse<ConnId>) {
        self.rank_by(self.closed_with)
    }

    /// The order on the page: the same, with every finding counted.
    fn shown_rank(&self) -> (u64, u64, u64, std::cmp::Reverse<ConnId>) {
        self.rank_by(self.problems)
    }

    fn rank_by(&self, p: Problems) -> (u64, u64, u64, std::cmp::Reverse<ConnId>) {
        let t = self.timeline.total();
        let traffic = u64::from(t.publish_c2s) + u64::from(t.publish_s2c) + u64::from(t.acks);
        (p.errors, p.warnings, traffic, std::cmp::Reverse(self.id))
    }
}

/// Folds the events into the page's timelines (module docs).
#[derive(Debug)]
pub struct Collector {
    pub capture: Timeline,
    open: HashMap<ConnId, ConnTrack>,
    kept: Vec<ConnTrack>,
    /// Connections that had a timeline.
    pub seen: u64,
}

impl Default for Collector {
    fn default() -> Self {
        Collector {
            capture: Timeline::new(CAPTURE_BUCKETS),
            open: HashMap::default(),
            kept: Vec::new(),
            seen: 0,
        }
    }
}

impl Collector {
    pub fn event(&mut self, ev: &Event<'_>) {
        match ev {
            Event::Start { ts } => self.capture.reach(*ts),
            Event::ConnectionOpen {
                conn,
                ts,
                client,
                server,
                ..
            } => {
                self.seen += 1;
                let mut c = ConnTrack::new(*conn, *client, *server);
                c.timeline.reach(*ts);
                self.open.insert(*conn, c);
            }
            Event::Packet(p) => {
                let series = match p.packet.packet_type() {
                    PacketType::Publish => Series::Publish(p.dir),
                    PacketType::Puback
                    | PacketType::Pubrec
                    | PacketType::Pubrel
                    | PacketType::Pubcomp => Series::Ack,
                    _ => return,
                };
                self.capture.add(p.ts, series);
                if let Some(c) = self.open.get_mut(&p.conn) {
                    c.timeline.add(p.ts, series);
                }
            }
            Event::Finding(f) => {
                self.capture.add(f.ts, Series::Finding);
                if let Some(c) = self.open.get_mut(&f.connection) {
                    c.finding(f);
                } else if let Some(c) = self.kept.iter_mut().find(|c| c.id == f.connection) {
                    // Raised after the close (a saved session given up):
                    // shown and counted, not ranked (`closed_with`).
                    c.finding(f);
                    match f.severity {
                        crate::analysis::Severity::Error => c.problems.errors += 1,
                        crate::analysis::Severity::Warning => c.problems.warnings += 1,
                        crate::analysis::Severity::Info => {}
                    }
                }
            }
            Event::ConnectionClose {
                conn,
                ts,
                how,
                record,
                ..
            } => {
                self.capture.reach(*ts);
                if let Some(mut c) = self.open.remove(conn) {
                    c.timeline.reach(*ts);
                    c.problems = record.problems;
                    c.closed_with = record.problems;
                    c.close = Some(*how);
                    c.client_id = record.mqtt.as_ref().and_then(|m| m.client_id.clone());
                    self.keep(c);
                }
            }
            Event::File { .. }
            | Event::Malformed { .. }
            | Event::Flow(_)
            | Event::Warning(_)
            | Event::Stats { .. } => {}
        }
    }

    /// A closed connection's timeline: kept if it is among the [`KEPT`]
    /// most troubled so far (pruned in batches, so a close costs O(1)
    /// amortised).
    fn keep(&mut self, c: ConnTrack) {
        self.kept.push(c);
        if self.kept.len() >= 2 * KEPT {
            self.prune();
        }
    }

    fn prune(&mut self) {
        self.kept.sort_by_key(|c| std::cmp::Reverse(c.rank()));
        self.kept.truncate(KEPT);
    }

    /// Takes in what `other` folded of the same run (an analysis worker's
    /// share of `--threads`: other connections, the same capture): the
    /// result is what one collector of all the events would hold at the
    /// end, but for findings raised on one share about another's
    /// connection.
    pub fn merge(&mut self, other: Collector) {
        self.capture.merge(&other.capture);
        self.seen += other.seen;
        self.open.extend(other.open);
        for c in other.kept {
            self.keep(c);
        }
    }

    /// The timelines for the page, most troubled first (connections the
    /// capture ended without closing are ranked with the rest).
    pub fn finish(mut self) -> Timelines {
        let open: Vec<ConnTrack> = self.open.drain().map(|(_, c)| c).collect();
        self.kept.extend(open);
        self.prune();
        self.kept.sort_by_key(|c| std::cmp::Reverse(c.shown_rank()));
        Timelines {
            capture: self.capture,
            connections: self.kept,
            seen: self.seen,
        }
    }
}

/// What [`Collector::finish`] hands the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timelines {
    pub capture: Timeline,
    /// At most [`KEPT`], most troubled first.
    pub connections: Vec<ConnTrack>,
    /// Connections that had a timeline.
    pub seen: u64,
}

/// The largest timelines the page can be given: every bucket of the
/// capture and of [`KEPT`] connections counted in every lane, [`MARKERS`]
/// findings on each, client ids of `id_len` characters (tests of the
/// page's size bound).
#[cfg(test)]
pub fn worst_case(id_len: usize) -> Timelines {
    let at = |ns: i64| {
        Timestamp::new(
            1_700_000_000 + ns / 1_000_000_000,
            (ns % 1_000_000_000) as u64,
            9,
        )
    };
    let ep = |port| Endpoint {
        ip: "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"
            .parse()
            .unwrap_or(std::net::IpAddr::from([0u8; 16])),
        port,
    };
    let fill = |t: &mut Timeline, buckets: i64| {
        for i in 0..buckets {
            for s in [
                Series::Publish(Direction::ClientToServer),
                Series::Publish(Direction::ServerToClient),
                Series::Ack,
                Series::Finding,
            ] {
                t.add(at(i * 1_000 + 1), s);
            }
        }
    };
    let mut capture = Timeline::new(CAPTURE_BUCKETS);
    fill(&mut capture, CAPTURE_BUCKETS as i64);
    let connections = (0..KEPT as u32)
        .map(|id| {
            let mut c = ConnTrack::new(id + 4_000_000_000, ep(65_535), ep(65_534));
            fill(&mut c.timeline, CONN_BUCKETS as i64);
            c.markers = (0..MARKERS as i64)
                .map(|i| Marker {
                    ts: at(i * 3_000),
                    kind: FindingKind::ReceiveMaximumExceeded,
                    frame: Some(u64::MAX),
                })
                .collect();
            c.markers_dropped = u64::MAX;
            c.problems = Problems {
                errors: u64::MAX,
                warnings: u64::MAX,
            };
            c.client_id = Some("\"".repeat(id_len));
            c.close = Some(CloseKind::Rst);
            c
        })
        .collect();
    Timelines {
        capture,
        connections,
        seen: u64::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(us: i64) -> Timestamp {
        Timestamp::new(
            1_700_000_000 + us.div_euclid(1_000_000),
            us.rem_euclid(1_000_000) as u64 * 1_000,
            6,
        )
    }

    #[test]
    fn a_million_events_stay_within_the_cap() {
        let mut t = Timeline::new(CONN_BUCKETS);
        for i in 0..1_000_000i64 {
            t.add(at(i * 37), Series::Ack);
        }
        assert!(t.buckets().len() <= CONN_BUCKETS, "{}", t.buckets().len());
        assert!(t.buckets().len() > CONN_BUCKETS / 2);
        assert_eq!(t.total().acks, 1_000_000, "no event lost in the merges");
        // The span covered reaches the last event.
        let span = t.width_ns() as i128 * t.buckets().len() as i128;
        assert!(span >= 999_999 * 37_000);
    }

    #[test]
    fn events_land_in_their_bucket() {
        let mut t = Timeline::new(4);
        t.add(at(0), Series::Publish(Direction::ClientToServer));
        t.add(at(1), Series::Publish(Direction::ServerToClient));
        t.add(at(3), Series::Finding);
        assert_eq!(t.width_ns(), 1_000);
        assert_eq!(t.buckets().len(), 4);
        // 9 µs needs buckets of 4 µs: [0,4) [4,8) [8,12).
        t.add(at(9), Series::Ack);
        assert_eq!(t.width_ns(), 4_000);
        let b = t.buckets();
        assert_eq!(b.len(), 3);
        assert_eq!(
            (b[0].publish_c2s, b[0].publish_s2c, b[0].findings),
            (1, 1, 1)
        );
        assert!(b[1].is_empty());
        assert_eq!(b[2].acks, 1);
        // Earlier than the first event: the timeline reaches back.
        t.add(at(-5), Series::Ack);
        // -5..9 µs does not fit 4 buckets of 4 µs from -8: 8 µs ones do.
        assert_eq!(t.width_ns(), 8_000);
        assert_eq!(t.start_ns(), Some(at(-8).as_nanos()));
        assert_eq!(t.buckets().len(), 3);
        assert_eq!(t.buckets()[0].acks, 1);
        assert_eq!(t.buckets()[1].publish_c2s, 1);
        assert_eq!(t.total().acks, 2);
    }

    /// A deterministic shuffle of `0..n` (no dependency for one test).
    fn shuffled(n: usize, mut seed: u64) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            v.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        v
    }

    fn series(i: usize) -> Series {
        match i % 4 {
            0 => Series::Publish(Direction::ClientToServer),
            1 => Series::Publish(Direction::ServerToClient),
            2 => Series::Ack,
            _ => Series::Finding,
        }
    }

    /// What `--threads` relies on: the same times in any order, or
    /// folded in parts and merged, give the same timeline.
    #[test]
    fn order_and_merging_do_not_change_a_timeline() {
        // Irregular times over ~9 s, one far from the rest.
        let times: Vec<i64> = (0..3_000i64)
            .map(|i| (i * i * 7_919) % 9_000_000 + i % 13)
            .chain([40_000_000])
            .collect();
        let fold = |order: &[usize]| {
            let mut t = Timeline::new(CONN_BUCKETS);
            for &i in order {
                t.add(at(times[i]), series(i));
            }
            t
        };
        let whole = fold(&(0..times.len()).collect::<Vec<_>>());
        assert!(whole.buckets().len() <= CONN_BUCKETS);
        assert_eq!(whole.total().acks, 750);
        for seed in [1, 2, 3] {
            let order = shuffled(times.len(), seed);
            assert_eq!(fold(&order), whole, "shuffle {seed}");
            // Three parts of the shuffled order, merged in another order.
            let (a, rest) = order.split_at(1_000);
            let (b, c) = rest.split_at(1_500);
            let mut merged = fold(c);
            merged.merge(&fold(a));
            merged.merge(&fold(b));
            assert_eq!(merged, whole, "merged parts, shuffle {seed}");
        }
        // An empty part changes nothing, either way round.
        let mut m = Timeline::new(CONN_BUCKETS);
        m.merge(&whole);
        assert_eq!(m, whole);
        let mut m = whole.clone();
        m.merge(&Timeline::new(CONN_BUCKETS));
        assert_eq!(m, whole);
    }

    /// Times centuries apart (a capture's record headers can say
    /// anything) end in bounded buckets, not in an endless widening.
    #[test]
    fn absurd_spans_stay_bounded() {
        let mut t = Timeline::new(CONN_BUCKETS);
        for secs in [i64::MIN / 2, -1, 0, 1, i64::MAX / 2] {
            t.add(Timestamp::new(secs, 0, 9), Series::Ack);
        }
        assert!(t.buckets().len() <= CONN_BUCKETS);
        assert_eq!(t.total().acks, 5);
    }

    #[test]
    fn reaching_a_time_counts_nothing() {
        let mut t = Timeline::new(8);
        t.reach(at(0));
        t.add(at(2), Series::Ack);
        t.reach(at(100));
        assert_eq!(t.start_ns(), Some(at(0).as_nanos()));
        assert!(t.width_ns() as i128 * t.buckets().len() as i128 > 100_000);
        assert_eq!(t.total().acks, 1);
        assert_eq!(t.buckets()[0].acks, 1);
    }

    #[test]
    fn keeps_the_most_troubled_connections() {
        let mut c = Collector::default();
        let ep = |port| Endpoint {
            ip: "10.0.0.1".parse().unwrap(),
            port,
        };
        for id in 0..1000u32 {
            let mut t = ConnTrack::new(id, ep(1), ep(2));
            if id % 100 == 7 {
                t.problems.errors = 1;
                t.closed_with.errors = 1;
            }
            t.timeline.add(at(0), Series::Ack);
            c.keep(t);
            assert!(c.kept.len() < 2 * KEPT);
        }
        let out = c.finish();
        assert_eq!(out.connections.len(), KEPT);
        let troubled: Vec<u32> = out.connections.iter().take(10).map(|t| t.id).collect();
        assert_eq!(
            troubled,
            vec![7, 107, 207, 307, 407, 507, 607, 707, 807, 907]
        );
        // Then the quiet ones, lowest id first.
        assert_eq!(out.connections[10].id, 0);
    }

    /// Connections kept by two collectors (two workers) and merged are
    /// those one collector of all of them keeps, in the same order.
    #[test]
    fn merged_collectors_keep_what_one_would() {
        let ep = |port| Endpoint {
            ip: "10.0.0.1".parse().unwrap(),
            port,
        };
        let track = |id: u32| {
            let mut t = ConnTrack::new(id, ep(1), ep(2));
            t.closed_with.errors = u64::from(id % 7 == 3);
            t.closed_with.warnings = u64::from(id % 5);
            t.problems = t.closed_with;
            for k in 0..(id % 11) {
                t.timeline.add(at(i64::from(id * 100 + k)), Series::Ack);
            }
            t
        };
        let mut one = Collector::default();
        let (mut a, mut b) = (Collector::default(), Collector::default());
        for id in 0..500u32 {
            one.keep(track(id));
            one.capture.add(at(i64::from(id)), Series::Ack);
            let part = if id % 3 == 0 { &mut a } else { &mut b };
            part.keep(track(id));
            part.capture.add(at(i64::from(id)), Series::Ack);
        }
        b.merge(a);
        assert_eq!(b.finish(), one.finish());
    }
}
