//! Which statement of which spec a finding rests on.
//!
//! MQTT 3.1.1 and 5.0 number their conformance statements differently
//! (the receiver's duty to send PUBACK is MQTT-4.3.2-2 in 3.1.1 and
//! MQTT-4.3.2-4 in 5.0), so every rule is looked up with the connection's
//! protocol version. 3.1 has no numbered statements; its findings cite the
//! 3.1.1 numbers, which describe the same behaviour. Where a spec has no
//! numbered statement the section number is given instead.

use crate::base::Direction;
use crate::mqtt::{PacketType, ProtocolVersion};

fn pick(v5: bool, five: &'static str, three: &'static str) -> &'static str {
    if v5 { five } else { three }
}

fn is_v5(v: Option<ProtocolVersion>) -> bool {
    v.is_some_and(ProtocolVersion::is_v5)
}

/// The receiver's (or, for PUBREL, the sender's) duty to send `expected`.
pub fn ack_duty(expected: PacketType, v: Option<ProtocolVersion>) -> &'static str {
    let v5 = is_v5(v);
    match expected {
        PacketType::Puback => pick(v5, "MQTT-4.3.2-4", "MQTT-4.3.2-2"),
        PacketType::Pubrec => pick(v5, "MQTT-4.3.3-8", "MQTT-4.3.3-2"),
        PacketType::Pubrel => pick(v5, "MQTT-4.3.3-4", "MQTT-4.3.3-1"),
        PacketType::Pubcomp => pick(v5, "MQTT-4.3.3-11", "MQTT-4.3.3-2"),
        PacketType::Suback => "MQTT-3.8.4-1",
        PacketType::Unsuback => "MQTT-3.10.4-4",
        PacketType::Pingresp => "MQTT-3.12.4-1",
        PacketType::Connack => pick(v5, "MQTT-3.1.4-5", "MQTT-3.2.0-1"),
        _ => pick(v5, "4.3", "4.3"),
    }
}

/// An acknowledgement must carry the packet identifier of its request.
pub fn ack_matches_request(ack: PacketType, v: Option<ProtocolVersion>) -> &'static str {
    let v5 = is_v5(v);
    match ack {
        PacketType::Suback | PacketType::Unsuback => pick(v5, "MQTT-2.2.1-6", "MQTT-2.3.1-7"),
        _ => pick(v5, "MQTT-2.2.1-5", "MQTT-2.3.1-6"),
    }
}

/// The receiver must answer with the packet the PUBLISH's QoS calls for.
pub const RESPONSE_BY_QOS: &str = "MQTT-3.3.4-1";

/// A new PUBLISH / SUBSCRIBE / UNSUBSCRIBE must use an unused packet identifier.
pub fn unused_packet_id(dir: Direction, v: Option<ProtocolVersion>) -> &'static str {
    match (is_v5(v), dir) {
        (true, Direction::ClientToServer) => "MQTT-2.2.1-3",
        (true, Direction::ServerToClient) => "MQTT-2.2.1-4",
        (false, _) => "MQTT-2.3.1-2",
    }
}

/// Packet identifiers must not be 0.
pub fn nonzero_packet_id(dir: Direction, v: Option<ProtocolVersion>) -> &'static str {
    match (is_v5(v), dir) {
        (true, Direction::ClientToServer) => "MQTT-2.2.1-3",
        (true, Direction::ServerToClient) => "MQTT-2.2.1-4",
        (false, _) => "MQTT-2.3.1-1",
    }
}

/// Re-sending is required on reconnection (and, in 5.0, allowed only then).
pub const RESEND_ON_RECONNECT: &str = "MQTT-4.4.0-1";
/// The DUP flag must be 1 on a re-delivery.
pub const DUP_ON_REDELIVERY: &str = "MQTT-3.3.1-1";
/// DUP must be 0 on QoS 0.
pub const DUP_ZERO_ON_QOS0: &str = "MQTT-3.3.1-2";
/// Both QoS bits set.
pub const QOS_BITS: &str = "MQTT-3.3.1-4";
/// QoS 2: no PUBLISH re-send once PUBREL went out (5.0 only).
pub const NO_PUBLISH_AFTER_PUBREL: &str = "MQTT-4.3.3-6";

/// The delivered QoS is the minimum of the published QoS and the grant.
pub fn granted_qos(v: Option<ProtocolVersion>) -> &'static str {
    pick(is_v5(v), "MQTT-3.8.4-8", "MQTT-3.8.4-6")
}

/// Receive Maximum: the client's (for client→server) or the server's limit.
pub fn receive_maximum(dir: Direction) -> &'static str {
    match dir {
        Direction::ClientToServer => "MQTT-3.3.4-7",
        Direction::ServerToClient => "MQTT-3.3.4-9",
    }
}

/// The first packet from the client must be CONNECT.
pub const CONNECT_FIRST: &str = "MQTT-3.1.0-1";
/// A second CONNECT is a protocol violation.
pub const CONNECT_ONCE: &str = "MQTT-3.1.0-2";
/// The server's first packet must be CONNACK (5.0: AUTH may come before it).
pub const CONNACK_FIRST: &str = "MQTT-3.2.0-1";

/// Only one CONNACK per network connection.
pub fn connack_once(v: Option<ProtocolVersion>) -> &'static str {
    pick(is_v5(v), "MQTT-3.2.0-2", "3.2")
}

/// Nothing may follow a DISCONNECT from the same side.
pub fn nothing_after_disconnect(v: Option<ProtocolVersion>) -> &'static str {
    pick(is_v5(v), "MQTT-3.14.4-1", "MQTT-3.14.4-2")
}

/// 5.0: with an Authentication Method, only AUTH and DISCONNECT before CONNACK.
pub const AUTH_BEFORE_CONNACK: &str = "MQTT-3.1.2-30";
/// 5.0: the client must not publish above the CONNACK's Maximum QoS.
pub const MAXIMUM_QOS: &str = "MQTT-3.2.2-11";
/// 5.0: no retained PUBLISH when the CONNACK says Retain Available = 0.
pub const RETAIN_AVAILABLE: &str = "MQTT-3.2.2-14";

/// A rule as a reader should see it: a conformance statement as is
/// (`MQTT-4.3.2-2`), a bare section number as `§2.2.3`.
pub fn cite(rule: &str) -> String {
    if rule.starts_with("MQTT-") {
        rule.to_string()
    } else {
        format!("§{rule}")
    }
}

/// The server closes the connection after 1.5 × keep alive of silence.
pub fn keepalive(v: Option<ProtocolVersion>) -> &'static str {
    pick(is_v5(v), "MQTT-3.1.2-22", "MQTT-3.1.2-24")
}

/// The section that explains a decoding failure.
pub fn malformed(reason: &crate::mqtt::Reason, v: Option<ProtocolVersion>) -> &'static str {
    use crate::mqtt::Reason as R;
    let v5 = is_v5(v);
    match reason {
        R::RemainingLengthTooLong | R::VarIntTooLong { .. } => pick(v5, "MQTT-1.5.5-1", "2.2.3"),
        R::ReservedPacketType | R::AuthBeforeV5 => pick(v5, "2.1.2", "2.2.1"),
        R::InvalidUtf8 { .. } => pick(v5, "MQTT-1.5.4-1", "MQTT-1.5.3-1"),
        R::UnknownProperty(_) => "2.2.2.2",
        R::NotMqtt { .. } => pick(v5, "MQTT-3.1.2-1", "MQTT-3.1.2-1"),
        R::Truncated { .. } | R::LengthPastEnd { .. } | R::UnframedPublish => {
            pick(v5, "2.1.4", "2.2.3")
        }
        // Flags and length that no packet of that type can have.
        R::Implausible { .. } => pick(v5, "2.1.3", "2.2.2"),
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
}
