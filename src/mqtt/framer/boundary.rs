//! The framer's state machine: where the next packet starts, and which
//! frame each event names.
//!
//! The framer sees the in-order bytes of a direction as slices of any size
//! and hands out one [`Unit`] per packet (or per problem) through a
//! callback, together with the capture frame it belongs to:
//!
//! * a packet wholly inside the current slice is handed out *borrowed from
//!   that slice* — no copy — at that slice's frame;
//! * a packet split across slices (its fixed header too) is copied into
//!   the framer's buffer until complete (bounded by `max_packet_buffer`; a
//!   larger one is skipped by its length and reported as oversized) and
//!   handed out at the frame that completed it;
//! * a PUBLISH split across slices is never buffered whole: its payload
//!   streams through a hash ([`super::publish`]). Its length rests on its
//!   header alone, so evidence from the peer can disprove it
//!   ([`super::evidence`]): its bytes are then framed again up to a
//!   *fence*, a boundary the evidence proves, where whatever the framer is
//!   in the middle of is cut short ([`Framer::at_fence`]);
//! * a packet larger than the receiver's Maximum Packet Size
//!   ([`Framer::set_limit`]) whose length would be trusted before all of
//!   it is at hand (a streamed PUBLISH, an oversized packet) is not
//!   trusted: it is reported and its bytes scanned again;
//! * a length is trusted only when the header looks real: a packet that
//!   must be buffered or skipped first passes the plausibility checks of
//!   [`crate::mqtt::resync`] (exact flags, a length its type can have, the
//!   bytes at hand decoding as far as they go), and a malformed packet's
//!   end is taken as the next boundary only if its header was right.
//!   Otherwise the framer scans again from the packet's second byte;
//! * after a TCP gap, a malformed packet, or when the stream was picked up
//!   mid-connection, the framer scans for the next plausible boundary
//!   ([`super::scan`]) — except when a gap lies inside a packet of known
//!   length: then the packet is lost (or, inside a streamed PUBLISH
//!   payload, completed with the missing bytes counted) and framing goes on
//!   at the known next boundary.
//!
//! ## Which frame an event names
//!
//! Every event is handed out with a frame and *that frame's* timestamp
//! ([`At`]); the two always travel together, so no event carries one
//! frame's number and another's time:
//!
//! 1. Held-back bytes — a partial packet, a scan window, bytes set aside
//!    for replay — keep the frame and timestamp they came with. A packet
//!    found in them names the frame whose bytes completed it, with that
//!    frame's time, however much later it is found (a scan window that
//!    settles only when more bytes or the close arrive, a packet whose
//!    length is not trusted once it is complete and whose bytes are
//!    scanned again from the second one).
//! 2. Per direction, events are handed out in non-decreasing frame order:
//!    the framer remembers where it reported its last event, and an event
//!    whose own frame is earlier is reported there instead — frame and
//!    timestamp both, moved forward, never back. This holds for every
//!    kind of event. It is what keeps a direction's output in capture
//!    order when bytes are taken back: after a SUBSCRIBE completed in
//!    frame 3 turns out malformed with an untrusted length, the packets
//!    the rescan finds in its frame-2 bytes are reported at frame 3,
//!    because the malformed SUBSCRIBE (known only at frame 3) came first.
//! 3. An event names the frame of the bytes it is about, not the frame
//!    being processed when it was concluded, so that it does not push
//!    rule 2 past the packets it precedes: the end of a scan
//!    (`Unit::Resync`) names the frame of the boundary where decoding
//!    resumed, a malformed or oversized packet the frame that completed
//!    its header or body, a gap the frame at which it was noticed. Only
//!    what the end of the stream itself concludes (a truncated packet, a
//!    scan that found nothing) names the closing frame; nothing follows it.

use super::held::Held;
use super::publish::{Head, Tail};
use super::scan::{Replay, Scan};
use super::{FramerConfig, ResyncCause, Sink, Unit, Verdict};
use crate::base::At;
use crate::mqtt::error::Malformed;
use crate::mqtt::header::{FixedHeader, PacketType, ProtocolVersion};
use crate::mqtt::parse::{ParseError, parse_fixed_header};
use crate::mqtt::resync;
use std::cell::Cell;

/// Where the framer is in the stream.
pub(super) enum State {
    /// At a packet boundary; `held` holds the first bytes of a fixed header.
    Boundary,
    /// Collecting a whole packet into `held`.
    Body { header: FixedHeader },
    /// Collecting a PUBLISH's headers and payload preview into `held`.
    PublishHead(Head),
    /// Streaming the rest of a PUBLISH payload; `held` holds the prefix.
    PublishTail(Tail),
    /// Dropping the rest of a packet of known length.
    Skip { remaining: u64, then_resync: bool },
    /// Looking for a boundary; `held` is the scan window.
    Resync(Scan),
}

/// The Maximum Packet Size the receiver of a direction announced (MQTT 5:
/// the CONNECT's limits what the server sends, MQTT-3.1.2-24; the
/// CONNACK's what the client sends, MQTT-3.2.2-15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limit {
    /// The largest packet, fixed header included, the receiver accepts.
    pub size: u32,
    /// The frame that announced it: only packets that start later are
    /// held to it.
    pub since: u64,
}

/// A resynchronisation that restarts at the byte after a bad first byte.
const RESCAN: State = State::Resync(Scan::new(ResyncCause::Malformed));

pub(crate) struct Framer {
    pub(super) state: State,
    /// A partial packet, or the scan window while resynchronising, with
    /// the frame each run of it came in.
    pub(super) held: Held,
    /// Bytes a scan set aside after finding a boundary in its window, with
    /// their frames: framed next, before anything newer (a queue rather
    /// than recursion, so that no input can make framing nest deeply).
    pub(super) replay: Replay,
    pub(super) hint: Option<ProtocolVersion>,
    pub(super) cfg: FramerConfig,
    /// The frame of the first byte of the packet being collected.
    pub(super) start_frame: u64,
    /// The frame of the bytes being framed now.
    pub(super) at: At,
    /// Where the last event was reported: no event is reported earlier.
    pub(super) last: Cell<At>,
    /// `held` holds bytes taken back for a rescan that no scan has looked at.
    pub(super) unscanned: bool,
    /// A scan took one packet on unconfirmed evidence: after framing it,
    /// go back to scanning (with this cause).
    pub(super) probation: Option<ResyncCause>,
    /// The receiver's Maximum Packet Size, once announced.
    pub(super) limit: Option<Limit>,
}

impl Framer {
    /// A framer at a packet boundary, or (`mid_stream`) one that first looks for one.
    pub fn new(cfg: FramerConfig, mid_stream: bool) -> Self {
        let state = if mid_stream {
            State::Resync(Scan::new(ResyncCause::MidStream))
        } else {
            State::Boundary
        };
        Framer {
            state,
            held: Held::default(),
            replay: Replay::default(),
            hint: None,
            cfg,
            start_frame: 0,
            at: At::default(),
            last: Cell::new(At::default()),
            probation: None,
            unscanned: false,
            limit: None,
        }
    }

    /// Bytes of buffer memory held (partial packet or scan window).
    pub fn buffered(&self) -> usize {
        self.held.capacity()
    }

    pub fn set_hint(&mut self, hint: Option<ProtocolVersion>) {
        self.hint = hint;
    }

    /// The Maximum Packet Size the receiver of this direction announced.
    pub fn set_limit(&mut self, limit: Option<Limit>) {
        self.limit = limit;
    }

    /// Most bytes of a streamed PUBLISH (prefix and kept payload) held
    /// while evidence may still disprove its length: the evidence window,
    /// or the prefix alone if that is already larger.
    pub(super) fn keep_limit(&self) -> usize {
        self.cfg.max_buffer.min(super::evidence::WINDOW)
    }

    /// Frames the next in-order bytes of the stream, from capture frame `at`.
    pub fn push(&mut self, data: &[u8], at: At, sink: &mut Sink<'_>) {
        self.at = at;
        let mut data = data;
        while !data.is_empty() {
            data = self.step(data, sink);
        }
        self.settle(sink);
        self.drain_replay(sink);
    }

    /// Finishes what needs no further byte: a packet whose last byte arrived
    /// together with the end of its header, a PUBLISH header that is now
    /// measured, bytes taken back for a rescan. Without this such a packet
    /// would wait for the next slice and be attributed to the wrong frame,
    /// and the rescanned bytes would be thrown away if a gap came next.
    pub(super) fn settle(&mut self, sink: &mut Sink<'_>) {
        loop {
            match self.state {
                State::Resync(_) if self.unscanned => {
                    // Clears `unscanned`: the loop ends.
                    self.resync(&[], sink);
                }
                State::Body { header } if self.held.len() >= header.total_len() => {
                    self.fill_body(header, &[], sink);
                }
                State::PublishHead(_) => {
                    self.publish_head(&[], sink);
                    if matches!(self.state, State::PublishHead(_)) {
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    pub(super) fn step<'d>(&mut self, data: &'d [u8], sink: &mut Sink<'_>) -> &'d [u8] {
        match self.state {
            State::Boundary if self.held.is_empty() => self.boundary_direct(data, sink),
            State::Boundary => self.boundary_partial(data, sink),
            State::Body { header } => self.fill_body(header, data, sink),
            State::PublishHead(_) => self.publish_head(data, sink),
            State::PublishTail(_) => self.publish_tail(data, sink),
            State::Skip { .. } => self.skip(data),
            State::Resync(_) => self.resync(data, sink),
        }
    }

    /// Hands `unit` to the consumer, at the current frame.
    pub(super) fn emit(&self, sink: &mut Sink<'_>, unit: Unit<'_>) -> Verdict {
        self.emit_at(sink, unit, self.at)
    }

    /// Hands `unit` to the consumer at `at`, or at the last event's frame if
    /// `at` is earlier (module docs: events never go back in frame).
    pub(super) fn emit_at(&self, sink: &mut Sink<'_>, unit: Unit<'_>, at: At) -> Verdict {
        let last = self.last.get();
        let at = if at.frame < last.frame { last } else { at };
        self.last.set(at);
        sink(unit, at)
    }

    /// Appends bytes of the current frame to `held`.
    pub(super) fn append(&mut self, bytes: &[u8]) {
        self.held.append(bytes, self.at);
    }

    pub(super) fn release_buffer(&mut self) {
        self.held.release();
        self.unscanned = false;
    }

    /// The buffered packet's length is not to be trusted: scan its bytes
    /// again from the second one.
    pub(super) fn rescan_buffer(&mut self) {
        self.held.drop_front(1);
        self.state = RESCAN;
        self.unscanned = !self.held.is_empty();
    }

    pub(super) fn after(&mut self, verdict: Verdict) {
        self.hint = verdict.hint;
        let probation = self.probation.take();
        self.state = if verdict.malformed {
            State::Resync(Scan::at_trusted_end())
        } else if let Some(cause) = probation {
            State::Resync(Scan::on_probation(cause))
        } else {
            State::Boundary
        };
    }

    fn boundary_direct<'d>(&mut self, data: &'d [u8], sink: &mut Sink<'_>) -> &'d [u8] {
        let header = match parse_fixed_header(data) {
            Err(ParseError::Incomplete { .. }) => {
                // At most 4 bytes: a fixed header cut by the slice end.
                self.start_frame = self.at.frame;
                self.append(data);
                return &[];
            }
            Err(ParseError::Malformed(m)) => {
                self.emit(
                    sink,
                    Unit::HeaderMalformed {
                        error: m,
                        start_frame: self.at.frame,
                    },
                );
                self.state = RESCAN;
                return data.get(1..).unwrap_or_default();
            }
            Ok(header) => header,
        };
        let total = header.total_len();
        let hl = usize::from(header.header_len);
        let Some(bytes) = data.get(..total) else {
            self.start_frame = self.at.frame;
            let body = data.get(hl..).unwrap_or_default();
            if self.begin(header, body, sink) {
                return data;
            }
            return data.get(1..).unwrap_or_default();
        };
        let rest = data.get(total..).unwrap_or_default();
        let body = bytes.get(hl..).unwrap_or_default();
        if resync::suspect(header, body, self.hint) {
            self.emit(
                sink,
                Unit::HeaderMalformed {
                    error: Malformed::implausible(header),
                    start_frame: self.at.frame,
                },
            );
            self.state = RESCAN;
            return data.get(1..).unwrap_or_default();
        }
        let verdict = self.emit(
            sink,
            Unit::Packet {
                bytes,
                header,
                start_frame: self.at.frame,
            },
        );
        if verdict.malformed && !resync::trusted_length(header, body, self.hint) {
            // The length came with an implausible header: do not skip by it.
            self.hint = verdict.hint;
            self.state = RESCAN;
            return data.get(1..).unwrap_or_default();
        }
        self.after(verdict);
        rest
    }

    fn boundary_partial<'d>(&mut self, data: &'d [u8], sink: &mut Sink<'_>) -> &'d [u8] {
        let have = self.held.len().min(5);
        let take = (5 - have).min(data.len());
        let mut tmp = [0u8; 5];
        for (t, b) in tmp
            .iter_mut()
            .zip(self.held.bytes().iter().take(have).chain(&data[..take]))
        {
            *t = *b;
        }
        match parse_fixed_header(&tmp[..have + take]) {
            Err(ParseError::Incomplete { .. }) => {
                self.append(&data[..take]);
                &data[take..]
            }
            Err(ParseError::Malformed(m)) => {
                self.emit(
                    sink,
                    Unit::HeaderMalformed {
                        error: m,
                        start_frame: self.start_frame,
                    },
                );
                self.rescan_buffer();
                data
            }
            Ok(header) => {
                let used = usize::from(header.header_len)
                    .saturating_sub(have)
                    .min(data.len());
                self.append(&data[..used]);
                if !self.begin(header, &data[used..], sink) {
                    self.rescan_buffer();
                }
                &data[used..]
            }
        }
    }

    /// Chooses how to collect a packet that does not fit in the current
    /// slice; `body` is what of its body is at hand.
    ///
    /// Its length decides how much of the stream is buffered or skipped, so
    /// it must first look real: the exact flags of its type, a length and
    /// first fields its type can have (see [`resync::viable`]; a PUBLISH's
    /// topic must be UTF-8 as far as it goes, and so on while its header
    /// arrives). An implausible header is reported as malformed and `false`
    /// returned: the caller resynchronises from the next byte.
    fn begin(&mut self, header: FixedHeader, body: &[u8], sink: &mut Sink<'_>) -> bool {
        // The slice may go on past this packet.
        let body = body
            .get(..body.len().min(header.length as usize))
            .unwrap_or_default();
        let params = resync::Params {
            hint: self.hint,
            window: self.cfg.max_buffer,
            lenient: true,
        };
        let first = (header.packet_type.code() << 4) | header.flags;
        if !(resync::plausible_first_byte(first, self.hint)
            && resync::viable(header, body, &params))
        {
            self.emit(
                sink,
                Unit::HeaderMalformed {
                    error: Malformed::implausible(header),
                    start_frame: self.start_frame,
                },
            );
            self.state = RESCAN;
            return false;
        }
        if header.packet_type == PacketType::Publish {
            self.begin_publish(header);
        } else if header.total_len() > self.cfg.max_buffer
            && let Some(limit) = self.over_limit(header)
        {
            // It would be skipped by a length the sender may not send.
            self.emit(
                sink,
                Unit::TooLarge {
                    header,
                    limit,
                    start_frame: self.start_frame,
                },
            );
            self.state = RESCAN;
            return false;
        } else if header.total_len() > self.cfg.max_buffer {
            self.emit(
                sink,
                Unit::Oversized {
                    header,
                    start_frame: self.start_frame,
                },
            );
            let remaining = header.total_len().saturating_sub(self.held.len()) as u64;
            self.release_buffer();
            self.state = State::Skip {
                remaining,
                then_resync: false,
            };
        } else {
            self.state = State::Body { header };
        }
        true
    }

    pub(super) fn fill_body<'d>(
        &mut self,
        header: FixedHeader,
        data: &'d [u8],
        sink: &mut Sink<'_>,
    ) -> &'d [u8] {
        let total = header.total_len();
        let take = total.saturating_sub(self.held.len()).min(data.len());
        self.append(&data[..take]);
        if self.held.len() >= total {
            let body = self
                .held
                .bytes()
                .get(usize::from(header.header_len)..)
                .unwrap_or_default();
            if resync::suspect(header, body, self.hint) {
                self.emit(
                    sink,
                    Unit::HeaderMalformed {
                        error: Malformed::implausible(header),
                        start_frame: self.start_frame,
                    },
                );
                self.rescan_buffer();
                return &data[take..];
            }
            let verdict = self.emit(
                sink,
                Unit::Packet {
                    bytes: self.held.bytes(),
                    header,
                    start_frame: self.start_frame,
                },
            );
            let body = self
                .held
                .bytes()
                .get(usize::from(header.header_len)..)
                .unwrap_or_default();
            if verdict.malformed && !resync::trusted_length(header, body, self.hint) {
                self.hint = verdict.hint;
                self.rescan_buffer();
            } else {
                self.release_buffer();
                self.after(verdict);
            }
        }
        &data[take..]
    }

    fn skip<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        let State::Skip {
            remaining,
            then_resync,
        } = &mut self.state
        else {
            return data;
        };
        let take = usize::try_from(*remaining)
            .unwrap_or(usize::MAX)
            .min(data.len());
        *remaining -= take as u64;
        if *remaining == 0 {
            self.state = if *then_resync {
                State::Resync(Scan::at_trusted_end())
            } else {
                State::Boundary
            };
        }
        &data[take..]
    }

    /// `missing` bytes of the stream were not captured (noticed at `at`).
    pub fn gap(&mut self, missing: u64, at: At, sink: &mut Sink<'_>) {
        self.at = at;
        // What a scan holds back cannot be continued by the bytes after
        // the gap: conclude it as at the end of the stream rather than
        // throw away the packets it may still hold.
        self.conclude_window(sink);
        self.probation = None;
        let state = std::mem::replace(&mut self.state, State::Boundary);
        match state {
            State::Boundary => {
                let lost = self
                    .held
                    .bytes()
                    .first()
                    .and_then(|b| PacketType::from_code(b >> 4));
                self.release_buffer();
                self.emit(
                    sink,
                    Unit::Gap {
                        missing,
                        lost,
                        resync: true,
                    },
                );
                self.state = State::Resync(Scan::new(ResyncCause::Gap));
            }
            State::Body { header } => {
                let remaining = header.total_len().saturating_sub(self.held.len()) as u64;
                self.release_buffer();
                self.lose(header.packet_type, remaining, missing, sink);
            }
            State::PublishHead(head) => {
                if !self.publish_head_gap(head, missing, sink) {
                    let header = head.header;
                    let remaining = header.total_len().saturating_sub(self.held.len()) as u64;
                    self.release_buffer();
                    self.lose(PacketType::Publish, remaining, missing, sink);
                }
            }
            tail @ State::PublishTail(_) => {
                self.state = tail;
                self.tail_gap(missing, sink);
            }
            State::Skip {
                remaining,
                then_resync,
            } => {
                // The next boundary stays known if the gap ends inside the
                // packet, or at its end when no scan was to follow anyway.
                let resync = missing > remaining || (missing == remaining && then_resync);
                self.emit(
                    sink,
                    Unit::Gap {
                        missing,
                        lost: None,
                        resync,
                    },
                );
                self.state = if missing < remaining {
                    State::Skip {
                        remaining: remaining - missing,
                        then_resync,
                    }
                } else if resync {
                    State::Resync(Scan::new(ResyncCause::Gap))
                } else {
                    State::Boundary
                };
            }
            State::Resync(scan) => {
                let skipped = scan.skipped().saturating_add(self.held.len() as u64);
                self.release_buffer();
                self.emit(
                    sink,
                    Unit::Gap {
                        missing,
                        lost: None,
                        resync: true,
                    },
                );
                self.state = State::Resync(Scan::after_gap(skipped));
            }
        }
    }

    /// A gap inside a packet of known length that is not a streamed payload:
    /// the packet is lost; framing goes on at its end if the gap stops there.
    fn lose(&mut self, t: PacketType, remaining: u64, missing: u64, sink: &mut Sink<'_>) {
        if missing <= remaining {
            self.emit(
                sink,
                Unit::Gap {
                    missing,
                    lost: Some(t),
                    resync: false,
                },
            );
            self.state = if missing < remaining {
                State::Skip {
                    remaining: remaining - missing,
                    then_resync: false,
                }
            } else {
                State::Boundary
            };
        } else {
            self.emit(
                sink,
                Unit::Gap {
                    missing,
                    lost: Some(t),
                    resync: true,
                },
            );
            self.state = State::Resync(Scan::new(ResyncCause::Gap));
        }
    }

    /// The stream ended: decode what a scan was still holding back, then
    /// report what was left unfinished.
    pub fn close(&mut self, at: At, sink: &mut Sink<'_>) {
        self.at = at;
        self.conclude_window(sink);
        let state = std::mem::replace(&mut self.state, State::Boundary);
        let start_frame = self.start_frame;
        let unit = match state {
            State::Boundary if !self.held.is_empty() => Some(Unit::Truncated {
                packet_type: self
                    .held
                    .bytes()
                    .first()
                    .and_then(|b| PacketType::from_code(b >> 4)),
                length: None,
                received: self.held.len() as u64,
                start_frame,
            }),
            State::Body { header } | State::PublishHead(Head { header, .. }) => {
                Some(Unit::Truncated {
                    packet_type: Some(header.packet_type),
                    length: Some(header.length),
                    received: self.held.len() as u64,
                    start_frame,
                })
            }
            State::PublishTail(tail) => Some(Unit::Truncated {
                packet_type: Some(tail.header.packet_type),
                length: Some(tail.header.length),
                received: (u64::from(tail.header.header_len) + tail.received())
                    .saturating_sub(tail.missing()),
                start_frame,
            }),
            State::Resync(scan) => scan.ended(self.held.len()),
            State::Boundary | State::Skip { .. } => None,
        };
        if let Some(unit) = unit {
            self.emit(sink, unit);
        }
        self.release_buffer();
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{Out, PINGREQ, Rig, at, packet, pkt, publish311};
    use super::*;
    use proptest::prelude::*;

    const PUBACK: [u8; 4] = [0x40, 0x02, 0x00, 0x01];
    const DISCONNECT: [u8; 2] = [0xe0, 0x00];

    fn cfg(max_buffer: usize) -> FramerConfig {
        FramerConfig {
            preview: 64,
            max_buffer,
            window: max_buffer,
        }
    }

    /// A 3.1.1 CONNECT whose client id is `id_len` bytes.
    fn connect(id_len: usize) -> Vec<u8> {
        let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60];
        body.extend_from_slice(&(id_len as u16).to_be_bytes());
        body.extend(std::iter::repeat_n(b'c', id_len));
        pkt(0x10, &body)
    }

    /// A 3.1.1 SUBSCRIBE of "a/b" at QoS 1.
    fn subscribe() -> Vec<u8> {
        pkt(0x82, &[0, 1, 0, 3, b'a', b'/', b'b', 1])
    }

    fn gap(missing: u64, lost: Option<PacketType>, resync: bool) -> Out {
        Out::Gap {
            missing,
            lost,
            resync,
        }
    }

    /// What framing `packets`, cut before each offset in `cuts` (one frame
    /// per piece, from 1), must give: each packet at the frame of its last
    /// byte, started at the frame of its first.
    fn expected(packets: &[&[u8]], cuts: &[usize]) -> Vec<(Out, u64)> {
        let frame_of = |offset: usize| 1 + cuts.iter().filter(|&&c| c <= offset).count() as u64;
        let mut offset = 0;
        let mut out = Vec::new();
        for p in packets {
            out.push((packet(p, frame_of(offset)), frame_of(offset + p.len() - 1)));
            offset += p.len();
        }
        out
    }

    fn cut_at<'a>(stream: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut pieces = Vec::new();
        let mut from = 0;
        for &c in cuts {
            pieces.push(&stream[from..c]);
            from = c;
        }
        pieces.push(&stream[from..]);
        pieces
    }

    #[test]
    fn whole_packets_are_borrowed_from_the_slice() {
        let data = [connect(1), publish311("a", b"hi"), PINGREQ.to_vec()].concat();
        let range = data.as_ptr_range();
        let mut framer = Framer::new(cfg(1 << 20), false);
        let mut seen = Vec::new();
        framer.push(&data, at(7), &mut |unit, a| {
            if let Unit::Packet { bytes, .. } = unit {
                let inside =
                    range.contains(&bytes.as_ptr()) && bytes.as_ptr_range().end <= range.end;
                seen.push((bytes.len(), inside, a));
            }
            Verdict::default()
        });
        assert_eq!(
            seen,
            [(15, true, at(7)), (7, true, at(7)), (2, true, at(7))]
        );
        assert_eq!(framer.buffered(), 0, "nothing was copied");
    }

    #[test]
    fn a_stream_cut_anywhere_gives_the_same_packets_at_the_frames_that_completed_them() {
        // The CONNECT's remaining length takes two bytes, so some cuts fall
        // inside it.
        let connect = connect(150);
        let publish = publish311("t", b"hi");
        let subscribe = subscribe();
        let packets: [&[u8]; 6] = [
            &connect,
            &PUBACK,
            &subscribe,
            &PINGREQ,
            &publish,
            &DISCONNECT,
        ];
        let stream = packets.concat();
        for p in 1..stream.len() {
            assert_eq!(
                Rig::frames(cfg(1 << 20), false, &cut_at(&stream, &[p])),
                expected(&packets, &[p]),
                "cut at {p}"
            );
        }
        // Every pair of cuts, over the packets after the CONNECT.
        let short = &packets[1..];
        let stream = short.concat();
        for p in 1..stream.len() {
            for q in p + 1..stream.len() {
                assert_eq!(
                    Rig::frames(cfg(1 << 20), false, &cut_at(&stream, &[p, q])),
                    expected(short, &[p, q]),
                    "cuts at {p} and {q}"
                );
            }
        }
        // One byte per frame.
        let cuts: Vec<usize> = (1..stream.len()).collect();
        assert_eq!(
            Rig::frames(cfg(1 << 20), false, &cut_at(&stream, &cuts)),
            expected(short, &cuts)
        );
    }

    #[test]
    fn a_packet_over_the_limit_is_skipped_by_its_length() {
        let big = connect(40);
        // Reported at the frame that completed its fixed header.
        for (cuts, header_frame) in [([2, 20], 1), ([1, 2], 2), ([2, big.len()], 1)] {
            let stream = [&big[..], &PINGREQ].concat();
            let seen = Rig::frames(cfg(32), false, &cut_at(&stream, &cuts));
            assert_eq!(
                seen,
                [
                    (
                        Out::Oversized {
                            packet_type: PacketType::Connect,
                            length: 52,
                            start: 1
                        },
                        header_frame
                    ),
                    (packet(&PINGREQ, 3), 3),
                ],
                "cuts at {cuts:?}"
            );
        }
        // Within one slice no buffer is needed: the packet is handed out.
        let seen = Rig::frames(cfg(32), false, &[&big]);
        assert_eq!(seen, [(packet(&big, 1), 1)]);
    }

    #[test]
    fn a_gap_inside_a_packet_loses_it_and_framing_goes_on_at_its_end() {
        let mut rig = Rig::new(cfg(1 << 20), false);
        rig.data(1, &PUBACK[..3]);
        rig.gap(2, 1);
        rig.data(3, &PINGREQ);
        assert_eq!(
            rig.seen,
            [
                (gap(1, Some(PacketType::Puback), false), 2),
                (packet(&PINGREQ, 3), 3)
            ]
        );
        // Short of its end: the rest is skipped.
        let mut rig = Rig::new(cfg(1 << 20), false);
        rig.data(1, &subscribe()[..3]);
        rig.gap(2, 2);
        rig.data(3, &[&subscribe()[5..], &PINGREQ[..]].concat());
        assert_eq!(
            rig.seen,
            [
                (gap(2, Some(PacketType::Subscribe), false), 2),
                (packet(&PINGREQ, 3), 3)
            ]
        );
        // Past its end: where the next packet starts is unknown.
        let mut rig = Rig::new(cfg(1 << 20), false);
        rig.data(1, &PUBACK[..3]);
        rig.gap(2, 3);
        rig.data(3, &[&[0x01][..], &PINGREQ].concat());
        assert_eq!(
            rig.seen,
            [
                (gap(3, Some(PacketType::Puback), true), 2),
                (
                    Out::Resync {
                        skipped: 1,
                        cause: ResyncCause::Gap,
                        resumed: true
                    },
                    3
                ),
                (packet(&PINGREQ, 3), 3)
            ]
        );
    }

    #[test]
    fn a_gap_at_a_boundary_or_in_a_fixed_header_resyncs() {
        let mut rig = Rig::new(cfg(1 << 20), false);
        rig.data(1, &PINGREQ);
        rig.gap(2, 10);
        rig.data(3, &[0x30]);
        rig.gap(4, 10);
        rig.close(5);
        assert_eq!(
            rig.seen,
            [
                (packet(&PINGREQ, 1), 1),
                (gap(10, None, true), 2),
                // The PUBLISH's first byte waited for its length: counted
                // as passed over when the gap rejects it.
                (gap(10, None, true), 4),
                (
                    Out::Resync {
                        skipped: 1,
                        cause: ResyncCause::Gap,
                        resumed: false
                    },
                    5
                ),
            ]
        );
        let mut rig = Rig::new(cfg(1 << 20), false);
        rig.data(1, &[0x30]);
        rig.gap(2, 10);
        assert_eq!(rig.seen, [(gap(10, Some(PacketType::Publish), true), 2)]);
    }

    #[test]
    fn a_gap_inside_a_skipped_packet() {
        let big = connect(40);
        let run = |missing: u64| {
            let mut rig = Rig::new(cfg(32), false);
            rig.data(1, &big[..10]);
            rig.gap(2, missing);
            rig.data(3, &PINGREQ);
            rig.seen
        };
        let left = (big.len() - 10) as u64;
        let oversized = (
            Out::Oversized {
                packet_type: PacketType::Connect,
                length: 52,
                start: 1,
            },
            1,
        );
        // Inside, or up to its end: the next boundary stays known.
        assert_eq!(
            run(left - 2)[..2],
            [oversized.clone(), (gap(left - 2, None, false), 2)]
        );
        assert_eq!(
            run(left),
            [
                oversized.clone(),
                (gap(left, None, false), 2),
                (packet(&PINGREQ, 3), 3)
            ]
        );
        assert_eq!(
            run(left + 1)[..2],
            [oversized, (gap(left + 1, None, true), 2)]
        );
    }

    #[test]
    fn a_bad_fixed_header_names_the_frame_it_started_in() {
        // Type 0 does not exist.
        let seen = Rig::frames(cfg(1 << 20), false, &[&[0x00], &PINGREQ]);
        assert_eq!(
            seen,
            [
                (Out::HeaderMalformed { start: 1 }, 1),
                (packet(&PINGREQ, 2), 2)
            ]
        );
        // A remaining length of five bytes, cut between two frames.
        let seen = Rig::frames(
            cfg(1 << 20),
            false,
            &[&[0x30, 0xff], &[0xff, 0xff, 0xff, 0x01], &PINGREQ],
        );
        assert_eq!(seen.first(), Some(&(Out::HeaderMalformed { start: 1 }, 2)));
        assert_eq!(seen.last(), Some(&(packet(&PINGREQ, 3), 3)));
    }

    #[test]
    fn a_complete_packet_with_wrong_flags_and_length_is_scanned_again() {
        // PUBACK with flags 1 and a length no PUBACK has: not decoded, its
        // bytes scanned again from the second.
        let suspect = [0x41, 0x05, 0x00, 0x01, 0x50, 0x00, 0x00];
        let seen = Rig::frames(cfg(1 << 20), false, &[&[&suspect[..], &PINGREQ].concat()]);
        assert_eq!(
            seen,
            [
                (Out::HeaderMalformed { start: 1 }, 1),
                (
                    Out::Resync {
                        skipped: 6,
                        cause: ResyncCause::Malformed,
                        resumed: true
                    },
                    1
                ),
                (packet(&PINGREQ, 1), 1),
            ]
        );
    }

    #[test]
    fn a_malformed_packet_of_trusted_length_resumes_at_its_end() {
        // PUBLISH whose topic is not UTF-8, whole in its slice: the consumer
        // finds it malformed, its header was right, so the next packet
        // follows it without a resync.
        let bad = pkt(0x30, &[0x00, 0x02, 0xc3, 0x28, b'p']);
        let stream = [&bad[..], &PUBACK].concat();
        for p in bad.len()..stream.len() {
            let seen = Rig::frames(cfg(1 << 20), false, &cut_at(&stream, &[p]));
            assert_eq!(seen, expected(&[&bad, &PUBACK], &[p]), "cut at {p}");
        }
    }

    #[test]
    fn a_split_packet_must_look_plausible_before_its_length_is_trusted() {
        // The same PUBLISH cut before its end: its length is trusted only
        // once the bytes at hand decode as far as they go. They do not, so
        // it is reported where that shows — as a bad header when the bytes
        // with the fixed header show it, else as a PUBLISH whose header did
        // not decode (its prefix handed out, no digest) — and its bytes are
        // scanned again from the second: the PUBACK after it is found.
        let bad = pkt(0x30, &[0x00, 0x02, 0xc3, 0x28, b'p']);
        let stream = [&bad[..], &PUBACK].concat();
        let rejected = Out::Streamed {
            prefix: bad.clone(),
            digests: vec![],
            missing: 0,
            start: 1,
        };
        for p in 1..bad.len() {
            let first = match p {
                // The fixed header completed by frame 2, with the topic.
                1 => (Out::HeaderMalformed { start: 1 }, 2),
                // The whole topic in frame 1.
                6 => (Out::HeaderMalformed { start: 1 }, 1),
                _ => (rejected.clone(), 2),
            };
            let seen = Rig::frames(cfg(1 << 20), false, &cut_at(&stream, &[p]));
            assert_eq!(
                seen,
                [
                    first,
                    (
                        Out::Resync {
                            skipped: 6,
                            cause: ResyncCause::Malformed,
                            resumed: true
                        },
                        2
                    ),
                    (packet(&PUBACK, 2), 2),
                ],
                "cut at {p}"
            );
        }
    }

    #[test]
    fn what_the_close_cuts_short_is_reported_at_the_closing_frame() {
        let truncated = |packet_type, length, received, start| Out::Truncated {
            packet_type: Some(packet_type),
            length,
            received,
            start,
        };
        let big = publish311("a", &[7; 300]);
        let cases: [(&[u8], Out); 4] = [
            // A fixed header cut short.
            (&[0x30, 0x80], truncated(PacketType::Publish, None, 2, 2)),
            (&PUBACK[..3], truncated(PacketType::Puback, Some(2), 3, 2)),
            // A PUBLISH collecting its header, then one streaming its payload.
            (&big[..4], truncated(PacketType::Publish, Some(303), 4, 2)),
            (
                &big[..100],
                truncated(PacketType::Publish, Some(303), 100, 2),
            ),
        ];
        for (bytes, unit) in cases {
            let mut rig = Rig::new(cfg(64), false);
            rig.data(1, &PINGREQ);
            rig.data(2, bytes);
            rig.close(3);
            assert_eq!(rig.seen, [(packet(&PINGREQ, 1), 1), (unit, 3)], "{bytes:?}");
        }
    }

    #[test]
    fn no_event_is_reported_before_the_last_one() {
        let framer = Framer::new(cfg(64), false);
        let mut seen = Vec::new();
        let mut sink = |_: Unit<'_>, a: At| {
            seen.push(a);
            Verdict::default()
        };
        let unit = || Unit::Gap {
            missing: 1,
            lost: None,
            resync: false,
        };
        framer.emit_at(&mut sink, unit(), at(5));
        framer.emit_at(&mut sink, unit(), at(3));
        framer.emit_at(&mut sink, unit(), at(6));
        // Moved forward with its timestamp, never back.
        assert_eq!(seen, [at(5), at(5), at(6)]);
    }

    /// Pieces of MQTT-looking streams: real packets, some of them large,
    /// and bytes of anything.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(PINGREQ.to_vec()),
            Just(DISCONNECT.to_vec()),
            Just(PUBACK.to_vec()),
            Just(subscribe()),
            (0usize..200).prop_map(connect),
            (0usize..400, any::<u8>()).prop_map(|(n, b)| publish311("a/b", &vec![b; n])),
            prop::collection::vec(any::<u8>(), 0..16),
        ]
    }

    /// A stream, where to cut it, which cut pieces are lost (gaps of their
    /// length, or of another), and the framer's settings.
    fn scenario() -> impl Strategy<Value = (Vec<u8>, Vec<(u8, u8)>, usize, usize, bool)> {
        (
            prop::collection::vec(piece(), 1..10),
            prop::collection::vec((any::<u8>(), any::<u8>()), 1..16),
            0usize..40,
            0u32..8,
            any::<bool>(),
        )
            .prop_map(|(pieces, cuts, preview, cap, mid)| {
                (pieces.concat(), cuts, preview, 16 << cap, mid)
            })
    }

    proptest! {
        /// The frame rules hold whatever the bytes and however they are cut
        /// or lost (the `mqtt_framer` fuzz target's checks): `Rig` checks on
        /// every unit that its timestamp is its frame's and that frames
        /// never go back; here, that no unit names a frame not yet seen, a
        /// packet starts no later than it is reported, and the memory held
        /// stays within the limits.
        #[test]
        fn the_frame_rules_hold_however_the_stream_is_cut(
            (stream, cuts, preview, max_buffer, mid) in scenario()
        ) {
            let config = FramerConfig { preview, max_buffer, window: max_buffer };
            let bound = 2 * (max_buffer + preview + 32);
            let mut rig = Rig::new(config, mid);
            let mut rest = &stream[..];
            let mut frame = 0;
            for (len, kind) in cuts {
                frame += 1;
                let (piece, r) = rest.split_at(usize::from(len).min(rest.len()));
                rest = r;
                match kind % 8 {
                    0 => rig.gap(frame, piece.len() as u64),
                    1 => rig.gap(frame, u64::from(kind)),
                    _ => rig.data(frame, piece),
                }
                prop_assert!(rig.framer.buffered() <= bound, "{} > {bound}", rig.framer.buffered());
            }
            frame += 1;
            rig.data(frame, rest);
            rig.close(frame + 1);
            for (out, at) in &rig.seen {
                prop_assert!(*at <= frame + 1);
                let start = match out {
                    Out::Packet { start, .. }
                    | Out::Streamed { start, .. }
                    | Out::HeaderMalformed { start }
                    | Out::Oversized { start, .. }
                    | Out::Truncated { start, .. }
                    | Out::Disproved { start, .. }
                    | Out::TooLarge { start, .. } => *start,
                    Out::Gap { .. } | Out::Resync { .. } => *at,
                };
                prop_assert!(start <= *at, "{out:?} at {at}");
            }
        }
    }
}
