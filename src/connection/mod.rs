//! The owner of each TCP connection: everything above TCP for one
//! connection, in one value.
//!
//! The reassembler keeps the one table of connections; for each new
//! connection it asks [`Connections`] (the factory) for a [`Connection`]
//! and stores it beside the connection's TCP state. A [`Connection`] owns
//! what is known about the connection above TCP:
//!
//! - detection: whether it carries MQTT (server port in `--port`, or —
//!   with detection on — the client's first bytes are a CONNECT or a
//!   WebSocket upgrade for MQTT), see `detect.rs`;
//! - the byte-stream layers between TCP and MQTT (`stack.rs`: TLS and
//!   WebSocket between the TCP bytes and [`MqttConnection::on_data`], in
//!   [`Connection`]'s `Carries::Mqtt`; a TLS connection off the MQTT
//!   ports not yet known to carry MQTT is `Carries::Tls`, decided from its
//!   ALPN, its server, or — with a key log — the decrypted first bytes);
//! - the MQTT decoder ([`MqttConnection`]: framing, version, aliases);
//! - the analysis state of the connection ([`ConnAnalysis`]: flows,
//!   subscriptions, keep alive, Receive Maximum).
//!
//! What spans connections lives in the factory: the analysis' [`Shared`]
//! service (sessions across reconnects, tallies, histograms, breakdowns),
//! the run's key log, and where events go ([`Emit`]: the summary fold and
//! sink of an [`Output`]). A connection and all it owns is `Send`.
//!
//! With `--threads`, detection stays with the factory on the thread that
//! reads the capture, and a connection found to carry MQTT moves — with
//! the layers detection chose for it, and a TLS layer's state and the
//! plaintext it decrypted while the connection was judged — to an
//! analysis worker ([`Forward`], `crate::parallel`): the worker runs the
//! same code on it ([`Upper`]), so its layers run there too.

mod detect;
mod output;
mod stack;

pub use output::{Emit, Output};
pub use stack::looks_like_tls_record;

use crate::analysis::{AnalysisEvent, ConnAnalysis, ConnectionMqtt, FindingKind, Severity, Shared};
use crate::base::{At, ConnId, Direction, Endpoint, Warning};
use crate::layers::tls::TlsProblem;
use crate::layers::{KeyLog, TlsEvent, TlsLayer};
use crate::mqtt::{MqttConfig, MqttConnection, MqttEvent};
use crate::report::{ConnectionSummary, Event, LayersSummary, MqttConnSummary, Problems};
use crate::tcp::{CloseKind, ConnRecord, ConnectionFactory, Handshake, Interest, Opened};
use detect::{Held, ProvenServers, Verdict, judge_handshake, judge_midstream};
use stack::{Layers, Loss, Top};
use std::fmt;
use std::sync::Arc;

/// What a connection turned out to carry.
enum Carries {
    /// Not known yet: the first bytes are held until they decide (content detection).
    Undecided(Held),
    /// MQTT (possibly inside TLS and/or WebSocket): its layers, decoder and analysis.
    Mqtt(Box<MqttStack>),
    /// TLS off the MQTT ports, not (yet) known to carry MQTT: the layer
    /// reads the hellos and, with a key, decrypts; the first plaintext is
    /// held until it decides.
    Tls(Box<TlsProbe>),
    /// MQTT, decoded and analysed (with its layers) by worker `n` of `--threads`.
    Remote(usize),
}

/// The MQTT side of a connection.
struct MqttStack {
    layers: Layers,
    mqtt: MqttConnection,
    /// `None` until the connection is reported (detection decided).
    analysis: Option<ConnAnalysis>,
    /// Plaintext a TLS layer decrypted while the connection was judged:
    /// decoded when the connection starts ([`Connection::start`]).
    pending: Held,
}

/// A TLS connection being judged (see [`Carries::Tls`]).
struct TlsProbe {
    tls: Box<TlsLayer>,
    held: Held,
    /// TLS records seen without a ClientHello that parses.
    records: u32,
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
    /// MQTT packets decoded so far (decides whether `mqtt` is null).
    packets: u64,
    /// Findings raised on the connection (decides whether the summary lists it).
    problems: Problems,
    /// What the analysis learnt, once the connection ended.
    learnt: Option<ConnectionMqtt>,
    /// Whether the connection is in the report: its `connection` event
    /// is out. With `--client` or `--topic` that waits for the first thing
    /// of the connection the filters select; what never gets there is not
    /// reported at all (no close event, no record).
    announced: bool,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let carries = match &self.carries {
            Carries::Undecided(_) => "undecided",
            Carries::Mqtt(_) => "mqtt",
            Carries::Tls(_) => "tls",
            Carries::Remote(_) => "remote",
        };
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("client", &self.client)
            .field("server", &self.server)
            .field("carries", &carries)
            .finish_non_exhaustive()
    }
}

/// Hands connections that carry MQTT to analysis workers (`--threads`):
/// the connection itself moves to the worker that will own it (with its
/// layers, as detection left them), and every later call the reassembler
/// makes on it goes to that worker, in order.
pub trait Forward {
    /// A connection found to carry MQTT, not started yet: the worker that
    /// now owns it (and starts it, [`Connection::start`]).
    fn open(&mut self, c: Box<Connection>) -> usize;
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
            announced: false,
        }
    }

    /// What the connection's `connection` event says.
    fn open_line(&self) -> OpenLine {
        OpenLine {
            conn: self.id,
            first: self.first,
            client: self.client,
            server: self.server,
        }
    }

    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The client's and the server's endpoints.
    pub fn endpoints(&self) -> (Endpoint, Endpoint) {
        (self.client, self.server)
    }

    /// Whether the connection appears in the report (not while detection is undecided).
    fn reported(&self) -> bool {
        matches!(self.carries, Carries::Mqtt(_) | Carries::Remote(_))
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
        let layers = match &self.carries {
            Carries::Mqtt(m) => Some(&m.layers),
            _ => None,
        };
        let tls = layers.and_then(|l| l.tls.as_ref()).map(|t| t.summary());
        ConnectionSummary {
            tcp: record.clone(),
            // Encrypted and not decoded: TLS whose application data we never decrypted.
            encrypted: tls.as_ref().is_some_and(|t| t.undecoded.is_some()),
            mqtt: self.mqtt_summary(),
            problems: self.problems,
            layers: LayersSummary {
                names: layers.map_or_else(|| vec!["tcp"], Layers::names),
                tls,
                websocket: layers
                    .and_then(|l| l.ws.as_ref())
                    .map(|w| w.summary().clone()),
            },
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

    /// What the connection's MQTT side reports through.
    fn cx<'a>(&'a mut self, up: &'a mut Upper<'_>) -> Option<(&'a mut MqttStack, Cx<'a>)> {
        let open = self.open_line();
        let Carries::Mqtt(m) = &mut self.carries else {
            return None;
        };
        let cx = Cx {
            out: &mut *up.out,
            shared: &mut *up.shared,
            conn: self.id,
            packets: &mut self.packets,
            problems: &mut self.problems,
            open,
            announced: &mut self.announced,
        };
        Some((&mut **m, cx))
    }

    /// The connection is MQTT from now on: announce it, start its
    /// analysis, and decode the plaintext its TLS layer decrypted while
    /// the connection was judged.
    pub fn start(&mut self, up: &mut Upper<'_>) {
        let sel = up.shared.select();
        if !sel.decides_late() && sel.connection_may_pass(self.id) {
            self.open_line().emit(&mut self.announced, up.out);
        }
        let analysis = up.shared.open(
            self.id,
            self.client,
            self.server,
            self.handshake.as_ref(),
            self.midstream,
        );
        let Some((m, mut cx)) = self.cx(up) else {
            return;
        };
        m.analysis = Some(analysis);
        let MqttStack {
            layers,
            mqtt,
            analysis,
            pending,
        } = m;
        for (dir, at, bytes) in std::mem::take(pending).into_chunks() {
            let mut top = Up {
                mqtt,
                analysis,
                cx: &mut cx,
            };
            layers.above_tls(dir, at, &bytes, &mut top);
        }
    }

    /// Feeds decided bytes to the connection's decoder, through its layers.
    pub fn feed(&mut self, up: &mut Upper<'_>, dir: Direction, at: At, data: &[u8]) -> Interest {
        let undecided = matches!(self.carries, Carries::Undecided(_) | Carries::Tls(_));
        let Some((m, mut cx)) = self.cx(up) else {
            // Remote: followed here (for its byte counts), decoded on its worker.
            return if undecided {
                Interest::Ignore
            } else {
                Interest::Keep
            };
        };
        let MqttStack {
            layers,
            mqtt,
            analysis,
            ..
        } = m;
        if layers.is_plain() {
            // The plain path: TCP bytes straight into the decoder.
            mqtt.on_data(dir, at.frame, at.ts, data, &mut |ev| {
                cx.mqtt_event(analysis, ev)
            });
        } else {
            let mut top = Up {
                mqtt,
                analysis,
                cx: &mut cx,
            };
            layers.data(dir, at, data, &mut top);
        }
        Interest::Keep
    }

    /// `len` bytes of `dir` were never captured (a decided connection).
    pub fn gap(&mut self, up: &mut Upper<'_>, dir: Direction, at: At, len: u64) {
        let Some((m, mut cx)) = self.cx(up) else {
            return;
        };
        let MqttStack {
            layers,
            mqtt,
            analysis,
            ..
        } = m;
        if layers.is_plain() || !layers.tcp_sniffed {
            mqtt.on_gap(dir, at.frame, at.ts, len, &mut |ev| {
                cx.mqtt_event(analysis, ev)
            });
        } else {
            let mut top = Up {
                mqtt,
                analysis,
                cx: &mut cx,
            };
            layers.gap(dir, at, len, &mut top);
        }
    }

    /// The peer acknowledged bytes of `dir` the capture has not shown.
    pub fn unseen(&mut self, dir: Direction, at: At) {
        if let Some(a) = self.analysis_mut() {
            // Not a gap yet (the bytes may still come, reordered), but what
            // the peer sends now may answer bytes the capture lost.
            a.undecoded(dir, at.ts);
        }
    }

    /// The connection ended: the decoder and the analysis conclude, and its
    /// record is reported.
    pub fn end(&mut self, up: &mut Upper<'_>, at: At, how: CloseKind, record: &ConnRecord) {
        if let Some((m, mut cx)) = self.cx(up) {
            let MqttStack { mqtt, analysis, .. } = m;
            mqtt.on_close(at.frame, at.ts, &mut |ev| cx.mqtt_event(analysis, ev));
            if let Some(a) = analysis.take() {
                let (out, problems, conn) = (&mut *cx.out, &mut *cx.problems, cx.conn);
                let (open, announced) = (cx.open, &mut *cx.announced);
                self.learnt = cx.shared.end(a, at, how, &mut |e| {
                    analysed(out, problems, conn, (open, &mut *announced), e)
                });
            }
        }
        if !self.announced {
            return;
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
        if self.announced {
            out.connection(self.summary(record));
        }
    }
}

/// The connection factory: makes each connection's [`Connection`] and
/// holds what all of them share (module docs).
pub struct Connections<O: Emit> {
    ports: Vec<u16>,
    detect: bool,
    mqtt_cfg: MqttConfig,
    /// `--tls-keylog`: the secrets that decrypt TLS connections.
    keylog: Option<Arc<KeyLog>>,
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
            keylog: None,
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

    /// Decrypt TLS with the NSS key log at `path` (`--tls-keylog`). A key
    /// log that cannot be read is a warning (the command line checks it
    /// before the run, so this is a file that vanished since).
    pub fn set_keylog(&mut self, path: Option<&std::path::Path>) {
        let Some(path) = path else {
            return;
        };
        match KeyLog::open(path) {
            Ok(k) => {
                let bad = k.bad_lines();
                if bad > 0 {
                    // Never the lines themselves: they may hold secrets.
                    self.out.emit(Event::Warning(&Warning::general(format!(
                        "TLS key log {}: {bad} line(s) not in the NSS key log format were skipped",
                        path.display(),
                    ))));
                }
                self.keylog = Some(Arc::new(k));
            }
            Err(e) => self
                .out
                .emit(Event::Warning(&Warning::general(e.to_string()))),
        }
    }

    /// Warnings of the analysis since the last call, reported.
    pub fn analysis_warnings(&mut self) {
        let ws = self.analysis.take_warnings();
        self.out.warnings(ws);
    }

    fn upper(&mut self) -> Upper<'_> {
        Upper {
            out: &mut self.out,
            shared: &mut self.analysis,
        }
    }

    /// The connection is MQTT from now on: it starts here, or moves to
    /// its worker and starts there.
    fn start_mqtt(&mut self, c: &mut Connection) {
        if let Some(fw) = self.forward.as_mut() {
            let moved = Box::new(Connection {
                id: c.id,
                client: c.client,
                server: c.server,
                first: c.first,
                midstream: c.midstream,
                handshake: c.handshake,
                carries: std::mem::replace(&mut c.carries, Carries::Remote(0)),
                packets: c.packets,
                problems: c.problems,
                learnt: None,
                announced: c.announced,
            });
            c.carries = Carries::Remote(fw.open(moved));
            return;
        }
        c.start(&mut Upper {
            out: &mut self.out,
            shared: &mut self.analysis,
        });
    }

    /// The MQTT side of a connection whose streams start at a packet
    /// boundary, or (`midstream`) somewhere inside one; `layers`: as
    /// detection found them (else found from the client's first bytes).
    fn mqtt_stack(&self, midstream: bool, layers: Option<Layers>) -> Carries {
        let mqtt = if midstream {
            MqttConnection::new_mid_stream(&self.mqtt_cfg)
        } else {
            MqttConnection::new(&self.mqtt_cfg)
        };
        let mut layers = layers.unwrap_or_else(|| {
            if midstream {
                Layers::midstream()
            } else {
                Layers::default()
            }
        });
        layers.keylog = self.keylog.clone();
        Carries::Mqtt(Box::new(MqttStack {
            layers,
            mqtt,
            analysis: None,
            pending: Held::default(),
        }))
    }

    /// Detection decided: the connection is MQTT. Its server is proven, the
    /// bytes held so far are decoded with the frames they came from, then
    /// `rest` (data that decided but was not held).
    fn decided_mqtt(
        &mut self,
        c: &mut Connection,
        rest: Option<(Direction, At, &[u8])>,
        layers: Option<Layers>,
    ) -> Interest {
        let stack = self.mqtt_stack(c.midstream, layers);
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
        match &c.carries {
            Carries::Tls(_) => return self.probe(c, dir, at, data),
            Carries::Remote(w) => {
                if let Some(fw) = self.forward.as_mut() {
                    fw.data(*w, c.id, dir, at, data);
                }
                return Interest::Keep;
            }
            Carries::Mqtt(_) | Carries::Undecided(_) => {}
        }
        c.feed(&mut self.upper(), dir, at, data)
    }

    /// The client's first bytes (off the MQTT ports) are a TLS record:
    /// judge the connection from its TLS layer.
    fn start_probe(&mut self, c: &mut Connection) -> Interest {
        let Carries::Undecided(held) = std::mem::replace(
            &mut c.carries,
            Carries::Tls(Box::new(TlsProbe {
                tls: Box::new(TlsLayer::new(self.keylog.is_some())),
                held: Held::default(),
                records: 0,
            })),
        ) else {
            return Interest::Keep;
        };
        for (dir, at, bytes) in held.into_chunks() {
            if self.probe(c, dir, at, &bytes) == Interest::Ignore {
                return Interest::Ignore;
            }
        }
        Interest::Keep
    }

    /// Bytes of a TLS connection being judged: MQTT when the client offers
    /// ALPN `mqtt`, the server is proven, or (with a key) the plaintext
    /// starts with a CONNECT or a WebSocket upgrade for MQTT. The TLS
    /// layer runs here, on the reading thread, until it decides; then it
    /// becomes the connection's own (and moves with it to a worker).
    fn probe(&mut self, c: &mut Connection, dir: Direction, at: At, data: &[u8]) -> Interest {
        let Carries::Tls(p) = &mut c.carries else {
            return Interest::Ignore;
        };
        let TlsProbe { tls, held, records } = &mut **p;
        let mut undecryptable = None;
        tls.on_data(dir, at, data, self.keylog.as_deref(), &mut |ev| match ev {
            TlsEvent::Plain { dir, at, bytes } => {
                held.push(dir, at, bytes);
            }
            TlsEvent::Problem {
                dir,
                at,
                problem: TlsProblem::Decrypt { record_frame },
            } if undecryptable.is_none() => undecryptable = Some((dir, at, record_frame)),
            _ => {}
        });
        if let (Some((dir, at, record_frame)), true) = (undecryptable, held.is_empty()) {
            // The key log has this connection, but its key does not open
            // it: nothing can tell whether it carries MQTT. Said, since the
            // key log is then wrong for it (not for a connection it lacks:
            // off the MQTT ports, those are mostly other protocols).
            self.out.emit(Event::Warning(&Warning::at(
                at.frame,
                format!(
                    "connection {} {}: a TLS record (completed in frame {record_frame}) does not \
                     decrypt with the key log's key (wrong key, or damaged); TLS off the MQTT \
                     ports is judged by what it decrypts to, so this connection is not analysed \
                     (give its port with --port to follow it encrypted)",
                    c.id,
                    dir.as_str()
                ),
            )));
            return Interest::Ignore;
        }
        let verdict = if tls.client_hello_seen() {
            if tls.offers_mqtt() || self.proven.contains(&c.server) {
                Verdict::Mqtt
            } else if self.keylog.is_none() {
                Verdict::NotMqtt
            } else if tls.summary().version.is_none() {
                Verdict::Undecided
            } else if !tls.keyed() {
                Verdict::NotMqtt
            } else {
                match judge_handshake(held) {
                    Verdict::Undecided if held.is_full() => Verdict::NotMqtt,
                    v => v,
                }
            }
        } else {
            *records += 1;
            if *records > 8 {
                Verdict::NotMqtt
            } else {
                Verdict::Undecided
            }
        };
        let ws = match verdict {
            Verdict::NotMqtt => return Interest::Ignore,
            Verdict::Undecided => return Interest::Keep,
            Verdict::Mqtt => false,
            Verdict::WebSocket => true,
        };
        let Carries::Tls(p) = std::mem::replace(&mut c.carries, Carries::Remote(0)) else {
            return Interest::Keep;
        };
        let TlsProbe { tls, held, .. } = *p;
        // Without a verdict on the plaintext (ALPN, a proven server), the
        // client's first plaintext — held already or still to come — is
        // sniffed for a WebSocket upgrade as it goes up.
        let layers = Layers::tls(tls, ws);
        c.carries = self.mqtt_stack(false, Some(layers));
        if let Carries::Mqtt(m) = &mut c.carries {
            m.pending = held;
        }
        self.proven.add(c.server);
        self.start_mqtt(c);
        Interest::Keep
    }
}

/// The top of a connection's stack: its MQTT decoder, and the connection's
/// reporting for what the layers say.
struct Up<'a, 'b> {
    mqtt: &'a mut MqttConnection,
    analysis: &'a mut Option<ConnAnalysis>,
    cx: &'a mut Cx<'b>,
}

impl Top for Up<'_, '_> {
    fn data(&mut self, dir: Direction, at: At, bytes: &[u8]) {
        let (cx, analysis) = (&mut *self.cx, &mut *self.analysis);
        self.mqtt.on_data(dir, at.frame, at.ts, bytes, &mut |ev| {
            cx.mqtt_event(analysis, ev)
        });
    }

    fn gap(&mut self, dir: Direction, at: At, len: u64, loss: Loss) {
        let (cx, analysis) = (&mut *self.cx, &mut *self.analysis);
        self.mqtt
            .on_gap(dir, at.frame, at.ts, len, &mut |ev| match ev {
                MqttEvent::Gap(g) if loss == Loss::Undecryptable => {
                    // Not a tcp_gap: the bytes are in the capture (the TLS
                    // layer warned that they do not decrypt).
                    if let Some(a) = analysis.as_mut() {
                        cx.shared.layer_lost(
                            a,
                            g.dir,
                            At {
                                frame: g.frame,
                                ts: g.ts,
                            },
                        );
                    }
                }
                ev => cx.mqtt_event(analysis, ev),
            });
    }

    fn finding(&mut self, kind: FindingKind, dir: Direction, at: At, text: String, lost: bool) {
        let Some(a) = self.analysis.as_mut() else {
            return;
        };
        let cx = &mut *self.cx;
        let (out, problems, conn) = (&mut *cx.out, &mut *cx.problems, cx.conn);
        let (open, announced) = (cx.open, &mut *cx.announced);
        cx.shared
            .layer_finding(a, kind, dir, at, text, lost, &mut |e| {
                analysed(out, problems, conn, (open, &mut *announced), e)
            });
    }

    fn warning(&mut self, dir: Direction, at: At, text: String) {
        let w = Warning::at(
            at.frame,
            format!("connection {} {}: {text}", self.cx.conn, dir.as_str()),
        );
        self.cx.out.emit(Event::Warning(&w));
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
    /// The connection's `connection` event, and whether it is out.
    open: OpenLine,
    announced: &'a mut bool,
}

/// What a connection's `connection` event says.
#[derive(Clone, Copy)]
struct OpenLine {
    conn: ConnId,
    first: At,
    client: Endpoint,
    server: Endpoint,
}

impl OpenLine {
    /// The event, unless `announced` says it is out already.
    fn emit(self, announced: &mut bool, out: &mut dyn Emit) {
        if std::mem::replace(announced, true) {
            return;
        }
        out.emit(Event::ConnectionOpen {
            conn: self.conn,
            frame: self.first.frame,
            ts: self.first.ts,
            client: self.client,
            server: self.server,
        });
    }
}

impl Cx<'_> {
    /// One MQTT decoding event: reported, then judged by the analysis.
    fn mqtt_event(&mut self, analysis: &mut Option<ConnAnalysis>, ev: MqttEvent<'_>) {
        if let MqttEvent::Packet(_) = ev {
            *self.packets += 1;
        }
        // Decided before the analysis takes the packet in (an ack's flow
        // is still open then); warnings are about the whole input.
        let reported = match (&ev, analysis.as_ref()) {
            (MqttEvent::Packet(p), Some(a)) => Some(self.shared.selects_packet(a, p)),
            (MqttEvent::Malformed(_), Some(a)) => Some(self.shared.selects_malformed(a)),
            (MqttEvent::Packet(_) | MqttEvent::Malformed(_), None) => {
                Some(self.shared.select().is_all())
            }
            _ => None,
        };
        match reported {
            Some(true) => {
                self.open.emit(self.announced, self.out);
                self.out.mqtt(self.conn, &ev);
            }
            Some(false) => {}
            None => self.out.mqtt(self.conn, &ev),
        }
        if let Some(a) = analysis.as_mut() {
            let (out, problems, conn) = (&mut *self.out, &mut *self.problems, self.conn);
            let (open, announced) = (self.open, &mut *self.announced);
            self.shared.mqtt_event(a, &ev, &mut |e| {
                analysed(out, problems, conn, (open, &mut *announced), e)
            });
        }
    }
}

/// An analysis event (one the run's filters selected), reported and
/// counted against the connection it is about; the first one about a
/// connection not yet in the report puts it there.
fn analysed(
    out: &mut dyn Emit,
    problems: &mut Problems,
    conn: ConnId,
    (open, announced): (OpenLine, &mut bool),
    e: AnalysisEvent<'_>,
) {
    let about = match e {
        AnalysisEvent::Finding(f) => f.connection,
        AnalysisEvent::Flow(r) => r.connection,
    };
    if about == conn {
        open.emit(announced, out);
    }
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

/// Detection's verdict on a connection's first bytes (`midstream`: the
/// capture picked it up after its start).
fn judge(midstream: bool, held: &Held) -> Verdict {
    if midstream {
        judge_midstream(held)
    } else {
        judge_handshake(held)
    }
}

impl<O: Emit> ConnectionFactory for Connections<O> {
    type Consumer = Connection;

    fn open(&mut self, o: &Opened) -> Option<Connection> {
        let on_port = self.ports.contains(&o.server.port);
        let carries = if on_port || (self.detect && self.proven.contains(&o.server)) {
            self.mqtt_stack(o.midstream, None)
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
        if dir == Direction::ClientToServer
            && held.is_empty()
            && !c.midstream
            && looks_like_tls_record(data)
        {
            // TLS off the MQTT ports: its layer decides (ALPN, server, keys).
            if self.start_probe(c) == Interest::Ignore {
                return Interest::Ignore;
            }
            return self.feed(c, dir, at, data);
        }
        let (verdict, rest) = if self.proven.contains(&c.server) {
            (Verdict::Mqtt, data)
        } else {
            let kept = held.push(dir, at, data);
            let v = match judge(c.midstream, held) {
                Verdict::Undecided if held.is_full() => Verdict::NotMqtt,
                v => v,
            };
            (v, data.get(kept..).unwrap_or_default())
        };
        match verdict {
            Verdict::NotMqtt => Interest::Ignore,
            Verdict::Undecided => Interest::Keep,
            Verdict::Mqtt => self.decided_mqtt(c, Some((dir, at, rest)), None),
            Verdict::WebSocket => {
                self.decided_mqtt(c, Some((dir, at, rest)), Some(Layers::websocket()))
            }
        }
    }

    fn gap(&mut self, c: &mut Connection, dir: Direction, at: At, len: u64) -> Interest {
        match &mut c.carries {
            Carries::Undecided(_) if self.proven.contains(&c.server) => {
                self.decided_mqtt(c, None, None);
                self.gap(c, dir, at, len)
            }
            Carries::Undecided(held) => {
                // What arrived before the gap may be enough to tell.
                let layers = match judge(c.midstream, held) {
                    Verdict::Mqtt => None,
                    Verdict::WebSocket => Some(Layers::websocket()),
                    _ => return Interest::Ignore,
                };
                self.decided_mqtt(c, None, layers);
                self.gap(c, dir, at, len)
            }
            Carries::Remote(w) => {
                if let Some(fw) = self.forward.as_mut() {
                    fw.gap(*w, c.id, dir, at, len);
                }
                Interest::Keep
            }
            // The handshake is what decides; a gap in it leaves nothing to judge.
            Carries::Tls(p) => {
                p.tls.on_gap(dir, at, len, &mut |_| {});
                Interest::Keep
            }
            Carries::Mqtt(_) => {
                c.gap(&mut self.upper(), dir, at, len);
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
        c.end(&mut self.upper(), at, how, record);
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
