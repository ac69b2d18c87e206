//! The decoded shape of MQTT control packets.
//!
//! Every type here borrows from the bytes it was decoded from (`'a`), so a
//! packet that arrived in one TCP segment is described without copying a
//! single string. Values the spec does not allow are still representable
//! (raw flag bytes, [`ReasonCode`] newtypes): the analyzer reports what was on
//! the wire, not what should have been.

pub use super::header::{FixedHeader, PacketType, ProtocolVersion, var_int_len};
use super::properties::Properties;
use super::reason::ReasonCode;
pub use super::spec::{Rule, Violation};

/// The result of decoding one packet: the packet and what it breaks.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<'a> {
    pub packet: Packet<'a>,
    /// The protocol version the packet was decoded as (for CONNECT: its own level).
    pub version: ProtocolVersion,
    pub violations: Vec<Violation>,
}

/// One MQTT control packet.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet<'a> {
    Connect(Connect<'a>),
    Connack(Connack<'a>),
    Publish(Publish<'a>),
    Puback(PubResp<'a>),
    Pubrec(PubResp<'a>),
    Pubrel(PubResp<'a>),
    Pubcomp(PubResp<'a>),
    Subscribe(Subscribe<'a>),
    Suback(Suback<'a>),
    Unsubscribe(Unsubscribe<'a>),
    Unsuback(Unsuback<'a>),
    Pingreq(FixedHeader),
    Pingresp(FixedHeader),
    Disconnect(Disconnect<'a>),
    Auth(Auth<'a>),
}

impl<'a> Packet<'a> {
    /// The fixed header the packet arrived with.
    pub fn header(&self) -> &FixedHeader {
        match self {
            Packet::Connect(p) => &p.header,
            Packet::Connack(p) => &p.header,
            Packet::Publish(p) => &p.header,
            Packet::Puback(p) | Packet::Pubrec(p) | Packet::Pubrel(p) | Packet::Pubcomp(p) => {
                &p.header
            }
            Packet::Subscribe(p) => &p.header,
            Packet::Suback(p) => &p.header,
            Packet::Unsubscribe(p) => &p.header,
            Packet::Unsuback(p) => &p.header,
            Packet::Pingreq(h) | Packet::Pingresp(h) => h,
            Packet::Disconnect(p) => &p.header,
            Packet::Auth(p) => &p.header,
        }
    }

    pub fn packet_type(&self) -> PacketType {
        self.header().packet_type
    }

    /// The packet identifier, for the packets that have one (PUBLISH only at QoS > 0).
    pub fn packet_id(&self) -> Option<u16> {
        match self {
            Packet::Publish(p) => p.packet_id,
            Packet::Puback(p) | Packet::Pubrec(p) | Packet::Pubrel(p) | Packet::Pubcomp(p) => {
                Some(p.packet_id)
            }
            Packet::Subscribe(p) => Some(p.packet_id),
            Packet::Suback(p) => Some(p.packet_id),
            Packet::Unsubscribe(p) => Some(p.packet_id),
            Packet::Unsuback(p) => Some(p.packet_id),
            _ => None,
        }
    }

    /// The packet's MQTT 5.0 properties (empty for 3.x and for packets without any).
    pub fn properties(&self) -> Option<&Properties<'a>> {
        match self {
            Packet::Connect(p) => Some(&p.properties),
            Packet::Connack(p) => Some(&p.properties),
            Packet::Publish(p) => Some(&p.properties),
            Packet::Puback(p) | Packet::Pubrec(p) | Packet::Pubrel(p) | Packet::Pubcomp(p) => {
                Some(&p.properties)
            }
            Packet::Subscribe(p) => Some(&p.properties),
            Packet::Suback(p) => Some(&p.properties),
            Packet::Unsubscribe(p) => Some(&p.properties),
            Packet::Unsuback(p) => Some(&p.properties),
            Packet::Pingreq(_) | Packet::Pingresp(_) => None,
            Packet::Disconnect(p) => Some(&p.properties),
            Packet::Auth(p) => Some(&p.properties),
        }
    }
}

/// CONNECT: the client opens a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Connect<'a> {
    pub header: FixedHeader,
    /// "MQTT" (3.1.1, 5.0) or "MQIsdp" (3.1), as sent.
    pub protocol_name: &'a str,
    /// The level byte as sent (mosquitto bridges set 0x80 on top of 3/4/5).
    pub protocol_level: u8,
    /// The connect flags byte as sent.
    pub connect_flags: u8,
    /// Clean Start (5.0) / Clean Session (3.x).
    pub clean_start: bool,
    /// Keep alive in seconds.
    pub keepalive: u16,
    pub properties: Properties<'a>,
    pub client_id: &'a str,
    /// Boxed: most CONNECTs have none, and it would double every `Packet`'s size.
    pub will: Option<Box<Will<'a>>>,
    pub username: Option<&'a str>,
    /// Binary in the spec; shown redacted unless asked for.
    pub password: Option<&'a [u8]>,
}

impl Connect<'_> {
    /// The protocol version this CONNECT asks for (the bridge bit 0x80 ignored).
    pub fn version(&self) -> Option<ProtocolVersion> {
        ProtocolVersion::from_level(self.protocol_level & 0x7f)
    }
}

/// The will message a CONNECT registers.
#[derive(Debug, Clone, PartialEq)]
pub struct Will<'a> {
    pub topic: &'a str,
    pub qos: u8,
    pub retain: bool,
    pub properties: Properties<'a>,
    /// The whole will payload (it is inside the CONNECT, which is bounded).
    pub payload: &'a [u8],
}

/// CONNACK: the server's answer to CONNECT.
#[derive(Debug, Clone, PartialEq)]
pub struct Connack<'a> {
    pub header: FixedHeader,
    /// Which version's code table `reason_code` belongs to.
    pub version: ProtocolVersion,
    /// Connect acknowledge flags byte as sent.
    pub ack_flags: u8,
    pub session_present: bool,
    /// The 5.0 reason code, or the 3.x return code.
    pub reason_code: ReasonCode,
    pub properties: Properties<'a>,
}

/// PUBLISH: an application message.
#[derive(Debug, Clone, PartialEq)]
pub struct Publish<'a> {
    pub header: FixedHeader,
    pub dup: bool,
    /// 0, 1, 2 — or 3, which is invalid but reported as sent.
    pub qos: u8,
    pub retain: bool,
    /// The topic as on the wire (empty when 5.0 sends only a topic alias).
    pub topic: &'a str,
    /// Present when QoS > 0.
    pub packet_id: Option<u16>,
    pub properties: Properties<'a>,
    /// Full payload length, whatever was kept of it.
    pub payload_len: u32,
    /// The first bytes of the payload (bounded by the preview size).
    pub payload_preview: &'a [u8],
    /// Where the payload's hash comes from (see [`Publish::payload_hash`]).
    pub hash: PayloadHash<'a>,
    /// Payload bytes the capture lost in a gap (the packet was still framed).
    pub payload_missing: u64,
    /// The topic a 5.0 topic alias stands for, filled in by the connection.
    pub resolved_topic: Option<&'a str>,
}

/// A PUBLISH payload's hash, computed only when asked for: most payloads
/// are never compared (QoS 0, or no reconnect), and hashing them all
/// costs more than the rest of their decoding.
#[derive(Clone, Copy)]
pub enum PayloadHash<'a> {
    /// The whole payload is here: hashed on demand.
    Of(&'a [u8]),
    /// The framer hashed it while streaming it (a payload split across segments).
    Known(u64),
}

impl PayloadHash<'_> {
    pub fn value(&self) -> u64 {
        match self {
            PayloadHash::Of(bytes) => xxhash_rust::xxh3::xxh3_64(bytes),
            PayloadHash::Known(h) => *h,
        }
    }
}

/// Shown as its value, however it was made.
impl std::fmt::Debug for PayloadHash<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PayloadHash({:016x})", self.value())
    }
}

/// Two hashes are equal when their values are, however they were made.
impl PartialEq for PayloadHash<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl<'a> Publish<'a> {
    /// xxh3-64 of the whole payload (of the captured part when `payload_missing > 0`).
    pub fn payload_hash(&self) -> u64 {
        self.hash.value()
    }

    /// The topic the message was published to: the resolved alias if the
    /// wire topic was empty, the wire topic otherwise.
    pub fn topic_name(&self) -> &'a str {
        match self.resolved_topic {
            Some(t) if self.topic.is_empty() => t,
            _ => self.topic,
        }
    }
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP: the QoS 1 / QoS 2 acknowledgements.
#[derive(Debug, Clone, PartialEq)]
pub struct PubResp<'a> {
    pub header: FixedHeader,
    pub packet_id: u16,
    /// 5.0 only (`Some(0)` when the short form leaves it out); `None` in 3.x.
    pub reason_code: Option<ReasonCode>,
    pub properties: Properties<'a>,
}

/// One topic filter of a SUBSCRIBE with its options.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription<'a> {
    pub filter: &'a str,
    /// The options byte as sent (the requested QoS byte in 3.x).
    pub options: u8,
    pub qos: u8,
    /// 5.0 only.
    pub no_local: bool,
    /// 5.0 only.
    pub retain_as_published: bool,
    /// 5.0 only: 0 send retained, 1 only for new subscriptions, 2 never.
    pub retain_handling: u8,
}

/// SUBSCRIBE.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscribe<'a> {
    pub header: FixedHeader,
    /// Decides whether the 5.0 subscription options are meaningful.
    pub version: ProtocolVersion,
    pub packet_id: u16,
    pub properties: Properties<'a>,
    pub topics: Vec<Subscription<'a>>,
}

/// SUBACK.
#[derive(Debug, Clone, PartialEq)]
pub struct Suback<'a> {
    pub header: FixedHeader,
    /// Decides the names of the codes (0x80 is "Failure" in 3.1.1).
    pub version: ProtocolVersion,
    pub packet_id: u16,
    pub properties: Properties<'a>,
    /// One byte per subscription, borrowed as sent.
    pub reason_codes: &'a [u8],
}

impl Suback<'_> {
    /// The granted QoS / reason codes as [`ReasonCode`]s.
    pub fn codes(&self) -> impl Iterator<Item = ReasonCode> + '_ {
        self.reason_codes.iter().map(|&c| ReasonCode(c))
    }
}

/// UNSUBSCRIBE.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsubscribe<'a> {
    pub header: FixedHeader,
    pub packet_id: u16,
    pub properties: Properties<'a>,
    pub topics: Vec<&'a str>,
}

/// UNSUBACK.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsuback<'a> {
    pub header: FixedHeader,
    pub packet_id: u16,
    pub properties: Properties<'a>,
    /// 5.0 only; `None` in 3.x, which has no reason codes here.
    pub reason_codes: Option<&'a [u8]>,
}

impl Unsuback<'_> {
    /// The reason codes as [`ReasonCode`]s (none in 3.x).
    pub fn codes(&self) -> impl Iterator<Item = ReasonCode> + '_ {
        self.reason_codes
            .unwrap_or(&[])
            .iter()
            .map(|&c| ReasonCode(c))
    }
}

/// DISCONNECT.
#[derive(Debug, Clone, PartialEq)]
pub struct Disconnect<'a> {
    pub header: FixedHeader,
    /// 5.0 only (`Some(0)` when left out); `None` in 3.x.
    pub reason_code: Option<ReasonCode>,
    pub properties: Properties<'a>,
}

/// AUTH (5.0 only).
#[derive(Debug, Clone, PartialEq)]
pub struct Auth<'a> {
    pub header: FixedHeader,
    /// 0 (Success) when the short form leaves it out.
    pub reason_code: ReasonCode,
    pub properties: Properties<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_type_codes_round_trip() {
        assert_eq!(PacketType::from_code(0), None);
        assert_eq!(PacketType::from_code(16), None);
        for code in 1..=15u8 {
            let t = PacketType::from_code(code).unwrap();
            assert_eq!(t.code(), code);
        }
        assert_eq!(PacketType::from_code(3).unwrap().as_str(), "PUBLISH");
    }

    #[test]
    fn minimal_length_detection() {
        let h = |length, header_len| FixedHeader {
            packet_type: PacketType::Publish,
            flags: 0,
            length,
            header_len,
        };
        assert!(h(0, 2).length_is_minimal());
        assert!(h(127, 2).length_is_minimal());
        assert!(!h(127, 3).length_is_minimal());
        assert!(h(128, 3).length_is_minimal());
        assert!(h(268_435_455, 5).length_is_minimal());
    }

    #[test]
    fn versions_map_levels() {
        for v in [
            ProtocolVersion::V31,
            ProtocolVersion::V311,
            ProtocolVersion::V5,
        ] {
            assert_eq!(ProtocolVersion::from_level(v.level()), Some(v));
        }
        assert_eq!(ProtocolVersion::from_level(6), None);
        assert_eq!(ProtocolVersion::V5.as_str(), "5.0");
    }
}
