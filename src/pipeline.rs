//! The run: pull frames from a source, push them through every stage.
//!
//! ```text
//! FrameSource ─Frame─▶ netdecode ─Segment─▶ tcp::Reassembler ─StreamEvent─▶ Connections ─Event─▶ Sink
//! ```
//!
//! [`Connections`] is the reassembler's consumer: it decides which TCP
//! connections are MQTT (server port in `--port`, or — with detection on —
//! the client's first bytes are a CONNECT), runs an [`MqttConnection`] for
//! each, and turns what comes out into report events. The summary is folded
//! from the same events by a [`SummaryBuilder`].

use crate::capture::{CaptureInfo, CaptureReader, Frame};
use crate::mqtt::{MqttConfig, MqttConnection, MqttEvent, Packet, looks_like_connect};
use crate::netdecode::{self, Decoded, Endpoint, NetCounters};
use crate::report::{Event, MqttConnSummary, PacketInfo, Sink, Summary, SummaryBuilder};
use crate::tcp::{ConnId, Direction, Interest, Reassembler, StreamEvent, StreamSink, TcpConfig};
use crate::time::Timestamp;
use crate::warning::Warning;
use std::collections::HashMap;
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
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            ports: vec![1883, 8883],
            detect: true,
            tcp: TcpConfig::default(),
            mqtt: MqttConfig::default(),
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
            for w in source.take_warnings() {
                layer.out.emit(Event::Warning(&w));
            }
            for w in tcp.take_warnings() {
                layer.out.emit(Event::Warning(&w));
            }
            layer.out.check()?;
        }
        for w in source.take_warnings() {
            layer.out.emit(Event::Warning(&w));
        }
        tcp.finish(&mut layer);
        for w in tcp.take_warnings() {
            layer.out.emit(Event::Warning(&w));
        }
        layer.out.check()?;
        let Output { builder, sink, .. } = layer.out;
        let summary = builder.finish(source.info(), &net, tcp.counters());
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
    /// Packets counted, CONNECT facts; the connection's `mqtt` object.
    mqtt: MqttConnSummary,
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
}

/// The reassembler's consumer: picks the MQTT connections and decodes them.
struct Connections<'s> {
    ports: Vec<u16>,
    detect: bool,
    mqtt_cfg: MqttConfig,
    conns: HashMap<ConnId, ConnCtx>,
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

    /// Turns one MQTT decoding event into report events.
    fn mqtt_event(&mut self, conn: ConnId, summary: &mut MqttConnSummary, ev: MqttEvent<'_>) {
        match ev {
            MqttEvent::Packet(p) => {
                let name = p.packet.packet_type().as_str();
                *summary.packets.entry(name).or_insert(0) += 1;
                if let Packet::Connect(c) = p.packet
                    && summary.client_id.is_none()
                {
                    summary.client_id = Some(c.client_id.to_string());
                    summary.keepalive_s = Some(c.keepalive);
                    summary.clean_start = Some(c.clean_start);
                }
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
    }
}

impl<'s> Connections<'s> {
    fn new(opts: &PipelineOptions, sink: &'s mut dyn Sink) -> Self {
        Connections {
            ports: opts.ports.clone(),
            detect: opts.detect,
            mqtt_cfg: opts.mqtt,
            conns: HashMap::new(),
            out: Output {
                builder: SummaryBuilder::default(),
                sink,
                io_error: None,
            },
        }
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
        if let Carries::Undecided { prefix } = &mut ctx.carries {
            if dir == Direction::ServerToClient && prefix.is_empty() {
                // MQTT clients speak first; a server that talks first is something else.
                return self.not_mqtt(conn);
            }
            let want = DETECT_PREFIX.saturating_sub(prefix.len()).min(data.len());
            prefix.extend_from_slice(data.get(..want).unwrap_or_default());
            if looks_like_connect(prefix) {
                let buffered = std::mem::take(prefix);
                // Reported from now on: its open event comes before its first packet.
                self.out.emit(ctx.open_event(conn));
                let mut m = Box::new(MqttConnection::new(&self.mqtt_cfg));
                let out = &mut self.out;
                let summary = &mut ctx.mqtt;
                // The prefix was part of `data` unless data arrived in several pieces.
                let earlier = buffered.len().saturating_sub(want);
                let head = buffered.get(..earlier).unwrap_or_default();
                m.on_data(dir, frame, ts, head, &mut |ev| {
                    out.mqtt_event(conn, summary, ev)
                });
                m.on_data(dir, frame, ts, data, &mut |ev| {
                    out.mqtt_event(conn, summary, ev)
                });
                ctx.carries = Carries::Mqtt(m);
                return Interest::Keep;
            }
            if prefix.len() >= DETECT_PREFIX {
                return self.not_mqtt(conn);
            }
            return Interest::Keep;
        }
        if let Carries::Mqtt(m) = &mut ctx.carries {
            if dir == Direction::ClientToServer
                && ctx.mqtt.packets.is_empty()
                && m.buffered_bytes() == 0
                && looks_like_tls(data)
            {
                ctx.carries = Carries::Tls;
                return Interest::Ignore;
            }
            let out = &mut self.out;
            let summary = &mut ctx.mqtt;
            m.on_data(dir, frame, ts, data, &mut |ev| {
                out.mqtt_event(conn, summary, ev)
            });
        }
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
                    mqtt: MqttConnSummary::default(),
                };
                if ctx.reported() {
                    self.out.emit(ctx.open_event(conn));
                }
                self.conns.insert(conn, ctx);
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
                        let out = &mut self.out;
                        let summary = &mut ctx.mqtt;
                        m.on_gap(dir, frame, ts, len, &mut |ev| {
                            out.mqtt_event(conn, summary, ev)
                        });
                        Interest::Keep
                    }
                    Carries::Tls => Interest::Ignore,
                }
            }
            StreamEvent::End {
                conn,
                frame,
                ts,
                how,
            } => {
                if let Some(ctx) = self.conns.get_mut(&conn) {
                    if let Carries::Mqtt(m) = &mut ctx.carries {
                        let out = &mut self.out;
                        let summary = &mut ctx.mqtt;
                        m.on_close(frame, ts, &mut |ev| out.mqtt_event(conn, summary, ev));
                    }
                    if ctx.reported() {
                        self.out.emit(Event::ConnectionClose {
                            conn,
                            frame,
                            ts,
                            how,
                        });
                    }
                }
                Interest::Keep
            }
            StreamEvent::Retired { record } => {
                if let Some(mut ctx) = self.conns.remove(&record.id)
                    && ctx.reported()
                {
                    let encrypted = matches!(ctx.carries, Carries::Tls);
                    let mqtt = match &ctx.carries {
                        Carries::Mqtt(m) if !ctx.mqtt.packets.is_empty() => {
                            ctx.mqtt.version = m.version().map(|v| v.as_str());
                            ctx.mqtt.version_inferred = m.version_inferred();
                            Some(ctx.mqtt)
                        }
                        _ => None,
                    };
                    self.out.builder.connection(record.clone(), mqtt, encrypted);
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
