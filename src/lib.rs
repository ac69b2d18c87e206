//! mqtt-inspect: what really happened on the wire between MQTT clients and brokers.
//!
//! The crate is a one-way pipeline (see `docs/architecture.md`):
//!
//! ```text
//! capture ──Frame──▶ netdecode ──Segment──▶ tcp ──StreamEvent──▶ mqtt ──Packet──▶ analysis ──Event──▶ report
//! ```
//!
//! Each stage owns its state and hands the next one plain values; nothing
//! downstream reaches back upstream. [`pipeline::Pipeline`] wires the stages
//! together, `main.rs` only turns command-line options into a pipeline.

pub mod analysis;
pub mod base;
pub mod capture;
pub mod cli;
pub mod connection;
pub mod layers;
pub mod live;
pub mod merge;
pub mod mqtt;
pub mod netdecode;
pub mod observe;
pub mod parallel;
pub mod pipeline;
pub mod report;
pub mod tcp;
pub mod term;
