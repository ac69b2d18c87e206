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
#[derive(Debug, Clone)]
pub struct Timeline {
    cap: usize,
    /// Time of the first event, in nanoseconds since the epoch.
    start_ns: Option<i128>,
    width_ns: u64,
    buckets: Vec<Counts>,
}

impl Timeline {
    pub fn new(cap: usize) -> Self {
        Timeline {
            cap: cap.max(2),
            start_ns: None,
            width_ns: FIRST_WIDTH_NS,
            buckets: Vec::new(),
        }
    }

    /// Counts one event at `ts`. An event before the first one (the two
    /// directions of a connection are not ordered in time to the
    /// nanosecond) counts in the first bucket.
    pub fn add(&mut self, ts: Timestamp, series: Series) {
        self.reach(ts);
        let start = self.start_ns.unwrap_or_default();
        let offset = u128::try_from(ts.as_nanos() - start).unwrap_or(0);
        let index = (offset / u128::from(self.width_ns)) as usize;
        if let Some(b) = self.buckets.get_mut(index) {
            let one = |n: &mut u32| *n = n.saturating_add(1);
            match series {
                Series::Publish(Direction::ClientToServer) => one(&mut b.publish_c2s),
                Series::Publish(Direction::ServerToClient) => one(&mut b.publish_s2c),
                Series::Ack => one(&mut b.acks),
                Series::Finding => one(&mut b.findings),
            }
        }
    }

    /// The timeline reaches at least `ts` (the end of a connection or of
    /// the capture), without counting anything there; its start is `ts`
    /// if nothing came before.
    pub fn reach(&mut self, ts: Timestamp) {
        let ns = ts.as_nanos();
        let start = *self.start_ns.get_or_insert(ns);
        let offset = u128::try_from(ns - start).unwrap_or(0);
        let mut index = offset / u128::from(self.width_ns);
        while index >= self.cap as u128 {
            self.halve();
            index = offset / u128::from(self.width_ns);
        }
        let index = index as usize;
        if self.buckets.len() <= index {
            self.buckets.resize(index + 1, Counts::default());
        }
    }

    /// Doubles the bucket width: bucket `i` becomes `2i` + `2i+1`, in
    /// place (the vector keeps its capacity: merging allocates nothing).
    fn halve(&mut self) {
        let n = self.buckets.len().div_ceil(2);
        for i in 0..n {
            let mut c = Counts::default();
            for b in self
                .buckets
                .get(2 * i..(2 * i + 2).min(self.buckets.len()))
                .unwrap_or_default()
            {
                c.add(b);
            }
            if let Some(slot) = self.buckets.get_mut(i) {
                *slot = c;
            }
        }
        self.buckets.truncate(n);
        self.width_ns = self.width_ns.saturating_mul(2);
    }

    /// Time of the first bucket's start (ns since the epoch); `None` before any event.
    pub fn start_ns(&self) -> Option<i128> {
        self.start_ns
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
#[derive(Debug, Clone, Copy)]
pub struct Marker {
    pub ts: Timestamp,
    pub kind: FindingKind,
    pub frame: Option<u64>,
}

/// What the page shows of one connection over time.
#[derive(Debug, Clone)]
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

    /// Troubled first: errors, warnings, then traffic; the lower id on a tie.
    fn rank(&self) -> (u64, u64, u64, std::cmp::Reverse<ConnId>) {
        let t = self.timeline.total();
        let traffic = u64::from(t.publish_c2s) + u64::from(t.publish_s2c) + u64::from(t.acks);
        (
            self.problems.errors,
            self.problems.warnings,
            traffic,
            std::cmp::Reverse(self.id),
        )
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
                    // Raised after the close (a saved session given up).
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

    /// The timelines for the page, most troubled first (connections the
    /// capture ended without closing are ranked with the rest).
    pub fn finish(mut self) -> Timelines {
        let open: Vec<ConnTrack> = self.open.drain().map(|(_, c)| c).collect();
        self.kept.extend(open);
        self.prune();
        Timelines {
            capture: self.capture,
            connections: self.kept,
            seen: self.seen,
        }
    }
}

/// What [`Collector::finish`] hands the page.
#[derive(Debug)]
pub struct Timelines {
    pub capture: Timeline,
    /// At most [`KEPT`], most troubled first.
    pub connections: Vec<ConnTrack>,
    /// Connections that had a timeline.
    pub seen: u64,
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
        // Earlier than the first event: the first bucket.
        t.add(at(-5), Series::Ack);
        assert_eq!(t.buckets()[0].acks, 1);
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
}
