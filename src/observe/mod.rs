//! Watching a long run: a status line on a terminal, a progress bar while
//! long files are read, periodic statistics (`--stats-interval`), and a
//! Prometheus endpoint (`--metrics`). One
//! [`Watch`] is the run's [`Observer`]; each part does nothing until its
//! time comes, so the per-step cost is a few comparisons.

mod metrics;
mod progress;
mod status;

pub use metrics::MetricsEndpoint;
pub use progress::{LONG_INPUT, Progress};
pub use status::StatusLine;

use crate::base::Timestamp;
use crate::pipeline::{Observer, RunState};
use crate::report::Event;
use std::time::Duration;

/// Periodic statistics: a `stats` event every `every` (of the run's clock:
/// capture time for files, the wall clock live).
///
/// Reports are due on a fixed grid (start + k × `every`), not `every` after
/// the turn that made the last one: turns come when frames or idle
/// timeouts do, so each report is a little late, and counting from the
/// late turn made a 1 s interval average 1.1 s live. Each event still says
/// exactly which span it covers (`from` is the previous `to`). When the run
/// ends, the last, shorter interval is reported too, so the events add up
/// to the whole run.
pub struct Interval {
    every_ns: i128,
    /// Where the current interval began (the previous report).
    started: Option<Timestamp>,
    /// When the next report is due (nanoseconds since the epoch).
    due_ns: i128,
    /// The latest turn's time.
    last: Option<Timestamp>,
}

impl Interval {
    pub fn new(every: Duration) -> Self {
        Interval {
            every_ns: i128::try_from(every.as_nanos()).unwrap_or(i128::MAX).max(1),
            started: None,
            due_ns: 0,
            last: None,
        }
    }

    fn turn(&mut self, now: Timestamp, run: &mut RunState<'_, '_>) {
        if self.last.is_none_or(|l| now > l) {
            self.last = Some(now);
        }
        let Some(start) = self.started else {
            // The first interval starts with the run's first step.
            self.started = Some(now);
            self.due_ns = now.as_nanos().saturating_add(self.every_ns);
            let _ = run.analysis().take_interval(now);
            return;
        };
        let t = now.as_nanos();
        if t < self.due_ns || now <= start {
            return;
        }
        self.due_ns = self.due_ns.saturating_add(self.every_ns);
        if self.due_ns <= t {
            // More than an interval behind (a pause in a capture file, a
            // stalled run): the grid starts again from here.
            self.due_ns = t.saturating_add(self.every_ns);
        }
        self.started = Some(now);
        let stats = run.analysis().take_interval(now);
        run.emit(Event::Stats {
            to: now,
            stats: &stats,
        });
    }

    /// The run is over: the interval since the last report, if it holds anything.
    fn finish(&mut self, run: &mut RunState<'_, '_>) {
        let (Some(start), Some(last)) = (self.started, self.last) else {
            return;
        };
        let to = if last > start { last } else { start };
        let stats = run.analysis().take_interval(to);
        if to > start || stats.messages > 0 || !stats.findings_by_kind.is_empty() {
            run.emit(Event::Stats { to, stats: &stats });
        }
        self.started = Some(to);
    }
}

/// Everything that watches one run.
#[derive(Default)]
pub struct Watch {
    pub status: Option<StatusLine>,
    pub interval: Option<Interval>,
    pub metrics: Option<MetricsEndpoint>,
}

impl Observer for Watch {
    fn is_quiet(&self) -> bool {
        self.status.is_none() && self.interval.is_none() && self.metrics.is_none()
    }

    fn turn(&mut self, now: Timestamp, run: &mut RunState<'_, '_>) {
        if let Some(i) = self.interval.as_mut() {
            i.turn(now, run);
        }
        if let Some(s) = self.status.as_mut() {
            s.turn(run);
        }
        if let Some(m) = self.metrics.as_mut() {
            m.serve(run);
        }
    }

    fn finish(&mut self, run: &mut RunState<'_, '_>) {
        if let Some(i) = self.interval.as_mut() {
            i.finish(run);
        }
        if let Some(s) = self.status.as_mut() {
            s.clear();
        }
        if let Some(m) = self.metrics.as_mut() {
            m.serve(run);
        }
    }
}
