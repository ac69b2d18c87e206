//! Frame numbers of a capture made of several files, as each file numbers them.
//!
//! The capture numbers frames over all its files, like one concatenated
//! file, so "frame 133" may be the third frame of `b.pcap` — a number
//! Wireshark cannot open. Every sink keeps a [`FileMap`] (from the
//! [`super::Event::File`] events, or from the summary's file table) and
//! names the file and its own frame number next to every frame it prints.
//! With one input file the map stays empty and nothing is added; with
//! several, every frame is named, the first file's too.

use crate::capture::FileInfo;
use serde::Serialize;
use std::fmt::Write as _;

/// Where the files of a several-file capture begin in its frame numbering.
#[derive(Debug, Clone, Default)]
pub struct FileMap {
    /// `(first frame, name)` in the order read; `first_frame` never decreases.
    files: Vec<(u64, String)>,
}

/// A frame as the file it is in numbers it: `{"file": "b.pcap", "frame": 3}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InFile<'a> {
    pub file: &'a str,
    pub frame: u64,
}

impl FileMap {
    /// The map of a capture's file table (empty unless it read several inputs).
    pub fn of(sources: usize, files: &[FileInfo]) -> FileMap {
        let mut map = FileMap::default();
        if sources > 1 {
            for f in files {
                map.push(&f.name, f.first_frame);
            }
        }
        map
    }

    /// The next file of a several-file capture starts at capture frame `first_frame`.
    pub fn push(&mut self, name: &str, first_frame: u64) {
        self.files.push((first_frame, name.to_string()));
    }

    /// Whether frames need their file named: files are only added for a
    /// capture of several inputs (`File` events are sent only then), so
    /// from its first file on.
    pub fn several(&self) -> bool {
        !self.files.is_empty()
    }

    /// The file holding capture frame `frame` and the frame's number in it;
    /// `None` with one input, for frame 0 and before the first file.
    pub fn locate(&self, frame: u64) -> Option<InFile<'_>> {
        if !self.several() || frame == 0 {
            return None;
        }
        // The last file starting at or before `frame` (an empty file starts
        // where the next one does and sorts before it).
        let after = self.files.partition_point(|(first, _)| *first <= frame);
        let (first, name) = self.files.get(after.checked_sub(1)?)?;
        Some(InFile {
            file: name,
            frame: frame - first + 1,
        })
    }

    /// [`Self::locate`] for each of `frames`; `None` with one file (the
    /// JSON key is left out then).
    pub fn locate_all(&self, frames: &[u64]) -> Option<Vec<InFile<'_>>> {
        if !self.several() {
            return None;
        }
        Some(frames.iter().filter_map(|&f| self.locate(f)).collect())
    }

    /// For text: `b.pcap frame 3`, `b.pcap frames 1,3`, `a.pcap frame 9,
    /// b.pcap frame 2`; empty with one file.
    pub fn describe(&self, frames: &[u64]) -> String {
        let mut out = String::new();
        let mut current: Option<&str> = None;
        let mut group: Vec<u64> = Vec::new();
        let flush = |out: &mut String, name: Option<&str>, group: &mut Vec<u64>| {
            let Some(name) = name else { return };
            if !out.is_empty() {
                out.push_str(", ");
            }
            let word = if group.len() == 1 { "frame" } else { "frames" };
            let list: Vec<String> = group.iter().map(u64::to_string).collect();
            let _ = write!(out, "{name} {word} {}", list.join(","));
            group.clear();
        };
        for at in frames.iter().filter_map(|&f| self.locate(f)) {
            if current != Some(at.file) {
                flush(&mut out, current, &mut group);
                current = Some(at.file);
            }
            group.push(at.frame);
        }
        flush(&mut out, current, &mut group);
        out
    }

    /// For text, frames `first` to `last`: `b.pcap frames 3–40`, or
    /// `a.pcap frame 90 – b.pcap frame 12` across files; empty with one file.
    pub fn describe_span(&self, first: u64, last: u64) -> String {
        match (self.locate(first), self.locate(last)) {
            (Some(a), Some(b)) if a.file == b.file && a.frame == b.frame => {
                format!("{} frame {}", a.file, a.frame)
            }
            (Some(a), Some(b)) if a.file == b.file => {
                format!("{} frames {}–{}", a.file, a.frame, b.frame)
            }
            (Some(a), Some(b)) => {
                format!(
                    "{} frame {} – {} frame {}",
                    a.file, a.frame, b.file, b.frame
                )
            }
            _ => String::new(),
        }
    }

    /// `" (b.pcap frame 3)"` after a capture frame number in text; empty
    /// with one file.
    pub fn suffix(&self, frames: &[u64]) -> String {
        let d = self.describe(frames);
        if d.is_empty() { d } else { format!(" ({d})") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> FileMap {
        let mut m = FileMap::default();
        m.push("a.pcap", 1);
        m.push("empty.pcap", 11);
        m.push("b.pcap", 11);
        m
    }

    #[test]
    fn one_input_adds_nothing() {
        let m = FileMap::default();
        assert_eq!(m.locate(5), None);
        assert_eq!(m.locate_all(&[5]), None);
        assert_eq!(m.suffix(&[5]), "");
    }

    #[test]
    fn the_first_of_several_files_is_named_before_the_next_is_known() {
        let mut m = FileMap::default();
        m.push("a.pcap", 1);
        assert_eq!(m.describe(&[5]), "a.pcap frame 5");
    }

    #[test]
    fn frames_are_numbered_as_their_file_numbers_them() {
        let m = map();
        assert_eq!(m.locate(0), None);
        assert_eq!(
            m.locate(1),
            Some(InFile {
                file: "a.pcap",
                frame: 1
            })
        );
        assert_eq!(
            m.locate(10),
            Some(InFile {
                file: "a.pcap",
                frame: 10
            })
        );
        // The empty file is skipped: frame 11 is b.pcap's first.
        assert_eq!(
            m.locate(11),
            Some(InFile {
                file: "b.pcap",
                frame: 1
            })
        );
        assert_eq!(m.locate(13).map(|f| f.frame), Some(3));
    }

    #[test]
    fn text_names_each_file_once_per_run() {
        let m = map();
        assert_eq!(m.describe(&[12]), "b.pcap frame 2");
        assert_eq!(m.describe(&[11, 13]), "b.pcap frames 1,3");
        assert_eq!(m.describe(&[9, 12]), "a.pcap frame 9, b.pcap frame 2");
        assert_eq!(m.suffix(&[3]), " (a.pcap frame 3)");
        assert_eq!(m.describe_span(11, 14), "b.pcap frames 1–4");
        assert_eq!(m.describe_span(12, 12), "b.pcap frame 2");
        assert_eq!(m.describe_span(9, 12), "a.pcap frame 9 – b.pcap frame 2");
    }

    #[test]
    fn the_summary_table_gives_the_same_map() {
        let info = |name: &str, first_frame, frames| FileInfo {
            name: name.into(),
            first_frame,
            frames,
            first_ts: None,
            last_ts: None,
            truncated: false,
        };
        let files = [info("a.pcap", 1, 10), info("b.pcap", 11, 5)];
        let m = FileMap::of(2, &files);
        assert_eq!(m.describe(&[11]), "b.pcap frame 1");
        assert!(!FileMap::of(1, &files[..1]).several());
    }
}
