//! What the pipeline reads from: a capture file reader or a live capture,
//! behind one trait that yields frames, idle turns and the end.

use super::reader::Step;
use super::{CaptureInfo, CaptureReader, Frame};
use crate::base::{Timestamp, Warning};

/// One step of a source.
#[derive(Debug)]
pub enum Next<'a> {
    /// The next frame.
    Frame(Frame<'a>),
    /// A capture of several input files reached file `index` of
    /// [`CaptureInfo::files`] (its entry is there now), before its frames.
    File(usize),
    /// No frame for a while (live capture): the time now, so that timeouts
    /// can fire without new traffic.
    Idle(Timestamp),
    /// The source is exhausted (end of the files, the capture was stopped).
    End,
}

/// Packets the capture itself lost (libpcap's counters for a live capture).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    /// No room in the kernel's buffer: the capture did not read fast enough.
    pub kernel: u64,
    /// Dropped by the interface or its driver.
    pub interface: u64,
}

impl Drops {
    pub fn any(&self) -> bool {
        self.kernel > 0 || self.interface > 0
    }
}

/// A stream of frames with idle turns.
pub trait FrameSource {
    /// The next frame, an idle turn, or the end.
    fn next(&mut self) -> Next<'_>;
    /// Capture-level facts so far.
    fn info(&self) -> &CaptureInfo;
    /// Warnings since the last call.
    fn take_warnings(&mut self) -> Vec<Warning>;
    /// What the capture itself lost, when the source can know (live capture).
    fn drops(&self) -> Option<Drops> {
        None
    }
}

/// Files have no idle turns: their clock is the frames' own time.
impl FrameSource for CaptureReader {
    fn next(&mut self) -> Next<'_> {
        let several = self.info().sources.len() > 1;
        match self.read(several) {
            Step::Frame(f) => Next::Frame(f),
            Step::File(index) => Next::File(index),
            Step::End => Next::End,
        }
    }
    fn info(&self) -> &CaptureInfo {
        CaptureReader::info(self)
    }
    fn take_warnings(&mut self) -> Vec<Warning> {
        CaptureReader::take_warnings(self)
    }
}
