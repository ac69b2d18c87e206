//! Placeholder: the pcap / pcapng reader lands here.
use super::{CaptureError, CaptureInfo, Frame};
use crate::warning::Warning;

/// Reads frames from one or more captures in sequence, numbering them as one capture.
pub struct CaptureReader {
    info: CaptureInfo,
}

impl CaptureReader {
    /// The next frame, or `None` when every input is exhausted (or ended in damage, see warnings).
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        None
    }

    /// Capture-level facts gathered so far (complete once `next_frame` returned `None`).
    pub fn info(&self) -> &CaptureInfo {
        &self.info
    }

    /// Warnings produced since the last call (truncation, bad records, ...).
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        Vec::new()
    }
}

/// Opens every input up front (so a missing second file fails before any output).
/// `-` means stdin (at most once).
pub fn open_captures(paths: &[String]) -> Result<CaptureReader, CaptureError> {
    Ok(CaptureReader {
        info: CaptureInfo {
            sources: paths.to_vec(),
            ..Default::default()
        },
    })
}
