//! `--html FILE`: one self-contained page with the summary and its
//! pictures (latency histograms, a timeline of the capture and of each
//! troubled connection), written when the run ends.
//!
//! The sink keeps no packet: it folds the events into bounded timelines
//! ([`timeline`]) as they come, and renders them with the [`Summary`] at
//! the end ([`page`]). It runs beside the `--format` output (see
//! [`super::Tee`]). It writes nothing before the end, so a `--threads`
//! run serves it: the workers fold the timelines of their connections,
//! and the merged timelines arrive through [`Sink::timelines`].

mod escape;
mod format;
mod page;
mod svg;
pub mod timeline;

pub use escape::{Clip, Esc};

use super::{Event, Sink, Summary};
use std::io::{self, Write};
use timeline::Collector;

/// Writes the HTML report to `out` when the run finishes.
pub struct HtmlReport<W: Write> {
    out: W,
    collect: Option<Collector>,
    /// The timelines of a threaded run, folded by its workers.
    folded: Option<timeline::Timelines>,
    version: String,
}

impl<W: Write> HtmlReport<W> {
    /// `version` is printed in the page's header (the tool's version).
    pub fn new(out: W, version: impl Into<String>) -> Self {
        HtmlReport {
            out,
            collect: Some(Collector::default()),
            folded: None,
            version: version.into(),
        }
    }
}

/// The page of `summary` and the timelines folded from the events, as a
/// string (what [`HtmlReport`] writes).
pub fn render(summary: &Summary, timelines: &timeline::Timelines, version: &str) -> String {
    page::render(summary, timelines, version)
}

impl<W: Write> Sink for HtmlReport<W> {
    fn event(&mut self, ev: &Event<'_>) -> io::Result<()> {
        if let Some(c) = &mut self.collect {
            c.event(ev);
        }
        Ok(())
    }

    fn needs_events(&self) -> bool {
        false
    }

    fn wants_timelines(&self) -> bool {
        true
    }

    fn timelines(&mut self, timelines: timeline::Timelines) {
        self.collect = None;
        self.folded = Some(timelines);
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let timelines = match self.folded.take() {
            Some(t) => t,
            None => self.collect.take().unwrap_or_default().finish(),
        };
        let page = page::render(summary, &timelines, &self.version);
        self.out.write_all(page.as_bytes())?;
        self.out.flush()
    }
}
