//! Which statement of which spec a finding rests on.
//!
//! MQTT 3.1.1 and 5.0 number their conformance statements differently
//! (the receiver's duty to send PUBACK is MQTT-4.3.2-2 in 3.1.1 and
//! MQTT-4.3.2-4 in 5.0), so every rule is looked up with the connection's
//! protocol version. 3.1 has no numbered statements; its findings cite the
//! 3.1.1 numbers, which describe the same behaviour. Where a spec has no
//! numbered statement the section number is given instead.

use crate::base::Direction;
use crate::mqtt::spec::{self, Rule};
use crate::mqtt::{PacketType, ProtocolVersion};

fn pick(v5: bool, five: Rule, three: Rule) -> Rule {
    if v5 { five } else { three }
}

fn is_v5(v: Option<ProtocolVersion>) -> bool {
    v.is_some_and(ProtocolVersion::is_v5)
}

/// The receiver's (or, for PUBREL, the sender's) duty to send `expected`.
pub fn ack_duty(expected: PacketType, v: Option<ProtocolVersion>) -> Rule {
    let v5 = is_v5(v);
    match expected {
        PacketType::Puback => pick(v5, Rule::new("MQTT-4.3.2-4"), Rule::new("MQTT-4.3.2-2")),
        PacketType::Pubrec => pick(v5, Rule::new("MQTT-4.3.3-8"), Rule::new("MQTT-4.3.3-2")),
        PacketType::Pubrel => pick(v5, Rule::new("MQTT-4.3.3-4"), Rule::new("MQTT-4.3.3-1")),
        PacketType::Pubcomp => pick(v5, Rule::new("MQTT-4.3.3-11"), Rule::new("MQTT-4.3.3-2")),
        PacketType::Suback => Rule::new("MQTT-3.8.4-1"),
        PacketType::Unsuback => Rule::new("MQTT-3.10.4-4"),
        PacketType::Pingresp => Rule::new("MQTT-3.12.4-1"),
        PacketType::Connack => pick(v5, Rule::new("MQTT-3.1.4-5"), Rule::new("MQTT-3.2.0-1")),
        _ => pick(v5, Rule::new("4.3"), Rule::new("4.3")),
    }
}

/// An acknowledgement must carry the packet identifier of its request.
pub fn ack_matches_request(ack: PacketType, v: Option<ProtocolVersion>) -> Rule {
    let v5 = is_v5(v);
    match ack {
        PacketType::Suback | PacketType::Unsuback => {
            pick(v5, Rule::new("MQTT-2.2.1-6"), Rule::new("MQTT-2.3.1-7"))
        }
        _ => pick(v5, Rule::new("MQTT-2.2.1-5"), Rule::new("MQTT-2.3.1-6")),
    }
}

/// The receiver must answer with the packet the PUBLISH's QoS calls for.
pub const RESPONSE_BY_QOS: Rule = Rule::new("MQTT-3.3.4-1");

/// A new PUBLISH / SUBSCRIBE / UNSUBSCRIBE must use an unused packet identifier.
pub fn unused_packet_id(dir: Direction, v: Option<ProtocolVersion>) -> Rule {
    match (is_v5(v), dir) {
        (true, Direction::ClientToServer) => Rule::new("MQTT-2.2.1-3"),
        (true, Direction::ServerToClient) => Rule::new("MQTT-2.2.1-4"),
        (false, _) => Rule::new("MQTT-2.3.1-2"),
    }
}

/// Packet identifiers must not be 0.
pub fn nonzero_packet_id(dir: Direction, v: Option<ProtocolVersion>) -> Rule {
    match (is_v5(v), dir) {
        (true, Direction::ClientToServer) => Rule::new("MQTT-2.2.1-3"),
        (true, Direction::ServerToClient) => Rule::new("MQTT-2.2.1-4"),
        (false, _) => Rule::new("MQTT-2.3.1-1"),
    }
}

/// Re-sending is required on reconnection (and, in 5.0, allowed only then).
pub const RESEND_ON_RECONNECT: Rule = Rule::new("MQTT-4.4.0-1");
/// The DUP flag must be 1 on a re-delivery.
pub const DUP_ON_REDELIVERY: Rule = Rule::new("MQTT-3.3.1-1");
/// DUP must be 0 on QoS 0.
pub const DUP_ZERO_ON_QOS0: Rule = spec::DUP_ZERO_ON_QOS0;
/// Both QoS bits set.
pub const QOS_BITS: Rule = spec::QOS_BITS;
/// QoS 2: no PUBLISH re-send once PUBREL went out (5.0 only).
pub const NO_PUBLISH_AFTER_PUBREL: Rule = Rule::new("MQTT-4.3.3-6");

/// The delivered QoS is the minimum of the published QoS and the grant.
pub fn granted_qos(v: Option<ProtocolVersion>) -> Rule {
    pick(
        is_v5(v),
        Rule::new("MQTT-3.8.4-8"),
        Rule::new("MQTT-3.8.4-6"),
    )
}

/// Receive Maximum: the client's (for client→server) or the server's limit.
pub fn receive_maximum(dir: Direction) -> Rule {
    match dir {
        Direction::ClientToServer => Rule::new("MQTT-3.3.4-7"),
        Direction::ServerToClient => Rule::new("MQTT-3.3.4-9"),
    }
}

/// The first packet from the client must be CONNECT.
pub const CONNECT_FIRST: Rule = Rule::new("MQTT-3.1.0-1");
/// A second CONNECT is a protocol violation.
pub const CONNECT_ONCE: Rule = Rule::new("MQTT-3.1.0-2");
/// The server's first packet must be CONNACK (5.0: AUTH may come before it).
pub const CONNACK_FIRST: Rule = Rule::new("MQTT-3.2.0-1");

/// Only one CONNACK per network connection.
pub fn connack_once(v: Option<ProtocolVersion>) -> Rule {
    pick(is_v5(v), Rule::new("MQTT-3.2.0-2"), Rule::new("3.2"))
}

/// Nothing may follow a DISCONNECT from the same side.
pub fn nothing_after_disconnect(v: Option<ProtocolVersion>) -> Rule {
    pick(
        is_v5(v),
        Rule::new("MQTT-3.14.4-1"),
        Rule::new("MQTT-3.14.4-2"),
    )
}

/// 5.0: with an Authentication Method, only AUTH and DISCONNECT before CONNACK.
pub const AUTH_BEFORE_CONNACK: Rule = Rule::new("MQTT-3.1.2-30");
/// 5.0: the client must not publish above the CONNACK's Maximum QoS.
pub const MAXIMUM_QOS: Rule = Rule::new("MQTT-3.2.2-11");
/// 5.0: no retained PUBLISH when the CONNACK says Retain Available = 0.
pub const RETAIN_AVAILABLE: Rule = Rule::new("MQTT-3.2.2-14");

/// The server closes the connection after 1.5 × keep alive of silence.
pub fn keepalive(v: Option<ProtocolVersion>) -> Rule {
    pick(
        is_v5(v),
        Rule::new("MQTT-3.1.2-22"),
        Rule::new("MQTT-3.1.2-24"),
    )
}

/// The section that explains a decoding failure.
pub fn malformed(reason: &crate::mqtt::Reason, v: Option<ProtocolVersion>) -> Rule {
    use crate::mqtt::Reason as R;
    let v5 = is_v5(v);
    match reason {
        R::RemainingLengthTooLong | R::VarIntTooLong { .. } => {
            pick(v5, Rule::new("MQTT-1.5.5-1"), Rule::new("2.2.3"))
        }
        R::ReservedPacketType | R::AuthBeforeV5 => pick(v5, Rule::new("2.1.2"), Rule::new("2.2.1")),
        R::InvalidUtf8 { .. } => pick(v5, Rule::new("MQTT-1.5.4-1"), Rule::new("MQTT-1.5.3-1")),
        R::UnknownProperty(_) => Rule::new("2.2.2.2"),
        R::NotMqtt { .. } => pick(v5, Rule::new("MQTT-3.1.2-1"), Rule::new("MQTT-3.1.2-1")),
        R::Truncated { .. } | R::LengthPastEnd { .. } | R::UnframedPublish => {
            pick(v5, Rule::new("2.1.4"), Rule::new("2.2.3"))
        }
        R::OverMaximumPacketSize { to_server, .. } => {
            if *to_server {
                Rule::new("MQTT-3.2.2-15")
            } else {
                Rule::new("MQTT-3.1.2-24")
            }
        }
        // Flags and length that no packet of that type can have.
        R::Implausible { .. } => pick(v5, Rule::new("2.1.3"), Rule::new("2.2.2")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion::*;

    #[test]
    fn numbering_follows_the_version() {
        assert_eq!(ack_duty(PacketType::Puback, Some(V311)), "MQTT-4.3.2-2");
        assert_eq!(ack_duty(PacketType::Puback, Some(V31)), "MQTT-4.3.2-2");
        assert_eq!(ack_duty(PacketType::Puback, Some(V5)), "MQTT-4.3.2-4");
        assert_eq!(ack_duty(PacketType::Pubcomp, Some(V5)), "MQTT-4.3.3-11");
        assert_eq!(ack_duty(PacketType::Pubcomp, None), "MQTT-4.3.3-2");
        assert_eq!(keepalive(Some(V311)), "MQTT-3.1.2-24");
        assert_eq!(keepalive(Some(V5)), "MQTT-3.1.2-22");
        assert_eq!(granted_qos(Some(V5)), "MQTT-3.8.4-8");
        assert_eq!(
            unused_packet_id(Direction::ServerToClient, Some(V5)),
            "MQTT-2.2.1-4"
        );
        assert_eq!(receive_maximum(Direction::ClientToServer), "MQTT-3.3.4-7");
    }

    #[test]
    fn packets_over_the_maximum_size_cite_the_receivers_rule() {
        use crate::mqtt::Reason;
        let from_client = Reason::OverMaximumPacketSize {
            len: 303,
            limit: 100,
            to_server: true,
        };
        let from_server = Reason::OverMaximumPacketSize {
            len: 303,
            limit: 100,
            to_server: false,
        };
        assert_eq!(malformed(&from_client, Some(V5)), "MQTT-3.2.2-15");
        assert_eq!(malformed(&from_server, Some(V5)), "MQTT-3.1.2-24");
    }
}
