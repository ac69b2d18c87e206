//! What the analysis knows about one MQTT connection: protocol version,
//! client identifier, keep alive, session flags, Receive Maximum both ways,
//! subscriptions, the open flows of each direction and the requests
//! waiting for an answer. Dropped when the connection ends (only a small
//! saved session may outlive it, see `store`).

use super::catalogue::FindingKind;
use super::finding::Finding;
use super::flow::Flow;
use super::subscriptions::Subscriptions;
use crate::base::{At, ConnId, Direction, Endpoint, Peers, PerDir, Timestamp};
use crate::mqtt::{PacketEvent, PacketType, ProtocolVersion};
use foldhash::HashMap;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// The MQTT side of a connection, for the report's `connections[].mqtt`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionMqtt {
    /// From the CONNECT; without one, the version packets were decoded as
    /// (the MQTT layer knows whether that was inferred).
    pub version: Option<ProtocolVersion>,
    /// From the CONNECT (or the 5.0 CONNACK's Assigned Client Identifier).
    pub client_id: Option<String>,
    /// The keep alive in force (5.0: the CONNACK's Server Keep Alive wins).
    pub keepalive_s: Option<u16>,
    pub clean_start: Option<bool>,
    pub session_present: Option<bool>,
    /// Packets per type name, both directions.
    pub packets: BTreeMap<&'static str, u64>,
}

/// The CONNECT of the connection.
#[derive(Debug, Clone)]
pub struct ConnectInfo {
    pub at: At,
    /// Shared with every flow record of the connection.
    pub client_id: Arc<str>,
    pub clean_start: bool,
    pub keepalive: u16,
    /// 5.0 Session Expiry Interval (absent = 0).
    pub session_expiry: Option<u32>,
    /// 5.0 Receive Maximum the client accepts (limits server → client).
    pub receive_maximum: Option<u16>,
    /// 5.0: enhanced authentication asked for.
    pub auth_method: bool,
}

/// The CONNACK of the connection.
#[derive(Debug, Clone)]
pub struct ConnackInfo {
    pub at: At,
    pub session_present: bool,
    pub accepted: bool,
    /// 5.0 Receive Maximum the server accepts (limits client → server).
    pub receive_maximum: Option<u16>,
    pub maximum_qos: Option<u8>,
    pub retain_available: Option<u8>,
    pub server_keep_alive: Option<u16>,
    pub session_expiry: Option<u32>,
    pub assigned_client_id: Option<Arc<str>>,
}

/// A SUBSCRIBE or UNSUBSCRIBE waiting for its answer.
#[derive(Debug, Clone)]
pub struct Pending {
    pub at: At,
    pub filters: Vec<Box<str>>,
    /// `missing_ack` already reported (live mode).
    pub reported: bool,
}

/// A PINGREQ waiting for its PINGRESP.
#[derive(Debug, Clone, Copy)]
pub struct Ping {
    pub at: At,
    pub reported: bool,
}

/// Requests followed per connection (SUBSCRIBE + UNSUBSCRIBE each; PINGREQ).
pub const MAX_PENDING_REQUESTS: usize = 1024;
pub const MAX_PENDING_PINGS: usize = 16;
/// Recently completed packet identifiers remembered per direction, to tell
/// a late re-send or a second ack of a re-sent PUBLISH from a stray one.
pub const RECENT_IDS: usize = 16;

/// A flow that completed: its id, last frame, and how many more acks may
/// still come for re-sent copies.
#[derive(Debug, Clone, Copy)]
pub struct Recent {
    pub id: u16,
    pub frame: u64,
    pub extra_acks: u32,
}

/// Everything known about one connection.
#[derive(Debug)]
pub struct ConnAnalysis {
    pub id: ConnId,
    pub client: Option<Endpoint>,
    /// Both ends and the Community ID, named by every finding and flow
    /// record of the connection (shared, one allocation per connection).
    pub peers: Option<Arc<Peers>>,
    /// The capture did not see the connection start: what came before is unknown.
    pub midstream: bool,
    /// The version packets are decoded as.
    pub version: Option<ProtocolVersion>,
    pub connect: Option<ConnectInfo>,
    pub connack: Option<ConnackInfo>,
    /// 5.0: the Session Expiry Interval a client DISCONNECT set.
    pub disconnect_expiry: Option<u32>,
    /// Open flows by the PUBLISH's direction `[client→server, server→client]`.
    pub flows: PerDir<HashMap<u16, Flow>>,
    /// Topics of recent flows, shared by the flows on them.
    pub topics: super::topic_cache::TopicCache,
    /// Flows of the resumed session that were not re-sent yet.
    pub resumable: PerDir<HashMap<u16, Flow>>,
    pub recent: PerDir<VecDeque<Recent>>,
    pub subscribes: HashMap<u16, Pending>,
    pub unsubscribes: HashMap<u16, Pending>,
    pub pings: VecDeque<Ping>,
    pub subs: Subscriptions,
    /// The client's latest packet (keep alive).
    pub last_client: Option<At>,
    pub keepalive_reported: bool,
    /// `missing_ack` for the CONNACK already reported (live mode).
    pub connack_missing_reported: bool,
    /// Keep alive no longer applies (a DISCONNECT was sent).
    pub keepalive_off: bool,
    /// Frame of the DISCONNECT each side sent.
    pub disconnect: PerDir<Option<u64>>,
    /// When bytes of each direction were last lost (gap, malformed, resync).
    pub unsure: PerDir<Option<Timestamp>>,
    /// Flows of the direction went untracked (in-flight cap).
    pub untracked: PerDir<bool>,
    /// Requests went untracked (request cap).
    pub untracked_requests: bool,
    /// Receive Maximum currently exceeded (one finding per episode).
    pub rm_exceeded: PerDir<bool>,
    pub inflight_reported: PerDir<bool>,
    pub seen: PerDir<bool>,
    /// One-per-connection stateful violations already reported.
    pub before_connect_reported: bool,
    pub before_connack_reported: bool,
    pub auth_order_reported: bool,
    pub after_disconnect_reported: PerDir<bool>,
    pub wrong_direction_reported: bool,
    pub packets: [u64; 15],
    pub last_at: Option<At>,
    /// The TCP handshake's round trip, held until the client is known
    /// (`--client`: the sample counts only for a selected client).
    pub handshake_ns: Option<u64>,
}

impl ConnAnalysis {
    pub fn new(id: ConnId, client: Option<Endpoint>, midstream: bool) -> Self {
        ConnAnalysis {
            id,
            client,
            peers: None,
            midstream,
            version: None,
            connect: None,
            connack: None,
            disconnect_expiry: None,
            flows: PerDir::default(),
            topics: Default::default(),
            resumable: PerDir::default(),
            recent: PerDir::default(),
            subscribes: HashMap::default(),
            unsubscribes: HashMap::default(),
            pings: VecDeque::new(),
            subs: Subscriptions::new(false),
            last_client: None,
            keepalive_reported: false,
            connack_missing_reported: false,
            keepalive_off: false,
            disconnect: PerDir::default(),
            unsure: PerDir::default(),
            untracked: PerDir::default(),
            untracked_requests: false,
            rm_exceeded: PerDir::default(),
            inflight_reported: PerDir::default(),
            seen: PerDir::default(),
            before_connect_reported: false,
            before_connack_reported: false,
            auth_order_reported: false,
            after_disconnect_reported: PerDir::default(),
            wrong_direction_reported: false,
            packets: [0; 15],
            last_at: None,
            handshake_ns: None,
        }
    }

    /// The topic packet `ev` is about (`--topic`): a PUBLISH's topic name
    /// (a 5.0 alias resolved), an acknowledgement's open flow's topic (the
    /// PUBLISH went the other way, except for PUBREL); `None` for packets of
    /// no topic and acks of no flow held. Asked before the analysis takes
    /// the packet in, while its flow is still open.
    pub fn topic_of<'p>(&'p self, ev: &PacketEvent<'p>) -> Option<&'p str> {
        use crate::mqtt::Packet;
        let (publisher, id) = match ev.packet {
            Packet::Publish(p) => return Some(p.topic_name()),
            Packet::Pubrel(a) => (ev.dir, a.packet_id),
            Packet::Puback(a) | Packet::Pubrec(a) | Packet::Pubcomp(a) => {
                (ev.dir.reverse(), a.packet_id)
            }
            _ => return None,
        };
        self.flows[publisher]
            .get(&id)
            .or_else(|| self.resumable[publisher].get(&id))
            .map(|f| &*f.topic)
    }

    /// The connection runs between `peers` (its findings and flow records name them).
    pub fn between(mut self, peers: Peers) -> Self {
        self.peers = Some(Arc::new(peers));
        self
    }

    /// A finding on this connection proven `at` a packet (its frame is the
    /// finding's frame, its time the finding's time; the client identifier
    /// is filled in): add the rule it cites, other frames and the rest with
    /// [`Finding`]'s builders.
    pub fn finding(
        &self,
        kind: FindingKind,
        dir: Direction,
        at: At,
        text: impl Into<String>,
    ) -> Finding {
        Finding::new(kind, self.id, dir, vec![at.frame], at.ts, text)
            .client(self.client_id())
            .peers(self.peers.as_ref())
    }

    /// The client identifier, when one is known and names a session (an
    /// empty 3.x identifier names none; 5.0 then assigns one in CONNACK).
    pub fn client_id(&self) -> Option<&str> {
        self.client().map(|id| &**id)
    }

    /// [`Self::client_id`], shared: flow records take a reference count, not a copy.
    pub fn client(&self) -> Option<&Arc<str>> {
        if let Some(a) = self
            .connack
            .as_ref()
            .and_then(|c| c.assigned_client_id.as_ref())
        {
            return Some(a);
        }
        self.connect
            .as_ref()
            .map(|c| &c.client_id)
            .filter(|id| !id.is_empty())
    }

    /// The version findings cite rules of: the CONNECT's, else the decoded one.
    pub fn rules_version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    fn is_v5(&self) -> bool {
        self.version.is_some_and(ProtocolVersion::is_v5)
    }

    /// Whether the session outlives the connection (3.x clean session 0;
    /// 5.0 Session Expiry Interval > 0, from CONNECT, CONNACK or DISCONNECT).
    pub fn session_persists(&self) -> bool {
        let Some(c) = &self.connect else {
            return false;
        };
        if self.client_id().is_none() {
            return false;
        }
        if self.connack.as_ref().is_some_and(|a| !a.accepted) {
            return false;
        }
        if self.is_v5() {
            let expiry = self
                .disconnect_expiry
                .or(self.connack.as_ref().and_then(|a| a.session_expiry))
                .or(c.session_expiry)
                .unwrap_or(0);
            expiry > 0
        } else {
            !c.clean_start
        }
    }

    /// The keep alive in force, in nanoseconds; `None` when off or unknown.
    pub fn keepalive_ns(&self) -> Option<u64> {
        let c = self.connect.as_ref()?;
        let secs = self
            .connack
            .as_ref()
            .and_then(|a| a.server_keep_alive)
            .unwrap_or(c.keepalive);
        (secs > 0).then(|| u64::from(secs) * 1_000_000_000)
    }

    /// The 5.0 Receive Maximum limiting QoS > 0 PUBLISHes in `dir`, when the
    /// packet that sets it was captured (absent property = 65535).
    pub fn receive_maximum(&self, dir: Direction) -> Option<u16> {
        if !self.is_v5() {
            return None;
        }
        match dir {
            Direction::ClientToServer => self
                .connack
                .as_ref()
                .map(|a| a.receive_maximum.unwrap_or(u16::MAX)),
            Direction::ServerToClient => self
                .connect
                .as_ref()
                .map(|c| c.receive_maximum.unwrap_or(u16::MAX)),
        }
    }

    /// Whether PUBLISHes of `dir` may exist that the analysis did not see:
    /// the capture joined late, bytes of `dir` were lost, flows went
    /// untracked, or the connection resumed a session whose earlier
    /// connections may not be in the capture.
    pub fn publishes_unknown(&self, dir: Direction) -> bool {
        self.midstream
            || self.unsure[dir].is_some()
            || self.untracked[dir]
            || self.connack.as_ref().is_some_and(|a| a.session_present)
    }

    /// Bytes of `dir` were not decoded (skipped while resynchronising, a
    /// packet too large to buffer, a stream cut inside a packet): packets
    /// may have been lost, so unmatched acks are not faults any more.
    pub fn undecoded(&mut self, dir: Direction, ts: Timestamp) {
        self.unsure[dir] = Some(ts);
    }

    /// Whether bytes of `dir` were lost at or after `since`.
    pub fn lost_since(&self, dir: Direction, since: Timestamp) -> bool {
        self.unsure[dir].is_some_and(|t| t >= since)
    }

    /// Counts a packet of `t`.
    pub fn count(&mut self, t: PacketType) {
        if let Some(n) = self
            .packets
            .get_mut(usize::from(t.code()).saturating_sub(1))
        {
            *n += 1;
        }
    }

    /// QoS 1/2 flows waiting for an ack on this connection.
    pub fn open_flows(&self) -> usize {
        self.flows.values().map(|t| t.len()).sum()
    }

    /// Whether any MQTT packet was seen.
    pub fn has_mqtt(&self) -> bool {
        self.packets.iter().any(|&n| n > 0)
    }

    /// The report's view of the connection.
    pub fn mqtt_summary(&self) -> ConnectionMqtt {
        let packets = PacketType::ALL
            .iter()
            .zip(self.packets.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(t, n)| (t.as_str(), *n))
            .collect();
        ConnectionMqtt {
            version: self.version,
            client_id: self
                .client_id()
                .map(str::to_string)
                .or_else(|| self.connect.as_ref().map(|c| c.client_id.to_string())),
            keepalive_s: self.connect.as_ref().map(|c| {
                self.connack
                    .as_ref()
                    .and_then(|a| a.server_keep_alive)
                    .unwrap_or(c.keepalive)
            }),
            clean_start: self.connect.as_ref().map(|c| c.clean_start),
            session_present: self.connack.as_ref().map(|a| a.session_present),
            packets,
        }
    }

    /// Remembers a completed flow of `dir`.
    pub fn remember(&mut self, dir: Direction, r: Recent) {
        let q = &mut self.recent[dir];
        q.retain(|x| x.id != r.id);
        if q.len() >= RECENT_IDS {
            q.pop_front();
        }
        q.push_back(r);
    }

    /// A recently completed flow of `dir` with identifier `id`.
    pub fn recent_mut(&mut self, dir: Direction, id: u16) -> Option<&mut Recent> {
        self.recent[dir].iter_mut().find(|r| r.id == id)
    }

    /// Every open flow (both directions, resumable ones too), drained.
    pub fn drain_flows(&mut self) -> Vec<Flow> {
        let mut all: Vec<Flow> = Vec::new();
        for table in self.flows.values_mut().chain(self.resumable.values_mut()) {
            all.extend(table.drain().map(|(_, f)| f));
        }
        all.sort_by_key(|f| (f.publish_ts, f.frames.first().copied(), f.id));
        all
    }
}
