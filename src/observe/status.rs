//! The one-line status of a long run, rewritten in place on stderr (only
//! when stderr is a terminal; never in a pipe or a log).
//!
//! When stdout is the same terminal (text output live: findings as they
//! happen), a line written there would land after the status text, on
//! the same screen line. [`BesideStatus`] wraps stdout and wipes the
//! status line before anything is written; the status comes back at its
//! next turn.

use crate::pipeline::RunState;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_secs(1);
/// Carriage return, erase the line.
const WIPE: &str = "\r\x1b[2K";

pub struct StatusLine {
    last: Option<Instant>,
    /// The status text is on the screen now (shared with [`BesideStatus`]).
    shown: Arc<AtomicBool>,
}

impl Default for StatusLine {
    fn default() -> Self {
        Self::new()
    }
}

impl StatusLine {
    pub fn new() -> Self {
        StatusLine {
            last: None,
            shown: Arc::new(AtomicBool::new(false)),
        }
    }

    /// `out` (stdout, on the same terminal) made to wipe this status line
    /// before it writes.
    pub fn beside<W: Write>(&self, out: W) -> BesideStatus<W> {
        BesideStatus {
            inner: out,
            shown: Arc::clone(&self.shown),
        }
    }

    pub fn turn(&mut self, run: &mut RunState<'_, '_>) {
        if self.last.is_some_and(|t| t.elapsed() < EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        let frames = run.capture().frames;
        let conns = run.open_connections();
        let flows = run.open_flows();
        let findings: u64 = run.analysis().summary_counts();
        let mut line = format!(
            "frames {frames} · connections {conns} · open flows {flows} · findings {findings}"
        );
        if let Some(d) = run.drops() {
            line.push_str(&format!(
                " · dropped {} (kernel) {} (interface)",
                d.kernel, d.interface
            ));
        }
        let mut err = io::stderr().lock();
        let _ = write!(err, "{WIPE}{line}");
        let _ = err.flush();
        self.shown.store(true, Ordering::Relaxed);
    }

    /// Removes the line before the summary is printed.
    pub fn clear(&mut self) {
        wipe(&self.shown);
    }
}

fn wipe(shown: &AtomicBool) {
    // (not in unit tests: the escape would erase the test runner's line)
    if shown.swap(false, Ordering::Relaxed) && !cfg!(test) {
        let mut err = io::stderr().lock();
        let _ = write!(err, "{WIPE}");
        let _ = err.flush();
    }
}

/// A writer that wipes the status line before it writes (see the module docs).
pub struct BesideStatus<W: Write> {
    inner: W,
    shown: Arc<AtomicBool>,
}

impl<W: Write> Write for BesideStatus<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        wipe(&self.shown);
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_beside_the_status_wipes_it_once() {
        let status = StatusLine::new();
        let mut out = status.beside(Vec::new());
        status.shown.store(true, Ordering::Relaxed);
        out.write_all(b"a finding\n").unwrap();
        assert!(!status.shown.load(Ordering::Relaxed), "still marked shown");
        out.write_all(b"another\n").unwrap();
        assert_eq!(out.inner, b"a finding\nanother\n");
    }
}
