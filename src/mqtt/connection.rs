//! Per-connection MQTT decoding: both directions of one TCP connection.
//!
//! An [`MqttConnection`] owns a framer per direction, the protocol version
//! shared by both directions, and a topic-alias table per direction. The TCP
//! layer drives it with three calls — [`on_data`](MqttConnection::on_data),
//! [`on_gap`](MqttConnection::on_gap), [`on_close`](MqttConnection::on_close)
//! — and receives [`MqttEvent`]s through a callback. Events borrow from the
//! bytes passed in (or from the connection's buffers) and live only for the
//! duration of the callback: copy out what must outlive it.
//!
//! ## Protocol version
//!
//! A CONNECT's protocol level governs both directions. Without one (capture
//! started mid-connection) the version is inferred: each packet whose
//! reading differs between 3.1.1 and 5.0 (acks with reason codes,
//! properties, AUTH, ...) is decoded both ways, and a reading that decodes
//! with fewer problems (no error, fewer violations) counts as evidence for
//! its version. Until the first such packet the connection is read as
//! 3.1.1; the first evidence fixes the inferred version, and it changes
//! later only if the other version collects more evidence. 3.1 cannot be
//! told from 3.1.1 without a CONNECT. [`MqttConnection::version_inferred`]
//! says whether the version is a guess.
//!
//! ## Topic aliases (5.0)
//!
//! Each direction has its own alias table (aliases sent by the client and
//! by the server are independent, MQTT 5.0 section 3.3.2.3.4). A PUBLISH
//! with an empty topic and a known alias gets [`Publish::resolved_topic`](super::types::Publish::resolved_topic)
//! borrowed from the table; an unknown alias, or one above the receiver's
//! Topic Alias Maximum, is a violation on the packet. A table holds at most
//! 65535 aliases and `max_packet_buffer` bytes of topics.
//!
//! ## What one direction tells the other's framer
//!
//! Each framer sees one direction only, and some evidence about a
//! direction's framing lies in the other:
//!
//! * the Maximum Packet Size (5.0) the CONNECT announces limits what the
//!   server sends (MQTT-3.1.2-24), the CONNACK's what the client sends
//!   (MQTT-3.2.2-15). A packet that starts after the announcement and is
//!   larger is not one the sender may send: whole, it is reported
//!   malformed (its length trusted or not by the usual rules); not wholly
//!   at hand (a streamed PUBLISH, an oversized packet), its length is not
//!   trusted at all and its bytes are scanned again;
//! * a PUBACK, PUBREC, PUBREL or PUBCOMP is handed to the other
//!   direction's framer before it is reported: if that direction is
//!   streaming a PUBLISH whose claimed payload holds the packet it
//!   answers, the PUBLISH's length was false (see the framer's
//!   `evidence` module), and the packets inside are reported — at the
//!   frames they came in — before the answer, as the analysis needs them.

use super::error::Malformed;
use super::error::Reason;
use super::framer::{Framer, FramerConfig, Limit, ResyncCause, Sink, Unit, Verdict};
use super::parse::{Layout, decode_body, decode_streamed_publish};
use super::spec::Rule;
use super::types::{Decoded, FixedHeader, Packet, PacketType, ProtocolVersion, Violation};
use crate::base::{At, Direction, PerDir, Timestamp};
use foldhash::HashMap;

/// Limits of MQTT decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MqttConfig {
    /// Bytes of each PUBLISH payload kept for display (`--payload-bytes`).
    pub payload_preview: usize,
    /// Largest packet buffered when it spans TCP segments (PUBLISH payloads
    /// are streamed and do not count, their headers do); also the byte
    /// budget of each topic-alias table.
    pub max_packet_buffer: usize,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            payload_preview: 64,
            max_packet_buffer: 1 << 20,
        }
    }
}

/// A decoded packet.
#[derive(Debug, Clone, Copy)]
pub struct PacketEvent<'a> {
    pub dir: Direction,
    /// The frame that completed the packet.
    pub frame: u64,
    pub ts: Timestamp,
    /// The frame that carried the packet's first byte.
    pub start_frame: u64,
    /// The version the packet was decoded as.
    pub version: ProtocolVersion,
    pub packet: &'a Packet<'a>,
    /// What the packet breaks (empty for a conforming packet).
    pub violations: &'a [Violation],
}

/// Bytes that do not decode as a packet. When the type and length are known
/// the packet's extent is known too and decoding goes on after it (checking
/// that a plausible packet follows); otherwise the framer resynchronises.
#[derive(Debug, Clone)]
pub struct MalformedEvent {
    pub dir: Direction,
    pub frame: u64,
    pub ts: Timestamp,
    pub start_frame: u64,
    pub error: Malformed,
}

/// A packet too large to buffer (not a PUBLISH payload, which is streamed):
/// skipped by its length, decoding goes on after it.
#[derive(Debug, Clone)]
pub struct OversizedEvent {
    pub dir: Direction,
    pub frame: u64,
    pub ts: Timestamp,
    pub start_frame: u64,
    pub packet_type: PacketType,
    pub length: u32,
    /// The buffer limit it exceeded.
    pub limit: usize,
}

/// Bytes missing from the capture.
#[derive(Debug, Clone)]
pub struct GapEvent {
    pub dir: Direction,
    pub frame: u64,
    pub ts: Timestamp,
    pub missing: u64,
    /// A packet that was partly received and is lost with the gap.
    pub lost: Option<PacketType>,
    /// Whether the position of the next packet is unknown: decoding resumes
    /// at the next plausible boundary (a [`ResyncEvent`] follows). `false`
    /// when the gap fell inside a packet of known length, or inside a
    /// streamed PUBLISH payload (`lost` is `None` then: the PUBLISH is
    /// reported with `payload_missing`).
    pub resync: bool,
}

/// The end of a scan for a packet boundary. Emitted when bytes were skipped
/// or the scan followed a gap; at stream end with `resumed: false` if no
/// boundary was found.
#[derive(Debug, Clone)]
pub struct ResyncEvent {
    pub dir: Direction,
    pub frame: u64,
    pub ts: Timestamp,
    /// Bytes passed over before the boundary (not counting gap bytes).
    pub skipped: u64,
    pub cause: ResyncCause,
    pub resumed: bool,
}

/// The stream closed inside a packet (reported as a warning: the capture
/// cannot tell a sender that stopped mid-packet from a false length or a
/// capture that stopped following the connection).
#[derive(Debug, Clone)]
pub struct TruncatedEvent {
    pub dir: Direction,
    pub frame: u64,
    pub ts: Timestamp,
    pub start_frame: u64,
    pub packet_type: Option<PacketType>,
    pub length: Option<u32>,
    /// Bytes of the packet that did arrive (fixed header included; bytes
    /// missing from the capture inside a streamed payload not counted).
    pub received: u64,
}

/// What MQTT decoding reports, in stream order per direction: the events of
/// one direction never go back in frame number, and each carries its
/// frame's timestamp. An event about bytes that came before the frame of
/// the direction's previous event (bytes a scan held back or took back) is
/// reported at that previous event's frame and time.
#[derive(Debug, Clone)]
pub enum MqttEvent<'a> {
    Packet(PacketEvent<'a>),
    Malformed(MalformedEvent),
    Oversized(OversizedEvent),
    Gap(GapEvent),
    Resync(ResyncEvent),
    Truncated(TruncatedEvent),
}

impl PacketEvent<'_> {
    /// The frame that completed the packet, and its time.
    pub fn at(&self) -> At {
        At {
            frame: self.frame,
            ts: self.ts,
        }
    }
}

impl MalformedEvent {
    /// The frame the bytes were judged at, and its time.
    pub fn at(&self) -> At {
        At {
            frame: self.frame,
            ts: self.ts,
        }
    }
}

impl GapEvent {
    /// The frame the gap was noticed at, and its time.
    pub fn at(&self) -> At {
        At {
            frame: self.frame,
            ts: self.ts,
        }
    }
}

impl MqttEvent<'_> {
    pub fn dir(&self) -> Direction {
        match self {
            MqttEvent::Packet(e) => e.dir,
            MqttEvent::Malformed(e) => e.dir,
            MqttEvent::Oversized(e) => e.dir,
            MqttEvent::Gap(e) => e.dir,
            MqttEvent::Resync(e) => e.dir,
            MqttEvent::Truncated(e) => e.dir,
        }
    }

    pub fn frame(&self) -> u64 {
        match self {
            MqttEvent::Packet(e) => e.frame,
            MqttEvent::Malformed(e) => e.frame,
            MqttEvent::Oversized(e) => e.frame,
            MqttEvent::Gap(e) => e.frame,
            MqttEvent::Resync(e) => e.frame,
            MqttEvent::Truncated(e) => e.frame,
        }
    }

    /// The capture time of [`frame`](Self::frame) (always that frame's).
    pub fn ts(&self) -> Timestamp {
        match self {
            MqttEvent::Packet(e) => e.ts,
            MqttEvent::Malformed(e) => e.ts,
            MqttEvent::Oversized(e) => e.ts,
            MqttEvent::Gap(e) => e.ts,
            MqttEvent::Resync(e) => e.ts,
            MqttEvent::Truncated(e) => e.ts,
        }
    }
}

/// Version knowledge of one connection.
#[derive(Debug, Clone, Default)]
struct Versions {
    /// From a CONNECT.
    known: Option<ProtocolVersion>,
    /// From evidence, while no CONNECT was seen.
    inferred: Option<ProtocolVersion>,
    /// Evidence for [3.1.1, 5.0].
    evidence: [u32; 2],
}

fn score(r: &Result<Decoded<'_>, Malformed>) -> usize {
    match r {
        Ok(d) => d.violations.len(),
        Err(_) => usize::MAX,
    }
}

fn slot(v: ProtocolVersion) -> usize {
    usize::from(v.is_v5())
}

impl Versions {
    fn current(&self) -> Option<ProtocolVersion> {
        self.known.or(self.inferred)
    }

    /// Decodes with the known version, or infers one (module docs).
    fn decode<'a>(
        &mut self,
        header: FixedHeader,
        parse: impl Fn(ProtocolVersion) -> Result<Decoded<'a>, Malformed>,
    ) -> Result<Decoded<'a>, Malformed> {
        if header.packet_type == PacketType::Connect {
            let r = parse(self.current().unwrap_or(ProtocolVersion::V311));
            if let Ok(Decoded {
                packet: Packet::Connect(c),
                ..
            }) = &r
                && let Some(v) = c.version()
            {
                self.known = Some(v);
            }
            return r;
        }
        if let Some(v) = self.known {
            return parse(v);
        }
        let cur = self.inferred.unwrap_or(ProtocolVersion::V311);
        let other = if cur.is_v5() {
            ProtocolVersion::V311
        } else {
            ProtocolVersion::V5
        };
        let a = parse(cur);
        let sa = score(&a);
        if sa == 0 && self.inferred.is_some() {
            return a;
        }
        let b = parse(other);
        let sb = score(&b);
        if sb < sa {
            self.evidence[slot(other)] += 1;
            if self.inferred.is_none() || self.evidence[slot(other)] > self.evidence[slot(cur)] {
                self.inferred = Some(other);
                return b;
            }
        } else if sa < sb {
            self.evidence[slot(cur)] += 1;
            self.inferred.get_or_insert(cur);
        }
        a
    }
}

/// Aliases one side has announced, bounded in count (u16) and bytes.
#[derive(Debug, Default)]
struct AliasTable {
    topics: HashMap<u16, Box<str>>,
    bytes: usize,
}

impl AliasTable {
    /// Records `alias → topic`; `false` when the byte budget is exhausted.
    fn set(&mut self, alias: u16, topic: &str, budget: usize) -> bool {
        let old = self.topics.get(&alias).map_or(0, |t| t.len());
        let bytes = self.bytes.saturating_sub(old).saturating_add(topic.len());
        if bytes > budget {
            return false;
        }
        self.bytes = bytes;
        self.topics.insert(alias, topic.into());
        true
    }

    fn get(&self, alias: u16) -> Option<&str> {
        self.topics.get(&alias).map(|t| &**t)
    }
}

/// MQTT decoding state of one TCP connection (module docs).
pub struct MqttConnection {
    cfg: MqttConfig,
    framers: PerDir<Framer>,
    versions: Versions,
    aliases: PerDir<AliasTable>,
    /// Highest alias allowed in PUBLISHes flowing in each direction, once announced.
    alias_max: PerDir<Option<u16>>,
    /// Largest packet allowed in each direction, once announced (5.0).
    limits: PerDir<Option<Limit>>,
}

/// What the unit handler needs besides the unit.
struct Here<'c> {
    dir: Direction,
    frame: u64,
    ts: Timestamp,
    cfg: MqttConfig,
    versions: &'c mut Versions,
    aliases: &'c mut AliasTable,
    alias_max: &'c mut PerDir<Option<u16>>,
    limits: &'c mut PerDir<Option<Limit>>,
    /// The other direction, while this one is driven: its framer hears of
    /// this direction's answers (module docs). `None` inside that nested
    /// call, so that it goes no deeper.
    peer: Option<Peer<'c>>,
}

/// The other direction's framer and alias table.
struct Peer<'c> {
    framer: &'c mut Framer,
    aliases: &'c mut AliasTable,
}

/// This direction's value and the other's.
fn both<T>(p: &mut PerDir<T>, dir: Direction) -> (&mut T, &mut T) {
    match dir {
        Direction::ClientToServer => (&mut p.client_to_server, &mut p.server_to_client),
        Direction::ServerToClient => (&mut p.server_to_client, &mut p.client_to_server),
    }
}

impl MqttConnection {
    /// A connection whose streams start at a packet boundary (the TCP
    /// handshake was seen).
    pub fn new(cfg: &MqttConfig) -> Self {
        Self::build(cfg, false)
    }

    /// A connection picked up mid-stream: each direction first scans for a
    /// plausible packet boundary.
    pub fn new_mid_stream(cfg: &MqttConfig) -> Self {
        Self::build(cfg, true)
    }

    fn build(cfg: &MqttConfig, mid_stream: bool) -> Self {
        let fc = FramerConfig {
            preview: cfg.payload_preview,
            max_buffer: cfg.max_packet_buffer.max(16),
            window: cfg.max_packet_buffer.max(16),
        };
        MqttConnection {
            cfg: *cfg,
            framers: PerDir::from_fn(|_| Framer::new(fc, mid_stream)),
            versions: Versions::default(),
            aliases: PerDir::default(),
            alias_max: PerDir::default(),
            limits: PerDir::default(),
        }
    }

    /// The protocol version: from CONNECT, else inferred, else unknown.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.versions.current()
    }

    /// Whether [`version`](Self::version) was inferred rather than read from a CONNECT.
    pub fn version_inferred(&self) -> bool {
        self.versions.known.is_none() && self.versions.inferred.is_some()
    }

    /// Memory held for partial packets, scan windows and topic aliases —
    /// bounded by the configuration whatever the traffic.
    pub fn buffered_bytes(&self) -> usize {
        let framers: usize = self.framers.values().map(Framer::buffered).sum();
        framers + self.aliases.values().map(|a| a.bytes).sum::<usize>()
    }

    /// The next in-order bytes of direction `dir`, from capture frame `frame`.
    pub fn on_data(
        &mut self,
        dir: Direction,
        frame: u64,
        ts: Timestamp,
        data: &[u8],
        out: &mut dyn FnMut(MqttEvent<'_>),
    ) {
        self.drive(dir, frame, ts, out, |framer, at, sink| {
            framer.push(data, at, sink)
        });
    }

    /// `missing` bytes of direction `dir` were not captured (noticed at `frame`).
    pub fn on_gap(
        &mut self,
        dir: Direction,
        frame: u64,
        ts: Timestamp,
        missing: u64,
        out: &mut dyn FnMut(MqttEvent<'_>),
    ) {
        self.drive(dir, frame, ts, out, |framer, at, sink| {
            framer.gap(missing, at, sink)
        });
    }

    /// The connection ended: reports packets cut short in either direction.
    pub fn on_close(&mut self, frame: u64, ts: Timestamp, out: &mut dyn FnMut(MqttEvent<'_>)) {
        for dir in Direction::BOTH {
            self.drive(dir, frame, ts, out, |framer, at, sink| {
                framer.close(at, sink)
            });
        }
    }

    fn drive(
        &mut self,
        dir: Direction,
        frame: u64,
        ts: Timestamp,
        out: &mut dyn FnMut(MqttEvent<'_>),
        run: impl FnOnce(&mut Framer, At, &mut Sink<'_>),
    ) {
        let MqttConnection {
            cfg,
            framers,
            versions,
            aliases,
            alias_max,
            limits,
        } = self;
        let (framer, peer_framer) = both(framers, dir);
        let (aliases, peer_aliases) = both(aliases, dir);
        framer.set_hint(versions.known);
        framer.set_limit(limits[dir]);
        let mut here = Here {
            dir,
            frame,
            ts,
            cfg: *cfg,
            versions,
            aliases,
            alias_max,
            limits,
            peer: Some(Peer {
                framer: peer_framer,
                aliases: peer_aliases,
            }),
        };
        // The framer says which frame (and timestamp) each unit belongs to:
        // not always the one being delivered (see the framer's docs).
        let mut sink = |unit: Unit<'_>, at: At| {
            here.frame = at.frame;
            here.ts = at.ts;
            handle(unit, &mut here, out)
        };
        run(framer, At { frame, ts }, &mut sink);
    }
}

fn handle(unit: Unit<'_>, here: &mut Here<'_>, out: &mut dyn FnMut(MqttEvent<'_>)) -> Verdict {
    let (dir, frame, ts) = (here.dir, here.frame, here.ts);
    let preview = here.cfg.payload_preview;
    let decoded = match unit {
        Unit::Packet {
            bytes,
            header,
            start_frame,
        } => {
            let body = bytes
                .get(usize::from(header.header_len)..)
                .unwrap_or_default();
            let r = here
                .versions
                .decode(header, |v| decode_body(header, body, v, preview));
            (r, start_frame, true)
        }
        Unit::StreamedPublish {
            prefix,
            header,
            digests,
            missing,
            start_frame,
        } => {
            let body = prefix
                .get(usize::from(header.header_len)..)
                .unwrap_or_default();
            let r = here.versions.decode(header, |v| {
                let digest = digests.iter().find(|d| d.layout == Layout::of(v));
                let r = decode_streamed_publish(
                    header,
                    body,
                    v,
                    preview,
                    digest.map_or(0, |d| d.hash),
                    missing,
                );
                match (r, digest) {
                    (Ok(_), None) => Err(Malformed {
                        packet_type: Some(header.packet_type),
                        flags: Some(header.flags),
                        length: Some(header.length),
                        header_len: Some(header.header_len),
                        offset: usize::from(header.header_len),
                        reason: super::error::Reason::UnframedPublish,
                    }),
                    (r, _) => r,
                }
            });
            (r, start_frame, false)
        }
        Unit::HeaderMalformed { error, start_frame } => {
            out(MqttEvent::Malformed(MalformedEvent {
                dir,
                frame,
                ts,
                start_frame,
                error,
            }));
            return verdict(here, true);
        }
        Unit::Disproved {
            header,
            offset,
            answer,
            start_frame,
        } => {
            let error = disproved(header, offset, answer);
            out(MqttEvent::Malformed(MalformedEvent {
                dir,
                frame,
                ts,
                start_frame,
                error,
            }));
            return verdict(here, true);
        }
        Unit::TooLarge {
            header,
            limit,
            start_frame,
        } => {
            let error = too_large(header, limit, dir);
            out(MqttEvent::Malformed(MalformedEvent {
                dir,
                frame,
                ts,
                start_frame,
                error,
            }));
            return verdict(here, true);
        }
        Unit::Oversized {
            header,
            start_frame,
        } => {
            out(MqttEvent::Oversized(OversizedEvent {
                dir,
                frame,
                ts,
                start_frame,
                packet_type: header.packet_type,
                length: header.length,
                limit: here.cfg.max_packet_buffer,
            }));
            return verdict(here, false);
        }
        Unit::Gap {
            missing,
            lost,
            resync,
        } => {
            out(MqttEvent::Gap(GapEvent {
                dir,
                frame,
                ts,
                missing,
                lost,
                resync,
            }));
            return verdict(here, false);
        }
        Unit::Resync {
            skipped,
            cause,
            resumed,
        } => {
            out(MqttEvent::Resync(ResyncEvent {
                dir,
                frame,
                ts,
                skipped,
                cause,
                resumed,
            }));
            return verdict(here, false);
        }
        Unit::Truncated {
            packet_type,
            length,
            received,
            start_frame,
        } => {
            out(MqttEvent::Truncated(TruncatedEvent {
                dir,
                frame,
                ts,
                start_frame,
                packet_type,
                length,
                received,
            }));
            return verdict(here, false);
        }
    };
    match decoded {
        // Flags the type forbids *and* something else wrong: more likely
        // bytes that are not a packet (garbage, a lost boundary) than a
        // packet; its length is not trusted either (the framer rescans).
        (Ok(d), start_frame, _) if d.violations.len() > 1 && !flags_right(d.packet.header()) => {
            let error = Malformed::implausible(*d.packet.header());
            out(MqttEvent::Malformed(MalformedEvent {
                dir,
                frame,
                ts,
                start_frame,
                error,
            }));
            verdict(here, true)
        }
        // Whole, and larger than the receiver allows: not a packet the
        // sender may send. Whether its end is the next boundary is judged
        // by the framer's usual rules for a malformed packet.
        (Ok(d), start_frame, true)
            if let Some(limit) = over_limit(here, d.packet.header(), start_frame) =>
        {
            let error = too_large(*d.packet.header(), limit, dir);
            out(MqttEvent::Malformed(MalformedEvent {
                dir,
                frame,
                ts,
                start_frame,
                error,
            }));
            verdict(here, true)
        }
        (Ok(d), start_frame, _) => {
            if let Some(id) = d.packet.packet_id() {
                tell_peer(d.packet.header().packet_type, id, here, out);
            }
            emit_packet(d, start_frame, here, out);
            verdict(here, false)
        }
        (Err(error), start_frame, _) => {
            out(MqttEvent::Malformed(MalformedEvent {
                dir,
                frame,
                ts,
                start_frame,
                error,
            }));
            verdict(here, true)
        }
    }
}

/// The receiver's Maximum Packet Size, if a packet that started in frame
/// `start_frame` (after the limit was announced) is larger.
fn over_limit(here: &Here<'_>, h: &FixedHeader, start_frame: u64) -> Option<u32> {
    let limit = here.limits[here.dir]?;
    (start_frame > limit.since && h.total_len() > limit.size as usize).then_some(limit.size)
}

/// The error for a packet larger than the receiver's Maximum Packet Size:
/// decoding stops at the first byte past the limit.
fn too_large(header: FixedHeader, limit: u32, dir: Direction) -> Malformed {
    Malformed {
        packet_type: Some(header.packet_type),
        flags: Some(header.flags),
        length: Some(header.length),
        header_len: Some(header.header_len),
        offset: limit as usize,
        reason: Reason::OverMaximumPacketSize {
            len: header.total_len(),
            limit,
            to_server: dir == Direction::ClientToServer,
        },
    }
}

/// The error for a streamed PUBLISH whose remaining length ran past a
/// packet the peer answered with `answer`, `offset` bytes into it: the
/// offset is where the packet really ended.
fn disproved(header: FixedHeader, offset: usize, answer: PacketType) -> Malformed {
    let limit = match answer {
        PacketType::Pubrec => "start of a PUBLISH the peer acknowledged with PUBREC",
        PacketType::Pubrel => "start of a PUBREC the peer answered with PUBREL",
        PacketType::Pubcomp => "start of a PUBREL the peer answered with PUBCOMP",
        _ => "start of a PUBLISH the peer acknowledged with PUBACK",
    };
    Malformed {
        packet_type: Some(header.packet_type),
        flags: Some(header.flags),
        length: Some(header.length),
        header_len: Some(header.header_len),
        offset,
        reason: Reason::LengthPastEnd {
            what: "remaining",
            len: header.length as usize,
            limit,
        },
    }
}

/// Hands this direction's `answer` for packet id `id` to the other
/// direction's framer, which reports (through a handler for that
/// direction) what it concludes from it, before the answer itself is
/// reported (module docs).
fn tell_peer(answer: PacketType, id: u16, here: &mut Here<'_>, out: &mut dyn FnMut(MqttEvent<'_>)) {
    if !matches!(
        answer,
        PacketType::Puback | PacketType::Pubrec | PacketType::Pubrel | PacketType::Pubcomp
    ) {
        return;
    }
    let Some(peer) = here.peer.as_mut() else {
        return;
    };
    if !peer.framer.awaits_evidence() {
        return;
    }
    let dir = here.dir.reverse();
    peer.framer.set_hint(here.versions.known);
    peer.framer.set_limit(here.limits[dir]);
    let mut inner = Here {
        dir,
        frame: here.frame,
        ts: here.ts,
        cfg: here.cfg,
        versions: &mut *here.versions,
        aliases: &mut *peer.aliases,
        alias_max: &mut *here.alias_max,
        limits: &mut *here.limits,
        peer: None,
    };
    let mut sink = |unit: Unit<'_>, at: At| {
        inner.frame = at.frame;
        inner.ts = at.ts;
        handle(unit, &mut inner, out)
    };
    peer.framer.answered(answer, id, &mut sink);
}

/// Whether the first byte has the flags its packet type requires (MQTT 3.1's
/// DUP on SUBSCRIBE / UNSUBSCRIBE / PUBREL counts as right).
fn flags_right(h: &FixedHeader) -> bool {
    let first = (h.packet_type.code() << 4) | h.flags;
    super::resync::plausible_first_byte(first, None) || matches!(first, 0x6a | 0x8a | 0xaa)
}

fn verdict(here: &Here<'_>, malformed: bool) -> Verdict {
    Verdict {
        malformed,
        hint: here.versions.known,
    }
}

/// A Maximum Packet Size announced in frame `since`.
fn limit(size: Option<u32>, since: u64) -> Option<Limit> {
    size.filter(|&s| s > 0).map(|size| Limit { size, since })
}

/// Connection-level checks and alias resolution, then the event.
fn emit_packet(
    mut d: Decoded<'_>,
    start_frame: u64,
    here: &mut Here<'_>,
    out: &mut dyn FnMut(MqttEvent<'_>),
) {
    let dir = here.dir;
    match &d.packet {
        // The CONNECT's Topic Alias Maximum bounds what the server may send,
        // the CONNACK's what the client may send.
        // So do their Maximum Packet Sizes (0 is a protocol error, not a
        // limit: ignored).
        Packet::Connect(c) if d.version.is_v5() => {
            here.alias_max[dir.reverse()] = Some(c.properties.topic_alias_maximum.unwrap_or(0));
            here.limits[dir.reverse()] = limit(c.properties.maximum_packet_size, here.frame);
        }
        Packet::Connack(c) if d.version.is_v5() => {
            here.alias_max[dir.reverse()] = Some(c.properties.topic_alias_maximum.unwrap_or(0));
            here.limits[dir.reverse()] = limit(c.properties.maximum_packet_size, here.frame);
        }
        _ => {}
    }
    let mut resolve = None;
    if let Packet::Publish(p) = &d.packet
        && d.version.is_v5()
    {
        if dir == Direction::ClientToServer && !p.properties.subscription_identifiers.is_empty() {
            d.violations.push(Violation {
                rule: Rule::new("MQTT-3.3.4-6"),
                message: "a client's PUBLISH carries a Subscription Identifier".into(),
            });
        }
        if let Some(alias) = p.properties.topic_alias.filter(|&a| a != 0) {
            if let Some(max) = here.alias_max[dir]
                && alias > max
            {
                let rule = if dir == Direction::ClientToServer {
                    Rule::new("MQTT-3.3.2-9")
                } else {
                    Rule::new("MQTT-3.3.2-11")
                };
                d.violations.push(Violation {
                    rule,
                    message: format!(
                        "topic alias {alias} exceeds the receiver's Topic Alias Maximum {max}"
                    ),
                });
            }
            if !p.topic.is_empty() {
                if !here.aliases.set(alias, p.topic, here.cfg.max_packet_buffer) {
                    d.violations.push(Violation {
                        rule: Rule::new("3.3.2.3.4"),
                        message: format!(
                            "topic alias {alias} not recorded: alias table limit reached"
                        ),
                    });
                }
            } else {
                resolve = Some(alias);
            }
        }
    }
    // A new binding whose lifetime may shrink to the alias table's borrow.
    let mut d: Decoded<'_> = d;
    let aliases: &AliasTable = here.aliases;
    if let Some(alias) = resolve {
        let found = aliases.get(alias);
        if let Packet::Publish(p) = &mut d.packet {
            p.resolved_topic = found;
        }
        if found.is_none() {
            d.violations.push(Violation {
                rule: Rule::new("3.3.2.3.4"),
                message: format!("topic alias {alias} has no topic on this connection"),
            });
        }
    }
    out(MqttEvent::Packet(PacketEvent {
        dir,
        frame: here.frame,
        ts: here.ts,
        start_frame,
        version: d.version,
        packet: &d.packet,
        violations: &d.violations,
    }));
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
