//! `--threads`: the analysis of a capture on several threads, with
//! exactly the output of a single-threaded run.
//!
//! ```text
//!  reading thread                                  analysis workers
//!  FrameSource ─▶ netdecode ─▶ tcp::Reassembler     ┌─▶ Connection (MQTT, analysis) ─┐
//!                 (detection, connection numbers)  ─┤   Connection ...               ├─▶ records
//!                              ─calls, in batches─▶ └─▶ ...                          ┘    │
//!  summary ◀── merge in single-threaded order ◀──────────────────────────────────────────┘
//! ```
//!
//! The reading thread keeps what decides connections: reassembly (so
//! connection numbers, timeouts and caps are those of one thread) and
//! content detection (so proven servers are seen by all connections). A
//! connection found to carry MQTT goes to one worker, chosen by its two
//! hosts' addresses, and every later call on it (its bytes, gaps, end)
//! follows in order, copied into batches. Each worker runs the same
//! [`Connection`](crate::connection::Connection) code with its own share
//! of the analysis' shared state. What the summary keeps in order —
//! warnings, findings, connections' final records — carries its place in
//! the single-threaded run ([`key::Key`]) and is merged back in that order;
//! counts, histograms and breakdowns add up at the end (`Shared::merge`).
//!
//! Only sinks that write a summary (`--format json`, the text summary,
//! the `--html` page) run this way: a per-packet stream stays on one
//! thread. The page's timelines are folded by each worker for its
//! connections and merged at the end (they are the same in any order:
//! [`crate::report::html::timeline`]). With more than
//! one worker, a client whose session continues from another host
//! address meets its saved session on another worker only when both hosts
//! route there; the latency breakdowns by client and topic are exact
//! until they are approximate anyway (more keys than they follow).

mod hub;
mod key;
mod record;
mod worker;

use crate::analysis::{AnalysisEvent, Shared};
use crate::capture::{FrameSource, Next};
use crate::connection::{Connections, Emit};
use crate::mqtt::looks_like_connect;
use crate::netdecode::{self, Decoded, NetCounters};
use crate::pipeline::PipelineOptions;
use crate::report::html::timeline::Collector;
use crate::report::{Event, PacketCounts, Sink, Summary, SummaryBuilder};
use crate::tcp::Reassembler;
use hub::{Hub, MainRecorder, Relay};
use key::{END_ANALYSIS, END_SOURCE, END_TCP, SOURCE_WARNINGS, TCP_WARNINGS, TCP_WARNINGS_AT_END};
use record::Record;
use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel};
use std::thread;

/// Batches queued per worker before the reading thread waits.
const QUEUE: usize = 4;

/// Runs `source` with `workers` analysis workers (at least one).
pub fn run(
    opts: &PipelineOptions,
    workers: usize,
    source: &mut dyn FrameSource,
    sink: &mut dyn Sink,
    stop: Option<&AtomicBool>,
) -> io::Result<Summary> {
    let workers = workers.max(1);
    let timelines = sink.wants_timelines();
    let mut tcp_cfg = opts.tcp.clone();
    tcp_cfg.server_ports = opts.ports.clone();
    tcp_cfg.client_hello = looks_like_connect;
    thread::scope(|scope| {
        let (out_tx, out_rx) = channel();
        let mut senders = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = sync_channel(QUEUE);
            senders.push(tx);
            let outs = out_tx.clone();
            let analysis = opts.analysis.clone();
            let handle = thread::Builder::new()
                .name(format!("analysis-{w}"))
                .spawn_scoped(scope, move || {
                    worker::work(w, rx, outs, analysis, timelines)
                })?;
            handles.push(handle);
        }
        drop(out_tx);
        let hub = Rc::new(RefCell::new(Hub::new(
            senders,
            out_rx,
            SummaryBuilder::new(opts.listed_connections),
            opts.analysis.max_findings,
        )));
        let mut tcp: Reassembler<crate::connection::Connection> = Reassembler::new(tcp_cfg);
        let mut net = NetCounters::default();
        let mut conns = Connections::new(
            opts.ports.clone(),
            opts.detect,
            opts.mqtt,
            Shared::new(opts.analysis.clone()),
            MainRecorder { hub: hub.clone() },
        )
        .forwarding(Box::new(Relay {
            hub: hub.clone(),
            workers,
        }));
        // Before the first step, as on one thread: a warning about the
        // key log sorts first.
        conns.set_keylog(opts.tls_keylog.as_deref());
        let mut step: u64 = 0;
        // The capture's first frame: where a one-thread run starts its timeline.
        let mut first_ts = None;
        loop {
            if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                break;
            }
            step += 1;
            hub.borrow_mut().begin(step);
            match source.next() {
                Next::Frame(frame) => {
                    if first_ts.is_none() {
                        first_ts = Some(frame.ts);
                    }
                    let decoded = netdecode::decode(&frame);
                    net.count(&decoded);
                    if let Decoded::Tcp(seg) = decoded {
                        tcp.segment(&seg, &mut conns);
                    }
                }
                Next::File(_) => {}
                Next::Idle(now) => tcp.advance(now, &mut conns),
                Next::End => break,
            }
            hub.borrow_mut().phase(SOURCE_WARNINGS);
            conns.out.warnings(source.take_warnings());
            hub.borrow_mut().phase(TCP_WARNINGS);
            conns.out.warnings(tcp.take_warnings());
            hub.borrow_mut().end_step();
        }
        hub.borrow_mut().begin(END_SOURCE);
        hub.borrow_mut().phase(SOURCE_WARNINGS);
        conns.out.warnings(source.take_warnings());
        hub.borrow_mut().begin(END_TCP);
        tcp.finish(&mut conns);
        hub.borrow_mut().phase(TCP_WARNINGS_AT_END);
        conns.out.warnings(tcp.take_warnings());
        hub.borrow_mut().finish();
        drop(conns);
        // The workers are done: their shares of the analysis add up.
        let mut done = Vec::with_capacity(workers);
        for h in handles {
            match h.join() {
                Ok(d) => done.push(d),
                Err(_) => return Err(io::Error::other("an analysis thread failed")),
            }
        }
        let mut packets = PacketCounts::default();
        let mut shared: Option<Shared> = None;
        // The workers' timelines, then the findings raised from here on.
        let folded = RefCell::new(timelines.then(Collector::default));
        if let Some(c) = folded.borrow_mut().as_mut() {
            if let Some(ts) = first_ts {
                c.event(&Event::Start { ts });
            }
            for d in &mut done {
                if let Some(t) = d.timelines.take() {
                    c.merge(t);
                }
            }
        }
        hub.borrow_mut().begin(END_ANALYSIS);
        let late = |hub: &Rc<RefCell<Hub>>, ev: AnalysisEvent<'_>| {
            if let AnalysisEvent::Finding(f) = ev {
                if let Some(c) = folded.borrow_mut().as_mut() {
                    c.event(&Event::Finding(f));
                }
                hub.borrow_mut().late(Record::Finding(f.clone()));
            }
        };
        for d in done {
            add_packets(&mut packets, &d.packets);
            match shared.as_mut() {
                None => shared = Some(d.shared),
                Some(s) => s.merge(d.shared, &mut |ev| late(&hub, ev)),
            }
        }
        let mut shared = shared.unwrap_or_else(|| Shared::new(opts.analysis.clone()));
        let mut analysis = shared.finish(&mut |ev| late(&hub, ev));
        {
            let mut h = hub.borrow_mut();
            h.phase(SOURCE_WARNINGS);
            for w in shared.take_warnings() {
                h.late(Record::Warning(w));
            }
        }
        let Ok(hub) = Rc::try_unwrap(hub).map(RefCell::into_inner) else {
            return Err(io::Error::other("the merge is still shared"));
        };
        let mut merged = hub.merged;
        // The findings in single-threaded order; the totals are the shares' sums.
        let total: u64 = analysis.findings_by_kind.values().sum();
        analysis.findings = std::mem::take(&mut merged.findings);
        analysis.findings_dropped = total.saturating_sub(analysis.findings.len() as u64);
        merged.builder.add_packets(&packets);
        let mut summary = merged
            .builder
            .finish(source.info(), &net, tcp.counters(), analysis);
        summary.capture.drops = source.drops();
        summary.filters = opts.filters();
        if let Some(c) = folded.into_inner() {
            sink.timelines(c.finish());
        }
        sink.finish(&summary)?;
        Ok(summary)
    })
}

/// Adds one worker's packet counts.
fn add_packets(to: &mut PacketCounts, from: &PacketCounts) {
    to.total += from.total;
    to.malformed += from.malformed;
    to.with_violations += from.with_violations;
    for (k, n) in &from.by_type {
        *to.by_type.entry(k).or_insert(0) += n;
    }
}
