//! Two sinks fed the same run: the `--format` output on stdout and the
//! `--html` page beside it.

use super::html::timeline::Timelines;
use super::{Event, RunStart, Sink, Summary};
use std::io;

/// Gives the start, every event and the summary to both sinks, the
/// first one first. An error of either ends the run.
pub struct Tee<A: Sink, B: Sink> {
    pub first: A,
    pub second: B,
}

impl<A: Sink, B: Sink> Sink for Tee<A, B> {
    fn begin(&mut self, start: &RunStart) -> io::Result<()> {
        self.first.begin(start)?;
        self.second.begin(start)
    }

    fn event(&mut self, ev: &Event<'_>) -> io::Result<()> {
        self.first.event(ev)?;
        self.second.event(ev)
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        // Both get the summary, whichever fails.
        let a = self.first.finish(summary);
        let b = self.second.finish(summary);
        a.and(b)
    }

    fn needs_events(&self) -> bool {
        self.first.needs_events() || self.second.needs_events()
    }

    fn wants_timelines(&self) -> bool {
        self.first.wants_timelines() || self.second.wants_timelines()
    }

    fn timelines(&mut self, timelines: Timelines) {
        match (self.first.wants_timelines(), self.second.wants_timelines()) {
            (true, true) => {
                self.first.timelines(timelines.clone());
                self.second.timelines(timelines);
            }
            (true, false) => self.first.timelines(timelines),
            _ => self.second.timelines(timelines),
        }
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn begin(&mut self, start: &RunStart) -> io::Result<()> {
        (**self).begin(start)
    }
    fn event(&mut self, ev: &Event<'_>) -> io::Result<()> {
        (**self).event(ev)
    }
    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        (**self).finish(summary)
    }
    fn needs_events(&self) -> bool {
        (**self).needs_events()
    }
    fn wants_timelines(&self) -> bool {
        (**self).wants_timelines()
    }
    fn timelines(&mut self, timelines: Timelines) {
        (**self).timelines(timelines)
    }
}
