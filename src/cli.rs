//! Command-line options (clap derive). Only parsing lives here; `main.rs`
//! turns the options into a [`crate::pipeline::Pipeline`].

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Parser, Subcommand, ValueEnum};
use std::time::Duration;

/// What really happened on the wire between MQTT clients and brokers.
#[derive(Debug, Parser)]
#[command(
    name = "mqtt-inspect",
    version = VERSION,
    about = "MQTT packet analyzer: TCP reassembly, MQTT 3.1/3.1.1/5.0 decoding, QoS flow checks and latency",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The optional cargo features this binary was built with.
#[cfg(feature = "live")]
macro_rules! features {
    () => {
        "live"
    };
}
#[cfg(not(feature = "live"))]
macro_rules! features {
    () => {
        "none"
    };
}

/// `--version`: the release, the git revision it was built from and the
/// cargo features built in, so that a report names the exact binary.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("MQTT_INSPECT_REVISION"),
    ", features: ",
    features!(),
    ")"
);

/// The common jobs, shown under `--help` (and in the man page).
pub const EXAMPLES: &str = "\
Examples:
  Triage a capture: problem connections first, what each finding means, Wireshark filters
    mqtt-inspect analyze capture.pcapng
    mqtt-inspect analyze --packets --connection 3 capture.pcapng

  CI gate: exit 1 on any error finding or when no MQTT was seen at all
    mqtt-inspect analyze --fail-on error --fail-if no-mqtt --format json run.pcap > report.json

  Live watch: findings as they happen, the summary on Ctrl-C
    sudo mqtt-inspect live -i eth0 --stats-interval 10s
    tcpdump -i any -U -w - port 1883 | mqtt-inspect analyze -

  Export JSON for jq (-U: tcpdump writes each packet at once, not in 4 KiB blocks)
    mqtt-inspect analyze --format json capture.pcap | jq '.findings[] | {kind, frames}'
    tcpdump -i any -U -w - port 1883 | mqtt-inspect analyze --format jsonl - \\
      | jq -c 'select(.type == \"finding\")'

Shell completions and a man page: `mqtt-inspect completions bash`, `mqtt-inspect man`.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze saved captures (pcap, pcapng, gzip'd or not; `-` reads stdin).
    Analyze(AnalyzeArgs),
    /// Capture live from an interface (cargo feature `live`, libpcap).
    Live(LiveArgs),
    /// List the interfaces live capture can use (cargo feature `live`).
    Interfaces,
    /// Print a shell completion script (e.g. `mqtt-inspect completions bash
    /// > /etc/bash_completion.d/mqtt-inspect`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): `mqtt-inspect man > mqtt-inspect.1`, and
    /// one per command: `mqtt-inspect man analyze > mqtt-inspect-analyze.1`.
    Man {
        #[arg(value_name = "COMMAND", value_parser = ["analyze", "live", "interfaces", "merge", "completions", "man"])]
        command: Option<String>,
    },
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
    /// Colour in text output. `auto`: only on a terminal whose TERM is not
    /// `dumb`, never with NO_COLOR set, always with CLICOLOR_FORCE set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Columns the text summary is laid out for (at least 80). Default: the
    /// COLUMNS variable, else the terminal's width, else 100 (a pipe, a file).
    #[arg(long, value_name = "N", value_parser = report_width)]
    pub width: Option<usize>,
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
    /// Default: 1000 in JSON; the text summary shows the 20 most troubled.
    #[arg(long = "connections", value_name = "N|all", value_parser = count_or_all)]
    pub listed_connections: Option<usize>,
    /// Clients and topics the latency breakdowns list one by one (the
    /// busiest; the rest fold into `other`). Summaries meant for `merge`
    /// list more, so that no part hides a key another part lists.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
    /// Most TCP connections tracked at once (memory bound); the least recently active go first.
    #[arg(long, default_value_t = 100_000, value_name = "N", value_parser = at_least_one)]
    pub max_connections: usize,
    /// Report only TCP connection N (Wireshark's tcp.stream, the JSON
    /// `connection`): its packets, flows, findings and latency. Repeat or
    /// comma-separate for several.
    #[arg(
        long = "connection",
        value_name = "N[,N..]",
        value_delimiter = ',',
        help_heading = "Filters (several combine with AND)"
    )]
    pub connection: Vec<crate::base::ConnId>,
    /// Report only connections whose CONNECT carried this client
    /// identifier (exactly); their packets before the CONNECT, and
    /// connections without one, are left out. Repeat for several.
    #[arg(
        long = "client",
        value_name = "ID",
        help_heading = "Filters (several combine with AND)"
    )]
    pub client: Vec<String>,
    /// Report only PUBLISH messages whose topic matches this MQTT topic
    /// filter (`+` one level, `#` the rest; `$` topics only by name), with
    /// their acks, flows, latency and findings; packets of no topic
    /// (CONNECT, SUBSCRIBE, PINGREQ, ...) are left out. Repeat for several.
    #[arg(long = "topic", value_name = "FILTER", value_parser = crate::analysis::select::topic_filter, help_heading = "Filters (several combine with AND)")]
    pub topic: Vec<String>,
    /// Report only findings of this kind (see the finding kinds in the
    /// README); packets, flows and latency are not narrowed. Repeat or
    /// comma-separate for several.
    #[arg(long = "kind", value_name = "KIND[,KIND..]", value_delimiter = ',', value_parser = crate::analysis::select::finding_kind, help_heading = "Filters (several combine with AND)")]
    pub kind: Vec<crate::analysis::FindingKind>,
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

impl Format {
    /// The name `--format` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
        }
    }
}

/// Options given on the command line that do nothing with the chosen
/// `--format`, each as a sentence saying why: silently dropping
/// `--packets --format json` leaves people waiting for a trace that never
/// comes. `m` is the subcommand's matches (`analyze`, `live`). `--threads`
/// is judged where the run is set up, which knows whether it can be used.
pub fn idle_options(m: &ArgMatches, c: &CommonArgs) -> Vec<String> {
    let given = |id: &str| {
        m.try_get_raw(id).is_ok_and(|v| v.is_some())
            && m.value_source(id) == Some(ValueSource::CommandLine)
    };
    let format = c.format.as_str();
    let mut notes = Vec::new();
    if c.format != Format::Text {
        for (id, flag) in [
            ("packets", "--packets"),
            ("color", "--color"),
            ("width", "--width"),
        ] {
            if given(id) {
                notes.push(format!(
                    "{flag} does nothing with --format {format}: it shapes the text report"
                ));
            }
        }
    }
    if c.format != Format::Jsonl {
        for (id, flag) in [
            ("show_secrets", "--show-secrets"),
            ("payload_bytes", "--payload-bytes"),
        ] {
            if given(id) {
                notes.push(format!(
                    "{flag} does nothing with --format {format}: only jsonl packet lines show payloads and CONNECT secrets"
                ));
            }
        }
    }
    if c.format == Format::Json && given("stats_interval") {
        notes.push(
            "--stats-interval does nothing with --format json: the JSON summary has no intervals (text and jsonl report them)"
                .to_string(),
        );
    }
    notes
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

/// A report width: at least [`crate::report::MIN_WIDTH`] columns.
fn report_width(s: &str) -> Result<usize, String> {
    let min = crate::report::MIN_WIDTH;
    match s.trim().parse::<usize>() {
        Ok(n) if n >= min => Ok(n),
        Ok(_) => Err(format!("at least {min} columns")),
        Err(_) => Err(format!("'{s}' is not a number")),
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
