//! nom parsers: bytes of one packet → [`Decoded`] packet, or [`Malformed`].
//!
//! The discipline: read the fixed header, check that the whole packet is
//! there, then run the body parser on *exactly* `remaining_length` bytes.
//! Every field parser uses complete (non-streaming) primitives, so running
//! out of bytes inside a body is a malformed packet, never a request for
//! more input, and no parser can read into the next packet.
//!
//! Values the spec forbids but that leave the packet decodable (QoS 3,
//! reserved flag bits, a reason code not allowed in that packet, a property
//! that does not belong) become [`Violation`]s on
//! the decoded packet; only bytes whose structure cannot be followed are
//! [`Malformed`].

use super::error::{Malformed, PResult, Reason, fail};
use super::primitives::{
    Ctx, binary, byte, check_topic_name, topic_filter_problem, two, utf8, var_int,
};
use super::properties::{Properties, PropertyScope, parse_properties};
use super::reason::ReasonCode;
use super::spec::{self, Rule};
use super::types::*;
use xxhash_rust::xxh3::xxh3_64;

/// Why [`parse_packet`] / [`parse_fixed_header`] returned no packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The input ends before the packet does: at least `needed` bytes (from
    /// the packet's first byte) are required.
    Incomplete { needed: usize },
    /// The bytes are not a decodable packet.
    Malformed(Malformed),
}

impl From<Malformed> for ParseError {
    fn from(m: Malformed) -> Self {
        ParseError::Malformed(m)
    }
}

/// Reads the fixed header: type, flags and the 1–4 byte remaining length.
///
/// Type 0 and a remaining length with a fifth byte are malformed; flag
/// values are checked later (they are violations, not framing errors).
pub fn parse_fixed_header(input: &[u8]) -> Result<FixedHeader, ParseError> {
    let Some(&first) = input.first() else {
        return Err(ParseError::Incomplete { needed: 2 });
    };
    let flags = first & 0x0f;
    let Some(packet_type) = PacketType::from_code(first >> 4) else {
        // Malformed at once, whatever follows; the remaining length is
        // reported when its bytes are there (tshark shows it too).
        let known = remaining_length(input).ok();
        return Err(ParseError::Malformed(Malformed {
            packet_type: None,
            flags: Some(flags),
            length: known.map(|(length, _)| length),
            header_len: known.map(|(_, hl)| hl),
            offset: 0,
            reason: Reason::ReservedPacketType,
        }));
    };
    match remaining_length(input) {
        Ok((length, header_len)) => Ok(FixedHeader {
            packet_type,
            flags,
            length,
            header_len,
        }),
        Err(Some(needed)) => Err(ParseError::Incomplete { needed }),
        Err(None) => Err(ParseError::Malformed(Malformed {
            packet_type: Some(packet_type),
            flags: Some(flags),
            length: None,
            header_len: None,
            offset: 1,
            reason: Reason::RemainingLengthTooLong,
        })),
    }
}

/// The remaining length after the first byte, and the fixed header's size;
/// `Err(Some(needed))` when its bytes are not all there, `Err(None)` when it
/// runs past 4 bytes.
fn remaining_length(input: &[u8]) -> Result<(u32, u8), Option<usize>> {
    let mut length = 0u32;
    for k in 0..4u8 {
        let Some(&b) = input.get(usize::from(k) + 1) else {
            return Err(Some(usize::from(k) + 2));
        };
        length |= u32::from(b & 0x7f) << (7 * k);
        if b & 0x80 == 0 {
            return Ok((length, k + 2));
        }
    }
    Err(None)
}

/// Decodes the packet at the start of `input` as `version` (CONNECT decodes
/// as its own level). Returns the packet and the bytes it took.
///
/// `preview` bounds the PUBLISH payload kept in [`Publish::payload_preview`].
pub fn parse_packet(
    input: &[u8],
    version: ProtocolVersion,
    preview: usize,
) -> Result<(Decoded<'_>, usize), ParseError> {
    let h = parse_fixed_header(input)?;
    let total = h.total_len();
    let Some(body) = input.get(usize::from(h.header_len)..total) else {
        return Err(ParseError::Incomplete { needed: total });
    };
    let decoded = decode_body(h, body, version, preview)?;
    Ok((decoded, total))
}

/// Decodes a packet body (the `remaining_length` bytes after `header`).
pub fn decode_body(
    header: FixedHeader,
    body: &[u8],
    version: ProtocolVersion,
    preview: usize,
) -> Result<Decoded<'_>, Malformed> {
    decode(header, body, version, Payload::Whole { preview })
}

/// Decodes a PUBLISH of which only a prefix of the body is at hand (the
/// variable header and the start of the payload); the framer streamed the
/// rest of the payload through the hash.
pub(crate) fn decode_streamed_publish(
    header: FixedHeader,
    prefix_body: &[u8],
    version: ProtocolVersion,
    preview: usize,
    hash: u64,
    missing: u64,
) -> Result<Decoded<'_>, Malformed> {
    decode(
        header,
        prefix_body,
        version,
        Payload::Streamed {
            preview,
            hash,
            missing,
        },
    )
}

/// Checks the first bytes of a packet that has not fully arrived, as far as
/// they go: `Ok(true)` when they decode with no violation (or only ones
/// allowed by `lenient`), `Ok(false)` with violations, `Err` when a field is
/// structurally wrong. Running out of bytes is not an error here.
pub(crate) fn check_prefix(
    header: FixedHeader,
    prefix_body: &[u8],
    version: ProtocolVersion,
) -> Result<bool, ()> {
    let length = u32::try_from(prefix_body.len()).unwrap_or(u32::MAX);
    let as_complete = FixedHeader {
        length,
        header_len: (var_int_len(length) + 1) as u8,
        ..header
    };
    match decode(as_complete, prefix_body, version, Payload::Prefix) {
        Ok(d) => Ok(d.violations.is_empty()),
        Err(m) => match m.reason {
            Reason::Truncated { .. }
            | Reason::LengthPastEnd {
                limit: "packet end",
                ..
            } => Ok(true),
            _ => Err(()),
        },
    }
}

/// Decodes a whole packet only to judge whether it is clean (see
/// [`Payload::Probe`]): the violations list is cut short after the first.
pub(crate) fn probe_body(
    header: FixedHeader,
    body: &[u8],
    version: ProtocolVersion,
) -> Result<Decoded<'_>, Malformed> {
    decode(header, body, version, Payload::Probe)
}

#[derive(Clone, Copy)]
enum Payload {
    Whole {
        preview: usize,
    },
    /// Only a prefix of the packet: structure is checked, nothing that the
    /// missing bytes could still satisfy (non-empty lists, payload text).
    Prefix,
    /// A whole packet judged as a possible boundary: cheap, stops at the
    /// first violation, no payload hash.
    Probe,
    Streamed {
        preview: usize,
        hash: u64,
        missing: u64,
    },
}

/// Byte offset of `sub` inside `base` (both borrow the same packet).
fn offset_in(base: &[u8], sub: &[u8]) -> usize {
    (sub.as_ptr() as usize)
        .saturating_sub(base.as_ptr() as usize)
        .min(base.len())
}

fn decode(
    h: FixedHeader,
    body: &[u8],
    version: ProtocolVersion,
    payload: Payload,
) -> Result<Decoded<'_>, Malformed> {
    let malformed = |offset: usize, reason: Reason| Malformed {
        packet_type: Some(h.packet_type),
        flags: Some(h.flags),
        length: Some(h.length),
        header_len: Some(h.header_len),
        offset,
        reason,
    };
    if h.packet_type == PacketType::Auth && !version.is_v5() {
        return Err(malformed(0, Reason::AuthBeforeV5));
    }
    let mut cx = Ctx::new(version, h.packet_type);
    cx.prefix = matches!(payload, Payload::Prefix);
    cx.probe = matches!(payload, Payload::Prefix | Payload::Probe);
    check_fixed_header(&h, &mut cx);
    let result = match h.packet_type {
        PacketType::Connect => connect(body, h, &mut cx),
        PacketType::Connack => connack(body, h, &mut cx),
        PacketType::Publish => publish(body, h, &mut cx, payload),
        PacketType::Puback | PacketType::Pubrec | PacketType::Pubrel | PacketType::Pubcomp => {
            pub_resp(body, h, &mut cx)
        }
        PacketType::Subscribe => subscribe(body, h, &mut cx),
        PacketType::Suback => suback(body, h, &mut cx),
        PacketType::Unsubscribe => unsubscribe(body, h, &mut cx),
        PacketType::Unsuback => unsuback(body, h, &mut cx),
        PacketType::Pingreq => Ok((body, Packet::Pingreq(h))),
        PacketType::Pingresp => Ok((body, Packet::Pingresp(h))),
        PacketType::Disconnect => disconnect(body, h, &mut cx),
        PacketType::Auth => auth(body, h, &mut cx),
    };
    match result {
        Ok((rest, packet)) => {
            if !rest.is_empty() {
                cx.violate(
                    layout_rule(h.packet_type),
                    format!(
                        "{} unexpected byte(s) after the end of the {} (remaining length {})",
                        rest.len(),
                        h.packet_type,
                        h.length
                    ),
                );
            }
            Ok(Decoded {
                packet,
                version: cx.version,
                violations: cx.violations,
            })
        }
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(malformed(
            usize::from(h.header_len) + offset_in(body, e.input),
            e.reason,
        )),
        Err(nom::Err::Incomplete(_)) => Err(malformed(
            h.total_len(),
            Reason::Truncated { what: "packet" },
        )),
    }
}

/// The section that fixes a packet's layout (for "bytes left over").
fn layout_rule(t: PacketType) -> Rule {
    match t {
        PacketType::Connect => Rule::new("3.1.3"),
        PacketType::Connack => Rule::new("3.2.1"),
        PacketType::Publish => Rule::new("3.3.1"),
        PacketType::Puback => Rule::new("3.4.1"),
        PacketType::Pubrec => Rule::new("3.5.1"),
        PacketType::Pubrel => Rule::new("3.6.1"),
        PacketType::Pubcomp => Rule::new("3.7.1"),
        PacketType::Subscribe => Rule::new("3.8.1"),
        PacketType::Suback => Rule::new("3.9.1"),
        PacketType::Unsubscribe => Rule::new("3.10.1"),
        PacketType::Unsuback => Rule::new("3.11.1"),
        PacketType::Pingreq => Rule::new("3.12.1"),
        PacketType::Pingresp => Rule::new("3.13.1"),
        PacketType::Disconnect => Rule::new("3.14.1"),
        PacketType::Auth => Rule::new("3.15.1"),
    }
}

/// Flag rules of the fixed header (5.0 section 2.1.3, 3.1.1 section 2.2.2).
fn check_fixed_header(h: &FixedHeader, cx: &mut Ctx) {
    match h.packet_type.required_flags() {
        None => {
            let qos = (h.flags >> 1) & 3;
            if qos == 3 {
                cx.violate(spec::QOS_BITS, "PUBLISH has QoS 3 (both QoS bits set)");
            }
            if h.flags & 0x08 != 0 && qos == 0 {
                cx.violate(spec::DUP_ZERO_ON_QOS0, "DUP flag set on a QoS 0 PUBLISH");
            }
        }
        Some(required) if h.flags != required => {
            // MQTT 3.1 sent SUBSCRIBE / UNSUBSCRIBE / PUBREL at "QoS 1" and
            // set DUP on retries; it did not fix the other packets' flags.
            let v31_ok =
                cx.version == ProtocolVersion::V31 && (required == 0 || h.flags == required | 0x08);
            if !v31_ok {
                cx.violate(
                    cx.rule(Rule::new("MQTT-2.1.3-1"), Rule::new("MQTT-2.2.2-1")),
                    format!(
                        "{} flags are 0x{:x}, must be 0x{:x}",
                        h.packet_type, h.flags, required
                    ),
                );
            }
        }
        Some(_) => {}
    }
    if !h.length_is_minimal() {
        cx.violate(
            cx.rule(Rule::new("MQTT-1.5.5-1"), Rule::new("2.2.3")),
            format!(
                "remaining length {} is encoded in {} bytes instead of the minimum",
                h.length,
                h.header_len.saturating_sub(1)
            ),
        );
    }
}

fn check_packet_id(cx: &mut Ctx, id: u16) {
    if id == 0 {
        cx.violate(
            cx.rule(spec::PACKET_ID_NONZERO_V5, spec::PACKET_ID_NONZERO_V3),
            format!("{} has packet identifier 0", cx.packet),
        );
    }
}

fn check_reason_code(cx: &mut Ctx, rc: ReasonCode) {
    if rc.is_allowed(cx.packet, cx.version) {
        return;
    }
    let rule = match (cx.packet, cx.version.is_v5()) {
        (PacketType::Connack, true) => Rule::new("3.2.2.2"),
        (PacketType::Connack, false) => Rule::new("3.2.2.3"),
        (PacketType::Puback, _) => Rule::new("3.4.2.1"),
        (PacketType::Pubrec, _) => Rule::new("3.5.2.1"),
        (PacketType::Pubrel, _) => Rule::new("3.6.2.1"),
        (PacketType::Pubcomp, _) => Rule::new("3.7.2.1"),
        (PacketType::Suback, true) => Rule::new("3.9.3"),
        (PacketType::Suback, false) => Rule::new("MQTT-3.9.3-2"),
        (PacketType::Unsuback, _) => Rule::new("3.11.3"),
        (PacketType::Disconnect, _) => Rule::new("3.14.2.1"),
        (PacketType::Auth, _) => Rule::new("3.15.2.1"),
        _ => Rule::new("2.4"),
    };
    let word = if cx.version.is_v5() {
        "reason code"
    } else {
        "return code"
    };
    cx.violate(rule, format!("{word} {rc} is not allowed in {}", cx.packet));
}

fn properties_if_v5<'a>(i: &'a [u8], cx: &mut Ctx) -> PResult<'a, Properties<'a>> {
    if cx.version.is_v5() {
        parse_properties(i, PropertyScope::Packet(cx.packet), cx)
    } else {
        Ok((i, Properties::default()))
    }
}

fn connect<'a>(i: &'a [u8], header: FixedHeader, cx: &mut Ctx) -> PResult<'a, Packet<'a>> {
    let (i, protocol_name) = utf8(i, "protocol name", cx)?;
    let level_at = i;
    let (i, protocol_level) = byte(i, "protocol level")?;
    let version = match (
        ProtocolVersion::from_level(protocol_level & 0x7f),
        protocol_name,
    ) {
        (Some(v), _) => {
            let expected = if v == ProtocolVersion::V31 {
                "MQIsdp"
            } else {
                "MQTT"
            };
            if protocol_name != expected {
                cx.violate(
                    Rule::new("MQTT-3.1.2-1"),
                    format!(
                        "protocol name {protocol_name:?} does not match protocol level {}",
                        protocol_level & 0x7f
                    ),
                );
            }
            v
        }
        (None, "MQTT" | "MQIsdp") => {
            let v = if protocol_name == "MQIsdp" {
                ProtocolVersion::V31
            } else {
                ProtocolVersion::V311
            };
            cx.violate(
                Rule::new("MQTT-3.1.2-2"),
                format!("unsupported protocol level {protocol_level}; decoded with the {v} layout"),
            );
            v
        }
        (None, _) => {
            return fail(
                level_at,
                Reason::NotMqtt {
                    name: protocol_name.to_string(),
                    level: protocol_level,
                },
            );
        }
    };
    cx.version = version;
    if protocol_level & 0x80 != 0 {
        cx.violate(
            Rule::new("3.1.2.2"),
            format!("protocol level 0x{protocol_level:02x} has the bridge bit 0x80 set (a non-standard extension)"),
        );
    }
    let (i, connect_flags) = byte(i, "connect flags")?;
    let clean_start = connect_flags & 0x02 != 0;
    let will_flag = connect_flags & 0x04 != 0;
    let will_qos = (connect_flags >> 3) & 0x03;
    let will_retain = connect_flags & 0x20 != 0;
    let password_flag = connect_flags & 0x40 != 0;
    let username_flag = connect_flags & 0x80 != 0;
    if connect_flags & 0x01 != 0 {
        cx.violate(
            Rule::new("MQTT-3.1.2-3"),
            "reserved connect flag (bit 0) is set",
        );
    }
    if !will_flag {
        if will_qos != 0 {
            cx.violate(
                cx.rule(Rule::new("MQTT-3.1.2-11"), Rule::new("MQTT-3.1.2-13")),
                format!("will QoS is {will_qos} but the will flag is not set"),
            );
        }
        if will_retain {
            cx.violate(
                cx.rule(Rule::new("MQTT-3.1.2-13"), Rule::new("MQTT-3.1.2-15")),
                "will retain is set but the will flag is not",
            );
        }
    } else if will_qos == 3 {
        cx.violate(
            cx.rule(Rule::new("MQTT-3.1.2-12"), Rule::new("MQTT-3.1.2-14")),
            "will QoS is 3",
        );
    }
    if !version.is_v5() && password_flag && !username_flag {
        cx.violate(
            Rule::new("MQTT-3.1.2-22"),
            "password flag is set without the user name flag",
        );
    }
    let (i, keepalive) = two(i, "keep alive")?;
    let (i, properties) = properties_if_v5(i, cx)?;
    let (i, client_id) = utf8(i, "client identifier", cx)?;
    match version {
        ProtocolVersion::V311 if client_id.is_empty() && !clean_start => {
            cx.violate(
                Rule::new("MQTT-3.1.3-7"),
                "empty client identifier without clean session",
            );
        }
        ProtocolVersion::V31 if client_id.is_empty() || client_id.len() > 23 => {
            cx.violate(
                Rule::new("3.1.3.1"),
                format!(
                    "client identifier has {} bytes; MQTT 3.1 requires 1 to 23",
                    client_id.len()
                ),
            );
        }
        _ => {}
    }
    let (i, will) = if will_flag {
        let (i, properties) = if version.is_v5() {
            parse_properties(i, PropertyScope::Will, cx)?
        } else {
            (i, Properties::default())
        };
        let (i, topic) = utf8(i, "will topic", cx)?;
        check_topic_name(
            cx,
            topic,
            "will topic",
            cx.rule(Rule::new("MQTT-4.7.0-1"), Rule::new("MQTT-4.7.1-1")),
        );
        if topic.is_empty() {
            cx.violate(Rule::new("MQTT-4.7.3-1"), "will topic is empty");
        }
        let (i, payload) = binary(i, "will payload")?;
        (
            i,
            Some(Box::new(Will {
                topic,
                qos: will_qos,
                retain: will_retain,
                properties,
                payload,
            })),
        )
    } else {
        (i, None)
    };
    let (i, username) = if username_flag {
        let (i, u) = utf8(i, "user name", cx)?;
        (i, Some(u))
    } else {
        (i, None)
    };
    let (i, password) = if password_flag {
        let (i, p) = binary(i, "password")?;
        (i, Some(p))
    } else {
        (i, None)
    };
    Ok((
        i,
        Packet::Connect(Connect {
            header,
            protocol_name,
            protocol_level,
            connect_flags,
            clean_start,
            keepalive,
            properties,
            client_id,
            will,
            username,
            password,
        }),
    ))
}

fn connack<'a>(i: &'a [u8], header: FixedHeader, cx: &mut Ctx) -> PResult<'a, Packet<'a>> {
    let (i, ack_flags) = byte(i, "acknowledge flags")?;
    let v5 = cx.version.is_v5();
    let (i, code) = byte(i, if v5 { "reason code" } else { "return code" })?;
    let reason_code = ReasonCode(code);
    // MQTT 3.1 has no session present flag; the byte is unused there.
    let v31 = cx.version == ProtocolVersion::V31;
    let session_present = !v31 && ack_flags & 0x01 != 0;
    if !v31 && ack_flags & 0xfe != 0 {
        cx.violate(
            cx.rule(Rule::new("3.2.2.1"), Rule::new("3.2.2.1")),
            format!("reserved acknowledge flag bits are set (0x{ack_flags:02x})"),
        );
    }
    check_reason_code(cx, reason_code);
    if session_present && code != 0 {
        cx.violate(
            cx.rule(Rule::new("MQTT-3.2.2-6"), Rule::new("MQTT-3.2.2-4")),
            "session present is set on a refused connection",
        );
    }
    let (i, properties) = properties_if_v5(i, cx)?;
    Ok((
        i,
        Packet::Connack(Connack {
            header,
            version: cx.version,
            ack_flags,
            session_present,
            reason_code,
            properties,
        }),
    ))
}

/// The PUBLISH variable header: topic, packet identifier, properties.
fn publish_head<'a>(
    i: &'a [u8],
    h: FixedHeader,
    cx: &mut Ctx,
) -> PResult<'a, (&'a str, Option<u16>, Properties<'a>)> {
    let qos = (h.flags >> 1) & 3;
    let (i, topic) = utf8(i, "topic", cx)?;
    check_topic_name(cx, topic, "topic", Rule::new("MQTT-3.3.2-2"));
    let (i, packet_id) = if qos > 0 {
        let (i, id) = two(i, "packet identifier")?;
        check_packet_id(cx, id);
        (i, Some(id))
    } else {
        (i, None)
    };
    let (i, properties) = properties_if_v5(i, cx)?;
    if topic.is_empty() {
        if !cx.version.is_v5() {
            cx.violate(Rule::new("MQTT-4.7.3-1"), "topic is empty");
        } else if properties.topic_alias.is_none() {
            cx.violate(
                Rule::new("3.3.2.1"),
                "topic is empty and there is no Topic Alias",
            );
        }
    }
    Ok((i, (topic, packet_id, properties)))
}

fn publish<'a>(
    body: &'a [u8],
    header: FixedHeader,
    cx: &mut Ctx,
    mode: Payload,
) -> PResult<'a, Packet<'a>> {
    let (payload, (topic, packet_id, properties)) = publish_head(body, header, cx)?;
    let head_len = offset_in(body, payload);
    let (preview, payload_len, payload_hash, payload_missing) = match mode {
        Payload::Whole { preview } => {
            if properties.payload_format_indicator == Some(1)
                && std::str::from_utf8(payload).is_err()
            {
                cx.violate(
                    Rule::new("3.3.2.3.2"),
                    "payload is not valid UTF-8 although the Payload Format Indicator says it is",
                );
            }
            (preview, payload.len(), xxh3_64(payload), 0)
        }
        Payload::Streamed {
            preview,
            hash,
            missing,
        } => (
            preview,
            (header.length as usize).saturating_sub(head_len),
            hash,
            missing,
        ),
        Payload::Prefix | Payload::Probe => (0, payload.len(), 0, 0),
    };
    let payload_preview = payload
        .get(..preview.min(payload.len()))
        .unwrap_or_default();
    let end = payload.get(payload.len()..).unwrap_or_default();
    Ok((
        end,
        Packet::Publish(Publish {
            header,
            dup: header.flags & 0x08 != 0,
            qos: (header.flags >> 1) & 3,
            retain: header.flags & 0x01 != 0,
            topic,
            packet_id,
            properties,
            payload_len: u32::try_from(payload_len).unwrap_or(u32::MAX),
            payload_preview,
            payload_hash,
            payload_missing,
            resolved_topic: None,
        }),
    ))
}

fn pub_resp<'a>(i: &'a [u8], header: FixedHeader, cx: &mut Ctx) -> PResult<'a, Packet<'a>> {
    let (i, packet_id) = two(i, "packet identifier")?;
    check_packet_id(cx, packet_id);
    let (i, reason_code, properties) = if !cx.version.is_v5() {
        (i, None, Properties::default())
    } else if i.is_empty() {
        // Remaining length 2: reason 0x00 and no properties (section 3.4.2.1).
        (i, Some(ReasonCode::SUCCESS), Properties::default())
    } else {
        let (i, code) = byte(i, "reason code")?;
        check_reason_code(cx, ReasonCode(code));
        // Remaining length 3: reason code, no property length.
        let (i, properties) = if i.is_empty() {
            (i, Properties::default())
        } else {
            properties_if_v5(i, cx)?
        };
        (i, Some(ReasonCode(code)), properties)
    };
    let resp = PubResp {
        header,
        packet_id,
        reason_code,
        properties,
    };
    let packet = match header.packet_type {
        PacketType::Puback => Packet::Puback(resp),
        PacketType::Pubrec => Packet::Pubrec(resp),
        PacketType::Pubrel => Packet::Pubrel(resp),
        _ => Packet::Pubcomp(resp),
    };
    Ok((i, packet))
}

fn subscribe<'a>(i: &'a [u8], header: FixedHeader, cx: &mut Ctx) -> PResult<'a, Packet<'a>> {
    let (i, packet_id) = two(i, "packet identifier")?;
    check_packet_id(cx, packet_id);
    let (mut i, properties) = properties_if_v5(i, cx)?;
    if properties.subscription_identifiers.len() > 1 {
        cx.violate(
            Rule::new("3.8.2.1.2"),
            "more than one Subscription Identifier",
        );
    }
    let v5 = cx.version.is_v5();
    let mut topics = Vec::new();
    while !i.is_empty() && !cx.settled() {
        let (r, filter) = utf8(i, "topic filter", cx)?;
        let (r, options) = byte(
            r,
            if v5 {
                "subscription options"
            } else {
                "requested QoS"
            },
        )?;
        i = r;
        if let Some((rule, message)) = topic_filter_problem(filter, v5) {
            cx.violate(rule, message);
        }
        let qos = options & 0x03;
        let retain_handling = if v5 { (options >> 4) & 0x03 } else { 0 };
        let no_local = v5 && options & 0x04 != 0;
        if v5 {
            if options & 0xc0 != 0 {
                cx.violate(
                    Rule::new("MQTT-3.8.3-5"),
                    format!("reserved subscription option bits are set for {filter:?}"),
                );
            }
            if qos == 3 {
                cx.violate(
                    Rule::new("3.8.3.1"),
                    format!("requested QoS 3 for {filter:?}"),
                );
            }
            if retain_handling == 3 {
                cx.violate(
                    Rule::new("3.8.3.1"),
                    format!("Retain Handling 3 for {filter:?}"),
                );
            }
            if no_local && filter.starts_with("$share/") {
                cx.violate(
                    Rule::new("MQTT-3.8.3-4"),
                    format!("No Local is set on shared subscription {filter:?}"),
                );
            }
        } else if options & 0xfc != 0 {
            cx.violate(
                Rule::new("MQTT-3-8.3-4"),
                format!("reserved bits of the requested QoS byte are set for {filter:?}"),
            );
        } else if qos == 3 {
            cx.violate(
                Rule::new("MQTT-3-8.3-4"),
                format!("requested QoS 3 for {filter:?}"),
            );
        }
        topics.push(Subscription {
            filter,
            options,
            qos,
            no_local,
            retain_as_published: v5 && options & 0x08 != 0,
            retain_handling,
        });
    }
    if topics.is_empty() && !cx.prefix {
        cx.violate(
            cx.rule(Rule::new("MQTT-3.8.3-2"), Rule::new("MQTT-3.8.3-3")),
            "SUBSCRIBE has no topic filter",
        );
    }
    Ok((
        i,
        Packet::Subscribe(Subscribe {
            header,
            version: cx.version,
            packet_id,
            properties,
            topics,
        }),
    ))
}

/// The payload of a SUBACK / UNSUBACK: one reason code per topic filter,
/// each checked, at least one. Returns the (empty) rest of the input.
fn reason_code_list<'a>(codes: &'a [u8], cx: &mut Ctx, section: Rule, what: &str) -> &'a [u8] {
    for &c in codes {
        if cx.settled() {
            break;
        }
        check_reason_code(cx, ReasonCode(c));
    }
    if codes.is_empty() && !cx.prefix {
        cx.violate(section, format!("{what} has no reason code"));
    }
    codes.get(codes.len()..).unwrap_or_default()
}

fn suback<'a>(i: &'a [u8], header: FixedHeader, cx: &mut Ctx) -> PResult<'a, Packet<'a>> {
    let (i, packet_id) = two(i, "packet identifier")?;
    check_packet_id(cx, packet_id);
    let (codes, properties) = properties_if_v5(i, cx)?;
    let end = reason_code_list(codes, cx, Rule::new("3.9.3"), "SUBACK");
    Ok((
        end,
        Packet::Suback(Suback {
            header,
            version: cx.version,
            packet_id,
            properties,
            reason_codes: codes,
        }),
    ))
}

fn unsubscribe<'a>(i: &'a [u8], header: FixedHeader, cx: &mut Ctx) -> PResult<'a, Packet<'a>> {
    let (i, packet_id) = two(i, "packet identifier")?;
    check_packet_id(cx, packet_id);
    let (mut i, properties) = properties_if_v5(i, cx)?;
    let mut topics = Vec::new();
    while !i.is_empty() && !cx.settled() {
        let (r, filter) = utf8(i, "topic filter", cx)?;
        i = r;
        if let Some((rule, message)) = topic_filter_problem(filter, cx.version.is_v5()) {
            cx.violate(rule, message);
        }
        topics.push(filter);
    }
    if topics.is_empty() && !cx.prefix {
        cx.violate(
            Rule::new("MQTT-3.10.3-2"),
            "UNSUBSCRIBE has no topic filter",
        );
    }
    Ok((
        i,
        Packet::Unsubscribe(Unsubscribe {
            header,
            packet_id,
            properties,
            topics,
        }),
    ))
}

fn unsuback<'a>(i: &'a [u8], header: FixedHeader, cx: &mut Ctx) -> PResult<'a, Packet<'a>> {
    let (i, packet_id) = two(i, "packet identifier")?;
    check_packet_id(cx, packet_id);
    if !cx.version.is_v5() {
        let packet = Unsuback {
            header,
            packet_id,
            properties: Properties::default(),
            reason_codes: None,
        };
        return Ok((i, Packet::Unsuback(packet)));
    }
    let (codes, properties) = properties_if_v5(i, cx)?;
    let end = reason_code_list(codes, cx, Rule::new("3.11.3"), "UNSUBACK");
    Ok((
        end,
        Packet::Unsuback(Unsuback {
            header,
            packet_id,
            properties,
            reason_codes: Some(codes),
        }),
    ))
}

/// Reason code and properties of DISCONNECT / AUTH, both of which may leave
/// out everything (remaining length 0) or only the properties (length 1).
fn reason_and_properties<'a>(
    i: &'a [u8],
    cx: &mut Ctx,
) -> PResult<'a, (ReasonCode, Properties<'a>)> {
    if i.is_empty() {
        return Ok((i, (ReasonCode::SUCCESS, Properties::default())));
    }
    let (i, code) = byte(i, "reason code")?;
    check_reason_code(cx, ReasonCode(code));
    let (i, properties) = if i.is_empty() {
        (i, Properties::default())
    } else {
        properties_if_v5(i, cx)?
    };
    Ok((i, (ReasonCode(code), properties)))
}

fn disconnect<'a>(i: &'a [u8], header: FixedHeader, cx: &mut Ctx) -> PResult<'a, Packet<'a>> {
    if !cx.version.is_v5() {
        return Ok((
            i,
            Packet::Disconnect(Disconnect {
                header,
                reason_code: None,
                properties: Properties::default(),
            }),
        ));
    }
    let (i, (rc, properties)) = reason_and_properties(i, cx)?;
    Ok((
        i,
        Packet::Disconnect(Disconnect {
            header,
            reason_code: Some(rc),
            properties,
        }),
    ))
}

fn auth<'a>(i: &'a [u8], header: FixedHeader, cx: &mut Ctx) -> PResult<'a, Packet<'a>> {
    let (i, (reason_code, properties)) = reason_and_properties(i, cx)?;
    Ok((
        i,
        Packet::Auth(Auth {
            header,
            reason_code,
            properties,
        }),
    ))
}

/// Whether a PUBLISH body carries a property block (5.0) or not (3.x).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    NoProperties,
    WithProperties,
}

impl Layout {
    pub fn of(version: ProtocolVersion) -> Layout {
        if version.is_v5() {
            Layout::WithProperties
        } else {
            Layout::NoProperties
        }
    }
}

/// How long a PUBLISH variable header is, from a prefix of its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadLen {
    /// At least this many body bytes are needed to tell.
    Need(usize),
    /// The variable header is this many bytes; the payload follows.
    Known(usize),
    /// The lengths inside do not fit in `body_len` (or a 5-byte integer).
    Invalid,
}

/// Incrementally measures a PUBLISH variable header (topic, packet id,
/// properties) without decoding it, so that a large PUBLISH can be framed
/// while only its header and payload preview are buffered.
pub(crate) fn publish_head_len(
    prefix: &[u8],
    flags: u8,
    layout: Layout,
    body_len: usize,
) -> HeadLen {
    let need = |n: usize| {
        if n > body_len {
            HeadLen::Invalid
        } else {
            HeadLen::Need(n)
        }
    };
    let (Some(&hi), Some(&lo)) = (prefix.first(), prefix.get(1)) else {
        return need(2);
    };
    let mut off = 2 + usize::from(u16::from_be_bytes([hi, lo]));
    if (flags >> 1) & 3 != 0 {
        off += 2;
    }
    if off > body_len {
        return HeadLen::Invalid;
    }
    if layout == Layout::NoProperties {
        return HeadLen::Known(off);
    }
    let Some(rest) = prefix.get(off..) else {
        return need(off + 1);
    };
    match var_int(rest, "property length") {
        Ok((_, (len, used))) => {
            let end = off + used + len as usize;
            if end > body_len {
                HeadLen::Invalid
            } else {
                HeadLen::Known(end)
            }
        }
        Err(nom::Err::Error(e)) if matches!(e.reason, Reason::Truncated { .. }) => {
            need(off + rest.len() + 1)
        }
        Err(_) => HeadLen::Invalid,
    }
}

/// Cheap check that `first_bytes` start an MQTT CONNECT: fixed header 0x10,
/// a valid remaining length, protocol name "MQTT" or "MQIsdp" and (when
/// present) a known protocol level. Used to recognise MQTT on any port and
/// to tell the client side of a connection picked up without its handshake.
pub fn looks_like_connect(first_bytes: &[u8]) -> bool {
    if first_bytes.first() != Some(&0x10) {
        return false;
    }
    let Ok(h) = parse_fixed_header(first_bytes) else {
        return false;
    };
    let Some(rest) = first_bytes.get(usize::from(h.header_len)..) else {
        return false;
    };
    let name_ok = |name: &[u8], level_ok: &dyn Fn(u8) -> bool| {
        let n = name.len();
        rest.get(..2 + n).is_some_and(|b| {
            b.get(2..) == Some(name) && b.first() == Some(&0) && b.get(1) == Some(&(n as u8))
        }) && rest.get(2 + n).is_none_or(|&l| level_ok(l & 0x7f))
    };
    name_ok(b"MQTT", &|l| l == 4 || l == 5) || name_ok(b"MQIsdp", &|l| l == 3)
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
