//! The public entry point of the analysis: a [`Tracker`] is fed the MQTT
//! events of every connection in capture order and answers, through a
//! callback, with [`AnalysisEvent`]s as soon as they are known — a flow that
//! concluded, a finding — and with an [`AnalysisSummary`] at the end.

use super::catalogue::FindingKind;
use super::finding::Finding;
use super::flow::{Flow, FlowLatency, FlowRecord, Outcome};
use super::latency::LatencyKey;
use super::rules;
use super::session::{Conn, ConnectionMqtt};
use super::store::SessionStore;
use super::summary::{AnalysisSummary, Tally};
use crate::base::{At, ConnId, Direction, Endpoint, Timestamp, Warning};
use crate::mqtt::{GapEvent, MalformedEvent, MqttEvent, PacketEvent, PacketType, ProtocolVersion};
use crate::tcp::Handshake;
use foldhash::HashMap;
use std::time::Duration;

/// What the analysis needs from the command line.
#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    /// An ack later than this is `late_ack`; in live mode a flow waiting
    /// longer becomes `missing_ack` (`--ack-timeout`). At the end of a
    /// capture, a flow that has waited less than this is "cut off", not missing.
    pub ack_timeout: Duration,
    /// Live capture: [`Tracker::tick`] reports overdue flows and silent clients.
    pub live: bool,
    /// Topics and clients listed one by one in the latency breakdowns.
    pub top_topics: usize,
    /// Open QoS > 0 flows followed per connection and direction (memory
    /// bound; hitting it is an `inflight_limit` finding and a warning).
    pub max_inflight_per_direction: usize,
    /// Findings kept for the summary; all are emitted as events anyway.
    pub max_findings: usize,
    /// Closed persistent sessions kept for a reconnect (memory bound).
    pub max_saved_sessions: usize,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            ack_timeout: Duration::from_secs(10),
            live: false,
            top_topics: 10,
            max_inflight_per_direction: 4096,
            max_findings: 10_000,
            max_saved_sessions: 10_000,
        }
    }
}

/// Something the analysis concluded, in capture order.
#[derive(Debug, Clone, Copy)]
pub enum AnalysisEvent<'a> {
    /// A QoS 1 / 2 flow concluded (completed or not): the jsonl `flow` event.
    Flow(&'a FlowRecord),
    /// A problem: the jsonl `finding` event.
    Finding(&'a Finding),
}

/// A live [`Tracker::tick`] looks at the open flows when the earliest
/// deadline is due, but at most once per this much capture time, so that
/// thousands of busy connections cannot make every tick a full scan.
pub(super) const TICK_EVERY_NS: u64 = 100_000_000;

/// The flow tracker: fed the MQTT events of every connection in capture
/// order, it answers through a callback with [`AnalysisEvent`]s as soon as
/// they are known, and with an [`AnalysisSummary`] at the end.
///
/// ## Wiring (what the pipeline calls)
///
/// ```text
/// tcp StreamEvent::Open { conn, client, server, frame, ts, midstream }
///     → tracker.connection_open(conn, client, server, frame, ts, handshake, midstream)
/// every mqtt::MqttEvent of that connection (any order of directions, capture order)
///     → tracker.mqtt_event(conn, &event, &mut out)
/// tcp StreamEvent::End { conn, frame, ts, how }   (after MqttConnection::on_close's events)
///     → let mqtt = tracker.connection_end(conn, frame, ts, how, &mut out)
///       (the report's connections[].mqtt; None if no MQTT packet was seen)
/// live capture, now and then (e.g. once per frame or per second of idle)
///     → tracker.tick(now, &mut out)
/// end of input (after the reassembler's finish)
///     → let summary = tracker.finish(&mut out)
/// after each call, like the reassembler's
///     → tracker.take_warnings()
/// ```
///
/// `mqtt_event` dispatches to [`Tracker::packet`], [`Tracker::malformed`],
/// [`Tracker::gap`] and [`Tracker::undecoded`] (resync, oversized and
/// truncated packets), which may also be called directly.
///
/// ```
/// use mqtt_inspect::analysis::{AnalysisConfig, AnalysisEvent, Tracker};
/// let mut tracker = Tracker::new(AnalysisConfig::default());
/// let mut out = |ev: AnalysisEvent<'_>| match ev {
///     AnalysisEvent::Flow(flow) => println!("{}", serde_json::to_string(flow).unwrap_or_default()),
///     AnalysisEvent::Finding(f) => eprintln!("{f}"),
/// };
/// // ... connection_open / mqtt_event / connection_end for every connection ...
/// let summary = tracker.finish(&mut out);
/// assert_eq!(summary.flows.qos1.completed, 0);
/// ```
pub struct Tracker {
    pub(super) cfg: AnalysisConfig,
    pub(super) timeout_ns: u64,
    pub(super) conns: HashMap<ConnId, Conn>,
    pub(super) store: SessionStore,
    pub(super) tally: Tally,
    pub(super) warnings: Vec<Warning>,
    /// Live mode: no scan before this time.
    pub(super) next_tick: Option<Timestamp>,
    /// The latest packet seen, for the connections `finish` has to end.
    pub(super) last: Option<At>,
}

/// The fold and the callback, borrowed together by the handlers.
pub(super) struct Env<'a, 'o> {
    pub cfg: &'a AnalysisConfig,
    pub timeout_ns: u64,
    pub tally: &'a mut Tally,
    pub warnings: &'a mut Vec<Warning>,
    pub out: &'a mut (dyn FnMut(AnalysisEvent<'_>) + 'o),
}

impl Env<'_, '_> {
    /// Reports a finding (an event now, and into the summary).
    pub fn raise(&mut self, f: Finding) {
        (self.out)(AnalysisEvent::Finding(&f));
        self.tally.finding(&f);
    }

    pub fn flow(&mut self, r: FlowRecord) {
        (self.out)(AnalysisEvent::Flow(&r));
        self.tally.flow(&r);
    }
}

/// Nanoseconds from `from` to `to`; `None` if the clock went backwards.
pub(super) fn ns_between(from: Timestamp, to: Timestamp) -> Option<u64> {
    let d = to.nanos_since(&from);
    if d < 0 {
        None
    } else {
        Some(u64::try_from(d).unwrap_or(u64::MAX))
    }
}

/// Milliseconds for messages.
pub(super) fn ms(ns: u64) -> String {
    let v = ns as f64 / 1e6;
    if v >= 1000.0 {
        format!("{:.3} s", v / 1000.0)
    } else {
        format!("{v:.3} ms")
    }
}

/// Frames sorted and deduplicated, `last` appended last.
pub(super) fn frames_then(mut frames: Vec<u64>, last: u64) -> Vec<u64> {
    frames.retain(|&f| f != last);
    frames.sort_unstable();
    frames.dedup();
    frames.push(last);
    frames
}

/// The record of a concluded flow.
pub(super) fn record(
    flow: Flow,
    client_id: Option<&str>,
    complete: bool,
    outcome: Option<Outcome>,
    reason_code: Option<u8>,
) -> FlowRecord {
    let expected = (!complete && outcome != Some(Outcome::WrongAck)).then(|| flow.stage.expected());
    let connections = if flow.connections.len() > 1 {
        flow.connections.clone()
    } else {
        Vec::new()
    };
    FlowRecord {
        connection: flow.origin(),
        direction: flow.dir,
        packet_id: flow.id,
        qos: flow.qos,
        frames: flow.frames,
        latency_ms: FlowLatency {
            samples: flow.samples.samples,
        },
        complete,
        outcome,
        reason_code,
        expected,
        topic: flow.topic.into(),
        client_id: client_id.map(str::to_string),
        connections,
        resends: flow.resends,
    }
}

/// `missing_ack` for a flow that will not get its next ack, and its record.
///
/// `why` completes "… never got its PUBACK: {why}". A flow whose ack may
/// have been in bytes the capture lost is concluded as unverifiable, without
/// a finding; one already reported (live timeout) only gets its record.
pub(super) fn give_up(
    env: &mut Env<'_, '_>,
    flow: Flow,
    client_id: Option<&str>,
    version: Option<ProtocolVersion>,
    why: &str,
    ts: Timestamp,
) {
    if flow.reported_missing {
        env.flow(record(flow, client_id, false, Some(Outcome::Missing), None));
        return;
    }
    if flow.ack_maybe_lost {
        env.flow(record(
            flow,
            client_id,
            false,
            Some(Outcome::Unverifiable),
            None,
        ));
        return;
    }
    env.raise(missing_finding(&flow, client_id, version, why, ts));
    env.flow(record(flow, client_id, false, Some(Outcome::Missing), None));
}

/// The `missing_ack` finding of `flow`.
pub(super) fn missing_finding(
    flow: &Flow,
    client_id: Option<&str>,
    version: Option<ProtocolVersion>,
    why: &str,
    ts: Timestamp,
) -> Finding {
    let expected = flow.stage.expected();
    let what = if flow.stage == super::qos::Stage::AwaitPubcomp {
        format!("QoS 2 PUBREL id {}", flow.id)
    } else if flow.stage == super::qos::Stage::AwaitPubrel {
        format!("QoS 2 PUBREC id {}", flow.id)
    } else {
        format!("QoS {} PUBLISH id {}", flow.qos, flow.id)
    };
    let waiter = if expected == PacketType::Pubrel {
        "the sender never sent"
    } else {
        "never got"
    };
    let message = format!(
        "{what} (topic {:?}): {waiter} its {expected}: {why}",
        &*flow.topic
    );
    Finding::new(
        FindingKind::MissingAck,
        flow.origin(),
        flow.dir,
        flow.frames.clone(),
        ts,
        message,
    )
    .cites(rules::ack_duty(expected, version))
    .packet_id(flow.id)
    .expected(expected)
    .client(client_id)
    .topic(&*flow.topic)
}

impl Tracker {
    pub fn new(cfg: AnalysisConfig) -> Self {
        let timeout_ns = u64::try_from(cfg.ack_timeout.as_nanos()).unwrap_or(u64::MAX);
        let tally = Tally::new(cfg.max_findings, cfg.top_topics);
        let store = SessionStore::new(cfg.max_saved_sessions);
        Tracker {
            cfg,
            timeout_ns,
            conns: HashMap::default(),
            store,
            tally,
            warnings: Vec::new(),
            next_tick: None,
            last: None,
        }
    }

    pub(super) fn split<'a, 'o>(
        &'a mut self,
        out: &'a mut (dyn FnMut(AnalysisEvent<'_>) + 'o),
    ) -> (
        &'a mut HashMap<ConnId, Conn>,
        &'a mut SessionStore,
        Env<'a, 'o>,
    ) {
        (
            &mut self.conns,
            &mut self.store,
            Env {
                cfg: &self.cfg,
                timeout_ns: self.timeout_ns,
                tally: &mut self.tally,
                warnings: &mut self.warnings,
                out,
            },
        )
    }

    /// A TCP connection that carries (or may carry) MQTT begins. `midstream`:
    /// the capture did not see it start, so acks of earlier PUBLISHes and
    /// packets before an uncaptured CONNECT are expected, not faults.
    #[allow(clippy::too_many_arguments)]
    pub fn connection_open(
        &mut self,
        conn: ConnId,
        client: Endpoint,
        _server: Endpoint,
        _frame: u64,
        _ts: Timestamp,
        handshake: Option<&Handshake>,
        midstream: bool,
    ) {
        // A connection already known (packets reported before its opening)
        // keeps what was learnt.
        self.conns
            .entry(conn)
            .or_insert_with(|| Conn::new(conn, Some(client), midstream));
        if let Some(ns) = handshake.and_then(|h| h.rtt_ns) {
            self.tally
                .latency(LatencyKey::TcpHandshake, None, None, None, ns);
        }
    }

    /// One event of the MQTT layer for connection `conn`.
    pub fn mqtt_event(
        &mut self,
        conn: ConnId,
        ev: &MqttEvent<'_>,
        out: &mut dyn FnMut(AnalysisEvent<'_>),
    ) {
        match ev {
            MqttEvent::Packet(p) => self.packet(conn, p, out),
            MqttEvent::Malformed(m) => self.malformed(conn, m, out),
            MqttEvent::Gap(g) => self.gap(conn, g, out),
            MqttEvent::Resync(r) => self.undecoded(conn, r.dir, r.ts),
            MqttEvent::Oversized(o) => self.undecoded(conn, o.dir, o.ts),
            MqttEvent::Truncated(t) => self.undecoded(conn, t.dir, t.ts),
        }
    }

    /// The connection's state, created for a connection never opened
    /// (treated as picked up mid-stream).
    pub(super) fn conn_mut(&mut self, conn: ConnId) -> &mut Conn {
        self.conns
            .entry(conn)
            .or_insert_with(|| Conn::new(conn, None, true))
    }

    /// A decoded packet.
    pub fn packet(
        &mut self,
        conn: ConnId,
        ev: &PacketEvent<'_>,
        out: &mut dyn FnMut(AnalysisEvent<'_>),
    ) {
        let at = At {
            frame: ev.frame,
            ts: ev.ts,
        };
        if self.last.is_none_or(|l| at.ts >= l.ts) {
            self.last = Some(at);
        }
        self.conn_mut(conn);
        let (conns, store, mut env) = self.split(out);
        let Some(c) = conns.get_mut(&conn) else {
            return;
        };
        super::control::on_packet(c, store, &mut env, ev);
        if self.cfg.live {
            self.arm_tick(conn);
        }
    }

    /// Bytes that do not decode as a packet: `malformed_packet`. What they
    /// carried is unknown, so acks that match nothing in this direction's
    /// flows are no longer proof of a fault.
    pub fn malformed(
        &mut self,
        conn: ConnId,
        ev: &MalformedEvent,
        out: &mut dyn FnMut(AnalysisEvent<'_>),
    ) {
        self.conn_mut(conn);
        let (conns, _, mut env) = self.split(out);
        let Some(c) = conns.get_mut(&conn) else {
            return;
        };
        c.unsure[ev.dir] = Some(ev.ts);
        let what = ev.error.packet_type.map_or("packet", |t| t.as_str());
        let rule = rules::malformed(&ev.error.reason, c.rules_version());
        let frames = frames_then(vec![ev.start_frame], ev.frame);
        env.raise(
            c.finding(
                FindingKind::MalformedPacket,
                ev.dir,
                frames,
                ev.ts,
                format!("{what} does not decode: {}", ev.error),
            )
            .cites(rule),
        );
    }

    /// Bytes missing from the capture: `tcp_gap`.
    pub fn gap(&mut self, conn: ConnId, ev: &GapEvent, out: &mut dyn FnMut(AnalysisEvent<'_>)) {
        self.conn_mut(conn);
        let (conns, _, mut env) = self.split(out);
        let Some(c) = conns.get_mut(&conn) else {
            return;
        };
        c.unsure[ev.dir] = Some(ev.ts);
        let lost = match ev.lost {
            Some(t) => format!("; a {t} packet was cut by it"),
            None => String::new(),
        };
        let resumed = if ev.resync {
            "decoding resumed at the next packet boundary found"
        } else {
            "decoding resumed after it"
        };
        let text = format!(
            "{} bytes of the {} stream are missing from the capture (lost by the capture, not necessarily by the peers){lost}; {resumed}",
            ev.missing,
            ev.dir.as_str()
        );
        env.raise(c.finding(FindingKind::TcpGap, ev.dir, vec![ev.frame], ev.ts, text));
    }

    /// Bytes of `dir` were not decoded (skipped while resynchronising, a
    /// packet too large to buffer, a stream cut inside a packet): packets
    /// may have been lost, so unmatched acks are not faults any more.
    pub fn undecoded(&mut self, conn: ConnId, dir: Direction, ts: Timestamp) {
        self.conn_mut(conn).unsure[dir] = Some(ts);
    }

    /// The MQTT side of an open connection so far.
    pub fn connection_mqtt(&self, conn: ConnId) -> Option<ConnectionMqtt> {
        self.conns
            .get(&conn)
            .filter(|c| c.has_mqtt())
            .map(Conn::mqtt_summary)
    }

    /// Warnings since the last call (caps hit).
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    /// Connections currently followed.
    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }

    /// Closed sessions currently kept for a reconnect.
    pub fn saved_sessions(&self) -> usize {
        self.store.len()
    }

    /// The summary so far (without ending anything).
    pub fn summary(&self) -> AnalysisSummary {
        self.tally.summary()
    }
}
