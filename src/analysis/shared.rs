//! The analysis state that spans connections, and the entry points the
//! connection owner calls.
//!
//! Each connection's own analysis state is a [`ConnAnalysis`], owned by
//! whoever owns the connection (the pipeline's connection owner, beside the
//! connection's MQTT decoder). What outlives a connection or sums over all
//! of them — sessions saved for a reconnect, the tallies, latency
//! histograms and per-client / per-topic breakdowns, the findings kept for
//! the summary — is the [`Shared`] service here. A connection and its
//! [`ConnAnalysis`] are `Send`, and two [`Shared`] can be merged, so
//! connections can be analysed on several threads.
//!
//! ## Wiring (what the connection owner calls)
//!
//! ```text
//! the connection's sides are known
//!     → let mut c = shared.open(conn, client, handshake, midstream)
//! every mqtt::MqttEvent of that connection (capture order)
//!     → shared.mqtt_event(&mut c, &event, &mut out)
//! the TCP connection ended (after MqttConnection::on_close's events)
//!     → let mqtt = shared.end(c, at, how, &mut out)
//!       (the report's connections[].mqtt; None if no MQTT packet was seen)
//! live capture, now and then (a frame or an idle turn of the source)
//!     → if shared.tick_due(now) { shared.tick(now, all connections, &mut out) }
//! end of input (after every connection ended)
//!     → let summary = shared.finish(&mut out)
//! after each call
//!     → shared.take_warnings()
//! ```

use super::catalogue::FindingKind;
use super::conn::ConnAnalysis;
use super::env::{Env, frames_then, give_up};
use super::finding::Finding;
use super::flow::FlowRecord;
use super::latency::LatencyKey;
use super::rules;
use super::select::Selection;
use super::store::SessionStore;
use super::summary::{AnalysisSummary, IntervalStats, Tally};
use crate::base::{At, ConnId, Direction, Endpoint, Peers, Timestamp, Warning};
use crate::mqtt::{GapEvent, MalformedEvent, MqttEvent, PacketEvent};
use crate::tcp::Handshake;
use std::time::Duration;

/// What the analysis needs from the command line.
#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    /// An ack later than this is `late_ack`; in live mode a flow waiting
    /// longer becomes `missing_ack` (`--ack-timeout`). At the end of a
    /// capture, a flow that has waited less than this is "cut off", not missing.
    pub ack_timeout: Duration,
    /// Live capture: [`Shared::tick`] reports overdue flows and silent clients.
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
    /// What is reported and counted (`--connection`, `--client`,
    /// `--topic`, `--kind`); the analysis itself sees everything.
    pub select: Selection,
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
            select: Selection::default(),
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

/// The analysis state shared by all connections (module docs): sessions
/// saved for a reconnect, the summary's fold, warnings, the live timer.
#[derive(Debug)]
pub struct Shared {
    pub(super) cfg: AnalysisConfig,
    pub(super) timeout_ns: u64,
    pub(super) store: SessionStore,
    pub(super) tally: Tally,
    pub(super) warnings: Vec<Warning>,
    /// Live mode: no scan before this time.
    pub(super) next_tick: Option<Timestamp>,
    /// The latest packet seen, for the connections and sessions `finish` ends.
    pub(super) last: Option<At>,
}

impl Shared {
    pub fn new(cfg: AnalysisConfig) -> Self {
        let timeout_ns = u64::try_from(cfg.ack_timeout.as_nanos()).unwrap_or(u64::MAX);
        let tally = Tally::new(cfg.max_findings, cfg.top_topics);
        let store = SessionStore::new(cfg.max_saved_sessions);
        Shared {
            cfg,
            timeout_ns,
            store,
            tally,
            warnings: Vec::new(),
            next_tick: None,
            last: None,
        }
    }

    /// The saved sessions and the handlers' environment, borrowed apart.
    pub(super) fn split<'a, 'o>(
        &'a mut self,
        out: &'a mut (dyn FnMut(AnalysisEvent<'_>) + 'o),
    ) -> (&'a mut SessionStore, Env<'a, 'o>) {
        (
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

    /// A TCP connection that carries (or may carry) MQTT begins: its
    /// analysis state. `midstream`: the capture did not see it start, so
    /// acks of earlier PUBLISHes and packets before an uncaptured CONNECT
    /// are expected, not faults.
    pub fn open(
        &mut self,
        conn: ConnId,
        client: Endpoint,
        server: Endpoint,
        handshake: Option<&Handshake>,
        midstream: bool,
    ) -> ConnAnalysis {
        let mut c =
            ConnAnalysis::new(conn, Some(client), midstream).between(Peers::new(client, server));
        if let Some(ns) = handshake.and_then(|h| h.rtt_ns) {
            let sel = &self.cfg.select;
            if !sel.clients.is_empty() {
                // Whose it is is known at the CONNECT ([`Shared::packet`]).
                c.handshake_ns = Some(ns);
            } else if sel.traffic(conn, None, None) {
                self.tally
                    .latency(LatencyKey::TcpHandshake, None, None, None, ns);
            }
        }
        c
    }

    /// What the run reports on.
    pub fn select(&self) -> &Selection {
        &self.cfg.select
    }

    /// Whether packet `ev` of connection `c` is reported, decided before
    /// the analysis takes it in (its ack's flow is still open then). The
    /// client is the CONNECT's own identifier for a CONNECT, else the one
    /// the connection has; an ack's topic is its flow's.
    pub fn selects_packet(&self, c: &ConnAnalysis, ev: &PacketEvent<'_>) -> bool {
        let sel = &self.cfg.select;
        if sel.is_all() {
            return true;
        }
        let client = match ev.packet {
            crate::mqtt::Packet::Connect(x) if !x.client_id.is_empty() => Some(x.client_id),
            _ => c.client_id(),
        };
        sel.connection(c.id, client) && (sel.topics.is_empty() || sel.topic(c.topic_of(ev)))
    }

    /// Whether undecodable bytes of connection `c` are reported: they
    /// belong to no topic.
    pub fn selects_malformed(&self, c: &ConnAnalysis) -> bool {
        self.cfg.select.traffic(c.id, c.client_id(), None)
    }

    /// One event of the MQTT layer of connection `c`.
    pub fn mqtt_event(
        &mut self,
        c: &mut ConnAnalysis,
        ev: &MqttEvent<'_>,
        out: &mut dyn FnMut(AnalysisEvent<'_>),
    ) {
        match ev {
            MqttEvent::Packet(p) => self.packet(c, p, out),
            MqttEvent::Malformed(m) => self.malformed(c, m, out),
            MqttEvent::Gap(g) => self.gap(c, g, out),
            MqttEvent::Resync(r) => c.undecoded(r.dir, r.ts),
            MqttEvent::Oversized(o) => c.undecoded(o.dir, o.ts),
            MqttEvent::Truncated(t) => c.undecoded(t.dir, t.ts),
        }
    }

    /// A decoded packet.
    pub fn packet(
        &mut self,
        c: &mut ConnAnalysis,
        ev: &PacketEvent<'_>,
        out: &mut dyn FnMut(AnalysisEvent<'_>),
    ) {
        let at = ev.at();
        if self.last.is_none_or(|l| at.ts >= l.ts) {
            self.last = Some(at);
        }
        let kept = self.selects_packet(c, ev);
        let (store, mut env) = self.split(out);
        super::control::on_packet(c, store, &mut env, ev);
        if kept {
            // The volume per client counts reported packets.
            self.tally.client_packet(c.client_id());
        }
        if let Some(ns) = c.handshake_ns
            && c.client_id().is_some()
        {
            c.handshake_ns = None;
            if self.cfg.select.traffic(c.id, c.client_id(), None) {
                self.tally
                    .latency(LatencyKey::TcpHandshake, None, None, None, ns);
            }
        }
        if self.cfg.live {
            self.arm_tick(c);
        }
    }

    /// Bytes that do not decode as a packet: `malformed_packet`. What they
    /// carried is unknown, so acks that match nothing in this direction's
    /// flows are no longer proof of a fault.
    pub fn malformed(
        &mut self,
        c: &mut ConnAnalysis,
        ev: &MalformedEvent,
        out: &mut dyn FnMut(AnalysisEvent<'_>),
    ) {
        let (_, mut env) = self.split(out);
        c.unsure[ev.dir] = Some(ev.ts);
        let what = ev.error.packet_type.map_or("packet", |t| t.as_str());
        let rule = rules::malformed(&ev.error.reason, c.rules_version());
        let frames = frames_then(vec![ev.start_frame], ev.frame);
        let text = format!("{what} does not decode: {}", ev.error);
        env.raise(
            c.finding(FindingKind::MalformedPacket, ev.dir, ev.at(), text)
                .frames(frames)
                .cites(rule),
        );
    }

    /// Bytes missing from the capture: `tcp_gap`.
    pub fn gap(
        &mut self,
        c: &mut ConnAnalysis,
        ev: &GapEvent,
        out: &mut dyn FnMut(AnalysisEvent<'_>),
    ) {
        let (_, mut env) = self.split(out);
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
        env.raise(c.finding(FindingKind::TcpGap, ev.dir, ev.at(), text));
    }

    /// A finding of a layer below MQTT (WebSocket, TLS) on connection `c`.
    /// `lost_data`: MQTT bytes of `dir` went missing with it (a dropped
    /// frame, a record that does not decrypt), so acks there that match
    /// nothing are no longer proof of a fault — as after a gap.
    #[allow(clippy::too_many_arguments)]
    pub fn layer_finding(
        &mut self,
        c: &mut ConnAnalysis,
        kind: FindingKind,
        dir: Direction,
        at: At,
        text: String,
        lost_data: bool,
        out: &mut dyn FnMut(AnalysisEvent<'_>),
    ) {
        if lost_data {
            c.unsure[dir] = Some(at.ts);
        }
        let (_, mut env) = self.split(out);
        env.raise(c.finding(kind, dir, at, text));
    }

    /// MQTT bytes of `dir` were lost below MQTT without a finding of their
    /// own (a TLS record that does not decrypt: its warning says so): as
    /// [`Shared::layer_finding`]'s `lost_data`, acks there that match
    /// nothing are no longer proof of a fault.
    pub fn layer_lost(&mut self, c: &mut ConnAnalysis, dir: Direction, at: At) {
        c.unsure[dir] = Some(at.ts);
    }

    /// What happens next is the `order`-th call of the run (an analysis
    /// worker of `--threads`): sessions saved from now on sort after
    /// everything earlier when shards merge.
    pub fn set_clock(&mut self, order: u64) {
        self.store.set_clock(order);
    }

    /// Warnings since the last call (caps hit).
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    /// Closed sessions currently kept for a reconnect.
    pub fn saved_sessions(&self) -> usize {
        self.store.len()
    }

    /// Takes in `other`, the shared state of another shard of the same run
    /// (its connections were disjoint from this one's): tallies, latency
    /// histograms, breakdowns and findings add up; saved sessions join this
    /// store (a clash or overflow gives up flows as saving here would, and
    /// is reported through `out`); warnings are kept in order; the latest
    /// packet and the live timer take the later / earlier of the two.
    pub fn merge(&mut self, other: Shared, out: &mut dyn FnMut(AnalysisEvent<'_>)) {
        let Shared {
            store,
            tally,
            warnings,
            next_tick,
            last,
            ..
        } = other;
        self.tally.merge(&tally);
        self.warnings.extend(warnings);
        if last.is_some_and(|l| self.last.is_none_or(|m| l.ts > m.ts)) {
            self.last = last;
        }
        self.next_tick = match (self.next_tick, next_tick) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let (lost, evicted) = self.store.merge(store);
        let ts = self.last.map(|l| l.ts).unwrap_or_default();
        let (_, mut env) = self.split(out);
        for f in lost {
            let why =
                "a later connection of the session left a newer message with the same identifier";
            give_up(&mut env, f, None, None, why, ts);
        }
        for s in evicted {
            env.tally.counters.sessions_evicted += 1;
            let why = "its session was dropped from the analysis (too many sessions waiting for a reconnect)";
            for f in s.flows {
                give_up(&mut env, f, Some(&s.client_id), s.version, why, ts);
            }
        }
    }

    /// What happened since the previous call (`--stats-interval`), up to `now`.
    pub fn take_interval(&mut self, now: Timestamp) -> IntervalStats {
        self.tally.take_interval(now)
    }

    /// Findings raised so far.
    pub fn summary_counts(&self) -> u64 {
        self.tally.findings_total()
    }

    /// The summary so far (without ending anything).
    pub fn summary(&self) -> AnalysisSummary {
        self.tally.summary()
    }
}
