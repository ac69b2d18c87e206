//! The run: pull frames from a source, push them through every stage.
//!
//! ```text
//! FrameSource ─Frame─▶ netdecode ─Segment─▶ tcp::Reassembler ─StreamEvent─▶ Connections ─Event─▶ Sink
//! ```
//!
//! [`Connections`] is the reassembler's consumer: it decides which TCP
//! connections are reported and turns stream events into report events. The
//! summary is folded from the same events by a [`SummaryBuilder`].

use crate::capture::{CaptureInfo, CaptureReader, Frame};
use crate::netdecode::{self, Decoded, NetCounters};
use crate::report::{Event, Sink, Summary, SummaryBuilder};
use crate::tcp::{ConnId, Interest, Reassembler, StreamEvent, StreamSink, TcpConfig};
use crate::warning::Warning;
use std::collections::HashMap;
use std::io;

/// A stream of frames: a capture file reader or a live capture.
pub trait FrameSource {
    /// The next frame, or `None` at the end.
    fn next_frame(&mut self) -> Option<Frame<'_>>;
    /// Capture-level facts so far.
    fn info(&self) -> &CaptureInfo;
    /// Warnings since the last call.
    fn take_warnings(&mut self) -> Vec<Warning>;
}

impl FrameSource for CaptureReader {
    fn next_frame(&mut self) -> Option<Frame<'_>> {
        CaptureReader::next_frame(self)
    }
    fn info(&self) -> &CaptureInfo {
        CaptureReader::info(self)
    }
    fn take_warnings(&mut self) -> Vec<Warning> {
        CaptureReader::take_warnings(self)
    }
}

/// Everything the stages need to know from the command line.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Server ports whose connections are MQTT.
    pub ports: Vec<u16>,
    pub tcp: TcpConfig,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            ports: vec![1883, 8883],
            tcp: TcpConfig::default(),
        }
    }
}

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
        let mut tcp = Reassembler::new(tcp_cfg);
        let mut net = NetCounters::default();
        let mut layer = Connections::new(&self.opts, sink);
        while let Some(frame) = source.next_frame() {
            let decoded = netdecode::decode(&frame);
            net.count(&decoded);
            if let Decoded::Tcp(seg) = decoded {
                tcp.segment(&seg, &mut layer);
            }
            for w in source.take_warnings() {
                layer.warning(&w);
            }
            for w in tcp.take_warnings() {
                layer.warning(&w);
            }
            layer.check()?;
        }
        for w in source.take_warnings() {
            layer.warning(&w);
        }
        tcp.finish(&mut layer);
        for w in tcp.take_warnings() {
            layer.warning(&w);
        }
        layer.check()?;
        let Connections { builder, sink, .. } = layer;
        let summary = builder.finish(source.info(), &net, tcp.counters());
        sink.finish(&summary)?;
        Ok(summary)
    }
}

/// Per reported connection.
struct ConnCtx {}

/// The reassembler's consumer: picks the connections to report and emits their events.
struct Connections<'s> {
    ports: Vec<u16>,
    conns: HashMap<ConnId, ConnCtx>,
    builder: SummaryBuilder,
    sink: &'s mut dyn Sink,
    /// The first output error (e.g. a closed pipe); the run stops at the next frame.
    io_error: Option<io::Error>,
}

impl<'s> Connections<'s> {
    fn new(opts: &PipelineOptions, sink: &'s mut dyn Sink) -> Self {
        Connections {
            ports: opts.ports.clone(),
            conns: HashMap::new(),
            builder: SummaryBuilder::default(),
            sink,
            io_error: None,
        }
    }

    fn emit(&mut self, ev: Event<'_>) {
        self.builder.event(&ev);
        if self.io_error.is_none()
            && let Err(e) = self.sink.event(&ev)
        {
            self.io_error = Some(e);
        }
    }

    fn warning(&mut self, w: &Warning) {
        self.emit(Event::Warning(w));
    }

    fn check(&mut self) -> io::Result<()> {
        match self.io_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl StreamSink for Connections<'_> {
    fn on_event(&mut self, ev: StreamEvent<'_>) -> Interest {
        match ev {
            StreamEvent::Open {
                conn,
                client,
                server,
                frame,
                ts,
                ..
            } => {
                if !self.ports.contains(&server.port) {
                    return Interest::Ignore;
                }
                self.conns.insert(conn, ConnCtx {});
                self.emit(Event::ConnectionOpen {
                    conn,
                    frame,
                    ts,
                    client,
                    server,
                });
            }
            StreamEvent::Data { .. } | StreamEvent::Gap { .. } => {}
            StreamEvent::End {
                conn,
                frame,
                ts,
                how,
            } => {
                if self.conns.contains_key(&conn) {
                    self.emit(Event::ConnectionClose {
                        conn,
                        frame,
                        ts,
                        how,
                    });
                }
            }
            StreamEvent::Retired { record } => {
                if self.conns.remove(&record.id).is_some() {
                    self.builder.connection(record.clone(), None);
                }
            }
        }
        Interest::Keep
    }
}
