//! Which connections the summary lists: a bounded number, the most
//! troubled first, the rest folded into counts — so the summary's memory
//! does not grow with the connections a capture (or a week of live
//! capture) ever held. Every connection's full record is streamed anyway
//! in its jsonl `close` event.

use super::summary::ConnectionSummary;
use crate::tcp::CloseKind;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// How troubled a connection was: findings raised on it, by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problems {
    pub errors: u64,
    pub warnings: u64,
}

/// What the connections not listed add up to (the `connections_unlisted`
/// object).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unlisted {
    pub count: u64,
    /// Of `count`: those that carried MQTT packets.
    pub mqtt: u64,
    pub encrypted: u64,
    pub with_errors: u64,
    pub with_warnings: u64,
    /// Stream bytes delivered, both directions.
    pub bytes: u64,
    pub segments: u64,
    pub retransmissions: u64,
    pub gap_bytes: u64,
    pub closed_fin: u64,
    pub closed_rst: u64,
    pub still_open: u64,
}

impl Unlisted {
    fn add(&mut self, c: &ConnectionSummary) {
        let t = &c.tcp;
        self.count += 1;
        self.mqtt += u64::from(c.mqtt.is_some());
        self.encrypted += u64::from(c.encrypted);
        self.with_errors += u64::from(c.problems.errors > 0);
        self.with_warnings += u64::from(c.problems.warnings > 0);
        for d in [&t.client_to_server, &t.server_to_client] {
            self.bytes += d.bytes;
            self.segments += d.segments;
            self.retransmissions += d.retransmissions;
            self.gap_bytes += d.gap_bytes;
        }
        match t.close {
            CloseKind::Fin => self.closed_fin += 1,
            CloseKind::Rst => self.closed_rst += 1,
            CloseKind::Open => self.still_open += 1,
        }
    }
}

/// A listed connection in the heap: the least worth keeping on top.
struct Kept(ConnectionSummary);

impl Kept {
    /// More problems first; among equals, the earlier connection.
    fn rank(&self) -> (Problems, Reverse<u32>) {
        (self.0.problems, Reverse(self.0.tcp.id))
    }
}

impl PartialEq for Kept {
    fn eq(&self, other: &Self) -> bool {
        self.rank() == other.rank()
    }
}
impl Eq for Kept {}
impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Kept {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the heap's top is the connection to give up first.
        other.rank().cmp(&self.rank())
    }
}

/// The bounded list (module docs).
pub struct Listing {
    limit: usize,
    kept: BinaryHeap<Kept>,
    unlisted: Unlisted,
}

impl Listing {
    /// At most `limit` connections listed (`usize::MAX`: all).
    pub fn new(limit: usize) -> Self {
        Listing {
            limit,
            kept: BinaryHeap::new(),
            unlisted: Unlisted::default(),
        }
    }

    pub fn add(&mut self, c: ConnectionSummary) {
        let candidate = Kept(c);
        if self.kept.len() < self.limit {
            self.kept.push(candidate);
            return;
        }
        match self.kept.peek() {
            // The candidate ranks above the least kept one: swap them.
            Some(least) if candidate.rank() > least.rank() => {
                if let Some(Kept(out)) = self.kept.pop() {
                    self.unlisted.add(&out);
                }
                self.kept.push(candidate);
            }
            _ => self.unlisted.add(&candidate.0),
        }
    }

    /// The listed connections by id, and the rest counted.
    pub fn finish(self) -> (Vec<ConnectionSummary>, Unlisted) {
        let mut all: Vec<ConnectionSummary> = self.kept.into_iter().map(|k| k.0).collect();
        all.sort_by_key(|c| c.tcp.id);
        (all, self.unlisted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::{Endpoint, Timestamp};
    use crate::tcp::{ConnRecord, DirStats};

    fn conn(id: u32, errors: u64) -> ConnectionSummary {
        let ep = Endpoint {
            ip: [10, 0, 0, 1].into(),
            port: 1883,
        };
        ConnectionSummary {
            tcp: ConnRecord {
                id,
                client: ep,
                server: ep,
                first_frame: 1,
                last_frame: 2,
                first_ts: Timestamp::default(),
                last_ts: Timestamp::default(),
                handshake: None,
                close: CloseKind::Fin,
                client_to_server: DirStats {
                    bytes: 10,
                    ..DirStats::default()
                },
                server_to_client: DirStats::default(),
            },
            encrypted: false,
            layers: Default::default(),
            mqtt: None,
            problems: Problems {
                errors,
                warnings: 0,
            },
        }
    }

    #[test]
    fn keeps_the_most_troubled_then_the_earliest() {
        let mut l = Listing::new(3);
        for id in 0..10 {
            l.add(conn(id, u64::from(id == 7 || id == 4)));
        }
        let (kept, rest) = l.finish();
        let ids: Vec<u32> = kept.iter().map(|c| c.tcp.id).collect();
        assert_eq!(ids, vec![0, 4, 7]);
        assert_eq!(rest.count, 7);
        assert_eq!(rest.bytes, 70);
        assert_eq!(rest.closed_fin, 7);
        assert_eq!(rest.with_errors, 0);
    }

    #[test]
    fn unbounded_keeps_everything_in_order() {
        let mut l = Listing::new(usize::MAX);
        for id in (0..5).rev() {
            l.add(conn(id, 0));
        }
        let (kept, rest) = l.finish();
        assert_eq!(
            kept.iter().map(|c| c.tcp.id).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert_eq!(rest, Unlisted::default());
    }
}
