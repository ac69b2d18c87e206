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
use crate::capture::{FrameSource, Next};
use crate::connection::{Connection, Connections, Output};
use crate::mqtt::{MqttConfig, looks_like_connect};
use crate::netdecode::{self, Decoded, NetCounters};
use crate::report::{Event, Sink, Summary};
use crate::tcp::{Reassembler, TcpConfig};
use std::io;

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
        }
    }
}

/// Connections the summary lists unless told otherwise.
pub const DEFAULT_LISTED: usize = 1000;

/// One run over one source.
pub struct Pipeline {
    opts: PipelineOptions,
}

impl Pipeline {
    pub fn new(opts: PipelineOptions) -> Self {
        Pipeline { opts }
    }

    /// Reads the whole source, writing events to `sink` as they happen and the summary at the end.
    pub fn run(&self, source: &mut dyn FrameSource, sink: &mut dyn Sink) -> io::Result<Summary> {
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
        let mut started = false;
        loop {
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
                Next::Idle(now) => now,
                Next::End => break,
            };
            tick(&mut tcp, &mut conns, now);
            conns.out.warnings(source.take_warnings());
            conns.analysis_warnings();
            conns.out.warnings(tcp.take_warnings());
            conns.out.check()?;
        }
        conns.out.warnings(source.take_warnings());
        conns.analysis_warnings();
        tcp.finish(&mut conns);
        conns.out.warnings(tcp.take_warnings());
        conns.analysis_warnings();
        let Connections {
            mut analysis,
            mut out,
            ..
        } = conns;
        let summary = analysis.finish(&mut |ev| out.analysis(ev));
        out.warnings(analysis.take_warnings());
        out.check()?;
        let (builder, sink) = out.into_parts();
        let summary = builder.finish(source.info(), &net, tcp.counters(), summary);
        sink.finish(&summary)?;
        Ok(summary)
    }
}

/// Live timeouts: flows, requests and keep alives overdue by `now`.
fn tick(tcp: &mut Reassembler<Connection>, conns: &mut Connections<'_>, now: Timestamp) {
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
