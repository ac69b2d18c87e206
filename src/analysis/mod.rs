//! Meaning: sessions, QoS flows, findings and latency statistics — "did
//! every message get through, and how fast?"

pub mod finding;
pub mod flow;
pub mod latency;
pub mod qos;
pub mod rules;
pub mod subscriptions;
pub mod topk;

pub use finding::{Finding, FindingKind, Severity};
pub use flow::{FlowLatency, FlowRecord, Outcome};
pub use latency::{LatencyKey, LatencySet, LatencyStats, LatencySummary, Precision};
