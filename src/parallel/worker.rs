//! An analysis worker: owns the connections the reading thread handed it
//! and runs on them exactly the calls a single-threaded run would have
//! made (decoding, analysis, reports), recording what the summary needs.

use super::key::Key;
use super::record::{Record, Recorder};
use crate::analysis::{AnalysisConfig, Shared};
use crate::base::{At, ConnId, Direction};
use crate::connection::{Connection, Upper};
use crate::report::PacketCounts;
use crate::report::html::timeline::Collector;
use crate::tcp::{CloseKind, ConnRecord};
use foldhash::HashMap;
use std::sync::mpsc::{Receiver, Sender};

/// One call on a connection.
#[derive(Debug)]
pub enum Op {
    /// The connection itself, decided on the reading thread (its layers
    /// as detection left them), not started yet.
    Open(Box<Connection>),
    /// `len` bytes at `start` of the batch's byte buffer.
    Data {
        dir: Direction,
        at: At,
        start: usize,
        len: usize,
    },
    Gap {
        dir: Direction,
        at: At,
        len: u64,
    },
    Unseen {
        dir: Direction,
        at: At,
    },
    End {
        at: At,
        how: CloseKind,
        record: Box<ConnRecord>,
    },
    Retire {
        record: Box<ConnRecord>,
    },
}

/// A call and its place in the run.
#[derive(Debug)]
pub struct Msg {
    pub step: u64,
    pub call: u32,
    /// The call's number in the whole run.
    pub order: u64,
    pub conn: ConnId,
    pub op: Op,
}

/// Calls for one worker, ending with a whole step: no later batch has
/// calls of a step at or before `through`.
#[derive(Debug, Default)]
pub struct Batch {
    pub msgs: Vec<Msg>,
    pub bytes: Vec<u8>,
    pub through: u64,
}

impl Batch {
    /// Room for a full batch, so that filling it never reallocates.
    pub fn with_room(calls: usize, bytes: usize) -> Self {
        Batch {
            msgs: Vec::with_capacity(calls),
            bytes: Vec::with_capacity(bytes),
            through: 0,
        }
    }
}

/// What a worker reports after each batch.
#[derive(Debug)]
pub struct Out {
    pub worker: usize,
    pub records: Vec<(Key, Record)>,
    /// Every record of steps at or before this one is in this or an
    /// earlier report.
    pub through: u64,
    /// The batch, emptied, for the reading thread to fill again: batches
    /// go round instead of being allocated (a batch holds a megabyte).
    pub spent: Batch,
}

/// What a worker leaves at the end: its share of the analysis, of the
/// packet counts and (for `--html`) of the timelines.
pub struct Done {
    pub shared: Shared,
    pub packets: PacketCounts,
    pub timelines: Option<Collector>,
}

/// Runs worker `worker` until the reading thread closes its queue;
/// `timelines`: fold the `--html` timelines of its connections too.
pub fn work(
    worker: usize,
    batches: Receiver<Batch>,
    outs: Sender<Out>,
    analysis: AnalysisConfig,
    timelines: bool,
) -> Done {
    let mut rec = Recorder::new(analysis.max_findings, timelines);
    let mut shared = Shared::new(analysis);
    let mut conns: HashMap<ConnId, Connection> = HashMap::default();
    for mut batch in batches {
        for msg in batch.msgs.drain(..) {
            rec.at(msg.step, msg.call);
            shared.set_clock(msg.order);
            let mut up = Upper {
                out: &mut rec,
                shared: &mut shared,
            };
            match msg.op {
                Op::Open(c) => {
                    let mut c = *c;
                    c.start(&mut up);
                    conns.insert(c.id(), c);
                }
                Op::Data {
                    dir,
                    at,
                    start,
                    len,
                } => {
                    let data = batch
                        .bytes
                        .get(start..start.saturating_add(len))
                        .unwrap_or_default();
                    if let Some(c) = conns.get_mut(&msg.conn) {
                        c.feed(&mut up, dir, at, data);
                    }
                }
                Op::Gap { dir, at, len } => {
                    if let Some(c) = conns.get_mut(&msg.conn) {
                        c.gap(&mut up, dir, at, len);
                    }
                }
                Op::Unseen { dir, at } => {
                    if let Some(c) = conns.get_mut(&msg.conn) {
                        c.unseen(dir, at);
                    }
                }
                Op::End { at, how, record } => {
                    if let Some(c) = conns.get_mut(&msg.conn) {
                        c.end(&mut up, at, how, &record);
                    }
                }
                Op::Retire { record } => {
                    if let Some(c) = conns.remove(&msg.conn) {
                        c.retire(&mut rec, &record);
                    }
                }
            }
            let ws = shared.take_warnings();
            if !ws.is_empty() {
                rec.hold_analysis_warnings(ws);
            }
        }
        let through = batch.through;
        batch.bytes.clear();
        let out = Out {
            worker,
            records: rec.take(),
            through,
            spent: batch,
        };
        if outs.send(out).is_err() {
            break; // the run stopped
        }
    }
    Done {
        shared,
        packets: rec.packets,
        timelines: rec.timelines,
    }
}
