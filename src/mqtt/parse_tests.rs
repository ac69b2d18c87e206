//! Packet parser tests. Byte vectors are written by hand from the layouts in
//! the MQTT 3.1.1 and 5.0 specifications; comments name the fields.

use super::*;
use ProtocolVersion::{V5, V31, V311};

/// A packet: first byte, minimal remaining length, body.
fn pkt(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut n = body.len();
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

/// Concatenates byte pieces (fields) into one body.
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A UTF-8 string / binary field: two-byte length then the bytes.
fn s(text: &str) -> Vec<u8> {
    let mut v = (text.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(text.as_bytes());
    v
}

fn ok(bytes: &[u8], v: ProtocolVersion) -> Decoded<'_> {
    match parse_packet(bytes, v, 64) {
        Ok((d, used)) => {
            assert_eq!(used, bytes.len(), "packet length");
            d
        }
        Err(e) => panic!("{bytes:02x?} did not decode: {e:?}"),
    }
}

/// Decodes and asserts that the packet breaks nothing.
fn clean(bytes: &[u8], v: ProtocolVersion) -> Packet<'_> {
    let d = ok(bytes, v);
    assert!(
        d.violations.is_empty(),
        "unexpected violations {:?}",
        d.violations
    );
    d.packet
}

/// The rules a decodable packet breaks.
fn rules(bytes: &[u8], v: ProtocolVersion) -> Vec<&'static str> {
    ok(bytes, v)
        .violations
        .iter()
        .map(|x| x.rule.as_str())
        .collect()
}

fn bad(bytes: &[u8], v: ProtocolVersion) -> Malformed {
    match parse_packet(bytes, v, 64) {
        Err(ParseError::Malformed(m)) => m,
        other => panic!("{bytes:02x?} should be malformed, got {other:?}"),
    }
}

// ---------------------------------------------------------------- fixed header

#[test]
fn fixed_header_lengths() {
    assert_eq!(
        parse_fixed_header(&[]),
        Err(ParseError::Incomplete { needed: 2 })
    );
    assert_eq!(
        parse_fixed_header(&[0x30]),
        Err(ParseError::Incomplete { needed: 2 })
    );
    assert_eq!(
        parse_fixed_header(&[0x30, 0x80]),
        Err(ParseError::Incomplete { needed: 3 })
    );
    let h = parse_fixed_header(&[0x30, 0xff, 0xff, 0xff, 0x7f]).unwrap();
    assert_eq!((h.length, h.header_len), (268_435_455, 5));
    let h = parse_fixed_header(&[0x3b, 0x80, 0x01]).unwrap();
    assert_eq!(
        (h.packet_type, h.flags, h.length, h.header_len),
        (PacketType::Publish, 0xb, 128, 3)
    );
}

#[test]
fn five_byte_remaining_length_is_malformed() {
    let m = match parse_fixed_header(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]) {
        Err(ParseError::Malformed(m)) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(m.reason, Reason::RemainingLengthTooLong);
    assert_eq!(m.packet_type, Some(PacketType::Publish));
    assert!(
        m.to_string().starts_with("remaining length uses 5 bytes"),
        "{m}"
    );
    // Already known at the fourth byte: no need to wait for the fifth.
    assert!(matches!(
        parse_fixed_header(&[0x30, 0xff, 0xff, 0xff, 0xff]),
        Err(ParseError::Malformed(_))
    ));
}

#[test]
fn reserved_type_zero_is_malformed() {
    let m = bad(&[0x00, 0x00], V311);
    assert_eq!(
        (m.packet_type, m.reason.clone()),
        (None, Reason::ReservedPacketType)
    );
}

#[test]
fn incomplete_packet_reports_needed_bytes() {
    assert_eq!(
        parse_packet(&[0x40, 0x02, 0x00], V311, 64),
        Err(ParseError::Incomplete { needed: 4 })
    );
}

#[test]
fn non_minimal_remaining_length_is_a_violation() {
    // PINGREQ with remaining length 0 written as 0x80 0x00.
    assert_eq!(rules(&[0xc0, 0x80, 0x00], V5), vec!["MQTT-1.5.5-1"]);
}

// ---------------------------------------------------------------- CONNECT

/// CONNECT variable header for "MQTT" level 4: name, level, flags, keep alive.
fn connect311(flags: u8, payload: &[u8]) -> Vec<u8> {
    pkt(0x10, &cat(&[&s("MQTT"), &[4, flags, 0x00, 0x3c], payload]))
}

#[test]
fn connect_311_minimal() {
    // Clean session, keep alive 60, client id "cd".
    let b = connect311(0x02, &s("cd"));
    let Packet::Connect(c) = clean(&b, V5) else {
        panic!()
    };
    assert_eq!(c.protocol_name, "MQTT");
    assert_eq!(c.protocol_level, 4);
    assert_eq!(c.version(), Some(V311));
    assert!(c.clean_start);
    assert_eq!(c.keepalive, 60);
    assert_eq!(c.client_id, "cd");
    assert_eq!(
        (c.will.is_none(), c.username, c.password),
        (true, None, None)
    );
    assert_eq!(ok(&b, V5).version, V311, "CONNECT decodes as its own level");
}

#[test]
fn connect_31_mqisdp() {
    let b = pkt(
        0x10,
        &cat(&[&s("MQIsdp"), &[3, 0x02, 0x00, 0x0a], &s("client-31")]),
    );
    let d = ok(&b, V311);
    assert!(d.violations.is_empty(), "{:?}", d.violations);
    assert_eq!(d.version, V31);
    // 3.1 client identifiers are 1..=23 bytes.
    let b = pkt(
        0x10,
        &cat(&[
            &s("MQIsdp"),
            &[3, 0x02, 0x00, 0x0a],
            &s("a-client-id-of-24-bytes!"),
        ]),
    );
    assert_eq!(rules(&b, V311), vec!["3.1.3.1"]);
}

#[test]
fn connect_full_311() {
    // Flags 0xF6 = user, password, will retain, will QoS 2, will, clean session.
    let payload = cat(&[
        &s("id"),
        &s("will/t"),
        &s("bye"),
        &s("user"),
        &[0x00, 0x02, 0xff, 0x00],
    ]);
    let b = connect311(0xF6, &payload);
    let Packet::Connect(c) = clean(&b, V311) else {
        panic!()
    };
    let w = c.will.as_ref().unwrap();
    assert_eq!(
        (w.topic, w.qos, w.retain, w.payload),
        ("will/t", 2, true, &b"bye"[..])
    );
    assert_eq!(c.username, Some("user"));
    assert_eq!(c.password, Some(&[0xff, 0x00][..]));
}

#[test]
fn connect_full_5() {
    // Properties: Session Expiry Interval 120, Receive Maximum 10, Topic Alias Maximum 5,
    // User Property ("k","v").
    let props = cat(&[
        &[0x11, 0, 0, 0, 120],
        &[0x21, 0, 10],
        &[0x22, 0, 5],
        &[0x26],
        &s("k"),
        &s("v"),
    ]);
    // Will properties: Will Delay Interval 30, Payload Format Indicator 1, Content Type "t".
    let will_props = cat(&[&[0x18, 0, 0, 0, 30], &[0x01, 1], &[0x03], &s("t")]);
    let body = cat(&[
        &s("MQTT"),
        &[5, 0xCE, 0x00, 0x1e], // user, password, will QoS 1, will, clean start; keep alive 30
        &[props.len() as u8],
        &props,
        &s("sensor-7"),
        &[will_props.len() as u8],
        &will_props,
        &s("w"),
        &s("gone"),
        &s("u"),
        &s("p"),
    ]);
    let b = pkt(0x10, &body);
    let d = ok(&b, V311);
    assert!(d.violations.is_empty(), "{:?}", d.violations);
    assert_eq!(d.version, V5);
    let Packet::Connect(c) = d.packet else {
        panic!()
    };
    assert_eq!(c.properties.session_expiry_interval, Some(120));
    assert_eq!(c.properties.receive_maximum, Some(10));
    assert_eq!(c.properties.topic_alias_maximum, Some(5));
    assert_eq!(c.properties.user_properties, vec![("k", "v")]);
    let w = c.will.unwrap();
    assert_eq!(w.properties.will_delay_interval, Some(30));
    assert_eq!(w.properties.payload_format_indicator, Some(1));
    assert_eq!(w.properties.content_type, Some("t"));
    assert_eq!((w.topic, w.qos, w.payload), ("w", 1, &b"gone"[..]));
    assert_eq!((c.username, c.password), (Some("u"), Some(&b"p"[..])));
}

#[test]
fn connect_flag_rules() {
    // Reserved bit 0.
    assert_eq!(
        rules(&connect311(0x03, &s("c")), V311),
        vec!["MQTT-3.1.2-3"]
    );
    // Will QoS 1 without the will flag; will retain without the will flag.
    assert_eq!(
        rules(&connect311(0x0A, &s("c")), V311),
        vec!["MQTT-3.1.2-13"]
    );
    assert_eq!(
        rules(&connect311(0x22, &s("c")), V311),
        vec!["MQTT-3.1.2-15"]
    );
    // Will QoS 3 with the will flag.
    let b = connect311(0x1E, &cat(&[&s("c"), &s("w"), &s("x")]));
    assert_eq!(rules(&b, V311), vec!["MQTT-3.1.2-14"]);
    // Password without user name: forbidden in 3.1.1 ...
    let b = connect311(0x42, &cat(&[&s("c"), &s("pw")]));
    assert_eq!(rules(&b, V311), vec!["MQTT-3.1.2-22"]);
    // ... allowed in 5.0.
    let b = pkt(
        0x10,
        &cat(&[&s("MQTT"), &[5, 0x42, 0, 0, 0], &s("c"), &s("pw")]),
    );
    assert!(rules(&b, V5).is_empty());
    // Empty client id needs clean session in 3.1.1.
    assert_eq!(rules(&connect311(0x00, &s("")), V311), vec!["MQTT-3.1.3-7"]);
    assert!(rules(&connect311(0x02, &s("")), V311).is_empty());
    // Will topic with a wildcard.
    let b = connect311(0x06, &cat(&[&s("c"), &s("a/#"), &s("x")]));
    assert_eq!(rules(&b, V311), vec!["MQTT-4.7.1-1"]);
}

#[test]
fn connect_5_numbers_rules_differently() {
    // Will QoS 2 without the will flag is MQTT-3.1.2-11 in 5.0.
    let b = pkt(0x10, &cat(&[&s("MQTT"), &[5, 0x12, 0, 0, 0], &s("c")]));
    assert_eq!(rules(&b, V311), vec!["MQTT-3.1.2-11"]);
}

#[test]
fn connect_protocol_names_and_levels() {
    // "MQTT" with level 3.
    let b = pkt(0x10, &cat(&[&s("MQTT"), &[3, 0x02, 0, 0], &s("c")]));
    assert_eq!(rules(&b, V311), vec!["MQTT-3.1.2-1"]);
    // Level 6 with "MQTT": unsupported, decoded as 3.1.1.
    let b = pkt(0x10, &cat(&[&s("MQTT"), &[6, 0x02, 0, 0], &s("c")]));
    let d = ok(&b, V5);
    assert_eq!(d.version, V311);
    assert_eq!(d.violations[0].rule, "MQTT-3.1.2-2");
    // Bridge bit (mosquitto): level 0x84.
    let b = pkt(0x10, &cat(&[&s("MQTT"), &[0x84, 0x02, 0, 0], &s("c")]));
    let d = ok(&b, V5);
    assert_eq!(
        (d.version, d.violations[0].rule.as_str()),
        (V311, "3.1.2.2")
    );
    // Not MQTT at all.
    let b = pkt(0x10, &cat(&[&s("HTTP"), &[1, 0x02, 0, 0], &s("c")]));
    let m = bad(&b, V311);
    assert_eq!(
        m.reason,
        Reason::NotMqtt {
            name: "HTTP".into(),
            level: 1
        }
    );
    assert_eq!(m.offset, 2 + 6);
}

#[test]
fn connect_missing_user_name_is_malformed() {
    // User name flag set, but the packet ends after the client id.
    let m = bad(&connect311(0x82, &s("c")), V311);
    assert_eq!(m.reason, Reason::Truncated { what: "user name" });
    assert_eq!(
        m.to_string(),
        "packet ends inside the user name (at offset 15 of 15)"
    );
}

#[test]
fn connect_invalid_utf8_client_id_is_malformed() {
    let m = bad(&connect311(0x02, &[0x00, 0x02, 0xc3, 0x28]), V311);
    assert_eq!(
        m.reason,
        Reason::InvalidUtf8 {
            what: "client identifier"
        }
    );
    assert_eq!(m.offset, 12);
}

// ---------------------------------------------------------------- CONNACK

#[test]
fn connack_311() {
    let Packet::Connack(c) = clean(&[0x20, 0x02, 0x01, 0x00], V311) else {
        panic!()
    };
    assert!(c.session_present);
    assert_eq!(c.reason_code, ReasonCode(0));
    let Packet::Connack(c) = clean(&[0x20, 0x02, 0x00, 0x05], V311) else {
        panic!()
    };
    assert_eq!(
        c.reason_code.name_for(PacketType::Connack, V311),
        Some("Connection Refused, not authorized")
    );
    // Return code 6 is reserved; reserved ack flag bits; session present on refusal.
    assert_eq!(rules(&[0x20, 0x02, 0x00, 0x06], V311), vec!["3.2.2.3"]);
    assert_eq!(rules(&[0x20, 0x02, 0x02, 0x00], V311), vec!["3.2.2.1"]);
    assert_eq!(rules(&[0x20, 0x02, 0x01, 0x04], V311), vec!["MQTT-3.2.2-4"]);
    // Trailing byte.
    assert_eq!(rules(&[0x20, 0x03, 0x00, 0x00, 0x00], V311), vec!["3.2.1"]);
    // CONNACK flags must be 0.
    assert_eq!(rules(&[0x21, 0x02, 0x00, 0x00], V311), vec!["MQTT-2.2.2-1"]);
}

#[test]
fn connack_31_has_no_session_present() {
    let Packet::Connack(c) = clean(&[0x20, 0x02, 0x01, 0x00], V31) else {
        panic!()
    };
    assert!(!c.session_present);
}

#[test]
fn connack_5() {
    // Session present, success, properties: Maximum QoS 1, Topic Alias Maximum 10,
    // Assigned Client Identifier "auto-1".
    let props = cat(&[&[0x24, 1], &[0x22, 0, 10], &[0x12], &s("auto-1")]);
    let b = pkt(0x20, &cat(&[&[0x01, 0x00, props.len() as u8], &props]));
    let Packet::Connack(c) = clean(&b, V5) else {
        panic!()
    };
    assert!(c.session_present);
    assert_eq!(c.properties.maximum_qos, Some(1));
    assert_eq!(c.properties.topic_alias_maximum, Some(10));
    assert_eq!(c.properties.assigned_client_identifier, Some("auto-1"));
    // Reason 0x10 is not a CONNACK code; 0x86 is.
    assert_eq!(rules(&[0x20, 0x03, 0x00, 0x10, 0x00], V5), vec!["3.2.2.2"]);
    assert!(rules(&[0x20, 0x03, 0x00, 0x86, 0x00], V5).is_empty());
    assert_eq!(
        rules(&[0x20, 0x03, 0x01, 0x86, 0x00], V5),
        vec!["MQTT-3.2.2-6"]
    );
    // 5.0 requires the property length.
    let m = bad(&[0x20, 0x02, 0x00, 0x00], V5);
    assert_eq!(
        m.reason,
        Reason::Truncated {
            what: "property length"
        }
    );
}

// ---------------------------------------------------------------- PUBLISH

#[test]
fn publish_qos_levels() {
    // QoS 0: topic "a/b", payload "hi".
    let b = pkt(0x30, &cat(&[&s("a/b"), b"hi"]));
    let Packet::Publish(p) = clean(&b, V311) else {
        panic!()
    };
    assert_eq!(
        (p.qos, p.dup, p.retain, p.topic, p.packet_id),
        (0, false, false, "a/b", None)
    );
    assert_eq!((p.payload_len, p.payload_preview), (2, &b"hi"[..]));
    assert_eq!(p.payload_hash(), xxhash_rust::xxh3::xxh3_64(b"hi"));
    // QoS 1 with DUP and RETAIN: flags 0b1011.
    let b = pkt(0x3b, &cat(&[&s("t"), &[0x12, 0x34], b"x"]));
    let Packet::Publish(p) = clean(&b, V311) else {
        panic!()
    };
    assert_eq!(
        (p.qos, p.dup, p.retain, p.packet_id),
        (1, true, true, Some(0x1234))
    );
    // QoS 2, empty payload.
    let b = pkt(0x34, &cat(&[&s("t"), &[0x00, 0x01]]));
    let Packet::Publish(p) = clean(&b, V311) else {
        panic!()
    };
    assert_eq!((p.qos, p.payload_len, p.payload_preview), (2, 0, &b""[..]));
}

#[test]
fn publish_flag_rules() {
    // QoS 3: decoded (with a packet identifier) and flagged.
    let b = pkt(0x36, &cat(&[&s("t"), &[0x00, 0x09]]));
    let d = ok(&b, V311);
    assert_eq!(
        d.violations.iter().map(|v| v.rule).collect::<Vec<_>>(),
        vec!["MQTT-3.3.1-4"]
    );
    assert_eq!(d.packet.packet_id(), Some(9));
    // DUP on QoS 0.
    assert_eq!(rules(&pkt(0x38, &s("t")), V311), vec!["MQTT-3.3.1-2"]);
    // Wildcards in a topic name.
    assert_eq!(rules(&pkt(0x30, &s("a/+")), V311), vec!["MQTT-3.3.2-2"]);
    assert_eq!(
        rules(&pkt(0x30, &cat(&[&s("#"), &[0]])), V5),
        vec!["MQTT-3.3.2-2"]
    );
    // Packet id 0 at QoS 1.
    assert_eq!(
        rules(&pkt(0x32, &cat(&[&s("t"), &[0, 0]])), V311),
        vec!["2.3.1"]
    );
    // Empty topic in 3.1.1.
    assert_eq!(rules(&pkt(0x30, &s("")), V311), vec!["MQTT-4.7.3-1"]);
}

#[test]
fn publish_5_properties_and_alias() {
    // QoS 1 id 5, properties: Topic Alias 3, Message Expiry 60, Response Topic "r",
    // Correlation Data 0x01 0x02, Subscription Identifier 7; payload "{}".
    let props = cat(&[
        &[0x23, 0, 3],
        &[0x02, 0, 0, 0, 60],
        &[0x08],
        &s("r"),
        &[0x09, 0, 2, 1, 2],
        &[0x0B, 7],
    ]);
    let b = pkt(
        0x32,
        &cat(&[&s("dev/1"), &[0, 5, props.len() as u8], &props, b"{}"]),
    );
    let Packet::Publish(p) = clean(&b, V5) else {
        panic!()
    };
    assert_eq!(p.topic, "dev/1");
    assert_eq!(p.properties.topic_alias, Some(3));
    assert_eq!(p.properties.message_expiry_interval, Some(60));
    assert_eq!(p.properties.response_topic, Some("r"));
    assert_eq!(p.properties.correlation_data, Some(&[1, 2][..]));
    assert_eq!(p.properties.subscription_identifiers, vec![7]);
    assert_eq!(p.payload_preview, b"{}");
    // Empty topic with an alias is fine in 5.0; without one it is not.
    assert!(rules(&pkt(0x30, &cat(&[&s(""), &[3, 0x23, 0, 1]])), V5).is_empty());
    assert_eq!(
        rules(&pkt(0x30, &cat(&[&s(""), &[0]])), V5),
        vec!["3.3.2.1"]
    );
    // Topic Alias 0.
    assert_eq!(
        rules(&pkt(0x30, &cat(&[&s("t"), &[3, 0x23, 0, 0]])), V5),
        vec!["MQTT-3.3.2-8"]
    );
    // Payload Format Indicator 144 is still decoded.
    let b = pkt(0x30, &cat(&[&s("t"), &[2, 0x01, 144]]));
    let d = ok(&b, V5);
    let Packet::Publish(p) = &d.packet else {
        panic!()
    };
    assert_eq!(p.properties.payload_format_indicator, Some(144));
    assert_eq!(d.violations[0].rule, "3.3.2.3.2");
    // Payload Format Indicator 1 with a payload that is not UTF-8.
    assert_eq!(
        rules(&pkt(0x30, &cat(&[&s("t"), &[2, 0x01, 1], &[0xff]])), V5),
        vec!["3.3.2.3.2"]
    );
    // A property PUBLISH may not carry.
    let b = pkt(0x30, &cat(&[&s("t"), &[3, 0x13, 0, 1]]));
    let d = ok(&b, V5);
    assert_eq!(
        d.violations[0].message,
        "property Server Keep Alive (0x13) not allowed in PUBLISH"
    );
}

#[test]
fn publish_preview_is_bounded() {
    let payload = vec![b'x'; 1000];
    let b = pkt(0x30, &cat(&[&s("t"), &payload]));
    let (d, _) = parse_packet(&b, V311, 16).unwrap();
    let Packet::Publish(p) = d.packet else {
        panic!()
    };
    assert_eq!((p.payload_len, p.payload_preview.len()), (1000, 16));
    assert_eq!(p.payload_hash(), xxhash_rust::xxh3::xxh3_64(&payload));
}

#[test]
fn publish_malformed_cases() {
    // Topic length runs past the end.
    let m = bad(&[0x30, 0x03, 0x01, 0x2c, b'a'], V311);
    assert_eq!(
        m.to_string(),
        "topic length 300 runs past the packet end (at offset 2 of 5)"
    );
    // Topic not UTF-8.
    let m = bad(&pkt(0x30, &[0x00, 0x01, 0xff]), V311);
    assert_eq!(m.reason, Reason::InvalidUtf8 { what: "topic" });
    assert_eq!(m.to_string(), "topic not valid UTF-8 (at offset 2 of 5)");
    // QoS 1 with no room for the packet identifier.
    let m = bad(&pkt(0x32, &s("t")), V311);
    assert_eq!(
        m.reason,
        Reason::Truncated {
            what: "packet identifier"
        }
    );
    // 5.0 property length past the end.
    let m = bad(&pkt(0x30, &cat(&[&s("t"), &[0x05, 0x01]])), V5);
    assert_eq!(
        m.to_string(),
        "property block length 5 runs past the packet end (at offset 5 of 7)"
    );
}

// ---------------------------------------------------------------- PUBACK .. PUBCOMP

#[test]
fn acks_311() {
    for (first, t) in [
        (0x40, PacketType::Puback),
        (0x50, PacketType::Pubrec),
        (0x62, PacketType::Pubrel),
        (0x70, PacketType::Pubcomp),
    ] {
        let b = [first, 0x02, 0x00, 0x07];
        let p = clean(&b, V311);
        assert_eq!((p.packet_type(), p.packet_id()), (t, Some(7)));
        let (Packet::Puback(r) | Packet::Pubrec(r) | Packet::Pubrel(r) | Packet::Pubcomp(r)) = &p
        else {
            panic!()
        };
        assert_eq!(r.reason_code, None);
        // 3.1.1 has no reason code: a third byte is left over.
        assert_eq!(rules(&[first, 0x03, 0x00, 0x07, 0x00], V311).len(), 1);
    }
    assert_eq!(rules(&[0x40, 0x02, 0x00, 0x00], V311), vec!["2.3.1"]);
}

#[test]
fn ack_flag_rules() {
    // PUBREL must be 0b0010, the others 0.
    assert_eq!(rules(&[0x60, 0x02, 0x00, 0x01], V311), vec!["MQTT-2.2.2-1"]);
    assert_eq!(rules(&[0x60, 0x02, 0x00, 0x01], V5), vec!["MQTT-2.1.3-1"]);
    assert_eq!(rules(&[0x42, 0x02, 0x00, 0x01], V311), vec!["MQTT-2.2.2-1"]);
    assert_eq!(rules(&[0x51, 0x02, 0x00, 0x01], V311), vec!["MQTT-2.2.2-1"]);
    assert_eq!(rules(&[0x78, 0x02, 0x00, 0x01], V311), vec!["MQTT-2.2.2-1"]);
    // MQTT 3.1 retried PUBREL with DUP set.
    assert!(rules(&[0x6a, 0x02, 0x00, 0x01], V31).is_empty());
    assert_eq!(rules(&[0x6a, 0x02, 0x00, 0x01], V311), vec!["MQTT-2.2.2-1"]);
}

#[test]
fn acks_5_short_forms() {
    // Remaining length 2: reason code 0, no properties.
    let Packet::Puback(r) = clean(&[0x40, 0x02, 0x00, 0x07], V5) else {
        panic!()
    };
    assert_eq!(
        (r.reason_code, r.properties.is_empty()),
        (Some(ReasonCode(0)), true)
    );
    // Remaining length 3: reason code only.
    let Packet::Pubrec(r) = clean(&[0x50, 0x03, 0x00, 0x07, 0x10], V5) else {
        panic!()
    };
    assert_eq!(r.reason_code, Some(ReasonCode::NO_MATCHING_SUBSCRIBERS));
    // Remaining length 4: reason code and an empty property block.
    let Packet::Pubrel(r) = clean(&[0x62, 0x04, 0x00, 0x07, 0x92, 0x00], V5) else {
        panic!()
    };
    assert_eq!(r.reason_code, Some(ReasonCode::PACKET_IDENTIFIER_NOT_FOUND));
    // With a reason string.
    let b = pkt(0x70, &cat(&[&[0, 7, 0x92, 4, 0x1f], &s("x")]));
    let Packet::Pubcomp(r) = clean(&b, V5) else {
        panic!()
    };
    assert_eq!(r.properties.reason_string, Some("x"));
}

#[test]
fn ack_reason_codes_are_checked_per_packet() {
    // 0x10 is allowed in PUBACK, not in PUBCOMP; 0x92 in PUBREL, not in PUBACK.
    assert!(rules(&[0x40, 0x03, 0, 1, 0x10], V5).is_empty());
    assert_eq!(rules(&[0x70, 0x03, 0, 1, 0x10], V5), vec!["3.7.2.1"]);
    assert_eq!(rules(&[0x40, 0x03, 0, 1, 0x92], V5), vec!["3.4.2.1"]);
    assert_eq!(rules(&[0x50, 0x03, 0, 1, 0x01], V5), vec!["3.5.2.1"]);
    assert_eq!(rules(&[0x62, 0x03, 0, 1, 0x80], V5), vec!["3.6.2.1"]);
}

#[test]
fn unknown_property_is_malformed_with_offset() {
    // PUBACK 5.0: id 1, reason 0, property length 2, identifier 0x7f.
    let m = bad(&[0x40, 0x06, 0x00, 0x01, 0x00, 0x02, 0x7f, 0x00], V5);
    assert_eq!(
        m.to_string(),
        "unknown property identifier 0x7f (at offset 6 of 8)"
    );
    assert_eq!(m.packet_type, Some(PacketType::Puback));
}

#[test]
fn property_not_allowed_is_a_violation() {
    // Topic Alias in a PUBACK.
    let d = ok(&[0x40, 0x07, 0x00, 0x01, 0x00, 0x03, 0x23, 0x00, 0x01], V5);
    assert_eq!(
        d.violations[0].message,
        "property Topic Alias (0x23) not allowed in PUBACK"
    );
    assert_eq!(d.violations[0].rule, "2.2.2.2");
}

// ---------------------------------------------------------------- SUBSCRIBE / SUBACK

#[test]
fn subscribe_311() {
    let b = pkt(
        0x82,
        &cat(&[&[0x00, 0x0a], &s("a/+"), &[1], &s("b/#"), &[2]]),
    );
    let Packet::Subscribe(sub) = clean(&b, V311) else {
        panic!()
    };
    assert_eq!(sub.packet_id, 10);
    assert_eq!(
        sub.topics
            .iter()
            .map(|t| (t.filter, t.qos))
            .collect::<Vec<_>>(),
        vec![("a/+", 1), ("b/#", 2)]
    );
    // Flags must be 0b0010.
    let b = pkt(0x80, &cat(&[&[0, 1], &s("a"), &[0]]));
    assert_eq!(rules(&b, V311), vec!["MQTT-2.2.2-1"]);
    // No topic filter at all.
    assert_eq!(rules(&pkt(0x82, &[0, 1]), V311), vec!["MQTT-3.8.3-3"]);
    // QoS 3 and reserved bits in the requested QoS byte.
    assert_eq!(
        rules(&pkt(0x82, &cat(&[&[0, 1], &s("a"), &[3]])), V311),
        vec!["MQTT-3-8.3-4"]
    );
    assert_eq!(
        rules(&pkt(0x82, &cat(&[&[0, 1], &s("a"), &[0x41]])), V311),
        vec!["MQTT-3-8.3-4"]
    );
    // Invalid filters.
    assert_eq!(
        rules(&pkt(0x82, &cat(&[&[0, 1], &s("a#"), &[0]])), V311),
        vec!["4.7.1.2"]
    );
    assert_eq!(
        rules(&pkt(0x82, &cat(&[&[0, 1], &s(""), &[0]])), V311),
        vec!["MQTT-4.7.3-1"]
    );
    // A filter without its options byte.
    let m = bad(&pkt(0x82, &cat(&[&[0, 1], &s("a")])), V311);
    assert_eq!(
        m.reason,
        Reason::Truncated {
            what: "requested QoS"
        }
    );
    // MQTT 3.1 retry with DUP.
    assert!(rules(&pkt(0x8a, &cat(&[&[0, 1], &s("a"), &[0]])), V31).is_empty());
}

#[test]
fn subscribe_5_options() {
    // Options 0x2D = retain handling 2, retain as published, no local, QoS 1.
    // Subscription Identifier 9.
    let b = pkt(0x82, &cat(&[&[0, 3, 2, 0x0B, 9], &s("x/y"), &[0x2D]]));
    let Packet::Subscribe(sub) = clean(&b, V5) else {
        panic!()
    };
    assert_eq!(sub.properties.subscription_identifiers, vec![9]);
    let t = &sub.topics[0];
    assert_eq!(
        (t.qos, t.no_local, t.retain_as_published, t.retain_handling),
        (1, true, true, 2)
    );
    let one =
        |opts: u8, filter: &str| rules(&pkt(0x82, &cat(&[&[0, 3, 0], &s(filter), &[opts]])), V5);
    assert_eq!(one(0x30, "a"), vec!["3.8.3.1"], "retain handling 3");
    assert_eq!(one(0x03, "a"), vec!["3.8.3.1"], "QoS 3");
    assert_eq!(one(0x40, "a"), vec!["MQTT-3.8.3-5"], "reserved bits");
    assert_eq!(
        one(0x04, "$share/g/a"),
        vec!["MQTT-3.8.3-4"],
        "no local on shared"
    );
    assert!(one(0x00, "$share/g/a").is_empty());
    // Two Subscription Identifiers.
    let b = pkt(0x82, &cat(&[&[0, 3, 4, 0x0B, 1, 0x0B, 2], &s("a"), &[0]]));
    assert!(rules(&b, V5).contains(&"3.8.2.1.2"));
    // Empty in 5.0.
    assert_eq!(rules(&pkt(0x82, &[0, 1, 0]), V5), vec!["MQTT-3.8.3-2"]);
}

#[test]
fn suback() {
    let Packet::Suback(a) = clean(&[0x90, 0x05, 0x00, 0x0a, 0x01, 0x02, 0x80], V311) else {
        panic!()
    };
    assert_eq!((a.packet_id, a.reason_codes), (10, &[1, 2, 0x80][..]));
    assert_eq!(
        rules(&[0x90, 0x03, 0x00, 0x0a, 0x03], V311),
        vec!["MQTT-3.9.3-2"]
    );
    assert_eq!(rules(&[0x90, 0x02, 0x00, 0x0a], V311), vec!["3.9.3"]);
    // 5.0: property block then codes (0xA2 wildcard subscriptions not supported).
    let b = pkt(0x90, &cat(&[&[0, 10, 4, 0x1f], &s("n"), &[0x00, 0xA2]]));
    let Packet::Suback(a) = clean(&b, V5) else {
        panic!()
    };
    assert_eq!(a.properties.reason_string, Some("n"));
    assert_eq!(
        a.codes().collect::<Vec<_>>(),
        vec![ReasonCode(0), ReasonCode(0xA2)]
    );
    assert_eq!(
        rules(&[0x90, 0x04, 0x00, 0x0a, 0x00, 0x10], V5),
        vec!["3.9.3"]
    );
}

// ---------------------------------------------------------------- UNSUBSCRIBE / UNSUBACK

#[test]
fn unsubscribe() {
    let b = pkt(0xa2, &cat(&[&[0, 4], &s("a/b"), &s("c")]));
    let Packet::Unsubscribe(u) = clean(&b, V311) else {
        panic!()
    };
    assert_eq!((u.packet_id, u.topics.clone()), (4, vec!["a/b", "c"]));
    assert_eq!(
        rules(&pkt(0xa0, &cat(&[&[0, 4], &s("a")])), V311),
        vec!["MQTT-2.2.2-1"]
    );
    assert_eq!(rules(&pkt(0xa2, &[0, 4]), V311), vec!["MQTT-3.10.3-2"]);
    // 5.0 with a user property.
    let b = pkt(0xa2, &cat(&[&[0, 4, 7, 0x26], &s("k"), &s("v"), &s("a")]));
    let Packet::Unsubscribe(u) = clean(&b, V5) else {
        panic!()
    };
    assert_eq!(u.properties.user_properties, vec![("k", "v")]);
}

#[test]
fn unsuback() {
    let Packet::Unsuback(u) = clean(&[0xb0, 0x02, 0x00, 0x04], V311) else {
        panic!()
    };
    assert_eq!((u.packet_id, u.reason_codes), (4, None));
    assert_eq!(rules(&[0xb0, 0x03, 0x00, 0x04, 0x00], V311), vec!["3.11.1"]);
    let Packet::Unsuback(u) = clean(&[0xb0, 0x05, 0x00, 0x04, 0x00, 0x00, 0x11], V5) else {
        panic!()
    };
    assert_eq!(u.reason_codes, Some(&[0x00, 0x11][..]));
    assert_eq!(
        rules(&[0xb0, 0x04, 0x00, 0x04, 0x00, 0x10], V5),
        vec!["3.11.3"]
    );
    assert_eq!(rules(&[0xb0, 0x03, 0x00, 0x04, 0x00], V5), vec!["3.11.3"]);
}

// ---------------------------------------------------------------- PING, DISCONNECT, AUTH

#[test]
fn ping() {
    assert_eq!(
        clean(&[0xc0, 0x00], V311).packet_type(),
        PacketType::Pingreq
    );
    assert_eq!(clean(&[0xd0, 0x00], V5).packet_type(), PacketType::Pingresp);
    assert_eq!(rules(&[0xc1, 0x00], V311), vec!["MQTT-2.2.2-1"]);
    assert_eq!(rules(&[0xd0, 0x01, 0x00], V311), vec!["3.13.1"]);
}

#[test]
fn disconnect() {
    let Packet::Disconnect(d) = clean(&[0xe0, 0x00], V311) else {
        panic!()
    };
    assert_eq!(d.reason_code, None);
    assert_eq!(rules(&[0xe0, 0x01, 0x00], V311), vec!["3.14.1"]);
    assert_eq!(rules(&[0xe2, 0x00], V311), vec!["MQTT-2.2.2-1"]);
    // 5.0 short forms: length 0 (normal disconnection), length 1 (reason only).
    let Packet::Disconnect(d) = clean(&[0xe0, 0x00], V5) else {
        panic!()
    };
    assert_eq!(d.reason_code, Some(ReasonCode::NORMAL_DISCONNECTION));
    let Packet::Disconnect(d) = clean(&[0xe0, 0x01, 0x04], V5) else {
        panic!()
    };
    assert_eq!(
        d.reason_code,
        Some(ReasonCode::DISCONNECT_WITH_WILL_MESSAGE)
    );
    // Reason + Session Expiry Interval + Server Reference.
    let b = pkt(0xe0, &cat(&[&[0x9c, 9, 0x11, 0, 0, 0, 0, 0x1c], &s("s")]));
    let Packet::Disconnect(d) = clean(&b, V5) else {
        panic!()
    };
    assert_eq!(d.properties.session_expiry_interval, Some(0));
    assert_eq!(d.properties.server_reference, Some("s"));
    assert_eq!(rules(&[0xe0, 0x01, 0x10], V5), vec!["3.14.2.1"]);
}

#[test]
fn auth() {
    let Packet::Auth(a) = clean(&[0xf0, 0x00], V5) else {
        panic!()
    };
    assert_eq!(a.reason_code, ReasonCode::SUCCESS);
    let Packet::Auth(a) = clean(&[0xf0, 0x01, 0x19], V5) else {
        panic!()
    };
    assert_eq!(a.reason_code, ReasonCode::RE_AUTHENTICATE);
    let b = pkt(
        0xf0,
        &cat(&[&[0x18, 9, 0x15], &s("m"), &[0x16, 0, 2, 0xde, 0xad]]),
    );
    let Packet::Auth(a) = clean(&b, V5) else {
        panic!()
    };
    assert_eq!(a.properties.authentication_method, Some("m"));
    assert_eq!(a.properties.authentication_data, Some(&[0xde, 0xad][..]));
    assert_eq!(rules(&[0xf0, 0x01, 0x80], V5), vec!["3.15.2.1"]);
    assert_eq!(rules(&[0xf1, 0x00], V5), vec!["MQTT-2.1.3-1"]);
    let m = bad(&[0xf0, 0x00], V311);
    assert_eq!(m.reason, Reason::AuthBeforeV5);
}

// ---------------------------------------------------------------- framing helpers

#[test]
fn publish_head_len_measures_incrementally() {
    use HeadLen::*;
    // QoS 1, topic "abc", id, properties (2 bytes: 0x01 0x01).
    let body = cat(&[&s("abc"), &[0, 1], &[2, 0x01, 0x01], b"payload"]);
    let n = body.len();
    assert_eq!(
        publish_head_len(&body[..1], 0x02, Layout::WithProperties, n),
        Need(2)
    );
    assert_eq!(
        publish_head_len(&body[..4], 0x02, Layout::WithProperties, n),
        Need(8)
    );
    assert_eq!(
        publish_head_len(&body[..7], 0x02, Layout::WithProperties, n),
        Need(8)
    );
    assert_eq!(
        publish_head_len(&body[..8], 0x02, Layout::WithProperties, n),
        Known(10)
    );
    assert_eq!(
        publish_head_len(&body[..4], 0x02, Layout::NoProperties, n),
        Known(7)
    );
    // The topic length is longer than the body.
    assert_eq!(
        publish_head_len(&[0x10, 0x00], 0x00, Layout::NoProperties, 50),
        Invalid
    );
    // Property length past the body end.
    assert_eq!(
        publish_head_len(&cat(&[&s("a"), &[100]]), 0x00, Layout::WithProperties, 10),
        Invalid
    );
    // A multi-byte property length cut at the prefix end.
    assert_eq!(
        publish_head_len(
            &cat(&[&s("a"), &[0x80]]),
            0x00,
            Layout::WithProperties,
            1000
        ),
        Need(5)
    );
}

#[test]
fn connect_detection() {
    assert!(looks_like_connect(&connect311(0x02, &s("c"))));
    assert!(looks_like_connect(&pkt(
        0x10,
        &cat(&[&s("MQIsdp"), &[3, 2, 0, 0], &s("c")])
    )));
    // Without the level byte yet.
    assert!(looks_like_connect(&[
        0x10, 0x10, 0x00, 0x04, b'M', b'Q', b'T', b'T'
    ]));
    assert!(!looks_like_connect(&[
        0x10, 0x10, 0x00, 0x04, b'M', b'Q', b'T'
    ]));
    assert!(!looks_like_connect(&pkt(
        0x10,
        &cat(&[&s("MQTT"), &[9, 2, 0, 0], &s("c")])
    )));
    assert!(!looks_like_connect(&pkt(
        0x10,
        &cat(&[&s("HTTP"), &[4, 2, 0, 0], &s("c")])
    )));
    assert!(!looks_like_connect(b"GET / HTTP/1.1\r\n"));
    assert!(!looks_like_connect(&[0x10, 0xff, 0xff, 0xff, 0xff, 0x01]));
}
