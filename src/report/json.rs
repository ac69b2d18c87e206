//! `--format json` (one object at the end) and `--format jsonl` (one object per event).

use super::files::{FileMap, InFile};
use super::packet_json::{MalformedJson, PacketJson, RenderOptions};
use super::schema::{
    Close, ConnectionJson, Dir, Ep, FindingJson, FlowJson, StatsJson, Ts, ViolationJson,
};
use super::start::StartLine;
use super::{Event, PacketInfo, RunStart, Sink, Summary};
use crate::base::{ConnId, Direction, Timestamp};
use crate::mqtt::Malformed;
use serde::Serialize;
use std::io::{self, Write};

/// Writes only the summary, as one pretty-printed object.
pub struct JsonReport<W: Write> {
    out: W,
}

impl<W: Write> JsonReport<W> {
    pub fn new(out: W) -> Self {
        JsonReport { out }
    }
}

impl<W: Write> Sink for JsonReport<W> {
    fn event(&mut self, _ev: &Event<'_>) -> io::Result<()> {
        Ok(())
    }

    fn needs_events(&self) -> bool {
        false
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut self.out, summary)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// Writes one JSON object per line as events happen, then the summary.
/// Give it a line-buffered writer to have each line out as it is known
/// (a pipe from tcpdump, live capture).
pub struct JsonLines<W: Write> {
    out: W,
    render: RenderOptions,
    /// The input files so far (several-file captures), to name each
    /// frame's file.
    files: FileMap,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W, render: RenderOptions) -> Self {
        JsonLines {
            out,
            render,
            files: FileMap::default(),
        }
    }

    fn packet(&mut self, p: &PacketInfo<'_>) -> io::Result<()> {
        let render = self.render;
        let violations: Vec<ViolationJson<'_>> = p.violations.iter().map(Into::into).collect();
        let line = PacketLine {
            kind: "packet",
            frame: p.frame,
            in_file: self.files.locate(p.frame),
            ts: Ts(p.ts),
            connection: p.conn,
            direction: Dir(p.dir),
            mqtt: PacketJson::new(p.packet, &render),
            violations,
        };
        write_line(&mut self.out, &line)
    }

    fn malformed(
        &mut self,
        conn: ConnId,
        dir: Direction,
        frame: u64,
        ts: Timestamp,
        e: &Malformed,
    ) -> io::Result<()> {
        let line = PacketLine {
            kind: "packet",
            frame,
            in_file: self.files.locate(frame),
            ts: Ts(ts),
            connection: conn,
            direction: Dir(dir),
            mqtt: MalformedJson::new(e),
            violations: Vec::new(),
        };
        write_line(&mut self.out, &line)
    }

    fn line(&mut self, v: &impl Serialize) -> io::Result<()> {
        write_line(&mut self.out, v)
    }
}

/// One JSON object and its newline.
fn write_line(out: &mut impl Write, v: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, v)?;
    out.write_all(b"\n")
}

/// A `packet` line: where and when, then the `mqtt` object.
#[derive(Serialize)]
struct PacketLine<'p, M: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    frame: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_file: Option<InFile<'p>>,
    ts: Ts,
    connection: ConnId,
    direction: Dir,
    mqtt: M,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    violations: Vec<ViolationJson<'p>>,
}

/// A `connection` line (its keys in alphabetical order, as the schema
/// has always printed them).
#[derive(Serialize)]
struct ConnectionLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<Ep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    close: Option<Close>,
    connection: ConnId,
    event: &'static str,
    frame: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_file: Option<InFile<'a>>,
    /// `close`: the connection's full record (as a `connections` entry).
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<ConnectionJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<Ep>,
    ts: Ts,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// A `warning` line.
#[derive(Serialize)]
struct WarningLine<'a> {
    frame: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_file: Option<InFile<'a>>,
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// A `file` line: a capture of several files reached the next one.
#[derive(Serialize)]
struct FileLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: usize,
    name: &'a str,
    first_frame: u64,
}

/// An object with `"type": KIND` in front of its own fields.
#[derive(Serialize)]
struct Tagged<T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    inner: T,
}

impl<W: Write> Sink for JsonLines<W> {
    /// The `start` record, the first line.
    fn begin(&mut self, start: &RunStart) -> io::Result<()> {
        self.line(&StartLine::new(start))?;
        self.out.flush()
    }

    fn event(&mut self, ev: &Event<'_>) -> io::Result<()> {
        match ev {
            Event::ConnectionOpen {
                conn,
                frame,
                ts,
                client,
                server,
            } => write_line(
                &mut self.out,
                &ConnectionLine {
                    client: Some(Ep(*client)),
                    close: None,
                    connection: *conn,
                    event: "open",
                    frame: *frame,
                    in_file: self.files.locate(*frame),
                    record: None,
                    server: Some(Ep(*server)),
                    ts: Ts(*ts),
                    kind: "connection",
                },
            ),
            Event::ConnectionClose {
                conn,
                frame,
                ts,
                how,
                record,
            } => write_line(
                &mut self.out,
                &ConnectionLine {
                    client: None,
                    close: Some(Close(*how)),
                    connection: *conn,
                    event: "close",
                    frame: *frame,
                    in_file: self.files.locate(*frame),
                    record: Some(ConnectionJson::from(*record).located(&self.files)),
                    server: None,
                    ts: Ts(*ts),
                    kind: "connection",
                },
            ),
            Event::Warning(w) => write_line(
                &mut self.out,
                &WarningLine {
                    frame: w.frame,
                    in_file: w.frame.and_then(|f| self.files.locate(f)),
                    message: &w.message,
                    kind: "warning",
                },
            ),
            Event::Packet(p) => self.packet(p),
            Event::Flow(f) => write_line(
                &mut self.out,
                &Tagged {
                    kind: "flow",
                    inner: FlowJson::from(*f).located(&self.files),
                },
            ),
            Event::Finding(f) => write_line(
                &mut self.out,
                &Tagged {
                    kind: "finding",
                    inner: FindingJson::from(*f).located(&self.files),
                },
            ),
            Event::Malformed {
                conn,
                dir,
                frame,
                ts,
                error,
            } => self.malformed(*conn, *dir, *frame, *ts, error),
            Event::Stats { to, stats } => self.line(&Tagged {
                kind: "stats",
                inner: StatsJson::new(*to, stats),
            }),
            Event::File {
                index,
                name,
                first_frame,
            } => {
                self.files.push(name, *first_frame);
                self.line(&FileLine {
                    kind: "file",
                    index: *index,
                    name,
                    first_frame: *first_frame,
                })
            }
            Event::Start { .. } => Ok(()),
        }
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.line(&Tagged {
            kind: "summary",
            inner: summary,
        })?;
        self.out.flush()
    }
}
