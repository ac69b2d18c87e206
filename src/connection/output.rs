//! Where a run's events go: the summary fold and the chosen sink, fed the
//! same events in capture order.
//!
//! Connections report through [`Emit`], so that the same connection code
//! runs on the thread that reads the capture (into an [`Output`]) and on
//! an analysis worker of `--threads` (into a recorder the run merges).

use crate::analysis::AnalysisEvent;
use crate::base::{ConnId, Warning};
use crate::mqtt::MqttEvent;
use crate::report::{ConnectionSummary, Event, PacketInfo, Sink, SummaryBuilder};
use crate::tcp::ConnRecord;
use std::io;

/// Where a connection's events and final records go.
pub trait Emit {
    /// One event, in capture order.
    fn emit(&mut self, ev: Event<'_>);
    /// A reported connection's final record.
    fn connection(&mut self, summary: ConnectionSummary);
    /// A connection that carried no MQTT, retired.
    fn other_connection(&mut self, record: &ConnRecord);

    fn warnings(&mut self, ws: Vec<Warning>) {
        // Called after every frame, almost always with nothing.
        if ws.is_empty() {
            return;
        }
        for w in ws {
            self.emit(Event::Warning(&w));
        }
    }

    /// What the analysis concluded.
    fn analysis(&mut self, ev: AnalysisEvent<'_>) {
        match ev {
            AnalysisEvent::Flow(f) => self.emit(Event::Flow(f)),
            AnalysisEvent::Finding(f) => self.emit(Event::Finding(f)),
        }
    }

    /// What MQTT decoding of connection `conn` reported (the analysis sees
    /// the same event separately).
    fn mqtt(&mut self, conn: ConnId, ev: &MqttEvent<'_>) {
        match ev {
            MqttEvent::Packet(p) => self.emit(Event::Packet(PacketInfo {
                conn,
                dir: p.dir,
                frame: p.frame,
                ts: p.ts,
                version: p.version,
                packet: p.packet,
                violations: p.violations,
            })),
            MqttEvent::Malformed(m) => self.emit(Event::Malformed {
                conn,
                dir: m.dir,
                frame: m.frame,
                ts: m.ts,
                error: &m.error,
            }),
            MqttEvent::Oversized(o) => {
                let w = Warning::at(
                    o.frame,
                    format!(
                        "connection {conn} {}: {} of {} bytes is larger than the {}-byte buffer; skipped",
                        o.dir.as_str(),
                        o.packet_type.as_str(),
                        o.length,
                        o.limit
                    ),
                );
                self.emit(Event::Warning(&w));
            }
            // A warning, not a finding: a stream that ends inside a
            // packet does not prove a fault — the sender may have stopped
            // mid-packet, the length may have been false (with no evidence
            // against it), or the capture stopped following the connection.
            // Named at the frame where the packet started, so that what
            // swallowed the rest of the stream is found.
            MqttEvent::Truncated(t) => {
                let what = t.packet_type.map_or("packet", |p| p.as_str());
                let declared = match t.length {
                    Some(n) => format!("declaring a remaining length of {n} bytes"),
                    None => "whose fixed header was cut short".to_string(),
                };
                let w = Warning::at(
                    t.start_frame,
                    format!(
                        "connection {conn} {}: the stream ended (frame {}) inside a {what} {declared} that started in frame {}; {} bytes of it were seen",
                        t.dir.as_str(),
                        t.frame,
                        t.start_frame,
                        t.received
                    ),
                );
                self.emit(Event::Warning(&w));
            }
            MqttEvent::Gap(_) | MqttEvent::Resync(_) => {}
        }
    }
}

/// The summary fold and the sink.
pub struct Output<'s> {
    pub builder: SummaryBuilder,
    sink: &'s mut dyn Sink,
    /// The first output error (e.g. a closed pipe); the run stops at the next frame.
    io_error: Option<io::Error>,
}

impl Emit for Output<'_> {
    fn emit(&mut self, ev: Event<'_>) {
        self.builder.event(&ev);
        if self.io_error.is_none()
            && let Err(e) = self.sink.event(&ev)
        {
            self.io_error = Some(e);
        }
    }

    fn connection(&mut self, summary: ConnectionSummary) {
        self.builder.connection(summary);
    }

    fn other_connection(&mut self, record: &ConnRecord) {
        self.builder.other_connection(record);
    }
}

impl<'s> Output<'s> {
    /// The summary lists at most `listed` connections.
    pub fn new(sink: &'s mut dyn Sink, listed: usize) -> Self {
        Output {
            builder: SummaryBuilder::new(listed),
            sink,
            io_error: None,
        }
    }

    /// The first output error since the last check, if any.
    pub fn check(&mut self) -> io::Result<()> {
        match self.io_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The sink, for the end of the run.
    pub fn into_parts(self) -> (SummaryBuilder, &'s mut dyn Sink) {
        (self.builder, self.sink)
    }
}
