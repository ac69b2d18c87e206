//! MQTT 5.0 reason codes and the 3.x CONNACK / SUBACK return codes.
//!
//! A newtype over the byte rather than an enum: a broker that sends a code
//! the spec does not define must still be reported exactly, and the same
//! value means different things in different packets (0x00 is "Success",
//! "Normal disconnection" or "Granted QoS 0").

use super::header::{PacketType, ProtocolVersion};

use std::fmt;

/// A reason code (5.0) or return code (3.x), as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReasonCode(pub u8);

use PacketType as P;

/// (code, name, packets that may carry it) — MQTT 5.0 section 2.4, table 2-6.
const V5_CODES: &[(u8, &str, &[PacketType])] = &[
    (
        0x00,
        "Success",
        &[
            P::Connack,
            P::Puback,
            P::Pubrec,
            P::Pubrel,
            P::Pubcomp,
            P::Unsuback,
            P::Auth,
        ],
    ),
    (0x00, "Normal disconnection", &[P::Disconnect]),
    (0x00, "Granted QoS 0", &[P::Suback]),
    (0x01, "Granted QoS 1", &[P::Suback]),
    (0x02, "Granted QoS 2", &[P::Suback]),
    (0x04, "Disconnect with Will Message", &[P::Disconnect]),
    (0x10, "No matching subscribers", &[P::Puback, P::Pubrec]),
    (0x11, "No subscription existed", &[P::Unsuback]),
    (0x18, "Continue authentication", &[P::Auth]),
    (0x19, "Re-authenticate", &[P::Auth]),
    (
        0x80,
        "Unspecified error",
        &[
            P::Connack,
            P::Puback,
            P::Pubrec,
            P::Suback,
            P::Unsuback,
            P::Disconnect,
        ],
    ),
    (0x81, "Malformed Packet", &[P::Connack, P::Disconnect]),
    (0x82, "Protocol Error", &[P::Connack, P::Disconnect]),
    (
        0x83,
        "Implementation specific error",
        &[
            P::Connack,
            P::Puback,
            P::Pubrec,
            P::Suback,
            P::Unsuback,
            P::Disconnect,
        ],
    ),
    (0x84, "Unsupported Protocol Version", &[P::Connack]),
    (0x85, "Client Identifier not valid", &[P::Connack]),
    (0x86, "Bad User Name or Password", &[P::Connack]),
    (
        0x87,
        "Not authorized",
        &[
            P::Connack,
            P::Puback,
            P::Pubrec,
            P::Suback,
            P::Unsuback,
            P::Disconnect,
        ],
    ),
    (0x88, "Server unavailable", &[P::Connack]),
    (0x89, "Server busy", &[P::Connack, P::Disconnect]),
    (0x8A, "Banned", &[P::Connack]),
    (0x8B, "Server shutting down", &[P::Disconnect]),
    (
        0x8C,
        "Bad authentication method",
        &[P::Connack, P::Disconnect],
    ),
    (0x8D, "Keep Alive timeout", &[P::Disconnect]),
    (0x8E, "Session taken over", &[P::Disconnect]),
    (
        0x8F,
        "Topic Filter invalid",
        &[P::Suback, P::Unsuback, P::Disconnect],
    ),
    (
        0x90,
        "Topic Name invalid",
        &[P::Connack, P::Puback, P::Pubrec, P::Disconnect],
    ),
    (
        0x91,
        "Packet Identifier in use",
        &[P::Puback, P::Pubrec, P::Suback, P::Unsuback],
    ),
    (
        0x92,
        "Packet Identifier not found",
        &[P::Pubrel, P::Pubcomp],
    ),
    (0x93, "Receive Maximum exceeded", &[P::Disconnect]),
    (0x94, "Topic Alias invalid", &[P::Disconnect]),
    (0x95, "Packet too large", &[P::Connack, P::Disconnect]),
    (0x96, "Message rate too high", &[P::Disconnect]),
    (
        0x97,
        "Quota exceeded",
        &[P::Connack, P::Puback, P::Pubrec, P::Suback, P::Disconnect],
    ),
    (0x98, "Administrative action", &[P::Disconnect]),
    (
        0x99,
        "Payload format invalid",
        &[P::Connack, P::Puback, P::Pubrec, P::Disconnect],
    ),
    (0x9A, "Retain not supported", &[P::Connack, P::Disconnect]),
    (0x9B, "QoS not supported", &[P::Connack, P::Disconnect]),
    (0x9C, "Use another server", &[P::Connack, P::Disconnect]),
    (0x9D, "Server moved", &[P::Connack, P::Disconnect]),
    (
        0x9E,
        "Shared Subscriptions not supported",
        &[P::Suback, P::Disconnect],
    ),
    (
        0x9F,
        "Connection rate exceeded",
        &[P::Connack, P::Disconnect],
    ),
    (0xA0, "Maximum connect time", &[P::Disconnect]),
    (
        0xA1,
        "Subscription Identifiers not supported",
        &[P::Suback, P::Disconnect],
    ),
    (
        0xA2,
        "Wildcard Subscriptions not supported",
        &[P::Suback, P::Disconnect],
    ),
];

/// MQTT 3.1 / 3.1.1 CONNACK return codes (3.1.1 section 3.2.2.3).
const V3_CONNACK: &[&str] = &[
    "Connection Accepted",
    "Connection Refused, unacceptable protocol version",
    "Connection Refused, identifier rejected",
    "Connection Refused, Server unavailable",
    "Connection Refused, bad user name or password",
    "Connection Refused, not authorized",
];

impl ReasonCode {
    pub const SUCCESS: ReasonCode = ReasonCode(0x00);
    pub const NORMAL_DISCONNECTION: ReasonCode = ReasonCode(0x00);
    pub const GRANTED_QOS_0: ReasonCode = ReasonCode(0x00);
    pub const GRANTED_QOS_1: ReasonCode = ReasonCode(0x01);
    pub const GRANTED_QOS_2: ReasonCode = ReasonCode(0x02);
    pub const DISCONNECT_WITH_WILL_MESSAGE: ReasonCode = ReasonCode(0x04);
    pub const NO_MATCHING_SUBSCRIBERS: ReasonCode = ReasonCode(0x10);
    pub const NO_SUBSCRIPTION_EXISTED: ReasonCode = ReasonCode(0x11);
    pub const CONTINUE_AUTHENTICATION: ReasonCode = ReasonCode(0x18);
    pub const RE_AUTHENTICATE: ReasonCode = ReasonCode(0x19);
    pub const UNSPECIFIED_ERROR: ReasonCode = ReasonCode(0x80);
    pub const MALFORMED_PACKET: ReasonCode = ReasonCode(0x81);
    pub const PROTOCOL_ERROR: ReasonCode = ReasonCode(0x82);
    pub const IMPLEMENTATION_SPECIFIC_ERROR: ReasonCode = ReasonCode(0x83);
    pub const UNSUPPORTED_PROTOCOL_VERSION: ReasonCode = ReasonCode(0x84);
    pub const CLIENT_IDENTIFIER_NOT_VALID: ReasonCode = ReasonCode(0x85);
    pub const BAD_USER_NAME_OR_PASSWORD: ReasonCode = ReasonCode(0x86);
    pub const NOT_AUTHORIZED: ReasonCode = ReasonCode(0x87);
    pub const SERVER_UNAVAILABLE: ReasonCode = ReasonCode(0x88);
    pub const SERVER_BUSY: ReasonCode = ReasonCode(0x89);
    pub const BANNED: ReasonCode = ReasonCode(0x8A);
    pub const SERVER_SHUTTING_DOWN: ReasonCode = ReasonCode(0x8B);
    pub const BAD_AUTHENTICATION_METHOD: ReasonCode = ReasonCode(0x8C);
    pub const KEEP_ALIVE_TIMEOUT: ReasonCode = ReasonCode(0x8D);
    pub const SESSION_TAKEN_OVER: ReasonCode = ReasonCode(0x8E);
    pub const TOPIC_FILTER_INVALID: ReasonCode = ReasonCode(0x8F);
    pub const TOPIC_NAME_INVALID: ReasonCode = ReasonCode(0x90);
    pub const PACKET_IDENTIFIER_IN_USE: ReasonCode = ReasonCode(0x91);
    pub const PACKET_IDENTIFIER_NOT_FOUND: ReasonCode = ReasonCode(0x92);
    pub const RECEIVE_MAXIMUM_EXCEEDED: ReasonCode = ReasonCode(0x93);
    pub const TOPIC_ALIAS_INVALID: ReasonCode = ReasonCode(0x94);
    pub const PACKET_TOO_LARGE: ReasonCode = ReasonCode(0x95);
    pub const MESSAGE_RATE_TOO_HIGH: ReasonCode = ReasonCode(0x96);
    pub const QUOTA_EXCEEDED: ReasonCode = ReasonCode(0x97);
    pub const ADMINISTRATIVE_ACTION: ReasonCode = ReasonCode(0x98);
    pub const PAYLOAD_FORMAT_INVALID: ReasonCode = ReasonCode(0x99);
    pub const RETAIN_NOT_SUPPORTED: ReasonCode = ReasonCode(0x9A);
    pub const QOS_NOT_SUPPORTED: ReasonCode = ReasonCode(0x9B);
    pub const USE_ANOTHER_SERVER: ReasonCode = ReasonCode(0x9C);
    pub const SERVER_MOVED: ReasonCode = ReasonCode(0x9D);
    pub const SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: ReasonCode = ReasonCode(0x9E);
    pub const CONNECTION_RATE_EXCEEDED: ReasonCode = ReasonCode(0x9F);
    pub const MAXIMUM_CONNECT_TIME: ReasonCode = ReasonCode(0xA0);
    pub const SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED: ReasonCode = ReasonCode(0xA1);
    pub const WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED: ReasonCode = ReasonCode(0xA2);

    /// 3.x CONNACK: connection accepted.
    pub const V3_ACCEPTED: ReasonCode = ReasonCode(0);
    /// 3.x CONNACK: unacceptable protocol version.
    pub const V3_UNACCEPTABLE_PROTOCOL_VERSION: ReasonCode = ReasonCode(1);
    /// 3.x CONNACK: identifier rejected.
    pub const V3_IDENTIFIER_REJECTED: ReasonCode = ReasonCode(2);
    /// 3.x CONNACK: server unavailable.
    pub const V3_SERVER_UNAVAILABLE: ReasonCode = ReasonCode(3);
    /// 3.x CONNACK: bad user name or password.
    pub const V3_BAD_USER_NAME_OR_PASSWORD: ReasonCode = ReasonCode(4);
    /// 3.x CONNACK: not authorized.
    pub const V3_NOT_AUTHORIZED: ReasonCode = ReasonCode(5);
    /// 3.1.1 SUBACK: the subscription failed.
    pub const V3_SUBACK_FAILURE: ReasonCode = ReasonCode(0x80);

    /// Whether the code reports a failure (5.0: 0x80 and above; 3.x CONNACK: non-zero).
    pub fn is_error(self, packet: PacketType, version: ProtocolVersion) -> bool {
        if !version.is_v5() && packet == PacketType::Connack {
            self.0 != 0
        } else {
            self.0 >= 0x80
        }
    }

    /// The spec's name of this code in `packet` of `version`, or `None` when
    /// the spec does not allow this value there (a reserved code).
    pub fn name_for(self, packet: PacketType, version: ProtocolVersion) -> Option<&'static str> {
        if version.is_v5() {
            return V5_CODES
                .iter()
                .find(|(code, _, packets)| *code == self.0 && packets.contains(&packet))
                .map(|(_, name, _)| *name);
        }
        match packet {
            PacketType::Connack => V3_CONNACK.get(usize::from(self.0)).copied(),
            PacketType::Suback => match self.0 {
                0 => Some("Success - Maximum QoS 0"),
                1 => Some("Success - Maximum QoS 1"),
                2 => Some("Success - Maximum QoS 2"),
                0x80 => Some("Failure"),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether the spec allows this value in `packet` of `version`.
    pub fn is_allowed(self, packet: PacketType, version: ProtocolVersion) -> bool {
        self.name_for(packet, version).is_some()
    }

    /// A name without packet context: the first 5.0 meaning, or `"Reserved"`.
    pub fn name(self) -> &'static str {
        V5_CODES
            .iter()
            .find(|(code, _, _)| *code == self.0)
            .map(|(_, name, _)| *name)
            .unwrap_or("Reserved")
    }
}

impl fmt::Display for ReasonCode {
    /// `0x87`: codes are spelled in hex like the spec's tables.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion::*;

    #[test]
    fn zero_is_named_by_packet() {
        let rc = ReasonCode(0);
        assert_eq!(rc.name_for(P::Puback, V5), Some("Success"));
        assert_eq!(rc.name_for(P::Disconnect, V5), Some("Normal disconnection"));
        assert_eq!(rc.name_for(P::Suback, V5), Some("Granted QoS 0"));
        assert_eq!(rc.name_for(P::Connack, V311), Some("Connection Accepted"));
    }

    #[test]
    fn packet_specific_codes_are_checked() {
        assert!(ReasonCode::NO_MATCHING_SUBSCRIBERS.is_allowed(P::Puback, V5));
        assert!(!ReasonCode::NO_MATCHING_SUBSCRIBERS.is_allowed(P::Pubcomp, V5));
        assert!(ReasonCode::PACKET_IDENTIFIER_NOT_FOUND.is_allowed(P::Pubrel, V5));
        assert!(!ReasonCode::PACKET_IDENTIFIER_NOT_FOUND.is_allowed(P::Puback, V5));
        assert!(!ReasonCode(0x03).is_allowed(P::Suback, V5));
        assert!(!ReasonCode(0xA3).is_allowed(P::Disconnect, V5));
        assert!(ReasonCode::RE_AUTHENTICATE.is_allowed(P::Auth, V5));
        assert!(!ReasonCode::UNSPECIFIED_ERROR.is_allowed(P::Auth, V5));
    }

    #[test]
    fn v3_codes() {
        assert!(ReasonCode(5).is_allowed(P::Connack, V311));
        assert!(!ReasonCode(6).is_allowed(P::Connack, V311));
        assert!(ReasonCode::V3_SUBACK_FAILURE.is_allowed(P::Suback, V311));
        assert!(!ReasonCode(3).is_allowed(P::Suback, V31));
        assert!(ReasonCode(1).is_error(P::Connack, V311));
        assert!(!ReasonCode(1).is_error(P::Connack, V5));
        assert_eq!(ReasonCode(0x87).to_string(), "0x87");
        assert_eq!(ReasonCode(0xfe).name(), "Reserved");
    }
}
