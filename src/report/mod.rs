//! Output: coloured text for people, JSON / JSON lines for scripts, and
//! an HTML page with pictures (`--html`, beside any of them).
//!
//! Every stage's results reach the report as [`Event`]s, in capture order.
//! The [`Summary`] is a fold over those events (built by
//! [`SummaryBuilder`]), so the same stream serves files, stdin and live
//! capture. A [`Sink`] writes events as they come (JSON lines, the per-packet
//! text trace) and the summary at the end.

mod event;
mod files;
pub mod hdr;
pub mod html;
mod json;
mod layers;
mod listing;
mod packet_json;
pub mod prometheus;
mod schema;
mod servers;
mod start;
mod summary;
mod tee;
mod text;

pub use event::{Event, PacketInfo};
pub use files::{FileMap, InFile};
pub use html::HtmlReport;
pub use json::{JsonLines, JsonReport};
pub use layers::{LayerTally, LayersSummary};
pub use listing::{Problems, Unlisted};
pub use packet_json::{MalformedJson, PacketJson, RenderOptions};
pub use schema::{AnalysisJson, FindingJson, FlowJson, LatencyJson, Ts, WarningJson};
pub use servers::{OtherTcp, SilentServer};
pub use start::{RunOptions, RunStart, StartFilters, VERSION};
pub use summary::{
    CaptureSummary, ConnectionSummary, MqttConnSummary, PacketCounts, SCHEMA, Summary,
    SummaryBuilder,
};
pub use tee::Tee;
pub use text::{MIN_WIDTH, PIPE_WIDTH, TEXT_CONNECTIONS, TextOptions, TextReport};

use std::io;

/// Where events and the final summary go.
pub trait Sink {
    /// Before the first event: what the run reads and how (the jsonl
    /// `start` record). Sinks that print nothing of it need not implement it.
    fn begin(&mut self, _start: &RunStart) -> io::Result<()> {
        Ok(())
    }
    /// One event, in capture order.
    fn event(&mut self, ev: &Event<'_>) -> io::Result<()>;
    /// The run is over.
    fn finish(&mut self, summary: &Summary) -> io::Result<()>;
    /// Whether the sink writes anything before the summary (events as
    /// they happen). A sink that does not can be served by a threaded run,
    /// which builds only the summary.
    fn needs_events(&self) -> bool {
        true
    }
    /// Whether the sink draws the run's timelines (the `--html` page). It
    /// folds them from the events itself; a threaded run, which has no
    /// events to give, folds them on its workers and hands them over
    /// with [`timelines`](Self::timelines) before the summary.
    fn wants_timelines(&self) -> bool {
        false
    }
    /// The timelines of the whole run, folded elsewhere (see
    /// [`wants_timelines`](Self::wants_timelines)).
    fn timelines(&mut self, _timelines: html::timeline::Timelines) {}
}
