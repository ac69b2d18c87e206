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
//! and where events go ([`Emit`]: the summary fold and sink of an
//! [`Output`]). A connection and all it owns is `Send`.
//!
//! With `--threads`, detection stays with the factory on the thread that
//! reads the capture, and a connection found to carry MQTT is handed to an
//! analysis worker ([`Forward`], `crate::parallel`): the worker holds the
//! same [`Connection`] and runs the same code on it ([`Upper`]).

mod detect;
mod output;

pub use output::{Emit, Output};

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
    /// MQTT, decoded and analysed by worker `n` of `--threads`.
    Remote(usize),
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

/// Hands connections that carry MQTT to analysis workers (`--threads`):
/// every call the reassembler makes on such a connection goes to the
/// worker that owns it, in order, which makes the same calls on its own
/// [`Connection`].
pub trait Forward {
    /// A connection found to carry MQTT: the worker that will own it.
    fn open(&mut self, opened: &Opened) -> usize;
    fn data(&mut self, worker: usize, conn: ConnId, dir: Direction, at: At, data: &[u8]);
    fn gap(&mut self, worker: usize, conn: ConnId, dir: Direction, at: At, len: u64);
    fn unseen(&mut self, worker: usize, conn: ConnId, dir: Direction, at: At);
    fn end(&mut self, worker: usize, conn: ConnId, at: At, how: CloseKind, record: &ConnRecord);
    fn retire(&mut self, worker: usize, conn: ConnId, record: &ConnRecord);
}

/// What a connection's MQTT side reports to and shares with: the output
/// and the analysis' shared state, on whichever thread it runs.
pub struct Upper<'a> {
    pub out: &'a mut dyn Emit,
    pub shared: &'a mut Shared,
}

impl Connection {
    /// A connection carrying MQTT from its first byte, with its decoder (on
    /// an analysis worker, for a connection the reading thread handed over).
    pub fn mqtt(o: &Opened, cfg: &MqttConfig) -> Connection {
        Connection::new(o, mqtt_stack(cfg, o.midstream))
    }

    fn new(o: &Opened, carries: Carries) -> Connection {
        Connection {
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
        }
    }

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

    /// The connection is MQTT from now on: announce it and start its analysis.
    pub fn start(&mut self, up: &mut Upper<'_>) {
        up.out.emit(Event::ConnectionOpen {
            conn: self.id,
            frame: self.first.frame,
            ts: self.first.ts,
            client: self.client,
            server: self.server,
        });
        let analysis = up.shared.open(
            self.id,
            self.client,
            self.server,
            self.handshake.as_ref(),
            self.midstream,
        );
        if let Carries::Mqtt(m) = &mut self.carries {
            m.analysis = Some(analysis);
        }
    }

    /// Feeds decided bytes to the connection's decoder.
    pub fn feed(&mut self, up: &mut Upper<'_>, dir: Direction, at: At, data: &[u8]) -> Interest {
        let m = match &mut self.carries {
            Carries::Mqtt(m) => m,
            // Still followed (not decoded) so its byte counts stay right.
            Carries::Tls | Carries::Remote(_) => return Interest::Keep,
            Carries::Undecided(_) => return Interest::Ignore,
        };
        if dir == Direction::ClientToServer
            && self.packets == 0
            && m.mqtt.buffered_bytes() == 0
            && looks_like_tls(data)
        {
            self.carries = Carries::Tls;
            return Interest::Keep;
        }
        let mut cx = Cx {
            out: &mut *up.out,
            shared: &mut *up.shared,
            conn: self.id,
            packets: &mut self.packets,
            problems: &mut self.problems,
        };
        let MqttStack { mqtt, analysis } = &mut **m;
        mqtt.on_data(dir, at.frame, at.ts, data, &mut |ev| {
            cx.mqtt_event(analysis, ev)
        });
        Interest::Keep
    }

    /// `len` bytes of `dir` were never captured (a decided connection).
    pub fn gap(&mut self, up: &mut Upper<'_>, dir: Direction, at: At, len: u64) {
        if let Carries::Mqtt(m) = &mut self.carries {
            let mut cx = Cx {
                out: &mut *up.out,
                shared: &mut *up.shared,
                conn: self.id,
                packets: &mut self.packets,
                problems: &mut self.problems,
            };
            let MqttStack { mqtt, analysis } = &mut **m;
            mqtt.on_gap(dir, at.frame, at.ts, len, &mut |ev| {
                cx.mqtt_event(analysis, ev)
            });
        }
    }

    /// The peer acknowledged bytes of `dir` the capture has not shown.
    pub fn unseen(&mut self, dir: Direction, at: At) {
        if let Carries::Mqtt(m) = &mut self.carries
            && let Some(a) = m.analysis.as_mut()
        {
            // Not a gap yet (the bytes may still come, reordered), but what
            // the peer sends now may answer bytes the capture lost.
            a.undecoded(dir, at.ts);
        }
    }

    /// The connection ended: the decoder and the analysis conclude, and its
    /// record is reported.
    pub fn end(&mut self, up: &mut Upper<'_>, at: At, how: CloseKind, record: &ConnRecord) {
        if let Carries::Mqtt(m) = &mut self.carries {
            let MqttStack { mqtt, analysis } = &mut **m;
            let mut cx = Cx {
                out: &mut *up.out,
                shared: &mut *up.shared,
                conn: self.id,
                packets: &mut self.packets,
                problems: &mut self.problems,
            };
            mqtt.on_close(at.frame, at.ts, &mut |ev| cx.mqtt_event(analysis, ev));
            if let Some(a) = analysis.take() {
                let (out, problems, conn) = (&mut *cx.out, &mut *cx.problems, cx.conn);
                self.learnt = cx
                    .shared
                    .end(a, at, how, &mut |e| analysed(out, problems, conn, e));
            }
        }
        let record = self.summary(record);
        up.out.emit(Event::ConnectionClose {
            conn: self.id,
            frame: at.frame,
            ts: at.ts,
            how,
            record: &record,
        });
    }

    /// The connection is forgotten: its final record goes to the summary.
    pub fn retire(self, out: &mut dyn Emit, record: &ConnRecord) {
        out.connection(self.summary(record));
    }
}

/// The MQTT side of a connection whose streams start at a packet
/// boundary, or (`midstream`) somewhere inside one.
fn mqtt_stack(cfg: &MqttConfig, midstream: bool) -> Carries {
    let mqtt = if midstream {
        MqttConnection::new_mid_stream(cfg)
    } else {
        MqttConnection::new(cfg)
    };
    Carries::Mqtt(Box::new(MqttStack {
        mqtt,
        analysis: None,
    }))
}

/// The connection factory: makes each connection's [`Connection`] and
/// holds what all of them share (module docs).
pub struct Connections<O: Emit> {
    ports: Vec<u16>,
    detect: bool,
    mqtt_cfg: MqttConfig,
    /// Servers that proved to speak MQTT on some connection.
    proven: ProvenServers,
    pub analysis: Shared,
    pub out: O,
    /// `--threads`: where connections that carry MQTT go.
    forward: Option<Box<dyn Forward>>,
}

impl<O: Emit> Connections<O> {
    pub fn new(
        ports: Vec<u16>,
        detect: bool,
        mqtt_cfg: MqttConfig,
        analysis: Shared,
        out: O,
    ) -> Self {
        Connections {
            ports,
            detect,
            mqtt_cfg,
            proven: ProvenServers::default(),
            analysis,
            out,
            forward: None,
        }
    }

    /// Connections that carry MQTT are handed to `forward` (`--threads`).
    pub fn forwarding(mut self, forward: Box<dyn Forward>) -> Self {
        self.forward = Some(forward);
        self
    }

    /// The workers' side of the run, at its end.
    pub fn take_forward(&mut self) -> Option<Box<dyn Forward>> {
        self.forward.take()
    }

    /// Warnings of the analysis since the last call, reported.
    pub fn analysis_warnings(&mut self) {
        let ws = self.analysis.take_warnings();
        self.out.warnings(ws);
    }

    /// The connection is MQTT from now on: announce it and start its
    /// analysis, here or on a worker.
    fn start_mqtt(&mut self, c: &mut Connection) {
        if let Some(fw) = self.forward.as_mut() {
            let opened = Opened {
                conn: c.id,
                client: c.client,
                server: c.server,
                first: c.first,
                midstream: c.midstream,
                handshake: c.handshake,
            };
            c.carries = Carries::Remote(fw.open(&opened));
            return;
        }
        c.start(&mut Upper {
            out: &mut self.out,
            shared: &mut self.analysis,
        });
    }

    /// Detection decided: the connection is MQTT. Its server is proven, the
    /// bytes held so far are decoded with the frames they came from, then
    /// `rest` (data that decided but was not held).
    fn decided_mqtt(
        &mut self,
        c: &mut Connection,
        rest: Option<(Direction, At, &[u8])>,
    ) -> Interest {
        let stack = mqtt_stack(&self.mqtt_cfg, c.midstream);
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

    /// Feeds decided bytes to the connection's decoder (or its worker).
    fn feed(&mut self, c: &mut Connection, dir: Direction, at: At, data: &[u8]) -> Interest {
        if let (Carries::Remote(w), Some(fw)) = (&c.carries, self.forward.as_mut()) {
            fw.data(*w, c.id, dir, at, data);
            return Interest::Keep;
        }
        c.feed(
            &mut Upper {
                out: &mut self.out,
                shared: &mut self.analysis,
            },
            dir,
            at,
            data,
        )
    }
}

/// What handling one connection's MQTT events needs: the output, the
/// shared analysis, and the connection's own counters.
struct Cx<'a> {
    out: &'a mut dyn Emit,
    shared: &'a mut Shared,
    conn: ConnId,
    packets: &'a mut u64,
    problems: &'a mut Problems,
}

impl Cx<'_> {
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
fn analysed(out: &mut dyn Emit, problems: &mut Problems, conn: ConnId, e: AnalysisEvent<'_>) {
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

impl<O: Emit> ConnectionFactory for Connections<O> {
    type Consumer = Connection;

    fn open(&mut self, o: &Opened) -> Option<Connection> {
        let on_port = self.ports.contains(&o.server.port);
        let carries = if on_port || (self.detect && self.proven.contains(&o.server)) {
            mqtt_stack(&self.mqtt_cfg, o.midstream)
        } else if self.detect {
            Carries::Undecided(Held::default())
        } else {
            return None;
        };
        let mut c = Connection::new(o, carries);
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
            Carries::Remote(w) => {
                if let Some(fw) = self.forward.as_mut() {
                    fw.gap(*w, c.id, dir, at, len);
                }
                Interest::Keep
            }
            Carries::Mqtt(_) | Carries::Tls => {
                c.gap(
                    &mut Upper {
                        out: &mut self.out,
                        shared: &mut self.analysis,
                    },
                    dir,
                    at,
                    len,
                );
                Interest::Keep
            }
        }
    }

    fn unseen(&mut self, c: &mut Connection, dir: Direction, at: At) {
        if let (Carries::Remote(w), Some(fw)) = (&c.carries, self.forward.as_mut()) {
            fw.unseen(*w, c.id, dir, at);
            return;
        }
        c.unseen(dir, at);
    }

    fn end(&mut self, c: &mut Connection, at: At, how: CloseKind, record: &ConnRecord) {
        if !c.reported() {
            return;
        }
        if let (Carries::Remote(w), Some(fw)) = (&c.carries, self.forward.as_mut()) {
            fw.end(*w, c.id, at, how, record);
            return;
        }
        c.end(
            &mut Upper {
                out: &mut self.out,
                shared: &mut self.analysis,
            },
            at,
            how,
            record,
        );
    }

    fn retire(&mut self, c: Option<Connection>, record: &ConnRecord) {
        match c {
            Some(c) if c.reported() => match (&c.carries, self.forward.as_mut()) {
                (Carries::Remote(w), Some(fw)) => fw.retire(*w, c.id, record),
                _ => c.retire(&mut self.out, record),
            },
            _ => self.out.other_connection(record),
        }
    }
}
