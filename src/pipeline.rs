//! The run: pull frames from a source, push them through every stage.
//!
//! ```text
//! FrameSource ─Frame─▶ netdecode ─Segment─▶ tcp::Reassembler ─StreamEvent─▶ Connections ─Event─▶ Sink
//! ```
//!
//! [`Connections`] is the reassembler's consumer: it decides which TCP
//! connections are MQTT (server port in `--port`, or — with detection on —
//! the client's first bytes are a CONNECT), runs an [`MqttConnection`] for
//! each, hands every MQTT event to the analysis [`Tracker`], and turns both
//! into report events. The summary is folded from the same events by a
//! [`SummaryBuilder`].

use crate::analysis::{AnalysisConfig, AnalysisEvent, ConnectionMqtt, Tracker};
use crate::base::{ConnId, Direction, Endpoint, Frame, Timestamp, Warning};
use crate::capture::{CaptureInfo, CaptureReader};
use crate::mqtt::{MqttConfig, MqttConnection, MqttEvent, looks_like_connect};
use crate::netdecode::{self, Decoded, NetCounters};
use crate::report::{Event, MqttConnSummary, PacketInfo, Sink, Summary, SummaryBuilder};
use crate::tcp::{Handshake, Interest, Reassembler, StreamEvent, StreamSink, TcpConfig};
use foldhash::HashMap;
use std::io;

/// A stream of frames: a capture file reader or a live capture.
pub trait FrameSource {
    /// The next frame, or `None` at the end.
    fn next_frame(&mut self) -> Option<Frame<'_>>;
    /// Capture-level facts so far.
    fn info(&self) -> &CaptureInfo;
    /// Warnings since the last call.
    fn take_warnings(&mut self) -> Vec<Warning>;
}

impl FrameSource for CaptureReader {
    fn next_frame(&mut self) -> Option<Frame<'_>> {
        CaptureReader::next_frame(self)
    }
    fn info(&self) -> &CaptureInfo {
        CaptureReader::info(self)
    }
    fn take_warnings(&mut self) -> Vec<Warning> {
        CaptureReader::take_warnings(self)
    }
}

/// Everything the stages need to know from the command line.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Server ports whose connections are MQTT.
    pub ports: Vec<u16>,
    /// Also recognise MQTT on other ports by a CONNECT in the client's first bytes.
    pub detect: bool,
    pub tcp: TcpConfig,
    pub mqtt: MqttConfig,
    pub analysis: AnalysisConfig,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            ports: vec![1883, 8883],
            detect: true,
            tcp: TcpConfig::default(),
            mqtt: MqttConfig::default(),
            analysis: AnalysisConfig::default(),
        }
    }
}

/// One run over one source.
pub struct Pipeline {
    opts: PipelineOptions,
}

impl Pipeline {
    pub fn new(opts: PipelineOptions) -> Self {
        Pipeline { opts }
    }

    /// Reads the whole source, writing events to `sink` as they happen and the summary at the end.
    pub fn run(&self, source: &mut dyn FrameSource, sink: &mut dyn Sink) -> io::Result<Summary> {
        let mut tcp_cfg = self.opts.tcp.clone();
        tcp_cfg.server_ports = self.opts.ports.clone();
        tcp_cfg.client_hello = looks_like_connect;
        let mut tcp = Reassembler::new(tcp_cfg);
        let mut net = NetCounters::default();
        let mut layer = Connections::new(&self.opts, sink);
        let mut started = false;
        while let Some(frame) = source.next_frame() {
            if !started {
                started = true;
                layer.out.emit(Event::Start { ts: frame.ts });
            }
            let decoded = netdecode::decode(&frame);
            net.count(&decoded);
            if let Decoded::Tcp(seg) = decoded {
                tcp.segment(&seg, &mut layer);
            }
            layer.warnings(source.take_warnings());
            layer.warnings(tcp.take_warnings());
            layer.out.check()?;
        }
        layer.warnings(source.take_warnings());
        tcp.finish(&mut layer);
        layer.warnings(tcp.take_warnings());
        let Connections {
            mut tracker,
            mut out,
            ..
        } = layer;
        let analysis = tracker.finish(&mut |ev| out.analysis(ev));
        for w in tracker.take_warnings() {
            out.emit(Event::Warning(&w));
        }
        out.check()?;
        let Output { builder, sink, .. } = out;
        let summary = builder.finish(source.info(), &net, tcp.counters(), analysis);
        sink.finish(&summary)?;
        Ok(summary)
    }
}

/// What a connection turned out to carry.
enum Carries {
    /// Not known yet: waiting for the client's first bytes (content detection).
    Undecided {
        prefix: Vec<u8>,
    },
    Mqtt(Box<MqttConnection>),
    /// TLS on an MQTT port: encrypted, nothing to decode.
    Tls,
}

/// Bytes of the client's first data needed to recognise a CONNECT
/// (fixed header, protocol name "MQIsdp", level).
const DETECT_PREFIX: usize = 12;

/// Per reported (or candidate) connection.
struct ConnCtx {
    carries: Carries,
    client: Endpoint,
    server: Endpoint,
    /// Where the TCP connection was first seen.
    first_frame: u64,
    first_ts: Timestamp,
    midstream: bool,
    handshake: Option<Handshake>,
    /// MQTT packets decoded so far (decides TLS and whether `mqtt` is null).
    packets: u64,
    /// What the analysis learnt, handed over when the connection ended.
    mqtt: Option<ConnectionMqtt>,
}

impl ConnCtx {
    fn open_event(&self, conn: ConnId) -> Event<'static> {
        Event::ConnectionOpen {
            conn,
            frame: self.first_frame,
            ts: self.first_ts,
            client: self.client,
            server: self.server,
        }
    }

    /// Whether the connection appears in the report (not while detection is undecided).
    fn reported(&self) -> bool {
        !matches!(self.carries, Carries::Undecided { .. })
    }

    /// The connection's `mqtt` object: `None` when it carried no MQTT.
    fn mqtt_summary(&self) -> Option<MqttConnSummary> {
        let Carries::Mqtt(m) = &self.carries else {
            return None;
        };
        if self.packets == 0 {
            return None;
        }
        let learnt = self.mqtt.clone().unwrap_or_default();
        Some(MqttConnSummary {
            version: learnt.version.or(m.version()).map(|v| v.as_str()),
            version_inferred: m.version_inferred(),
            client_id: learnt.client_id,
            keepalive_s: learnt.keepalive_s,
            clean_start: learnt.clean_start,
            session_present: learnt.session_present,
            packets: learnt.packets,
        })
    }
}

/// The reassembler's consumer: picks the MQTT connections, decodes and analyses them.
struct Connections<'s> {
    ports: Vec<u16>,
    detect: bool,
    mqtt_cfg: MqttConfig,
    conns: HashMap<ConnId, ConnCtx>,
    tracker: Tracker,
    out: Output<'s>,
}

/// Where events go: the summary fold and the sink.
struct Output<'s> {
    builder: SummaryBuilder,
    sink: &'s mut dyn Sink,
    /// The first output error (e.g. a closed pipe); the run stops at the next frame.
    io_error: Option<io::Error>,
}

impl Output<'_> {
    fn emit(&mut self, ev: Event<'_>) {
        self.builder.event(&ev);
        if self.io_error.is_none()
            && let Err(e) = self.sink.event(&ev)
        {
            self.io_error = Some(e);
        }
    }

    fn check(&mut self) -> io::Result<()> {
        match self.io_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn analysis(&mut self, ev: AnalysisEvent<'_>) {
        match ev {
            AnalysisEvent::Flow(f) => self.emit(Event::Flow(f)),
            AnalysisEvent::Finding(f) => self.emit(Event::Finding(f)),
        }
    }

    /// Reports one MQTT decoding event, then lets the analysis judge it.
    fn mqtt_event(
        &mut self,
        tracker: &mut Tracker,
        conn: ConnId,
        packets: &mut u64,
        ev: MqttEvent<'_>,
    ) {
        match &ev {
            MqttEvent::Packet(p) => {
                *packets += 1;
                self.emit(Event::Packet(PacketInfo {
                    conn,
                    dir: p.dir,
                    frame: p.frame,
                    ts: p.ts,
                    version: p.version,
                    packet: p.packet,
                    violations: p.violations,
                }));
            }
            MqttEvent::Malformed(m) => {
                self.emit(Event::Malformed {
                    conn,
                    dir: m.dir,
                    frame: m.frame,
                    ts: m.ts,
                    error: &m.error,
                });
            }
            MqttEvent::Oversized(o) => {
                let w = Warning::at(
                    o.frame,
                    format!(
                        "connection {conn} {}: {} of {} bytes is larger than the {}-byte buffer; skipped",
                        o.dir.as_str(),
                        o.packet_type.as_str(),
                        o.length,
                        o.limit
                    ),
                );
                self.emit(Event::Warning(&w));
            }
            MqttEvent::Gap(_) | MqttEvent::Resync(_) | MqttEvent::Truncated(_) => {}
        }
        tracker.mqtt_event(conn, &ev, &mut |a| self.analysis(a));
    }
}

impl<'s> Connections<'s> {
    fn new(opts: &PipelineOptions, sink: &'s mut dyn Sink) -> Self {
        Connections {
            ports: opts.ports.clone(),
            detect: opts.detect,
            mqtt_cfg: opts.mqtt,
            conns: HashMap::default(),
            tracker: Tracker::new(opts.analysis.clone()),
            out: Output {
                builder: SummaryBuilder::default(),
                sink,
                io_error: None,
            },
        }
    }

    fn warnings(&mut self, ws: Vec<Warning>) {
        for w in ws.iter().chain(self.tracker.take_warnings().iter()) {
            self.out.emit(Event::Warning(w));
        }
    }

    /// The connection is MQTT from now on: announce it and start its analysis.
    fn start_mqtt(&mut self, conn: ConnId) {
        let Some(ctx) = self.conns.get(&conn) else {
            return;
        };
        self.out.emit(ctx.open_event(conn));
        self.tracker.connection_open(
            conn,
            ctx.client,
            ctx.server,
            ctx.first_frame,
            ctx.first_ts,
            ctx.handshake.as_ref(),
            ctx.midstream,
        );
    }

    /// Feeds data to the connection's decoder, deciding first what it carries if need be.
    fn data(
        &mut self,
        conn: ConnId,
        dir: Direction,
        frame: u64,
        ts: Timestamp,
        data: &[u8],
    ) -> Interest {
        let Some(ctx) = self.conns.get_mut(&conn) else {
            return Interest::Ignore;
        };
        let mut detected = None;
        if let Carries::Undecided { prefix } = &mut ctx.carries {
            if dir == Direction::ServerToClient && prefix.is_empty() {
                // MQTT clients speak first; a server that talks first is something else.
                return self.not_mqtt(conn);
            }
            let want = DETECT_PREFIX.saturating_sub(prefix.len()).min(data.len());
            prefix.extend_from_slice(data.get(..want).unwrap_or_default());
            if !looks_like_connect(prefix) {
                if prefix.len() >= DETECT_PREFIX {
                    return self.not_mqtt(conn);
                }
                return Interest::Keep;
            }
            // Bytes of the CONNECT that came in earlier pieces than this one.
            let buffered = std::mem::take(prefix);
            detected = Some(
                buffered
                    .get(..buffered.len().saturating_sub(want))
                    .unwrap_or_default()
                    .to_vec(),
            );
            ctx.carries = Carries::Mqtt(Box::new(MqttConnection::new(&self.mqtt_cfg)));
        }
        if let Some(head) = detected {
            self.start_mqtt(conn);
            self.feed(conn, dir, frame, ts, &head);
        }
        self.feed(conn, dir, frame, ts, data)
    }

    fn feed(
        &mut self,
        conn: ConnId,
        dir: Direction,
        frame: u64,
        ts: Timestamp,
        data: &[u8],
    ) -> Interest {
        let Some(ctx) = self.conns.get_mut(&conn) else {
            return Interest::Ignore;
        };
        let m = match &mut ctx.carries {
            Carries::Mqtt(m) => m,
            // Still followed (not decoded) so its byte counts stay right.
            Carries::Tls => return Interest::Keep,
            Carries::Undecided { .. } => return Interest::Ignore,
        };
        if dir == Direction::ClientToServer
            && ctx.packets == 0
            && m.buffered_bytes() == 0
            && looks_like_tls(data)
        {
            ctx.carries = Carries::Tls;
            return Interest::Keep;
        }
        let (out, tracker, packets) = (&mut self.out, &mut self.tracker, &mut ctx.packets);
        m.on_data(dir, frame, ts, data, &mut |ev| {
            out.mqtt_event(tracker, conn, packets, ev)
        });
        Interest::Keep
    }

    fn not_mqtt(&mut self, conn: ConnId) -> Interest {
        self.conns.remove(&conn);
        Interest::Ignore
    }
}

impl StreamSink for Connections<'_> {
    fn on_event(&mut self, ev: StreamEvent<'_>) -> Interest {
        match ev {
            StreamEvent::Open {
                conn,
                client,
                server,
                frame,
                ts,
                midstream,
                handshake,
            } => {
                let on_port = self.ports.contains(&server.port);
                let carries = if on_port {
                    Carries::Mqtt(Box::new(if midstream {
                        MqttConnection::new_mid_stream(&self.mqtt_cfg)
                    } else {
                        MqttConnection::new(&self.mqtt_cfg)
                    }))
                } else if self.detect {
                    Carries::Undecided { prefix: Vec::new() }
                } else {
                    return Interest::Ignore;
                };
                let ctx = ConnCtx {
                    carries,
                    client,
                    server,
                    first_frame: frame,
                    first_ts: ts,
                    midstream,
                    handshake,
                    packets: 0,
                    mqtt: None,
                };
                let reported = ctx.reported();
                self.conns.insert(conn, ctx);
                if reported {
                    self.start_mqtt(conn);
                }
                Interest::Keep
            }
            StreamEvent::Data {
                conn,
                dir,
                frame,
                ts,
                data,
            } => self.data(conn, dir, frame, ts, data),
            StreamEvent::Gap {
                conn,
                dir,
                frame,
                ts,
                len,
                ..
            } => {
                let Some(ctx) = self.conns.get_mut(&conn) else {
                    return Interest::Ignore;
                };
                match &mut ctx.carries {
                    Carries::Undecided { .. } => self.not_mqtt(conn),
                    Carries::Mqtt(m) => {
                        let (out, tracker, packets) =
                            (&mut self.out, &mut self.tracker, &mut ctx.packets);
                        m.on_gap(dir, frame, ts, len, &mut |ev| {
                            out.mqtt_event(tracker, conn, packets, ev)
                        });
                        Interest::Keep
                    }
                    Carries::Tls => Interest::Keep,
                }
            }
            StreamEvent::End {
                conn,
                frame,
                ts,
                how,
            } => {
                if let Some(ctx) = self.conns.get_mut(&conn)
                    && ctx.reported()
                {
                    if let Carries::Mqtt(m) = &mut ctx.carries {
                        let (out, tracker, packets) =
                            (&mut self.out, &mut self.tracker, &mut ctx.packets);
                        m.on_close(frame, ts, &mut |ev| {
                            out.mqtt_event(tracker, conn, packets, ev)
                        });
                    }
                    let out = &mut self.out;
                    ctx.mqtt = self
                        .tracker
                        .connection_end(conn, frame, ts, how, &mut |a| out.analysis(a));
                    self.out.emit(Event::ConnectionClose {
                        conn,
                        frame,
                        ts,
                        how,
                    });
                }
                Interest::Keep
            }
            StreamEvent::Retired { record } => {
                if let Some(ctx) = self.conns.remove(&record.id)
                    && ctx.reported()
                {
                    let encrypted = matches!(ctx.carries, Carries::Tls);
                    self.out
                        .builder
                        .connection(record.clone(), ctx.mqtt_summary(), encrypted);
                }
                Interest::Keep
            }
        }
    }
}

/// A TLS record header (handshake, version 3.x): MQTT over TLS on 8883.
fn looks_like_tls(data: &[u8]) -> bool {
    matches!(data, [0x16, 0x03, 0x00..=0x04, ..])
}
