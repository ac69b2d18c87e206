//! Command-line options (clap derive). Only parsing lives here; `main.rs`
//! turns the options into a [`crate::pipeline::Pipeline`].

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::time::Duration;

/// What really happened on the wire between MQTT clients and brokers.
#[derive(Debug, Parser)]
#[command(
    name = "mqtt-inspect",
    version,
    about = "MQTT packet analyzer: TCP reassembly, MQTT 3.1/3.1.1/5.0 decoding, QoS flow checks and latency",
    after_help = "Examples:\n  mqtt-inspect analyze capture.pcapng\n  mqtt-inspect analyze --packets --port 1883,1884 a.pcap b.pcap.gz\n  tcpdump -i any -w - port 1883 | mqtt-inspect analyze --format jsonl -\n  mqtt-inspect analyze --format json --fail-on error ci-run.pcap"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze saved captures (pcap, pcapng, gzip'd or not; `-` reads stdin).
    Analyze(AnalyzeArgs),
    /// Capture live from an interface (cargo feature `live`, libpcap).
    Live(LiveArgs),
    /// List the interfaces live capture can use (cargo feature `live`).
    Interfaces,
    /// Merge `--format json` summaries of separate runs into one (`-` reads
    /// stdin: concatenated summaries, or whole jsonl outputs, whose summary
    /// lines are taken): counts add up, percentiles come from the merged
    /// histograms. Exact when every connection (and every client's
    /// session) lies whole in one part.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Summaries to merge, in order (`-` = stdin); listed records keep the
    /// `part` they came from, counted from 0 in this order.
    #[arg(required = true, value_name = "SUMMARY")]
    pub summaries: Vec<String>,
    /// Connections listed one by one (the most troubled first); the rest
    /// are counted in `connections_unlisted`.
    #[arg(long, default_value_t = crate::pipeline::DEFAULT_LISTED, value_name = "N")]
    pub connections: usize,
    /// Findings listed; the rest are counted in `findings_dropped`.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_findings: usize,
    /// Clients and topics in the latency breakdowns.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Capture files, read one after another as one capture (`-` = stdin).
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<String>,
    /// Analysis threads beside the one that reads the capture (`auto`: one
    /// per core, at most 8; `1`: everything on one thread). Used for the
    /// summary formats (json, the text summary); the output is the same
    /// as with one thread.
    #[arg(long, default_value = "auto", value_name = "N|auto", value_parser = threads)]
    pub threads: usize,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `--threads`: a count of at least 1, or `auto` (one per core, at most 8).
fn threads(s: &str) -> Result<usize, String> {
    if s == "auto" {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        return Ok(cores.clamp(1, 8));
    }
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n.min(256)),
        Err(_) => Err(format!("{s:?} is not a number or `auto`")),
    }
}

#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Interface to capture on (see `mqtt-inspect interfaces`).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: String,
    /// Kernel (BPF) capture filter, replacing the default built from --port
    /// (`tcp port 1883 or tcp port 8883`). The default passes only those
    /// ports, so MQTT that content detection would find on other ports is
    /// not seen: give e.g. `--filter tcp` to look at all TCP.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Bytes captured of each packet.
    #[arg(long, default_value_t = 262_144, value_name = "BYTES")]
    pub snaplen: u32,
    /// Put the interface in promiscuous mode (see traffic not addressed to this host).
    #[arg(long)]
    pub promisc: bool,
    /// The kernel's capture buffer in bytes: what absorbs a burst while the
    /// analysis is busy or descheduled (raise it when the summary reports
    /// kernel drops; libpcap's own default is 2 MiB).
    #[arg(long, default_value_t = DEFAULT_BUFFER, value_name = "BYTES")]
    pub buffer_size: u32,
    /// Stop after this long (e.g. 30s, 5m, 24h); default: until Ctrl-C or SIGTERM.
    #[arg(long, value_parser = parse_duration, value_name = "DUR")]
    pub duration: Option<Duration>,
    /// Stop after this many frames.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Also save what is captured as pcapng (frame numbers in the report match it).
    #[arg(long, value_name = "FILE.pcapng")]
    pub write: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `live --buffer-size` unless told otherwise: 32 MiB, as this project's
/// own recordings give tcpdump (`-B 32768`).
pub const DEFAULT_BUFFER: u32 = 32 << 20;

/// Options shared by `analyze` and `live`.
#[derive(Debug, Args, Clone)]
pub struct CommonArgs {
    /// TCP ports treated as MQTT (content detection finds MQTT on other ports too).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1883,8883",
        value_name = "P[,P..]"
    )]
    pub port: Vec<u16>,
    /// Only --port: no content-based MQTT detection.
    #[arg(long)]
    pub no_detect: bool,
    /// Decrypt TLS 1.2 / 1.3 with this NSS key log (SSLKEYLOGFILE format:
    /// CLIENT_RANDOM, *_TRAFFIC_SECRET_0 ...). As secret as the traffic
    /// itself; keys are never printed. Re-read when a key is missing, so a
    /// file still being written during live capture works.
    #[arg(long, value_name = "FILE")]
    pub tls_keylog: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the report as one self-contained HTML page (tables,
    /// latency histograms, timelines; works offline), beside --format's
    /// output on stdout. Written when the run ends.
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
    /// Text: one line per MQTT packet before the summary.
    #[arg(long)]
    pub packets: bool,
    /// An ack later than this is `late_ack` (e.g. 10s, 500ms).
    #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DUR")]
    pub ack_timeout: Duration,
    /// Exit 1 when a finding of this severity (or worse) exists.
    #[arg(long, value_enum, default_value_t = FailOn::Never)]
    pub fail_on: FailOn,
    /// Emit the figures of each interval (messages, flows, findings,
    /// latency percentiles of that interval): a jsonl `stats` event, a text line.
    #[arg(long, value_parser = parse_duration, value_name = "DUR")]
    pub stats_interval: Option<Duration>,
    /// Serve Prometheus metrics on ADDR (`127.0.0.1:9464`, `:9464`) at /metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
    /// Exit 1 when the capture itself is not what a gate expects:
    /// `no-mqtt` (not one MQTT packet found), `truncated` (a capture file
    /// cut short or damaged). Comma-separated; combines with --fail-on.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "CONDITION[,..]")]
    pub fail_if: Vec<FailIf>,
    /// Colour in text output (NO_COLOR is honoured by `auto`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print CONNECT passwords and authentication data instead of `<redacted>`.
    #[arg(long)]
    pub show_secrets: bool,
    /// Bytes of each PUBLISH / will payload shown in the preview.
    #[arg(long, default_value_t = 64, value_name = "N", value_parser = preview_size)]
    pub payload_bytes: usize,
    /// Connections the summary lists, the most troubled first (`all`: every
    /// one — memory then grows with the connections seen); the rest are
    /// counted. Every connection's record is in its jsonl `close` event anyway
    /// (as of its close: ACKs after the last FIN still count in the summary).
    #[arg(long = "connections", default_value = "1000", value_name = "N|all", value_parser = count_or_all)]
    pub listed_connections: usize,
    /// Clients and topics the latency breakdowns list one by one (the
    /// busiest; the rest fold into `other`). Summaries meant for `merge`
    /// list more, so that no part hides a key another part lists.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
    /// Most TCP connections tracked at once (memory bound); the least recently active go first.
    #[arg(long, default_value_t = 100_000, value_name = "N", value_parser = at_least_one)]
    pub max_connections: usize,
    /// Out-of-order bytes buffered per connection direction before a hole counts as a gap.
    #[arg(long, default_value_t = 4 << 20, value_name = "BYTES")]
    pub max_buffered: usize,
    /// A TCP connection silent for this long (capture time) is closed for analysis.
    #[arg(long, value_parser = parse_duration, default_value = "1h", value_name = "DUR")]
    pub tcp_idle_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Jsonl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

/// A property of the capture that fails a CI gate (`--fail-if`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailIf {
    /// Not one MQTT packet was found.
    NoMqtt,
    /// A capture file was cut short or damaged.
    Truncated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The largest payload preview (a preview is kept per message being decoded).
const MAX_PREVIEW: usize = 16 << 20;

/// A payload preview size, at most [`MAX_PREVIEW`].
fn preview_size(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n <= MAX_PREVIEW => Ok(n),
        Ok(_) => Err(format!("at most {MAX_PREVIEW} bytes")),
        Err(_) => Err(format!("'{s}' is not a number")),
    }
}

/// A count, or `all` for no limit.
fn count_or_all(s: &str) -> Result<usize, String> {
    match s.trim() {
        "all" => Ok(usize::MAX),
        n => n
            .parse::<usize>()
            .map_err(|_| format!("'{s}' is neither a number nor 'all'")),
    }
}

/// A count that must be at least 1 (a cap of 0 would split every connection).
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a number")),
    }
}

/// Parses `10s`, `500ms`, `1.5s`, `2m`, `1h`, `250us`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (try 10s, 500ms, 2m)"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1e3,
        "us" | "µs" => value / 1e6,
        "ns" => value / 1e9,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "unknown duration unit '{other}' in '{s}' (use ns, us, ms, s, m, h)"
            ));
        }
    };
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("duration '{s}' is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn parses_analyze_options() {
        let cli = Cli::try_parse_from([
            "mqtt-inspect",
            "analyze",
            "--port",
            "1883,1884",
            "--format",
            "json",
            "a.pcap",
            "b.pcap",
        ])
        .unwrap();
        let Command::Analyze(a) = cli.command else {
            panic!("analyze expected")
        };
        assert_eq!(a.captures, vec!["a.pcap", "b.pcap"]);
        assert_eq!(a.common.port, vec![1883, 1884]);
        assert_eq!(a.common.format, Format::Json);
        assert_eq!(a.common.ack_timeout, Duration::from_secs(10));
    }
}
