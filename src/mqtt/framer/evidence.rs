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
    use super::*;

    const V311: Option<ProtocolVersion> = Some(ProtocolVersion::V311);

    fn publish_q1(topic: &str, id: u16, payload: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
        body.extend_from_slice(topic.as_bytes());
        body.extend_from_slice(&id.to_be_bytes());
        body.extend_from_slice(payload);
        super::super::test_support::pkt(0x32, &body)
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
