//! Watching a long run: a status line on a terminal, periodic statistics
//! (`--stats-interval`), and a Prometheus endpoint (`--metrics`). One
//! [`Watch`] is the run's [`Observer`]; each part does nothing until its
//! time comes, so the per-step cost is a few comparisons.

mod metrics;
mod status;

pub use metrics::MetricsEndpoint;
pub use status::StatusLine;

use crate::base::Timestamp;
use crate::pipeline::{Observer, RunState};
use crate::report::Event;
use std::time::Duration;

/// Periodic statistics: a `stats` event every `every` (of the run's clock:
/// capture time for files, the wall clock live).
pub struct Interval {
    every_ns: i128,
    started: Option<Timestamp>,
}

impl Interval {
    pub fn new(every: Duration) -> Self {
        Interval {
            every_ns: i128::try_from(every.as_nanos()).unwrap_or(i128::MAX).max(1),
            started: None,
        }
    }

    fn turn(&mut self, now: Timestamp, run: &mut RunState<'_, '_>) {
        let Some(start) = self.started else {
            // The first interval starts with the run's first step.
            self.started = Some(now);
            let _ = run.analysis().take_interval(now);
            return;
        };
        if now.nanos_since(&start) < self.every_ns {
            return;
        }
        self.started = Some(now);
        let stats = run.analysis().take_interval(now);
        run.emit(Event::Stats {
            to: now,
            stats: &stats,
        });
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
        if let Some(s) = self.status.as_mut() {
            s.clear();
        }
        if let Some(m) = self.metrics.as_mut() {
            m.serve(run);
        }
    }
}
