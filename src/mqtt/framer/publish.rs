//! The streamed PUBLISH: a PUBLISH split across slices is never buffered
//! whole.
//!
//! Its payload can be as large as the remaining length allows (256 MiB), so
//! only its fixed header, variable header and payload preview are kept
//! ([`Head`]); the rest of the payload streams through an xxh3 hasher
//! ([`Tail`]) and the consumer gets the prefix and the digest. Bytes
//! missing inside the payload are counted rather than losing the packet.
//!
//! While no evidence has settled it, the payload is also kept, up to a
//! bounded window ([`super::evidence`]): if the peer acknowledges a packet
//! whose bytes lie inside the claimed payload, the length was false and
//! those bytes are framed again. Once the window is full, a gap falls in
//! it, or the peer's packets examined reach their budget, the PUBLISH is
//! trusted as before and only its prefix is kept.
//!
//! While the protocol version is not fixed by a CONNECT, the variable
//! header is measured both without (3.x) and with (5.0) properties: the
//! two readings put the payload's start at different offsets, so one
//! digest is kept per reading and the consumer picks the one of the
//! version it decodes the packet as.

use super::boundary::{Framer, State};
use super::scan::Scan;
use super::{FramerConfig, ResyncCause, Sink, Unit};
use crate::mqtt::header::{FixedHeader, ProtocolVersion};
use crate::mqtt::parse::{HeadLen, Layout, decode_streamed_publish, publish_head_len};
use crate::mqtt::resync;
use xxhash_rust::xxh3::Xxh3;

/// The payload hash of a streamed PUBLISH under one reading of its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Digest {
    pub layout: Layout,
    pub hash: u64,
}

/// The two readings of a PUBLISH variable header, in this order everywhere.
const LAYOUTS: [Layout; 2] = [Layout::NoProperties, Layout::WithProperties];

/// One reading (3.x / 5.0) of a PUBLISH variable header being measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Not tried: the known version rules it out.
    Unused,
    /// More bytes are needed to measure it.
    Pending,
    /// The variable header is this many body bytes.
    Known(usize),
    /// Its lengths do not fit in the packet.
    Invalid,
    /// Its variable header is larger than the buffer limit.
    TooBig,
}

/// A PUBLISH whose fixed header, variable header and payload preview are
/// being collected, with one reading of its variable header per layout.
#[derive(Debug, Clone, Copy)]
pub(super) struct Head {
    pub header: FixedHeader,
    readings: [Reading; 2],
}

/// What to do next with a PUBLISH being collected ([`Head::next`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HeadStep {
    /// Collect the packet's bytes up to this many (fixed header included),
    /// then look again.
    Collect(usize),
    /// The whole packet is held: frame it as a whole packet.
    Whole,
    /// Headers and preview are held and decode: stream the rest.
    Stream,
    /// No reading is plausible or decodes: its length is not to be trusted.
    Reject,
    /// The only readings that fit are larger than the buffer limit: skip
    /// the packet by its length.
    Oversized,
}

impl Head {
    /// Starts measuring `header`'s variable header under every reading the
    /// known version (if any) allows.
    pub fn new(header: FixedHeader, hint: Option<ProtocolVersion>) -> Head {
        let mut readings = [Reading::Unused; 2];
        for (r, layout) in readings.iter_mut().zip(LAYOUTS) {
            if hint.is_none_or(|v| Layout::of(v) == layout) {
                *r = Reading::Pending;
            }
        }
        Head { header, readings }
    }

    fn pending(&self) -> bool {
        self.readings.contains(&Reading::Pending)
    }

    /// The longest variable header one of the readings has settled on.
    fn longest_known(&self) -> Option<usize> {
        self.readings
            .iter()
            .filter_map(|r| match r {
                Reading::Known(n) => Some(*n),
                _ => None,
            })
            .max()
    }

    /// Judges the packet's first bytes `held` (fixed header included):
    /// while a reading is pending they must stay plausible; once all are
    /// settled, the headers and `preview` bytes of payload are collected
    /// and must decode under some reading.
    pub fn next(
        &mut self,
        held: &[u8],
        hint: Option<ProtocolVersion>,
        cfg: &FramerConfig,
    ) -> HeadStep {
        let header = self.header;
        let hl = usize::from(header.header_len);
        let total = header.total_len();
        let body = held.get(hl..).unwrap_or_default();
        if self.pending() {
            let params = resync::Params {
                hint,
                window: cfg.max_buffer,
                lenient: true,
            };
            if !resync::viable(header, body, &params) {
                return HeadStep::Reject;
            }
        }
        let target = match self.measure(body, cfg.max_buffer) {
            Some(want) => want,
            None => match self.longest_known() {
                Some(head) => total.min(hl.saturating_add(head).saturating_add(cfg.preview)),
                None if self.readings.contains(&Reading::TooBig) => return HeadStep::Oversized,
                None => return HeadStep::Reject,
            },
        };
        if held.len() >= target && !self.pending() {
            if held.len() >= total {
                return HeadStep::Whole;
            }
            if !self.decodes(held, hint) {
                return HeadStep::Reject;
            }
            return HeadStep::Stream;
        }
        HeadStep::Collect(target)
    }

    /// Updates the pending readings from the body bytes at hand; returns
    /// how many packet bytes to collect next, or `None` when every reading
    /// is settled.
    fn measure(&mut self, body: &[u8], max_buffer: usize) -> Option<usize> {
        let hl = usize::from(self.header.header_len);
        let body_len = self.header.length as usize;
        let mut want: Option<usize> = None;
        for (r, layout) in self.readings.iter_mut().zip(LAYOUTS) {
            if *r != Reading::Pending {
                continue;
            }
            match publish_head_len(body, self.header.flags, layout, body_len) {
                HeadLen::Need(n) if n > max_buffer => *r = Reading::TooBig,
                HeadLen::Need(n) => want = Some(want.map_or(hl + n, |w: usize| w.min(hl + n))),
                HeadLen::Known(n) if n > max_buffer => *r = Reading::TooBig,
                HeadLen::Known(n) => *r = Reading::Known(n),
                HeadLen::Invalid => *r = Reading::Invalid,
            }
        }
        want
    }

    /// Whether some settled reading of the held header decodes.
    fn decodes(&self, held: &[u8], hint: Option<ProtocolVersion>) -> bool {
        let hl = usize::from(self.header.header_len);
        self.readings.iter().zip(LAYOUTS).any(|(r, layout)| {
            let Reading::Known(head) = *r else {
                return false;
            };
            let version = match (layout, hint) {
                (Layout::WithProperties, _) => ProtocolVersion::V5,
                (Layout::NoProperties, Some(v)) if !v.is_v5() => v,
                (Layout::NoProperties, _) => ProtocolVersion::V311,
            };
            let head_bytes = held.get(hl..hl + head).unwrap_or_default();
            decode_streamed_publish(self.header, head_bytes, version, 0, 0, 0).is_ok()
        })
    }

    /// Whether bytes missing after the `held_len` bytes held would fall in
    /// the payload: every reading is settled and the longest variable
    /// header is held (only the preview was incomplete).
    pub fn payload_reached(&self, held_len: usize) -> bool {
        let hl = usize::from(self.header.header_len);
        match self.longest_known() {
            Some(head) => !self.pending() && held_len >= hl + head,
            None => false,
        }
    }

    /// Streams the rest of the payload: one hasher per settled reading,
    /// each starting with what of its payload is already held.
    pub fn stream(&self, held: &[u8]) -> Tail {
        let hl = usize::from(self.header.header_len);
        let mut streams = Vec::with_capacity(2);
        for (r, layout) in self.readings.iter().zip(LAYOUTS) {
            if let Reading::Known(head) = *r {
                let mut hasher = Xxh3::new();
                hasher.update(held.get(hl + head..).unwrap_or_default());
                streams.push(Stream { layout, hasher });
            }
        }
        Tail {
            header: self.header,
            streams,
            received: held.len().saturating_sub(hl) as u64,
            missing: 0,
            prefix_len: held.len(),
            kept: true,
            answers_left: super::evidence::ANSWERS,
        }
    }
}

/// The payload hash under one reading.
struct Stream {
    layout: Layout,
    hasher: Xxh3,
}

/// The rest of a PUBLISH payload, streaming through one hasher per reading.
pub(super) struct Tail {
    pub header: FixedHeader,
    streams: Vec<Stream>,
    /// Body bytes accounted for (received or missing).
    received: u64,
    /// Payload bytes missing from the capture.
    missing: u64,
    /// How many bytes of `held` are the prefix handed out with the packet.
    pub prefix_len: usize,
    /// The payload after the prefix is kept in `held` too, as evidence
    /// against the length may still come (module docs).
    pub kept: bool,
    /// Packets of the peer that may still be examined as evidence.
    pub answers_left: u8,
}

impl Tail {
    fn remaining(&self) -> u64 {
        u64::from(self.header.length).saturating_sub(self.received)
    }

    /// Hashes the bytes at the front of `data` that belong to this packet;
    /// returns how many that is.
    pub fn feed(&mut self, data: &[u8]) -> usize {
        let take = usize::try_from(self.remaining())
            .unwrap_or(usize::MAX)
            .min(data.len());
        let bytes = data.get(..take).unwrap_or_default();
        for s in self.streams.iter_mut() {
            s.hasher.update(bytes);
        }
        self.received += take as u64;
        take
    }

    /// `gap` bytes are missing: those inside the payload are counted as
    /// missing; returns whether the gap goes on past the packet's end.
    pub fn gap(&mut self, gap: u64) -> bool {
        let remaining = self.remaining();
        let absorbed = gap.min(remaining);
        self.received += absorbed;
        self.missing += absorbed;
        gap > remaining
    }

    /// Body bytes missing from the capture so far.
    pub fn missing(&self) -> u64 {
        self.missing
    }

    /// Whether every body byte was received or counted as missing.
    pub fn is_complete(&self) -> bool {
        self.received >= u64::from(self.header.length)
    }

    /// Body bytes accounted for so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The digests, one per reading: the first `n` of the array.
    fn digests(&self) -> ([Digest; 2], usize) {
        let mut digests = [Digest {
            layout: Layout::NoProperties,
            hash: 0,
        }; 2];
        for (d, s) in digests.iter_mut().zip(&self.streams) {
            *d = Digest {
                layout: s.layout,
                hash: s.hasher.digest(),
            };
        }
        (digests, self.streams.len())
    }
}

/// The framer's transitions for a PUBLISH that does not fit in the slice.
impl Framer {
    /// Starts collecting a PUBLISH whose header passed the plausibility checks.
    pub(super) fn begin_publish(&mut self, header: FixedHeader) {
        self.state = State::PublishHead(Head::new(header, self.hint));
    }

    /// Collects a PUBLISH's headers and preview from `data`; returns what
    /// of `data` is not used.
    pub(super) fn publish_head<'d>(&mut self, mut data: &'d [u8], sink: &mut Sink<'_>) -> &'d [u8] {
        let State::PublishHead(mut head) = self.state else {
            return data;
        };
        let header = head.header;
        loop {
            match head.next(self.held.bytes(), self.hint, &self.cfg) {
                HeadStep::Collect(target) => {
                    if data.is_empty() {
                        self.state = State::PublishHead(head);
                        return data;
                    }
                    let take = target.saturating_sub(self.held.len()).min(data.len());
                    let (now, rest) = data.split_at(take);
                    self.append(now);
                    data = rest;
                }
                HeadStep::Whole => {
                    self.state = State::Body { header };
                    return self.fill_body(header, data, sink);
                }
                HeadStep::Stream => {
                    if let Some(limit) = self.over_limit(header) {
                        self.too_large(header, limit, sink);
                        return data;
                    }
                    let mut tail = head.stream(self.held.bytes());
                    tail.kept = self.held.len() < self.keep_limit();
                    self.state = State::PublishTail(tail);
                    return data;
                }
                HeadStep::Reject => {
                    self.reject_publish(header, sink);
                    return data;
                }
                HeadStep::Oversized => {
                    if let Some(limit) = self.over_limit(header) {
                        self.too_large(header, limit, sink);
                        return data;
                    }
                    let remaining = header.total_len().saturating_sub(self.held.len()) as u64;
                    self.emit(
                        sink,
                        Unit::Oversized {
                            header,
                            start_frame: self.start_frame,
                        },
                    );
                    self.release_buffer();
                    self.state = State::Skip {
                        remaining,
                        then_resync: false,
                    };
                    return data;
                }
            }
        }
    }

    /// A PUBLISH header that does not decode, found before the end of the
    /// packet: the consumer reports it (from the prefix), and scanning
    /// resumes at the byte after its first byte, since its length cannot
    /// be trusted.
    fn reject_publish(&mut self, header: FixedHeader, sink: &mut Sink<'_>) {
        self.emit(
            sink,
            Unit::StreamedPublish {
                prefix: self.held.bytes(),
                header,
                digests: &[],
                missing: 0,
                start_frame: self.start_frame,
            },
        );
        self.rescan_buffer();
    }

    /// Hashes the payload bytes in `data`, and keeps them while the
    /// evidence window is open; returns what follows the packet.
    pub(super) fn publish_tail<'d>(&mut self, data: &'d [u8], sink: &mut Sink<'_>) -> &'d [u8] {
        let keep_limit = self.keep_limit();
        let State::PublishTail(tail) = &mut self.state else {
            return data;
        };
        let take = tail.feed(data);
        if tail.kept {
            let bytes = data.get(..take).unwrap_or_default();
            if self.held.len().saturating_add(take) <= keep_limit {
                self.held.append_capped(bytes, self.at, keep_limit);
            } else {
                // Past the window: no evidence can be acted on any more,
                // the length is trusted as it was before evidence existed
                // and only the prefix is kept.
                tail.kept = false;
                self.held.truncate(tail.prefix_len);
            }
        }
        if tail.is_complete() {
            self.finish_tail(sink);
        }
        data.get(take..).unwrap_or_default()
    }

    /// Stops keeping a streamed PUBLISH's payload: only its prefix stays.
    pub(super) fn stop_keeping(&mut self) {
        if let State::PublishTail(tail) = &mut self.state
            && tail.kept
        {
            tail.kept = false;
            self.held.truncate(tail.prefix_len);
        }
    }

    /// The receiver's Maximum Packet Size, if `header`'s packet (started
    /// after the limit was announced) is larger.
    pub(super) fn over_limit(&self, header: FixedHeader) -> Option<u32> {
        let limit = self.limit?;
        (self.start_frame > limit.since && header.total_len() > limit.size as usize)
            .then_some(limit.size)
    }

    /// A packet that is larger than the receiver allows and not wholly at
    /// hand: reported, and its bytes scanned again from the second one —
    /// its length is what the sender may not send, so it does not mark the
    /// next boundary.
    fn too_large(&mut self, header: FixedHeader, limit: u32, sink: &mut Sink<'_>) {
        self.emit(
            sink,
            Unit::TooLarge {
                header,
                limit,
                start_frame: self.start_frame,
            },
        );
        self.rescan_buffer();
    }

    /// A gap noticed while collecting a PUBLISH's headers and preview: if
    /// only the preview was incomplete, the gap falls in the payload, where
    /// it is counted (`true`); otherwise the caller loses the packet.
    pub(super) fn publish_head_gap(
        &mut self,
        head: Head,
        missing: u64,
        sink: &mut Sink<'_>,
    ) -> bool {
        if !head.payload_reached(self.held.len()) {
            return false;
        }
        self.state = State::PublishTail(head.stream(self.held.bytes()));
        self.tail_gap(missing, sink);
        true
    }

    /// `gap` bytes missing inside a streamed payload: counted, and the
    /// packet handed out if they reach its end; a gap that goes past the
    /// end leaves the next boundary unknown.
    pub(super) fn tail_gap(&mut self, gap: u64, sink: &mut Sink<'_>) {
        // A gap breaks the kept payload: what follows it cannot be
        // scanned together with what came before.
        self.stop_keeping();
        let State::PublishTail(tail) = &mut self.state else {
            return;
        };
        let beyond = tail.gap(gap);
        let complete = tail.is_complete();
        self.emit(
            sink,
            Unit::Gap {
                missing: gap,
                lost: None,
                resync: beyond,
            },
        );
        if complete {
            self.finish_tail(sink);
        }
        if beyond {
            self.state = State::Resync(Scan::new(ResyncCause::Gap));
        }
    }

    /// Hands out the streamed PUBLISH and returns to a boundary.
    fn finish_tail(&mut self, sink: &mut Sink<'_>) {
        let State::PublishTail(tail) = std::mem::replace(&mut self.state, State::Boundary) else {
            return;
        };
        let (digests, n) = tail.digests();
        let prefix = self.held.bytes();
        let verdict = self.emit(
            sink,
            Unit::StreamedPublish {
                prefix: prefix.get(..tail.prefix_len).unwrap_or(prefix),
                header: tail.header,
                digests: digests.get(..n).unwrap_or_default(),
                missing: tail.missing,
                start_frame: self.start_frame,
            },
        );
        self.release_buffer();
        self.after(verdict);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{Out, PINGREQ, Rig, packet, pkt, publish311};
    use super::*;
    use crate::mqtt::parse::parse_fixed_header;
    use xxhash_rust::xxh3::xxh3_64;

    const V311: Option<ProtocolVersion> = Some(ProtocolVersion::V311);
    const V5: Option<ProtocolVersion> = Some(ProtocolVersion::V5);

    fn cfg(preview: usize, max_buffer: usize) -> FramerConfig {
        FramerConfig {
            preview,
            max_buffer,
            window: max_buffer,
        }
    }

    /// Payload bytes 0, 1, 2, ...: a 5.0 reading sees property length 0.
    fn payload(n: usize) -> Vec<u8> {
        (0..n).map(|i| i as u8).collect()
    }

    fn header_of(bytes: &[u8]) -> FixedHeader {
        parse_fixed_header(bytes).expect("test packet has a fixed header")
    }

    /// Runs `head` the way the framer does, collecting exactly what it asks
    /// for from `bytes`; returns the steps and what was held at the end.
    fn collect(
        head: &mut Head,
        bytes: &[u8],
        hint: Option<ProtocolVersion>,
        cfg: &FramerConfig,
    ) -> (Vec<HeadStep>, usize) {
        let mut held = 0;
        let mut steps = Vec::new();
        loop {
            let step = head.next(&bytes[..held], hint, cfg);
            steps.push(step);
            match step {
                HeadStep::Collect(target) if target > held && held < bytes.len() => {
                    held = target.min(bytes.len());
                }
                _ => return (steps, held),
            }
        }
    }

    #[test]
    fn readings_follow_the_known_version() {
        let h = header_of(&publish311("a", b"x"));
        assert_eq!(Head::new(h, None).readings, [Reading::Pending; 2]);
        assert_eq!(
            Head::new(h, V311).readings,
            [Reading::Pending, Reading::Unused]
        );
        assert_eq!(
            Head::new(h, V5).readings,
            [Reading::Unused, Reading::Pending]
        );
    }

    #[test]
    fn head_collects_the_headers_then_the_preview() {
        // QoS 1 "a/b", packet id 7, 100 bytes of payload; 3.1.1.
        let mut body = vec![0, 3, b'a', b'/', b'b', 0, 7];
        body.extend(payload(100));
        let bytes = pkt(0x32, &body);
        let hl = 2;
        let mut head = Head::new(header_of(&bytes), V311);
        let (steps, held) = collect(&mut head, &bytes, V311, &cfg(4, 64));
        // The topic length first, then the variable header (7) and preview (4).
        assert_eq!(
            steps,
            [
                HeadStep::Collect(hl + 2),
                HeadStep::Collect(hl + 7 + 4),
                HeadStep::Stream
            ]
        );
        assert_eq!(held, hl + 11);
        assert_eq!(head.readings, [Reading::Known(7), Reading::Unused]);
        assert!(head.payload_reached(hl + 7));
        assert!(!head.payload_reached(hl + 6));
    }

    #[test]
    fn a_small_publish_held_whole_is_framed_as_a_packet() {
        let bytes = publish311("t", b"hello");
        let mut head = Head::new(header_of(&bytes), V311);
        let (steps, held) = collect(&mut head, &bytes, V311, &cfg(64, 64));
        assert_eq!(steps.last(), Some(&HeadStep::Whole));
        assert_eq!(held, bytes.len());
    }

    #[test]
    fn a_topic_that_turns_out_not_utf8_is_rejected() {
        // The topic length alone settles the 3.1.1 reading; the topic
        // itself is checked once the headers are held.
        let mut body = vec![0, 3, b'a', 0xff, b'b'];
        body.extend(payload(100));
        let bytes = pkt(0x30, &body);
        let mut head = Head::new(header_of(&bytes), V311);
        let (steps, _) = collect(&mut head, &bytes, V311, &cfg(4, 64));
        assert_eq!(steps.last(), Some(&HeadStep::Reject));
    }

    #[test]
    fn a_reading_that_only_fits_past_the_buffer_limit_is_oversized() {
        // The readings were chosen under 5.0 and the version is now 3.1.1
        // (a CONNECT seen meanwhile): the 3.1.1 reading keeps the packet
        // plausible, while the only reading measured, 5.0, has a property
        // block (100 bytes) larger than the limit (64). Only a change of
        // version while a PUBLISH is collected gets here: otherwise the
        // plausibility check rejects such a header first.
        let mut body = vec![0, 3, b'a', b'/', b'b', 100];
        body.extend(std::iter::repeat_n(0x23, 100));
        body.extend(payload(50));
        let bytes = pkt(0x30, &body);
        let hl = 3;
        let mut head = Head::new(header_of(&bytes), V5);
        assert_eq!(
            head.next(&bytes[..hl + 6], V311, &cfg(4, 64)),
            HeadStep::Oversized
        );
        assert_eq!(head.readings, [Reading::Unused, Reading::TooBig]);
        // Within the limit, the same reading is measured and collected.
        let mut head = Head::new(header_of(&bytes), V5);
        assert_eq!(
            head.next(&bytes[..hl + 6], V311, &cfg(4, 200)),
            HeadStep::Collect(hl + 106 + 4)
        );
    }

    #[test]
    fn with_no_known_version_each_reading_gets_its_digest() {
        let pay = payload(200);
        let bytes = publish311("a/b", &pay);
        let mut head = Head::new(header_of(&bytes), None);
        let config = cfg(4, 64);
        let (steps, held) = collect(&mut head, &bytes, None, &config);
        assert_eq!(steps.last(), Some(&HeadStep::Stream));
        // 3.x: the header is the topic (5); 5.0: plus a property length (0).
        assert_eq!(head.readings, [Reading::Known(5), Reading::Known(6)]);
        let hl = usize::from(head.header.header_len);
        assert_eq!(held, hl + 6 + 4);
        let mut tail = head.stream(&bytes[..held]);
        assert_eq!(tail.feed(&bytes[held..]), bytes.len() - held);
        assert!(tail.is_complete());
        let (digests, n) = tail.digests();
        assert_eq!(
            digests[..n],
            [
                Digest {
                    layout: Layout::NoProperties,
                    hash: xxh3_64(&pay)
                },
                Digest {
                    layout: Layout::WithProperties,
                    hash: xxh3_64(&pay[1..])
                }
            ]
        );
    }

    /// A tail for `bytes`, after its head was collected.
    fn tail_of(bytes: &[u8], config: &FramerConfig) -> (Tail, usize) {
        let mut head = Head::new(header_of(bytes), V311);
        let (steps, held) = collect(&mut head, bytes, V311, config);
        assert_eq!(steps.last(), Some(&HeadStep::Stream));
        (head.stream(&bytes[..held]), held)
    }

    #[test]
    fn the_tail_hash_does_not_depend_on_where_the_payload_is_cut() {
        let pay = payload(150);
        let bytes = publish311("a", &pay);
        let config = cfg(4, 32);
        for chunk in 1..=bytes.len() {
            let (mut tail, held) = tail_of(&bytes, &config);
            let mut rest = &bytes[held..];
            while !rest.is_empty() {
                let piece = &rest[..chunk.min(rest.len())];
                let took = tail.feed(piece);
                assert_eq!(took, piece.len());
                rest = &rest[took..];
            }
            assert!(tail.is_complete());
            let (digests, n) = tail.digests();
            assert_eq!(n, 1);
            assert_eq!(digests[0].hash, xxh3_64(&pay), "chunks of {chunk}");
        }
        // Bytes past the packet are not taken.
        let (mut tail, held) = tail_of(&bytes, &config);
        let more = [&bytes[held..], &PINGREQ[..]].concat();
        assert_eq!(tail.feed(&more), bytes.len() - held);
    }

    #[test]
    fn a_gap_in_the_tail_is_counted_up_to_the_packet_end() {
        let bytes = publish311("a", &payload(150));
        let config = cfg(4, 32);
        let (mut tail, held) = tail_of(&bytes, &config);
        let left = (bytes.len() - held) as u64;
        assert!(!tail.gap(10));
        assert!(!tail.is_complete());
        assert_eq!(tail.missing, 10);
        // Exactly to the end: complete, the next boundary known.
        assert!(!tail.gap(left - 10));
        assert!(tail.is_complete());
        assert_eq!(tail.missing, left);

        let (mut tail, _) = tail_of(&bytes, &config);
        // Past the end: complete, the next boundary lost.
        assert!(tail.gap(left + 1));
        assert!(tail.is_complete());
        assert_eq!(tail.missing, left);
        assert_eq!(tail.received(), u64::from(tail.header.length));
    }

    /// The units a 3.1.1 rig hands out for `slices` (frames 1, 2, ...).
    fn run311(config: FramerConfig, slices: &[&[u8]]) -> Vec<(Out, u64)> {
        let mut rig = Rig::new(config, false);
        rig.version = V311;
        for (i, s) in slices.iter().enumerate() {
            rig.data(i as u64 + 1, s);
        }
        rig.close(slices.len() as u64 + 1);
        rig.seen
    }

    #[test]
    fn a_publish_split_anywhere_is_streamed_with_one_prefix_and_hash() {
        let pay = payload(100);
        let bytes = publish311("a/b", &pay);
        let config = cfg(4, 32);
        let hl = 2;
        let streamed = |start| Out::Streamed {
            prefix: bytes[..hl + 5 + 4].to_vec(),
            digests: vec![(Layout::NoProperties, xxh3_64(&pay))],
            missing: 0,
            start,
        };
        for p in 1..bytes.len() {
            let second = [&bytes[p..], &PINGREQ[..]].concat();
            assert_eq!(
                run311(config, &[&bytes[..p], &second]),
                [(streamed(1), 2), (packet(&PINGREQ, 2), 2)],
                "split at {p}"
            );
            for q in p + 1..bytes.len() {
                let third = [&bytes[q..], &PINGREQ[..]].concat();
                assert_eq!(
                    run311(config, &[&bytes[..p], &bytes[p..q], &third]),
                    [(streamed(1), 3), (packet(&PINGREQ, 3), 3)],
                    "split at {p} and {q}"
                );
            }
        }
        // Whole in one slice: borrowed as a packet, however large.
        assert_eq!(run311(config, &[&bytes]), [(packet(&bytes, 1), 1)]);
    }

    #[test]
    fn a_gap_in_the_payload_is_counted_and_framing_goes_on() {
        let pay = payload(100);
        let bytes = publish311("a/b", &pay);
        let config = cfg(4, 32);
        let mut rig = Rig::new(config, false);
        rig.version = V311;
        rig.data(1, &bytes[..20]);
        rig.gap(2, 30);
        rig.data(3, &[&bytes[50..], &PINGREQ[..]].concat());
        rig.close(4);
        let received = [&bytes[7..20], &bytes[50..]].concat();
        assert_eq!(
            rig.seen,
            [
                (
                    Out::Gap {
                        missing: 30,
                        lost: None,
                        resync: false
                    },
                    2
                ),
                (
                    Out::Streamed {
                        prefix: bytes[..11].to_vec(),
                        digests: vec![(Layout::NoProperties, xxh3_64(&received))],
                        missing: 30,
                        start: 1
                    },
                    3
                ),
                (packet(&PINGREQ, 3), 3),
            ]
        );
    }

    #[test]
    fn a_gap_past_the_payload_end_completes_it_and_resyncs() {
        let pay = payload(100);
        let bytes = publish311("a/b", &pay);
        let mut rig = Rig::new(cfg(4, 32), false);
        rig.version = V311;
        rig.data(1, &bytes[..20]);
        let left = (bytes.len() - 20) as u64;
        rig.gap(2, left + 5);
        rig.data(3, &PINGREQ);
        rig.close(4);
        assert_eq!(
            rig.seen,
            [
                (
                    Out::Gap {
                        missing: left + 5,
                        lost: None,
                        resync: true
                    },
                    2
                ),
                (
                    Out::Streamed {
                        prefix: bytes[..11].to_vec(),
                        digests: vec![(Layout::NoProperties, xxh3_64(&bytes[7..20]))],
                        missing: left,
                        start: 1
                    },
                    2
                ),
                (
                    Out::Resync {
                        skipped: 0,
                        cause: ResyncCause::Gap,
                        resumed: true
                    },
                    3
                ),
                (packet(&PINGREQ, 3), 3),
            ]
        );
    }

    #[test]
    fn a_gap_in_the_preview_falls_in_the_payload() {
        let pay = payload(100);
        let bytes = publish311("a/b", &pay);
        let mut rig = Rig::new(cfg(8, 32), false);
        rig.version = V311;
        // Fixed header, topic, and 2 of the 8 preview bytes.
        rig.data(1, &bytes[..9]);
        rig.gap(2, 10);
        rig.data(3, &bytes[19..]);
        rig.close(4);
        let received = [&bytes[7..9], &bytes[19..]].concat();
        assert_eq!(
            rig.seen,
            [
                (
                    Out::Gap {
                        missing: 10,
                        lost: None,
                        resync: false
                    },
                    2
                ),
                (
                    Out::Streamed {
                        prefix: bytes[..9].to_vec(),
                        digests: vec![(Layout::NoProperties, xxh3_64(&received))],
                        missing: 10,
                        start: 1
                    },
                    3
                ),
            ]
        );
    }

    #[test]
    fn a_gap_in_the_variable_header_loses_the_publish() {
        let bytes = publish311("a/b", &payload(100));
        let mut rig = Rig::new(cfg(4, 32), false);
        rig.version = V311;
        rig.data(1, &bytes[..5]);
        rig.gap(2, 5);
        rig.data(3, &[&bytes[10..], &PINGREQ[..]].concat());
        rig.close(4);
        assert_eq!(
            rig.seen,
            [
                (
                    Out::Gap {
                        missing: 5,
                        lost: Some(crate::mqtt::header::PacketType::Publish),
                        resync: false
                    },
                    2
                ),
                (packet(&PINGREQ, 3), 3),
            ]
        );
    }

    #[test]
    fn a_publish_header_that_does_not_decode_is_handed_out_and_rescanned() {
        // Topic "a\xffb": only seen to be bad once the headers are in. Its
        // bytes are scanned again from the second one, and the PINGREQs
        // inside its claimed length are found.
        let mut body = vec![0, 3, b'a', 0xff, b'b'];
        body.extend_from_slice(&[0xc0, 0x00, 0xc0, 0x00]);
        body.extend(std::iter::repeat_n(0, 40));
        let bytes = pkt(0x30, &body);
        let seen = run311(cfg(4, 32), &[&bytes[..4], &bytes[4..]]);
        let resync = |skipped, resumed| Out::Resync {
            skipped,
            cause: ResyncCause::Malformed,
            resumed,
        };
        assert_eq!(
            seen,
            [
                (
                    Out::Streamed {
                        prefix: bytes[..11].to_vec(),
                        digests: vec![],
                        missing: 0,
                        start: 1
                    },
                    2
                ),
                // From its second byte: "1", 0, 3, "a", 0xff, "b" passed over.
                (resync(6, true), 2),
                (packet(&PINGREQ, 2), 2),
                (packet(&PINGREQ, 2), 2),
                // The zeros: no packet type, so no packet.
                (Out::HeaderMalformed { start: 2 }, 2),
                (resync(39, false), 3),
            ]
        );
    }
}
