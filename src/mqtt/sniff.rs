//! Is this byte stream MQTT? For a connection the capture picked up in the
//! middle (no CONNECT to recognise) on a port not known to be MQTT.
//!
//! The rule is strict on purpose, so that other protocols are never
//! claimed: from the first captured byte of a direction, the bytes must
//! read as a run of *well-formed* packets — a packet type that exists with
//! exactly the flags the spec requires, a minimally encoded remaining
//! length, a body that decodes with no violation as 3.1.1 or 5.0 — and the
//! run must end exactly where a TCP segment ends (an MQTT sender writes
//! whole packets; another protocol's bytes that happen to start like a
//! packet do not keep lining up). The run must also carry enough evidence:
//! packets with strings or identifiers count more than two-byte ones, so a
//! lone `c0 00` is not enough.

use super::header::{PacketType, ProtocolVersion};
use super::parse::{ParseError, parse_fixed_header, parse_packet};
use super::resync::plausible_first_byte;

/// Evidence points a run needs (see [`weight`]).
const ENOUGH: u32 = 5;
/// Packets a run needs, whatever their weight.
const MIN_PACKETS: u32 = 2;

/// What the bytes of one direction say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunVerdict {
    /// A run of well-formed packets with enough evidence, ending at a segment end.
    Mqtt,
    /// Bytes no MQTT sender writes.
    NotMqtt,
    /// So far so good, but not enough yet.
    Undecided,
}

/// How much a well-formed packet of `t` with a body of `len` bytes tells.
fn weight(t: PacketType, len: u32) -> u32 {
    use PacketType::*;
    match t {
        Connect | Connack | Publish | Subscribe | Suback | Unsubscribe | Unsuback if len >= 2 => 3,
        Puback | Pubrec | Pubrel | Pubcomp => 2,
        _ => 1,
    }
}

/// Whether the packet at the start of `bytes` (whole, `total` bytes)
/// decodes without a violation as 3.1.1 or 5.0.
fn decodes_cleanly(bytes: &[u8]) -> bool {
    [ProtocolVersion::V311, ProtocolVersion::V5]
        .into_iter()
        .any(|v| matches!(parse_packet(bytes, v, 0), Ok((d, _)) if d.violations.is_empty()))
}

/// Judges one direction's first bytes. `ends` are the offsets where the
/// captured segments ended (ascending; the last is `bytes.len()`).
pub fn judge_run(bytes: &[u8], ends: &[usize]) -> RunVerdict {
    let (mut pos, mut points, mut packets) = (0usize, 0u32, 0u32);
    while let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) {
        let Some(&first) = rest.first() else {
            break;
        };
        if !plausible_first_byte(first, None) {
            return RunVerdict::NotMqtt;
        }
        let h = match parse_fixed_header(rest) {
            Ok(h) => h,
            Err(ParseError::Incomplete { .. }) => return RunVerdict::Undecided,
            Err(ParseError::Malformed(_)) => return RunVerdict::NotMqtt,
        };
        if !h.length_is_minimal() {
            return RunVerdict::NotMqtt;
        }
        let total = h.total_len();
        let Some(packet) = rest.get(..total) else {
            return RunVerdict::Undecided;
        };
        if !decodes_cleanly(packet) {
            return RunVerdict::NotMqtt;
        }
        pos += total;
        points += weight(h.packet_type, h.length);
        packets += 1;
        if points >= ENOUGH && packets >= MIN_PACKETS && ends.contains(&pos) {
            return RunVerdict::Mqtt;
        }
    }
    RunVerdict::Undecided
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A QoS 1 PUBLISH to `a/b`, id 1, payload `hi`.
    const PUBLISH: [u8; 11] = [0x32, 9, 0, 3, b'a', b'/', b'b', 0, 1, b'h', b'i'];
    const PUBACK: [u8; 4] = [0x40, 2, 0, 1];

    fn segments(parts: &[&[u8]]) -> (Vec<u8>, Vec<usize>) {
        let (mut bytes, mut ends) = (Vec::new(), Vec::new());
        for p in parts {
            bytes.extend_from_slice(p);
            ends.push(bytes.len());
        }
        (bytes, ends)
    }

    #[test]
    fn publishes_aligned_with_segments_are_mqtt() {
        let (b, e) = segments(&[&PUBLISH, &PUBLISH]);
        assert_eq!(judge_run(&b, &e), RunVerdict::Mqtt);
        // several packets in one segment count too
        let both = [PUBLISH, PUBLISH].concat();
        let (b, e) = segments(&[&both]);
        assert_eq!(judge_run(&b, &e), RunVerdict::Mqtt);
    }

    #[test]
    fn too_little_evidence_waits() {
        let (b, e) = segments(&[&PUBLISH]);
        assert_eq!(judge_run(&b, &e), RunVerdict::Undecided);
        let (b, e) = segments(&[&[0xc0, 0], &[0xc0, 0], &[0xc0, 0]]);
        assert_eq!(judge_run(&b, &e), RunVerdict::Undecided);
        // a packet still arriving
        let (b, e) = segments(&[&PUBLISH, &PUBACK[..2]]);
        assert_eq!(judge_run(&b, &e), RunVerdict::Undecided);
    }

    #[test]
    fn a_run_must_end_where_a_segment_ends() {
        // evidence complete only in the middle of the second segment
        let mut second = PUBACK.to_vec();
        second.extend_from_slice(&PUBLISH[..5]);
        let (b, e) = segments(&[&PUBLISH, &second]);
        assert_eq!(judge_run(&b, &e), RunVerdict::Undecided);
    }

    #[test]
    fn other_protocols_are_not_mqtt() {
        for first in [
            &b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            &b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"[..],
            &[
                0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03,
            ][..],
            // DNS over TCP: a two-byte length, then the message
            &[0x00, 0x1c, 0x12, 0x34, 0x01, 0x00, 0x00, 0x01][..],
            // a PUBLISH-looking byte with a topic that runs past the packet
            &[0x30, 0x03, 0x00, 0x09, b'a'][..],
            // non-minimal remaining length
            &[0xc0, 0x80, 0x00][..],
        ] {
            let (b, e) = segments(&[first]);
            assert_eq!(judge_run(&b, &e), RunVerdict::NotMqtt, "{first:02x?}");
        }
    }
}
