//! What the analysis reports: a [`Finding`] names a problem the capture
//! proves, with its kind and severity (from the catalogue), the frames that
//! show it and one line that cites the rule of the spec it breaks.
//!
//! A finding is raised in one expression: start it with
//! [`Finding::new`] (or the connection's `finding`, which fills in the
//! connection and client), then add what applies — the rule it
//! [`cites`](Finding::cites), the packet id, the expected packet, the topic.

use super::catalogue::{FindingKind, Severity};
use crate::base::{ConnId, Direction, Peers, Timestamp};
use crate::mqtt::PacketType;
use crate::mqtt::spec::Rule;
use std::fmt;
use std::sync::Arc;

/// One problem the capture proves.
///
/// Serialises as an entry of the contract's `findings` array (the jsonl
/// `finding` event adds `"type": "finding"` around the same fields).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    /// The connection the problem happened on (for a flow that spans a
    /// reconnect: the connection its PUBLISH was first sent on).
    pub connection: ConnId,
    /// The direction of the packet at fault (for `keepalive_exceeded`, the
    /// silent client's `client_to_server`; for flows, the PUBLISH's direction).
    pub direction: Direction,
    pub packet_id: Option<u16>,
    /// `missing_ack` / `late_ack`: the packet that did not come (in time).
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
    pub rule: Option<Rule>,
    pub client_id: Option<String>,
    pub topic: Option<String>,
    /// Both ends of `connection` and its Community ID (shared with the
    /// connection); `None` only where no connection is known (tests).
    pub peers: Option<Arc<Peers>>,
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
            peers: None,
        }
    }

    /// The spec rule the finding rests on, cited at the end of the message.
    pub fn cites(mut self, rule: Rule) -> Self {
        self.message = format!("{} ({})", self.message, rule.cite());
        self.rule = Some(rule);
        self
    }

    /// The packet identifier involved (nothing for `None`).
    pub fn packet_id(mut self, id: impl Into<Option<u16>>) -> Self {
        self.packet_id = id.into();
        self
    }

    /// `missing_ack` / `late_ack`: the packet that did not come (in time).
    pub fn expected(mut self, t: PacketType) -> Self {
        self.expected = Some(t);
        self
    }

    /// The topic of the message involved (nothing for `None`).
    pub fn topic<'t>(mut self, topic: impl Into<Option<&'t str>>) -> Self {
        self.topic = topic.into().map(str::to_string);
        self
    }

    /// The client identifier of the connection or session (nothing for `None`).
    pub fn client<'c>(mut self, client_id: impl Into<Option<&'c str>>) -> Self {
        self.client_id = client_id.into().map(str::to_string);
        self
    }

    /// The ends of the finding's connection (nothing for `None`).
    pub fn peers(mut self, peers: Option<&Arc<Peers>>) -> Self {
        self.peers = peers.cloned();
        self
    }

    /// Every frame involved, replacing the frames given to `new`.
    pub fn frames(mut self, frames: Vec<u64>) -> Self {
        self.frames = frames;
        self
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
    fn cites_the_rule_at_the_end_of_the_message() {
        let ts = Timestamp::new(1, 500_000, 6);
        let late = Finding::new(
            FindingKind::LateAck,
            3,
            Direction::ServerToClient,
            vec![9],
            ts,
            "late",
        )
        .cites(Rule::new("MQTT-4.3.3-11"))
        .expected(PacketType::Pubcomp)
        .topic("a/b")
        .client(None);
        assert_eq!(late.message, "late (MQTT-4.3.3-11)");
        assert_eq!(late.rule, Some(Rule::new("MQTT-4.3.3-11")));
        assert_eq!(
            (late.expected, late.topic.as_deref()),
            (Some(PacketType::Pubcomp), Some("a/b"))
        );
        assert_eq!((late.severity, late.client_id), (Severity::Warning, None));
        let section = Finding::new(
            FindingKind::TcpGap,
            0,
            Direction::ClientToServer,
            vec![1],
            ts,
            "x",
        )
        .cites(Rule::new("2.2.3"));
        assert_eq!(section.message, "x (§2.2.3)");
    }
}
