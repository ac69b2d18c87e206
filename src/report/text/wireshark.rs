//! Wireshark display filters that select the frames a finding names, ready
//! to paste: `frame.number in {26 47 73..75}`.
//!
//! Wireshark numbers the frames of the file it opened, so for a capture
//! read from several files the filter is per file, with that file's own
//! numbers (from the [`FileMap`]).

use crate::report::FileMap;

/// The filter selecting `frames`: sorted, each once, runs of three or
/// more written as a range (`73..75`, Wireshark's set syntax).
pub fn frame_filter(frames: &[u64]) -> String {
    let mut sorted: Vec<u64> = frames.iter().copied().filter(|&f| f > 0).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(&start) = sorted.get(i) {
        let mut end = start;
        let mut j = i + 1;
        while sorted.get(j) == Some(&(end + 1)) {
            end += 1;
            j += 1;
        }
        match end - start {
            0 => parts.push(start.to_string()),
            1 => {
                parts.push(start.to_string());
                parts.push(end.to_string());
            }
            _ => parts.push(format!("{start}..{end}")),
        }
        i = j;
    }
    format!("frame.number in {{{}}}", parts.join(" "))
}

/// One filter per file that holds some of `frames`: `(None, filter)` for
/// a capture of one file, `(Some(file), filter)` in the order the files
/// were read otherwise. Empty when no frame is known.
pub fn filters(frames: &[u64], files: &FileMap) -> Vec<(Option<String>, String)> {
    let frames: Vec<u64> = frames.iter().copied().filter(|&f| f > 0).collect();
    if frames.is_empty() {
        return Vec::new();
    }
    if !files.several() {
        return vec![(None, frame_filter(&frames))];
    }
    let mut per_file: Vec<(String, Vec<u64>)> = Vec::new();
    let mut sorted = frames;
    sorted.sort_unstable();
    for f in sorted {
        let Some(at) = files.locate(f) else { continue };
        match per_file.iter_mut().find(|(name, _)| name == at.file) {
            Some((_, list)) => list.push(at.frame),
            None => per_file.push((at.file.to_string(), vec![at.frame])),
        }
    }
    per_file
        .into_iter()
        .map(|(name, list)| (Some(name), frame_filter(&list)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_sorted_once_with_ranges() {
        assert_eq!(frame_filter(&[12]), "frame.number in {12}");
        assert_eq!(
            frame_filter(&[40, 12, 15, 12]),
            "frame.number in {12 15 40}"
        );
        assert_eq!(
            frame_filter(&[26, 47, 73, 74, 75, 80, 81]),
            "frame.number in {26 47 73..75 80 81}"
        );
    }

    #[test]
    fn one_filter_per_file_with_its_own_numbers() {
        let mut files = FileMap::default();
        files.push("a.pcap", 1);
        files.push("b.pcap", 11);
        let got = filters(&[13, 3, 11], &files);
        assert_eq!(
            got,
            vec![
                (
                    Some("a.pcap".to_string()),
                    "frame.number in {3}".to_string()
                ),
                (
                    Some("b.pcap".to_string()),
                    "frame.number in {1 3}".to_string()
                ),
            ]
        );
        assert_eq!(
            filters(&[5, 2], &FileMap::default()),
            vec![(None, "frame.number in {2 5}".to_string())]
        );
        assert!(filters(&[0], &FileMap::default()).is_empty());
    }
}
