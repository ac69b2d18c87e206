//! Reading several inputs one after another as one capture.
//!
//! Frame numbers run on across files (Wireshark's numbering of the
//! concatenation); damage in one file is a warning and the end of that file
//! only, the next file is still read.

use super::open::{Format, OpenFile, open_path, open_stream};
use super::record::{Damage, Record};
use super::{CaptureError, CaptureInfo, Frame};
use crate::base::Warning;
use std::io::Read;

/// Reads frames from one or more captures in sequence, numbering them as one capture.
pub struct CaptureReader {
    /// Inputs in command-line order; a finished one is dropped (unmapped, closed).
    files: Vec<Option<OpenFile>>,
    current: usize,
    /// Frames read from the current file, for warnings.
    frames_in_file: u64,
    info: CaptureInfo,
    warnings: Vec<Warning>,
}

impl CaptureReader {
    fn new(sources: Vec<String>, files: Vec<OpenFile>) -> Self {
        CaptureReader {
            files: files.into_iter().map(Some).collect(),
            current: 0,
            frames_in_file: 0,
            info: CaptureInfo {
                sources,
                ..CaptureInfo::default()
            },
            warnings: Vec::new(),
        }
    }

    /// Reads a capture from any byte stream (a pipe, a socket, a decompressor),
    /// with the same never-seeking, bounded-memory buffer used for stdin.
    /// `name` is what warnings and [`CaptureInfo::sources`] call it.
    pub fn from_reader(
        name: impl Into<String>,
        reader: impl Read + Send + 'static,
    ) -> Result<CaptureReader, CaptureError> {
        let name = name.into();
        let file = open_stream(name.clone(), Box::new(reader))?;
        Ok(CaptureReader::new(vec![name], vec![file]))
    }

    /// The next frame, or `None` when every input is exhausted (or ended in damage, see warnings).
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        let (slot, record) = loop {
            let slot = self.current;
            let file = self.files.get_mut(slot)?.as_mut()?;
            file.notes.next_frame = self.info.frames.saturating_add(1);
            let result = match &mut file.format {
                Format::Pcap(pcap) => pcap.next(&mut file.input, &mut file.notes),
                Format::Pcapng(ng) => ng.next(&mut file.input, self.info.last_ts, &mut file.notes),
            };
            self.warnings.extend(file.notes.take());
            match result {
                Ok(Some(record)) => break (slot, record),
                Ok(None) => {
                    self.finish_notes();
                    self.finish_file();
                }
                Err(damage) => {
                    self.finish_notes();
                    self.report_damage(damage);
                    self.finish_file();
                }
            }
        };
        let index = self.count(&record);
        let data = self.files.get(slot)?.as_ref()?.input.bytes(record.data);
        Some(Frame {
            index,
            ts: record.ts,
            link: record.link,
            data,
            orig_len: record.orig_len,
        })
    }

    /// Capture-level facts gathered so far (complete once `next_frame` returned `None`).
    pub fn info(&self) -> &CaptureInfo {
        &self.info
    }

    /// Warnings produced since the last call (truncation, bad records, ...).
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    /// Books a record into the capture facts and returns its frame number.
    fn count(&mut self, record: &Record) -> u64 {
        let info = &mut self.info;
        info.frames = info.frames.saturating_add(1);
        self.frames_in_file = self.frames_in_file.saturating_add(1);
        info.bytes = info.bytes.saturating_add(record.data.len() as u64);
        if info.first_ts.is_none() {
            info.first_ts = Some(record.ts);
        }
        info.last_ts = Some(record.ts);
        if info.link_types.last() != Some(&record.link) && !info.link_types.contains(&record.link) {
            info.link_types.push(record.link);
        }
        info.frames
    }

    /// The current input's last warnings: how many of each oddity followed the warned one.
    fn finish_notes(&mut self) {
        if let Some(Some(file)) = self.files.get_mut(self.current) {
            file.notes.finish();
            self.warnings.extend(file.notes.take());
        }
    }

    /// Drops the current input (unmapping or closing it) and moves to the next.
    fn finish_file(&mut self) {
        if let Some(slot) = self.files.get_mut(self.current) {
            *slot = None;
        }
        self.current = self.current.saturating_add(1);
        self.frames_in_file = 0;
    }

    fn report_damage(&mut self, damage: Damage) {
        let Some(Some(file)) = self.files.get(self.current) else {
            return;
        };
        let frame = self.info.frames.saturating_add(1);
        let unit = if file.gzip {
            "uncompressed byte"
        } else {
            "byte"
        };
        let message = format!(
            "{name}: stopped before frame {frame}, at {unit} {offset}: {problem}; \
             the {kept} earlier frame(s) of {name} are kept",
            name = file.name,
            problem = damage.problem,
            offset = damage.offset,
            kept = self.frames_in_file,
        );
        self.warnings.push(Warning::at(frame, message));
        self.info.truncated = true;
    }
}

/// Opens every input up front (so a missing second file fails before any output).
/// `-` means stdin (at most once). No inputs at all is a reader with no frames.
pub fn open_captures(paths: &[String]) -> Result<CaptureReader, CaptureError> {
    if paths.iter().filter(|p| p.as_str() == "-").count() > 1 {
        return Err(CaptureError::StdinTwice);
    }
    let files = paths
        .iter()
        .map(|path| open_path(path))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CaptureReader::new(paths.to_vec(), files))
}
