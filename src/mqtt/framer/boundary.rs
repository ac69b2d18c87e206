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
//!   streams through a hash ([`super::publish`]);
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
        }
    }

    /// Bytes of buffer memory held (partial packet or scan window).
    pub fn buffered(&self) -> usize {
        self.held.capacity()
    }

    pub fn set_hint(&mut self, hint: Option<ProtocolVersion>) {
        self.hint = hint;
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
                received: u64::from(tail.header.header_len) + tail.received(),
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
