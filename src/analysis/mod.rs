//! Meaning: sessions, QoS flows, findings and latency statistics.
