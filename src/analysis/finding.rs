//! What the analysis reports: a [`Finding`] names a problem the capture
//! proves, with a stable [`FindingKind`], a [`Severity`], the frames that show
//! it and one line that cites the rule of the spec it breaks.
//!
//! Kinds and their snake_case names are part of the JSON contract
//! (`docs/json.md`): scripts match on them, so a name never changes.

use crate::base::{ConnId, Direction, Timestamp};
use crate::mqtt::PacketType;
use serde::{Serialize, Serializer};
use std::fmt;

/// How bad a finding is; `--fail-on` compares against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing, not wrong.
    Info,
    /// Suspicious or degraded, but the protocol may still have worked.
    Warning,
    /// The capture proves a peer broke the protocol or lost a message.
    Error,
}

impl Severity {
    /// Whether this is as bad as `threshold` or worse (`--fail-on`); the
    /// variants are declared from least to most severe.
    pub fn at_least(self, threshold: Severity) -> bool {
        self >= threshold
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of a finding. Every kind of the contract's table, plus
/// `inflight_limit` (the analyzer stopped following new flows of a direction
/// because `max_inflight_per_direction` was reached).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    MissingAck,
    LateAck,
    DuplicatePublish,
    PacketIdInUse,
    UnexpectedAck,
    WrongAckType,
    InvalidQos,
    DupOnQos0,
    PacketIdZero,
    QosExceedsGrant,
    ReceiveMaximumExceeded,
    ProtocolViolation,
    MalformedPacket,
    KeepaliveExceeded,
    TcpGap,
    InflightLimit,
}

impl FindingKind {
    /// Every kind, in the order of the contract's table.
    pub const ALL: [FindingKind; 16] = [
        FindingKind::MissingAck,
        FindingKind::LateAck,
        FindingKind::DuplicatePublish,
        FindingKind::PacketIdInUse,
        FindingKind::UnexpectedAck,
        FindingKind::WrongAckType,
        FindingKind::InvalidQos,
        FindingKind::DupOnQos0,
        FindingKind::PacketIdZero,
        FindingKind::QosExceedsGrant,
        FindingKind::ReceiveMaximumExceeded,
        FindingKind::ProtocolViolation,
        FindingKind::MalformedPacket,
        FindingKind::KeepaliveExceeded,
        FindingKind::TcpGap,
        FindingKind::InflightLimit,
    ];

    /// The stable snake_case name of the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::MissingAck => "missing_ack",
            FindingKind::LateAck => "late_ack",
            FindingKind::DuplicatePublish => "duplicate_publish",
            FindingKind::PacketIdInUse => "packet_id_in_use",
            FindingKind::UnexpectedAck => "unexpected_ack",
            FindingKind::WrongAckType => "wrong_ack_type",
            FindingKind::InvalidQos => "invalid_qos",
            FindingKind::DupOnQos0 => "dup_on_qos0",
            FindingKind::PacketIdZero => "packet_id_zero",
            FindingKind::QosExceedsGrant => "qos_exceeds_grant",
            FindingKind::ReceiveMaximumExceeded => "receive_maximum_exceeded",
            FindingKind::ProtocolViolation => "protocol_violation",
            FindingKind::MalformedPacket => "malformed_packet",
            FindingKind::KeepaliveExceeded => "keepalive_exceeded",
            FindingKind::TcpGap => "tcp_gap",
            FindingKind::InflightLimit => "inflight_limit",
        }
    }

    /// What the kind means, for a person who has not read the spec.
    pub fn describe(self) -> &'static str {
        match self {
            FindingKind::MissingAck => "a QoS 1/2 message never got its acknowledgement",
            FindingKind::LateAck => "an acknowledgement came later than --ack-timeout",
            FindingKind::DuplicatePublish => {
                "a PUBLISH was sent again (DUP=1) with the same packet id"
            }
            FindingKind::PacketIdInUse => {
                "a new PUBLISH reused a packet id that was still in flight"
            }
            FindingKind::UnexpectedAck => {
                "an acknowledgement for a packet id with nothing waiting for it"
            }
            FindingKind::WrongAckType => "a QoS 1 message acknowledged like QoS 2, or the reverse",
            FindingKind::InvalidQos => "a PUBLISH with QoS 3, which does not exist",
            FindingKind::DupOnQos0 => "DUP set on a QoS 0 PUBLISH",
            FindingKind::PacketIdZero => "packet id 0, which is not allowed",
            FindingKind::QosExceedsGrant => {
                "the broker delivered above the QoS it granted the subscription"
            }
            FindingKind::ReceiveMaximumExceeded => {
                "more messages in flight than the receiver allows (MQTT 5 Receive Maximum)"
            }
            FindingKind::ProtocolViolation => "a packet the spec forbids here",
            FindingKind::MalformedPacket => "bytes that do not decode as MQTT",
            FindingKind::KeepaliveExceeded => "a client silent for longer than 1.5 × its keepalive",
            FindingKind::TcpGap => "bytes missing from the capture inside a TCP stream",
            FindingKind::InflightLimit => "too many messages in flight to follow them all",
        }
    }

    /// The severity the contract gives this kind.
    pub fn severity(self) -> Severity {
        match self {
            FindingKind::LateAck
            | FindingKind::DuplicatePublish
            | FindingKind::DupOnQos0
            | FindingKind::KeepaliveExceeded
            | FindingKind::TcpGap
            | FindingKind::InflightLimit => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// The kind for a name, for `--fail-on`-like filters and tests.
    pub fn from_name(name: &str) -> Option<FindingKind> {
        FindingKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FindingKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One problem the capture proves.
///
/// Serialises as an entry of the contract's `findings` array (the jsonl
/// `finding` event adds `"type": "finding"` around the same fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    /// The connection the problem happened on (for a flow that spans a
    /// reconnect: the connection its PUBLISH was first sent on).
    pub connection: ConnId,
    /// The direction of the packet at fault (for `keepalive_exceeded`, the
    /// silent client's `client_to_server`; for flows, the PUBLISH's direction).
    pub direction: Direction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet_id: Option<u16>,
    /// `missing_ack` / `late_ack`: the packet that did not come (in time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<PacketType>,
    /// Every frame involved, in capture order; the frame that proved the
    /// problem (the offending packet) is the last one, except for
    /// `missing_ack`, whose frames are the flow's packets that did arrive.
    pub frames: Vec<u64>,
    /// When the capture proved it: the offending packet's time, or the
    /// connection end / capture end / timeout for `missing_ack` and
    /// `keepalive_exceeded`.
    pub ts: Timestamp,
    /// One line for a person, ending with the spec rule in parentheses.
    pub message: String,
    /// The conformance statement (`MQTT-4.3.2-4`) or section the finding rests on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

impl Finding {
    /// A finding of `kind` with its contract severity; optional fields empty.
    pub fn new(
        kind: FindingKind,
        connection: ConnId,
        direction: Direction,
        frames: Vec<u64>,
        ts: Timestamp,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            kind,
            severity: kind.severity(),
            connection,
            direction,
            packet_id: None,
            expected: None,
            frames,
            ts,
            message: message.into(),
            rule: None,
            client_id: None,
            topic: None,
        }
    }
}

impl fmt::Display for Finding {
    /// `error missing_ack conn 0 client_to_server frames 41: QoS 1 PUBLISH ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} conn {} {} frames {:?}: {}",
            self.severity,
            self.kind,
            self.connection,
            self.direction.as_str(),
            self.frames,
            self.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for k in FindingKind::ALL {
            assert!(seen.insert(k.as_str()), "{k} twice");
            assert_eq!(FindingKind::from_name(k.as_str()), Some(k));
        }
        assert_eq!(FindingKind::from_name("nope"), None);
    }

    #[test]
    fn severities_follow_the_contract() {
        use FindingKind::*;
        for k in [
            MissingAck,
            PacketIdInUse,
            UnexpectedAck,
            WrongAckType,
            InvalidQos,
            PacketIdZero,
            QosExceedsGrant,
            ReceiveMaximumExceeded,
            ProtocolViolation,
            MalformedPacket,
        ] {
            assert_eq!(k.severity(), Severity::Error, "{k}");
        }
        for k in [
            LateAck,
            DuplicatePublish,
            DupOnQos0,
            KeepaliveExceeded,
            TcpGap,
        ] {
            assert_eq!(k.severity(), Severity::Warning, "{k}");
        }
        assert!(Severity::Error > Severity::Warning && Severity::Warning > Severity::Info);
    }

    #[test]
    fn serialises_as_the_contract_example() {
        let mut f = Finding::new(
            FindingKind::MissingAck,
            0,
            Direction::ClientToServer,
            vec![41],
            Timestamp::new(1, 500_000, 6),
            "QoS 1 PUBLISH id 7 never acknowledged (MQTT-4.3.2-2)",
        );
        f.packet_id = Some(7);
        f.expected = Some(PacketType::Puback);
        let v: serde_json::Value = serde_json::to_value(&f).unwrap();
        assert_eq!(v["kind"], "missing_ack");
        assert_eq!(v["severity"], "error");
        assert_eq!(v["connection"], 0);
        assert_eq!(v["direction"], "client_to_server");
        assert_eq!(v["packet_id"], 7);
        assert_eq!(v["expected"], "PUBACK");
        assert_eq!(v["frames"], serde_json::json!([41]));
        assert_eq!(v["ts"].as_f64(), Some(1.0005));
        assert!(v.get("topic").is_none() && v.get("client_id").is_none());
    }
}
