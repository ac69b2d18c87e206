//! `--format json` (one object at the end) and `--format jsonl` (one object per event).

use super::packet_json::{MalformedJson, PacketJson, RenderOptions};
use super::schema::{
    Close, ConnectionJson, Dir, Ep, FindingJson, FlowJson, StatsJson, Ts, ViolationJson,
};
use super::{Event, PacketInfo, Sink, Summary};
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
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W, render: RenderOptions) -> Self {
        JsonLines { out, render }
    }

    fn packet(&mut self, p: &PacketInfo<'_>) -> io::Result<()> {
        let render = self.render;
        let violations: Vec<ViolationJson<'_>> = p.violations.iter().map(Into::into).collect();
        self.line(&PacketLine {
            kind: "packet",
            frame: p.frame,
            ts: Ts(p.ts),
            connection: p.conn,
            direction: Dir(p.dir),
            mqtt: PacketJson::new(p.packet, &render),
            violations,
        })
    }

    fn malformed(
        &mut self,
        conn: ConnId,
        dir: Direction,
        frame: u64,
        ts: Timestamp,
        e: &Malformed,
    ) -> io::Result<()> {
        self.line(&PacketLine {
            kind: "packet",
            frame,
            ts: Ts(ts),
            connection: conn,
            direction: Dir(dir),
            mqtt: MalformedJson::new(e),
            violations: Vec::new(),
        })
    }

    fn line(&mut self, v: &impl Serialize) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, v)?;
        self.out.write_all(b"\n")
    }
}

/// A `packet` line: where and when, then the `mqtt` object.
#[derive(Serialize)]
struct PacketLine<'p, M: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    frame: u64,
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
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
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
    fn event(&mut self, ev: &Event<'_>) -> io::Result<()> {
        match ev {
            Event::ConnectionOpen {
                conn,
                frame,
                ts,
                client,
                server,
            } => self.line(&ConnectionLine {
                client: Some(Ep(*client)),
                close: None,
                connection: *conn,
                event: "open",
                frame: *frame,
                record: None,
                server: Some(Ep(*server)),
                ts: Ts(*ts),
                kind: "connection",
            }),
            Event::ConnectionClose {
                conn,
                frame,
                ts,
                how,
                record,
            } => self.line(&ConnectionLine {
                client: None,
                close: Some(Close(*how)),
                connection: *conn,
                event: "close",
                frame: *frame,
                record: Some(ConnectionJson::from(*record)),
                server: None,
                ts: Ts(*ts),
                kind: "connection",
            }),
            Event::Warning(w) => self.line(&WarningLine {
                frame: w.frame,
                message: &w.message,
                kind: "warning",
            }),
            Event::Packet(p) => self.packet(p),
            Event::Flow(f) => self.line(&Tagged {
                kind: "flow",
                inner: FlowJson::from(*f),
            }),
            Event::Finding(f) => self.line(&Tagged {
                kind: "finding",
                inner: FindingJson::from(*f),
            }),
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
