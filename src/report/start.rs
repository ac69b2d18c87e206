//! The jsonl `start` record: what a script needs to know before the first
//! event — the schema, the tool's version, what is read, and the options
//! that shape the output.

use super::SCHEMA;
use serde::Serialize;

/// What a run announces before any event.
#[derive(Debug, Clone, Serialize)]
pub struct RunStart {
    /// The inputs, as the summary's `capture.sources` names them (file
    /// names as given, `-` for stdin, `live:IFACE`).
    pub sources: Vec<String>,
    pub options: RunOptions,
}

/// The effective options that shape the output (defaults filled in).
/// Options are added here as the tool grows; a script must ignore keys it
/// does not know.
#[derive(Debug, Clone, Serialize)]
pub struct RunOptions {
    /// `analyze` or `live`.
    pub command: String,
    /// `text`, `json` or `jsonl`.
    pub format: String,
    /// Server ports treated as MQTT.
    pub ports: Vec<u16>,
    /// MQTT recognised on other ports by content.
    pub detect: bool,
    /// An ack later than this is `late_ack`.
    pub ack_timeout_ms: f64,
    /// Bytes of each payload shown in previews.
    pub payload_bytes: usize,
    /// Secrets printed instead of `<redacted>`.
    pub show_secrets: bool,
    /// Connections the summary lists; `null`: every one (`--connections all`).
    pub connections: Option<usize>,
    pub max_connections: usize,
    /// Out-of-order bytes buffered per direction before a hole is a gap.
    pub max_buffered: usize,
    pub tcp_idle_timeout_ms: f64,
    /// `--stats-interval`; `null` without.
    pub stats_interval_ms: Option<f64>,
    /// `--html FILE`; `null` without.
    pub html: Option<String>,
    /// `--top N`: clients and topics the latency breakdowns list.
    pub top: usize,
    /// `--tls-keylog FILE` (its name, never its keys); `null` without.
    pub tls_keylog: Option<String>,
    /// `--connection`, `--client`, `--topic`, `--kind`; `null` without any.
    pub filters: Option<StartFilters>,
}

/// The filters of the run, as the summary's `filters` names them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StartFilters {
    pub connections: Vec<crate::base::ConnId>,
    pub clients: Vec<String>,
    pub topics: Vec<String>,
    pub kinds: Vec<&'static str>,
}

/// The record as it is written: `{"type": "start", "schema", "version", "sources", "options"}`.
#[derive(Serialize)]
pub(super) struct StartLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema: &'static str,
    version: &'static str,
    #[serde(flatten)]
    start: &'a RunStart,
}

impl<'a> StartLine<'a> {
    pub(super) fn new(start: &'a RunStart) -> Self {
        StartLine {
            kind: "start",
            schema: SCHEMA,
            version: VERSION,
            start,
        }
    }
}

/// The tool's version (Cargo's), as the `start` record and the HTML page print it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
