//! The one-line status of a long run, rewritten in place on stderr (only
//! when stderr is a terminal; never in a pipe or a log).

use crate::pipeline::RunState;
use std::io::Write;
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_secs(1);

pub struct StatusLine {
    last: Option<Instant>,
    shown: bool,
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
            shown: false,
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
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        self.shown = true;
    }

    /// Removes the line before the summary is printed.
    pub fn clear(&mut self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.shown = false;
        }
    }
}
