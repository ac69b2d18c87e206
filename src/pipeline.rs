//! The run: pull frames from a source, push them through every stage.
//!
//! ```text
//! FrameSource ─Frame─▶ netdecode ─Segment─▶ tcp::Reassembler ─bytes─▶ Connection ─Event─▶ Sink
//!  (capture/)                               (one table; each entry     (connection/: detection,
//!                                            holds its Connection)      MQTT, analysis)
//! ```
//!
//! The reassembler keeps every connection and, beside its TCP state, the
//! [`Connection`](crate::connection::Connection) the factory
//! ([`Connections`]) made for it. The factory holds what spans connections
//! (the analysis' shared state and the output). Timeouts run on capture
//! time for files and on the wall clock for a live source's idle turns.

use crate::analysis::{AnalysisConfig, Shared};
use crate::base::Timestamp;
use crate::capture::{CaptureInfo, Drops, FrameSource, Next};
use crate::connection::{Connection, Connections, Emit, Output};
use crate::mqtt::{MqttConfig, looks_like_connect};
use crate::netdecode::{self, Decoded, NetCounters};
use crate::report::{Event, PacketCounts, Sink, Summary};
use crate::tcp::{Reassembler, TcpConfig, TcpCounters};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

/// Everything the stages need to know from the command line.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Server ports whose connections are MQTT.
    pub ports: Vec<u16>,
    /// Also recognise MQTT on other ports by a CONNECT in the client's first bytes.
    pub detect: bool,
    pub tcp: TcpConfig,
    pub mqtt: MqttConfig,
    pub analysis: AnalysisConfig,
    /// Connections listed in the summary (the most troubled first); the
    /// rest are counted.
    pub listed_connections: usize,
    /// `--tls-keylog`: an NSS key log to decrypt TLS with.
    pub tls_keylog: Option<std::path::PathBuf>,
    /// Analysis threads beside the reading one (`--threads`); 0 or 1 runs
    /// everything on one thread. Used only where the output allows it
    /// ([`Pipeline::threads_used`]).
    pub threads: usize,
}

impl PipelineOptions {
    /// The filters for the summary to name, when any was given.
    pub fn filters(&self) -> Option<crate::analysis::Selection> {
        let sel = &self.analysis.select;
        (!sel.is_all()).then(|| sel.clone())
    }
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            ports: vec![1883, 8883],
            detect: true,
            tcp: TcpConfig::default(),
            mqtt: MqttConfig::default(),
            analysis: AnalysisConfig::default(),
            listed_connections: DEFAULT_LISTED,
            tls_keylog: None,
            threads: 1,
        }
    }
}

/// Connections the summary lists unless told otherwise.
pub const DEFAULT_LISTED: usize = 1000;

/// One run over one source.
pub struct Pipeline {
    opts: PipelineOptions,
}

/// Watches a run between the source's steps: a status line, periodic
/// statistics, a metrics endpoint. Called after every step (a frame or an
/// idle turn), so it must be cheap when it has nothing to do.
pub trait Observer {
    fn turn(&mut self, now: Timestamp, run: &mut RunState<'_, '_>);
    /// The run is over (the summary is about to be written).
    fn finish(&mut self, _run: &mut RunState<'_, '_>) {}
    /// Whether it never does anything (then a threaded run, which has no
    /// single state to show, may serve it).
    fn is_quiet(&self) -> bool {
        false
    }
}

/// The observer that does nothing.
pub struct Quiet;

impl Observer for Quiet {
    fn turn(&mut self, _now: Timestamp, _run: &mut RunState<'_, '_>) {}
    fn is_quiet(&self) -> bool {
        true
    }
}

/// What an [`Observer`] may look at, and emit, between steps.
pub struct RunState<'a, 's> {
    source: &'a dyn FrameSource,
    tcp: &'a mut Reassembler<Connection>,
    conns: &'a mut Connections<Output<'s>>,
}

impl RunState<'_, '_> {
    /// Frames read so far, and what the source knows.
    pub fn capture(&self) -> &CaptureInfo {
        self.source.info()
    }

    /// What the capture itself lost (live capture).
    pub fn drops(&self) -> Option<Drops> {
        self.source.drops()
    }

    /// TCP connections being followed now.
    pub fn open_connections(&self) -> usize {
        self.tcp.open_connections()
    }

    /// Reassembly's counters so far.
    pub fn tcp(&self) -> TcpCounters {
        self.tcp.counters()
    }

    /// QoS 1/2 flows waiting for an ack now (walks every connection).
    pub fn open_flows(&mut self) -> u64 {
        self.tcp
            .consumers_mut()
            .into_iter()
            .filter_map(|c| c.analysis_mut())
            .map(|a| a.open_flows() as u64)
            .sum()
    }

    /// The analysis' shared state (tallies so far).
    pub fn analysis(&mut self) -> &mut Shared {
        &mut self.conns.analysis
    }

    /// The MQTT packets counted so far.
    pub fn packets(&self) -> &PacketCounts {
        self.conns.out.builder.packets()
    }

    /// Reports an event (periodic statistics) to the sink.
    pub fn emit(&mut self, ev: Event<'_>) {
        self.conns.out.emit(ev);
    }
}

impl Pipeline {
    pub fn new(opts: PipelineOptions) -> Self {
        Pipeline { opts }
    }

    /// The analysis threads a run with `sink` and `observer` uses: the
    /// configured number when only a summary is written (no events as they
    /// happen, nothing observed between steps, no live timers), else one.
    pub fn threads_used(&self, sink: &dyn Sink, observer: &dyn Observer) -> usize {
        if self.opts.threads > 1
            && !sink.needs_events()
            && observer.is_quiet()
            && !self.opts.analysis.live
        {
            self.opts.threads
        } else {
            1
        }
    }

    /// Reads the whole source, writing events to `sink` as they happen and the summary at the end.
    pub fn run(&self, source: &mut dyn FrameSource, sink: &mut dyn Sink) -> io::Result<Summary> {
        self.run_with(source, sink, &mut Quiet, None)
    }

    /// [`run`](Self::run), with an observer between steps, stopping early
    /// (and concluding as at the end of the capture) once `stop` is set.
    pub fn run_with(
        &self,
        source: &mut dyn FrameSource,
        sink: &mut dyn Sink,
        observer: &mut dyn Observer,
        stop: Option<&AtomicBool>,
    ) -> io::Result<Summary> {
        let threads = self.threads_used(sink, observer);
        if threads > 1 {
            return crate::parallel::run(&self.opts, threads, source, sink, stop);
        }
        let mut tcp_cfg = self.opts.tcp.clone();
        tcp_cfg.server_ports = self.opts.ports.clone();
        tcp_cfg.client_hello = looks_like_connect;
        let mut tcp: Reassembler<Connection> = Reassembler::new(tcp_cfg);
        let mut net = NetCounters::default();
        let mut conns = Connections::new(
            self.opts.ports.clone(),
            self.opts.detect,
            self.opts.mqtt,
            Shared::new(self.opts.analysis.clone()),
            Output::new(sink, self.opts.listed_connections),
        );
        conns.set_keylog(self.opts.tls_keylog.as_deref());
        let mut started = false;
        loop {
            if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                break;
            }
            let now = match source.next() {
                Next::Frame(frame) => {
                    if !started {
                        started = true;
                        conns.out.emit(Event::Start { ts: frame.ts });
                    }
                    let decoded = netdecode::decode(&frame);
                    net.count(&decoded);
                    if let Decoded::Tcp(seg) = decoded {
                        tcp.segment(&seg, &mut conns);
                    }
                    frame.ts
                }
                Next::File(index) => {
                    if let Some(f) = source.info().files.get(index) {
                        conns.out.emit(Event::File {
                            index,
                            name: &f.name,
                            first_frame: f.first_frame,
                        });
                    }
                    continue;
                }
                Next::Idle(now) => {
                    // No traffic: the TCP idle timeout runs on the wall clock too.
                    tcp.advance(now, &mut conns);
                    now
                }
                Next::End => break,
            };
            tick(&mut tcp, &mut conns, now);
            conns.out.warnings(source.take_warnings());
            conns.analysis_warnings();
            conns.out.warnings(tcp.take_warnings());
            observer.turn(
                now,
                &mut RunState {
                    source: &*source,
                    tcp: &mut tcp,
                    conns: &mut conns,
                },
            );
            conns.out.check()?;
        }
        conns.out.warnings(source.take_warnings());
        conns.analysis_warnings();
        tcp.finish(&mut conns);
        conns.out.warnings(tcp.take_warnings());
        conns.analysis_warnings();
        observer.finish(&mut RunState {
            source: &*source,
            tcp: &mut tcp,
            conns: &mut conns,
        });
        let Connections {
            mut analysis,
            mut out,
            ..
        } = conns;
        let summary = analysis.finish(&mut |ev| out.analysis(ev));
        out.warnings(analysis.take_warnings());
        out.check()?;
        let (builder, sink) = out.into_parts();
        let mut summary = builder.finish(source.info(), &net, tcp.counters(), summary);
        summary.capture.drops = source.drops();
        summary.filters = self.opts.filters();
        sink.finish(&summary)?;
        Ok(summary)
    }
}

/// Live timeouts: flows, requests and keep alives overdue by `now`.
fn tick(tcp: &mut Reassembler<Connection>, conns: &mut Connections<Output<'_>>, now: Timestamp) {
    if !conns.analysis.tick_due(now) {
        return;
    }
    let open = tcp
        .consumers_mut()
        .into_iter()
        .filter_map(Connection::analysis_mut);
    let out = &mut conns.out;
    conns.analysis.tick(now, open, &mut |ev| out.analysis(ev));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{HtmlReport, JsonLines, JsonReport, RenderOptions, Tee};

    fn threaded() -> Pipeline {
        Pipeline::new(PipelineOptions {
            threads: 4,
            ..PipelineOptions::default()
        })
    }

    /// `--html` beside a summary format keeps `--threads` (the page's
    /// timelines are folded on the workers); beside jsonl, one thread.
    #[test]
    fn the_html_page_runs_threaded_beside_a_summary() {
        let p = threaded();
        let html = || HtmlReport::new(io::sink(), "test");
        let json: Box<dyn Sink> = Box::new(JsonReport::new(io::sink()));
        let tee = Tee {
            first: json,
            second: html(),
        };
        assert!(tee.wants_timelines());
        assert_eq!(p.threads_used(&tee, &Quiet), 4);
        assert_eq!(p.threads_used(&html(), &Quiet), 4);
        let lines: Box<dyn Sink> = Box::new(JsonLines::new(io::sink(), RenderOptions::default()));
        let tee = Tee {
            first: lines,
            second: html(),
        };
        assert_eq!(p.threads_used(&tee, &Quiet), 1, "jsonl streams events");
        let lines = JsonLines::new(io::sink(), RenderOptions::default());
        assert!(!lines.wants_timelines());
    }
}
