//! The human report: a coloured summary after the run (and, later, a per-packet trace).

use super::files::FileMap;
use super::{Event, PacketInfo, Sink, Summary};
use crate::analysis::{Finding, FindingKind, FlowCounts, LatencyKey, LatencySummary, Severity};
use crate::base::time::format_utc;
use crate::base::{ConnId, Direction, Timestamp};
use crate::mqtt::{Malformed, PacketType};
use crate::tcp::CloseKind;
use owo_colors::OwoColorize;
use std::io::{self, Write};

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
}

/// Conditional colouring: every painted piece goes through here so `--color never`
/// and `NO_COLOR` give plain text with the same layout.
#[derive(Debug, Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn bold(&self, s: &str) -> String {
        if self.0 {
            s.bold().to_string()
        } else {
            s.to_string()
        }
    }
    fn dim(&self, s: &str) -> String {
        if self.0 {
            s.dimmed().to_string()
        } else {
            s.to_string()
        }
    }
    fn red(&self, s: &str) -> String {
        if self.0 {
            s.red().to_string()
        } else {
            s.to_string()
        }
    }
    fn yellow(&self, s: &str) -> String {
        if self.0 {
            s.yellow().to_string()
        } else {
            s.to_string()
        }
    }
    fn green(&self, s: &str) -> String {
        if self.0 {
            s.green().to_string()
        } else {
            s.to_string()
        }
    }
    fn cyan(&self, s: &str) -> String {
        if self.0 {
            s.cyan().to_string()
        } else {
            s.to_string()
        }
    }
}

/// Writes the summary (and warnings as they happen) for a person.
pub struct TextReport<W: Write> {
    out: W,
    paint: Paint,
    packets: bool,
    stream: bool,
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
            paint: Paint(opts.color),
            packets: opts.packets,
            stream: opts.stream,
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

/// Findings shown per kind in the text summary.
const EXAMPLES: usize = 3;

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

/// Whether the run found no MQTT at all.
fn no_mqtt(s: &Summary) -> bool {
    s.packets.total == 0
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

fn span(first: &Option<Timestamp>, last: &Option<Timestamp>) -> Option<f64> {
    Some(last.as_ref()?.millis_since(first.as_ref()?))
}

impl<W: Write> TextReport<W> {
    fn capture(&mut self, s: &Summary) -> io::Result<()> {
        let p = self.paint;
        let c = &s.capture;
        writeln!(self.out, "{} {}", p.bold("capture"), c.sources.join(", "))?;
        let mut line = format!("  {}, {}", plural(c.frames, "frame"), human_bytes(c.bytes));
        if let (Some(first), Some(dur)) = (&c.first_ts, span(&c.first_ts, &c.last_ts)) {
            line.push_str(&format!(
                ", from {} UTC, {}",
                format_utc(first, 3),
                human_duration_ms(dur)
            ));
        }
        if !c.link_types.is_empty() {
            line.push_str(&format!(", link {}", c.link_types.join("+")));
        }
        writeln!(self.out, "{line}")?;
        if c.sources.len() > 1 {
            for f in &c.files {
                let frames = match f.frames {
                    0 => "no frames".to_string(),
                    1 => format!("frame {}", f.first_frame),
                    n => format!("frames {}–{}", f.first_frame, f.first_frame + n - 1),
                };
                let damaged = if f.truncated { ", truncated" } else { "" };
                writeln!(self.out, "  {}: {frames}{damaged}", f.name)?;
            }
        }
        let mut notes = Vec::new();
        if c.non_tcp_frames > 0 {
            notes.push(format!("{} non-TCP frames", c.non_tcp_frames));
        }
        if c.ip_fragments > 0 {
            notes.push(format!("{} IP fragments", c.ip_fragments));
        }
        if c.undecodable_frames > 0 {
            notes.push(p.yellow(&format!("{} undecodable frames", c.undecodable_frames)));
        }
        if c.truncated {
            notes.push(p.yellow("capture file truncated"));
        }
        if !notes.is_empty() {
            writeln!(self.out, "  {}", notes.join(", "))?;
        }
        Ok(())
    }

    /// What matters before any table: no MQTT at all, brokers that never answered.
    fn headlines(&mut self, s: &Summary) -> io::Result<()> {
        let p = self.paint;
        if no_mqtt(s) {
            let o = &s.other_tcp;
            let mut ports: Vec<String> = o
                .by_port
                .iter()
                .take(6)
                .map(|(port, n)| format!("{port} ×{n}"))
                .collect();
            if o.by_port.len() > 6 || o.other_ports > 0 {
                ports.push("…".into());
            }
            let on = if ports.is_empty() {
                String::new()
            } else {
                format!(" (server ports {})", ports.join(", "))
            };
            let hint = match o.by_port.first() {
                Some((port, _)) => {
                    format!("; if MQTT runs on another port, name it: --port {port}")
                }
                None => String::new(),
            };
            writeln!(
                self.out,
                "\n{}",
                p.yellow(&format!(
                    "no MQTT found in {}{on}{hint}",
                    plural(o.connections, "TCP connection")
                ))
            )?;
        }
        for silent in &s.silent_servers {
            writeln!(
                self.out,
                "\n{}",
                p.red(&format!(
                    "broker {} never sent a byte on any of its {} (its clients sent {})",
                    silent.server,
                    plural(silent.connections, "connection"),
                    human_bytes(silent.client_bytes)
                ))
            )?;
        }
        Ok(())
    }

    fn connections(&mut self, s: &Summary) -> io::Result<()> {
        let files = FileMap::of(s.capture.sources.len(), &s.capture.files);
        let p = self.paint;
        writeln!(self.out)?;
        writeln!(
            self.out,
            "{} {}",
            p.bold("connections"),
            p.dim(&format!(
                "({} MQTT/TCP of {} TCP seen)",
                s.connections.len() as u64 + s.connections_unlisted.count,
                s.tcp.connections
            ))
        )?;
        if s.connections.is_empty() {
            writeln!(self.out, "  none on the MQTT ports (try --port)")?;
            return Ok(());
        }
        let header = format!(
            "  {:>4}  {:<44} {:>11} {:>10} {:>9}  {:<5} {:>10} {:>10} {:>7} {:>5} {:>6}",
            "id",
            "client → server",
            "frames",
            "duration",
            "tcp rtt",
            "close",
            "c→s",
            "s→c",
            "retrans",
            "ooo",
            "gap"
        );
        writeln!(self.out, "{}", p.dim(&header))?;
        for c in &s.connections {
            let t = &c.tcp;
            let pair = format!("{} → {}", t.client, t.server);
            let frames = format!("{}–{}", t.first_frame, t.last_frame);
            let dur = human_duration_ms(t.last_ts.millis_since(&t.first_ts));
            let rtt = match t.handshake.and_then(|h| h.rtt_ns).map(|ns| ns as f64 / 1e6) {
                Some(ms) => human_duration_ms(ms),
                None if t.handshake.is_none() => "mid-stream".to_string(),
                None => "-".to_string(),
            };
            let close = match t.close {
                CloseKind::Fin => p.green("fin  "),
                CloseKind::Rst => p.red("rst  "),
                CloseKind::Open => p.yellow("open "),
            };
            let retrans = t.client_to_server.retransmissions + t.server_to_client.retransmissions;
            let ooo = t.client_to_server.out_of_order + t.server_to_client.out_of_order;
            let gap = t.client_to_server.gap_bytes + t.server_to_client.gap_bytes;
            let gap_s = if gap > 0 {
                p.red(&format!("{gap:>6}"))
            } else {
                format!("{gap:>6}")
            };
            writeln!(
                self.out,
                "  {:>4}  {:<44} {:>11} {:>10} {:>9}  {} {:>10} {:>10} {:>7} {:>5} {}",
                t.id,
                pair,
                frames,
                dur,
                rtt,
                close,
                human_bytes(t.client_to_server.bytes),
                human_bytes(t.server_to_client.bytes),
                retrans,
                ooo,
                gap_s
            )?;
            if files.several() {
                let span = files.describe_span(t.first_frame, t.last_frame);
                writeln!(self.out, "        {}", p.dim(&span))?;
            }
            if let Some(line) = super::layers::text_line(&c.layers) {
                writeln!(self.out, "        {}", p.dim(&line))?;
            } else if c.encrypted {
                writeln!(self.out, "        {}", p.dim("TLS: encrypted, not decoded"))?;
            }
            if let Some(m) = &c.mqtt {
                let version = match (m.version, m.version_inferred) {
                    (Some(v), false) => format!("MQTT {v}"),
                    (Some(v), true) => format!("MQTT {v} (inferred)"),
                    (None, _) => "MQTT (version unknown: no CONNECT)".to_string(),
                };
                let mut bits = vec![version];
                if let Some(id) = &m.client_id {
                    bits.push(format!("client id {}", p.cyan(&format!("{id:?}"))));
                }
                if let Some(k) = m.keepalive_s {
                    bits.push(format!("keepalive {k} s"));
                }
                let total: u64 = m.packets.values().sum();
                bits.push(format!("{total} packets"));
                writeln!(self.out, "        {}", bits.join(", "))?;
            }
        }
        let l = &s.layers;
        if l.undecoded() > 0 {
            let why: Vec<String> = l
                .tls_undecoded
                .iter()
                .map(|(k, n)| format!("{n} {}", k.describe()))
                .collect();
            let line = format!(
                "encrypted: {} of {} TLS connections not decoded ({})",
                l.undecoded(),
                l.tls,
                why.join("; ")
            );
            writeln!(self.out, "  {}", p.yellow(&line))?;
        }
        let u = &s.connections_unlisted;
        if u.count > 0 {
            writeln!(
                self.out,
                "  {}",
                p.dim(&format!(
                    "… and {} more not listed ({} with errors, {} with warnings); --connections all lists every one",
                    u.count, u.with_errors, u.with_warnings
                ))
            )?;
        }
        Ok(())
    }

    fn flows(&mut self, s: &Summary) -> io::Result<()> {
        let p = self.paint;
        let a = &s.analysis;
        let total = |c: &FlowCounts| c.completed + c.incomplete;
        let any = [&a.flows.qos1, &a.flows.qos2].iter().any(|c| total(c) > 0);
        writeln!(self.out)?;
        if !any && a.qos0_messages.total == 0 {
            writeln!(self.out, "{} none (no PUBLISH seen)", p.bold("messages"))?;
            return Ok(());
        }
        writeln!(
            self.out,
            "{} {}",
            p.bold("messages"),
            p.dim("(QoS 1/2 flows: PUBLISH → its acknowledgements)")
        )?;
        let header = format!(
            "  {:<26} {:>10} {:>11}  {}",
            "", "completed", "incomplete", "notes"
        );
        writeln!(self.out, "{}", p.dim(&header))?;
        for (qos, by_dir) in [
            (
                1,
                [
                    &a.flows_by_direction.client_to_server.qos1,
                    &a.flows_by_direction.server_to_client.qos1,
                ],
            ),
            (
                2,
                [
                    &a.flows_by_direction.client_to_server.qos2,
                    &a.flows_by_direction.server_to_client.qos2,
                ],
            ),
        ] {
            for (label, c) in ["client → broker", "broker → client"].iter().zip(by_dir) {
                if total(c) == 0 {
                    continue;
                }
                let incomplete = if c.incomplete > 0 {
                    p.red(&format!("{:>11}", c.incomplete))
                } else {
                    format!("{:>11}", c.incomplete)
                };
                let line = format!(
                    "  QoS {qos} {:<20} {:>10} {incomplete}  {}",
                    label,
                    c.completed,
                    flow_notes(c)
                );
                writeln!(self.out, "{}", line.trim_end())?;
            }
        }
        let q0 = &a.qos0_messages;
        if q0.total > 0 {
            writeln!(
                self.out,
                "  QoS 0: {} client → broker, {} broker → client {}",
                q0.client_to_server,
                q0.server_to_client,
                p.dim("(not acknowledged by design)")
            )?;
        }
        Ok(())
    }

    fn latency(&mut self, s: &Summary) -> io::Result<()> {
        let rows: Vec<(LatencyKey, LatencySummary)> = s.analysis.latency.summaries().collect();
        if rows.is_empty() {
            return Ok(());
        }
        let p = self.paint;
        writeln!(self.out)?;
        writeln!(
            self.out,
            "{} {}",
            p.bold("latency"),
            p.dim("(milliseconds)")
        )?;
        let header = format!(
            "  {:<28} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "", "count", "min", "mean", "p50", "p90", "p99", "max"
        );
        writeln!(self.out, "{}", p.dim(&header))?;
        for (key, l) in rows {
            writeln!(
                self.out,
                "  {:<28} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                latency_label(key),
                l.count,
                ms(l.min_ms),
                ms(l.mean_ms),
                ms(l.p50_ms),
                ms(l.p90_ms),
                ms(l.p99_ms),
                ms(l.max_ms)
            )?;
        }
        Ok(())
    }

    fn findings(&mut self, s: &Summary) -> io::Result<()> {
        let files = FileMap::of(s.capture.sources.len(), &s.capture.files);
        let p = self.paint;
        let a = &s.analysis;
        writeln!(self.out)?;
        let count = |sev| a.findings_by_severity.get(&sev).copied().unwrap_or(0);
        let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
        if a.findings_by_kind.is_empty() && no_mqtt(s) {
            writeln!(
                self.out,
                "{} {}",
                p.bold("findings"),
                p.dim("none: no MQTT was analysed")
            )?;
            return Ok(());
        }
        if a.findings_by_kind.is_empty() {
            let flows = a.flows.qos1.completed + a.flows.qos2.completed;
            writeln!(
                self.out,
                "{} {}",
                p.bold("findings"),
                p.green(&format!(
                    "none — the capture shows no protocol problem ({flows} QoS 1/2 flows completed)"
                ))
            )?;
            return Ok(());
        }
        writeln!(
            self.out,
            "{} {}",
            p.bold("findings"),
            [
                (errors > 0).then(|| p.red(&plural(errors, "error"))),
                (warnings > 0).then(|| p.yellow(&plural(warnings, "warning"))),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
        )?;
        for kind in FindingKind::ALL {
            let Some(&n) = a.findings_by_kind.get(&kind) else {
                continue;
            };
            let (mark, name) = match kind.severity() {
                Severity::Error => (p.red("✗"), p.red(kind.as_str())),
                Severity::Warning => (p.yellow("!"), p.yellow(kind.as_str())),
                Severity::Info => (p.dim("·"), kind.as_str().to_string()),
            };
            writeln!(
                self.out,
                "  {mark} {} ×{n} {}",
                p.bold(&name),
                p.dim(&format!("— {}", kind.describe()))
            )?;
            let examples: Vec<&Finding> = a
                .findings
                .iter()
                .filter(|f| f.kind == kind)
                .take(EXAMPLES)
                .collect();
            for f in &examples {
                let frames = match f.frames.as_slice() {
                    [] => String::from("-"),
                    [one] => format!("frame {one}"),
                    many => format!(
                        "frames {}",
                        many.iter()
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                };
                writeln!(
                    self.out,
                    "      {}{} #{} {} {}",
                    p.dim(&frames),
                    p.dim(&files.suffix(&f.frames)),
                    f.connection,
                    arrow(f.direction),
                    f.message
                )?;
            }
            if n > examples.len() as u64 {
                writeln!(
                    self.out,
                    "      {}",
                    p.dim(&format!(
                        "… and {} more (--format json lists them)",
                        n - examples.len() as u64
                    ))
                )?;
            }
        }
        Ok(())
    }

    fn warnings(&mut self, s: &Summary) -> io::Result<()> {
        let files = FileMap::of(s.capture.sources.len(), &s.capture.files);
        if s.warnings.is_empty() {
            return Ok(());
        }
        let p = self.paint;
        writeln!(self.out)?;
        writeln!(
            self.out,
            "{} ({})",
            p.bold("warnings"),
            s.warnings.len() as u64 + s.warnings_dropped
        )?;
        for w in s.warnings.iter().take(20) {
            let at = w
                .frame
                .map(|f| format!("frame {f}{}: ", files.suffix(&[f])))
                .unwrap_or_default();
            writeln!(self.out, "  {} {at}{}", p.yellow("!"), w.message)?;
        }
        let more = (s.warnings.len() as u64 + s.warnings_dropped).saturating_sub(20);
        if more > 0 {
            writeln!(self.out, "  … and {more} more (see --format json)")?;
        }
        Ok(())
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
        self.capture(summary)?;
        self.headlines(summary)?;
        self.connections(summary)?;
        self.flows(summary)?;
        self.latency(summary)?;
        self.findings(summary)?;
        self.warnings(summary)?;
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
