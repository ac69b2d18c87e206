//! What analysis workers hand back: the records whose order the summary
//! keeps (warnings, findings, connections' final records), each with its
//! [`Key`], and the counts whose order does not matter; for the `--html`
//! page, the timelines of their connections (which merge in any order).

use super::key::{ANALYSIS_WARNINGS, CALLS, Key};
use crate::analysis::Finding;
use crate::base::Warning;
use crate::connection::Emit;
use crate::report::html::timeline::Collector;
use crate::report::{ConnectionSummary, Event, PacketCounts};
use crate::tcp::ConnRecord;

/// One ordered record.
#[derive(Debug)]
pub enum Record {
    Warning(Warning),
    Finding(Finding),
    /// A reported connection's final record.
    Connection(Box<ConnectionSummary>),
    /// A connection that carried no MQTT.
    Other(Box<ConnRecord>),
}

/// A worker's [`Emit`]: keeps what the summary needs, keyed by the call
/// being handled, and counts packets.
#[derive(Debug)]
pub struct Recorder {
    step: u64,
    call: u32,
    n: u32,
    records: Vec<(Key, Record)>,
    /// The analysis' warnings of the current batch, released at its end
    /// (a step's calls come before its analysis warnings).
    held: Vec<(Key, Record)>,
    findings_kept: usize,
    /// The summary lists the run's first `max_findings` findings, so no
    /// worker needs to keep more than that.
    max_findings: usize,
    pub packets: PacketCounts,
    /// The timelines of this worker's connections, when the sink draws them.
    pub timelines: Option<Collector>,
}

impl Recorder {
    /// `timelines`: also fold the events into the `--html` timelines.
    pub fn new(max_findings: usize, timelines: bool) -> Recorder {
        Recorder {
            step: 0,
            call: 0,
            n: 0,
            records: Vec::new(),
            held: Vec::new(),
            findings_kept: 0,
            max_findings,
            packets: PacketCounts::default(),
            timelines: timelines.then(Collector::default),
        }
    }

    /// What follows belongs to call `call` of step `step`.
    pub fn at(&mut self, step: u64, call: u32) {
        self.step = step;
        self.call = call;
        self.n = 0;
    }

    fn key(&mut self) -> Key {
        let k = Key::new(self.step, CALLS, self.call, self.n);
        self.n = self.n.saturating_add(1);
        k
    }

    /// The analysis' warnings raised by the current call.
    pub fn hold_analysis_warnings(&mut self, ws: Vec<Warning>) {
        for (n, w) in ws.into_iter().enumerate() {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            let key = Key::new(self.step, ANALYSIS_WARNINGS, self.call, n);
            self.held.push((key, Record::Warning(w)));
        }
    }

    /// The records so far, the held warnings after them (the batch ended
    /// with its step).
    pub fn take(&mut self) -> Vec<(Key, Record)> {
        let mut out = std::mem::take(&mut self.records);
        out.append(&mut self.held);
        out
    }
}

impl Emit for Recorder {
    fn emit(&mut self, ev: Event<'_>) {
        if let Some(t) = &mut self.timelines {
            t.event(&ev);
        }
        match ev {
            Event::Warning(w) => {
                let key = self.key();
                self.records.push((key, Record::Warning(w.clone())));
            }
            Event::Finding(f) => {
                let key = self.key();
                if self.findings_kept < self.max_findings {
                    self.findings_kept += 1;
                    self.records.push((key, Record::Finding(f.clone())));
                }
            }
            Event::Packet(_) | Event::Malformed { .. } => self.packets.count(&ev),
            // Not part of a summary (the threaded run serves summary-only
            // sinks; the timelines above took what they need).
            Event::Start { .. }
            | Event::File { .. }
            | Event::ConnectionOpen { .. }
            | Event::ConnectionClose { .. }
            | Event::Flow(_)
            | Event::Stats { .. } => {}
        }
    }

    fn connection(&mut self, summary: ConnectionSummary) {
        let key = self.key();
        self.records
            .push((key, Record::Connection(Box::new(summary))));
    }

    fn other_connection(&mut self, record: &ConnRecord) {
        let key = self.key();
        self.records
            .push((key, Record::Other(Box::new(record.clone()))));
    }
}
