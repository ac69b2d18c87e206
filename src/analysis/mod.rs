//! Meaning: sessions, QoS flows, findings and latency statistics — "did
//! every message get through, and how fast?"
//!
//! The entry point is [`Tracker`]; its module docs show how the pipeline
//! drives it (which `MqttEvent` goes where). Inside, each file has one job:
//!
//! | file | job |
//! |---|---|
//! | `qos.rs` | the QoS 1 / 2 acknowledgement protocol as a pure function `(stage, message) -> transition` |
//! | `flow.rs` | an in-flight flow and the [`FlowRecord`] reported when it concludes |
//! | `session.rs` | what is known about one connection (version, client id, keep alive, session flags, Receive Maximum, open flows, pending requests) |
//! | `store.rs` | sessions that outlive their connection, for a reconnect's redelivery |
//! | `subscriptions.rs` | topic filter matching and the subscriptions of a session (granted QoS) |
//! | `control.rs` | per-packet checks and the non-PUBLISH packets |
//! | `publish.rs` | PUBLISH and its acks |
//! | `lifecycle.rs` | connection end, live timeouts, end of capture |
//! | `latency.rs`, `topk.rs` | latency statistics, per-topic / per-client breakdowns in bounded memory |
//! | `finding.rs`, `rules.rs` | findings and the spec statements they cite |
//! | `summary.rs` | the summary folded from the events |
//!
//! ## What is proven and what is not
//!
//! A finding of severity `error` means the capture proves the fault.
//! Whatever the capture cannot see is counted instead of reported:
//!
//! - a connection picked up mid-stream: acks whose PUBLISH / SUBSCRIBE came
//!   before the first captured frame, and packets before an uncaptured
//!   CONNECT / CONNACK, are expected (`analysis.acks_without_publish`);
//! - bytes lost in a direction (TCP gap, malformed packet, resync, a packet
//!   too large to buffer): acks that match nothing there are not
//!   `unexpected_ack`, and a flow whose ack may have been in the lost bytes
//!   ends as `unverifiable`, not `missing_ack`;
//! - the end of the capture: a flow of a connection still open that has
//!   waited less than the ack timeout is `cut_off`; one that waited longer
//!   is `missing_ack`;
//! - a resumed session (CONNACK session present = 1) may carry flows and
//!   subscriptions of connections the capture did not see.
//!
//! ## Sessions across reconnects
//!
//! With clean session 0 (3.x) or a Session Expiry Interval above 0 (5.0;
//! from CONNECT, overridden by CONNACK, overridden by the client's
//! DISCONNECT), the open flows of a connection that closes (FIN or RST)
//! are kept under its client identifier, with its subscriptions. The next
//! connection with that client identifier and CONNACK session present = 1
//! continues them: a re-sent PUBLISH (DUP=1, same identifier, either
//! direction), a re-sent PUBREL, or an ack completes the flow as
//! `redelivered`, with frames spanning both connections. Session present
//! = 0, a clean start, or the end of the capture make them `missing_ack`.
//! Sessions are keyed by client identifier alone (a broker cluster behind
//! several addresses shares sessions). With clean session 1 a closing
//! connection's open flows are lost at once: `missing_ack`.
//!
//! ## Latency
//!
//! Samples are integer nanoseconds from the capture's timestamps; min, max
//! and mean are exact, percentiles come from HDR histograms of nanoseconds
//! (3 significant digits overall and per direction, 2 per topic / client,
//! range 1 ns – 1 h, longer values clamped into the last bucket while max
//! stays exact). Stage latencies of a flow are measured from the packet
//! that began the stage on the current connection: after a reconnect,
//! from the re-sent packet (the outage is not an ack latency); after a
//! re-send on the same connection, from the first copy. `qos2_total` is
//! only sampled for QoS 2 flows that ran on one connection.
//!
//! ## Memory
//!
//! Bounded whatever the capture's size: open flows per connection and
//! direction (`max_inflight_per_direction`; beyond it new flows are not
//! followed, reported once as `inflight_limit` and as a warning), 1024
//! pending SUBSCRIBE / UNSUBSCRIBE and 16 PINGREQ per connection, 256
//! subscriptions per session, 32 frames and 512 topic bytes per flow,
//! `max_saved_sessions` saved sessions (the oldest is given up, its flows
//! reported), and a fixed number of topics / clients with their own
//! statistics. A connection's state is dropped when it ends.

pub mod catalogue;
pub mod conn;
mod control;
mod env;
pub mod finding;
pub mod flow;
pub mod latency;
mod lifecycle;
mod publish;
pub mod qos;
pub mod rules;
pub mod select;
pub mod shared;
mod store;
pub mod subscriptions;
pub mod summary;
pub mod topic_cache;
pub mod topk;

#[cfg(test)]
mod tests;

pub use catalogue::{FindingKind, Severity};
pub use conn::{ConnAnalysis, ConnectionMqtt};
pub use finding::Finding;
pub use flow::{FlowLatency, FlowRecord, Outcome};
pub use latency::{LatencyKey, LatencySet, LatencyStats, LatencySummary, Precision};
pub use select::Selection;
pub use shared::{AnalysisConfig, AnalysisEvent, Shared};
pub use summary::{
    AnalysisCounters, AnalysisSummary, ClientLatency, FlowCounts, FlowsByQos, IntervalStats,
    Qos0Counts, TopicLatency,
};
