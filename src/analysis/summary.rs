//! The analysis part of the end-of-run summary, folded from the events as
//! they are emitted ([`Tally`]) and handed out as an [`AnalysisSummary`].
//!
//! The report writes the fields of an [`AnalysisSummary`] into the
//! contract's top-level JSON object (`report::schema`): `flows`, `latency`
//! and `findings` are the contract's; the others extend it.
//!
//! ```json
//! {
//!   "flows": {"qos1": {"completed": 14, "incomplete": 8, "with_error": 0, "redelivered": 0,
//!                      "missing": 8, "cut_off": 0, "unverifiable": 0, "wrong_ack": 0,
//!                      "superseded": 0},
//!             "qos2": {"completed": 2, "incomplete": 4, "...": 0}},
//!   "flows_by_direction": {"client_to_server": {"qos1": {}, "qos2": {}},
//!                          "server_to_client": {"qos1": {}, "qos2": {}}},
//!   "qos0_messages": {"total": 3, "client_to_server": 2, "server_to_client": 1},
//!   "latency": {"connack": {"count": 2, "min_ms": 0.07, "mean_ms": 0.16, "p50_ms": 0.07,
//!                           "p90_ms": 0.25, "p99_ms": 0.25, "max_ms": 0.25},
//!               "puback": {"...": 0}},
//!   "latency_by_direction": {"client_to_server": {"puback": {}}, "server_to_client": {}},
//!   "latency_by_client": {"clients": [{"client_id": "burst-pub", "packets": 40,
//!                                      "latency": {"puback": {}}}],
//!                         "other": {"clients": 3, "packets": 12, "latency": {}},
//!                         "approximate": false},
//!   "latency_by_topic": {"topics": [{"topic": "burst/q1", "messages": 28,
//!                                    "latency": {"puback": {}}}],
//!                        "approximate": false},
//!   "findings": [{"kind": "missing_ack", "severity": "error", "connection": 1,
//!                 "direction": "client_to_server", "packet_id": 10, "expected": "PUBACK",
//!                 "frames": [74], "ts": 1795621200.123456, "rule": "MQTT-4.3.2-2",
//!                 "client_id": "burst-pub", "topic": "burst/q1",
//!                 "message": "QoS 1 PUBLISH id 10 (topic \"burst/q1\"): never got its PUBACK: ..."}],
//!   "findings_by_kind": {"missing_ack": 12},
//!   "findings_by_severity": {"error": 12},
//!   "findings_dropped": 0,
//!   "analysis": {"acks_without_publish": 0, "requests_unanswered_at_close": 0,
//!                "flows_not_tracked": 0, "sessions_saved": 0, "sessions_resumed": 0,
//!                "sessions_discarded": 0, "sessions_evicted": 0, "negative_latencies": 0}
//! }
//! ```

use super::catalogue::{FindingKind, Severity};
use super::finding::Finding;
use super::flow::{FlowRecord, Outcome};
use super::latency::{LatencyKey, LatencySet, Precision};
use super::topk::{Breakdown, BreakdownReport};
use crate::base::{Direction, PerDir, Timestamp};
use std::collections::BTreeMap;

/// Flows of one QoS (and direction). `completed + incomplete` is every
/// tracked flow; the other counters break them down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowCounts {
    /// Reached the last ack (PUBACK, PUBCOMP, or an error reason code that ends the flow).
    pub completed: u64,
    /// Did not.
    pub incomplete: u64,
    /// Of `completed`: ended by a 5.0 reason code ≥ 0x80.
    pub with_error: u64,
    /// Of `completed`: finished on a later connection of the same session.
    pub redelivered: u64,
    /// Of `incomplete`: reported as `missing_ack`.
    pub missing: u64,
    /// Of `incomplete`: still waiting (less than the ack timeout) when the capture ended.
    pub cut_off: u64,
    /// Of `incomplete`: the ack may have been in bytes the capture lost.
    pub unverifiable: u64,
    /// Of `incomplete`: ended by an ack of the wrong type.
    pub wrong_ack: u64,
    /// Of `incomplete`: replaced by a new PUBLISH with the same packet identifier.
    pub superseded: u64,
}

impl FlowCounts {
    fn count(&mut self, complete: bool, outcome: Option<Outcome>) {
        if complete {
            self.completed += 1;
        } else {
            self.incomplete += 1;
        }
        match outcome {
            Some(Outcome::Error) => self.with_error += 1,
            Some(Outcome::Redelivered) => self.redelivered += 1,
            Some(Outcome::Missing) => self.missing += 1,
            Some(Outcome::CutOff) => self.cut_off += 1,
            Some(Outcome::Unverifiable) => self.unverifiable += 1,
            Some(Outcome::WrongAck) => self.wrong_ack += 1,
            Some(Outcome::Superseded) => self.superseded += 1,
            None => {}
        }
    }

    fn add(&mut self, o: &FlowCounts) {
        self.completed += o.completed;
        self.incomplete += o.incomplete;
        self.with_error += o.with_error;
        self.redelivered += o.redelivered;
        self.missing += o.missing;
        self.cut_off += o.cut_off;
        self.unverifiable += o.unverifiable;
        self.wrong_ack += o.wrong_ack;
        self.superseded += o.superseded;
    }
}

/// The contract's `flows` object: `{"qos1": {...}, "qos2": {...}}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowsByQos {
    pub qos1: FlowCounts,
    pub qos2: FlowCounts,
}

impl FlowsByQos {
    fn slot(&mut self, qos: u8) -> &mut FlowCounts {
        if qos == 2 {
            &mut self.qos2
        } else {
            &mut self.qos1
        }
    }
}

/// QoS 0 PUBLISHes: counted, not tracked (nothing acknowledges them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Qos0Counts {
    pub total: u64,
    pub client_to_server: u64,
    pub server_to_client: u64,
}

/// What the analysis had to skip or work around (the `analysis` object).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnalysisCounters {
    /// Acks with no matching request where the request may predate the
    /// capture (mid-stream pickup) or sit in bytes the capture lost: not
    /// reported as `unexpected_ack`.
    pub acks_without_publish: u64,
    /// SUBSCRIBE / UNSUBSCRIBE / PINGREQ still unanswered when their
    /// connection closed less than the ack timeout after them.
    pub requests_unanswered_at_close: u64,
    /// QoS > 0 PUBLISHes not followed because `max_inflight_per_direction` was reached.
    pub flows_not_tracked: u64,
    /// Connections whose open flows were kept for a later connection of the session.
    pub sessions_saved: u64,
    /// Saved sessions picked up again (CONNACK session present = 1).
    pub sessions_resumed: u64,
    /// Saved sessions the broker discarded (clean start, session present = 0).
    pub sessions_discarded: u64,
    /// Saved sessions dropped because too many were kept at once (their flows
    /// were reported as `missing_ack`).
    pub sessions_evicted: u64,
    /// Latency samples dropped because the capture's clock went backwards.
    pub negative_latencies: u64,
}

impl AnalysisCounters {
    fn add(&mut self, o: &AnalysisCounters) {
        self.acks_without_publish += o.acks_without_publish;
        self.requests_unanswered_at_close += o.requests_unanswered_at_close;
        self.flows_not_tracked += o.flows_not_tracked;
        self.sessions_saved += o.sessions_saved;
        self.sessions_resumed += o.sessions_resumed;
        self.sessions_discarded += o.sessions_discarded;
        self.sessions_evicted += o.sessions_evicted;
        self.negative_latencies += o.negative_latencies;
    }
}

/// The analysis results (see the module docs for how the report embeds them).
#[derive(Debug, Clone)]
pub struct AnalysisSummary {
    pub flows: FlowsByQos,
    pub flows_by_direction: PerDir<FlowsByQos>,
    pub qos0_messages: Qos0Counts,
    pub latency: LatencySet,
    /// Each direction's latencies (of the PUBLISH for flows; requests
    /// (CONNECT, SUBSCRIBE, ...) always travel client → server).
    pub latency_by_direction: PerDir<LatencySet>,
    pub latency_by_client: ClientLatency,
    pub latency_by_topic: TopicLatency,
    /// The first `max_findings` findings (all of them were emitted as events).
    pub findings: Vec<Finding>,
    /// Every finding, by kind.
    pub findings_by_kind: BTreeMap<FindingKind, u64>,
    /// Every finding, by severity name.
    pub findings_by_severity: BTreeMap<Severity, u64>,
    /// Findings emitted but not kept in `findings`.
    pub findings_dropped: u64,
    pub analysis: AnalysisCounters,
}

impl AnalysisSummary {
    /// How many findings of `kind` there were.
    pub fn count(&self, kind: FindingKind) -> u64 {
        self.findings_by_kind.get(&kind).copied().unwrap_or(0)
    }

    /// The worst severity among all findings.
    pub fn worst(&self) -> Option<Severity> {
        [Severity::Error, Severity::Warning, Severity::Info]
            .into_iter()
            .find(|s| self.findings_by_severity.contains_key(s))
    }
}

/// `latency_by_client`:
/// `{"clients": [{"client_id", "packets", "latency"}], "other": {"clients", "packets", "latency"}, "approximate"}`.
///
/// The top `top_n` client identifiers by MQTT packets (both directions of
/// all their connections); `other` holds the rest, and connections whose
/// client identifier is unknown (no CONNECT captured). `approximate` is
/// true when more distinct clients were seen than could be followed one by
/// one (see `topk`). `other` is left out when empty.
#[derive(Debug, Clone)]
pub struct ClientLatency(pub BreakdownReport);

/// `latency_by_topic`:
/// `{"topics": [{"topic", "messages", "latency"}], "other": {"topics", "messages", "latency"}, "approximate"}`.
///
/// The top `top_n` topics by PUBLISH packets (all QoS, both directions),
/// with their flow latencies (`puback`, `pubrec`, `pubrel`, `pubcomp`,
/// `qos2_total`).
#[derive(Debug, Clone)]
pub struct TopicLatency(pub BreakdownReport);

/// What happened in one interval of a long run (`--stats-interval`): the
/// jsonl `stats` event and the Prometheus view's recent figures.
#[derive(Debug, Clone)]
pub struct IntervalStats {
    /// When the interval began (the previous report, or the first packet).
    pub from: Option<Timestamp>,
    /// PUBLISH packets, all QoS, both directions.
    pub messages: u64,
    pub flows: FlowsByQos,
    pub findings_by_kind: BTreeMap<FindingKind, u64>,
    /// Latencies measured in the interval (2 significant digits).
    pub latency: LatencySet,
}

impl IntervalStats {
    fn new(from: Option<Timestamp>) -> Self {
        IntervalStats {
            from,
            messages: 0,
            flows: FlowsByQos::default(),
            findings_by_kind: BTreeMap::new(),
            latency: LatencySet::new(Precision::Coarse),
        }
    }
}

/// Topics / clients followed one by one, per reported entry.
const TRACKED_PER_REPORTED: usize = 4;
/// At least this many are followed, whatever `top_n`.
const MIN_TRACKED: usize = 32;

/// The running fold behind the summary.
#[derive(Debug)]
pub struct Tally {
    max_findings: usize,
    top_n: usize,
    flows: PerDir<FlowsByQos>,
    qos0: Qos0Counts,
    latency: LatencySet,
    latency_by_dir: PerDir<LatencySet>,
    clients: Breakdown,
    topics: Breakdown,
    findings: Vec<Finding>,
    by_kind: BTreeMap<FindingKind, u64>,
    by_severity: BTreeMap<Severity, u64>,
    findings_dropped: u64,
    pub counters: AnalysisCounters,
    /// The figures of the current interval (see [`Tally::take_interval`]).
    interval: IntervalStats,
}

impl Tally {
    /// The current interval's figures, `to` ending it; the next starts now.
    pub fn take_interval(&mut self, to: Timestamp) -> IntervalStats {
        std::mem::replace(&mut self.interval, IntervalStats::new(Some(to)))
    }

    pub fn new(max_findings: usize, top_n: usize) -> Self {
        let tracked = top_n.saturating_mul(TRACKED_PER_REPORTED).max(MIN_TRACKED);
        Tally {
            max_findings,
            top_n,
            flows: PerDir::default(),
            qos0: Qos0Counts::default(),
            latency: LatencySet::new(Precision::Fine),
            latency_by_dir: PerDir {
                client_to_server: LatencySet::new(Precision::Fine),
                server_to_client: LatencySet::new(Precision::Fine),
            },
            clients: Breakdown::new(tracked),
            topics: Breakdown::new(tracked),
            findings: Vec::new(),
            by_kind: BTreeMap::new(),
            by_severity: BTreeMap::new(),
            findings_dropped: 0,
            counters: AnalysisCounters::default(),
            interval: IntervalStats::new(None),
        }
    }

    /// Counts a finding; keeps it if there is room.
    pub fn finding(&mut self, f: &Finding) {
        *self.by_kind.entry(f.kind).or_default() += 1;
        *self.by_severity.entry(f.severity).or_default() += 1;
        *self.interval.findings_by_kind.entry(f.kind).or_default() += 1;
        if self.findings.len() < self.max_findings {
            self.findings.push(f.clone());
        } else {
            self.findings_dropped += 1;
        }
    }

    /// Findings raised so far, all kinds.
    pub fn findings_total(&self) -> u64 {
        self.by_kind.values().sum()
    }

    /// Counts a concluded flow.
    pub fn flow(&mut self, r: &FlowRecord) {
        self.flows[r.direction]
            .slot(r.qos)
            .count(r.complete, r.outcome);
        self.interval.flows.slot(r.qos).count(r.complete, r.outcome);
    }

    pub fn qos0(&mut self, dir: Direction) {
        self.qos0.total += 1;
        match dir {
            Direction::ClientToServer => self.qos0.client_to_server += 1,
            Direction::ServerToClient => self.qos0.server_to_client += 1,
        }
    }

    /// A packet of `client` (for the per-client volume).
    pub fn client_packet(&mut self, client: Option<&str>) {
        if let Some(c) = client {
            self.clients.add_volume(c, 1);
        }
    }

    /// A PUBLISH on `topic` (for the per-topic volume).
    pub fn topic_message(&mut self, topic: &str) {
        self.interval.messages += 1;
        self.topics.add_volume(topic, 1);
    }

    /// A latency sample, filed overall, per direction, client and topic.
    pub fn latency(
        &mut self,
        key: LatencyKey,
        dir: Option<Direction>,
        client: Option<&str>,
        topic: Option<&str>,
        ns: u64,
    ) {
        self.latency.record(key, ns);
        self.interval.latency.record(key, ns);
        if let Some(d) = dir {
            self.latency_by_dir[d].record(key, ns);
        }
        if key != LatencyKey::TcpHandshake {
            match client {
                Some(c) => self.clients.record(c, key, ns),
                // Unknown client: the `other` bucket.
                None => self.clients.record_other(key, ns),
            }
        }
        if let Some(t) = topic {
            self.topics.record(t, key, ns);
        }
    }

    /// Adds everything `other` counted (another shard of the same run, or
    /// another capture): counts, flows, findings, latency histograms and
    /// breakdowns. `other`'s findings are kept after this one's, within
    /// `max_findings`.
    pub fn merge(&mut self, other: &Tally) {
        for (mine, theirs) in self.flows.values_mut().zip(other.flows.values()) {
            mine.qos1.add(&theirs.qos1);
            mine.qos2.add(&theirs.qos2);
        }
        self.qos0.total += other.qos0.total;
        self.qos0.client_to_server += other.qos0.client_to_server;
        self.qos0.server_to_client += other.qos0.server_to_client;
        self.latency.merge(&other.latency);
        for (mine, theirs) in self
            .latency_by_dir
            .values_mut()
            .zip(other.latency_by_dir.values())
        {
            mine.merge(theirs);
        }
        self.clients.merge(&other.clients);
        self.topics.merge(&other.topics);
        for f in &other.findings {
            if self.findings.len() < self.max_findings {
                self.findings.push(f.clone());
            } else {
                self.findings_dropped += 1;
            }
        }
        self.findings_dropped += other.findings_dropped;
        for (k, n) in &other.by_kind {
            *self.by_kind.entry(*k).or_default() += n;
        }
        for (k, n) in &other.by_severity {
            *self.by_severity.entry(*k).or_default() += n;
        }
        self.counters.add(&other.counters);
    }

    pub fn summary(&self) -> AnalysisSummary {
        let mut flows = FlowsByQos::default();
        for d in [&self.flows.client_to_server, &self.flows.server_to_client] {
            flows.qos1.add(&d.qos1);
            flows.qos2.add(&d.qos2);
        }
        AnalysisSummary {
            flows,
            flows_by_direction: self.flows,
            qos0_messages: self.qos0,
            latency: self.latency.clone(),
            latency_by_direction: self.latency_by_dir.clone(),
            latency_by_client: ClientLatency(self.clients.report(self.top_n)),
            latency_by_topic: TopicLatency(self.topics.report(self.top_n)),
            findings: self.findings.clone(),
            findings_by_kind: self.by_kind.clone(),
            findings_by_severity: self.by_severity.clone(),
            findings_dropped: self.findings_dropped,
            analysis: self.counters,
        }
    }
}
