//! What a run reports on: `--connection`, `--client`, `--topic`, `--kind`.
//!
//! The analysis always runs on the whole input — a session resumed on a
//! selected connection needs what an unselected one left, and `--threads`
//! must not change the answer — and a [`Selection`] decides, where each
//! packet, flow, finding and latency sample is produced, whether it is
//! reported and counted. So a filtered report's events and its statistics
//! are the unfiltered ones restricted, and always agree with each other.
//!
//! Different filters combine with AND; the values of one filter with OR.
//! What each one keeps (`docs/json.md`, "Filters", says the same):
//!
//! - `--connection N`: what happened on TCP connection N (Wireshark's
//!   `tcp.stream`). A flow or finding belongs to its `connection` (for a
//!   flow resumed after a reconnect, the one its PUBLISH was first sent on).
//! - `--client ID`: what happened on connections whose CONNECT carried that
//!   client identifier, exactly. A connection's packets before its CONNECT,
//!   and connections that never sent one (picked up mid-stream), belong to
//!   no client and are left out.
//! - `--topic FILTER`: PUBLISH packets whose topic name (after a 5.0 topic
//!   alias is resolved) matches the MQTT topic filter, the acknowledgements
//!   of their flows (PUBACK, PUBREC, PUBREL, PUBCOMP), those flows and their
//!   latency, and findings about such a topic. Packets that belong to no
//!   topic (CONNECT, SUBSCRIBE, PINGREQ, an ack of no known flow) and the
//!   latencies of the TCP handshake, CONNACK, SUBACK, UNSUBACK and PINGRESP
//!   are left out.
//! - `--kind KIND`: only findings of these kinds. It does nothing to
//!   packets, flows, latency or the connections listed; the connections'
//!   finding counts, the totals and `--fail-on` count only these kinds.

use super::catalogue::FindingKind;
use super::finding::Finding;
use super::flow::FlowRecord;
use super::subscriptions;
use crate::base::ConnId;

/// The filters of a run (module docs); the default selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// `--connection`: empty = every connection.
    pub connections: Vec<ConnId>,
    /// `--client`: empty = every client (and connections without one).
    pub clients: Vec<String>,
    /// `--topic`, each a valid topic filter ([`topic_filter`]).
    pub topics: Vec<String>,
    /// `--kind`: empty = every kind.
    pub kinds: Vec<FindingKind>,
}

impl Selection {
    /// No filter at all: everything is reported (the fast path).
    pub fn is_all(&self) -> bool {
        self.connections.is_empty()
            && self.clients.is_empty()
            && self.topics.is_empty()
            && self.kinds.is_empty()
    }

    /// Whether `--client` or `--topic` is set: a connection is then known
    /// to be reported only once something of it passes.
    pub fn decides_late(&self) -> bool {
        !self.clients.is_empty() || !self.topics.is_empty()
    }

    /// `--connection` and `--client` for connection `conn` of client
    /// `client` (`None`: no CONNECT seen).
    pub fn connection(&self, conn: ConnId, client: Option<&str>) -> bool {
        (self.connections.is_empty() || self.connections.contains(&conn))
            && (self.clients.is_empty()
                || client.is_some_and(|c| self.clients.iter().any(|x| x == c)))
    }

    /// Whether the connection can pass at all, before its client is known.
    pub fn connection_may_pass(&self, conn: ConnId) -> bool {
        self.connections.is_empty() || self.connections.contains(&conn)
    }

    /// `--topic` for something on `topic` (`None`: it belongs to no topic).
    pub fn topic(&self, topic: Option<&str>) -> bool {
        self.topics.is_empty()
            || topic.is_some_and(|t| self.topics.iter().any(|f| subscriptions::matches(f, t)))
    }

    /// A packet, flow or latency sample on `conn`, of `client`, on `topic`.
    pub fn traffic(&self, conn: ConnId, client: Option<&str>, topic: Option<&str>) -> bool {
        self.connection(conn, client) && self.topic(topic)
    }

    /// A finding: where, whose, on what topic, and its kind.
    pub fn finding(&self, f: &Finding) -> bool {
        self.traffic(f.connection, f.client_id.as_deref(), f.topic.as_deref())
            && (self.kinds.is_empty() || self.kinds.contains(&f.kind))
    }

    /// A concluded flow.
    pub fn flow(&self, r: &FlowRecord) -> bool {
        self.traffic(r.connection, r.client_id.as_deref(), Some(&r.topic))
    }
}

/// Checks an MQTT topic filter (MQTT 5.0 section 4.7.1): not empty, `#`
/// only as the whole last level, `+` only as a whole level, no NUL.
pub fn topic_filter(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("a topic filter is at least one character (MQTT-4.7.3-1)".into());
    }
    if s.contains('\0') {
        return Err("a topic filter has no NUL character".into());
    }
    let levels: Vec<&str> = s.split('/').collect();
    let last = levels.len().saturating_sub(1);
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i != last) {
            return Err(format!(
                "'{s}': '#' must be a whole level and the last one (MQTT-4.7.1-1)"
            ));
        }
        if level.contains('+') && *level != "+" {
            return Err(format!("'{s}': '+' must be a whole level (MQTT-4.7.1-2)"));
        }
    }
    Ok(s.to_string())
}

/// A finding kind by its catalogue name; the error lists every name.
pub fn finding_kind(s: &str) -> Result<FindingKind, String> {
    FindingKind::from_name(s.trim()).ok_or_else(|| {
        let names: Vec<&str> = super::catalogue::CATALOGUE.iter().map(|k| k.name).collect();
        format!(
            "unknown finding kind '{s}'; the kinds are: {}",
            names.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(filters: &[&str]) -> Selection {
        Selection {
            topics: filters.iter().map(|f| f.to_string()).collect(),
            ..Selection::default()
        }
    }

    #[test]
    fn wildcards_as_the_spec_says() {
        let s = topics(&["sport/tennis/+"]);
        assert!(s.topic(Some("sport/tennis/player1")));
        assert!(!s.topic(Some("sport/tennis/player1/ranking")));
        assert!(!s.topic(Some("sport/tennis")));
        let s = topics(&["sport/#"]);
        assert!(s.topic(Some("sport")), "# also matches the parent level");
        assert!(s.topic(Some("sport/tennis/player1")));
        assert!(!s.topic(Some("sports")));
        let s = topics(&["+/+"]);
        assert!(s.topic(Some("/finance")), "an empty level is a level");
        assert!(!s.topic(None), "a packet of no topic never matches");
        assert!(topics(&[]).topic(None), "no --topic keeps everything");
    }

    #[test]
    fn dollar_topics_need_their_first_level_spelled_out() {
        // MQTT-4.7.2-1
        assert!(!topics(&["#"]).topic(Some("$SYS/broker/uptime")));
        assert!(!topics(&["+/broker/uptime"]).topic(Some("$SYS/broker/uptime")));
        assert!(topics(&["$SYS/#"]).topic(Some("$SYS/broker/uptime")));
        assert!(topics(&["#"]).topic(Some("a/$b")));
    }

    #[test]
    fn several_values_are_or_and_several_filters_and() {
        let s = Selection {
            clients: vec!["a".into(), "b".into()],
            connections: vec![1, 2],
            ..Selection::default()
        };
        assert!(s.connection(1, Some("a")));
        assert!(s.connection(2, Some("b")));
        assert!(!s.connection(3, Some("a")));
        assert!(!s.connection(1, Some("c")));
        assert!(!s.connection(1, None), "no CONNECT, no client");
        assert!(Selection::default().connection(7, None));
    }

    #[test]
    fn filters_are_checked() {
        for good in ["#", "+", "a/+/b", "a/#", "/", "$SYS/#", "a b/c"] {
            assert_eq!(topic_filter(good), Ok(good.to_string()));
        }
        for bad in ["", "a/#/b", "a#", "a/b#", "a+/b", "+a", "a\0b"] {
            assert!(topic_filter(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_unknown_kind_lists_the_kinds() {
        assert_eq!(finding_kind("late_ack"), Ok(FindingKind::LateAck));
        let e = finding_kind("slow_ack").unwrap_err();
        assert!(
            e.contains("slow_ack") && e.contains("missing_ack, late_ack"),
            "{e}"
        );
    }
}
