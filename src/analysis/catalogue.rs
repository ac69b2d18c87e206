//! The findings catalogue: one row per finding kind, declared once.
//!
//! Each [`FindingKind`] has a row here with everything that is fixed about
//! it — its stable snake_case name (part of the JSON contract: scripts match
//! on it, so a name never changes), its severity, one line of what it means
//! for the text report, and the spec rules whose parser [`Violation`]s it
//! reports in place of a generic `protocol_violation`. Adding a kind is one
//! variant and one row.

use crate::mqtt::Violation;
use crate::mqtt::spec::{self, Rule};
use std::fmt;

/// How bad a finding is; `--fail-on` compares against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing, not wrong.
    Info,
    /// Suspicious or degraded, but the protocol may still have worked.
    Warning,
    /// The capture proves a peer broke the protocol or lost a message.
    Error,
}

impl Severity {
    /// Every severity, worst first.
    pub const WORST_FIRST: [Severity; 3] = [Severity::Error, Severity::Warning, Severity::Info];

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

/// The kind of a finding: every kind of the contract's table, plus
/// `inflight_limit` (the analyzer stopped following new flows of a
/// direction because `max_inflight_per_direction` was reached). Declared
/// in the order of the contract's table.
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
    WebsocketProtocolError,
    TlsAlert,
}

/// What is fixed about a finding kind.
#[derive(Debug)]
pub struct KindInfo {
    pub kind: FindingKind,
    /// The stable snake_case name of the JSON output.
    pub name: &'static str,
    /// The severity the contract gives the kind.
    pub severity: Severity,
    /// What the kind means, for a person who has not read the spec.
    pub meaning: &'static str,
    /// Parser violations of these rules are reported as this kind, not as
    /// `protocol_violation`.
    pub absorbs: &'static [Rule],
}

use FindingKind as K;
use Severity::{Error, Warning};

/// The catalogue, in the order of [`FindingKind`]'s variants.
pub const CATALOGUE: [KindInfo; 18] = [
    KindInfo {
        kind: K::MissingAck,
        name: "missing_ack",
        severity: Error,
        meaning: "a QoS 1/2 message, or a CONNECT, SUBSCRIBE, UNSUBSCRIBE or PINGREQ, never got its answer",
        absorbs: &[],
    },
    KindInfo {
        kind: K::LateAck,
        name: "late_ack",
        severity: Warning,
        meaning: "an acknowledgement came later than --ack-timeout",
        absorbs: &[],
    },
    KindInfo {
        kind: K::DuplicatePublish,
        name: "duplicate_publish",
        severity: Warning,
        meaning: "a PUBLISH was sent again (DUP=1) with the same packet id",
        absorbs: &[],
    },
    KindInfo {
        kind: K::PacketIdInUse,
        name: "packet_id_in_use",
        severity: Error,
        meaning: "a new PUBLISH reused a packet id that was still in flight",
        absorbs: &[],
    },
    KindInfo {
        kind: K::UnexpectedAck,
        name: "unexpected_ack",
        severity: Error,
        meaning: "an acknowledgement for a packet id with nothing waiting for it",
        absorbs: &[],
    },
    KindInfo {
        kind: K::WrongAckType,
        name: "wrong_ack_type",
        severity: Error,
        meaning: "a QoS 1 message acknowledged like QoS 2, or the reverse",
        absorbs: &[],
    },
    KindInfo {
        kind: K::InvalidQos,
        name: "invalid_qos",
        severity: Error,
        meaning: "a PUBLISH with QoS 3, which does not exist",
        absorbs: &[spec::QOS_BITS],
    },
    KindInfo {
        kind: K::DupOnQos0,
        name: "dup_on_qos0",
        severity: Warning,
        meaning: "DUP set on a QoS 0 PUBLISH",
        absorbs: &[spec::DUP_ZERO_ON_QOS0],
    },
    KindInfo {
        kind: K::PacketIdZero,
        name: "packet_id_zero",
        severity: Error,
        meaning: "packet id 0, which is not allowed",
        absorbs: &[spec::PACKET_ID_NONZERO_V5, spec::PACKET_ID_NONZERO_V3],
    },
    KindInfo {
        kind: K::QosExceedsGrant,
        name: "qos_exceeds_grant",
        severity: Error,
        meaning: "the broker delivered above the QoS it granted the subscription",
        absorbs: &[],
    },
    KindInfo {
        kind: K::ReceiveMaximumExceeded,
        name: "receive_maximum_exceeded",
        severity: Error,
        meaning: "more messages in flight than the receiver allows (MQTT 5 Receive Maximum)",
        absorbs: &[],
    },
    KindInfo {
        kind: K::ProtocolViolation,
        name: "protocol_violation",
        severity: Error,
        meaning: "a packet the spec forbids here",
        absorbs: &[],
    },
    KindInfo {
        kind: K::MalformedPacket,
        name: "malformed_packet",
        severity: Error,
        meaning: "bytes that do not decode as MQTT",
        absorbs: &[],
    },
    KindInfo {
        kind: K::KeepaliveExceeded,
        name: "keepalive_exceeded",
        severity: Warning,
        meaning: "a client silent for longer than 1.5 × its keepalive",
        absorbs: &[],
    },
    KindInfo {
        kind: K::TcpGap,
        name: "tcp_gap",
        severity: Warning,
        meaning: "bytes missing from the capture inside a TCP stream",
        absorbs: &[],
    },
    KindInfo {
        kind: K::InflightLimit,
        name: "inflight_limit",
        severity: Warning,
        meaning: "too many messages in flight to follow them all",
        absorbs: &[],
    },
    KindInfo {
        kind: K::WebsocketProtocolError,
        name: "websocket_protocol_error",
        severity: Error,
        meaning: "a WebSocket frame or handshake RFC 6455 (or MQTT's section 6) forbids",
        absorbs: &[],
    },
    KindInfo {
        kind: K::TlsAlert,
        name: "tls_alert",
        severity: Warning,
        meaning: "a TLS alert other than close_notify: a peer aborted or objected",
        absorbs: &[],
    },
];

impl FindingKind {
    /// Every kind, in the order of the contract's table.
    pub const ALL: [FindingKind; 18] = {
        let mut all = [FindingKind::MissingAck; 18];
        let mut i = 0;
        while i < CATALOGUE.len() {
            all[i] = CATALOGUE[i].kind;
            i += 1;
        }
        all
    };

    /// The kind's row of the catalogue.
    pub fn info(self) -> &'static KindInfo {
        // The rows are in variant order (checked by a test), so the
        // discriminant is the row.
        &CATALOGUE[self as usize]
    }

    /// The stable snake_case name of the JSON output.
    pub fn as_str(self) -> &'static str {
        self.info().name
    }

    /// What the kind means, for a person who has not read the spec.
    pub fn describe(self) -> &'static str {
        self.info().meaning
    }

    /// The severity the contract gives this kind.
    pub fn severity(self) -> Severity {
        self.info().severity
    }

    /// The kind for a name, for `--fail-on`-like filters and tests.
    pub fn from_name(name: &str) -> Option<FindingKind> {
        CATALOGUE.iter().find(|i| i.name == name).map(|i| i.kind)
    }

    /// The kind that reports a parser violation in place of
    /// `protocol_violation`, if one does.
    pub fn absorbing(v: &Violation) -> Option<FindingKind> {
        CATALOGUE
            .iter()
            .find(|i| i.absorbs.contains(&v.rule))
            .map(|i| i.kind)
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_in_variant_order_and_names_unique() {
        let mut seen = std::collections::HashSet::new();
        for (i, row) in CATALOGUE.iter().enumerate() {
            assert_eq!(row.kind as usize, i, "{} is out of place", row.name);
            assert!(seen.insert(row.name), "{} twice", row.name);
            assert_eq!(FindingKind::from_name(row.name), Some(row.kind));
            assert!(!row.meaning.is_empty());
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
            WebsocketProtocolError,
        ] {
            assert_eq!(k.severity(), Severity::Error, "{k}");
        }
        for k in [
            LateAck,
            DuplicatePublish,
            DupOnQos0,
            KeepaliveExceeded,
            TcpGap,
            InflightLimit,
            TlsAlert,
        ] {
            assert_eq!(k.severity(), Severity::Warning, "{k}");
        }
        assert!(Severity::Error > Severity::Warning && Severity::Warning > Severity::Info);
    }

    #[test]
    fn parser_rules_map_to_their_kinds() {
        let v = |rule| Violation {
            rule,
            message: String::new(),
        };
        assert_eq!(
            FindingKind::absorbing(&v(spec::QOS_BITS)),
            Some(FindingKind::InvalidQos)
        );
        assert_eq!(
            FindingKind::absorbing(&v(spec::PACKET_ID_NONZERO_V3)),
            Some(FindingKind::PacketIdZero)
        );
        assert_eq!(FindingKind::absorbing(&v(Rule::new("MQTT-3.3.2-2"))), None);
    }
}
