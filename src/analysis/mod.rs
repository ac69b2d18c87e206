//! Meaning: sessions, QoS flows, findings and latency statistics — "did
//! every message get through, and how fast?"
//!
//! The entry point is [`Tracker`] (see its module for how the pipeline
//! drives it). Inside, each file has one job:
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

mod control;
pub mod finding;
pub mod flow;
pub mod latency;
mod lifecycle;
mod publish;
pub mod qos;
pub mod rules;
pub mod session;
mod store;
pub mod subscriptions;
pub mod summary;
pub mod topk;
mod tracker;

#[cfg(test)]
mod tests;

pub use finding::{Finding, FindingKind, Severity};
pub use flow::{FlowLatency, FlowRecord, Outcome};
pub use latency::{LatencyKey, LatencySet, LatencyStats, LatencySummary, Precision};
pub use session::ConnectionMqtt;
pub use summary::{
    AnalysisCounters, AnalysisSummary, ByDirection, ClientLatency, FlowCounts, FlowsByQos,
    Qos0Counts, TopicLatency,
};
pub use tracker::{AnalysisConfig, AnalysisEvent, Tracker};
