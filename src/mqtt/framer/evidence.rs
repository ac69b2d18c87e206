//! Evidence against a streamed PUBLISH's length, from the peer.
//!
//! A PUBLISH split across slices is streamed on the strength of its
//! header ([`super::publish`]): nothing in the bytes of one direction can
//! show that its remaining length is false, and a false one (up to
//! 268,435,455) swallows the rest of the connection as payload. The other
//! direction can show it. While a direction streams a PUBLISH, its peer
//! can only be answering packets that direction sent earlier — so when the
//! peer answers packet id `n` with PUBACK or PUBREC, and a PUBLISH of the
//! matching QoS with id `n` lies *inside* the bytes claimed as payload
//! (or, for PUBREL and PUBCOMP, a PUBREC or PUBREL with id `n`), the
//! peer received that packet as a packet: the claimed length ran past a
//! packet boundary, at that packet's first byte.
//!
//! To act on it the bytes are needed, so the payload of a streamed
//! PUBLISH is kept (besides being hashed) up to [`WINDOW`] bytes, bounded
//! by the packet buffer limit too ([`super::boundary::Framer::keep_limit`]),
//! until the evidence can no longer come: the window is full, a gap falls
//! in it, or [`ANSWERS`] packets of the peer were examined. Then the
//! PUBLISH is trusted as before.
//!
//! Nothing is guessed: a candidate must
//!
//! * be the packet the peer's one answers: PUBLISH at QoS 1 for PUBACK, at
//!   QoS 2 for PUBREC, PUBREC for PUBREL, PUBREL for PUBCOMP, with that
//!   packet id;
//! * be a plausible boundary by the scan's own rules
//!   ([`crate::mqtt::resync::check`]: complete, decoding with no
//!   violation, what follows not implausible);
//! * and the bytes from it to the end of what arrived must frame as
//!   packets that decode cleanly (the last one may be incomplete, if
//!   viable) — real traffic after a false length does, a payload that
//!   merely contains such bytes would have to end exactly there.
//!
//! The PUBLISH is then reported ([`Unit::Disproved`]) at the frame that
//! completed its prefix, naming the offset of the answered packet, and its
//! bytes from the second one are scanned again with a *fence* at that
//! offset ([`super::scan::Piece::Fence`]): what lies before it is framed as
//! a closed segment, and framing resumes at the fence, so the packets
//! after it are decoded at the frames they came in.

use super::boundary::{Framer, State};
use super::scan::Piece;
use super::{Sink, Unit};
use crate::mqtt::header::{PacketType, ProtocolVersion};
use crate::mqtt::parse::parse_fixed_header;
use crate::mqtt::resync::{self, Candidate, Params};

/// Most bytes of a streamed PUBLISH kept as evidence may need them.
pub(super) const WINDOW: usize = 64 * 1024;

/// Packets of the peer examined per streamed PUBLISH. Each costs a pass
/// over the kept bytes, so this bounds the work per PUBLISH; while one
/// direction streams a PUBLISH the other can only be answering packets
/// sent before it, so a real connection rarely has this many.
pub(super) const ANSWERS: u8 = 32;

/// Candidates (right type and packet id) fully checked per answer.
const CANDIDATES: usize = 8;

/// The packet of this direction that `answer` from the peer answers: its
/// type and, for a PUBLISH, its QoS.
fn request_of(answer: PacketType) -> Option<(PacketType, Option<u8>)> {
    match answer {
        PacketType::Puback => Some((PacketType::Publish, Some(1))),
        PacketType::Pubrec => Some((PacketType::Publish, Some(2))),
        PacketType::Pubrel => Some((PacketType::Pubrec, None)),
        PacketType::Pubcomp => Some((PacketType::Pubrel, None)),
        _ => None,
    }
}

/// The packet id of a packet of type `request` at the start of `s`, read
/// without decoding it: where a PUBLISH (after its topic) or a PUBREC /
/// PUBREL (first) has it, in every version.
fn id_at(s: &[u8], request: PacketType) -> Option<u16> {
    let h = parse_fixed_header(s).ok()?;
    let body = s.get(usize::from(h.header_len)..)?;
    let at = if request == PacketType::Publish {
        let topic = u16::from_be_bytes([*body.first()?, *body.get(1)?]);
        2 + usize::from(topic)
    } else {
        0
    };
    Some(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]))
}

/// Whether `s` frames as packets that decode cleanly up to its end, the
/// last one possibly incomplete but viable.
fn frames_to_end(s: &[u8], p: &Params) -> bool {
    let mut rest = s;
    // Each round consumes a whole packet (at least 2 bytes).
    while !rest.is_empty() {
        match resync::check(rest, p) {
            Candidate::Accept | Candidate::AcceptOne => {
                let Ok(h) = parse_fixed_header(rest) else {
                    return false;
                };
                rest = rest.get(h.total_len()..).unwrap_or_default();
            }
            Candidate::NeedMore => return true,
            // A PUBLISH too large for the window, cut by the end: its
            // header is judged as far as it goes.
            Candidate::Reject => {
                let unbounded = Params {
                    window: usize::MAX,
                    ..*p
                };
                return parse_fixed_header(rest).is_ok_and(|h| {
                    h.packet_type == PacketType::Publish
                        && h.total_len() > rest.len()
                        && resync::check(rest, &unbounded) == Candidate::NeedMore
                });
            }
        }
    }
    true
}

/// Where in `bytes`, from offset `from` on, the packet starts that the
/// peer's `answer` with packet id `id` answers (module docs for what
/// counts); `window` is the scan window of the plausibility rules.
pub(super) fn answered_at(
    bytes: &[u8],
    from: usize,
    answer: PacketType,
    id: u16,
    hint: Option<ProtocolVersion>,
    window: usize,
) -> Option<usize> {
    let (request, qos) = request_of(answer)?;
    let params = Params {
        hint,
        window,
        lenient: false,
    };
    let mut tried = 0;
    for (q, &first) in bytes.iter().enumerate().skip(from) {
        let type_ok = PacketType::from_code(first >> 4) == Some(request)
            && qos.is_none_or(|qos| (first >> 1) & 3 == qos)
            && resync::plausible_first_byte(first, hint);
        if !type_ok {
            continue;
        }
        let at_q = bytes.get(q..).unwrap_or_default();
        if id_at(at_q, request) != Some(id) {
            continue;
        }
        tried += 1;
        if tried > CANDIDATES {
            return None;
        }
        let boundary = matches!(
            resync::check(at_q, &params),
            Candidate::Accept | Candidate::AcceptOne
        );
        if boundary && frames_to_end(at_q, &params) {
            return Some(q);
        }
    }
    None
}

impl Framer {
    /// Whether a streamed PUBLISH's payload is being kept, so that the
    /// peer's packets may be evidence against its length.
    pub fn awaits_evidence(&self) -> bool {
        matches!(&self.state, State::PublishTail(t) if t.kept && t.answers_left > 0)
    }

    /// The peer sent `answer` (PUBACK, PUBREC, PUBREL or PUBCOMP) for
    /// packet id `id`. If this direction is streaming a PUBLISH whose kept
    /// payload holds the packet it answers, the PUBLISH's length was false:
    /// it is reported as disproved and its bytes framed again (module
    /// docs), through `sink`. Returns whether that happened.
    pub fn answered(&mut self, answer: PacketType, id: u16, sink: &mut Sink<'_>) -> bool {
        let hint = self.hint;
        let window = self.cfg.window;
        let State::PublishTail(tail) = &mut self.state else {
            return false;
        };
        if !tail.kept || tail.answers_left == 0 {
            return false;
        }
        tail.answers_left -= 1;
        let (header, prefix_len) = (tail.header, tail.prefix_len);
        let from = usize::from(header.header_len);
        let found = answered_at(self.held.bytes(), from, answer, id, hint, window);
        let Some(offset) = found else {
            if tail.answers_left == 0 {
                self.stop_keeping();
            }
            return false;
        };
        self.disprove(header, prefix_len, offset, answer, sink);
        true
    }

    /// Reports the PUBLISH whose length ran past `offset`, and frames its
    /// bytes again: from the second one up to `offset` as a closed segment,
    /// then from `offset` at a packet boundary.
    fn disprove(
        &mut self,
        header: crate::mqtt::header::FixedHeader,
        prefix_len: usize,
        offset: usize,
        answer: PacketType,
        sink: &mut Sink<'_>,
    ) {
        let bytes = self.held.take();
        self.unscanned = false;
        self.probation = None;
        // Where it was judged to be a PUBLISH to stream: the frame that
        // completed its prefix (rule 3 of the framer's frame rules).
        let judged = bytes.frame_at(prefix_len.saturating_sub(1), self.at);
        self.emit_at(
            sink,
            Unit::Disproved {
                header,
                offset,
                answer,
                start_frame: self.start_frame,
            },
            judged,
        );
        let mut pieces: Vec<Piece> = bytes
            .pieces_between(1, offset, self.at)
            .into_iter()
            .map(|(b, at)| Piece::Bytes(b, at))
            .collect();
        pieces.push(Piece::Fence(bytes.frame_at(offset, self.at)));
        pieces.extend(
            bytes
                .pieces_from(offset, self.at)
                .into_iter()
                .map(|(b, at)| Piece::Bytes(b, at)),
        );
        self.replay.put_pieces_first(pieces);
        self.state = State::Resync(super::scan::Scan::new(super::ResyncCause::Malformed));
        self.drain_replay(sink);
    }
}

#[cfg(test)]
mod tests {
    use super::super::FramerConfig;
    use super::super::boundary::Limit;
    use super::super::test_support::{Out, PINGREQ, Rig, packet, pkt};
    use super::*;
    use crate::mqtt::parse::Layout;
    use xxhash_rust::xxh3::xxh3_64;

    const V311: Option<ProtocolVersion> = Some(ProtocolVersion::V311);
    const V5: Option<ProtocolVersion> = Some(ProtocolVersion::V5);
    const MAX: u32 = 268_435_455;

    fn cfg(max_buffer: usize) -> FramerConfig {
        FramerConfig {
            preview: 16,
            max_buffer,
            window: max_buffer,
        }
    }

    fn new_rig(version: Option<ProtocolVersion>, max_buffer: usize) -> Rig {
        let mut rig = Rig::new(cfg(max_buffer), false);
        rig.version = version;
        rig
    }

    /// A 3.1.1 PUBLISH at QoS 0 declaring the largest remaining length,
    /// topic "huge/len", then `junk`: the hostile test's giant, in small.
    fn giant(junk: &[u8]) -> Vec<u8> {
        let mut g = vec![0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x08];
        g.extend_from_slice(b"huge/len");
        g.extend_from_slice(junk);
        g
    }

    fn resync(skipped: u64) -> Out {
        Out::Resync {
            skipped,
            cause: super::super::ResyncCause::Malformed,
            resumed: true,
        }
    }

    fn disproved(g: &[u8], answer: PacketType) -> Out {
        Out::Disproved {
            length: MAX,
            offset: g.len(),
            answer,
            start: 1,
        }
    }

    #[test]
    fn a_giant_publish_the_peer_disproves_gives_back_the_packets_inside() {
        let g = giant(&[0x5a; 200]);
        let p: Vec<Vec<u8>> = (1..=3)
            .map(|id| publish_q1("after/huge", id, b"payload"))
            .collect();
        let mut rig = new_rig(V311, 1 << 20);
        rig.data(1, &g);
        for (frame, publish) in (2..).zip(&p) {
            rig.data(frame, publish);
        }
        assert!(rig.seen.is_empty(), "streamed: {:?}", rig.seen);
        // The peer acknowledges the first PUBLISH inside the claimed payload.
        assert!(rig.answer(PacketType::Puback, 1));
        assert_eq!(
            rig.seen,
            [
                // At its own frame, with the offset where it really ended.
                (disproved(&g, PacketType::Puback), 1),
                // Its bytes after the first: nothing in them.
                (resync(g.len() as u64 - 1), 2),
                // Each PUBLISH at the frame it came in, in order.
                (packet(&p[0], 2), 2),
                (packet(&p[1], 3), 3),
                (packet(&p[2], 4), 4),
            ]
        );
        // Framing goes on at a boundary; the other acks are nothing to it.
        assert!(!rig.answer(PacketType::Puback, 2));
        assert!(!rig.answer(PacketType::Puback, 3));
        rig.data(5, &PINGREQ);
        rig.close(6);
        assert_eq!(rig.seen.len(), 6);
        assert_eq!(rig.seen.last(), Some(&(packet(&PINGREQ, 5), 5)));
        assert_eq!(rig.framer.buffered(), 0);
    }

    #[test]
    fn a_packet_that_runs_past_the_proven_boundary_is_cut_there() {
        // Inside the giant: two PINGREQs (a boundary the scan confirms),
        // then a SUBSCRIBE whose length (32) runs past the PUBLISH the peer
        // acknowledges. The SUBSCRIBE is no packet: its bytes are passed
        // over up to the proven boundary, and the PUBLISH still decodes.
        let junk = [
            0xc0, 0x00, 0xc0, 0x00, 0x82, 0x20, 0x00, 0x05, 0x00, 0x03, b'a', b'/', b'b', 0x01,
        ];
        // Enough before them for the prefix to be complete in frame 1.
        let g = giant(&[&[0x5a; 20][..], &junk].concat());
        let p = publish_q1("after/huge", 9, b"payload");
        let mut rig = new_rig(V311, 1 << 20);
        rig.data(1, &g);
        rig.data(2, &p);
        assert!(rig.answer(PacketType::Puback, 9));
        assert_eq!(
            rig.seen,
            [
                (disproved(&g, PacketType::Puback), 1),
                // The fixed header's length bytes, the topic, the padding.
                (resync(4 + 2 + 8 + 20), 1),
                (packet(&PINGREQ, 1), 1),
                (packet(&PINGREQ, 1), 1),
                (Out::HeaderMalformed { start: 1 }, 1),
                (resync(9), 2),
                (packet(&p, 2), 2),
            ]
        );
    }

    #[test]
    fn without_evidence_the_giant_streams_as_before_and_is_truncated_at_the_close() {
        let g = giant(&[0x5a; 200]);
        let p: Vec<Vec<u8>> = (1..=3)
            .map(|id| publish_q1("after/huge", id, b"payload"))
            .collect();
        let mut rig = new_rig(V311, 1 << 20);
        rig.data(1, &g);
        for (frame, publish) in (2..).zip(&p) {
            rig.data(frame, publish);
        }
        // Answers for ids that are nowhere inside it.
        assert!(!rig.answer(PacketType::Puback, 4));
        assert!(!rig.answer(PacketType::Pubrec, 1));
        rig.close(5);
        let received = (g.len() + p.iter().map(Vec::len).sum::<usize>()) as u64;
        assert_eq!(
            rig.seen,
            [(
                Out::Truncated {
                    packet_type: Some(PacketType::Publish),
                    length: Some(MAX),
                    received,
                    start: 1
                },
                5
            )]
        );
    }

    /// A 5.0 PUBLISH at QoS 0, topic "t", no properties, `n` zero bytes of payload.
    fn publish5(n: usize) -> Vec<u8> {
        let mut body = vec![0x00, 0x01, b't', 0x00];
        body.extend(std::iter::repeat_n(0, n));
        pkt(0x30, &body)
    }

    #[test]
    fn a_publish_over_the_receivers_maximum_packet_size_is_not_streamed() {
        let big = publish5(296);
        assert_eq!(big.len(), 303);
        let limit = |since| Some(Limit { size: 100, since });
        let mut rig = new_rig(V5, 1 << 20);
        rig.framer.set_limit(limit(0));
        rig.data(1, &big[..50]);
        rig.data(2, &[&big[50..], &PINGREQ[..]].concat());
        assert_eq!(
            rig.seen,
            [
                (
                    Out::TooLarge {
                        length: 300,
                        limit: 100,
                        start: 1
                    },
                    1
                ),
                // Its length is not trusted: its bytes are scanned from the
                // second one (zeros: no packet), and the PINGREQ found.
                (resync(big.len() as u64 - 1), 2),
                (packet(&PINGREQ, 2), 2),
            ]
        );
        // Whole in its slice, it is the consumer's to judge.
        let mut rig = new_rig(V5, 1 << 20);
        rig.framer.set_limit(limit(0));
        rig.data(1, &big);
        assert_eq!(rig.seen, [(packet(&big, 1), 1)]);
        // Started before the limit was announced: streamed as usual.
        let mut rig = new_rig(V5, 1 << 20);
        rig.framer.set_limit(limit(1));
        rig.data(1, &big[..50]);
        rig.data(2, &big[50..]);
        assert!(
            matches!(rig.seen.as_slice(), [(Out::Streamed { start: 1, .. }, 2)]),
            "{:?}",
            rig.seen
        );
        // An oversized packet of another type is not skipped by its length either.
        let mut subscribe = vec![0x82, 0xb0, 0x09, 0x00, 0x01, 0x00, 0x00, 0x01, b'a', 0x00];
        subscribe.extend(std::iter::repeat_n(0, 60));
        let mut rig = new_rig(V5, 64);
        rig.framer.set_limit(limit(0));
        rig.data(1, &[&subscribe[..], &PINGREQ].concat());
        assert_eq!(
            rig.seen[0],
            (
                Out::TooLarge {
                    length: 1200,
                    limit: 100,
                    start: 1
                },
                1
            )
        );
        assert_eq!(rig.seen.last(), Some(&(packet(&PINGREQ, 1), 1)));
    }

    #[test]
    fn a_real_large_publish_with_answers_for_other_packets_is_one_streamed_publish() {
        // 100 kB of payload, holding a copy of a PUBLISH with id 5 that
        // more payload follows; split into 1460-byte segments, while the
        // peer answers ids 5, 6 and 7 (packets sent before it).
        let inner = publish_q1("a/b", 5, b"inside");
        let mut pay: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        pay.splice(1000..1000, inner.iter().copied());
        let mut body = vec![0x00, 0x03, b'a', b'/', b'b'];
        body.extend_from_slice(&pay);
        let big = pkt(0x30, &body);
        let mut rig = new_rig(V311, 1 << 20);
        let mut most = 0;
        for (n, chunk) in big.chunks(1460).enumerate() {
            rig.data(n as u64 + 1, chunk);
            for (after, id) in [(3, 5), (10, 6), (20, 7)] {
                if n == after {
                    assert!(!rig.answer(PacketType::Puback, id), "id {id}");
                }
            }
            most = most.max(rig.framer.buffered());
        }
        let frames = big.len().div_ceil(1460) as u64;
        rig.data(frames + 1, &PINGREQ);
        rig.close(frames + 2);
        let hl = 4;
        assert_eq!(
            rig.seen,
            [
                (
                    Out::Streamed {
                        prefix: big[..hl + 5 + 16].to_vec(),
                        digests: vec![(Layout::NoProperties, xxh3_64(&pay))],
                        missing: 0,
                        start: 1
                    },
                    frames
                ),
                (packet(&PINGREQ, frames + 1), frames + 1),
            ]
        );
        // The kept payload stayed within the window.
        assert!(most <= WINDOW, "{most}");
    }

    #[test]
    fn evidence_stops_being_kept_at_the_window_a_gap_or_the_budget() {
        let g = giant(&[0x5a; 200]);
        let p = publish_q1("after/huge", 1, b"payload");
        // The window: 64 bytes of packet buffer, all of it the prefix.
        let mut rig = new_rig(V311, 64);
        rig.data(1, &g);
        rig.data(2, &p);
        assert!(!rig.framer.awaits_evidence());
        assert!(!rig.answer(PacketType::Puback, 1));
        // A gap inside the payload.
        let mut rig = new_rig(V311, 1 << 20);
        rig.data(1, &g);
        rig.gap(2, 10);
        rig.data(3, &p);
        assert!(!rig.answer(PacketType::Puback, 1));
        // The budget of answers examined.
        let mut rig = new_rig(V311, 1 << 20);
        rig.data(1, &g);
        for _ in 0..ANSWERS {
            assert!(!rig.answer(PacketType::Puback, 77));
        }
        assert!(!rig.framer.awaits_evidence());
        rig.data(2, &p);
        assert!(!rig.answer(PacketType::Puback, 1));
        assert!(rig.framer.buffered() < 64, "{}", rig.framer.buffered());
    }

    fn publish_q1(topic: &str, id: u16, payload: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
        body.extend_from_slice(topic.as_bytes());
        body.extend_from_slice(&id.to_be_bytes());
        body.extend_from_slice(payload);
        pkt(0x32, &body)
    }

    fn find(bytes: &[u8], answer: PacketType, id: u16) -> Option<usize> {
        answered_at(bytes, 0, answer, id, V311, 4096)
    }

    #[test]
    fn an_answered_packet_is_found_where_it_starts() {
        let p = publish_q1("a/b", 7, b"xyz");
        let bytes = [&b"junk"[..], &p].concat();
        assert_eq!(find(&bytes, PacketType::Puback, 7), Some(4));
        // Another id, another QoS, another kind of answer: nothing.
        assert_eq!(find(&bytes, PacketType::Puback, 8), None);
        assert_eq!(find(&bytes, PacketType::Pubrec, 7), None);
        assert_eq!(find(&bytes, PacketType::Pubcomp, 7), None);
        // PUBREC answered by PUBREL, PUBREL by PUBCOMP.
        let pubrec = [0x50, 0x02, 0x00, 0x09];
        let pubrel = [0x62, 0x02, 0x00, 0x09];
        assert_eq!(
            find(&[&b"zz"[..], &pubrec].concat(), PacketType::Pubrel, 9),
            Some(2)
        );
        assert_eq!(
            find(&[&b"z"[..], &pubrel].concat(), PacketType::Pubcomp, 9),
            Some(1)
        );
        // Other answers are not evidence here.
        assert_eq!(find(&bytes, PacketType::Suback, 7), None);
    }

    #[test]
    fn what_follows_must_frame_to_the_end() {
        let p = publish_q1("a/b", 7, b"xyz");
        let q = publish_q1("a/b", 8, b"xyz");
        let good = [&p[..], &q, &q[..5]].concat();
        assert_eq!(find(&good, PacketType::Puback, 7), Some(0));
        // Bytes that are no packet after it: a payload that happens to
        // contain the packet, not traffic after a false length.
        let bad = [&p[..], &q, &[0x00, 0x00, 0x00]].concat();
        assert_eq!(find(&bad, PacketType::Puback, 7), None);
        // A large PUBLISH cut by the end of what arrived is fine.
        let mut big = vec![0x30, 0xa0, 0x8d, 0x06, 0x00, 0x03, b'a', b'/', b'b'];
        big.extend_from_slice(b"payload");
        let with_big = [&p[..], &big].concat();
        assert_eq!(find(&with_big, PacketType::Puback, 7), Some(0));
    }

    #[test]
    fn a_candidate_must_be_a_clean_boundary() {
        // The right id, but the topic holds a wildcard (a violation).
        let p = publish_q1("a/#", 7, b"xyz");
        assert_eq!(find(&p, PacketType::Puback, 7), None);
        // Cut short: not a packet the peer could have received yet.
        let p = publish_q1("a/b", 7, b"xyz");
        assert_eq!(find(&p[..p.len() - 1], PacketType::Puback, 7), None);
    }
}
