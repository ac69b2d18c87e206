//! The human report: the summary after the run, laid out for the
//! terminal's width, and the per-packet trace (`--packets`) as it happens.
//!
//! The summary ([`summary`]) fits its width ([`TextOptions::width`], 80
//! columns and up, see [`layout`]); the trace keeps one line per packet or
//! finding, as tshark does, so that it can be searched with grep.

mod layout;
mod spark;
mod summary;
mod wireshark;

pub use layout::MIN_WIDTH;
pub use summary::TEXT_CONNECTIONS;

use super::files::FileMap;
use super::{Event, PacketInfo, Sink, Summary};
use crate::analysis::{Finding, FlowCounts, LatencyKey, Severity};
use crate::base::time::format_utc;
use crate::base::{ConnId, Direction, Timestamp};
use crate::mqtt::{Malformed, PacketType};
use layout::Paint;
use std::io::{self, Write};

/// The summary's width when the output is not a terminal (a pipe, a
/// file) and neither `--width` nor `COLUMNS` says otherwise: wide enough
/// that most lines need no wrapping, narrow enough to read in a pager or
/// a CI log.
pub const PIPE_WIDTH: usize = 100;

/// How the text report looks.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions {
    /// ANSI colours on.
    pub color: bool,
    /// One line per MQTT packet as it is decoded (`--packets`).
    pub packets: bool,
    /// A long run (live capture): findings and `--stats-interval` figures
    /// are printed as they come, not only in the summary.
    pub stream: bool,
    /// Columns the summary is laid out for (at least [`MIN_WIDTH`]).
    pub width: usize,
    /// Connections the summary lists (`--connections N`); `None`: the
    /// [`TEXT_CONNECTIONS`] most troubled.
    pub connections: Option<usize>,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            color: false,
            packets: false,
            stream: false,
            width: PIPE_WIDTH,
            connections: None,
        }
    }
}

/// Writes the summary (and warnings as they happen) for a person.
pub struct TextReport<W: Write> {
    out: W,
    paint: Paint,
    packets: bool,
    stream: bool,
    width: usize,
    connections: Option<usize>,
    /// First frame's time: `--packets` shows times relative to it, like Wireshark.
    start: Option<Timestamp>,
    /// A blank line separates the packet trace from the summary.
    traced: bool,
    /// Several input files: the trace numbers frames as their file does
    /// (a header line names the file); the summary adds the file's name
    /// and number to each frame.
    files: FileMap,
}

impl<W: Write> TextReport<W> {
    pub fn new(out: W, opts: TextOptions) -> Self {
        TextReport {
            out,
            paint: Paint::new(opts.color),
            packets: opts.packets,
            stream: opts.stream,
            width: opts.width.max(MIN_WIDTH),
            connections: opts.connections,
            start: None,
            traced: false,
            files: FileMap::default(),
        }
    }

    /// The trace's frame column: the number Wireshark shows for the file
    /// the frame is in (the capture's number with one file).
    fn frame_label(&self, frame: u64) -> u64 {
        self.files.locate(frame).map_or(frame, |at| at.frame)
    }

    /// A trace header where the next input file begins.
    fn trace_file(&mut self, name: &str, first_frame: u64) -> io::Result<()> {
        self.files.push(name, first_frame);
        // Only sent for several inputs, so the first file has its header too.
        if self.packets {
            let p = self.paint;
            writeln!(
                self.out,
                "{}",
                p.dim(&format!(
                    "── {name} (from capture frame {first_frame}; frames below numbered as in this file) ──"
                ))
            )?;
            self.traced = true;
        }
        Ok(())
    }

    /// One `--stats-interval` line: what happened since the last one.
    fn trace_stats(
        &mut self,
        to: &Timestamp,
        s: &crate::analysis::IntervalStats,
    ) -> io::Result<()> {
        let p = self.paint;
        let flows = s.flows.qos1.completed + s.flows.qos2.completed;
        let open = s.flows.qos1.incomplete + s.flows.qos2.incomplete;
        let findings: u64 = s.findings_by_kind.values().sum();
        let mut line = format!(
            "{} {}: {}, {} completed{}, {}",
            p.bold("stats"),
            format_utc(to, 0),
            plural(s.messages, "message"),
            plural(flows, "flow"),
            if open > 0 {
                format!(" ({open} incomplete)")
            } else {
                String::new()
            },
            plural(findings, "finding"),
        );
        if let Some(l) = s.latency.get(LatencyKey::Puback).and_then(|l| l.summary()) {
            line.push_str(&format!(
                ", PUBACK p50 {} ms p99 {} ms",
                ms(l.p50_ms),
                ms(l.p99_ms)
            ));
        }
        writeln!(self.out, "{line}")?;
        self.traced = true;
        Ok(())
    }

    fn rel(&self, ts: &Timestamp) -> String {
        let secs = self.start.map_or(0.0, |s| ts.millis_since(&s) / 1000.0);
        format!("{secs:>10.6}")
    }

    fn trace_packet(&mut self, p: &PacketInfo<'_>) -> io::Result<()> {
        let paint = self.paint;
        let kind = p.packet.packet_type();
        let text = p.packet.summary();
        let (name, rest) = text.split_at(kind.as_str().len().min(text.len()));
        let name = match kind {
            PacketType::Publish => paint.bold(&paint.green(name)),
            PacketType::Connect
            | PacketType::Connack
            | PacketType::Disconnect
            | PacketType::Auth => paint.cyan(name),
            PacketType::Pingreq | PacketType::Pingresp => paint.dim(name),
            _ => name.to_string(),
        };
        writeln!(
            self.out,
            "{:>7} {} {:>4} {} {name}{rest}",
            self.frame_label(p.frame),
            paint.dim(&self.rel(&p.ts)),
            format!("#{}", p.conn),
            arrow(p.dir),
        )?;
        for v in p.violations {
            writeln!(self.out, "{:>24} {} {v}", "", paint.red("!"))?;
        }
        self.traced = true;
        Ok(())
    }

    /// A finding in the packet trace, where the capture proved it.
    fn trace_finding(&mut self, f: &Finding) -> io::Result<()> {
        let paint = self.paint;
        let mark = match f.severity {
            Severity::Error => paint.red(&format!("✗ {}", f.kind)),
            Severity::Warning => paint.yellow(&format!("! {}", f.kind)),
            Severity::Info => paint.dim(&format!("· {}", f.kind)),
        };
        // The finding's own frame and connection: it may be about another
        // connection than the packet above it (a capture that ended, a
        // session resumed elsewhere).
        let frame = f.frames.last().copied().unwrap_or_default();
        let label = self.frame_label(frame);
        writeln!(
            self.out,
            "{label:>7} {} {:>4} {} {mark}: {}{}",
            paint.dim(&self.rel(&f.ts)),
            format!("#{}", f.connection),
            arrow(f.direction),
            f.message,
            paint.dim(&self.files.suffix(&f.frames)),
        )?;
        self.traced = true;
        Ok(())
    }

    fn trace_malformed(
        &mut self,
        conn: ConnId,
        dir: Direction,
        frame: u64,
        ts: &Timestamp,
        e: &Malformed,
    ) -> io::Result<()> {
        let paint = self.paint;
        let kind = e.packet_type.map_or("?", |t| t.as_str());
        writeln!(
            self.out,
            "{:>7} {} {:>4} {} {} {}",
            self.frame_label(frame),
            paint.dim(&self.rel(ts)),
            format!("#{conn}"),
            arrow(dir),
            paint.red(&format!("{kind} malformed:")),
            e
        )?;
        self.traced = true;
        Ok(())
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// A latency in milliseconds with about three significant digits.
fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// A latency key in words.
fn latency_label(k: LatencyKey) -> &'static str {
    match k {
        LatencyKey::TcpHandshake => "TCP handshake (SYN→ACK)",
        LatencyKey::Connack => "CONNECT → CONNACK",
        LatencyKey::Suback => "SUBSCRIBE → SUBACK",
        LatencyKey::Unsuback => "UNSUBSCRIBE → UNSUBACK",
        LatencyKey::Pingresp => "PINGREQ → PINGRESP",
        LatencyKey::Puback => "QoS 1 PUBLISH → PUBACK",
        LatencyKey::Pubrec => "QoS 2 PUBLISH → PUBREC",
        LatencyKey::Pubrel => "QoS 2 PUBREC → PUBREL",
        LatencyKey::Pubcomp => "QoS 2 PUBREL → PUBCOMP",
        LatencyKey::Qos2Total => "QoS 2 PUBLISH → PUBCOMP",
    }
}

/// What happened to the incomplete (and unusual completed) flows.
fn flow_notes(c: &FlowCounts) -> String {
    let mut notes = Vec::new();
    for (n, what) in [
        (c.missing, "never acknowledged"),
        (c.cut_off, "still waiting when the capture ended"),
        (c.unverifiable, "ack may be in bytes the capture lost"),
        (c.wrong_ack, "wrong ack type"),
        (c.superseded, "replaced by a new PUBLISH with the same id"),
        (c.with_error, "rejected with a reason code"),
        (c.redelivered, "completed after a reconnect"),
    ] {
        if n > 0 {
            notes.push(format!("{n} {what}"));
        }
    }
    notes.join(", ")
}

/// `c→s` client to server, `c←s` server to client.
fn arrow(dir: Direction) -> &'static str {
    match dir {
        Direction::ClientToServer => "c→s",
        Direction::ServerToClient => "c←s",
    }
}

/// `1.2 KB`, `3.4 MB` — decimal units like tshark's capinfos.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `850 µs`, `12.3 ms`, `4.02 s`, `3 min 20 s`, `5 h 02 min`, `12 d 3 h`,
/// `3.9 years`; a negative span (files out of time order) says so.
pub fn human_duration_ms(ms: f64) -> String {
    if ms.is_nan() {
        return "?".into();
    }
    if ms < 0.0 {
        return format!("-{} (timestamps go backwards)", human_duration_ms(-ms));
    }
    const MIN: f64 = 60_000.0;
    const HOUR: f64 = 60.0 * MIN;
    const DAY: f64 = 24.0 * HOUR;
    if ms < 1.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else if ms < 2.0 * MIN {
        format!("{:.2} s", ms / 1000.0)
    } else if ms < HOUR {
        let s = (ms / 1000.0).round() as u64;
        format!("{} min {} s", s / 60, s % 60)
    } else if ms < DAY {
        let m = (ms / MIN).round() as u64;
        format!("{} h {:02} min", m / 60, m % 60)
    } else if ms < 365.0 * DAY {
        let h = (ms / HOUR).round() as u64;
        format!("{} d {} h", h / 24, h % 24)
    } else {
        format!("{:.1} years", ms / (365.25 * DAY))
    }
}

impl<W: Write> Sink for TextReport<W> {
    fn event(&mut self, ev: &Event<'_>) -> io::Result<()> {
        match ev {
            Event::Start { ts } => {
                self.start = Some(*ts);
                Ok(())
            }
            Event::File {
                name, first_frame, ..
            } => self.trace_file(name, *first_frame),
            Event::Packet(p) if self.packets => self.trace_packet(p),
            Event::Finding(f) if self.packets || self.stream => self.trace_finding(f),
            Event::Stats { to, stats } => self.trace_stats(to, stats),
            Event::Malformed {
                conn,
                dir,
                frame,
                ts,
                error,
            } if self.packets => self.trace_malformed(*conn, *dir, *frame, ts, error),
            _ => Ok(()),
        }
    }

    fn needs_events(&self) -> bool {
        self.packets || self.stream
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        if self.traced {
            writeln!(self.out)?;
        }
        let lines = summary::render(
            summary,
            summary::PageOptions {
                width: self.width,
                paint: self.paint,
                connections: self.connections,
            },
        );
        for line in lines {
            writeln!(self.out, "{line}")?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(20_367), "20.4 KB");
        assert_eq!(human_duration_ms(0.05), "50 µs");
        assert_eq!(human_duration_ms(12.34), "12.3 ms");
        assert_eq!(human_duration_ms(7012.0), "7.01 s");
        assert_eq!(human_duration_ms(200_000.0), "3 min 20 s");
    }
}
