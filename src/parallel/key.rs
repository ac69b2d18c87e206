//! Where a record stands in the order a single-threaded run would have
//! produced it.
//!
//! A single-threaded run handles each step of the source (a frame, an idle
//! turn) as: the reassembler's calls on connections, in order; then the
//! source's warnings; then the analysis' warnings (in the order of the
//! calls that raised them); then reassembly's warnings. The thread that
//! reads the capture numbers the steps and the calls within each, so every
//! record an analysis worker produces (a warning, a finding, a connection's
//! final record) carries the place it would have had, and the merge puts
//! records from all threads back in exactly that order.

/// A record's place in the run (ordered field by field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// The source step (a frame or an idle turn); the end of the run has
    /// steps of its own ([`END_SOURCE`], [`END_TCP`], [`END_ANALYSIS`]).
    pub step: u64,
    /// What part of the step produced it (the `*_PHASE` constants).
    pub phase: u8,
    /// The reassembler's call within the step (for calls and the
    /// analysis warnings they raised).
    pub call: u32,
    /// The record's number within its call.
    pub n: u32,
}

/// The step after the last frame: the source's last warnings.
pub const END_SOURCE: u64 = u64::MAX - 2;
/// The reassembler ends the connections still open.
pub const END_TCP: u64 = u64::MAX - 1;
/// The analysis concludes (sessions never resumed).
pub const END_ANALYSIS: u64 = u64::MAX;

/// Calls on connections (and what they report at once).
pub const CALLS: u8 = 0;
/// The source's warnings after a frame.
pub const SOURCE_WARNINGS: u8 = 1;
/// The analysis' warnings, flushed after a step's calls.
pub const ANALYSIS_WARNINGS: u8 = 2;
/// Reassembly's warnings after a frame.
pub const TCP_WARNINGS: u8 = 3;
/// At [`END_TCP`], reassembly's warnings come before the analysis' ones.
pub const TCP_WARNINGS_AT_END: u8 = 1;

impl Key {
    pub fn new(step: u64, phase: u8, call: u32, n: u32) -> Key {
        Key {
            step,
            phase,
            call,
            n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_step_then_phase_then_call_then_record() {
        let calls = Key::new(7, CALLS, 3, 9);
        let warnings = Key::new(7, ANALYSIS_WARNINGS, 0, 0);
        assert!(
            calls < warnings,
            "a step's calls before its analysis warnings"
        );
        assert!(Key::new(7, TCP_WARNINGS, 0, 0) < Key::new(8, CALLS, 0, 0));
        assert!(Key::new(7, CALLS, 2, 5) < Key::new(7, CALLS, 3, 0));
        assert!(
            Key::new(END_TCP, TCP_WARNINGS_AT_END, 0, 0)
                < Key::new(END_TCP, ANALYSIS_WARNINGS, 0, 0)
        );
        assert!(Key::new(u64::MAX - 3, TCP_WARNINGS, 9, 9) < Key::new(END_SOURCE, CALLS, 0, 0));
    }
}
