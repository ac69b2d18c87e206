//! Reading frames out of pcap / pcapng captures (plain or gzip'd, file or stdin).
//!
//! Pure Rust: no libpcap is needed to read files. A capture is read as a
//! stream of [`Frame`]s that borrow their bytes from the reader (from the
//! mmap'd file for plain files, so the hot path copies nothing). Damage in the
//! middle of a capture (a truncated last record, an impossible length) is a
//! [`Warning`](crate::base::Warning) and the end of that file, never a panic;
//! only input that cannot be read at all is a [`CaptureError`].
//!
//! The parsers are our own rather than a general-purpose crate's so that
//! every length is checked before it is trusted and every step provably
//! consumes input (no endless loop on a truncated file):
//!
//! - `open.rs`: mmap or stream, gzip by magic bytes, format recognition;
//! - `input.rs`: the two byte sources behind one "request / consume" interface;
//! - `pcap.rs`, `pcapng.rs`: one parser per format, yielding located records;
//! - `record.rs`: what a parser hands the reader, and how record-header
//!   lengths that lie are settled;
//! - `notes.rs`: oddities that do not stop a file, warned once per file per kind;
//! - `reader.rs`: several inputs as one capture, numbering, warnings, [`CaptureInfo`]
//!   (with its per-file table, [`FileInfo`]).

use crate::base::Timestamp;

pub use crate::base::{Frame, LinkType};

/// What the reader learned about the capture as a whole; the `capture` object of the report.
#[derive(Debug, Clone, Default)]
pub struct CaptureInfo {
    /// Input names as given on the command line (`-` for stdin).
    pub sources: Vec<String>,
    /// Records read (frames), including ones later found undecodable.
    pub frames: u64,
    /// Sum of captured bytes of all frames.
    pub bytes: u64,
    /// The earliest timestamp of any frame (not necessarily the first
    /// frame's: captures are not always in time order), so that
    /// `last_ts - first_ts` is never negative. `None` without frames.
    pub first_ts: Option<Timestamp>,
    /// The latest timestamp of any frame (not necessarily the last frame's).
    pub last_ts: Option<Timestamp>,
    /// Every link type seen, in order of first appearance.
    pub link_types: Vec<LinkType>,
    /// A file ended inside a record or had a record that could not be real.
    pub truncated: bool,
    /// One entry per input file reached so far, in the order read (all of
    /// them once reading has ended): where its frames lie in the capture's
    /// numbering. See [`CaptureInfo::locate`].
    pub files: Vec<FileInfo>,
}

/// One input file's part of the capture.
///
/// Frames are numbered over all files as one capture, so "frame 133" is the
/// 133rd of the concatenation, which Wireshark cannot open when it is the
/// third frame of `b.pcap`. This is what turns one numbering into the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// The input's name as given (`-` for stdin; [`CaptureReader::from_reader`]'s `name`).
    pub name: String,
    /// The capture-wide number of the file's first frame. A file without
    /// frames has the number its first frame would have had (the next file's
    /// first frame, or one past the capture's last).
    pub first_frame: u64,
    /// Frames read from this file.
    pub frames: u64,
    /// The earliest timestamp of the file's frames (`None` without frames).
    pub first_ts: Option<Timestamp>,
    /// The latest timestamp of the file's frames.
    pub last_ts: Option<Timestamp>,
    /// Reading this file stopped at damage (a warning says where).
    pub truncated: bool,
}

impl FileInfo {
    /// Whether the capture-wide frame number `frame` is one of this file's.
    pub fn contains(&self, frame: u64) -> bool {
        frame >= self.first_frame && frame - self.first_frame < self.frames
    }
}

impl CaptureInfo {
    /// The file a capture-wide frame number belongs to and its number inside
    /// that file (1-based, as Wireshark numbers the file opened alone):
    /// `(index into files, frame within the file)`. `None` for 0 and for
    /// frames not read (yet). O(log files).
    pub fn locate(&self, frame: u64) -> Option<(usize, u64)> {
        // `first_frame` never decreases from file to file, so the file
        // holding `frame` is the last one starting at or before it. Empty
        // files start where the next one does and sort before it; an empty
        // file found last means the frame lies past every file read.
        let after = self.files.partition_point(|f| f.first_frame <= frame);
        let index = after.checked_sub(1)?;
        let file = self.files.get(index)?;
        file.contains(frame)
            .then(|| (index, frame - file.first_frame + 1))
    }
}

/// Input that cannot be analysed at all: the run stops with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a pcap or pcapng capture ({detail})")]
    NotACapture { path: String, detail: String },
    /// Stdin can be read only once; a second `-` would silently read nothing.
    #[error("stdin (-) is given more than once; it can be read only once")]
    StdinTwice,
}

mod endian;
mod input;
mod notes;
mod open;
mod pcap;
mod pcapng;
mod prefetch;
mod reader;
mod record;
mod resolution;
mod source;

pub use prefetch::Prefetch;
pub use reader::{CaptureReader, open_captures};
pub use source::{Drops, FrameSource, Next};

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of files with these frame counts, numbered as the reader numbers them.
    fn info(counts: &[u64]) -> CaptureInfo {
        let mut next = 1;
        let files = counts
            .iter()
            .enumerate()
            .map(|(i, &frames)| {
                let file = FileInfo {
                    name: format!("f{i}"),
                    first_frame: next,
                    frames,
                    first_ts: None,
                    last_ts: None,
                    truncated: false,
                };
                next += frames;
                file
            })
            .collect();
        CaptureInfo {
            frames: next - 1,
            files,
            ..CaptureInfo::default()
        }
    }

    #[test]
    fn locate_a_single_file() {
        let i = info(&[5]);
        assert_eq!(i.locate(0), None, "frames are 1-based");
        assert_eq!(i.locate(1), Some((0, 1)));
        assert_eq!(i.locate(5), Some((0, 5)));
        assert_eq!(i.locate(6), None);
        assert_eq!(i.locate(u64::MAX), None);
    }

    #[test]
    fn locate_first_and_last_frame_of_each_file() {
        let i = info(&[3, 1, 4]);
        let want = [
            (1, (0, 1)),
            (3, (0, 3)),
            (4, (1, 1)),
            (5, (2, 1)),
            (8, (2, 4)),
        ];
        for (frame, place) in want {
            assert_eq!(i.locate(frame), Some(place), "frame {frame}");
        }
        assert_eq!(i.locate(9), None);
    }

    #[test]
    fn locate_skips_empty_files_wherever_they_are() {
        // Empty first, two empty in the middle, empty last.
        let i = info(&[0, 2, 0, 0, 3, 0]);
        assert_eq!(i.files[0].first_frame, 1);
        assert_eq!(i.files[2].first_frame, 3);
        assert_eq!(i.files[5].first_frame, 6);
        assert_eq!(i.locate(1), Some((1, 1)));
        assert_eq!(i.locate(2), Some((1, 2)));
        assert_eq!(i.locate(3), Some((4, 1)));
        assert_eq!(i.locate(5), Some((4, 3)));
        assert_eq!(
            i.locate(6),
            None,
            "past the last frame, in the empty last file"
        );
        // Every frame maps back to itself.
        for frame in 1..=5 {
            let (f, local) = i.locate(frame).unwrap();
            assert_eq!(i.files[f].first_frame + local - 1, frame);
            assert!(i.files[f].contains(frame));
        }
    }

    #[test]
    fn locate_without_files_or_frames() {
        assert_eq!(CaptureInfo::default().locate(1), None);
        let i = info(&[0, 0]);
        assert_eq!(i.locate(0), None);
        assert_eq!(i.locate(1), None);
    }
}
