//! The connection table: handshakes, who is the client, FIN/RST, port reuse,
//! idle expiry and the caps that keep memory bounded.

use super::half::{Accepted, Chunk, DirStats, HalfStream};
use crate::base::{At, ConnId, Direction, Endpoint, PerDir, Segment, Timestamp, Warning};
use foldhash::HashMap;

/// Limits and hints for reassembly.
#[derive(Debug, Clone)]
pub struct TcpConfig {
    /// Out-of-order bytes buffered per direction before the hole is declared a gap.
    pub max_pending_bytes: usize,
    /// Connections tracked at once; beyond it the least recently active are retired.
    pub max_connections: usize,
    /// A connection with no segment for this long (capture time) is retired.
    pub idle_timeout_secs: u64,
    /// Ports that identify the server side when no handshake was captured.
    pub server_ports: Vec<u16>,
    /// Recognises a client's first bytes (an MQTT CONNECT) to find the client without a handshake.
    pub client_hello: fn(&[u8]) -> bool,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            max_pending_bytes: 4 << 20,
            max_connections: 100_000,
            idle_timeout_secs: 3600,
            server_ports: vec![1883, 8883],
            client_hello: |_| false,
        }
    }
}

/// The three-way handshake as captured.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Handshake {
    pub syn_frame: Option<u64>,
    pub synack_frame: Option<u64>,
    pub ack_frame: Option<u64>,
    /// SYN → final ACK, in nanoseconds (exact, so statistics do not drift).
    pub rtt_ns: Option<u64>,
}

/// How a connection ended, as far as the capture shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseKind {
    Fin,
    Rst,
    /// No FIN or RST was captured.
    Open,
}

impl CloseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseKind::Fin => "fin",
            CloseKind::Rst => "rst",
            CloseKind::Open => "open",
        }
    }
}

/// Everything the report says about a TCP connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnRecord {
    pub id: ConnId,
    pub client: Endpoint,
    pub server: Endpoint,
    pub first_frame: u64,
    pub last_frame: u64,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    /// `None` when neither SYN nor SYN/ACK was captured (mid-stream pickup).
    pub handshake: Option<Handshake>,
    pub close: CloseKind,
    pub client_to_server: DirStats,
    pub server_to_client: DirStats,
}

/// What reassembly knows when it hands a connection to its owner: the
/// sides (after the handshake, or at the first payload without one) and
/// where the connection was first seen.
#[derive(Debug, Clone, Copy)]
pub struct Opened {
    pub conn: ConnId,
    pub client: Endpoint,
    pub server: Endpoint,
    /// The connection's first frame.
    pub first: At,
    /// The capture did not see it start, so its byte streams may begin
    /// inside an application message.
    pub midstream: bool,
    pub handshake: Option<Handshake>,
}

/// A consumer's answer to data: keep sending this connection's bytes or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    Keep,
    /// Not interesting (not MQTT): stop delivering data; statistics are still kept.
    Ignore,
}

/// Makes and drives the owner of each connection (gopacket's stream
/// factory): reassembly keeps one table of connections, and each entry
/// holds its TCP state and its owner, the [`Consumer`](Self::Consumer) made
/// by [`open`](Self::open). Everything the factory itself holds is shared
/// by all connections. Calls come in capture order; each call names the
/// frame the bytes (or the event) came from.
pub trait ConnectionFactory {
    /// The owner of one connection's bytes.
    type Consumer;
    /// A connection's sides are known: its owner, or `None` to ignore its
    /// bytes (its statistics are still kept).
    fn open(&mut self, opened: &Opened) -> Option<Self::Consumer>;
    /// The next in-order bytes of one direction.
    fn data(&mut self, c: &mut Self::Consumer, dir: Direction, at: At, data: &[u8]) -> Interest;
    /// `len` bytes of one direction were never captured; the next `data`
    /// follows them.
    fn gap(&mut self, c: &mut Self::Consumer, dir: Direction, at: At, len: u64) -> Interest;
    /// The peer acknowledged bytes of `dir` the capture has not shown (yet),
    /// and is about to send: what it sends may answer bytes that are lost.
    fn unseen(&mut self, _c: &mut Self::Consumer, _dir: Direction, _at: At) {}
    /// The connection ended (FIN both ways, RST, or it was still open when
    /// the capture, the idle timeout or the table cap ended it); `record`
    /// is its TCP record so far (late ACKs may still add segments before
    /// `retire`).
    fn end(&mut self, c: &mut Self::Consumer, at: At, how: CloseKind, record: &ConnRecord);
    /// Final statistics of every connection (`c` is `None` for one whose
    /// bytes were ignored); the connection and its owner are forgotten
    /// after this.
    fn retire(&mut self, c: Option<Self::Consumer>, record: &ConnRecord);
}

/// Counters about reassembly itself (the `tcp` object of the report).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpCounters {
    pub connections: u64,
    pub expired_idle: u64,
    pub evicted_table_full: u64,
    pub buffer_cap_gaps: u64,
}

/// Ordered endpoint pair: the same key for both directions of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ConnKey(Endpoint, Endpoint);

impl ConnKey {
    fn of(a: Endpoint, b: Endpoint) -> Self {
        if a <= b { ConnKey(a, b) } else { ConnKey(b, a) }
    }
}

struct Conn<C> {
    record: ConnRecord,
    /// The connection's owner; `None` once it lost interest (or never had any).
    consumer: Option<C>,
    /// `[client→server, server→client]`
    halves: PerDir<HalfStream>,
    syn_ts: Option<Timestamp>,
    client_isn: Option<u32>,
    server_isn: Option<u32>,
    /// Roles are final (handshake seen or first payload judged).
    roles_fixed: bool,
    opened: bool,
    ended: bool,
    fin_seen: bool,
    rst_seen: bool,
    cap_warned: PerDir<bool>,
    window_warned: PerDir<bool>,
}

impl<C> Conn<C> {
    /// Opened, but its owner does not want its bytes.
    fn ignored(&self) -> bool {
        self.opened && self.consumer.is_none()
    }

    fn close_kind(&self) -> CloseKind {
        if self.rst_seen {
            CloseKind::Rst
        } else if self.fin_seen {
            CloseKind::Fin
        } else {
            CloseKind::Open
        }
    }

    fn dir_of(&self, src: &Endpoint) -> Direction {
        if *src == self.record.client {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }

    /// Brings the record's close and counters up to date.
    fn settle_record(&mut self) {
        let close = self.close_kind();
        settle(&mut self.record, &self.halves, close);
    }

    fn swap_roles(&mut self) {
        std::mem::swap(&mut self.record.client, &mut self.record.server);
        self.halves.swap();
    }
}

/// TCP reassembly for every connection of a capture: the one table of
/// connections. Each entry holds a connection's TCP state and its owner
/// (the `C` its [`ConnectionFactory`] made), so a connection and all that
/// is known about it is one value.
pub struct Reassembler<C> {
    cfg: TcpConfig,
    /// Boxed: a table slot is then a key and a pointer, so the table's
    /// spare capacity costs little per connection.
    conns: HashMap<ConnKey, Box<Conn<C>>>,
    next_id: ConnId,
    last_sweep: Option<Timestamp>,
    now: Timestamp,
    last_frame: u64,
    counters: TcpCounters,
    warnings: Vec<Warning>,
}

/// Seconds of capture time between sweeps for idle connections.
const SWEEP_EVERY_SECS: i64 = 10;
/// Closed connections stay this long for their last ACKs and retransmitted FINs.
const CLOSED_LINGER_SECS: i64 = 60;

impl<C> Reassembler<C> {
    pub fn new(cfg: TcpConfig) -> Self {
        Reassembler {
            cfg,
            conns: HashMap::default(),
            next_id: 0,
            last_sweep: None,
            now: Timestamp::default(),
            last_frame: 0,
            counters: TcpCounters::default(),
            warnings: Vec::new(),
        }
    }

    pub fn counters(&self) -> TcpCounters {
        self.counters
    }

    /// Connections open now: tracked and not closed (a closed one stays
    /// tracked a while for its late segments, see `CLOSED_LINGER_SECS`).
    /// Counted on demand: asked for by the status line and by metrics
    /// scrapes, a few times a second at most.
    pub fn open_connections(&self) -> usize {
        self.conns.values().filter(|c| !c.ended).count()
    }

    /// Connections tracked, closed ones that still linger included.
    pub fn tracked_connections(&self) -> usize {
        self.conns.len()
    }

    /// Warnings since the last call (caps hit, connections retired early).
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    /// The owners of the connections still tracked, in connection order.
    pub fn consumers_mut(&mut self) -> Vec<&mut C> {
        let mut all: Vec<(ConnId, &mut C)> = self
            .conns
            .values_mut()
            .filter_map(|c| {
                let id = c.record.id;
                c.consumer.as_mut().map(|consumer| (id, consumer))
            })
            .collect();
        all.sort_by_key(|(id, _)| *id);
        all.into_iter().map(|(_, c)| c).collect()
    }

    /// Feeds one segment; the factory hears of it before this returns.
    pub fn segment<F: ConnectionFactory<Consumer = C>>(&mut self, seg: &Segment<'_>, f: &mut F) {
        if seg.ts > self.now {
            self.now = seg.ts;
        }
        self.last_frame = seg.frame;
        self.sweep(f);
        let key = ConnKey::of(seg.src, seg.dst);
        let starts_new = match self.conns.get(&key) {
            None => true,
            Some(c) => is_new_connection(c, seg),
        };
        if starts_new {
            if let Some(old) = self.conns.remove(&key) {
                self.retire(old, seg.frame, seg.ts, f);
            }
            self.make_room(seg, f);
            let conn = self.new_conn(seg);
            self.conns.insert(key, Box::new(conn));
        }
        let cap = self.cfg.max_pending_bytes;
        let hello = self.cfg.client_hello;
        let Some(conn) = self.conns.get_mut(&key) else {
            return;
        };
        process(
            conn,
            seg,
            cap,
            hello,
            f,
            &mut self.counters,
            &mut self.warnings,
        );
    }

    /// Time passes without a segment (live capture's idle turn): idle
    /// connections are retired as they would be at a segment.
    pub fn advance<F: ConnectionFactory<Consumer = C>>(&mut self, now: Timestamp, f: &mut F) {
        if now > self.now {
            self.now = now;
        }
        self.sweep(f);
    }

    /// End of input: every connection still tracked ends (as far as the capture shows) and is retired.
    pub fn finish<F: ConnectionFactory<Consumer = C>>(&mut self, f: &mut F) {
        let mut all: Vec<Box<Conn<C>>> = self.conns.drain().map(|(_, c)| c).collect();
        all.sort_by_key(|c| c.record.id);
        let (frame, ts) = (self.last_frame, self.now);
        for c in all {
            self.retire(c, frame, ts, f);
        }
    }

    fn new_conn(&mut self, seg: &Segment<'_>) -> Conn<C> {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        self.counters.connections += 1;
        let (client, server, fixed) = initial_roles(seg, &self.cfg);
        Conn {
            record: ConnRecord {
                id,
                client,
                server,
                first_frame: seg.frame,
                last_frame: seg.frame,
                first_ts: seg.ts,
                last_ts: seg.ts,
                handshake: None,
                close: CloseKind::Open,
                client_to_server: DirStats::default(),
                server_to_client: DirStats::default(),
            },
            consumer: None,
            halves: PerDir::default(),
            syn_ts: None,
            client_isn: None,
            server_isn: None,
            roles_fixed: fixed,
            opened: false,
            ended: false,
            fin_seen: false,
            rst_seen: false,
            cap_warned: PerDir::default(),
            window_warned: PerDir::default(),
        }
    }

    /// Ends (if needed) and forgets a connection.
    fn retire<F: ConnectionFactory<Consumer = C>>(
        &mut self,
        mut c: Box<Conn<C>>,
        frame: u64,
        ts: Timestamp,
        f: &mut F,
    ) {
        ensure_open(&mut c, f);
        let at = At { frame, ts };
        if !c.ended {
            c.ended = true;
            let how = c.close_kind();
            if let Some(consumer) = c.consumer.as_mut() {
                flush_both(&mut c.halves, at, f, consumer);
                settle(&mut c.record, &c.halves, how);
                f.end(consumer, at, how, &c.record);
            }
        }
        c.settle_record();
        f.retire(c.consumer.take(), &c.record);
    }

    /// Retires idle connections (and closed ones past their linger time).
    fn sweep<F: ConnectionFactory<Consumer = C>>(&mut self, f: &mut F) {
        let now = self.now;
        match self.last_sweep {
            None => {
                self.last_sweep = Some(now);
                return;
            }
            Some(t) if now.secs.saturating_sub(t.secs) < SWEEP_EVERY_SECS => return,
            _ => self.last_sweep = Some(now),
        }
        let idle = self.cfg.idle_timeout_secs.min(i64::MAX as u64) as i64;
        let stale: Vec<ConnKey> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                let quiet = now.secs.saturating_sub(c.record.last_ts.secs);
                quiet > idle || (c.ended && quiet > CLOSED_LINGER_SECS)
            })
            .map(|(k, _)| *k)
            .collect();
        let mut stale_conns: Vec<Box<Conn<C>>> =
            stale.iter().filter_map(|k| self.conns.remove(k)).collect();
        stale_conns.sort_by_key(|c| c.record.id);
        for c in stale_conns {
            if !c.ended {
                self.counters.expired_idle += 1;
                self.warnings.push(Warning::at(
                    self.last_frame,
                    format!(
                        "TCP connection {} ({} → {}) idle for more than {} s: closed the analysis of it",
                        c.record.id, c.record.client, c.record.server, idle
                    ),
                ));
            }
            let (frame, ts) = (self.last_frame, now);
            self.retire(c, frame, ts, f);
        }
    }

    /// Keeps the table under its cap: ended connections go first, then the least recently active.
    fn make_room<F: ConnectionFactory<Consumer = C>>(&mut self, seg: &Segment<'_>, f: &mut F) {
        if self.conns.len() < self.cfg.max_connections.max(1) {
            return;
        }
        // Ties in activity go by connection id: the table's iteration
        // order is random per run, and the choice must not be.
        let mut by_age: Vec<(bool, Timestamp, ConnId, ConnKey)> = self
            .conns
            .iter()
            .map(|(k, c)| (!c.ended, c.record.last_ts, c.record.id, *k))
            .collect();
        by_age.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        // Evict a batch so that a flood of new connections does not rescan the table each time.
        let batch = (self.cfg.max_connections / 16).max(1);
        let mut evicted_open = 0u64;
        for (open, _, _, k) in by_age.into_iter().take(batch) {
            if let Some(c) = self.conns.remove(&k) {
                if open {
                    evicted_open += 1;
                }
                self.retire(c, seg.frame, seg.ts, f);
            }
        }
        if evicted_open > 0 {
            self.counters.evicted_table_full += evicted_open;
            self.warnings.push(Warning::at(
                seg.frame,
                format!(
                    "TCP connection table full ({} connections): stopped tracking the {evicted_open} least recently active (raise --max-connections)",
                    self.cfg.max_connections
                ),
            ));
        }
    }
}

/// A SYN that cannot belong to the tracked connection starts a new one
/// (port reuse). Wireshark's rule for `tcp.stream`: a SYN (without ACK)
/// starts a new stream only when the connection has an initial sequence
/// number and this SYN's differs — a SYN retried with the same ISN after a
/// RST is the same stream, even though that stream had ended.
fn is_new_connection<C>(c: &Conn<C>, seg: &Segment<'_>) -> bool {
    if !seg.flags.syn || seg.flags.ack {
        return false;
    }
    match c.client_isn {
        Some(isn) => isn != seg.seq,
        // No SYN seen yet (mid-stream pickup): a SYN now is a new connection
        // once the old one ended.
        None => c.ended,
    }
}

/// Who is the client, judged from the first segment: the SYN sender; the SYN/ACK
/// receiver; the sender of a CONNECT; the side not on a server port; the higher port.
fn initial_roles(seg: &Segment<'_>, cfg: &TcpConfig) -> (Endpoint, Endpoint, bool) {
    let sender = (seg.src, seg.dst);
    let receiver = (seg.dst, seg.src);
    if seg.flags.syn {
        let (c, s) = if seg.flags.ack { receiver } else { sender };
        return (c, s, true);
    }
    if !seg.payload.is_empty() && (cfg.client_hello)(seg.payload) {
        return (seg.src, seg.dst, true);
    }
    let (c, s) = by_port(seg, cfg);
    // Provisional until the first payload is seen (it may be a CONNECT from the other side).
    (c, s, !seg.payload.is_empty())
}

fn by_port(seg: &Segment<'_>, cfg: &TcpConfig) -> (Endpoint, Endpoint) {
    let src_server = cfg.server_ports.contains(&seg.src.port);
    let dst_server = cfg.server_ports.contains(&seg.dst.port);
    match (src_server, dst_server) {
        (false, true) => (seg.src, seg.dst),
        (true, false) => (seg.dst, seg.src),
        _ if seg.src.port < seg.dst.port => (seg.dst, seg.src),
        _ => (seg.src, seg.dst),
    }
}

/// Brings a record's close and counters up to date.
fn settle(record: &mut ConnRecord, halves: &PerDir<HalfStream>, close: CloseKind) {
    record.close = close;
    record.client_to_server = halves.client_to_server.stats;
    record.server_to_client = halves.server_to_client.stats;
}

/// Hands one chunk of a direction to the connection's owner, at the frame
/// its bytes came from.
fn deliver<F: ConnectionFactory>(
    f: &mut F,
    consumer: &mut F::Consumer,
    dir: Direction,
    chunk: Chunk<'_>,
) -> Interest {
    match chunk {
        Chunk::Data(data, at) => f.data(consumer, dir, at, data),
        Chunk::Gap(len, at) => f.gap(consumer, dir, at, len),
    }
}

/// The end of a connection: what still waits in either direction is
/// delivered in frame order across the two (so that an ack never reaches
/// the analysis before the packet it answers), holes becoming gaps.
fn flush_both<F: ConnectionFactory>(
    halves: &mut PerDir<HalfStream>,
    at: At,
    f: &mut F,
    consumer: &mut F::Consumer,
) {
    enum Owned {
        Data(Vec<u8>),
        Gap(u64),
    }
    let mut all: Vec<(u64, Direction, At, Owned)> = Vec::new();
    for (dir, half) in halves.iter_mut() {
        half.flush(at, &mut |chunk| {
            let (when, owned) = match chunk {
                Chunk::Data(d, when) => (when, Owned::Data(d.to_vec())),
                Chunk::Gap(n, when) => (when, Owned::Gap(n)),
            };
            all.push((when.frame, dir, when, owned));
        });
    }
    // Stable: each direction keeps its own order.
    all.sort_by_key(|(frame, ..)| *frame);
    for (_, dir, when, owned) in all {
        match owned {
            Owned::Data(d) => f.data(consumer, dir, when, &d),
            Owned::Gap(n) => f.gap(consumer, dir, when, n),
        };
    }
}

/// Asks the factory for the connection's owner, once.
fn ensure_open<F: ConnectionFactory>(c: &mut Conn<F::Consumer>, f: &mut F) {
    if c.opened {
        return;
    }
    c.opened = true;
    c.consumer = f.open(&Opened {
        conn: c.record.id,
        client: c.record.client,
        server: c.record.server,
        first: At {
            frame: c.record.first_frame,
            ts: c.record.first_ts,
        },
        midstream: c.record.handshake.is_none(),
        handshake: c.record.handshake,
    });
}

/// Applies one segment to its connection.
fn process<F: ConnectionFactory>(
    c: &mut Conn<F::Consumer>,
    seg: &Segment<'_>,
    cap: usize,
    hello: fn(&[u8]) -> bool,
    f: &mut F,
    counters: &mut TcpCounters,
    warnings: &mut Vec<Warning>,
) {
    c.record.last_frame = seg.frame;
    c.record.last_ts = c.record.last_ts.max(seg.ts);
    if !c.roles_fixed && seg.wire_len() > 0 {
        // First payload decides: a CONNECT marks its sender as the client.
        if hello(seg.payload) && seg.src != c.record.client {
            c.swap_roles();
        }
        c.roles_fixed = true;
    }
    let dir = c.dir_of(&seg.src);
    c.halves[dir].stats.segments += 1;
    handshake(c, seg, dir);
    if seg.flags.rst {
        c.rst_seen = true;
    }
    if seg.flags.fin {
        c.fin_seen = true;
    }
    // Open once there is something to report: data, a close, or a finished
    // handshake (so the owner learns the handshake's round-trip time).
    let handshake_done = c.record.handshake.is_some_and(|h| h.ack_frame.is_some());
    let carries = seg.wire_len() > 0 || seg.flags.fin || seg.flags.rst || handshake_done;
    if carries && c.roles_fixed {
        ensure_open(c, f);
    }
    if c.ignored() || c.ended {
        return;
    }
    let id = c.record.id;
    let at = At {
        frame: seg.frame,
        ts: seg.ts,
    };
    if seg.flags.ack {
        c.halves[dir.reverse()].on_peer_ack(seg.ack, seg.window);
    }
    if let Some(consumer) = c.consumer.as_mut() {
        // SYN with data: the data starts after the SYN's sequence number.
        let seq = if seg.flags.syn {
            seg.seq.wrapping_add(1)
        } else {
            seg.seq
        };
        // An owner may lose interest in the middle of the data (not MQTT after all).
        let mut ignore = false;
        // This segment's ACK first: what it proves the peer received was
        // sent before this segment, so it goes to the owner before this
        // segment's own bytes.
        let back = dir.reverse();
        c.halves[back].gap_if_acked_past(&mut |chunk| {
            if !ignore {
                ignore = deliver(f, consumer, back, chunk) == Interest::Ignore;
            }
        });
        if seg.wire_len() > 0 && c.halves[back].newly_acked_unseen() {
            f.unseen(consumer, back, at);
        }
        let mut emit = |d: Direction, chunk: Chunk<'_>| {
            if !ignore {
                ignore = deliver(f, consumer, d, chunk) == Interest::Ignore;
            }
        };
        let (payload, missing, fin) = (seg.payload, seg.missing, seg.flags.fin);
        let taken = c.halves[dir].on_segment(seq, payload, missing, fin, at, &mut |chunk| {
            emit(dir, chunk)
        });
        if taken == Accepted::OutOfWindow && !c.window_warned[dir] {
            c.window_warned[dir] = true;
            warnings.push(Warning::at(
                seg.frame,
                format!(
                    "TCP connection {id} {}: sequence number {} is more than 2^30 bytes from the stream (outside any TCP window): segment ignored, and later ones like it",
                    dir.as_str(),
                    seg.seq
                ),
            ));
        }
        c.halves[dir].gap_if_acked_past(&mut |chunk| emit(dir, chunk));
        if c.halves[dir].gap_if_over(cap, &mut |chunk| emit(dir, chunk)) {
            counters.buffer_cap_gaps += 1;
            if !c.cap_warned[dir] {
                c.cap_warned[dir] = true;
                warnings.push(Warning::at(
                    seg.frame,
                    format!(
                        "TCP connection {id} {}: more than {cap} bytes of memory held for data waiting behind a hole; skipped it as a gap (raise --max-buffered)",
                        dir.as_str()
                    ),
                ));
            }
        }
        if ignore {
            c.consumer = None;
            return;
        }
    }
    let both_fin = c.halves.values().all(HalfStream::fin_done);
    if c.opened && (seg.flags.rst || both_fin) {
        c.ended = true;
        let how = c.close_kind();
        if let Some(consumer) = c.consumer.as_mut() {
            flush_both(&mut c.halves, at, f, consumer);
            settle(&mut c.record, &c.halves, how);
            f.end(consumer, at, how, &c.record);
        }
    }
}

/// SYN, SYN/ACK and the final ACK: frame numbers and round-trip time.
fn handshake<C>(c: &mut Conn<C>, seg: &Segment<'_>, dir: Direction) {
    if seg.flags.syn && !seg.flags.ack && dir == Direction::ClientToServer {
        if c.client_isn.is_none() {
            c.client_isn = Some(seg.seq);
            c.syn_ts = Some(seg.ts);
            c.halves.client_to_server.on_syn(seg.seq);
            c.record
                .handshake
                .get_or_insert_with(Handshake::default)
                .syn_frame = Some(seg.frame);
        }
    } else if seg.flags.syn && seg.flags.ack && dir == Direction::ServerToClient {
        if c.server_isn.is_none() {
            c.server_isn = Some(seg.seq);
            c.halves.server_to_client.on_syn(seg.seq);
            c.record
                .handshake
                .get_or_insert_with(Handshake::default)
                .synack_frame = Some(seg.frame);
        }
    } else if seg.flags.ack
        && !seg.flags.syn
        && dir == Direction::ClientToServer
        && let (Some(hs), Some(server_isn)) = (c.record.handshake.as_mut(), c.server_isn)
        && hs.ack_frame.is_none()
        && hs.synack_frame.is_some()
        && seg.ack == server_isn.wrapping_add(1)
    {
        hs.ack_frame = Some(seg.frame);
        if let Some(syn_ts) = c.syn_ts {
            hs.rtt_ns = u64::try_from(seg.ts.nanos_since(&syn_ts)).ok();
        }
    }
}
