//! What every MQTT packet starts with: its type, the fixed header, and the
//! protocol version that decides how the rest reads. The bottom of the
//! `mqtt` module: it imports nothing from its siblings.

use std::fmt;

/// The MQTT protocol level a connection speaks.
///
/// 3.1 and 3.1.1 share a wire layout except for details (protocol name,
/// client identifier rules, SUBSCRIBE retries); 5.0 adds properties and
/// reason codes to almost every packet, which is why the parser must know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProtocolVersion {
    /// MQTT 3.1 (protocol name "MQIsdp", level 3).
    V31,
    /// MQTT 3.1.1 (protocol name "MQTT", level 4).
    V311,
    /// MQTT 5.0 (protocol name "MQTT", level 5).
    V5,
}

impl ProtocolVersion {
    /// The version for a CONNECT protocol level byte (3, 4, 5).
    pub fn from_level(level: u8) -> Option<Self> {
        match level {
            3 => Some(ProtocolVersion::V31),
            4 => Some(ProtocolVersion::V311),
            5 => Some(ProtocolVersion::V5),
            _ => None,
        }
    }

    /// The CONNECT protocol level byte of this version.
    pub fn level(self) -> u8 {
        match self {
            ProtocolVersion::V31 => 3,
            ProtocolVersion::V311 => 4,
            ProtocolVersion::V5 => 5,
        }
    }

    /// `"3.1"`, `"3.1.1"` or `"5.0"`, the JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V31 => "3.1",
            ProtocolVersion::V311 => "3.1.1",
            ProtocolVersion::V5 => "5.0",
        }
    }

    /// Whether packets of this version carry properties and reason codes.
    pub fn is_v5(self) -> bool {
        self == ProtocolVersion::V5
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The control packet type (high nibble of the first byte). Type 0 is
/// reserved in every version and has no variant: it can only be malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PacketType {
    Connect = 1,
    Connack = 2,
    Publish = 3,
    Puback = 4,
    Pubrec = 5,
    Pubrel = 6,
    Pubcomp = 7,
    Subscribe = 8,
    Suback = 9,
    Unsubscribe = 10,
    Unsuback = 11,
    Pingreq = 12,
    Pingresp = 13,
    Disconnect = 14,
    /// MQTT 5.0 only; type 15 is reserved before.
    Auth = 15,
}

impl PacketType {
    /// Every packet type, in numeric order.
    pub const ALL: [PacketType; 15] = [
        PacketType::Connect,
        PacketType::Connack,
        PacketType::Publish,
        PacketType::Puback,
        PacketType::Pubrec,
        PacketType::Pubrel,
        PacketType::Pubcomp,
        PacketType::Subscribe,
        PacketType::Suback,
        PacketType::Unsubscribe,
        PacketType::Unsuback,
        PacketType::Pingreq,
        PacketType::Pingresp,
        PacketType::Disconnect,
        PacketType::Auth,
    ];

    /// The type for a 4-bit type code; `None` for the reserved 0 (and anything above 15).
    pub fn from_code(code: u8) -> Option<Self> {
        PacketType::ALL
            .get(usize::from(code).checked_sub(1)?)
            .copied()
    }

    /// The 4-bit type code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The upper-case name used in JSON and text output (`"PUBLISH"`).
    pub fn as_str(self) -> &'static str {
        match self {
            PacketType::Connect => "CONNECT",
            PacketType::Connack => "CONNACK",
            PacketType::Publish => "PUBLISH",
            PacketType::Puback => "PUBACK",
            PacketType::Pubrec => "PUBREC",
            PacketType::Pubrel => "PUBREL",
            PacketType::Pubcomp => "PUBCOMP",
            PacketType::Subscribe => "SUBSCRIBE",
            PacketType::Suback => "SUBACK",
            PacketType::Unsubscribe => "UNSUBSCRIBE",
            PacketType::Unsuback => "UNSUBACK",
            PacketType::Pingreq => "PINGREQ",
            PacketType::Pingresp => "PINGRESP",
            PacketType::Disconnect => "DISCONNECT",
            PacketType::Auth => "AUTH",
        }
    }

    /// The flag nibble the spec requires, or `None` for PUBLISH whose flags
    /// carry DUP / QoS / RETAIN.
    pub fn required_flags(self) -> Option<u8> {
        match self {
            PacketType::Publish => None,
            PacketType::Pubrel | PacketType::Subscribe | PacketType::Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fixed header every packet starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedHeader {
    pub packet_type: PacketType,
    /// Low 4 bits of the first byte, as sent.
    pub flags: u8,
    /// The remaining length: bytes after the fixed header.
    pub length: u32,
    /// Bytes the fixed header itself took (2..=5).
    pub header_len: u8,
}

impl FixedHeader {
    /// Bytes of the whole packet, fixed header included.
    pub fn total_len(&self) -> usize {
        usize::from(self.header_len).saturating_add(self.length as usize)
    }

    /// Whether the remaining length used the fewest bytes possible (MQTT-1.5.5-1).
    pub fn length_is_minimal(&self) -> bool {
        usize::from(self.header_len).saturating_sub(1) == var_int_len(self.length)
    }
}

/// Bytes a Variable Byte Integer of `value` takes when minimally encoded.
pub fn var_int_len(value: u32) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}
