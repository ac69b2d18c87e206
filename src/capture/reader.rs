//! Reading several inputs one after another as one capture.
//!
//! Frame numbers run on across files (Wireshark's numbering of the
//! concatenation); damage in one file is a warning and the end of that file
//! only, the next file is still read. [`CaptureInfo::files`] records where
//! each file's frames lie in that numbering, so that a frame can also be
//! named as Wireshark numbers it in its own file, and a file that starts
//! earlier than the one before it ends is a warning: concatenated out of
//! time order, the files make durations and latencies across the boundary
//! meaningless.

use super::open::{Format, OpenFile, open_path, open_stream};
use super::record::{Damage, Record};
use super::{CaptureError, CaptureInfo, FileInfo, Frame, LinkType};
use crate::base::{Timestamp, Warning};
use std::collections::HashSet;
use std::io::Read;

/// What [`CaptureReader::read`] got.
pub(super) enum Step<'a> {
    Frame(Frame<'a>),
    /// Input file `index` is reached (see [`CaptureInfo::files`]).
    File(usize),
    End,
}

/// Reads frames from one or more captures in sequence, numbering them as one capture.
pub struct CaptureReader {
    /// Inputs in command-line order; a finished one is dropped (unmapped, closed).
    files: Vec<Option<OpenFile>>,
    current: usize,
    info: CaptureInfo,
    warnings: Vec<Warning>,
    /// The timestamp of the frame read last, which a pcapng Simple Packet
    /// block (it has none) is given. Not `info.last_ts`: that is the latest
    /// timestamp, which need not be the last frame's.
    prev_ts: Option<Timestamp>,
    /// The link types of `info.link_types`, so that each frame's is looked
    /// up in O(1): a pcapng file can declare 65,536 link types and
    /// alternate between them frame by frame.
    link_seen: HashSet<LinkType>,
    /// The current file's frame with its latest timestamp.
    latest_frame: u64,
    /// The latest frame of the last file that had frames, to tell whether
    /// the next file starts earlier than it.
    previous: Option<Latest>,
    /// Each input's size on disk (`None`: a stream), kept after the file
    /// itself is dropped, for [`CaptureReader::progress`].
    sizes: Vec<Option<u64>>,
}

/// The latest frame of a finished file.
#[derive(Debug, Clone)]
struct Latest {
    /// The file's name as warnings print it.
    name: String,
    ts: Timestamp,
    /// Its capture-wide and in-file frame numbers.
    frame: u64,
    local: u64,
}

impl CaptureReader {
    fn new(sources: Vec<String>, files: Vec<OpenFile>) -> Self {
        let sizes = files.iter().map(|f| f.size).collect();
        CaptureReader {
            sizes,
            files: files.into_iter().map(Some).collect(),
            current: 0,
            info: CaptureInfo {
                sources,
                ..CaptureInfo::default()
            },
            warnings: Vec::new(),
            prev_ts: None,
            link_seen: HashSet::new(),
            latest_frame: 0,
            previous: None,
        }
    }

    /// Reads a capture from any byte stream (a pipe, a socket, a decompressor),
    /// with the same never-seeking, bounded-memory buffer used for stdin.
    /// `name` is what warnings, [`CaptureInfo::sources`] and [`FileInfo::name`] call it.
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
        match self.read(false) {
            Step::Frame(f) => Some(f),
            Step::File(_) | Step::End => None,
        }
    }

    /// The next frame; with `announce`, first [`Step::File`] each time
    /// an input file is reached (its entry in [`CaptureInfo::files`] is
    /// there then), before any of its frames.
    pub(super) fn read(&mut self, announce: bool) -> Step<'_> {
        let (slot, record) = loop {
            let slot = self.current;
            if slot >= self.files.len() {
                return Step::End;
            }
            if self.info.files.len() <= slot {
                self.start_file(slot);
                if announce {
                    return Step::File(slot);
                }
            }
            let Some(Some(file)) = self.files.get_mut(slot) else {
                return Step::End;
            };
            file.notes.next_frame = self.info.frames.saturating_add(1);
            let result = match &mut file.format {
                Format::Pcap(pcap) => pcap.next(&mut file.input, &mut file.notes),
                Format::Pcapng(ng) => ng.next(&mut file.input, self.prev_ts, &mut file.notes),
            };
            self.warnings.extend(file.notes.take());
            match result {
                Ok(Some(record)) => break (slot, record),
                Ok(None) => self.finish_file(None),
                Err(damage) => self.finish_file(Some(damage)),
            }
        };
        let index = self.count(&record);
        let Some(Some(file)) = self.files.get(slot) else {
            return Step::End;
        };
        Step::Frame(Frame {
            index,
            ts: record.ts,
            link: record.link,
            data: file.input.bytes(record.data),
            orig_len: record.orig_len,
        })
    }

    /// How far reading has got, as (bytes read, bytes in all) of the input
    /// files on disk (compressed bytes for gzip'd files); `None` when an
    /// input is a stream, whose length is unknown.
    pub fn progress(&self) -> Option<(u64, u64)> {
        let mut total = 0u64;
        let mut done = 0u64;
        for (slot, size) in self.sizes.iter().enumerate() {
            let size = (*size)?;
            total = total.saturating_add(size);
            let here = match slot.cmp(&self.current) {
                std::cmp::Ordering::Less => size,
                std::cmp::Ordering::Greater => 0,
                std::cmp::Ordering::Equal => match self.files.get(slot) {
                    Some(Some(file)) => file.position().unwrap_or(0).min(size),
                    _ => size,
                },
            };
            done = done.saturating_add(here);
        }
        Some((done, total))
    }

    /// Capture-level facts gathered so far (complete once `next_frame` returned `None`).
    pub fn info(&self) -> &CaptureInfo {
        &self.info
    }

    /// Warnings produced since the last call (truncation, bad records, ...).
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    /// Opens the per-file table's entry for the input about to be read.
    fn start_file(&mut self, slot: usize) {
        let name = self
            .info
            .sources
            .get(slot)
            .cloned()
            .unwrap_or_else(|| format!("input {}", slot + 1));
        self.info.files.push(FileInfo {
            name,
            first_frame: self.info.frames.saturating_add(1),
            frames: 0,
            first_ts: None,
            last_ts: None,
            truncated: false,
        });
        self.latest_frame = 0;
    }

    /// Books a record into the capture facts and returns its frame number.
    fn count(&mut self, record: &Record) -> u64 {
        let ts = record.ts;
        let info = &mut self.info;
        info.frames = info.frames.saturating_add(1);
        let frame = info.frames;
        info.bytes = info.bytes.saturating_add(record.data.len() as u64);
        info.first_ts = Some(info.first_ts.map_or(ts, |t| t.min(ts)));
        info.last_ts = Some(info.last_ts.map_or(ts, |t| t.max(ts)));
        if info.link_types.last() != Some(&record.link) && self.link_seen.insert(record.link) {
            info.link_types.push(record.link);
        }
        self.prev_ts = Some(ts);
        let Some(file) = info.files.last_mut() else {
            return frame;
        };
        file.frames = file.frames.saturating_add(1);
        file.first_ts = Some(file.first_ts.map_or(ts, |t| t.min(ts)));
        if file.last_ts.is_none_or(|t| ts > t) {
            file.last_ts = Some(ts);
            self.latest_frame = frame;
        }
        if file.frames == 1 {
            self.check_time_order(ts, frame);
        }
        frame
    }

    /// A file whose first frame is earlier than the latest frame of the file
    /// before it: the files are not one capture in time order, so anything
    /// measured from a frame of one to a frame of the other is meaningless.
    fn check_time_order(&mut self, ts: Timestamp, frame: u64) {
        let Some(prev) = &self.previous else {
            return;
        };
        if ts >= prev.ts {
            return;
        }
        let name = self
            .files
            .get(self.current)
            .and_then(Option::as_ref)
            .map_or("?", |f| f.name.as_str());
        let message = format!(
            "files out of time order: {name} begins at {ts} (frame {frame}, its frame 1), \
             earlier than {prev_name} ends at {prev_ts} (frame {prev_frame}, its frame \
             {prev_local}); durations and latencies measured across the two files are \
             meaningless (mergecap merges captures in time order)",
            prev_name = prev.name,
            prev_ts = prev.ts,
            prev_frame = prev.frame,
            prev_local = prev.local,
        );
        self.warnings.push(Warning::at(frame, message));
    }

    /// Ends the current input (cleanly, or at `damage`): warns what is left to
    /// warn about it, drops it (unmapping or closing it) and moves to the next.
    fn finish_file(&mut self, damage: Option<Damage>) {
        if let Some(Some(file)) = self.files.get_mut(self.current) {
            file.notes.finish();
            self.warnings.extend(file.notes.take());
        }
        let damaged = damage.is_some();
        if let Some(damage) = damage {
            self.report_damage(damage);
        }
        let name = self
            .files
            .get(self.current)
            .and_then(Option::as_ref)
            .map(|f| f.name.clone());
        if let Some(entry) = self.info.files.get_mut(self.current) {
            entry.truncated = damaged;
            if let (Some(ts), Some(name)) = (entry.last_ts.filter(|_| entry.frames > 0), name) {
                self.previous = Some(Latest {
                    name,
                    ts,
                    frame: self.latest_frame,
                    local: self
                        .latest_frame
                        .saturating_sub(entry.first_frame)
                        .saturating_add(1),
                });
            }
        }
        if let Some(slot) = self.files.get_mut(self.current) {
            *slot = None;
        }
        self.current = self.current.saturating_add(1);
    }

    fn report_damage(&mut self, damage: Damage) {
        let Some(Some(file)) = self.files.get(self.current) else {
            return;
        };
        let frame = self.info.frames.saturating_add(1);
        let kept = self
            .info
            .files
            .get(self.current)
            .map_or(0, |entry| entry.frames);
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
