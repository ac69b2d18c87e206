//! Property tests of MQTT decoding: random valid packets of every type and
//! version are encoded by a small test-only encoder (written from the spec's
//! layouts), then decoded — one by one, as a stream split at random points,
//! with garbage or gaps in it — and must come back unchanged.
//!
//! Generated packets borrow `'static` strings: the strategies leak their
//! (small) strings so that a `Packet<'static>` can be built directly.

use mqtt_inspect::base::{Direction, Timestamp};
use mqtt_inspect::mqtt::*;
use mqtt_inspect::report::{MalformedJson, PacketJson, RenderOptions};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use xxhash_rust::xxh3::xxh3_64;

// ------------------------------------------------------------------ encoder

mod encode {
    use super::*;

    pub fn var_int(out: &mut Vec<u8>, mut n: u32) {
        loop {
            let mut b = (n % 128) as u8;
            n /= 128;
            if n > 0 {
                b |= 0x80;
            }
            out.push(b);
            if n == 0 {
                return;
            }
        }
    }

    pub fn bin(out: &mut Vec<u8>, b: &[u8]) {
        out.extend_from_slice(&(b.len() as u16).to_be_bytes());
        out.extend_from_slice(b);
    }

    fn string(out: &mut Vec<u8>, s: &str) {
        bin(out, s.as_bytes());
    }

    /// A property block: Variable Byte Integer length, then the properties in identifier order.
    pub fn properties(out: &mut Vec<u8>, p: &Properties<'_>) {
        let mut b = Vec::new();
        let byte = |b: &mut Vec<u8>, id: u8, v: Option<u8>| {
            if let Some(v) = v {
                b.extend_from_slice(&[id, v]);
            }
        };
        let two = |b: &mut Vec<u8>, id: u8, v: Option<u16>| {
            if let Some(v) = v {
                b.push(id);
                b.extend_from_slice(&v.to_be_bytes());
            }
        };
        let four = |b: &mut Vec<u8>, id: u8, v: Option<u32>| {
            if let Some(v) = v {
                b.push(id);
                b.extend_from_slice(&v.to_be_bytes());
            }
        };
        let text = |b: &mut Vec<u8>, id: u8, v: Option<&str>| {
            if let Some(v) = v {
                b.push(id);
                string(b, v);
            }
        };
        let data = |b: &mut Vec<u8>, id: u8, v: Option<&[u8]>| {
            if let Some(v) = v {
                b.push(id);
                bin(b, v);
            }
        };
        byte(&mut b, 0x01, p.payload_format_indicator);
        four(&mut b, 0x02, p.message_expiry_interval);
        text(&mut b, 0x03, p.content_type);
        text(&mut b, 0x08, p.response_topic);
        data(&mut b, 0x09, p.correlation_data);
        for &id in &p.subscription_identifiers {
            b.push(0x0B);
            var_int(&mut b, id);
        }
        four(&mut b, 0x11, p.session_expiry_interval);
        text(&mut b, 0x12, p.assigned_client_identifier);
        two(&mut b, 0x13, p.server_keep_alive);
        text(&mut b, 0x15, p.authentication_method);
        data(&mut b, 0x16, p.authentication_data);
        byte(&mut b, 0x17, p.request_problem_information);
        four(&mut b, 0x18, p.will_delay_interval);
        byte(&mut b, 0x19, p.request_response_information);
        text(&mut b, 0x1A, p.response_information);
        text(&mut b, 0x1C, p.server_reference);
        text(&mut b, 0x1F, p.reason_string);
        two(&mut b, 0x21, p.receive_maximum);
        two(&mut b, 0x22, p.topic_alias_maximum);
        two(&mut b, 0x23, p.topic_alias);
        byte(&mut b, 0x24, p.maximum_qos);
        byte(&mut b, 0x25, p.retain_available);
        for (k, v) in &p.user_properties {
            b.push(0x26);
            string(&mut b, k);
            string(&mut b, v);
        }
        four(&mut b, 0x27, p.maximum_packet_size);
        byte(&mut b, 0x28, p.wildcard_subscription_available);
        byte(&mut b, 0x29, p.subscription_identifier_available);
        byte(&mut b, 0x2A, p.shared_subscription_available);
        var_int(out, b.len() as u32);
        out.extend_from_slice(&b);
    }

    /// Reason code and properties, leaving out what the 5.0 short forms allow.
    fn short_form(out: &mut Vec<u8>, rc: ReasonCode, p: &Properties<'_>) {
        if rc.0 == 0 && p.is_empty() {
            return;
        }
        out.push(rc.0);
        if !p.is_empty() {
            properties(out, p);
        }
    }

    /// Encodes `packet` as `version`; `payload` is the whole PUBLISH payload.
    pub fn packet(packet: &Packet<'_>, v: ProtocolVersion, payload: &[u8]) -> Vec<u8> {
        let v5 = v == ProtocolVersion::V5;
        let t = packet.packet_type();
        let mut flags = t.required_flags().unwrap_or(0);
        let mut b = Vec::new();
        match packet {
            Packet::Connect(c) => {
                string(&mut b, c.protocol_name);
                b.push(c.protocol_level);
                b.push(c.connect_flags);
                b.extend_from_slice(&c.keepalive.to_be_bytes());
                if v5 {
                    properties(&mut b, &c.properties);
                }
                string(&mut b, c.client_id);
                if let Some(w) = &c.will {
                    if v5 {
                        properties(&mut b, &w.properties);
                    }
                    string(&mut b, w.topic);
                    bin(&mut b, w.payload);
                }
                if let Some(u) = c.username {
                    string(&mut b, u);
                }
                if let Some(p) = c.password {
                    bin(&mut b, p);
                }
            }
            Packet::Connack(c) => {
                b.extend_from_slice(&[c.ack_flags, c.reason_code.0]);
                if v5 {
                    properties(&mut b, &c.properties);
                }
            }
            Packet::Publish(p) => {
                flags = (u8::from(p.dup) << 3) | (p.qos << 1) | u8::from(p.retain);
                string(&mut b, p.topic);
                if let Some(id) = p.packet_id {
                    b.extend_from_slice(&id.to_be_bytes());
                }
                if v5 {
                    properties(&mut b, &p.properties);
                }
                b.extend_from_slice(payload);
            }
            Packet::Puback(r) | Packet::Pubrec(r) | Packet::Pubrel(r) | Packet::Pubcomp(r) => {
                b.extend_from_slice(&r.packet_id.to_be_bytes());
                if v5 {
                    short_form(
                        &mut b,
                        r.reason_code.unwrap_or(ReasonCode(0)),
                        &r.properties,
                    );
                }
            }
            Packet::Subscribe(s) => {
                b.extend_from_slice(&s.packet_id.to_be_bytes());
                if v5 {
                    properties(&mut b, &s.properties);
                }
                for t in &s.topics {
                    string(&mut b, t.filter);
                    b.push(t.options);
                }
            }
            Packet::Suback(s) => {
                b.extend_from_slice(&s.packet_id.to_be_bytes());
                if v5 {
                    properties(&mut b, &s.properties);
                }
                b.extend_from_slice(s.reason_codes);
            }
            Packet::Unsubscribe(u) => {
                b.extend_from_slice(&u.packet_id.to_be_bytes());
                if v5 {
                    properties(&mut b, &u.properties);
                }
                for f in &u.topics {
                    string(&mut b, f);
                }
            }
            Packet::Unsuback(u) => {
                b.extend_from_slice(&u.packet_id.to_be_bytes());
                if v5 {
                    properties(&mut b, &u.properties);
                    b.extend_from_slice(u.reason_codes.unwrap_or_default());
                }
            }
            Packet::Pingreq(_) | Packet::Pingresp(_) => {}
            Packet::Disconnect(d) => {
                if v5 {
                    short_form(
                        &mut b,
                        d.reason_code.unwrap_or(ReasonCode(0)),
                        &d.properties,
                    );
                }
            }
            Packet::Auth(a) => short_form(&mut b, a.reason_code, &a.properties),
        }
        let mut out = vec![(t.code() << 4) | flags];
        var_int(&mut out, b.len() as u32);
        out.extend_from_slice(&b);
        out
    }
}

// ------------------------------------------------------------------ strategies

fn leak_str(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn leak_bytes(v: Vec<u8>) -> &'static [u8] {
    Box::leak(v.into_boxed_slice())
}

/// Text without wildcards or U+0000 (non-ASCII included).
fn text() -> BoxedStrategy<&'static str> {
    "[a-zA-Z0-9 _./é€😀-]{0,12}".prop_map(leak_str).boxed()
}

fn topic() -> BoxedStrategy<&'static str> {
    "[a-z0-9é_/-]{1,16}".prop_map(leak_str).boxed()
}

/// A valid topic filter (not a shared subscription).
fn filter() -> BoxedStrategy<&'static str> {
    let level = prop_oneof![3 => "[a-z0-9]{1,5}", 1 => Just("+".to_string())];
    (vec(level, 1..4), any::<bool>(), any::<bool>())
        .prop_map(|(levels, hash, only_hash)| {
            if only_hash {
                return "#".to_string();
            }
            let mut f = levels.join("/");
            if hash {
                f.push_str("/#");
            }
            f
        })
        .prop_map(leak_str)
        .boxed()
}

fn data(max: usize) -> BoxedStrategy<&'static [u8]> {
    prop_oneof![
        vec(any::<u8>(), 0..max).prop_map(leak_bytes),
        "[ -~]{0,40}".prop_map(|s| leak_bytes(s.into_bytes())),
    ]
    .boxed()
}

fn codes(t: PacketType, v: ProtocolVersion) -> Vec<u8> {
    (0..=255u8)
        .filter(|&c| ReasonCode(c).is_allowed(t, v))
        .collect()
}

fn rc(t: PacketType) -> BoxedStrategy<ReasonCode> {
    select(codes(t, ProtocolVersion::V5))
        .prop_map(ReasonCode)
        .boxed()
}

/// Random valid properties for `scope`.
fn props(scope: PropertyScope) -> BoxedStrategy<Properties<'static>> {
    let allowed: Vec<PropertyId> = PropertyId::all()
        .filter(|id| id.allowed_in(scope))
        .collect();
    vec(
        (select(allowed), any::<u32>(), text(), data(8), text()),
        0..6,
    )
    .prop_map(move |entries| {
        let mut p = Properties::default();
        for (id, n, s1, bytes, s2) in entries {
            let value = match id.kind() {
                Some(PropertyKind::Byte) => properties::PropertyValue::Byte((n % 2) as u8),
                Some(PropertyKind::TwoByteInteger) => {
                    properties::PropertyValue::Two((n as u16).max(1))
                }
                Some(PropertyKind::FourByteInteger) => properties::PropertyValue::Four(n.max(1)),
                Some(PropertyKind::VariableByteInteger) => {
                    properties::PropertyValue::VarInt(1 + n % 268_435_455)
                }
                Some(PropertyKind::Utf8String) => properties::PropertyValue::Str(s1),
                Some(PropertyKind::BinaryData) => properties::PropertyValue::Bin(bytes),
                Some(PropertyKind::Utf8StringPair) => properties::PropertyValue::Pair(s1, s2),
                None => continue,
            };
            p.insert(id, value);
        }
        if scope == PropertyScope::Packet(PacketType::Subscribe) {
            p.subscription_identifiers.truncate(1);
        }
        p
    })
    .boxed()
}

fn props_if(v5: bool, scope: PropertyScope) -> BoxedStrategy<Properties<'static>> {
    if v5 {
        props(scope)
    } else {
        Just(Properties::default()).boxed()
    }
}

/// Placeholder header; replaced by the encoded one before comparing.
fn hdr(t: PacketType) -> FixedHeader {
    FixedHeader {
        packet_type: t,
        flags: 0,
        length: 0,
        header_len: 2,
    }
}

/// A generated packet and, for PUBLISH, its whole payload.
type Gen = (Packet<'static>, &'static [u8]);

fn connect(v: ProtocolVersion) -> BoxedStrategy<Gen> {
    let v5 = v == ProtocolVersion::V5;
    let client_id = if v == ProtocolVersion::V31 {
        "[a-z0-9]{1,23}".prop_map(leak_str).boxed()
    } else {
        text()
    };
    let will = proptest::option::of((
        topic(),
        0..=2u8,
        any::<bool>(),
        data(100),
        props_if(v5, PropertyScope::Will),
    ));
    (
        client_id,
        any::<u16>(),
        any::<bool>(),
        will,
        proptest::option::of(text()),
        proptest::option::of(data(20)),
        props_if(v5, PropertyScope::Packet(PacketType::Connect)),
    )
        .prop_map(
            move |(client_id, keepalive, clean, will, mut username, password, properties)| {
                let clean_start = clean || (v == ProtocolVersion::V311 && client_id.is_empty());
                if !v5 && password.is_some() && username.is_none() {
                    username = Some("u");
                }
                let will = will.map(|(topic, qos, retain, payload, properties)| {
                    Box::new(Will {
                        topic,
                        qos,
                        retain,
                        properties,
                        payload,
                    })
                });
                let mut connect_flags = u8::from(clean_start) << 1;
                if let Some(w) = &will {
                    connect_flags |= 0x04 | (w.qos << 3) | (u8::from(w.retain) << 5);
                }
                connect_flags |=
                    u8::from(password.is_some()) << 6 | u8::from(username.is_some()) << 7;
                let c = Connect {
                    header: hdr(PacketType::Connect),
                    protocol_name: if v == ProtocolVersion::V31 {
                        "MQIsdp"
                    } else {
                        "MQTT"
                    },
                    protocol_level: v.level(),
                    connect_flags,
                    clean_start,
                    keepalive,
                    properties,
                    client_id,
                    will,
                    username,
                    password,
                };
                (Packet::Connect(c), &[][..])
            },
        )
        .boxed()
}

fn connack(v: ProtocolVersion) -> BoxedStrategy<Gen> {
    let v5 = v == ProtocolVersion::V5;
    let code = if v5 {
        rc(PacketType::Connack)
    } else {
        (0..=5u8).prop_map(ReasonCode).boxed()
    };
    (
        code,
        any::<bool>(),
        props_if(v5, PropertyScope::Packet(PacketType::Connack)),
    )
        .prop_map(move |(reason_code, sp, properties)| {
            let session_present = sp && reason_code.0 == 0 && v != ProtocolVersion::V31;
            let c = Connack {
                header: hdr(PacketType::Connack),
                version: v,
                ack_flags: u8::from(session_present),
                session_present,
                reason_code,
                properties,
            };
            (Packet::Connack(c), &[][..])
        })
        .boxed()
}

fn publish(v: ProtocolVersion, empty_topic: bool) -> BoxedStrategy<Gen> {
    let v5 = v == ProtocolVersion::V5;
    (
        0..=2u8,
        any::<bool>(),
        any::<bool>(),
        topic(),
        1..=u16::MAX,
        props_if(v5, PropertyScope::Packet(PacketType::Publish)),
        data(300),
        any::<bool>(),
    )
        .prop_map(
            move |(qos, dup, retain, topic, id, mut properties, payload, drop_topic)| {
                if properties.payload_format_indicator == Some(1)
                    && std::str::from_utf8(payload).is_err()
                {
                    properties.payload_format_indicator = Some(0);
                }
                let topic = if empty_topic && drop_topic && properties.topic_alias.is_some() {
                    ""
                } else {
                    topic
                };
                let p = Publish {
                    header: hdr(PacketType::Publish),
                    dup: dup && qos > 0,
                    qos,
                    retain,
                    topic,
                    packet_id: (qos > 0).then_some(id),
                    properties,
                    payload_len: payload.len() as u32,
                    payload_preview: &payload[..payload.len().min(64)],
                    hash: PayloadHash::Known(xxh3_64(payload)),
                    payload_missing: 0,
                    resolved_topic: None,
                };
                (Packet::Publish(p), payload)
            },
        )
        .boxed()
}

fn pub_resp(v: ProtocolVersion, t: PacketType) -> BoxedStrategy<Gen> {
    let v5 = v == ProtocolVersion::V5;
    let code = if v5 {
        rc(t).prop_map(Some).boxed()
    } else {
        Just(None).boxed()
    };
    (1..=u16::MAX, code, props_if(v5, PropertyScope::Packet(t)))
        .prop_map(move |(packet_id, reason_code, properties)| {
            let r = PubResp {
                header: hdr(t),
                packet_id,
                reason_code,
                properties,
            };
            let p = match t {
                PacketType::Puback => Packet::Puback(r),
                PacketType::Pubrec => Packet::Pubrec(r),
                PacketType::Pubrel => Packet::Pubrel(r),
                _ => Packet::Pubcomp(r),
            };
            (p, &[][..])
        })
        .boxed()
}

fn subscribe(v: ProtocolVersion) -> BoxedStrategy<Gen> {
    let v5 = v == ProtocolVersion::V5;
    let sub = (filter(), 0..=2u8, any::<bool>(), any::<bool>(), 0..=2u8).prop_map(
        move |(filter, qos, nl, rap, rh)| {
            let (no_local, retain_as_published, retain_handling) =
                if v5 { (nl, rap, rh) } else { (false, false, 0) };
            let options = qos
                | u8::from(no_local) << 2
                | u8::from(retain_as_published) << 3
                | retain_handling << 4;
            Subscription {
                filter,
                options,
                qos,
                no_local,
                retain_as_published,
                retain_handling,
            }
        },
    );
    (
        1..=u16::MAX,
        props_if(v5, PropertyScope::Packet(PacketType::Subscribe)),
        vec(sub, 1..4),
    )
        .prop_map(move |(packet_id, properties, topics)| {
            let s = Subscribe {
                header: hdr(PacketType::Subscribe),
                version: v,
                packet_id,
                properties,
                topics,
            };
            (Packet::Subscribe(s), &[][..])
        })
        .boxed()
}

fn suback(v: ProtocolVersion) -> BoxedStrategy<Gen> {
    let v5 = v == ProtocolVersion::V5;
    (
        1..=u16::MAX,
        props_if(v5, PropertyScope::Packet(PacketType::Suback)),
        vec(select(codes(PacketType::Suback, v)), 1..5),
    )
        .prop_map(move |(packet_id, properties, codes)| {
            let s = Suback {
                header: hdr(PacketType::Suback),
                version: v,
                packet_id,
                properties,
                reason_codes: leak_bytes(codes),
            };
            (Packet::Suback(s), &[][..])
        })
        .boxed()
}

fn unsubscribe(v: ProtocolVersion) -> BoxedStrategy<Gen> {
    let v5 = v == ProtocolVersion::V5;
    (
        1..=u16::MAX,
        props_if(v5, PropertyScope::Packet(PacketType::Unsubscribe)),
        vec(filter(), 1..4),
    )
        .prop_map(|(packet_id, properties, topics)| {
            let u = Unsubscribe {
                header: hdr(PacketType::Unsubscribe),
                packet_id,
                properties,
                topics,
            };
            (Packet::Unsubscribe(u), &[][..])
        })
        .boxed()
}

fn unsuback(v: ProtocolVersion) -> BoxedStrategy<Gen> {
    let v5 = v == ProtocolVersion::V5;
    let codes = if v5 {
        vec(select(codes(PacketType::Unsuback, v)), 1..4)
            .prop_map(|c| Some(leak_bytes(c)))
            .boxed()
    } else {
        Just(None).boxed()
    };
    (
        1..=u16::MAX,
        props_if(v5, PropertyScope::Packet(PacketType::Unsuback)),
        codes,
    )
        .prop_map(|(packet_id, properties, reason_codes)| {
            let u = Unsuback {
                header: hdr(PacketType::Unsuback),
                packet_id,
                properties,
                reason_codes,
            };
            (Packet::Unsuback(u), &[][..])
        })
        .boxed()
}

fn disconnect(v: ProtocolVersion) -> BoxedStrategy<Gen> {
    let v5 = v == ProtocolVersion::V5;
    let code = if v5 {
        rc(PacketType::Disconnect).prop_map(Some).boxed()
    } else {
        Just(None).boxed()
    };
    (
        code,
        props_if(v5, PropertyScope::Packet(PacketType::Disconnect)),
    )
        .prop_map(|(reason_code, properties)| {
            let d = Disconnect {
                header: hdr(PacketType::Disconnect),
                reason_code,
                properties,
            };
            (Packet::Disconnect(d), &[][..])
        })
        .boxed()
}

fn auth() -> BoxedStrategy<Gen> {
    (
        rc(PacketType::Auth),
        props(PropertyScope::Packet(PacketType::Auth)),
    )
        .prop_map(|(reason_code, properties)| {
            (
                Packet::Auth(Auth {
                    header: hdr(PacketType::Auth),
                    reason_code,
                    properties,
                }),
                &[][..],
            )
        })
        .boxed()
}

/// Any valid packet of version `v`.
fn packet(v: ProtocolVersion, empty_topic: bool) -> BoxedStrategy<Gen> {
    let mut all = vec![
        connect(v),
        connack(v),
        publish(v, empty_topic),
        publish(v, empty_topic),
        pub_resp(v, PacketType::Puback),
        pub_resp(v, PacketType::Pubrec),
        pub_resp(v, PacketType::Pubrel),
        pub_resp(v, PacketType::Pubcomp),
        subscribe(v),
        suback(v),
        unsubscribe(v),
        unsuback(v),
        Just((Packet::Pingreq(hdr(PacketType::Pingreq)), &[][..])).boxed(),
        Just((Packet::Pingresp(hdr(PacketType::Pingresp)), &[][..])).boxed(),
        disconnect(v),
    ];
    if v == ProtocolVersion::V5 {
        all.push(auth());
    }
    proptest::strategy::Union::new(all).boxed()
}

fn version() -> impl Strategy<Value = ProtocolVersion> {
    select(vec![
        ProtocolVersion::V31,
        ProtocolVersion::V311,
        ProtocolVersion::V5,
    ])
}

/// Sets the header of a generated packet to the one its encoding has.
fn with_header(mut p: Packet<'static>, h: FixedHeader) -> Packet<'static> {
    match &mut p {
        Packet::Connect(c) => c.header = h,
        Packet::Connack(c) => c.header = h,
        Packet::Publish(x) => x.header = h,
        Packet::Puback(r) | Packet::Pubrec(r) | Packet::Pubrel(r) | Packet::Pubcomp(r) => {
            r.header = h
        }
        Packet::Subscribe(s) => s.header = h,
        Packet::Suback(s) => s.header = h,
        Packet::Unsubscribe(u) => u.header = h,
        Packet::Unsuback(u) => u.header = h,
        Packet::Pingreq(x) | Packet::Pingresp(x) => *x = h,
        Packet::Disconnect(d) => d.header = h,
        Packet::Auth(a) => a.header = h,
    }
    p
}

/// Encodes a generated packet; returns the bytes and the packet with its real header.
fn encoded((p, payload): Gen, v: ProtocolVersion) -> (Vec<u8>, Packet<'static>) {
    let bytes = encode::packet(&p, v, payload);
    let h = parse_fixed_header(&bytes).expect("encoder wrote a valid fixed header");
    let flags_expected = match &p {
        Packet::Publish(x) => (u8::from(x.dup) << 3) | (x.qos << 1) | u8::from(x.retain),
        other => other.packet_type().required_flags().unwrap_or(0),
    };
    assert_eq!(h.flags, flags_expected);
    (bytes, with_header(p, h))
}

// ------------------------------------------------------------------ round trips

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    #[test]
    fn every_packet_round_trips((v, generated) in version().prop_flat_map(|v| (Just(v), packet(v, true)))) {
        let (bytes, expected) = encoded(generated, v);
        let (decoded, used) = parse_packet(&bytes, v, 64).expect("decodes");
        prop_assert_eq!(used, bytes.len());
        prop_assert!(decoded.violations.is_empty(), "violations {:?} in {:02x?}", decoded.violations, &bytes);
        prop_assert_eq!(decoded.version, v);
        prop_assert_eq!(&decoded.packet, &expected);
        // The JSON view names the packet and its header.
        let json = serde_json::to_value(PacketJson::new(&decoded.packet, &RenderOptions::default())).unwrap();
        prop_assert_eq!(json["type"].as_str(), Some(expected.packet_type().as_str()));
        prop_assert_eq!(json["length"].as_u64(), Some(u64::from(expected.header().length)));
        // Every strict prefix is incomplete, never malformed.
        for cut in [1, bytes.len() / 2, bytes.len() - 1] {
            if cut > 0 && cut < bytes.len() {
                let incomplete = matches!(parse_packet(&bytes[..cut], v, 64), Err(ParseError::Incomplete { .. }));
                prop_assert!(incomplete, "prefix of {} bytes", cut);
            }
        }
    }
}

// ------------------------------------------------------------------ streams

/// Owned description of a packet event: the packet as `Debug` and its violations.
fn describe(p: &PacketEvent<'_>) -> String {
    format!("{:?} {:?}", p.packet, p.violations)
}

/// Feeds `chunks` on one direction; returns descriptions of packet events
/// and the other events as `Debug` strings.
fn feed(conn: &mut MqttConnection, dir: Direction, chunks: &[&[u8]]) -> (Vec<String>, Vec<String>) {
    let mut packets = Vec::new();
    let mut other = Vec::new();
    for (n, chunk) in chunks.iter().enumerate() {
        conn.on_data(
            dir,
            n as u64 + 1,
            Timestamp::default(),
            chunk,
            &mut |e| match e {
                MqttEvent::Packet(p) => packets.push(describe(&p)),
                e => other.push(format!("{e:?}")),
            },
        );
    }
    (packets, other)
}

/// A stream of version `v`: a CONNECT first, then random packets.
fn stream(v: ProtocolVersion) -> impl Strategy<Value = Vec<Vec<u8>>> {
    (connect(v), vec(packet(v, false), 1..25)).prop_map(move |(first, rest)| {
        std::iter::once(first)
            .chain(rest)
            .map(|g| encoded(g, v).0)
            .collect()
    })
}

/// What each packet decodes to on its own.
fn expected(packets: &[Vec<u8>], v: ProtocolVersion) -> Vec<String> {
    packets
        .iter()
        .map(|b| {
            let (d, _) = parse_packet(b, v, 64).unwrap();
            format!("{:?} {:?}", d.packet, d.violations)
        })
        .collect()
}

/// Cuts `bytes` at the given fractions.
fn split<'a>(bytes: &'a [u8], cuts: &[f64]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|f| (f * bytes.len() as f64) as usize)
        .collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut at = 0;
    for p in points.into_iter().chain([bytes.len()]) {
        out.push(&bytes[at..p.max(at)]);
        at = p.max(at);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_splits_yield_the_same_packets(
        (v, packets) in version().prop_flat_map(|v| (Just(v), stream(v))),
        cuts in vec(0.0..1.0f64, 0..40),
    ) {
        let bytes = packets.concat();
        // One direction carries everything (server to client, where a
        // PUBLISH may carry subscription identifiers).
        let mut conn = MqttConnection::new(&MqttConfig::default());
        let (got, other) = feed(&mut conn, Direction::ServerToClient, &split(&bytes, &cuts));
        prop_assert!(other.is_empty(), "{:?}", other);
        prop_assert_eq!(got, expected(&packets, v));
        prop_assert_eq!(conn.version(), Some(v));
    }

    /// Garbage where a packet should start. Its first byte has the reserved
    /// packet type 0, so the framer can tell it is not a packet without a
    /// gap being signalled (bytes that start a well-formed header are a
    /// packet as far as the wire can tell; one with only wrong flags is a
    /// packet with a violation). From there on the framer must find the
    /// real packets again.
    #[test]
    fn garbage_between_packets_is_skipped(
        (v, packets) in version().prop_flat_map(|v| (Just(v), stream(v))),
        at in any::<prop::sample::Index>(),
        garbage in (0..16u8, vec(any::<u8>(), 0..200)).prop_map(|(first, rest)| [vec![first], rest].concat()),
        cuts in vec(0.0..1.0f64, 0..10),
    ) {
        let at = 1 + at.index(packets.len());
        let bytes = [packets[..at].concat(), garbage.clone(), packets[at..].concat()].concat();
        let mut conn = MqttConnection::new(&MqttConfig::default());
        let (mut got, _) = feed(&mut conn, Direction::ServerToClient, &split(&bytes, &cuts));
        // The end of the capture settles what the scan was still waiting on.
        conn.on_close(99, Timestamp::default(), &mut |e| if let MqttEvent::Packet(p) = e {
            got.push(describe(&p));
        });
        let want = expected(&packets, v);
        // Everything before the garbage comes out first, in order.
        prop_assert_eq!(&got[..at.min(got.len())], &want[..at]);
        // After it, every packet but possibly the first is found again, in order.
        let mut rest = got[at..].iter();
        for w in want.iter().skip(at + 1) {
            prop_assert!(rest.any(|g| g == w), "lost {} after garbage {:02x?}; got {:#?}", w, garbage, got);
        }
    }
}

fn big_publish(len: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut x = seed | 1;
    let payload: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut body = Vec::new();
    encode::bin(&mut body, b"bulk/data");
    body.extend_from_slice(&[0x12, 0x34]);
    body.extend_from_slice(&payload);
    let mut bytes = vec![0x32];
    encode::var_int(&mut bytes, body.len() as u32);
    bytes.extend_from_slice(&body);
    (bytes, payload)
}

const CONNECT_311: [u8; 17] = [
    0x10, 15, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 3, b'd', b'e', b'v',
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn large_publish_in_many_pieces(
        len in 100_000usize..3_000_000,
        seed in any::<u64>(),
        pieces in vec(1usize..20_000, 1..400),
    ) {
        let (bytes, payload) = big_publish(len, seed);
        let mut conn = MqttConnection::new(&MqttConfig::default());
        conn.on_data(Direction::ClientToServer, 1, Timestamp::default(), &CONNECT_311, &mut |_| {});
        let mut seen = Vec::new();
        let mut max_buffered = 0;
        let mut at = 0;
        let mut n = 0;
        while at < bytes.len() {
            let size = pieces[n % pieces.len()];
            let chunk = &bytes[at..(at + size).min(bytes.len())];
            at += chunk.len();
            n += 1;
            conn.on_data(Direction::ClientToServer, n as u64 + 1, Timestamp::default(), chunk, &mut |e| {
                if let MqttEvent::Packet(p) = e && let Packet::Publish(pb) = p.packet {
                    seen.push((p.frame, pb.payload_len, pb.payload_hash(), pb.payload_preview.to_vec(), pb.payload_missing));
                }
            });
            max_buffered = max_buffered.max(conn.buffered_bytes());
        }
        prop_assert_eq!(seen.len(), 1);
        let (frame, plen, hash, preview, missing) = &seen[0];
        prop_assert_eq!(*frame, n as u64 + 1);
        prop_assert_eq!(*plen as usize, len);
        prop_assert_eq!(*hash, xxh3_64(&payload));
        prop_assert_eq!(preview.as_slice(), &payload[..64]);
        prop_assert_eq!(*missing, 0);
        // Headers and preview only (plus one piece when a header was split).
        prop_assert!(max_buffered <= 64 * 1024, "buffered {}", max_buffered);
    }

    #[test]
    fn gap_inside_a_large_payload(
        len in 20_000usize..200_000,
        seed in any::<u64>(),
        gap_at in 0.1..0.9f64,
        gap_len in 1usize..5_000,
    ) {
        let (bytes, _) = big_publish(len, seed);
        let start = (bytes.len() as f64 * gap_at) as usize;
        let end = (start + gap_len).min(bytes.len() - 1);
        let mut conn = MqttConnection::new(&MqttConfig::default());
        let mut events = Vec::new();
        let mut rec = |e: MqttEvent<'_>| match e {
            MqttEvent::Packet(p) => events.push(p.packet.summary()),
            e => events.push(format!("{e:?}")),
        };
        let ts = Timestamp::default();
        conn.on_data(Direction::ClientToServer, 1, ts, &CONNECT_311, &mut rec);
        conn.on_data(Direction::ClientToServer, 2, ts, &bytes[..start], &mut rec);
        conn.on_gap(Direction::ClientToServer, 3, ts, (end - start) as u64, &mut rec);
        conn.on_data(Direction::ClientToServer, 4, ts, &[&bytes[end..], &[0xc0, 0x00][..]].concat(), &mut rec);
        let publish = format!("PUBLISH q1 id=4660 \"bulk/data\" {len}B ({} bytes not captured)", end - start);
        prop_assert_eq!(events.len(), 4, "{:?}", events);
        prop_assert!(events[1].contains("resync: false"), "{}", events[1]);
        prop_assert_eq!(&events[2], &publish);
        prop_assert_eq!(&events[3], "PINGREQ");
    }
}

// ------------------------------------------------------------------ hostile input

/// One step of a hostile stream: bytes, a gap, or bytes on the other side.
#[derive(Debug, Clone)]
enum Step {
    Data(Vec<u8>),
    Gap(u64),
    Reverse(Vec<u8>),
}

fn steps(
    bytes: impl Strategy<Value = Vec<u8>> + Clone,
    count: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<Step>> {
    vec(
        prop_oneof![
            6 => bytes.clone().prop_map(Step::Data),
            1 => (1u64..100_000).prop_map(Step::Gap),
            1 => bytes.prop_map(Step::Reverse),
        ],
        count,
    )
}

/// Drives a connection through `steps`, rendering every event as the
/// report would, and checks the memory bound.
fn drive(mid_stream: bool, steps: &[Step]) -> Result<(), TestCaseError> {
    let cfg = MqttConfig {
        payload_preview: 16,
        max_packet_buffer: 4096,
    };
    let mut conn = if mid_stream {
        MqttConnection::new_mid_stream(&cfg)
    } else {
        MqttConnection::new(&cfg)
    };
    let opts = RenderOptions::default();
    let mut render = |e: MqttEvent<'_>| match e {
        MqttEvent::Packet(p) => {
            serde_json::to_string(&PacketJson::new(p.packet, &opts)).unwrap();
            let _ = p.packet.summary();
        }
        MqttEvent::Malformed(m) => {
            serde_json::to_string(&MalformedJson::new(&m.error)).unwrap();
        }
        _ => {}
    };
    for (n, step) in steps.iter().enumerate() {
        let frame = n as u64 + 1;
        let ts = Timestamp::default();
        match step {
            Step::Data(b) => conn.on_data(Direction::ClientToServer, frame, ts, b, &mut render),
            Step::Gap(g) => conn.on_gap(Direction::ClientToServer, frame, ts, *g, &mut render),
            Step::Reverse(b) => conn.on_data(Direction::ServerToClient, frame, ts, b, &mut render),
        }
        // Two directions: partial packet or scan window each, plus aliases.
        prop_assert!(
            conn.buffered_bytes() <= 4 * (4096 + 1024),
            "{}",
            conn.buffered_bytes()
        );
    }
    conn.on_close(99, Timestamp::default(), &mut render);
    Ok(())
}

/// Valid streams with bytes flipped, cut out or duplicated.
fn mutated() -> BoxedStrategy<Vec<u8>> {
    (
        version().prop_flat_map(stream),
        vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 0..8),
    )
        .prop_map(|(packets, edits)| {
            let mut bytes = packets.concat();
            for (at, value, kind) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match kind {
                    0 => bytes[i] = value,
                    1 => {
                        bytes.remove(i);
                    }
                    _ => bytes.insert(i, value),
                }
            }
            bytes
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(mid in any::<bool>(), s in steps(vec(any::<u8>(), 0..300), 1..30)) {
        drive(mid, &s)?;
    }

    #[test]
    fn mutated_streams_never_panic(mid in any::<bool>(), s in steps(mutated(), 1..6)) {
        drive(mid, &s)?;
    }

    #[test]
    fn any_bytes_decode_or_explain(bytes in vec(any::<u8>(), 0..64), v in version()) {
        match parse_packet(&bytes, v, 8) {
            Ok((d, used)) => {
                prop_assert!(used <= bytes.len());
                serde_json::to_string(&PacketJson::new(&d.packet, &RenderOptions::default())).unwrap();
            }
            Err(ParseError::Incomplete { needed }) => prop_assert!(needed > bytes.len()),
            Err(ParseError::Malformed(m)) => {
                prop_assert!(!m.to_string().is_empty());
                prop_assert!(m.total_len().is_none_or(|t| m.offset <= t), "{}", m);
            }
        }
    }
}
