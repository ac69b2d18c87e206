//! `--format json` (one object at the end) and `--format jsonl` (one object per event).

use super::{Event, Sink, Summary};
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
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W, flush_each: bool) -> Self {
        JsonLines { out, flush_each }
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

/// The summary with `"type": "summary"` in front.
#[derive(Serialize)]
struct TaggedSummary<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    summary: &'a Summary,
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
        }
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.line(&TaggedSummary {
            kind: "summary",
            summary,
        })?;
        self.out.flush()
    }
}
