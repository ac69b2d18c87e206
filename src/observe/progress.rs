//! A progress bar on stderr while long capture files are read.
//!
//! Reading a 1 GB capture takes seconds with nothing on the screen; a bar
//! says how far it got and how long is left. It is a [`FrameSource`] that
//! wraps the reader rather than an [`Observer`](crate::pipeline::Observer):
//! an observer makes a run single-threaded, and the bar must not change
//! what the run does. Whether to show one at all (stderr a terminal, the
//! text format, files long enough) is the caller's decision; the bar is
//! gone from the terminal before the summary is written.

use crate::base::Warning;
use crate::capture::{CaptureInfo, CaptureReader, Drops, FrameSource, Next};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Inputs shorter than this (bytes on disk) are read too fast for a bar:
/// about a second or less.
pub const LONG_INPUT: u64 = 64 << 20;

/// Steps between two looks at the reader's position: the bar redraws at
/// most 20 times a second anyway, and a look is a few loads.
const EVERY: u32 = 1024;

/// A capture reader with a progress bar on stderr.
pub struct Progress<'a> {
    reader: &'a mut CaptureReader,
    bar: ProgressBar,
    steps: u32,
}

impl<'a> Progress<'a> {
    /// `reader` with a bar when its inputs are files of [`LONG_INPUT`] or
    /// more together; the reader back otherwise (a stream has no known length).
    pub fn wrap(reader: &'a mut CaptureReader) -> Result<Progress<'a>, &'a mut CaptureReader> {
        let Some((_, total)) = reader.progress().filter(|(_, t)| *t >= LONG_INPUT) else {
            return Err(reader);
        };
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "reading {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}, {eta} left",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Ok(Progress {
            reader,
            bar,
            steps: 0,
        })
    }
}

impl FrameSource for Progress<'_> {
    fn next(&mut self) -> Next<'_> {
        self.steps = self.steps.wrapping_add(1);
        if self.steps.is_multiple_of(EVERY)
            && let Some((done, _)) = self.reader.progress()
        {
            self.bar.set_position(done);
        }
        match self.reader.next() {
            Next::End => {
                // Off the terminal before the summary is written there.
                self.bar.finish_and_clear();
                Next::End
            }
            other => other,
        }
    }

    fn info(&self) -> &CaptureInfo {
        self.reader.info()
    }

    fn take_warnings(&mut self) -> Vec<Warning> {
        self.reader.take_warnings()
    }

    fn drops(&self) -> Option<Drops> {
        self.reader.drops()
    }
}

impl Drop for Progress<'_> {
    /// A run that stops early (Ctrl-C, a write error) leaves no bar behind.
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
