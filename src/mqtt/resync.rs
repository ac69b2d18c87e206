//! Finding the next packet boundary after bytes were lost (a TCP gap, a
//! connection picked up mid-stream) or did not decode.
//!
//! MQTT has no sync marker, so a boundary is a *plausibility* judgement on
//! the bytes at a position:
//!
//! 1. the first byte has a packet type that exists in the connection's
//!    version and the flag nibble the spec requires for it (PUBLISH: QoS
//!    not 3, no DUP at QoS 0);
//! 2. the remaining length is complete, at most 4 bytes and minimally
//!    encoded; a packet other than PUBLISH must fit in the scan window;
//! 3. if the whole packet is available, its body decodes with no
//!    violation (and a PUBLISH topic has no control character), and what
//!    follows is not implausible. If the next packet is complete and
//!    decodes cleanly too, the boundary is confirmed and normal framing
//!    resumes; if the data ends there, or only the start of a next packet
//!    is in (a header cut short, or bytes that pass rule 5), this one
//!    packet is taken and scanning goes on right after it;
//! 4. a packet longer than the window is rejected: it cannot be verified,
//!    and trusting its length could swallow the rest of the stream (only
//!    right after a malformed packet of trusted length, where a boundary is
//!    known anyway, a long PUBLISH is accepted on its variable header);
//! 5. otherwise the position waits for more bytes (up to the window size),
//!    but only if what is already there fits the type: a length the type
//!    can have (2 for a 3.x PUBACK, 0 for PINGREQ, ...), a property block
//!    that ends where the packet ends, a CONNECT protocol name, a PUBLISH
//!    header that decodes. Waiting delays the positions after it, so
//!    hopeless candidates must not wait.
//!
//! With no known version both 3.1.1 and 5.0 are tried.
//!
//! After a malformed packet whose header looked right (rule 1 and a length
//! its type can have), its end is taken as the next boundary and checked
//! with these rules, violations allowed; after one whose header did not,
//! scanning restarts at its second byte. A packet that does not fit in the
//! slice at hand must pass rules 1 and 5 before the framer buffers or
//! skips by its length; otherwise the same restart applies.
//!
//! A position that waits (rule 5) holds back the positions after it, never
//! drops them: if it fails, scanning goes on from the next byte; at the end
//! of the stream, or where bytes are missing, no more bytes will continue
//! the window, so waiting positions are rejected and what follows the first
//! accepted one is decoded.

use super::parse::{
    HeadLen, Layout, check_prefix, decode_body, decode_streamed_publish, parse_fixed_header,
    probe_body, publish_head_len,
};
use super::primitives::var_int;
use super::types::{Decoded, FixedHeader, Packet, PacketType, ProtocolVersion};

/// The verdict on one position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Candidate {
    /// A boundary, confirmed by the packet after it: normal framing resumes.
    Accept,
    /// A clean packet whose successor could not be checked (the data ends
    /// there, or only its start is in): take this one packet, then go on
    /// scanning right after it.
    AcceptOne,
    Reject,
    NeedMore,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Params {
    pub hint: Option<ProtocolVersion>,
    /// Largest packet (or PUBLISH header) waited for.
    pub window: usize,
    /// Accept a packet with violations (the position right after a malformed packet).
    pub lenient: bool,
}

fn versions(hint: Option<ProtocolVersion>) -> &'static [ProtocolVersion] {
    match hint {
        Some(ProtocolVersion::V5) => &[ProtocolVersion::V5],
        Some(ProtocolVersion::V31) => &[ProtocolVersion::V31],
        Some(ProtocolVersion::V311) => &[ProtocolVersion::V311],
        None => &[ProtocolVersion::V311, ProtocolVersion::V5],
    }
}

/// Rule 1: a type that exists and the flags the spec requires for it.
pub(crate) fn plausible_first_byte(b: u8, hint: Option<ProtocolVersion>) -> bool {
    let Some(t) = PacketType::from_code(b >> 4) else {
        return false;
    };
    if t == PacketType::Auth && hint.is_some_and(|v| !v.is_v5()) {
        return false;
    }
    let flags = b & 0x0f;
    match t.required_flags() {
        None => {
            let qos = (flags >> 1) & 3;
            qos != 3 && !(flags & 0x08 != 0 && qos == 0)
        }
        Some(required) => flags == required,
    }
}

/// Rules 1 and 2 for the header at the start of `s`.
fn header(s: &[u8], hint: Option<ProtocolVersion>) -> Result<FixedHeader, Candidate> {
    match s.first() {
        None => return Err(Candidate::NeedMore),
        Some(&b) if !plausible_first_byte(b, hint) => return Err(Candidate::Reject),
        Some(_) => {}
    }
    match parse_fixed_header(s) {
        Ok(h) if h.length_is_minimal() => Ok(h),
        Ok(_) => Err(Candidate::Reject),
        Err(super::parse::ParseError::Incomplete { .. }) => Err(Candidate::NeedMore),
        Err(super::parse::ParseError::Malformed(_)) => Err(Candidate::Reject),
    }
}

/// Whether a decoded candidate is clean enough to mark a boundary: no
/// violation (unless `lenient`), and a PUBLISH topic without control
/// characters — allowed by the spec but discouraged (section 1.5.4), and
/// typical of random bytes read as a topic.
fn acceptable(d: &Decoded<'_>, lenient: bool) -> bool {
    if let Packet::Publish(p) = &d.packet
        && p.topic.chars().any(char::is_control)
    {
        return false;
    }
    lenient || d.violations.is_empty()
}

fn decodes(h: FixedHeader, body: &[u8], hint: Option<ProtocolVersion>, lenient: bool) -> bool {
    versions(hint).iter().any(|&v| {
        // Violations allowed: the whole packet must decode. Otherwise the
        // first violation decides, and a cheap probe suffices.
        let decoded = if lenient {
            decode_body(h, body, v, 0)
        } else {
            probe_body(h, body, v)
        };
        decoded.is_ok_and(|d| acceptable(&d, lenient))
    })
}

/// What follows a candidate (rule 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Follower {
    /// A complete packet that decodes cleanly.
    Confirmed,
    /// Nothing yet, a header cut short, or the start of a packet worth
    /// waiting for (rule 5).
    Unknown,
    Bad,
}

fn follower(rest: &[u8], p: &Params) -> Follower {
    if rest.is_empty() {
        return Follower::Unknown;
    }
    let h = match header(rest, p.hint) {
        Ok(h) => h,
        Err(Candidate::NeedMore) => return Follower::Unknown,
        Err(_) => return Follower::Bad,
    };
    let strict = Params {
        lenient: false,
        ..*p
    };
    match rest.get(usize::from(h.header_len)..h.total_len()) {
        Some(body) if decodes(h, body, p.hint, false) => Follower::Confirmed,
        Some(_) => Follower::Bad,
        None if viable(
            h,
            rest.get(usize::from(h.header_len)..).unwrap_or_default(),
            &strict,
        ) =>
        {
            Follower::Unknown
        }
        None => Follower::Bad,
    }
}

/// A PUBLISH that is not complete: `Accept` when its variable header
/// decodes cleanly, `NeedMore` while the header is still incomplete.
fn publish_head(body: &[u8], h: FixedHeader, p: &Params) -> Candidate {
    let mut wait = false;
    // While the header is incomplete, what there is of it must decode.
    let partial_ok = |v: ProtocolVersion| {
        let prefix = body.get(..body.len().min(PREFIX_CHECK)).unwrap_or_default();
        check_prefix(h, prefix, v).is_ok_and(|clean| clean || p.lenient)
    };
    for &v in versions(p.hint) {
        match publish_head_len(body, h.flags, Layout::of(v), h.length as usize) {
            HeadLen::Known(n) if n <= p.window => match body.get(..n) {
                Some(head) => {
                    let good = decode_streamed_publish(h, head, v, 0, 0, 0)
                        .is_ok_and(|d| acceptable(&d, p.lenient));
                    if good {
                        return Candidate::Accept;
                    }
                }
                None => wait |= partial_ok(v),
            },
            HeadLen::Need(n) if n <= p.window => wait |= partial_ok(v),
            _ => {}
        }
    }
    if wait {
        Candidate::NeedMore
    } else {
        Candidate::Reject
    }
}

/// Whether the property length at `at` fits: it ends exactly at the packet
/// end (`exact`) or inside it. Unknown (true) while the bytes are missing.
fn props_fit(body: &[u8], at: usize, rl: usize, exact: bool) -> bool {
    let Some(rest) = body.get(at..) else {
        return true;
    };
    match var_int(rest, "property length") {
        Ok((_, (len, used))) => {
            let end = at + used + len as usize;
            if exact { end == rl } else { end <= rl }
        }
        Err(nom::Err::Error(e)) => matches!(e.reason, super::error::Reason::Truncated { .. }),
        Err(_) => false,
    }
}

/// Rule 5 for one version: can an incomplete packet still be a real one?
fn viable_as(h: FixedHeader, body: &[u8], v: ProtocolVersion) -> bool {
    use PacketType as T;
    let rl = h.length as usize;
    let v5 = v.is_v5();
    match h.packet_type {
        T::Pingreq | T::Pingresp => rl == 0,
        T::Puback | T::Pubrec | T::Pubrel | T::Pubcomp if v5 => {
            rl <= 3 || props_fit(body, 3, rl, true)
        }
        T::Connack if v5 => rl >= 3 && props_fit(body, 2, rl, true),
        T::Disconnect if v5 => rl <= 1 || props_fit(body, 1, rl, true),
        T::Auth if v5 => rl <= 1 || props_fit(body, 1, rl, true),
        T::Suback | T::Unsuback if v5 => rl >= 4 && props_fit(body, 2, rl, false),
        T::Puback | T::Pubrec | T::Pubrel | T::Pubcomp | T::Connack | T::Unsuback => rl == 2,
        T::Disconnect => rl == 0,
        T::Auth => false,
        T::Suback => rl >= 3,
        T::Subscribe | T::Unsubscribe => {
            let first = if v5 {
                // The first filter's length follows the property block.
                let Some(rest) = body.get(2..) else {
                    return true;
                };
                match var_int(rest, "property length") {
                    Ok((_, (len, used))) => 2 + used + len as usize,
                    Err(_) => return props_fit(body, 2, rl, false),
                }
            } else {
                2
            };
            let entry_tail = usize::from(h.packet_type == T::Subscribe);
            match (body.get(first), body.get(first + 1)) {
                (Some(&hi), Some(&lo)) => {
                    first + 2 + usize::from(u16::from_be_bytes([hi, lo])) + entry_tail <= rl
                }
                _ => first + 2 + entry_tail <= rl,
            }
        }
        T::Connect => {
            let names: [&[u8]; 2] = [b"\x00\x04MQTT", b"\x00\x06MQIsdp"];
            names
                .iter()
                .any(|n| n.iter().zip(body).all(|(a, b)| a == b))
        }
        T::Publish => false,
    }
}

/// Whether the length of a packet that did not decode can be trusted to
/// mark the next boundary: its first byte has the flags its type requires
/// and its length is one its type can have.
pub(crate) fn trusted_length(h: FixedHeader, body: &[u8], hint: Option<ProtocolVersion>) -> bool {
    flags_right(h, hint) && length_fits_type(h, body, hint)
}

/// Whether a complete packet's header is so wrong — flags *and* length not
/// what its type allows — that it is not worth decoding: the bytes are
/// taken for garbage and scanned again from the second byte. (One of the
/// two alone is a violation on a packet that is still decoded.)
pub(crate) fn suspect(h: FixedHeader, body: &[u8], hint: Option<ProtocolVersion>) -> bool {
    !flags_right(h, hint) && !length_fits_type(h, body, hint)
}

fn flags_right(h: FixedHeader, hint: Option<ProtocolVersion>) -> bool {
    plausible_first_byte((h.packet_type.code() << 4) | h.flags, hint)
}

fn length_fits_type(h: FixedHeader, body: &[u8], hint: Option<ProtocolVersion>) -> bool {
    if h.packet_type == PacketType::Publish {
        // Topic length, and the packet identifier above QoS 0.
        let min = if (h.flags >> 1) & 3 == 0 { 2 } else { 4 };
        return h.length >= min;
    }
    versions(hint).iter().any(|&v| viable_as(h, body, v))
}

/// Bytes of an incomplete packet that are decoded to judge it (bounds the
/// work per candidate).
const PREFIX_CHECK: usize = 512;

/// Rule 5: whether an incomplete packet is worth waiting for: a length its
/// type can have, and the bytes at hand decode as far as they go.
pub(crate) fn viable(h: FixedHeader, body: &[u8], p: &Params) -> bool {
    if h.packet_type == PacketType::Publish {
        return publish_head(body, h, p) != Candidate::Reject;
    }
    let prefix = body.get(..body.len().min(PREFIX_CHECK)).unwrap_or_default();
    versions(p.hint).iter().any(|&v| {
        viable_as(h, body, v)
            && match check_prefix(h, prefix, v) {
                Ok(clean) => clean || p.lenient,
                Err(()) => false,
            }
    })
}

/// Judges the position at the start of `s` (rules 1–5 above).
pub(crate) fn check(s: &[u8], p: &Params) -> Candidate {
    let h = match header(s, p.hint) {
        Ok(h) => h,
        Err(c) => return c,
    };
    let total = h.total_len();
    if h.packet_type != PacketType::Publish && total > p.window {
        return Candidate::Reject;
    }
    match s.get(usize::from(h.header_len)..total) {
        Some(body) => {
            if !decodes(h, body, p.hint, p.lenient) {
                return Candidate::Reject;
            }
            match follower(s.get(total..).unwrap_or_default(), p) {
                Follower::Confirmed => Candidate::Accept,
                Follower::Unknown => Candidate::AcceptOne,
                Follower::Bad => Candidate::Reject,
            }
        }
        None => {
            let body = s.get(usize::from(h.header_len)..).unwrap_or_default();
            if total > p.window {
                // Too large to verify. Its header alone is weak evidence and
                // accepting it could swallow the rest of the stream, so it is
                // believed only where a boundary is known anyway.
                if p.lenient {
                    publish_head(body, h, p)
                } else {
                    Candidate::Reject
                }
            } else if viable(h, body, p) {
                Candidate::NeedMore
            } else {
                Candidate::Reject
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Params = Params {
        hint: None,
        window: 4096,
        lenient: false,
    };

    #[test]
    fn first_byte_rules() {
        assert!(plausible_first_byte(0x30, None));
        assert!(plausible_first_byte(0x3d, None)); // DUP, QoS 2, RETAIN
        assert!(!plausible_first_byte(0x36, None)); // QoS 3
        assert!(!plausible_first_byte(0x38, None)); // DUP at QoS 0
        assert!(plausible_first_byte(0x62, None));
        assert!(!plausible_first_byte(0x60, None));
        assert!(!plausible_first_byte(0x41, None));
        assert!(!plausible_first_byte(0x00, None));
        assert!(plausible_first_byte(0xf0, None));
        assert!(!plausible_first_byte(0xf0, Some(ProtocolVersion::V311)));
    }

    #[test]
    fn complete_packets() {
        // PUBACK at the end of the data: taken alone.
        assert_eq!(check(&[0x40, 0x02, 0x00, 0x01], &P), Candidate::AcceptOne);
        // PUBACK followed by a PINGREQ.
        assert_eq!(
            check(&[0x40, 0x02, 0x00, 0x01, 0xc0, 0x00], &P),
            Candidate::Accept
        );
        // PUBACK followed by garbage.
        assert_eq!(
            check(&[0x40, 0x02, 0x00, 0x01, 0x00], &P),
            Candidate::Reject
        );
        // PUBACK followed by a header that is not complete yet.
        assert_eq!(
            check(&[0x40, 0x02, 0x00, 0x01, 0x30], &P),
            Candidate::AcceptOne
        );
        // Packet id 0 is a violation, so not a boundary...
        assert_eq!(check(&[0x40, 0x02, 0x00, 0x00], &P), Candidate::Reject);
        // ... unless right after a malformed packet.
        assert_eq!(
            check(&[0x40, 0x02, 0x00, 0x00], &Params { lenient: true, ..P }),
            Candidate::AcceptOne
        );
        // Non-minimal length.
        assert_eq!(check(&[0xc0, 0x80, 0x00], &P), Candidate::Reject);
    }

    #[test]
    fn waits_for_small_packets_only() {
        assert_eq!(check(&[0x40], &P), Candidate::NeedMore);
        assert_eq!(check(&[0x40, 0x02, 0x00], &P), Candidate::NeedMore);
        // A SUBSCRIBE longer than the window is not waited for.
        assert_eq!(check(&[0x82, 0xff, 0x7f, 0x00], &P), Candidate::Reject);
    }

    #[test]
    fn hopeless_candidates_do_not_wait() {
        let v311 = Params {
            hint: Some(ProtocolVersion::V311),
            ..P
        };
        // "Pa": PUBREC with remaining length 97 cannot be 3.1.1 ...
        assert_eq!(check(b"Pa", &v311), Candidate::Reject);
        // ... and as 5.0 its property length (byte 3 of the body) must end the packet.
        assert_eq!(check(&[0x50, 97, 0, 1, 0x10], &P), Candidate::NeedMore);
        assert_eq!(check(&[0x50, 97, 0, 1, 0x10, 5], &P), Candidate::Reject);
        assert_eq!(check(&[0x50, 97, 0, 1, 0x10, 93], &P), Candidate::NeedMore);
        // PINGREQ has no body; a CONNECT needs its protocol name.
        assert_eq!(check(&[0xc0, 0x05], &P), Candidate::Reject);
        assert_eq!(
            check(&[0x10, 0x20, 0x00, 0x04, b'M', b'Q'], &P),
            Candidate::NeedMore
        );
        assert_eq!(
            check(&[0x10, 0x20, 0x00, 0x04, b'H', b'T'], &P),
            Candidate::Reject
        );
        // SUBSCRIBE 3.1.1 whose first filter is longer than the packet.
        assert_eq!(
            check(&[0x82, 0x20, 0x00, 0x01, 0x01, 0x00], &v311),
            Candidate::Reject
        );
        assert_eq!(
            check(&[0x82, 0x20, 0x00, 0x01, 0x00, 0x05], &v311),
            Candidate::NeedMore
        );
        // SUBACK 3.1.1 with return code 60; with codes 1 and 0x80 it may be real.
        assert_eq!(
            check(&[0x90, 88, 0x69, 0x35, 60, 100], &v311),
            Candidate::Reject
        );
        assert_eq!(
            check(&[0x90, 88, 0x69, 0x35, 1, 0x80], &v311),
            Candidate::NeedMore
        );
        // SUBSCRIBE 5.0 with an unknown property.
        assert_eq!(
            check(&[0x82, 40, 0x00, 0x01, 0x02, 0x7f, 0x00], &P),
            Candidate::Reject
        );
        // At a known boundary, a large PUBLISH whose long topic is not
        // UTF-8 as far as it goes.
        let known = Params {
            lenient: true,
            ..v311
        };
        let mut big = vec![0x35, 0x93, 0xfd, 0x5c, 0x0f, 0x20, b'a', 0xff];
        assert_eq!(check(&big, &known), Candidate::Reject);
        big[7] = b'b';
        assert_eq!(check(&big, &known), Candidate::NeedMore);
        // A small PUBLISH whose header is complete but has a wildcard.
        assert_eq!(
            check(&[0x30, 0x20, 0x00, 0x01, b'#', b'x'], &v311),
            Candidate::Reject
        );
        assert_eq!(
            check(&[0x30, 0x20, 0x00, 0x01, b'a', b'x'], &v311),
            Candidate::NeedMore
        );
    }

    #[test]
    fn large_publish_is_not_trusted_on_its_header_alone() {
        // PUBLISH QoS 0, remaining length 100000, topic "a/b", then payload.
        let b = [0x30, 0xa0, 0x8d, 0x06, 0x00, 0x03, b'a', b'/', b'b', b'x'];
        assert_eq!(check(&b, &P), Candidate::Reject);
    }

    #[test]
    fn large_publish_is_judged_on_its_header_at_a_known_boundary() {
        let known = Params { lenient: true, ..P };
        // PUBLISH QoS 0, remaining length 100000, topic "a/b", then payload.
        let mut b = vec![0x30, 0xa0, 0x8d, 0x06, 0x00, 0x03, b'a', b'/', b'b'];
        assert_eq!(check(&b[..6], &known), Candidate::NeedMore);
        b.extend_from_slice(b"xyz");
        // 3.1.1 reading: header fine. (5.0 reading: property length 'x' = 120 also fits.)
        assert_eq!(check(&b, &known), Candidate::Accept);
        // A topic that is not UTF-8 fails under both readings.
        let bad = [0x30, 0xa0, 0x8d, 0x06, 0x00, 0x03, b'a', 0xff, b'b', 0x00];
        assert_eq!(check(&bad, &known), Candidate::Reject);
    }
}
