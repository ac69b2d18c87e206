//! The `mqtt` object of a JSON `packet` event.
//!
//! Serialized straight from the borrowed [`Packet`] through a wrapper that
//! carries the [`RenderOptions`] (no intermediate `serde_json::Value` per
//! packet). Field names and shapes are fixed by docs/json.md: `type`,
//! `flags`, `length`, then the fields of each packet type; `properties`
//! only when the packet has some; secrets redacted unless asked for;
//! payloads as UTF-8 text when they are text, lowercase hex otherwise.

use crate::mqtt::properties::Properties;
use crate::mqtt::reason::ReasonCode;
use crate::mqtt::*;
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use std::fmt;

/// How packets are rendered (`--payload-bytes`, `--show-secrets`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// Bytes of a PUBLISH / will payload to show.
    pub payload_bytes: usize,
    /// Print CONNECT passwords and authentication data instead of `"<redacted>"`.
    pub show_secrets: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            payload_bytes: 64,
            show_secrets: false,
        }
    }
}

const REDACTED: &str = "<redacted>";

/// Lowercase hex of bytes, written without an intermediate `String`.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A payload preview: text when the shown bytes are UTF-8 (a character cut
/// by the preview limit is dropped), hex otherwise.
enum Preview<'a> {
    Text(&'a str),
    Hex(&'a [u8]),
}

impl<'a> Preview<'a> {
    fn of(bytes: &'a [u8], limit: usize, full_len: u64) -> Preview<'a> {
        let shown = bytes.get(..limit.min(bytes.len())).unwrap_or_default();
        match std::str::from_utf8(shown) {
            Ok(text) => Preview::Text(text),
            // Only an incomplete character at the very end, and only because
            // the preview (not the payload) ends there.
            Err(e) if e.error_len().is_none() && (shown.len() as u64) < full_len => Preview::Text(
                std::str::from_utf8(shown.get(..e.valid_up_to()).unwrap_or_default())
                    .unwrap_or_default(),
            ),
            Err(_) => Preview::Hex(shown),
        }
    }

    fn encoding(&self) -> &'static str {
        match self {
            Preview::Text(_) => "utf8",
            Preview::Hex(_) => "hex",
        }
    }
}

impl Serialize for Preview<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Preview::Text(t) => s.serialize_str(t),
            Preview::Hex(b) => Hex(b).serialize(s),
        }
    }
}

/// A `Serialize` view of a packet with render options.
pub struct PacketJson<'p, 'a> {
    packet: &'p Packet<'a>,
    opts: &'p RenderOptions,
}

impl<'p, 'a> PacketJson<'p, 'a> {
    /// The packet as the `mqtt` object of a JSON `packet` event.
    pub fn new(packet: &'p Packet<'a>, opts: &'p RenderOptions) -> Self {
        PacketJson { packet, opts }
    }
}

struct PropsJson<'p, 'a> {
    props: &'p Properties<'a>,
    opts: &'p RenderOptions,
}

/// The property object (keys in snake_case, binary as hex, secrets redacted).
fn props_json<'p, 'a>(props: &'p Properties<'a>, opts: &'p RenderOptions) -> PropsJson<'p, 'a> {
    PropsJson { props, opts }
}

struct Pairs<'p, 'a>(&'p [(&'a str, &'a str)]);

impl Serialize for Pairs<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (k, v) in self.0 {
            seq.serialize_element(&[k, v])?;
        }
        seq.end()
    }
}

impl Serialize for PropsJson<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.props;
        let mut m = s.serialize_map(None)?;
        macro_rules! opt {
            ($field:ident) => {
                if let Some(v) = &p.$field {
                    m.serialize_entry(stringify!($field), v)?;
                }
            };
        }
        opt!(payload_format_indicator);
        opt!(message_expiry_interval);
        opt!(content_type);
        opt!(response_topic);
        if let Some(d) = p.correlation_data {
            m.serialize_entry("correlation_data", &Hex(d))?;
        }
        if !p.subscription_identifiers.is_empty() {
            m.serialize_entry("subscription_identifiers", &p.subscription_identifiers)?;
        }
        opt!(session_expiry_interval);
        opt!(assigned_client_identifier);
        opt!(server_keep_alive);
        opt!(authentication_method);
        if let Some(d) = p.authentication_data {
            if self.opts.show_secrets {
                m.serialize_entry("authentication_data", &Hex(d))?;
            } else {
                m.serialize_entry("authentication_data", REDACTED)?;
            }
        }
        opt!(request_problem_information);
        opt!(will_delay_interval);
        opt!(request_response_information);
        opt!(response_information);
        opt!(server_reference);
        opt!(reason_string);
        opt!(receive_maximum);
        opt!(topic_alias_maximum);
        opt!(topic_alias);
        opt!(maximum_qos);
        opt!(retain_available);
        if !p.user_properties.is_empty() {
            m.serialize_entry("user_properties", &Pairs(&p.user_properties))?;
        }
        opt!(maximum_packet_size);
        opt!(wildcard_subscription_available);
        opt!(subscription_identifier_available);
        opt!(shared_subscription_available);
        m.end()
    }
}

struct WillJson<'p, 'a> {
    will: &'p Will<'a>,
    opts: &'p RenderOptions,
}

impl Serialize for WillJson<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let w = self.will;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("topic", w.topic)?;
        m.serialize_entry("qos", &w.qos)?;
        m.serialize_entry("retain", &w.retain)?;
        let preview = Preview::of(w.payload, self.opts.payload_bytes, w.payload.len() as u64);
        m.serialize_entry("payload", &preview)?;
        m.serialize_entry("payload_encoding", preview.encoding())?;
        m.serialize_entry("payload_len", &w.payload.len())?;
        if !w.properties.is_empty() {
            m.serialize_entry("properties", &props_json(&w.properties, self.opts))?;
        }
        m.end()
    }
}

struct SubscriptionsJson<'p, 'a>(&'p Subscribe<'a>);

impl Serialize for SubscriptionsJson<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v5 = self.0.version.is_v5();
        let mut seq = s.serialize_seq(Some(self.0.topics.len()))?;
        for t in &self.0.topics {
            seq.serialize_element(&SubscriptionJson { sub: t, v5 })?;
        }
        seq.end()
    }
}

struct SubscriptionJson<'p, 'a> {
    sub: &'p Subscription<'a>,
    v5: bool,
}

impl Serialize for SubscriptionJson<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("filter", self.sub.filter)?;
        m.serialize_entry("qos", &self.sub.qos)?;
        if self.v5 {
            m.serialize_entry("no_local", &self.sub.no_local)?;
            m.serialize_entry("retain_as_published", &self.sub.retain_as_published)?;
            m.serialize_entry("retain_handling", &self.sub.retain_handling)?;
        }
        m.end()
    }
}

/// A text value that may be a secret.
struct Secret<'a> {
    bytes: &'a [u8],
    show: bool,
}

impl Serialize for Secret<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !self.show {
            return s.serialize_str(REDACTED);
        }
        match std::str::from_utf8(self.bytes) {
            Ok(t) => s.serialize_str(t),
            Err(_) => Hex(self.bytes).serialize(s),
        }
    }
}

fn reason_entries<M: SerializeMap>(
    m: &mut M,
    rc: ReasonCode,
    packet: PacketType,
    version: ProtocolVersion,
) -> Result<(), M::Error> {
    m.serialize_entry("reason_code", &rc.0)?;
    m.serialize_entry("reason", rc.name_for(packet, version).unwrap_or("Reserved"))
}

impl Serialize for PacketJson<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let opts = self.opts;
        let h = self.packet.header();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", h.packet_type.as_str())?;
        m.serialize_entry("flags", &h.flags)?;
        m.serialize_entry("length", &h.length)?;
        let v5 = ProtocolVersion::V5;
        match self.packet {
            Packet::Connect(c) => {
                m.serialize_entry("protocol_name", c.protocol_name)?;
                m.serialize_entry("protocol_level", &c.protocol_level)?;
                m.serialize_entry("clean_start", &c.clean_start)?;
                m.serialize_entry("keepalive", &c.keepalive)?;
                m.serialize_entry("client_id", c.client_id)?;
                m.serialize_entry("username", &c.username)?;
                m.serialize_entry(
                    "password",
                    &c.password.map(|bytes| Secret {
                        bytes,
                        show: opts.show_secrets,
                    }),
                )?;
                m.serialize_entry("will", &c.will.as_ref().map(|will| WillJson { will, opts }))?;
            }
            Packet::Connack(c) => {
                m.serialize_entry("session_present", &c.session_present)?;
                reason_entries(&mut m, c.reason_code, h.packet_type, c.version)?;
            }
            Packet::Publish(p) => {
                m.serialize_entry("qos", &p.qos)?;
                m.serialize_entry("dup", &p.dup)?;
                m.serialize_entry("retain", &p.retain)?;
                m.serialize_entry("topic", p.topic_name())?;
                if let Some(id) = p.packet_id {
                    m.serialize_entry("packet_id", &id)?;
                }
                m.serialize_entry("payload_len", &p.payload_len)?;
                let preview = Preview::of(
                    p.payload_preview,
                    opts.payload_bytes,
                    u64::from(p.payload_len),
                );
                m.serialize_entry("payload", &preview)?;
                m.serialize_entry("payload_encoding", preview.encoding())?;
                m.serialize_entry("payload_hash", &format_args!("{:016x}", p.payload_hash()))?;
                if p.payload_missing > 0 {
                    m.serialize_entry("payload_missing", &p.payload_missing)?;
                }
            }
            Packet::Puback(r) | Packet::Pubrec(r) | Packet::Pubrel(r) | Packet::Pubcomp(r) => {
                m.serialize_entry("packet_id", &r.packet_id)?;
                if let Some(rc) = r.reason_code {
                    reason_entries(&mut m, rc, h.packet_type, v5)?;
                }
            }
            Packet::Subscribe(sub) => {
                m.serialize_entry("packet_id", &sub.packet_id)?;
                m.serialize_entry("topics", &SubscriptionsJson(sub))?;
            }
            Packet::Suback(a) => {
                m.serialize_entry("packet_id", &a.packet_id)?;
                m.serialize_entry("reason_codes", a.reason_codes)?;
            }
            Packet::Unsubscribe(u) => {
                m.serialize_entry("packet_id", &u.packet_id)?;
                m.serialize_entry("topics", &u.topics)?;
            }
            Packet::Unsuback(u) => {
                m.serialize_entry("packet_id", &u.packet_id)?;
                if let Some(codes) = u.reason_codes {
                    m.serialize_entry("reason_codes", codes)?;
                }
            }
            Packet::Pingreq(_) | Packet::Pingresp(_) => {}
            Packet::Disconnect(d) => {
                if let Some(rc) = d.reason_code {
                    reason_entries(&mut m, rc, h.packet_type, v5)?;
                }
            }
            Packet::Auth(a) => reason_entries(&mut m, a.reason_code, h.packet_type, v5)?,
        }
        if let Some(props) = self.packet.properties().filter(|p| !p.is_empty()) {
            m.serialize_entry("properties", &props_json(props, opts))?;
        }
        m.end()
    }
}

/// A `Serialize` view of a packet that did not decode: `type` (null when
/// unknown), `flags`, `length` (null when unknown) and `malformed` (why).
pub struct MalformedJson<'p>(&'p Malformed);

impl<'p> MalformedJson<'p> {
    /// The `mqtt` object of a `packet` event for a packet that did not decode.
    pub fn new(e: &'p Malformed) -> Self {
        MalformedJson(e)
    }
}

impl Serialize for MalformedJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("type", &e.packet_type.map(|t| t.as_str()))?;
        m.serialize_entry("flags", &e.flags)?;
        m.serialize_entry("length", &e.length)?;
        m.serialize_entry("malformed", &e.to_string())?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::parse::parse_packet;
    use serde_json::json;

    fn decode(bytes: &[u8], v: ProtocolVersion) -> Decoded<'_> {
        parse_packet(bytes, v, 64).unwrap().0
    }

    fn to_json(p: &Packet<'_>, opts: &RenderOptions) -> serde_json::Value {
        serde_json::to_value(PacketJson::new(p, opts)).unwrap()
    }

    #[test]
    fn publish_text_and_hex_payloads() {
        // PUBLISH QoS 1, topic "a/b", id 7, payload "hello".
        let bytes = [
            0x32, 12, 0, 3, b'a', b'/', b'b', 0, 7, b'h', b'e', b'l', b'l', b'o',
        ];
        let d = decode(&bytes, ProtocolVersion::V311);
        let v = to_json(&d.packet, &RenderOptions::default());
        assert_eq!(v["type"], "PUBLISH");
        assert_eq!(v["flags"], 2);
        assert_eq!(v["length"], 12);
        assert_eq!(v["qos"], 1);
        assert_eq!(v["dup"], false);
        assert_eq!(v["packet_id"], 7);
        assert_eq!(v["topic"], "a/b");
        assert_eq!(v["payload"], "hello");
        assert_eq!(v["payload_encoding"], "utf8");
        assert_eq!(v["payload_len"], 5);
        assert_eq!(
            v["payload_hash"],
            format!("{:016x}", xxhash_rust::xxh3::xxh3_64(b"hello"))
        );
        assert!(v.get("properties").is_none());
        assert_eq!(d.packet.summary(), "PUBLISH q1 id=7 \"a/b\" 5B");

        let bytes = [0x30, 7, 0, 1, b't', 0xff, 0x00, 0x10, 0xab];
        let d = decode(&bytes, ProtocolVersion::V311);
        let v = to_json(
            &d.packet,
            &RenderOptions {
                payload_bytes: 3,
                show_secrets: false,
            },
        );
        assert_eq!(v["payload"], "ff0010");
        assert_eq!(v["payload_encoding"], "hex");
        assert_eq!(v["payload_len"], 4);
        assert!(v.get("packet_id").is_none());
    }

    #[test]
    fn preview_cut_inside_a_character_stays_text() {
        // "é" is 0xC3 0xA9: a 2-byte preview of "aé…" ends inside it.
        assert!(matches!(
            Preview::of("aéb".as_bytes(), 2, 4),
            Preview::Text("a")
        ));
        // A payload that really ends with a broken character is not text.
        assert!(matches!(Preview::of(&[b'a', 0xc3], 2, 2), Preview::Hex(_)));
    }

    #[test]
    fn connect_redacts_password_and_shows_will() {
        // CONNECT 3.1.1, flags: user+password+will(QoS 1, retain)+clean = 0xEE
        let mut bytes = vec![0x10, 0];
        bytes.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4, 0xEE, 0, 60]);
        bytes.extend_from_slice(&[0, 2, b'c', b'1']); // client id
        bytes.extend_from_slice(&[0, 1, b'w', 0, 2, b'h', b'i']); // will topic, payload
        bytes.extend_from_slice(&[0, 1, b'u', 0, 3, b'p', b'w', b'd']); // user, password
        bytes[1] = (bytes.len() - 2) as u8;
        let d = decode(&bytes, ProtocolVersion::V311);
        assert!(d.violations.is_empty(), "{:?}", d.violations);
        let v = to_json(&d.packet, &RenderOptions::default());
        assert_eq!(v["protocol_name"], "MQTT");
        assert_eq!(v["protocol_level"], 4);
        assert_eq!(v["clean_start"], true);
        assert_eq!(v["keepalive"], 60);
        assert_eq!(v["client_id"], "c1");
        assert_eq!(v["username"], "u");
        assert_eq!(v["password"], "<redacted>");
        assert_eq!(
            v["will"],
            json!({"topic": "w", "qos": 1, "retain": true, "payload": "hi", "payload_encoding": "utf8", "payload_len": 2})
        );
        let v = to_json(
            &d.packet,
            &RenderOptions {
                payload_bytes: 64,
                show_secrets: true,
            },
        );
        assert_eq!(v["password"], "pwd");
        assert_eq!(
            d.packet.summary(),
            "CONNECT v3.1.1 \"c1\" ka=60 clean will=\"w\" q1 user=\"u\""
        );
    }

    #[test]
    fn absent_username_and_will_are_null() {
        // CONNECT 5.0, clean start, keep alive 10, no properties, empty client id.
        let b = [
            0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 10, 0, 0, 0,
        ];
        let d = decode(&b, ProtocolVersion::V311);
        assert_eq!(d.version, ProtocolVersion::V5);
        let v = to_json(&d.packet, &RenderOptions::default());
        assert_eq!(v["username"], serde_json::Value::Null);
        assert_eq!(v["password"], serde_json::Value::Null);
        assert_eq!(v["will"], serde_json::Value::Null);
        assert_eq!(v["client_id"], "");
        assert_eq!(d.packet.summary(), "CONNECT v5 \"\" ka=10 clean");
    }

    #[test]
    fn properties_object() {
        // PUBACK 5.0: id 1, reason 0x10, 18 bytes of properties:
        // reason string "x", user properties ("a","b") and ("a","c").
        let b = [
            0x40, 22, 0, 1, 0x10, 18, //
            0x1F, 0, 1, b'x', //
            0x26, 0, 1, b'a', 0, 1, b'b', //
            0x26, 0, 1, b'a', 0, 1, b'c',
        ];
        let d = decode(&b, ProtocolVersion::V5);
        assert!(d.violations.is_empty(), "{:?}", d.violations);
        let v = to_json(&d.packet, &RenderOptions::default());
        assert_eq!(v["reason_code"], 16);
        assert_eq!(v["reason"], "No matching subscribers");
        assert_eq!(
            v["properties"],
            json!({"reason_string": "x", "user_properties": [["a", "b"], ["a", "c"]]})
        );
        assert_eq!(
            d.packet.summary(),
            "PUBACK id=1 rc=0x10 No matching subscribers"
        );
    }

    #[test]
    fn auth_data_is_redacted_and_binary_is_hex() {
        // AUTH 5.0 reason 0x18, method "m", data 0x01 0xab
        let b = [0xF0, 11, 0x18, 9, 0x15, 0, 1, b'm', 0x16, 0, 2, 0x01, 0xab];
        let d = decode(&b, ProtocolVersion::V5);
        let v = to_json(&d.packet, &RenderOptions::default());
        assert_eq!(v["properties"]["authentication_method"], "m");
        assert_eq!(v["properties"]["authentication_data"], "<redacted>");
        let v = to_json(
            &d.packet,
            &RenderOptions {
                payload_bytes: 64,
                show_secrets: true,
            },
        );
        assert_eq!(v["properties"]["authentication_data"], "01ab");
        assert_eq!(v["reason"], "Continue authentication");
    }

    #[test]
    fn suback_summary_and_codes() {
        let b = [0x90, 4, 0, 1, 1, 0x80];
        let d = decode(&b, ProtocolVersion::V311);
        assert_eq!(d.packet.summary(), "SUBACK id=1 [1, 0x80]");
        let v = to_json(&d.packet, &RenderOptions::default());
        assert_eq!(v["reason_codes"], json!([1, 128]));
    }

    #[test]
    fn malformed_json() {
        // PUBLISH whose topic length (9) is longer than the 3 bytes left.
        let b = [0x30, 5, 0, 9, b'a', b'b', b'c'];
        let Err(crate::mqtt::parse::ParseError::Malformed(m)) =
            parse_packet(&b, ProtocolVersion::V311, 64)
        else {
            panic!("should be malformed");
        };
        let v = serde_json::to_value(MalformedJson::new(&m)).unwrap();
        assert_eq!(v["type"], "PUBLISH");
        assert_eq!(v["length"], 5);
        assert_eq!(
            v["malformed"],
            "topic length 9 runs past the packet end (at offset 2 of 7)"
        );
    }

    #[test]
    fn summary_escapes_control_characters() {
        let b = [0x30, 6, 0, 4, 0x1b, b'[', b'2', b'J'];
        let d = decode(&b, ProtocolVersion::V311);
        assert_eq!(d.packet.summary(), "PUBLISH q0 \"\\u{1b}[2J\" 0B");
    }
}
