//! One QoS 1 / QoS 2 message on its way: the in-flight record the tracker
//! keeps ([`Flow`]) and what it reports when the flow concludes
//! ([`FlowRecord`], the jsonl `flow` event).

use super::latency::LatencyKey;
use super::qos::Stage;
use crate::base::{At, ConnId, Direction, Peers, Timestamp};
use smallvec::SmallVec;
use std::sync::Arc;

/// A flow's frames: the first four inline.
pub type Frames = SmallVec<[u64; 4]>;

/// Frames kept per flow; a peer re-sending forever cannot grow it further.
pub const MAX_FLOW_FRAMES: usize = 32;
/// Bytes of a topic kept per flow (longer topics are cut at a character boundary).
pub const MAX_TOPIC_LEN: usize = 512;

/// How a flow ended, when not simply completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Completed by a 5.0 PUBACK / PUBREC / PUBCOMP with a reason code ≥ 0x80.
    Error,
    /// Completed on a later connection of the same session (a correct
    /// redelivery after a reconnect).
    Redelivered,
    /// Never got its next ack (`missing_ack` was reported).
    Missing,
    /// Still waiting when the capture ended, for less than the ack timeout:
    /// not a fault, the capture just stopped.
    CutOff,
    /// Never got its next ack, but bytes the ack would travel in were lost
    /// from the capture after the flow's last packet: no verdict.
    Unverifiable,
    /// Ended by an ack of the wrong type (`wrong_ack_type`).
    WrongAck,
    /// Replaced by a new PUBLISH with the same packet identifier (`packet_id_in_use`).
    Superseded,
}

impl Outcome {
    /// The snake_case name of the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Error => "error",
            Outcome::Redelivered => "redelivered",
            Outcome::Missing => "missing",
            Outcome::CutOff => "cut_off",
            Outcome::Unverifiable => "unverifiable",
            Outcome::WrongAck => "wrong_ack",
            Outcome::Superseded => "superseded",
        }
    }

    /// Whether the flow reached its last ack.
    pub fn is_complete(self) -> bool {
        matches!(self, Outcome::Error | Outcome::Redelivered)
    }
}

/// An open flow.
#[derive(Debug, Clone)]
pub struct Flow {
    pub id: u16,
    pub qos: u8,
    pub stage: Stage,
    /// The PUBLISH's direction.
    pub dir: Direction,
    /// The connection of its PUBLISH.
    pub origin: ConnId,
    /// The ends of `origin` (its records name them).
    pub peers: Option<Arc<Peers>>,
    /// Later connections of the session it continued on (none for most
    /// flows, so no allocation).
    pub later: Vec<ConnId>,
    /// Inline up to 4 (most flows see 2 to 4 packets): no allocation.
    pub frames: Frames,
    /// The first PUBLISH.
    pub publish_ts: Timestamp,
    /// The packet that began the current stage (or the re-send that
    /// resumed it on a new connection): the start of its latency.
    pub stage_at: At,
    /// The last packet of the flow: a capture loss after it may have eaten the ack.
    pub last_ts: Timestamp,
    /// Shared with the connection's other flows on the topic ([`super::topic_cache`]).
    pub topic: Arc<str>,
    /// Re-sent PUBLISH / PUBREL copies (DUP=1 on the same connection, or a redelivery).
    pub resends: u32,
    /// Resumed on a later connection of its session.
    pub redelivered: bool,
    /// `missing_ack` was already reported (live mode, after the ack timeout).
    pub reported_missing: bool,
    /// Stage latencies measured so far.
    pub samples: FlowLatency,
    /// Bytes the awaited ack would travel in were lost from the capture
    /// after the flow's last packet (decided when its connection ended).
    pub ack_maybe_lost: bool,
    /// The payload's hash and the topic decide whether a DUP=0 copy after a
    /// reconnect is the same message.
    pub payload_hash: u64,
}

impl Flow {
    /// A flow opened by a PUBLISH sent `at` on `conn`.
    pub fn new(
        conn: ConnId,
        dir: Direction,
        id: u16,
        stage: Stage,
        at: At,
        topic: Arc<str>,
        payload_hash: u64,
    ) -> Self {
        let At { frame, ts } = at;
        Flow {
            id,
            qos: stage.qos(),
            stage,
            dir,
            origin: conn,
            peers: None,
            later: Vec::new(),
            frames: smallvec::smallvec![frame],
            publish_ts: ts,
            stage_at: at,
            last_ts: ts,
            topic,
            resends: 0,
            redelivered: false,
            reported_missing: false,
            samples: FlowLatency::default(),
            ack_maybe_lost: false,
            payload_hash,
        }
    }

    /// The ends of the connection the PUBLISH was sent on.
    pub fn on(mut self, peers: Option<&Arc<Peers>>) -> Self {
        self.peers = peers.cloned();
        self
    }

    /// Adds a frame (bounded) and notes the time of the flow's latest packet.
    pub fn touch(&mut self, frame: u64, ts: Timestamp) {
        if self.frames.len() < MAX_FLOW_FRAMES && self.frames.last() != Some(&frame) {
            self.frames.push(frame);
        }
        if ts > self.last_ts {
            self.last_ts = ts;
        }
    }

    /// The connection the flow started on.
    pub fn origin(&self) -> ConnId {
        self.origin
    }

    /// Every connection the flow was seen on, first the one of its PUBLISH.
    pub fn connections(&self) -> Vec<ConnId> {
        std::iter::once(self.origin)
            .chain(self.later.iter().copied())
            .collect()
    }

    /// The flow continues on connection `conn` (after a reconnect).
    pub fn resume_on(&mut self, conn: ConnId) {
        let last = self.later.last().copied().unwrap_or(self.origin);
        if last != conn && self.later.len() < MAX_FLOW_FRAMES {
            self.later.push(conn);
        }
        self.redelivered = true;
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
pub fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// A concluded flow: the jsonl `flow` event (the report adds `"type": "flow"`).
///
/// ```json
/// {"connection":0,"direction":"client_to_server","packet_id":7,"qos":1,
///  "frames":[5,6],"latency_ms":{"puback":0.21},"complete":true,
///  "topic":"a/b","client_id":"sensor-7"}
/// ```
///
/// `outcome` is present when the flow did not simply complete (see
/// [`Outcome`]); `reason_code` with `outcome: "error"`; `expected` when it
/// is incomplete (the packet that never came); `connections` when it spans
/// a reconnect; `resends` when copies were re-sent.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRecord {
    pub connection: ConnId,
    pub direction: Direction,
    pub packet_id: u16,
    pub qos: u8,
    pub frames: Frames,
    pub latency_ms: FlowLatency,
    pub complete: bool,
    pub outcome: Option<Outcome>,
    pub reason_code: Option<u8>,
    pub expected: Option<crate::mqtt::PacketType>,
    pub topic: Arc<str>,
    pub client_id: Option<Arc<str>>,
    pub connections: Vec<ConnId>,
    pub resends: u32,
    /// When the flow concluded: the time of the packet that ended it (its
    /// last ack, an ack of the wrong type, the PUBLISH that superseded
    /// it), or, for a flow that got no answer, when the analysis gave up
    /// on it (its connection's end, the end of the capture; the time of
    /// its `missing_ack` finding).
    pub ts: Timestamp,
    /// Both ends of `connection` and its Community ID.
    pub peers: Option<Arc<Peers>>,
}

/// The stage latencies of one flow, in milliseconds; only those measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowLatency {
    /// `(key, nanoseconds)` in the order measured (a QoS 2 flow has at
    /// most four: PUBREC, PUBREL, PUBCOMP and the total; kept inline).
    pub samples: SmallVec<[(LatencyKey, u64); 4]>,
}

impl FlowLatency {
    pub fn get(&self, key: LatencyKey) -> Option<u64> {
        self.samples
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, ns)| *ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_respects_characters() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abcdef", 3), "abc");
        assert_eq!(clip("aé", 2), "a");
        assert_eq!(clip("ééé", 4), "éé");
    }

    #[test]
    fn frames_are_bounded_and_deduplicated() {
        let ts = Timestamp::new(1, 0, 6);
        let mut f = Flow::new(
            0,
            Direction::ClientToServer,
            1,
            Stage::AwaitPuback,
            At { frame: 5, ts },
            "t".into(),
            0,
        );
        f.touch(5, ts);
        f.touch(6, ts);
        assert_eq!(f.frames[..], [5, 6]);
        for i in 0..100 {
            f.touch(10 + i, ts);
        }
        assert_eq!(f.frames.len(), MAX_FLOW_FRAMES);
    }
}
