//! The end-of-run summary: the `--format json` object of the contract.

use super::Event;
use super::layers::{LayerTally, LayersSummary};
use super::listing::{Listing, Problems, Unlisted};
use super::servers::{OtherTcp, ServerFold, SilentServer};
use crate::analysis::AnalysisSummary;
use crate::base::{Timestamp, Warning};
use crate::capture::{CaptureInfo, Drops, FileInfo};
use crate::netdecode::NetCounters;
use crate::tcp::{ConnRecord, TcpCounters};
use serde::Serialize;

/// Version of the JSON schema; bumped when a field is renamed or removed.
pub const SCHEMA: &str = "mqtt-inspect/1";

/// Warnings kept for the summary; later ones are counted only (a badly damaged
/// capture must not grow memory without bound).
const MAX_WARNINGS: usize = 1000;

/// The `capture` object.
#[derive(Debug, Clone)]
pub struct CaptureSummary {
    pub sources: Vec<String>,
    pub frames: u64,
    pub bytes: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    pub link_types: Vec<String>,
    pub non_tcp_frames: u64,
    pub undecodable_frames: u64,
    pub ip_fragments: u64,
    pub truncated: bool,
    /// What a live capture lost (libpcap's counters); `None` for files.
    pub drops: Option<Drops>,
    /// Each input file's part of the capture, in the order read (empty
    /// for a live capture).
    pub files: Vec<FileInfo>,
}

/// One entry of `connections`.
#[derive(Debug, Clone)]
pub struct ConnectionSummary {
    pub tcp: ConnRecord,
    /// TLS on an MQTT port: the connection is encrypted and was not decoded.
    pub encrypted: bool,
    /// `null` for a TCP connection that carried no MQTT.
    pub mqtt: Option<MqttConnSummary>,
    /// Findings raised on the connection (decides which are listed).
    pub problems: Problems,
    /// The layers that carried the MQTT (TLS, WebSocket) and what they showed.
    pub layers: LayersSummary,
}

/// The `mqtt` object of a connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MqttConnSummary {
    /// `"3.1"`, `"3.1.1"`, `"5.0"`, or `null` when no CONNECT was seen and nothing could be inferred.
    pub version: Option<&'static str>,
    /// The version was inferred from the packets (no CONNECT captured).
    pub version_inferred: bool,
    pub client_id: Option<String>,
    pub keepalive_s: Option<u16>,
    pub clean_start: Option<bool>,
    /// From the CONNACK: the broker resumed a stored session.
    pub session_present: Option<bool>,
    /// Packets per type name.
    pub packets: std::collections::BTreeMap<&'static str, u64>,
}

/// The `packets` object: MQTT packets decoded (and ones that did not decode).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PacketCounts {
    /// Every packet event: decoded and malformed.
    pub total: u64,
    pub malformed: u64,
    /// Decoded packets per type name.
    pub by_type: std::collections::BTreeMap<&'static str, u64>,
    /// Decoded packets that break a rule of the spec (each is also a finding).
    pub with_violations: u64,
}

impl PacketCounts {
    /// Counts a packet or malformed-packet event; other events count nothing.
    /// The one place both the summary builder and a threaded run's workers
    /// count packets.
    pub fn count(&mut self, ev: &Event<'_>) {
        match ev {
            Event::Packet(p) => {
                self.total += 1;
                *self
                    .by_type
                    .entry(p.packet.packet_type().as_str())
                    .or_insert(0) += 1;
                if !p.violations.is_empty() {
                    self.with_violations += 1;
                }
            }
            Event::Malformed { .. } => {
                self.total += 1;
                self.malformed += 1;
            }
            _ => {}
        }
    }
}

/// Everything the run found; serialised (`report::schema`) as the single
/// `--format json` object.
#[derive(Debug, Clone)]
pub struct Summary {
    pub schema: &'static str,
    pub capture: CaptureSummary,
    /// The run's filters, when any was given: everything below but
    /// `capture`, `tcp`, `other_tcp`, `silent_servers` and `warnings` is of
    /// what they selected.
    pub filters: Option<crate::analysis::Selection>,
    /// The listed connections (the most troubled, at most `--connections`), by id.
    pub connections: Vec<ConnectionSummary>,
    /// What the connections not listed add up to.
    pub connections_unlisted: Unlisted,
    /// MQTT servers that never sent a byte on any of their connections.
    pub silent_servers: Vec<SilentServer>,
    /// TCP connections that carried no MQTT.
    pub other_tcp: OtherTcp,
    pub packets: PacketCounts,
    /// Flows, latency and findings.
    pub analysis: AnalysisSummary,
    /// Reassembly's own counters (connections seen, caps hit).
    pub tcp: TcpCounters,
    pub warnings: Vec<Warning>,
    /// Warnings beyond the first 1000, counted but not listed.
    pub warnings_dropped: u64,
    /// TLS and WebSocket over all reported connections (listed or not).
    pub layers: LayerTally,
}

/// Folds events into a [`Summary`].
pub struct SummaryBuilder {
    layers: LayerTally,
    connections: Listing,
    servers: ServerFold,
    packets: PacketCounts,
    warnings: Vec<Warning>,
    warnings_dropped: u64,
}

impl SummaryBuilder {
    /// Takes what the summary needs from an event.
    pub fn event(&mut self, ev: &Event<'_>) {
        match ev {
            Event::Warning(w) => {
                if self.warnings.len() < MAX_WARNINGS {
                    self.warnings.push((*w).clone());
                } else {
                    self.warnings_dropped += 1;
                }
            }
            Event::Packet(_) | Event::Malformed { .. } => self.packets.count(ev),
            Event::Start { .. }
            | Event::File { .. }
            | Event::ConnectionOpen { .. }
            | Event::ConnectionClose { .. }
            | Event::Flow(_)
            | Event::Finding(_)
            | Event::Stats { .. } => {}
        }
    }

    /// The MQTT packets counted so far.
    pub fn packets(&self) -> &PacketCounts {
        &self.packets
    }

    /// A fold that lists at most `listed` connections (the most troubled).
    pub fn new(listed: usize) -> Self {
        SummaryBuilder {
            layers: LayerTally::default(),
            connections: Listing::new(listed),
            servers: ServerFold::default(),
            packets: PacketCounts::default(),
            warnings: Vec::new(),
            warnings_dropped: 0,
        }
    }

    /// Packets counted elsewhere (an analysis worker of `--threads`).
    pub fn add_packets(&mut self, p: &PacketCounts) {
        self.packets.total += p.total;
        self.packets.malformed += p.malformed;
        self.packets.with_violations += p.with_violations;
        for (k, n) in &p.by_type {
            *self.packets.by_type.entry(k).or_insert(0) += n;
        }
    }

    /// A reported connection's final record.
    pub fn connection(&mut self, c: ConnectionSummary) {
        self.layers.add(&c);
        self.servers.mqtt(&c);
        self.connections.add(c);
    }

    /// A TCP connection that carried no MQTT.
    pub fn other_connection(&mut self, record: &ConnRecord) {
        self.servers.other(record);
    }

    /// The finished summary.
    pub fn finish(
        self,
        info: &CaptureInfo,
        net: &NetCounters,
        tcp: TcpCounters,
        analysis: AnalysisSummary,
    ) -> Summary {
        let (connections, connections_unlisted) = self.connections.finish();
        let (silent_servers, other_tcp) = self.servers.finish();
        Summary {
            schema: SCHEMA,
            filters: None,
            capture: CaptureSummary {
                sources: info.sources.clone(),
                frames: info.frames,
                bytes: info.bytes,
                first_ts: info.first_ts,
                last_ts: info.last_ts,
                link_types: info.link_types.iter().map(|l| l.name()).collect(),
                non_tcp_frames: net.non_tcp_frames,
                undecodable_frames: net.undecodable_frames,
                ip_fragments: net.ip_fragments,
                truncated: info.truncated,
                drops: None,
                files: info.files.clone(),
            },
            connections,
            connections_unlisted,
            silent_servers,
            other_tcp,
            packets: self.packets,
            analysis,
            tcp,
            warnings: self.warnings,
            warnings_dropped: self.warnings_dropped,
            layers: self.layers,
        }
    }
}
