//! The owner of each TCP connection: everything above TCP for one
//! connection, in one value.
//!
//! The reassembler keeps the one table of connections; for each new
//! connection it asks [`Connections`] (the factory) for a [`Connection`]
//! and stores it beside the connection's TCP state. A [`Connection`] owns
//! what is known about the connection above TCP:
//!
//! - detection: whether it carries MQTT (server port in `--port`, or —
//!   with detection on — the client's first bytes are a CONNECT; TLS on an
//!   MQTT port is recognised and followed undecoded), see `detect.rs`;
//! - the byte-stream layers between TCP and MQTT (today MQTT sits directly
//!   on TCP; a TLS or WebSocket layer goes between the TCP bytes and
//!   [`MqttConnection::on_data`] in [`Connection`]'s `Carries::Mqtt`);
//! - the MQTT decoder ([`MqttConnection`]: framing, version, aliases);
//! - the analysis state of the connection ([`ConnAnalysis`]: flows,
//!   subscriptions, keep alive, Receive Maximum).
//!
//! What spans connections lives in the factory: the analysis' [`Shared`]
//! service (sessions across reconnects, tallies, histograms, breakdowns)
//! and the [`Output`] (summary fold and sink). A connection and all it
//! owns is `Send`.

mod detect;
mod output;

pub use output::Output;

use crate::analysis::{AnalysisEvent, ConnAnalysis, ConnectionMqtt, Severity, Shared};
use crate::base::{At, ConnId, Direction, Endpoint};
use crate::mqtt::{MqttConfig, MqttConnection, MqttEvent};
use crate::report::{ConnectionSummary, Event, MqttConnSummary, Problems};
use crate::tcp::{CloseKind, ConnRecord, ConnectionFactory, Handshake, Interest, Opened};
use detect::{Held, ProvenServers, Verdict, judge_handshake, judge_midstream, looks_like_tls};

/// What a connection turned out to carry.
enum Carries {
    /// Not known yet: the first bytes are held until they decide (content detection).
    Undecided(Held),
    /// MQTT: its decoder and its analysis.
    Mqtt(Box<MqttStack>),
    /// TLS on an MQTT port: encrypted, nothing to decode.
    Tls,
}

/// The MQTT side of a connection.
struct MqttStack {
    mqtt: MqttConnection,
    /// `None` until the connection is reported (detection decided).
    analysis: Option<ConnAnalysis>,
}

/// Everything above TCP of one connection (module docs).
pub struct Connection {
    id: ConnId,
    client: Endpoint,
    server: Endpoint,
    first: At,
    midstream: bool,
    handshake: Option<Handshake>,
    carries: Carries,
    /// MQTT packets decoded so far (decides TLS and whether `mqtt` is null).
    packets: u64,
    /// Findings raised on the connection (decides whether the summary lists it).
    problems: Problems,
    /// What the analysis learnt, once the connection ended.
    learnt: Option<ConnectionMqtt>,
}

impl Connection {
    /// Whether the connection appears in the report (not while detection is undecided).
    fn reported(&self) -> bool {
        !matches!(self.carries, Carries::Undecided { .. })
    }

    /// The connection's analysis state, for a live tick.
    pub fn analysis_mut(&mut self) -> Option<&mut ConnAnalysis> {
        match &mut self.carries {
            Carries::Mqtt(m) => m.analysis.as_mut(),
            _ => None,
        }
    }

    /// The report's record of the connection.
    fn summary(&self, record: &ConnRecord) -> ConnectionSummary {
        ConnectionSummary {
            tcp: record.clone(),
            encrypted: matches!(self.carries, Carries::Tls),
            mqtt: self.mqtt_summary(),
            problems: self.problems,
        }
    }

    /// The connection's `mqtt` object: `None` when it carried no MQTT.
    fn mqtt_summary(&self) -> Option<MqttConnSummary> {
        let Carries::Mqtt(m) = &self.carries else {
            return None;
        };
        if self.packets == 0 {
            return None;
        }
        let learnt = self.learnt.clone().unwrap_or_default();
        Some(MqttConnSummary {
            // From the CONNECT, else what the packets proved, else unknown:
            // never the decoder's default guess.
            version: m.mqtt.version().map(|v| v.as_str()),
            version_inferred: m.mqtt.version_inferred(),
            client_id: learnt.client_id,
            keepalive_s: learnt.keepalive_s,
            clean_start: learnt.clean_start,
            session_present: learnt.session_present,
            packets: learnt.packets,
        })
    }
}

/// The connection factory: makes each connection's [`Connection`] and
/// holds what all of them share (module docs).
pub struct Connections<'s> {
    ports: Vec<u16>,
    detect: bool,
    mqtt_cfg: MqttConfig,
    /// Servers that proved to speak MQTT on some connection.
    proven: ProvenServers,
    pub analysis: Shared,
    pub out: Output<'s>,
}

impl<'s> Connections<'s> {
    pub fn new(
        ports: Vec<u16>,
        detect: bool,
        mqtt_cfg: MqttConfig,
        analysis: Shared,
        out: Output<'s>,
    ) -> Self {
        Connections {
            ports,
            detect,
            mqtt_cfg,
            proven: ProvenServers::default(),
            analysis,
            out,
        }
    }

    /// Warnings of the analysis since the last call, reported.
    pub fn analysis_warnings(&mut self) {
        let ws = self.analysis.take_warnings();
        self.out.warnings(ws);
    }

    /// The connection is MQTT from now on: announce it and start its analysis.
    fn start_mqtt(&mut self, c: &mut Connection) {
        self.out.emit(Event::ConnectionOpen {
            conn: c.id,
            frame: c.first.frame,
            ts: c.first.ts,
            client: c.client,
            server: c.server,
        });
        let analysis =
            self.analysis
                .open(c.id, c.client, c.server, c.handshake.as_ref(), c.midstream);
        if let Carries::Mqtt(m) = &mut c.carries {
            m.analysis = Some(analysis);
        }
    }

    /// The MQTT side of a connection whose streams start at a packet
    /// boundary, or (`midstream`) somewhere inside one.
    fn mqtt_stack(&self, midstream: bool) -> Carries {
        let mqtt = if midstream {
            MqttConnection::new_mid_stream(&self.mqtt_cfg)
        } else {
            MqttConnection::new(&self.mqtt_cfg)
        };
        Carries::Mqtt(Box::new(MqttStack {
            mqtt,
            analysis: None,
        }))
    }

    /// Detection decided: the connection is MQTT. Its server is proven, the
    /// bytes held so far are decoded with the frames they came from, then
    /// `rest` (data that decided but was not held).
    fn decided_mqtt(
        &mut self,
        c: &mut Connection,
        rest: Option<(Direction, At, &[u8])>,
    ) -> Interest {
        let stack = self.mqtt_stack(c.midstream);
        let Carries::Undecided(held) = std::mem::replace(&mut c.carries, stack) else {
            return Interest::Keep;
        };
        self.proven.add(c.server);
        self.start_mqtt(c);
        for (dir, at, bytes) in held.into_chunks() {
            self.feed(c, dir, at, &bytes);
        }
        match rest {
            Some((dir, at, data)) if !data.is_empty() => self.feed(c, dir, at, data),
            _ => Interest::Keep,
        }
    }

    /// Feeds decided bytes to the connection's decoder.
    fn feed(&mut self, c: &mut Connection, dir: Direction, at: At, data: &[u8]) -> Interest {
        let m = match &mut c.carries {
            Carries::Mqtt(m) => m,
            // Still followed (not decoded) so its byte counts stay right.
            Carries::Tls => return Interest::Keep,
            Carries::Undecided(_) => return Interest::Ignore,
        };
        if dir == Direction::ClientToServer
            && c.packets == 0
            && m.mqtt.buffered_bytes() == 0
            && looks_like_tls(data)
        {
            c.carries = Carries::Tls;
            return Interest::Keep;
        }
        let mut cx = Cx {
            out: &mut self.out,
            shared: &mut self.analysis,
            conn: c.id,
            packets: &mut c.packets,
            problems: &mut c.problems,
        };
        let MqttStack { mqtt, analysis } = &mut **m;
        mqtt.on_data(dir, at.frame, at.ts, data, &mut |ev| {
            cx.mqtt_event(analysis, ev)
        });
        Interest::Keep
    }
}

/// What handling one connection's MQTT events needs: the output, the
/// shared analysis, and the connection's own counters.
struct Cx<'a, 's> {
    out: &'a mut Output<'s>,
    shared: &'a mut Shared,
    conn: ConnId,
    packets: &'a mut u64,
    problems: &'a mut Problems,
}

impl Cx<'_, '_> {
    /// One MQTT decoding event: reported, then judged by the analysis.
    fn mqtt_event(&mut self, analysis: &mut Option<ConnAnalysis>, ev: MqttEvent<'_>) {
        if let MqttEvent::Packet(_) = ev {
            *self.packets += 1;
        }
        self.out.mqtt(self.conn, &ev);
        if let Some(a) = analysis.as_mut() {
            let (out, problems, conn) = (&mut *self.out, &mut *self.problems, self.conn);
            self.shared
                .mqtt_event(a, &ev, &mut |e| analysed(out, problems, conn, e));
        }
    }
}

/// An analysis event, reported and counted against the connection it is about.
fn analysed(out: &mut Output<'_>, problems: &mut Problems, conn: ConnId, e: AnalysisEvent<'_>) {
    if let AnalysisEvent::Finding(f) = e
        && f.connection == conn
    {
        match f.severity {
            Severity::Error => problems.errors += 1,
            Severity::Warning => problems.warnings += 1,
            Severity::Info => {}
        }
    }
    out.analysis(e);
}

impl ConnectionFactory for Connections<'_> {
    type Consumer = Connection;

    fn open(&mut self, o: &Opened) -> Option<Connection> {
        let on_port = self.ports.contains(&o.server.port);
        let carries = if on_port || (self.detect && self.proven.contains(&o.server)) {
            self.mqtt_stack(o.midstream)
        } else if self.detect {
            Carries::Undecided(Held::default())
        } else {
            return None;
        };
        let mut c = Connection {
            id: o.conn,
            client: o.client,
            server: o.server,
            first: o.first,
            midstream: o.midstream,
            handshake: o.handshake,
            carries,
            packets: 0,
            problems: Problems::default(),
            learnt: None,
        };
        if c.reported() {
            self.start_mqtt(&mut c);
        }
        Some(c)
    }

    fn data(&mut self, c: &mut Connection, dir: Direction, at: At, data: &[u8]) -> Interest {
        let Carries::Undecided(held) = &mut c.carries else {
            return self.feed(c, dir, at, data);
        };
        let (verdict, rest) = if self.proven.contains(&c.server) {
            (Verdict::Mqtt, data)
        } else {
            let kept = held.push(dir, at, data);
            let v = if c.midstream {
                judge_midstream(held)
            } else {
                judge_handshake(held)
            };
            let v = match v {
                Verdict::Undecided if held.is_full() => Verdict::NotMqtt,
                v => v,
            };
            (v, data.get(kept..).unwrap_or_default())
        };
        match verdict {
            Verdict::NotMqtt => Interest::Ignore,
            Verdict::Undecided => Interest::Keep,
            Verdict::Mqtt => self.decided_mqtt(c, Some((dir, at, rest))),
        }
    }

    fn gap(&mut self, c: &mut Connection, dir: Direction, at: At, len: u64) -> Interest {
        match &mut c.carries {
            Carries::Undecided(_) if self.proven.contains(&c.server) => {
                self.decided_mqtt(c, None);
                self.gap(c, dir, at, len)
            }
            Carries::Undecided(held) => {
                // What arrived before the gap may be enough to tell.
                let v = if c.midstream {
                    judge_midstream(held)
                } else {
                    judge_handshake(held)
                };
                if v != Verdict::Mqtt {
                    return Interest::Ignore;
                }
                self.decided_mqtt(c, None);
                self.gap(c, dir, at, len)
            }
            Carries::Mqtt(m) => {
                let mut cx = Cx {
                    out: &mut self.out,
                    shared: &mut self.analysis,
                    conn: c.id,
                    packets: &mut c.packets,
                    problems: &mut c.problems,
                };
                let MqttStack { mqtt, analysis } = &mut **m;
                mqtt.on_gap(dir, at.frame, at.ts, len, &mut |ev| {
                    cx.mqtt_event(analysis, ev)
                });
                Interest::Keep
            }
            Carries::Tls => Interest::Keep,
        }
    }

    fn unseen(&mut self, c: &mut Connection, dir: Direction, at: At) {
        if let Carries::Mqtt(m) = &mut c.carries
            && let Some(a) = m.analysis.as_mut()
        {
            // Not a gap yet (the bytes may still come, reordered), but what
            // the peer sends now may answer bytes the capture lost.
            a.undecoded(dir, at.ts);
        }
    }

    fn end(&mut self, c: &mut Connection, at: At, how: CloseKind, record: &ConnRecord) {
        if !c.reported() {
            return;
        }
        if let Carries::Mqtt(m) = &mut c.carries {
            let MqttStack { mqtt, analysis } = &mut **m;
            let mut cx = Cx {
                out: &mut self.out,
                shared: &mut self.analysis,
                conn: c.id,
                packets: &mut c.packets,
                problems: &mut c.problems,
            };
            mqtt.on_close(at.frame, at.ts, &mut |ev| cx.mqtt_event(analysis, ev));
            if let Some(a) = analysis.take() {
                let (out, problems, conn) = (&mut *cx.out, &mut *cx.problems, cx.conn);
                c.learnt = cx
                    .shared
                    .end(a, at, how, &mut |e| analysed(out, problems, conn, e));
            }
        }
        let record = c.summary(record);
        self.out.emit(Event::ConnectionClose {
            conn: c.id,
            frame: at.frame,
            ts: at.ts,
            how,
            record: &record,
        });
    }

    fn retire(&mut self, c: Option<Connection>, record: &ConnRecord) {
        match c {
            Some(c) if c.reported() => self.out.builder.connection(c.summary(record)),
            _ => self.out.builder.other_connection(record),
        }
    }
}
