//! The JSON schema (docs/json.md), owned here: `Serialize` views over the
//! plain data the stages produce.
//!
//! No stage type implements `Serialize`; each has a view here that borrows
//! it and names its fields the way the schema does (`rtt_ms` beside the
//! handshake, milliseconds for latencies, names for kinds and directions).
//! A field is added, never renamed or removed without bumping
//! [`SCHEMA`](super::SCHEMA): the views are the one place to look.

use super::files::{FileMap, InFile};
use super::layers::{LayerTallyJson, TlsJson, WsJson};
use super::listing::Unlisted;
use super::servers::{OtherTcp, SilentServer};
use super::summary::{CaptureSummary, ConnectionSummary, MqttConnSummary, PacketCounts, Summary};
use crate::analysis::topk::BreakdownReport;
use crate::analysis::{
    AnalysisCounters, AnalysisSummary, ClientLatency, Finding, FlowCounts, FlowRecord, FlowsByQos,
    LatencySet, LatencyStats, LatencySummary, Qos0Counts, TopicLatency,
};
use crate::base::{Direction, Endpoint, Peers, PerDir, Timestamp, Warning};
use crate::mqtt::Violation;
use crate::tcp::{CloseKind, ConnRecord, DirStats, Handshake, TcpCounters};
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// A capture timestamp: a JSON number with exactly the capture's digits
/// (not an `f64`, which would round nanosecond timestamps).
#[derive(Debug, Clone, Copy)]
pub struct Ts(pub Timestamp);

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Formatted on the stack and borrowed as a raw JSON number: every
        // event carries a timestamp, so no allocation here.
        let mut buf = StackText::default();
        let raw = std::fmt::Write::write_fmt(&mut buf, format_args!("{}", self.0))
            .ok()
            .and_then(|()| serde_json::from_str::<&serde_json::value::RawValue>(buf.as_str()).ok());
        match raw {
            Some(raw) => raw.serialize(s),
            None => s.serialize_f64(self.0.as_secs_f64()),
        }
    }
}

/// A short text formatted without allocating (a timestamp: at most 20
/// digits of seconds, a point and 9 of fraction). Hand-written because the
/// few lines are smaller than a dependency for them.
struct StackText {
    buf: [u8; 40],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            buf: [0; 40],
            len: 0,
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `client_to_server` / `server_to_client`.
#[derive(Debug, Clone, Copy)]
pub struct Dir(pub Direction);

impl Serialize for Dir {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

/// `{"ip": "192.0.2.1", "port": 1883}`.
#[derive(Debug, Clone, Copy)]
pub struct Ep(pub Endpoint);

impl Serialize for Ep {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Endpoint", 2)?;
        st.serialize_field("ip", &self.0.ip)?;
        st.serialize_field("port", &self.0.port)?;
        st.end()
    }
}

/// `fin` / `rst` / `open`.
#[derive(Debug, Clone, Copy)]
pub struct Close(pub CloseKind);

impl Serialize for Close {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

/// A value per direction: `{"client_to_server": .., "server_to_client": ..}`.
#[derive(Serialize)]
struct Both<T: Serialize> {
    client_to_server: T,
    server_to_client: T,
}

fn both<'a, T, V: Serialize>(d: &'a PerDir<T>, view: impl Fn(&'a T) -> V) -> Both<V> {
    Both {
        client_to_server: view(&d.client_to_server),
        server_to_client: view(&d.server_to_client),
    }
}

/// A warning: `{"frame": 12 | null, "message": ".."}`.
#[derive(Serialize)]
pub struct WarningJson<'a> {
    frame: Option<u64>,
    /// Several input files: the frame as its file numbers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    in_file: Option<InFile<'a>>,
    message: &'a str,
}

impl<'a> From<&'a Warning> for WarningJson<'a> {
    fn from(w: &'a Warning) -> Self {
        WarningJson {
            frame: w.frame,
            in_file: None,
            message: &w.message,
        }
    }
}

impl<'a> WarningJson<'a> {
    /// Names the file of the frame (several input files).
    pub fn located(mut self, files: &'a FileMap) -> Self {
        self.in_file = self.frame.and_then(|f| files.locate(f));
        self
    }
}

/// A violation on a packet: `{"rule": "MQTT-3.3.1-4", "message": ".."}`.
#[derive(Serialize)]
pub struct ViolationJson<'a> {
    rule: &'static str,
    message: &'a str,
}

impl<'a> From<&'a Violation> for ViolationJson<'a> {
    fn from(v: &'a Violation) -> Self {
        ViolationJson {
            rule: v.rule.as_str(),
            message: &v.message,
        }
    }
}

/// A finding: an entry of `findings` and the body of the jsonl `finding` event.
#[derive(Serialize)]
pub struct FindingJson<'a> {
    kind: &'static str,
    severity: &'static str,
    connection: u32,
    direction: Dir,
    #[serde(skip_serializing_if = "Option::is_none")]
    packet_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<&'static str>,
    frames: &'a [u64],
    /// Several input files: `frames` as their files number them.
    #[serde(skip_serializing_if = "Option::is_none")]
    in_files: Option<Vec<InFile<'a>>>,
    ts: Ts,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic: Option<&'a str>,
    /// `client`, `server` and `community_id` of the finding's connection.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    peers: Option<PeersJson<'a>>,
}

/// The ends of a connection and its Community ID, as findings and flows
/// carry them: `"client": {"ip", "port"}, "server": {..}, "community_id": "1:…"`.
#[derive(Serialize)]
pub struct PeersJson<'a> {
    client: Ep,
    server: Ep,
    community_id: &'a str,
}

impl<'a> From<&'a Peers> for PeersJson<'a> {
    fn from(p: &'a Peers) -> Self {
        PeersJson {
            client: Ep(p.client),
            server: Ep(p.server),
            community_id: p.community_id.as_str(),
        }
    }
}

impl<'a> From<&'a Finding> for FindingJson<'a> {
    fn from(f: &'a Finding) -> Self {
        FindingJson {
            kind: f.kind.as_str(),
            severity: f.severity.as_str(),
            connection: f.connection,
            direction: Dir(f.direction),
            packet_id: f.packet_id,
            expected: f.expected.map(|t| t.as_str()),
            frames: &f.frames,
            in_files: None,
            ts: Ts(f.ts),
            message: &f.message,
            rule: f.rule.map(|r| r.as_str()),
            client_id: f.client_id.as_deref(),
            topic: f.topic.as_deref(),
            peers: f.peers.as_deref().map(PeersJson::from),
        }
    }
}

impl<'a> FindingJson<'a> {
    /// Names the files of the frames (several input files).
    pub fn located(mut self, files: &'a FileMap) -> Self {
        self.in_files = files.locate_all(self.frames);
        self
    }
}

/// The stage latencies of a flow, in milliseconds: `{"puback": 0.21}`.
struct FlowLatencyJson<'a>(&'a [(crate::analysis::LatencyKey, u64)]);

impl Serialize for FlowLatencyJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, ns) in self.0 {
            map.serialize_entry(k.as_str(), &(*ns as f64 / 1e6))?;
        }
        map.end()
    }
}

/// A concluded flow: the body of the jsonl `flow` event.
#[derive(Serialize)]
pub struct FlowJson<'a> {
    connection: u32,
    direction: Dir,
    packet_id: u16,
    qos: u8,
    frames: &'a [u64],
    /// Several input files: `frames` as their files number them.
    #[serde(skip_serializing_if = "Option::is_none")]
    in_files: Option<Vec<InFile<'a>>>,
    latency_ms: FlowLatencyJson<'a>,
    complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<&'static str>,
    topic: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "<[u32]>::is_empty")]
    connections: &'a [u32],
    #[serde(skip_serializing_if = "is_zero")]
    resends: u32,
    /// When the flow concluded (`FlowRecord::ts`).
    ts: Ts,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    peers: Option<PeersJson<'a>>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl<'a> From<&'a FlowRecord> for FlowJson<'a> {
    fn from(r: &'a FlowRecord) -> Self {
        FlowJson {
            connection: r.connection,
            direction: Dir(r.direction),
            packet_id: r.packet_id,
            qos: r.qos,
            frames: &r.frames,
            in_files: None,
            latency_ms: FlowLatencyJson(&r.latency_ms.samples),
            complete: r.complete,
            outcome: r.outcome.map(|o| o.as_str()),
            reason_code: r.reason_code,
            expected: r.expected.map(|t| t.as_str()),
            topic: &r.topic,
            client_id: r.client_id.as_deref(),
            connections: &r.connections,
            resends: r.resends,
            ts: Ts(r.ts),
            peers: r.peers.as_deref().map(PeersJson::from),
        }
    }
}

impl<'a> FlowJson<'a> {
    /// Names the files of the frames (several input files).
    pub fn located(mut self, files: &'a FileMap) -> Self {
        self.in_files = files.locate_all(self.frames);
        self
    }
}

/// The three-way handshake: frames and the round-trip time in milliseconds.
#[derive(Serialize)]
struct HandshakeJson {
    syn_frame: Option<u64>,
    synack_frame: Option<u64>,
    ack_frame: Option<u64>,
    rtt_ms: Option<f64>,
}

impl From<&Handshake> for HandshakeJson {
    fn from(h: &Handshake) -> Self {
        HandshakeJson {
            syn_frame: h.syn_frame,
            synack_frame: h.synack_frame,
            ack_frame: h.ack_frame,
            rtt_ms: h.rtt_ns.map(|ns| ns as f64 / 1e6),
        }
    }
}

/// The counters of one direction of a connection.
#[derive(Serialize)]
struct DirStatsJson {
    bytes: u64,
    segments: u64,
    retransmissions: u64,
    out_of_order: u64,
    gap_bytes: u64,
    late_after_gap: u64,
    out_of_window: u64,
}

impl From<&DirStats> for DirStatsJson {
    fn from(d: &DirStats) -> Self {
        DirStatsJson {
            bytes: d.bytes,
            segments: d.segments,
            retransmissions: d.retransmissions,
            out_of_order: d.out_of_order,
            gap_bytes: d.gap_bytes,
            late_after_gap: d.late_after_gap,
            out_of_window: d.out_of_window,
        }
    }
}

/// An entry of `connections` (and the `record` of a jsonl `close`): the
/// TCP record, then what rode on it.
#[derive(Serialize)]
pub struct ConnectionJson<'a> {
    id: u32,
    client: Ep,
    server: Ep,
    first_frame: u64,
    last_frame: u64,
    /// Several input files: `first_frame` and `last_frame` as their files
    /// number them.
    #[serde(skip_serializing_if = "Option::is_none")]
    in_files: Option<Vec<InFile<'a>>>,
    first_ts: Ts,
    last_ts: Ts,
    handshake: Option<HandshakeJson>,
    close: Close,
    client_to_server: DirStatsJson,
    server_to_client: DirStatsJson,
    encrypted: bool,
    mqtt: Option<&'a MqttConnSummary>,
    /// The layers that carried the MQTT, bottom up (`tcp`, `tls`, `websocket`).
    layers: &'a [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<TlsJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    websocket: Option<WsJson<'a>>,
}

impl<'a> From<&'a ConnectionSummary> for ConnectionJson<'a> {
    fn from(c: &'a ConnectionSummary) -> Self {
        let t: &ConnRecord = &c.tcp;
        ConnectionJson {
            id: t.id,
            client: Ep(t.client),
            server: Ep(t.server),
            first_frame: t.first_frame,
            last_frame: t.last_frame,
            in_files: None,
            first_ts: Ts(t.first_ts),
            last_ts: Ts(t.last_ts),
            handshake: t.handshake.as_ref().map(HandshakeJson::from),
            close: Close(t.close),
            client_to_server: DirStatsJson::from(&t.client_to_server),
            server_to_client: DirStatsJson::from(&t.server_to_client),
            encrypted: c.encrypted,
            mqtt: c.mqtt.as_ref(),
            layers: &c.layers.names,
            tls: c.layers.tls.as_ref().map(TlsJson::from),
            websocket: c.layers.websocket.as_ref().map(WsJson::from),
        }
    }
}

impl<'a> ConnectionJson<'a> {
    /// Names the files of the first and last frame (several input files).
    pub fn located(mut self, files: &'a FileMap) -> Self {
        self.in_files = files.locate_all(&[self.first_frame, self.last_frame]);
        self
    }
}

/// The connections the summary does not list, added up.
#[derive(Serialize)]
struct UnlistedJson {
    count: u64,
    mqtt: u64,
    encrypted: u64,
    with_errors: u64,
    with_warnings: u64,
    bytes: u64,
    segments: u64,
    retransmissions: u64,
    gap_bytes: u64,
    closed_fin: u64,
    closed_rst: u64,
    still_open: u64,
}

impl From<&Unlisted> for UnlistedJson {
    fn from(u: &Unlisted) -> Self {
        UnlistedJson {
            count: u.count,
            mqtt: u.mqtt,
            encrypted: u.encrypted,
            with_errors: u.with_errors,
            with_warnings: u.with_warnings,
            bytes: u.bytes,
            segments: u.segments,
            retransmissions: u.retransmissions,
            gap_bytes: u.gap_bytes,
            closed_fin: u.closed_fin,
            closed_rst: u.closed_rst,
            still_open: u.still_open,
        }
    }
}

/// A server that never answered: `{"server": {..}, "connections", "client_bytes"}`.
#[derive(Serialize)]
struct SilentJson {
    server: Ep,
    connections: u64,
    client_bytes: u64,
}

impl From<&SilentServer> for SilentJson {
    fn from(s: &SilentServer) -> Self {
        SilentJson {
            server: Ep(s.server),
            connections: s.connections,
            client_bytes: s.client_bytes,
        }
    }
}

/// `{"connections", "by_port": [{"port", "connections"}], "other_ports"}`.
#[derive(Serialize)]
struct OtherTcpJson {
    connections: u64,
    by_port: Vec<PortJson>,
    other_ports: u64,
}

#[derive(Serialize)]
struct PortJson {
    port: u16,
    connections: u64,
}

impl From<&OtherTcp> for OtherTcpJson {
    fn from(o: &OtherTcp) -> Self {
        OtherTcpJson {
            connections: o.connections,
            by_port: o
                .by_port
                .iter()
                .map(|&(port, connections)| PortJson { port, connections })
                .collect(),
            other_ports: o.other_ports,
        }
    }
}

/// Reassembly's own counters (the `tcp` object).
#[derive(Serialize)]
struct TcpJson {
    connections: u64,
    expired_idle: u64,
    evicted_table_full: u64,
    buffer_cap_gaps: u64,
}

impl From<&TcpCounters> for TcpJson {
    fn from(t: &TcpCounters) -> Self {
        TcpJson {
            connections: t.connections,
            expired_idle: t.expired_idle,
            evicted_table_full: t.evicted_table_full,
            buffer_cap_gaps: t.buffer_cap_gaps,
        }
    }
}

/// The `capture` object.
#[derive(Serialize)]
struct CaptureJson<'a> {
    sources: &'a [String],
    frames: u64,
    bytes: u64,
    first_ts: Option<Ts>,
    last_ts: Option<Ts>,
    link_types: &'a [String],
    non_tcp_frames: u64,
    undecodable_frames: u64,
    ip_fragments: u64,
    truncated: bool,
    /// Live capture only: what libpcap says the capture lost.
    #[serde(skip_serializing_if = "Option::is_none")]
    drops: Option<DropsJson>,
    files: Vec<FileJson<'a>>,
}

/// An entry of `capture.files`: where one input file's frames lie in the
/// capture's numbering.
#[derive(Serialize)]
struct FileJson<'a> {
    name: &'a str,
    first_frame: u64,
    frames: u64,
    first_ts: Option<Ts>,
    last_ts: Option<Ts>,
    truncated: bool,
}

/// `{"kernel": 0, "interface": 0}`.
#[derive(Serialize)]
struct DropsJson {
    kernel: u64,
    interface: u64,
}

impl<'a> From<&'a CaptureSummary> for CaptureJson<'a> {
    fn from(c: &'a CaptureSummary) -> Self {
        CaptureJson {
            sources: &c.sources,
            frames: c.frames,
            bytes: c.bytes,
            first_ts: c.first_ts.map(Ts),
            last_ts: c.last_ts.map(Ts),
            link_types: &c.link_types,
            non_tcp_frames: c.non_tcp_frames,
            undecodable_frames: c.undecodable_frames,
            ip_fragments: c.ip_fragments,
            truncated: c.truncated,
            drops: c.drops.map(|d| DropsJson {
                kernel: d.kernel,
                interface: d.interface,
            }),
            files: c
                .files
                .iter()
                .map(|f| FileJson {
                    name: &f.name,
                    first_frame: f.first_frame,
                    frames: f.frames,
                    first_ts: f.first_ts.map(Ts),
                    last_ts: f.last_ts.map(Ts),
                    truncated: f.truncated,
                })
                .collect(),
        }
    }
}

/// Flows of one QoS (and direction).
#[derive(Serialize)]
struct FlowCountsJson {
    completed: u64,
    incomplete: u64,
    with_error: u64,
    redelivered: u64,
    missing: u64,
    cut_off: u64,
    unverifiable: u64,
    wrong_ack: u64,
    superseded: u64,
}

impl From<&FlowCounts> for FlowCountsJson {
    fn from(c: &FlowCounts) -> Self {
        FlowCountsJson {
            completed: c.completed,
            incomplete: c.incomplete,
            with_error: c.with_error,
            redelivered: c.redelivered,
            missing: c.missing,
            cut_off: c.cut_off,
            unverifiable: c.unverifiable,
            wrong_ack: c.wrong_ack,
            superseded: c.superseded,
        }
    }
}

/// `{"qos1": {..}, "qos2": {..}}`.
#[derive(Serialize)]
struct FlowsJson {
    qos1: FlowCountsJson,
    qos2: FlowCountsJson,
}

impl From<&FlowsByQos> for FlowsJson {
    fn from(f: &FlowsByQos) -> Self {
        FlowsJson {
            qos1: FlowCountsJson::from(&f.qos1),
            qos2: FlowCountsJson::from(&f.qos2),
        }
    }
}

#[derive(Serialize)]
struct Qos0Json {
    total: u64,
    client_to_server: u64,
    server_to_client: u64,
}

impl From<&Qos0Counts> for Qos0Json {
    fn from(q: &Qos0Counts) -> Self {
        Qos0Json {
            total: q.total,
            client_to_server: q.client_to_server,
            server_to_client: q.server_to_client,
        }
    }
}

/// One latency key: count, min, mean, percentiles and max in
/// milliseconds, then what merging needs: the exact integer totals in
/// nanoseconds and the histogram ([`super::hdr`]).
#[derive(Serialize)]
struct LatencySummaryJson {
    count: u64,
    min_ms: f64,
    mean_ms: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    min_ns: u64,
    max_ns: u64,
    sum_ns: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    hdr: Option<String>,
}

impl LatencySummaryJson {
    fn new(l: &LatencySummary, stats: &LatencyStats) -> Self {
        LatencySummaryJson {
            count: l.count,
            min_ms: l.min_ms,
            mean_ms: l.mean_ms,
            p50_ms: l.p50_ms,
            p90_ms: l.p90_ms,
            p99_ms: l.p99_ms,
            max_ms: l.max_ms,
            min_ns: stats.min_ns().unwrap_or(0),
            max_ns: stats.max_ns().unwrap_or(0),
            sum_ns: u64::try_from(stats.sum_ns()).unwrap_or(u64::MAX),
            hdr: stats.histogram().map(super::hdr::encode),
        }
    }
}

/// A `latency` object: one entry per key with samples, in contract order.
pub struct LatencyJson<'a>(pub &'a LatencySet);

impl Serialize for LatencyJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (k, stats) in self.0.stats() {
            if let Some(summary) = stats.summary() {
                map.serialize_entry(k.as_str(), &LatencySummaryJson::new(&summary, stats))?;
            }
        }
        map.end()
    }
}

/// `latency_by_client` / `latency_by_topic`: the busiest keys one by one,
/// the rest folded into `other`.
struct BreakdownJson<'a> {
    report: &'a BreakdownReport,
    /// `clients` / `topics`: the list's name, and `other`'s key count.
    list: &'static str,
    /// `client_id` / `topic`.
    key: &'static str,
    /// `packets` / `messages`.
    volume: &'static str,
}

impl Serialize for BreakdownJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Item<'a>(
            &'a BreakdownJson<'a>,
            &'a crate::analysis::topk::BreakdownItem,
        );
        impl Serialize for Item<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry(self.0.key, &self.1.key)?;
                m.serialize_entry(self.0.volume, &self.1.volume)?;
                m.serialize_entry("latency", &LatencyJson(&self.1.latency))?;
                m.end()
            }
        }
        struct Other<'a>(
            &'a BreakdownJson<'a>,
            &'a crate::analysis::topk::BreakdownOther,
        );
        impl Serialize for Other<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry(self.0.list, &self.1.keys)?;
                m.serialize_entry(self.0.volume, &self.1.volume)?;
                m.serialize_entry("latency", &LatencyJson(&self.1.latency))?;
                m.end()
            }
        }
        let items: Vec<Item<'_>> = self.report.entries.iter().map(|e| Item(self, e)).collect();
        let n = if self.report.other.is_some() { 3 } else { 2 };
        let mut st = s.serialize_struct("Breakdown", n)?;
        st.serialize_field(self.list, &items)?;
        if let Some(o) = &self.report.other {
            st.serialize_field("other", &Other(self, o))?;
        }
        st.serialize_field("approximate", &self.report.approximate)?;
        st.end()
    }
}

impl<'a> BreakdownJson<'a> {
    fn clients(c: &'a ClientLatency) -> Self {
        BreakdownJson {
            report: &c.0,
            list: "clients",
            key: "client_id",
            volume: "packets",
        }
    }

    fn topics(t: &'a TopicLatency) -> Self {
        BreakdownJson {
            report: &t.0,
            list: "topics",
            key: "topic",
            volume: "messages",
        }
    }
}

/// What the analysis had to skip or work around (the `analysis` object).
#[derive(Serialize)]
struct CountersJson {
    acks_without_publish: u64,
    requests_unanswered_at_close: u64,
    flows_not_tracked: u64,
    sessions_saved: u64,
    sessions_resumed: u64,
    sessions_discarded: u64,
    sessions_evicted: u64,
    negative_latencies: u64,
}

impl From<&AnalysisCounters> for CountersJson {
    fn from(c: &AnalysisCounters) -> Self {
        CountersJson {
            acks_without_publish: c.acks_without_publish,
            requests_unanswered_at_close: c.requests_unanswered_at_close,
            flows_not_tracked: c.flows_not_tracked,
            sessions_saved: c.sessions_saved,
            sessions_resumed: c.sessions_resumed,
            sessions_discarded: c.sessions_discarded,
            sessions_evicted: c.sessions_evicted,
            negative_latencies: c.negative_latencies,
        }
    }
}

/// The jsonl `stats` event: one `--stats-interval` of a long run.
#[derive(Serialize)]
pub struct StatsJson<'a> {
    /// The interval's start: the first frame's time for the first interval
    /// (never `null` in practice; kept optional for intervals without one).
    from: Option<Ts>,
    to: Ts,
    messages: u64,
    flows: FlowsJson,
    findings_by_kind: BTreeMap<&'static str, u64>,
    latency: LatencyJson<'a>,
}

impl<'a> StatsJson<'a> {
    pub fn new(to: Timestamp, s: &'a crate::analysis::IntervalStats) -> Self {
        StatsJson {
            from: s.from.map(Ts),
            to: Ts(to),
            messages: s.messages,
            flows: FlowsJson::from(&s.flows),
            findings_by_kind: s
                .findings_by_kind
                .iter()
                .map(|(k, n)| (k.as_str(), *n))
                .collect(),
            latency: LatencyJson(&s.latency),
        }
    }
}

/// The analysis' part of the summary (flows, latency, findings), written
/// into the top-level object.
#[derive(Serialize)]
pub struct AnalysisJson<'a> {
    flows: FlowsJson,
    flows_by_direction: Both<FlowsJson>,
    qos0_messages: Qos0Json,
    latency: LatencyJson<'a>,
    latency_by_direction: Both<LatencyJson<'a>>,
    latency_by_client: BreakdownJson<'a>,
    latency_by_topic: BreakdownJson<'a>,
    findings: Vec<FindingJson<'a>>,
    /// By name, sorted.
    findings_by_kind: BTreeMap<&'static str, u64>,
    findings_by_severity: BTreeMap<&'static str, u64>,
    findings_dropped: u64,
    analysis: CountersJson,
}

impl<'a> AnalysisJson<'a> {
    /// Names the files of the findings' frames (several input files).
    pub fn located(mut self, files: &'a FileMap) -> Self {
        self.findings = self
            .findings
            .into_iter()
            .map(|f| f.located(files))
            .collect();
        self
    }
}

impl<'a> From<&'a AnalysisSummary> for AnalysisJson<'a> {
    fn from(a: &'a AnalysisSummary) -> Self {
        AnalysisJson {
            flows: FlowsJson::from(&a.flows),
            flows_by_direction: both(&a.flows_by_direction, FlowsJson::from),
            qos0_messages: Qos0Json::from(&a.qos0_messages),
            latency: LatencyJson(&a.latency),
            latency_by_direction: both(&a.latency_by_direction, LatencyJson),
            latency_by_client: BreakdownJson::clients(&a.latency_by_client),
            latency_by_topic: BreakdownJson::topics(&a.latency_by_topic),
            findings: a.findings.iter().map(FindingJson::from).collect(),
            findings_by_kind: a
                .findings_by_kind
                .iter()
                .map(|(k, n)| (k.as_str(), *n))
                .collect(),
            findings_by_severity: a
                .findings_by_severity
                .iter()
                .map(|(k, n)| (k.as_str(), *n))
                .collect(),
            findings_dropped: a.findings_dropped,
            analysis: CountersJson::from(&a.analysis),
        }
    }
}

/// The summary: the single `--format json` object and the body of the
/// jsonl `summary` event.
#[derive(Serialize)]
struct SummaryJson<'a> {
    schema: &'static str,
    capture: CaptureJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filters: Option<FiltersJson<'a>>,
    connections: Vec<ConnectionJson<'a>>,
    connections_unlisted: UnlistedJson,
    silent_servers: Vec<SilentJson>,
    other_tcp: OtherTcpJson,
    packets: &'a PacketCounts,
    #[serde(flatten)]
    analysis: AnalysisJson<'a>,
    tcp: TcpJson,
    warnings: Vec<WarningJson<'a>>,
    warnings_dropped: u64,
    layers: LayerTallyJson,
}

/// `filters`: what `--connection`, `--client`, `--topic` and `--kind` kept
/// (present only when one was given; an empty list is a filter not given).
#[derive(Serialize)]
struct FiltersJson<'a> {
    connections: &'a [crate::base::ConnId],
    clients: &'a [String],
    topics: &'a [String],
    kinds: Vec<&'static str>,
}

impl<'a> From<&'a crate::analysis::Selection> for FiltersJson<'a> {
    fn from(s: &'a crate::analysis::Selection) -> Self {
        FiltersJson {
            connections: &s.connections,
            clients: &s.clients,
            topics: &s.topics,
            kinds: s.kinds.iter().map(|k| k.as_str()).collect(),
        }
    }
}

impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let files = FileMap::of(self.capture.sources.len(), &self.capture.files);
        SummaryJson {
            schema: self.schema,
            capture: CaptureJson::from(&self.capture),
            filters: self.filters.as_ref().map(FiltersJson::from),
            connections: self
                .connections
                .iter()
                .map(|c| ConnectionJson::from(c).located(&files))
                .collect(),
            connections_unlisted: UnlistedJson::from(&self.connections_unlisted),
            silent_servers: self.silent_servers.iter().map(SilentJson::from).collect(),
            other_tcp: OtherTcpJson::from(&self.other_tcp),
            packets: &self.packets,
            analysis: AnalysisJson::from(&self.analysis).located(&files),
            tcp: TcpJson::from(&self.tcp),
            warnings: self
                .warnings
                .iter()
                .map(|w| WarningJson::from(w).located(&files))
                .collect(),
            warnings_dropped: self.warnings_dropped,
            layers: LayerTallyJson::from(&self.layers),
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_exact_json_numbers() {
        let ts = Timestamp::new(1795567362, 869_821_123, 9);
        assert_eq!(
            serde_json::to_string(&Ts(ts)).unwrap(),
            "1795567362.869821123"
        );
    }

    #[test]
    fn latency_sets_leave_out_keys_without_samples() {
        use crate::analysis::{LatencyKey, Precision};
        let mut set = LatencySet::new(Precision::Coarse);
        assert_eq!(serde_json::to_string(&LatencyJson(&set)).unwrap(), "{}");
        set.record(LatencyKey::Puback, 2_000_000);
        set.record(LatencyKey::Connack, 1_000_000);
        let v: serde_json::Value = serde_json::to_value(LatencyJson(&set)).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 2);
        assert_eq!(v["puback"]["count"], 1);
        assert_eq!(v["puback"]["p99_ms"], 2.0);
        assert_eq!(v["connack"]["max_ms"], 1.0);
    }

    #[test]
    fn flow_record_like_the_contract() {
        use crate::analysis::{FlowLatency, LatencyKey};
        let r = FlowRecord {
            connection: 0,
            direction: Direction::ClientToServer,
            packet_id: 7,
            qos: 1,
            frames: smallvec::smallvec![5, 6],
            latency_ms: FlowLatency {
                samples: smallvec::smallvec![(LatencyKey::Puback, 210_000)],
            },
            complete: true,
            outcome: None,
            reason_code: None,
            expected: None,
            topic: "a/b".into(),
            client_id: Some("c".into()),
            connections: vec![],
            resends: 0,
            ts: Timestamp::new(1_700_000_000, 250_000_000, 6),
            peers: Some(std::sync::Arc::new(Peers::new(
                Endpoint {
                    ip: "128.232.110.120".parse().unwrap(),
                    port: 34855,
                },
                Endpoint {
                    ip: "66.35.250.204".parse().unwrap(),
                    port: 80,
                },
            ))),
        };
        let v = serde_json::to_value(FlowJson::from(&r)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"connection":0,"direction":"client_to_server","packet_id":7,
                "qos":1,"frames":[5,6],"latency_ms":{"puback":0.21},"complete":true,
                "topic":"a/b","client_id":"c","ts":1_700_000_000.25,
                "client":{"ip":"128.232.110.120","port":34855},
                "server":{"ip":"66.35.250.204","port":80},
                "community_id":"1:LQU9qZlK+B5F3KDmev6m5PMibrg="})
        );
        let text = serde_json::to_string(&FlowJson::from(&r)).unwrap();
        assert!(text.contains(r#""ts":1700000000.250000,"#), "{text}");
    }

    #[test]
    fn finding_like_the_contract() {
        use crate::analysis::FindingKind;
        use crate::mqtt::PacketType;
        use crate::mqtt::spec::Rule;
        let f = Finding::new(
            FindingKind::MissingAck,
            0,
            Direction::ClientToServer,
            vec![41],
            Timestamp::new(1, 500_000, 6),
            "QoS 1 PUBLISH id 7 never acknowledged",
        )
        .cites(Rule::new("MQTT-4.3.2-2"))
        .packet_id(7)
        .expected(PacketType::Puback);
        let v: serde_json::Value = serde_json::to_value(FindingJson::from(&f)).unwrap();
        assert_eq!(v["kind"], "missing_ack");
        assert_eq!(v["severity"], "error");
        assert_eq!(v["connection"], 0);
        assert_eq!(v["direction"], "client_to_server");
        assert_eq!(v["packet_id"], 7);
        assert_eq!(v["expected"], "PUBACK");
        assert_eq!(v["frames"], serde_json::json!([41]));
        assert_eq!(v["ts"].as_f64(), Some(1.0005));
        assert_eq!(v["rule"], "MQTT-4.3.2-2");
        assert!(v.get("topic").is_none() && v.get("client_id").is_none());
    }
}
