//! The human report: a coloured summary after the run (and, later, a per-packet trace).

use super::{Event, Sink, Summary};
use crate::tcp::CloseKind;
use crate::time::{Timestamp, format_utc};
use owo_colors::OwoColorize;
use std::io::{self, Write};

/// How the text report looks.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions {
    /// ANSI colours on.
    pub color: bool,
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
}

impl<W: Write> TextReport<W> {
    pub fn new(out: W, opts: TextOptions) -> Self {
        TextReport {
            out,
            paint: Paint(opts.color),
        }
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

/// `850 µs`, `12.3 ms`, `4.02 s`, `3 min 20 s`.
pub fn human_duration_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else if ms < 120_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0).round() as u64;
        format!("{} min {} s", s / 60, s % 60)
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
        let mut line = format!("  {} frames, {}", c.frames, human_bytes(c.bytes));
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

    fn connections(&mut self, s: &Summary) -> io::Result<()> {
        let p = self.paint;
        writeln!(self.out)?;
        writeln!(
            self.out,
            "{} {}",
            p.bold("connections"),
            p.dim(&format!(
                "({} MQTT/TCP of {} TCP seen)",
                s.connections.len(),
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
            let rtt = match t.handshake.and_then(|h| h.rtt_ms) {
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
            if let Some(m) = &c.mqtt {
                let mut bits = vec![format!("MQTT {}", m.version.unwrap_or("?"))];
                if m.version_inferred {
                    bits.push("(inferred)".into());
                }
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
        Ok(())
    }

    fn warnings(&mut self, s: &Summary) -> io::Result<()> {
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
            let at = w.frame.map(|f| format!("frame {f}: ")).unwrap_or_default();
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
    fn event(&mut self, _ev: &Event<'_>) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.capture(summary)?;
        self.connections(summary)?;
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
