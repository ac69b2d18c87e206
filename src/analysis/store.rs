//! Sessions that outlive their connection, kept per client identifier so
//! that a reconnect can pick up their unacknowledged flows.
//!
//! With clean session 0 (3.x) or a Session Expiry Interval above 0 (5.0),
//! a connection that closes leaves its session on both peers, and the next
//! connection with the same client identifier and CONNACK session present
//! = 1 must re-send the unacknowledged PUBLISHes and PUBRELs with their
//! original identifiers (MQTT-4.4.0-1). The flows wait here meanwhile.
//! The store is bounded: beyond `capacity` sessions the oldest is given up
//! (its flows become `missing_ack`), and so is everything still here when
//! the capture ends.

use super::flow::Flow;
use super::subscriptions::Subscriptions;
use crate::base::{At, ConnId, Direction};
use crate::mqtt::ProtocolVersion;
use foldhash::{HashMap, HashMapExt};
use std::collections::VecDeque;
use std::sync::Arc;

/// The flows and subscriptions a closed connection left in its session.
#[derive(Debug, Clone)]
pub struct SavedSession {
    pub client_id: Arc<str>,
    pub flows: Vec<Flow>,
    /// `None` when the connection's subscriptions were not all known.
    pub subs: Option<Subscriptions>,
    /// The connection that left it, and when it ended.
    pub conn: ConnId,
    pub ended: At,
    /// The protocol version of that connection (for the rules findings cite).
    pub version: Option<ProtocolVersion>,
    seq: u64,
}

impl SavedSession {
    pub fn new(
        client_id: Arc<str>,
        flows: Vec<Flow>,
        subs: Option<Subscriptions>,
        conn: ConnId,
        ended: At,
        version: Option<ProtocolVersion>,
    ) -> Self {
        SavedSession {
            client_id,
            flows,
            subs,
            conn,
            ended,
            version,
            seq: 0,
        }
    }
}

/// The saved sessions (module docs).
#[derive(Debug)]
pub struct SessionStore {
    capacity: usize,
    map: HashMap<Arc<str>, SavedSession>,
    /// Insertion order for eviction; entries whose `seq` no longer matches are stale.
    order: VecDeque<(Arc<str>, u64)>,
    next_seq: u64,
}

impl SessionStore {
    pub fn new(capacity: usize) -> Self {
        SessionStore {
            capacity: capacity.max(1),
            map: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Sessions saved from now on are later than `order` in the run (an
    /// analysis worker of `--threads` numbers saves as one thread would,
    /// so that merged stores keep the run's order).
    pub fn set_clock(&mut self, order: u64) {
        self.next_seq = self.next_seq.max(order);
    }

    /// Keeps `s`. Returns what had to be given up: flows of an older saved
    /// session of the same client whose identifiers the newer one reuses
    /// (the newer messages replaced them), and whole sessions evicted to
    /// stay within capacity.
    pub fn save(&mut self, mut s: SavedSession) -> (Vec<Flow>, Vec<SavedSession>) {
        let mut lost = Vec::new();
        if let Some(old) = self.map.remove(&s.client_id) {
            for f in old.flows {
                let clash = s.flows.iter().any(|n| n.dir == f.dir && n.id == f.id);
                if clash {
                    lost.push(f);
                } else {
                    s.flows.push(f);
                }
            }
        }
        let mut evicted = Vec::new();
        while self.map.len() >= self.capacity {
            match self.order.pop_front() {
                Some((k, seq)) => {
                    if self.map.get(&k).is_some_and(|e| e.seq == seq)
                        && let Some(e) = self.map.remove(&k)
                    {
                        evicted.push(e);
                    }
                }
                None => break,
            }
        }
        s.seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.order.push_back((s.client_id.clone(), s.seq));
        self.map.insert(s.client_id.clone(), s);
        if self.order.len() > self.capacity.saturating_mul(2).saturating_add(16) {
            self.compact();
        }
        (lost, evicted)
    }

    fn compact(&mut self) {
        let map = &self.map;
        self.order
            .retain(|(k, seq)| map.get(k).is_some_and(|e| e.seq == *seq));
    }

    /// Takes the whole session of `client_id`.
    pub fn take(&mut self, client_id: &str) -> Option<SavedSession> {
        self.map.remove(client_id)
    }

    /// Takes one flow of `client_id`'s saved session (a connection that
    /// resumed the session before the old one had closed).
    pub fn take_flow(&mut self, client_id: &str, dir: Direction, id: u16) -> Option<Flow> {
        let s = self.map.get_mut(client_id)?;
        let pos = s.flows.iter().position(|f| f.dir == dir && f.id == id)?;
        Some(s.flows.swap_remove(pos))
    }

    /// Takes over `other`'s sessions (another shard of the same run): both
    /// stores' sessions are saved again in the order they were first saved
    /// (their `seq`, kept), as one store would have saved them; returns
    /// what had to be given up, as [`save`](Self::save) does.
    pub fn merge(&mut self, other: SessionStore) -> (Vec<Flow>, Vec<SavedSession>) {
        let (mut lost, mut evicted) = (Vec::new(), Vec::new());
        let mut theirs = other;
        let mut all = self.drain();
        all.extend(theirs.drain());
        all.sort_by_key(|s| s.seq);
        self.next_seq = 0;
        for s in all {
            self.next_seq = self.next_seq.max(s.seq);
            let (l, e) = self.save(s);
            lost.extend(l);
            evicted.extend(e);
        }
        (lost, evicted)
    }

    /// Every saved session, oldest first.
    pub fn drain(&mut self) -> Vec<SavedSession> {
        let mut all: Vec<SavedSession> = self.map.drain().map(|(_, s)| s).collect();
        all.sort_by_key(|s| s.seq);
        self.order.clear();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::qos::Stage;
    use crate::base::Timestamp;

    fn at(frame: u64) -> At {
        At {
            frame,
            ts: Timestamp::new(frame as i64, 0, 6),
        }
    }

    fn flow(dir: Direction, id: u16) -> Flow {
        Flow::new(0, dir, id, Stage::AwaitPuback, at(1), "t".into(), 0)
    }

    #[test]
    fn capacity_evicts_the_oldest() {
        let mut st = SessionStore::new(2);
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            let (lost, ev) = st.save(SavedSession::new(
                (*name).into(),
                vec![flow(Direction::ClientToServer, 1)],
                None,
                i as u32,
                at(i as u64),
                None,
            ));
            assert!(lost.is_empty());
            if i < 2 {
                assert!(ev.is_empty());
            } else {
                assert_eq!(ev.len(), 1);
                assert_eq!(&*ev[0].client_id, "a");
            }
        }
        assert_eq!(st.len(), 2);
        assert!(st.take("a").is_none());
        assert!(st.take("b").is_some());
    }

    #[test]
    fn resaving_merges_and_reports_replaced_ids() {
        let mut st = SessionStore::new(4);
        let c2s = Direction::ClientToServer;
        st.save(SavedSession::new(
            "x".into(),
            vec![flow(c2s, 1), flow(c2s, 2)],
            None,
            0,
            at(1),
            None,
        ));
        let (lost, ev) = st.save(SavedSession::new(
            "x".into(),
            vec![flow(c2s, 2), flow(Direction::ServerToClient, 1)],
            None,
            1,
            at(2),
            None,
        ));
        assert!(ev.is_empty());
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].id, 2);
        let s = st.take("x").unwrap();
        assert_eq!(s.flows.len(), 3);
        assert_eq!(st.len(), 0);
    }

    #[test]
    fn single_flows_can_be_taken_and_order_stays_bounded() {
        let mut st = SessionStore::new(1);
        for i in 0..100u32 {
            st.save(SavedSession::new(
                "same".into(),
                vec![flow(Direction::ServerToClient, 5)],
                None,
                i,
                at(1),
                None,
            ));
        }
        assert!(st.order.len() <= 2 + 16);
        assert!(st.take_flow("same", Direction::ServerToClient, 5).is_some());
        assert!(st.take_flow("same", Direction::ServerToClient, 5).is_none());
        assert_eq!(st.drain().len(), 1);
    }
}
