//! The WebSocket layer (RFC 6455): the HTTP/1.1 upgrade, then frames, per
//! direction, as a pure state machine.
//!
//! - **Handshake.** The client's request head (`GET <path>` with
//!   `Upgrade: websocket`, the subprotocols it offers) and the server's
//!   response head (`101`, the subprotocol and extensions it accepts) are
//!   collected up to [`MAX_HEAD`] bytes each; the time between them is the
//!   handshake latency. A refusal (any status but 101) ends the layer.
//! - **Frames.** Each frame header (2–14 bytes) is collected even when it
//!   spans segments; the payload is *streamed*: a binary message's bytes go
//!   up as they arrive, unmasked into a fixed scratch buffer
//!   ([`SCRATCH`] bytes), each piece with the frame it came from. So an
//!   MQTT packet split over several WebSocket frames, or several packets in
//!   one frame, frame exactly as on plain TCP, and a packet is reported at
//!   the frame that carried its last byte. Nothing of a data frame is
//!   buffered whatever its length (a 64-bit length is legal).
//! - **Control frames** (close, ping, pong; at most 125 bytes) are kept in
//!   a fixed buffer to read the close status code and reason.
//! - **permessage-deflate** (RFC 7692): when the server accepted it, a
//!   message with RSV1 set is inflated (raw deflate, the `00 00 ff ff` tail
//!   added at the end of each message, the window kept across messages
//!   unless `*_no_context_takeover` was agreed) into a second fixed buffer.
//! - **Protocol errors** ([`WsError`]) are events with the frame that shows
//!   them; decoding goes on wherever the frame structure still holds.
//! - **Gaps.** Bytes lost inside a payload are a gap for the layer above
//!   (the mask position follows the stream offset, so unmasking stays
//!   right). A gap that swallows a frame header loses the framing: the
//!   layer then scans for the next plausible header ([`plausible_header`])
//!   and reports how many bytes it skipped.

use super::http::{self, Head};
use crate::base::{At, Direction, PerDir};
use std::fmt;

/// Bytes of an HTTP head kept while waiting for its end (per direction).
pub const MAX_HEAD: usize = 8 * 1024;
/// The unmask / inflate buffers (per direction): payload bytes go up in
/// pieces of at most this size.
pub const SCRATCH: usize = 16 * 1024;
/// A control frame's payload limit (RFC 6455 5.5).
const MAX_CONTROL: usize = 125;
/// A resynchronising scan trusts no frame longer than this.
const RESYNC_MAX_LEN: u64 = 16 << 20;

/// A frame's opcode (4 bits); unknown values stay representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opcode(pub u8);

impl Opcode {
    pub const CONTINUATION: Opcode = Opcode(0);
    pub const TEXT: Opcode = Opcode(1);
    pub const BINARY: Opcode = Opcode(2);
    pub const CLOSE: Opcode = Opcode(8);
    pub const PING: Opcode = Opcode(9);
    pub const PONG: Opcode = Opcode(10);

    pub fn is_control(self) -> bool {
        self.0 & 0x8 != 0
    }

    fn known(self) -> bool {
        matches!(self.0, 0 | 1 | 2 | 8 | 9 | 10)
    }

    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "continuation",
            1 => "text",
            2 => "binary",
            8 => "close",
            9 => "ping",
            10 => "pong",
            _ => "reserved",
        }
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (opcode {:#x})", self.name(), self.0)
    }
}

/// A WebSocket protocol error: what RFC 6455 (or MQTT's section 6) forbids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WsError {
    #[error("frame with reserved opcode {0:#x} (RFC 6455 5.2)")]
    ReservedOpcode(u8),
    #[error(
        "frame with RSV bits {0:#03b} set, which no negotiated extension defines (RFC 6455 5.2)"
    )]
    ReservedBits(u8),
    #[error("{0} frame of {1} bytes; control frames carry at most 125 (RFC 6455 5.5)")]
    ControlTooLong(Opcode, u64),
    #[error("{0} frame without FIN; control frames must not be fragmented (RFC 6455 5.5)")]
    ControlFragmented(Opcode),
    #[error("continuation frame with no message to continue (RFC 6455 5.4)")]
    StrayContinuation,
    #[error("{0} frame starts a message while a fragmented one is unfinished (RFC 6455 5.4)")]
    Interleaved(Opcode),
    #[error("client frame not masked; a client masks every frame (RFC 6455 5.1)")]
    Unmasked,
    #[error("server frame masked; a server never masks (RFC 6455 5.1)")]
    Masked,
    #[error("64-bit payload length with the most significant bit set (RFC 6455 5.2)")]
    LengthMsb,
    #[error("payload length {0} not written in the fewest bytes (RFC 6455 5.2)")]
    NonMinimalLength(u64),
    #[error("close frame with a 1-byte payload (RFC 6455 5.5.1)")]
    CloseOneByte,
    #[error("close status code {0}, which an endpoint may not send (RFC 6455 7.4)")]
    BadCloseCode(u16),
    #[error("{0} frame after this side's close frame (RFC 6455 5.5.1)")]
    AfterClose(Opcode),
    #[error("text frame; MQTT control packets travel in binary frames only (MQTT-6.0.0-1)")]
    TextFrame,
    #[error("a compressed (RSV1) message that does not inflate (RFC 7692 7.2.2)")]
    Inflate,
    #[error("HTTP head longer than {MAX_HEAD} bytes without its end")]
    HeadTooLong,
    #[error("the client's first bytes are no WebSocket upgrade request (RFC 6455 4.1)")]
    NotUpgrade,
    #[error("the server refused the upgrade: HTTP status {0}")]
    Refused(u16),
    #[error("the server's answer is not an HTTP response (RFC 6455 4.1)")]
    BadResponse,
}

/// What the layer reports, in stream order per direction.
#[derive(Debug)]
pub enum WsEvent<'a> {
    /// Bytes of a binary message, for the layer above.
    Data {
        dir: Direction,
        at: At,
        bytes: &'a [u8],
    },
    /// `len` bytes of a binary message were lost (a gap, or a compressed
    /// message that does not inflate).
    Gap { dir: Direction, at: At, len: u64 },
    /// A protocol error, at the frame that shows it.
    Error {
        dir: Direction,
        at: At,
        error: WsError,
    },
    /// After a gap that took the framing with it, `skipped` bytes were
    /// passed over to the next plausible frame header.
    Resync {
        dir: Direction,
        at: At,
        skipped: u64,
    },
}

/// What the connection's report says about its WebSocket layer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WsSummary {
    /// The request target (`/mqtt`).
    pub path: Option<String>,
    /// The subprotocols the client offered, in order.
    pub offered: Vec<String>,
    /// The subprotocol the server accepted.
    pub subprotocol: Option<String>,
    /// The server's status code (101 when it switched).
    pub status: Option<u16>,
    pub request_frame: Option<u64>,
    pub response_frame: Option<u64>,
    /// Request to response, in milliseconds.
    pub handshake_ms: Option<f64>,
    /// permessage-deflate was accepted (its messages are inflated).
    pub deflate: bool,
    /// Frames per direction (client → server, server → client).
    pub frames: PerDir<u64>,
    /// Messages that arrived compressed, per direction.
    pub compressed_messages: PerDir<u64>,
    pub pings: u64,
    pub pongs: u64,
    /// Close frames: the first of each direction (code, reason, frame).
    pub close: PerDir<Option<CloseInfo>>,
    /// Protocol errors reported.
    pub errors: u64,
    /// Bytes skipped to find a frame header again after a gap.
    pub resync_bytes: u64,
}

/// A close frame's status code and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    pub code: Option<u16>,
    pub reason: String,
    pub frame: u64,
}

/// Where one direction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Collecting the HTTP head.
    Head,
    /// Frames.
    Frames,
    /// Framing lost: scanning for a frame header.
    Resync,
    /// Nothing more is decoded (refused upgrade, or not WebSocket at all).
    Dead,
}

/// The message a data frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Msg {
    /// Between messages.
    None,
    /// A binary message (compressed: RSV1 on its first frame).
    Binary { compressed: bool },
    /// A text or unknown message: not MQTT, not passed up.
    Other,
    /// Framing resumed mid-message after a resync: a continuation is
    /// taken as binary.
    Unknown,
}

/// The frame whose payload is being read.
#[derive(Debug, Clone, Copy)]
struct Frame {
    opcode: Opcode,
    fin: bool,
    mask: Option<[u8; 4]>,
    len: u64,
    done: u64,
}

/// The inflater of one direction (permessage-deflate).
struct Inflater {
    z: flate2::Decompress,
    out: Vec<u8>,
    /// Reset the window after every message (`*_no_context_takeover`).
    reset_each: bool,
    /// An inflate error (or a gap) broke the stream; with context takeover
    /// nothing later decodes.
    broken: bool,
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater")
            .field("reset_each", &self.reset_each)
            .field("broken", &self.broken)
            .finish()
    }
}

/// One direction's state.
#[derive(Debug)]
struct Side {
    phase: Phase,
    head: Vec<u8>,
    hdr: [u8; 14],
    hdr_len: usize,
    frame: Option<Frame>,
    msg: Msg,
    ctrl: [u8; MAX_CONTROL],
    ctrl_len: usize,
    scratch: Vec<u8>,
    inflater: Option<Box<Inflater>>,
    closed: bool,
    /// Bytes passed over so far by the current resynchronisation.
    skipped: u64,
}

impl Side {
    fn new(phase: Phase) -> Self {
        Side {
            phase,
            head: Vec::new(),
            hdr: [0; 14],
            hdr_len: 0,
            frame: None,
            msg: Msg::None,
            ctrl: [0; MAX_CONTROL],
            ctrl_len: 0,
            scratch: Vec::new(),
            inflater: None,
            closed: false,
            skipped: 0,
        }
    }

    /// Bytes held by this side (heads, scratch and inflate buffers).
    fn buffered(&self) -> usize {
        self.head.capacity()
            + self.scratch.capacity()
            + self
                .inflater
                .as_ref()
                .map_or(0, |i| i.out.capacity() + 48 * 1024)
    }
}

/// The WebSocket layer of one connection (module docs).
#[derive(Debug)]
pub struct WsLayer {
    sides: PerDir<Side>,
    summary: WsSummary,
    request_at: Option<At>,
}

impl WsLayer {
    /// A layer that starts with the opening handshake (the connection's
    /// first bytes are the client's request).
    pub fn new() -> Self {
        WsLayer {
            sides: PerDir::from_fn(|_| Side::new(Phase::Head)),
            summary: WsSummary::default(),
            request_at: None,
        }
    }

    pub fn summary(&self) -> &WsSummary {
        &self.summary
    }

    /// Memory the layer holds now (bounded: two heads of at most
    /// [`MAX_HEAD`], two scratch buffers of [`SCRATCH`], and with
    /// permessage-deflate two inflaters with their buffers).
    pub fn buffered_bytes(&self) -> usize {
        self.sides.values().map(Side::buffered).sum()
    }

    /// The next in-order bytes of `dir`, from the frame `at`.
    pub fn on_data(
        &mut self,
        dir: Direction,
        at: At,
        mut data: &[u8],
        out: &mut dyn FnMut(WsEvent<'_>),
    ) {
        while !data.is_empty() {
            let phase = self.sides[dir].phase;
            let used = match phase {
                Phase::Head => self.head(dir, at, data, out),
                Phase::Frames => self.frames(dir, at, data, out),
                Phase::Resync => self.resync(dir, at, data, out),
                Phase::Dead => data.len(),
            };
            // Every step consumes at least one byte (or changes phase and
            // then consumes), so the loop ends.
            data = data.get(used..).unwrap_or_default();
            if used == 0 && self.sides[dir].phase == phase {
                break;
            }
        }
    }

    /// `len` bytes of `dir` were not captured.
    pub fn on_gap(&mut self, dir: Direction, at: At, len: u64, out: &mut dyn FnMut(WsEvent<'_>)) {
        let s = &mut self.sides[dir];
        match s.phase {
            Phase::Dead | Phase::Resync => {}
            Phase::Head => s.phase = Phase::Dead,
            Phase::Frames => {
                let passes_up = matches!(s.msg, Msg::Binary { .. } | Msg::Unknown);
                if let (Some(f), 0) = (s.frame.as_mut(), s.hdr_len) {
                    let left = f.len - f.done;
                    if len <= left {
                        // Lost inside the payload: the framing holds.
                        f.done += len;
                        if f.opcode.is_control() {
                            s.ctrl_len = MAX_CONTROL + 1; // unreadable now
                        }
                        if let Some(i) = s.inflater.as_mut()
                            && matches!(s.msg, Msg::Binary { compressed: true })
                        {
                            i.broken = true;
                        }
                        if passes_up && !f.opcode.is_control() {
                            out(WsEvent::Gap { dir, at, len });
                        }
                        if f.done == f.len {
                            let f = *f;
                            self.frame_done(dir, at, f, out);
                        }
                        return;
                    }
                }
                // The gap takes a frame header with it.
                s.phase = Phase::Resync;
                s.frame = None;
                s.hdr_len = 0;
                s.msg = Msg::Unknown;
                if let Some(i) = s.inflater.as_mut() {
                    i.broken = true;
                }
                out(WsEvent::Gap { dir, at, len });
            }
        }
    }

    /// Collects the HTTP head of `dir`; returns the bytes used.
    fn head(
        &mut self,
        dir: Direction,
        at: At,
        data: &[u8],
        out: &mut dyn FnMut(WsEvent<'_>),
    ) -> usize {
        let s = &mut self.sides[dir];
        let before = s.head.len();
        let room = MAX_HEAD.saturating_sub(before);
        let take = data.len().min(room);
        s.head
            .extend_from_slice(data.get(..take).unwrap_or_default());
        // Search from a little before the new bytes (the end may straddle).
        let from = before.saturating_sub(3);
        let end = s
            .head
            .get(from..)
            .and_then(http::head_end)
            .map(|e| e + from);
        let Some(end) = end else {
            if s.head.len() >= MAX_HEAD {
                s.phase = Phase::Dead;
                s.head = Vec::new();
                self.summary.errors += 1;
                out(WsEvent::Error {
                    dir,
                    at,
                    error: WsError::HeadTooLong,
                });
            }
            return take;
        };
        let used = end - before;
        let head = std::mem::take(&mut s.head);
        let text = head.get(..end.saturating_sub(4)).unwrap_or_default();
        let error = match dir {
            Direction::ClientToServer => self.request(at, text),
            Direction::ServerToClient => self.response(at, text),
        };
        if let Some(error) = error {
            self.summary.errors += 1;
            out(WsEvent::Error { dir, at, error });
        }
        used
    }

    /// The client's request head: path, subprotocols offered.
    fn request(&mut self, at: At, text: &[u8]) -> Option<WsError> {
        let c = &mut self.sides.client_to_server;
        let Some(h) = Head::parse(text).filter(Head::is_upgrade_request) else {
            c.phase = Phase::Dead;
            return Some(WsError::NotUpgrade);
        };
        c.phase = Phase::Frames;
        self.summary.path = Some(h.start[1].to_string());
        self.summary.offered = h
            .tokens("sec-websocket-protocol")
            .iter()
            .map(|t| t.to_string())
            .collect();
        self.summary.request_frame = Some(at.frame);
        self.request_at = Some(at);
        None
    }

    /// The server's response head: status, subprotocol, extensions.
    fn response(&mut self, at: At, text: &[u8]) -> Option<WsError> {
        let s = &mut self.sides.server_to_client;
        let Some(h) = Head::parse(text) else {
            s.phase = Phase::Dead;
            return Some(WsError::BadResponse);
        };
        let Some(status) = h.status() else {
            s.phase = Phase::Dead;
            return Some(WsError::BadResponse);
        };
        self.summary.status = Some(status);
        self.summary.response_frame = Some(at.frame);
        if let Some(req) = self.request_at {
            self.summary.handshake_ms = Some(at.ts.millis_since(&req.ts));
        }
        if status != 101 {
            s.phase = Phase::Dead;
            self.sides.client_to_server.phase = Phase::Dead;
            return Some(WsError::Refused(status));
        }
        s.phase = Phase::Frames;
        self.summary.subprotocol = h.values("sec-websocket-protocol").next().map(String::from);
        // permessage-deflate (RFC 7692): the first extension the server
        // accepted, with its context-takeover parameters.
        let ext = h.tokens("sec-websocket-extensions");
        if let Some(pmd) = ext.iter().find(|e| {
            e.split(';')
                .next()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case("permessage-deflate"))
        }) {
            let param = |p: &str| {
                pmd.split(';')
                    .skip(1)
                    .any(|x| x.trim().eq_ignore_ascii_case(p))
            };
            self.summary.deflate = true;
            let inflater = |reset_each| {
                Some(Box::new(Inflater {
                    z: flate2::Decompress::new(false),
                    out: Vec::new(),
                    reset_each,
                    broken: false,
                }))
            };
            self.sides.client_to_server.inflater = inflater(param("client_no_context_takeover"));
            self.sides.server_to_client.inflater = inflater(param("server_no_context_takeover"));
        }
        None
    }

    /// Reads frames of `dir` from `data`; returns the bytes used.
    fn frames(
        &mut self,
        dir: Direction,
        at: At,
        data: &[u8],
        out: &mut dyn FnMut(WsEvent<'_>),
    ) -> usize {
        let s = &mut self.sides[dir];
        let Some(f) = s.frame else {
            // A header: collect its first two bytes, then the rest.
            let mut used = 0;
            let mut rest = data;
            while s.hdr_len < 2 || s.hdr_len < header_len(&s.hdr) {
                let Some((&b, r)) = rest.split_first() else {
                    return used;
                };
                if let Some(slot) = s.hdr.get_mut(s.hdr_len) {
                    *slot = b;
                }
                s.hdr_len += 1;
                used += 1;
                rest = r;
            }
            let hdr = s.hdr;
            s.hdr_len = 0;
            self.header(dir, at, &hdr, out);
            return used;
        };
        // Payload.
        let left = f.len - f.done;
        let take = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
        let chunk = data.get(..take).unwrap_or_default();
        self.payload(dir, at, f, chunk, out);
        let s = &mut self.sides[dir];
        if let Some(fr) = s.frame.as_mut() {
            fr.done += take as u64;
            if fr.done == fr.len {
                let fr = *fr;
                self.frame_done(dir, at, fr, out);
            }
        }
        take
    }

    /// A complete frame header: checks it and starts its payload.
    fn header(&mut self, dir: Direction, at: At, hdr: &[u8; 14], out: &mut dyn FnMut(WsEvent<'_>)) {
        let h = parse_header(hdr);
        let s = &mut self.sides[dir];
        self.summary.frames[dir] += 1;
        let mut errors: [Option<WsError>; 4] = [None, None, None, None];
        let mut note = |e: WsError| {
            if let Some(slot) = errors.iter_mut().find(|x| x.is_none()) {
                *slot = Some(e);
            }
        };
        let op = h.opcode;
        let deflate = s.inflater.is_some();
        let rsv_allowed = if deflate && !op.is_control() && op != Opcode::CONTINUATION {
            0b100
        } else {
            0
        };
        if !op.known() {
            note(WsError::ReservedOpcode(op.0));
        }
        if h.rsv & !rsv_allowed != 0 {
            note(WsError::ReservedBits(h.rsv));
        }
        match (dir, h.mask.is_some()) {
            (Direction::ClientToServer, false) => note(WsError::Unmasked),
            (Direction::ServerToClient, true) => note(WsError::Masked),
            _ => {}
        }
        if h.msb {
            note(WsError::LengthMsb);
        } else if !h.minimal {
            note(WsError::NonMinimalLength(h.len));
        }
        if op.is_control() && op.known() {
            if h.len > MAX_CONTROL as u64 {
                note(WsError::ControlTooLong(op, h.len));
            } else if !h.fin {
                note(WsError::ControlFragmented(op));
            }
        }
        if s.closed {
            note(WsError::AfterClose(op));
        }
        // The message this frame belongs to.
        if !op.is_control() {
            match (op, s.msg) {
                (Opcode::CONTINUATION, Msg::None) => {
                    note(WsError::StrayContinuation);
                    s.msg = Msg::Other;
                }
                (Opcode::CONTINUATION, Msg::Unknown) => {
                    s.msg = Msg::Binary { compressed: false };
                }
                (Opcode::CONTINUATION, _) => {}
                (op, m) => {
                    if !matches!(m, Msg::None | Msg::Unknown) {
                        note(WsError::Interleaved(op));
                    }
                    s.msg = match op {
                        Opcode::BINARY => {
                            let compressed = deflate && h.rsv & 0b100 != 0;
                            if compressed {
                                self.summary.compressed_messages[dir] += 1;
                            }
                            Msg::Binary { compressed }
                        }
                        Opcode::TEXT => {
                            note(WsError::TextFrame);
                            Msg::Other
                        }
                        _ => Msg::Other,
                    };
                }
            }
        }
        match op {
            Opcode::PING => self.summary.pings += 1,
            Opcode::PONG => self.summary.pongs += 1,
            _ => {}
        }
        for e in errors.into_iter().flatten() {
            self.summary.errors += 1;
            out(WsEvent::Error { dir, at, error: e });
        }
        let s = &mut self.sides[dir];
        s.ctrl_len = 0;
        let f = Frame {
            opcode: op,
            fin: h.fin,
            mask: h.mask,
            len: h.len,
            done: 0,
        };
        s.frame = Some(f);
        if f.len == 0 {
            self.frame_done(dir, at, f, out);
        }
    }

    /// Payload bytes of the current frame (`chunk`, starting at `f.done`).
    fn payload(
        &mut self,
        dir: Direction,
        at: At,
        f: Frame,
        chunk: &[u8],
        out: &mut dyn FnMut(WsEvent<'_>),
    ) {
        let s = &mut self.sides[dir];
        if f.opcode.is_control() {
            // Kept (unmasked) only as far as a control frame may go.
            for (i, &b) in chunk.iter().enumerate() {
                let pos = f.done + i as u64;
                if let Some(slot) = s.ctrl.get_mut(s.ctrl_len) {
                    *slot = b ^ mask_byte(f.mask, pos);
                    s.ctrl_len += 1;
                } else {
                    break;
                }
            }
            return;
        }
        let compressed = match s.msg {
            Msg::Binary { compressed } => compressed,
            Msg::Unknown => false,
            Msg::None | Msg::Other => return,
        };
        let Side {
            scratch, inflater, ..
        } = s;
        let mut pos = f.done;
        for piece in chunk.chunks(SCRATCH) {
            let plain: &[u8] = match f.mask {
                None => piece,
                Some(_) => {
                    scratch.clear();
                    scratch.extend(
                        piece
                            .iter()
                            .enumerate()
                            .map(|(i, &b)| b ^ mask_byte(f.mask, pos + i as u64)),
                    );
                    scratch
                }
            };
            pos += piece.len() as u64;
            match (compressed, inflater.as_deref_mut()) {
                (true, Some(inf)) => {
                    if inflate(inf, plain, dir, at, out).is_err() {
                        self.summary.errors += 1;
                        out(WsEvent::Error {
                            dir,
                            at,
                            error: WsError::Inflate,
                        });
                    }
                }
                _ => out(WsEvent::Data {
                    dir,
                    at,
                    bytes: plain,
                }),
            }
        }
    }

    /// The frame's last payload byte arrived.
    fn frame_done(&mut self, dir: Direction, at: At, f: Frame, out: &mut dyn FnMut(WsEvent<'_>)) {
        let s = &mut self.sides[dir];
        s.frame = None;
        if f.opcode == Opcode::CLOSE {
            let error = self.close(dir, at, f);
            if let Some(error) = error {
                self.summary.errors += 1;
                out(WsEvent::Error { dir, at, error });
            }
            return;
        }
        if f.opcode.is_control() || !f.fin {
            return;
        }
        // The message ends here.
        let s = &mut self.sides[dir];
        if let (Msg::Binary { compressed: true }, Some(inf)) = (s.msg, s.inflater.as_deref_mut()) {
            // RFC 7692 7.2.2: the sender removed this tail.
            if inflate(inf, &[0, 0, 0xff, 0xff], dir, at, out).is_err() {
                self.summary.errors += 1;
                out(WsEvent::Error {
                    dir,
                    at,
                    error: WsError::Inflate,
                });
            }
            if inf.reset_each {
                inf.z.reset(false);
                inf.broken = false;
            }
        }
        self.sides[dir].msg = Msg::None;
    }

    /// A complete close frame: its code and reason.
    fn close(&mut self, dir: Direction, at: At, f: Frame) -> Option<WsError> {
        let s = &mut self.sides[dir];
        s.closed = true;
        let body = s.ctrl.get(..s.ctrl_len).unwrap_or_default();
        let (code, reason, error) = match body {
            [] => (None, String::new(), None),
            [_] => (None, String::new(), Some(WsError::CloseOneByte)),
            [a, b, rest @ ..] => {
                let code = u16::from_be_bytes([*a, *b]);
                let reason = String::from_utf8_lossy(rest).into_owned();
                let ok = matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999);
                (
                    Some(code),
                    reason,
                    (!ok).then_some(WsError::BadCloseCode(code)),
                )
            }
        };
        // A payload cut by a gap or longer than a control frame may be is
        // not read.
        let error = if f.len > MAX_CONTROL as u64 || s.ctrl_len > MAX_CONTROL {
            None
        } else {
            error
        };
        if self.summary.close[dir].is_none() {
            self.summary.close[dir] = Some(CloseInfo {
                code,
                reason,
                frame: at.frame,
            });
        }
        error
    }

    /// Framing lost: looks for the next plausible header in `data`.
    fn resync(
        &mut self,
        dir: Direction,
        at: At,
        data: &[u8],
        out: &mut dyn FnMut(WsEvent<'_>),
    ) -> usize {
        let masked = dir == Direction::ClientToServer;
        let deflate = self.sides[dir].inflater.is_some();
        let found = (0..data.len()).find(|&i| {
            data.get(i..)
                .is_some_and(|d| plausible_header(d, masked, deflate))
        });
        let used = found.unwrap_or(data.len());
        self.summary.resync_bytes += used as u64;
        let s = &mut self.sides[dir];
        s.skipped += used as u64;
        if found.is_some() {
            s.phase = Phase::Frames;
            let skipped = std::mem::take(&mut s.skipped);
            out(WsEvent::Resync { dir, at, skipped });
        }
        used
    }
}

impl Default for WsLayer {
    fn default() -> Self {
        Self::new()
    }
}

/// Inflates `input` into the direction's buffer and passes the output up.
fn inflate(
    inf: &mut Inflater,
    mut input: &[u8],
    dir: Direction,
    at: At,
    out: &mut dyn FnMut(WsEvent<'_>),
) -> Result<(), ()> {
    if inf.broken {
        if !input.is_empty() {
            out(WsEvent::Gap {
                dir,
                at,
                len: input.len() as u64,
            });
        }
        return Ok(());
    }
    if inf.out.len() != SCRATCH {
        inf.out.resize(SCRATCH, 0);
    }
    loop {
        let (in0, out0) = (inf.z.total_in(), inf.z.total_out());
        let r = inf
            .z
            .decompress(input, &mut inf.out, flate2::FlushDecompress::Sync);
        let used = usize::try_from(inf.z.total_in() - in0).unwrap_or(input.len());
        let made = usize::try_from(inf.z.total_out() - out0).unwrap_or(0);
        if made > 0 {
            out(WsEvent::Data {
                dir,
                at,
                bytes: inf.out.get(..made).unwrap_or_default(),
            });
        }
        input = input.get(used..).unwrap_or_default();
        match r {
            Err(_) => {
                inf.broken = true;
                out(WsEvent::Gap {
                    dir,
                    at,
                    len: input.len() as u64,
                });
                return Err(());
            }
            Ok(flate2::Status::StreamEnd) => return Ok(()),
            Ok(_) => {}
        }
        // Done when the input is used and the output did not fill up;
        // stop also when nothing moves (no progress possible).
        if (input.is_empty() && made < inf.out.len()) || (used == 0 && made == 0) {
            return Ok(());
        }
    }
}

/// The key byte for payload offset `pos` (0 when unmasked).
fn mask_byte(mask: Option<[u8; 4]>, pos: u64) -> u8 {
    match mask {
        Some(m) => m.get((pos % 4) as usize).copied().unwrap_or(0),
        None => 0,
    }
}

/// The header's length from its first two bytes (2 to 14).
fn header_len(hdr: &[u8]) -> usize {
    let Some(&b1) = hdr.get(1) else {
        return 2;
    };
    let ext = match b1 & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
}

/// A frame header's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub fin: bool,
    /// RSV1..3 as three bits (RSV1 = 0b100).
    pub rsv: u8,
    pub opcode: Opcode,
    pub mask: Option<[u8; 4]>,
    pub len: u64,
    /// The header's own length in bytes.
    pub header_len: usize,
    /// A 64-bit length had its top bit set (then `len` has it cleared).
    pub msb: bool,
    /// The length was written in the fewest bytes.
    pub minimal: bool,
}

/// Parses a complete header (at least [`header_len`] bytes of `hdr`;
/// missing bytes read as zero).
fn parse_header(hdr: &[u8]) -> FrameHeader {
    let byte = |i: usize| hdr.get(i).copied().unwrap_or(0);
    let (b0, b1) = (byte(0), byte(1));
    let (mut len, mut at) = (u64::from(b1 & 0x7f), 2);
    let mut minimal = true;
    let mut msb = false;
    if len == 126 {
        len = u64::from(u16::from_be_bytes([byte(2), byte(3)]));
        minimal = len >= 126;
        at = 4;
    } else if len == 127 {
        let mut b = [0u8; 8];
        for (i, slot) in b.iter_mut().enumerate() {
            *slot = byte(2 + i);
        }
        len = u64::from_be_bytes(b);
        msb = len >> 63 != 0;
        len &= !(1 << 63);
        minimal = len > 0xffff;
        at = 10;
    }
    let mask = (b1 & 0x80 != 0).then(|| [byte(at), byte(at + 1), byte(at + 2), byte(at + 3)]);
    FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 0x7,
        opcode: Opcode(b0 & 0x0f),
        mask,
        len,
        header_len: header_len(hdr),
        msb,
        minimal,
    }
}

/// The frame header at the start of `data`, if it is complete.
pub fn frame_header(data: &[u8]) -> Option<FrameHeader> {
    if data.len() < 2 || data.len() < header_len(data) {
        return None;
    }
    Some(parse_header(data))
}

/// Whether `data` starts with a header a peer could have sent here (a
/// resynchronisation candidate): a known opcode, no RSV bit but what
/// permessage-deflate allows, the mask bit the direction needs, a length in
/// its fewest bytes and below 16 MiB, a control frame short and final —
/// and, when the whole frame is at hand, another plausible header (or the
/// end of the data) right after it.
pub fn plausible_header(data: &[u8], masked: bool, deflate: bool) -> bool {
    plausible_at(data, masked, deflate, 1)
}

fn plausible_at(data: &[u8], masked: bool, deflate: bool, depth: u8) -> bool {
    let Some(h) = frame_header(data) else {
        return false;
    };
    let rsv_ok = h.rsv == 0 || (deflate && h.rsv == 0b100 && !h.opcode.is_control());
    let ok = h.opcode.known()
        && rsv_ok
        && h.mask.is_some() == masked
        && h.minimal
        && !h.msb
        && h.len <= RESYNC_MAX_LEN
        && (!h.opcode.is_control() || (h.fin && h.len <= MAX_CONTROL as u64));
    if !ok {
        return false;
    }
    let next = h.header_len as u64 + h.len;
    match usize::try_from(next).ok().and_then(|n| data.get(n..)) {
        Some(rest) if depth > 0 && rest.len() >= 2 => {
            plausible_at(rest, masked, deflate, depth - 1)
        }
        _ => true,
    }
}

/// What the client's first bytes (the request, then frames) and the
/// server's say about MQTT over WebSocket, for detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeVerdict {
    /// An upgrade that carries MQTT (the `mqtt` / `mqttv3.1` subprotocol,
    /// or a first binary message that starts with a CONNECT).
    Mqtt,
    /// Not WebSocket, or WebSocket carrying something else.
    NotMqtt,
    /// Not enough bytes yet.
    Undecided,
}

/// Judges a client stream that starts with `GET `: complete request head,
/// `Upgrade: websocket`, and an MQTT subprotocol offered — or else the
/// first client frame's payload starts like a CONNECT (`looks_like_connect`
/// on up to `prefix` bytes of it).
pub fn judge_upgrade(
    client: &[u8],
    prefix: usize,
    looks_like_connect: impl Fn(&[u8]) -> bool,
) -> UpgradeVerdict {
    let Some(end) = http::head_end(client) else {
        return UpgradeVerdict::Undecided;
    };
    let Some(h) = client.get(..end.saturating_sub(4)).and_then(Head::parse) else {
        return UpgradeVerdict::NotMqtt;
    };
    if !h.is_upgrade_request() {
        return UpgradeVerdict::NotMqtt;
    }
    if h.tokens("sec-websocket-protocol")
        .iter()
        .any(|p| http::is_mqtt_subprotocol(p))
    {
        return UpgradeVerdict::Mqtt;
    }
    // No MQTT subprotocol: the first frame must show a CONNECT.
    let frames = client.get(end..).unwrap_or_default();
    let Some(fh) = frame_header(frames) else {
        return UpgradeVerdict::Undecided;
    };
    if fh.opcode != Opcode::BINARY || fh.rsv != 0 {
        return UpgradeVerdict::NotMqtt;
    }
    let want = usize::try_from(fh.len).unwrap_or(usize::MAX).min(prefix);
    let Some(payload) = frames.get(fh.header_len..fh.header_len + want) else {
        return UpgradeVerdict::Undecided;
    };
    let plain: Vec<u8> = payload
        .iter()
        .enumerate()
        .map(|(i, &b)| b ^ mask_byte(fh.mask, i as u64))
        .collect();
    if looks_like_connect(&plain) {
        UpgradeVerdict::Mqtt
    } else {
        UpgradeVerdict::NotMqtt
    }
}

#[cfg(test)]
mod tests;
