//! `--format json` (one object at the end) and `--format jsonl` (one object per event).

use super::{Event, PacketInfo, Sink, Summary};
use crate::base::{ConnId, Direction, Timestamp};
use crate::mqtt::{Malformed, RenderOptions, Violation};
use serde::Serialize;
use serde_json::json;
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
pub struct JsonLines<W: Write> {
    out: W,
    /// Flush after every line (live capture: a reader sees events as they happen).
    flush_each: bool,
    render: RenderOptions,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W, flush_each: bool, render: RenderOptions) -> Self {
        JsonLines {
            out,
            flush_each,
            render,
        }
    }

    fn packet(&mut self, p: &PacketInfo<'_>) -> io::Result<()> {
        let render = self.render;
        self.line(&PacketLine {
            kind: "packet",
            frame: p.frame,
            ts: p.ts,
            connection: p.conn,
            direction: p.dir,
            mqtt: p.packet.json(&render),
            violations: p.violations,
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
            ts,
            connection: conn,
            direction: dir,
            mqtt: e.json(),
            violations: &[],
        })
    }

    fn line(&mut self, v: &impl Serialize) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, v)?;
        self.out.write_all(b"\n")?;
        if self.flush_each {
            self.out.flush()?;
        }
        Ok(())
    }
}

/// A `packet` line: where and when, then the `mqtt` object.
#[derive(Serialize)]
struct PacketLine<'p, M: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    frame: u64,
    ts: Timestamp,
    connection: ConnId,
    direction: Direction,
    mqtt: M,
    #[serde(skip_serializing_if = "<[Violation]>::is_empty")]
    violations: &'p [Violation],
}

/// An object with `"type": KIND` in front of its own fields.
#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    inner: &'a T,
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
            } => self.line(&json!({
                "type": "connection", "connection": conn, "event": "open",
                "frame": frame, "ts": ts, "client": client, "server": server,
            })),
            Event::ConnectionClose {
                conn,
                frame,
                ts,
                how,
            } => self.line(&json!({
                "type": "connection", "connection": conn, "event": "close",
                "frame": frame, "ts": ts, "close": how,
            })),
            Event::Warning(w) => self.line(&json!({
                "type": "warning", "frame": w.frame, "message": w.message,
            })),
            Event::Packet(p) => self.packet(p),
            Event::Flow(f) => self.line(&Tagged {
                kind: "flow",
                inner: *f,
            }),
            Event::Finding(f) => self.line(&Tagged {
                kind: "finding",
                inner: *f,
            }),
            Event::Malformed {
                conn,
                dir,
                frame,
                ts,
                error,
            } => self.malformed(*conn, *dir, *frame, *ts, error),
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
