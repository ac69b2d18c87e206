//! The reading thread's side of `--threads`: hands calls to the workers
//! in batches ([`Relay`], the connections' [`Forward`]), records its own
//! warnings and non-MQTT connections ([`MainRecorder`]), and merges
//! everything back into the summary in single-threaded order as soon as
//! every thread has passed it ([`Hub::release`]).

use super::key::{CALLS, Key};
use super::record::Record;
use super::worker::{Batch, Msg, Op, Out};
use crate::analysis::Finding;
use crate::base::{At, ConnId, Direction, Endpoint, Warning};
use crate::connection::{Connection, Emit, Forward};
use crate::report::{ConnectionSummary, Event, SummaryBuilder};
use crate::tcp::{CloseKind, ConnRecord};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};

/// Calls per batch before it is sent (at the end of the step).
const BATCH_CALLS: usize = 2048;
/// Bytes per batch before it is sent.
const BATCH_BYTES: usize = 256 << 10;
/// A batch's byte buffer: a full batch plus the largest single delivery
/// the reassembler makes past the threshold, so it is allocated once.
const BATCH_ROOM: usize = BATCH_BYTES + (64 << 10);
/// Steps after which every pending batch is sent, so that merging (and
/// the memory it holds) never waits long on a quiet worker.
const FLUSH_STEPS: u32 = 16_384;

/// Where the summary's ordered parts are rebuilt.
pub struct Merged {
    pub builder: SummaryBuilder,
    /// The run's first `max_findings` findings, in order.
    pub findings: Vec<Finding>,
    max_findings: usize,
}

impl Merged {
    fn apply(&mut self, r: Record) {
        match r {
            Record::Warning(w) => self.builder.event(&Event::Warning(&w)),
            Record::Finding(f) => {
                if self.findings.len() < self.max_findings {
                    self.findings.push(f);
                }
            }
            Record::Connection(s) => self.builder.connection(*s),
            Record::Other(r) => self.builder.other_connection(&r),
        }
    }
}

/// The reading thread's state of a threaded run (module docs).
pub struct Hub {
    /// The step being handled and the next call number in it.
    step: u64,
    phase: u8,
    call: u32,
    n: u32,
    /// Calls handed to workers so far (the run's order of them).
    order: u64,
    batches: Vec<Batch>,
    /// Emptied batches the workers gave back, to be filled again.
    spare: Vec<Batch>,
    senders: Vec<SyncSender<Batch>>,
    outs: Receiver<Out>,
    /// Batches sent to each worker and not yet reported on.
    in_flight: Vec<usize>,
    /// Each worker's last report: everything of steps up to here is in.
    through: Vec<u64>,
    steps_since_flush: u32,
    pending: BTreeMap<Key, Record>,
    pub merged: Merged,
}

impl Hub {
    pub fn new(
        senders: Vec<SyncSender<Batch>>,
        outs: Receiver<Out>,
        builder: SummaryBuilder,
        max_findings: usize,
    ) -> Hub {
        let n = senders.len();
        Hub {
            step: 0,
            phase: CALLS,
            call: 0,
            n: 0,
            order: 0,
            batches: (0..n)
                .map(|_| Batch::with_room(BATCH_CALLS + 1, BATCH_ROOM))
                .collect(),
            spare: Vec::new(),
            senders,
            outs,
            in_flight: vec![0; n],
            through: vec![0; n],
            steps_since_flush: 0,
            pending: BTreeMap::new(),
            merged: Merged {
                builder,
                findings: Vec::new(),
                max_findings,
            },
        }
    }

    /// A new step begins (`step` grows from one call to the next).
    pub fn begin(&mut self, step: u64) {
        self.step = step;
        self.phase = CALLS;
        self.call = 0;
        self.n = 0;
    }

    /// What the reading thread reports next belongs to `phase` of the step.
    pub fn phase(&mut self, phase: u8) {
        self.phase = phase;
        self.n = 0;
    }

    fn next_call(&mut self) -> u32 {
        let c = self.call;
        self.call = self.call.saturating_add(1);
        c
    }

    fn push(&mut self, worker: usize, conn: ConnId, op: Op) {
        let call = self.next_call();
        let step = self.step;
        self.order += 1;
        let order = self.order;
        if let Some(b) = self.batches.get_mut(worker) {
            b.msgs.push(Msg {
                step,
                call,
                order,
                conn,
                op,
            });
        }
    }

    /// The reading thread's own record (phase set by [`Hub::phase`]).
    fn record(&mut self, r: Record) {
        let key = if self.phase == CALLS {
            Key::new(self.step, CALLS, self.next_call(), 0)
        } else {
            let k = Key::new(self.step, self.phase, 0, self.n);
            self.n = self.n.saturating_add(1);
            k
        };
        self.pending.insert(key, r);
    }

    /// The step is over: full batches go out, workers' reports come in,
    /// and what every thread has passed joins the summary.
    pub fn end_step(&mut self) {
        self.steps_since_flush += 1;
        let all = self.steps_since_flush >= FLUSH_STEPS;
        if all {
            self.steps_since_flush = 0;
        }
        for w in 0..self.batches.len() {
            let full = self.batches.get(w).is_some_and(|b| {
                b.msgs.len() >= BATCH_CALLS
                    || b.bytes.len() >= BATCH_BYTES
                    || (all && !b.msgs.is_empty())
            });
            if full {
                self.send(w);
            }
        }
        self.collect(false);
        self.release(self.step);
    }

    fn send(&mut self, w: usize) {
        let Some(slot) = self.batches.get_mut(w) else {
            return;
        };
        let fresh = self
            .spare
            .pop()
            .unwrap_or_else(|| Batch::with_room(BATCH_CALLS + 1, BATCH_ROOM));
        let mut batch = std::mem::replace(slot, fresh);
        batch.through = self.step;
        if let Some(tx) = self.senders.get(w) {
            // Blocks while the worker is a few batches behind (bounded memory).
            if tx.send(batch).is_ok()
                && let Some(n) = self.in_flight.get_mut(w)
            {
                *n += 1;
            }
        }
    }

    /// Takes in the workers' reports (waiting for all of them with `wait`).
    fn collect(&mut self, wait: bool) {
        loop {
            let out = if wait {
                match self.outs.recv() {
                    Ok(o) => o,
                    Err(_) => return,
                }
            } else {
                match self.outs.try_recv() {
                    Ok(o) => o,
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => return,
                }
            };
            if let Some(n) = self.in_flight.get_mut(out.worker) {
                *n = n.saturating_sub(1);
            }
            if let Some(t) = self.through.get_mut(out.worker) {
                *t = out.through;
            }
            self.pending.extend(out.records);
            self.spare.push(out.spent);
        }
    }

    /// Merges every pending record no thread can still precede: of steps
    /// up to `done` (the reading thread's) and up to what each worker with
    /// batches in flight reported.
    fn release(&mut self, done: u64) {
        let bound = self
            .in_flight
            .iter()
            .zip(&self.through)
            .filter(|(n, _)| **n > 0)
            .map(|(_, t)| *t)
            .fold(done, u64::min);
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().step > bound {
                break;
            }
            let r = entry.remove();
            self.merged.apply(r);
        }
    }

    /// The reading thread is done: the last batches go out, the workers'
    /// queues close (they finish), and every report is merged.
    pub fn finish(&mut self) {
        for w in 0..self.batches.len() {
            if self.batches.get(w).is_some_and(|b| !b.msgs.is_empty()) {
                self.send(w);
            }
        }
        self.senders.clear();
        self.collect(true);
        self.release(u64::MAX);
    }

    /// A record of the end of the run (after the workers finished).
    pub fn late(&mut self, r: Record) {
        self.record(r);
        self.release(u64::MAX);
    }

    fn data(&mut self, worker: usize, conn: ConnId, dir: Direction, at: At, data: &[u8]) {
        let Some(b) = self.batches.get_mut(worker) else {
            return;
        };
        let start = b.bytes.len();
        b.bytes.extend_from_slice(data);
        let len = data.len();
        self.push(
            worker,
            conn,
            Op::Data {
                dir,
                at,
                start,
                len,
            },
        );
    }
}

/// The worker of a connection: both ends' addresses decide, so that a
/// client's reconnections (same host, new port) meet their saved session
/// on the same worker.
pub fn route(a: Endpoint, b: Endpoint, workers: usize) -> usize {
    let (lo, hi) = if a.ip <= b.ip {
        (a.ip, b.ip)
    } else {
        (b.ip, a.ip)
    };
    // FNV-1a: stable from run to run (the route must not depend on a seed).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &byte in bytes {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for ip in [lo, hi] {
        match ip {
            IpAddr::V4(v) => eat(&v.octets()),
            IpAddr::V6(v) => eat(&v.octets()),
        }
    }
    (h % workers.max(1) as u64) as usize
}

/// The connections' [`Forward`] of a threaded run.
pub struct Relay {
    pub hub: Rc<RefCell<Hub>>,
    pub workers: usize,
}

impl Forward for Relay {
    fn open(&mut self, c: Box<Connection>) -> usize {
        let (client, server) = c.endpoints();
        let w = route(client, server, self.workers);
        self.hub.borrow_mut().push(w, c.id(), Op::Open(c));
        w
    }

    fn data(&mut self, worker: usize, conn: ConnId, dir: Direction, at: At, data: &[u8]) {
        self.hub.borrow_mut().data(worker, conn, dir, at, data);
    }

    fn gap(&mut self, worker: usize, conn: ConnId, dir: Direction, at: At, len: u64) {
        self.hub
            .borrow_mut()
            .push(worker, conn, Op::Gap { dir, at, len });
    }

    fn unseen(&mut self, worker: usize, conn: ConnId, dir: Direction, at: At) {
        self.hub
            .borrow_mut()
            .push(worker, conn, Op::Unseen { dir, at });
    }

    fn end(&mut self, worker: usize, conn: ConnId, at: At, how: CloseKind, record: &ConnRecord) {
        let record = Box::new(record.clone());
        self.hub
            .borrow_mut()
            .push(worker, conn, Op::End { at, how, record });
    }

    fn retire(&mut self, worker: usize, conn: ConnId, record: &ConnRecord) {
        let record = Box::new(record.clone());
        self.hub
            .borrow_mut()
            .push(worker, conn, Op::Retire { record });
    }
}

/// The reading thread's [`Emit`]: its warnings and the connections that
/// carried no MQTT, in their place.
pub struct MainRecorder {
    pub hub: Rc<RefCell<Hub>>,
}

impl Emit for MainRecorder {
    fn emit(&mut self, ev: Event<'_>) {
        if let Event::Warning(w) = ev {
            self.hub
                .borrow_mut()
                .record(Record::Warning(Warning::clone(w)));
        }
    }

    fn connection(&mut self, summary: ConnectionSummary) {
        self.hub
            .borrow_mut()
            .record(Record::Connection(Box::new(summary)));
    }

    fn other_connection(&mut self, record: &ConnRecord) {
        self.hub
            .borrow_mut()
            .record(Record::Other(Box::new(record.clone())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(ip: [u8; 4], port: u16) -> Endpoint {
        Endpoint {
            ip: IpAddr::from(ip),
            port,
        }
    }

    #[test]
    fn a_host_pair_always_goes_to_the_same_worker() {
        let broker = ep([10, 0, 0, 1], 1883);
        let w = route(ep([10, 1, 0, 7], 40_000), broker, 4);
        for port in [40_001, 50_000, 65_535] {
            assert_eq!(route(ep([10, 1, 0, 7], port), broker, 4), w);
            assert_eq!(route(broker, ep([10, 1, 0, 7], port), 4), w);
        }
        // Many hosts spread over the workers.
        let mut used = [0usize; 4];
        for host in 0..=255u8 {
            used[route(ep([10, 1, 0, host], 1), broker, 4)] += 1;
        }
        assert!(used.iter().all(|&n| n > 30), "{used:?}");
        assert_eq!(route(ep([1, 2, 3, 4], 1), broker, 1), 0);
    }
}
