//! Bytes the framer holds back, each run remembering the capture frame it
//! came in.
//!
//! A partial packet, a PUBLISH prefix and a scan window are all bytes kept
//! from earlier slices. The events found in them later must name the frame
//! (and timestamp) the bytes came from, not the frame being processed when
//! they are found (rule 1 of "Which frame an event names" in
//! [`super::boundary`]), so the frame is kept per run of bytes rather than
//! once per buffer.

use crate::base::At;

/// Buffers larger than this are released after use, so that one big packet
/// does not pin memory for the rest of a long connection.
const KEEP_CAPACITY: usize = 64 * 1024;

/// Bytes held back, with the frame each run of them came from.
#[derive(Debug, Default)]
pub(super) struct Held {
    bytes: Vec<u8>,
    /// `(offset, frame)` for each run of `bytes` from one frame, in order;
    /// a run goes on to the next one's offset (or the end).
    runs: Vec<(usize, At)>,
}

impl Held {
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Memory held (the buffer's capacity, not its length).
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Appends bytes that came in frame `at`; a new run starts only where
    /// the frame changes.
    pub fn append(&mut self, bytes: &[u8], at: At) {
        if bytes.is_empty() {
            return;
        }
        if self.runs.last().map(|&(_, a)| a.frame) != Some(at.frame) {
            self.runs.push((self.bytes.len(), at));
        }
        self.bytes.extend_from_slice(bytes);
    }

    /// Appends like [`Self::append`], but grows the buffer to no more than
    /// `cap` bytes of capacity (or what the bytes need, if more): a window
    /// kept up to `cap` bytes does not reserve up to twice that, as
    /// amortised growth would.
    pub fn append_capped(&mut self, bytes: &[u8], at: At, cap: usize) {
        let need = self.bytes.len().saturating_add(bytes.len());
        if need > self.bytes.capacity() {
            let target = self.bytes.capacity().saturating_mul(2).min(cap).max(need);
            self.bytes.reserve_exact(target - self.bytes.len());
        }
        self.append(bytes, at);
    }

    /// Removes the first `n` bytes; the byte that is now first keeps the
    /// frame it came in.
    pub fn drop_front(&mut self, n: usize) {
        let n = n.min(self.bytes.len());
        self.bytes.drain(..n);
        let mut runs = Vec::with_capacity(self.runs.len());
        for &(start, at) in &self.runs {
            let start = start.saturating_sub(n);
            if start == 0 {
                runs.clear();
            }
            runs.push((start, at));
        }
        self.runs = runs;
    }

    /// Keeps only the first `n` bytes (and the runs they are in), and
    /// frees the memory the rest took.
    pub fn truncate(&mut self, n: usize) {
        self.bytes.truncate(n);
        self.bytes.shrink_to_fit();
        let len = self.bytes.len();
        self.runs.retain(|&(start, _)| start < len);
    }

    /// Empties the buffer, and frees it if it grew large.
    pub fn release(&mut self) {
        self.bytes.clear();
        self.runs.clear();
        if self.bytes.capacity() > KEEP_CAPACITY {
            self.bytes = Vec::new();
        }
    }

    /// Moves everything out, leaving an empty buffer with no memory.
    pub fn take(&mut self) -> Held {
        std::mem::take(self)
    }

    /// The frame of the byte at offset `p` (`default` when nothing is held
    /// with a frame).
    pub fn frame_at(&self, p: usize, default: At) -> At {
        self.runs
            .iter()
            .take_while(|&&(start, _)| start <= p)
            .last()
            .map_or(default, |&(_, at)| at)
    }

    /// The bytes from offset `from` on, cut where their frame changes, each
    /// piece with its frame (`default` when nothing is held with a frame).
    pub fn pieces_from(&self, from: usize, default: At) -> Vec<(Vec<u8>, At)> {
        self.pieces_between(from, self.bytes.len(), default)
    }

    /// The bytes from offset `from` up to (not including) `to`, cut where
    /// their frame changes, each piece with its frame (`default` when
    /// nothing is held with a frame).
    pub fn pieces_between(&self, from: usize, to: usize, default: At) -> Vec<(Vec<u8>, At)> {
        let to = to.min(self.bytes.len());
        let mut pieces = Vec::with_capacity(self.runs.len() + 1);
        for (k, &(start, at)) in self.runs.iter().enumerate() {
            let end = self.runs.get(k + 1).map_or(self.bytes.len(), |&(s, _)| s);
            if let Some(bytes) = self
                .bytes
                .get(start.max(from)..end.min(to))
                .filter(|b| !b.is_empty())
            {
                pieces.push((bytes.to_vec(), at));
            }
        }
        if self.runs.is_empty()
            && let Some(bytes) = self.bytes.get(from..to).filter(|b| !b.is_empty())
        {
            pieces.push((bytes.to_vec(), default));
        }
        pieces
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::Timestamp;

    fn at(frame: u64) -> At {
        At {
            frame,
            ts: Timestamp::new(1_600_000_000 + frame as i64, 0, 6),
        }
    }

    /// Bytes `0..3` from frame 1, `3..5` from frame 2, `5..8` from frame 3.
    fn three_runs() -> Held {
        let mut h = Held::default();
        h.append(&[0, 1], at(1));
        h.append(&[2], at(1));
        h.append(&[], at(9));
        h.append(&[3, 4], at(2));
        h.append(&[5, 6, 7], at(3));
        h
    }

    #[test]
    fn a_run_starts_only_where_the_frame_changes() {
        let h = three_runs();
        assert_eq!(h.bytes(), [0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(h.runs, [(0, at(1)), (3, at(2)), (5, at(3))]);
    }

    #[test]
    fn every_byte_names_the_frame_it_came_in() {
        let h = three_runs();
        let frames: Vec<u64> = (0..8).map(|p| h.frame_at(p, at(0)).frame).collect();
        assert_eq!(frames, [1, 1, 1, 2, 2, 3, 3, 3]);
        // Past the end: the last run's frame. Nothing held: the default.
        assert_eq!(h.frame_at(100, at(0)), at(3));
        assert_eq!(Held::default().frame_at(0, at(7)), at(7));
    }

    #[test]
    fn dropping_the_front_keeps_the_frames_of_what_is_left() {
        for n in 0..=8 {
            let mut h = three_runs();
            let before: Vec<At> = (n..8).map(|p| h.frame_at(p, at(0))).collect();
            h.drop_front(n);
            assert_eq!(h.len(), 8 - n);
            let after: Vec<At> = (0..8 - n).map(|p| h.frame_at(p, at(0))).collect();
            assert_eq!(after, before, "drop_front({n})");
            assert_eq!(h.runs.first().map(|r| r.0), Some(0), "drop_front({n})");
        }
        // More than is held: empty, and later bytes start runs as usual.
        let mut h = three_runs();
        h.drop_front(100);
        assert!(h.is_empty());
        h.append(&[9], at(4));
        assert_eq!(h.frame_at(0, at(0)), at(4));
    }

    #[test]
    fn pieces_are_cut_where_the_frame_changes() {
        let h = three_runs();
        assert_eq!(
            h.pieces_from(0, at(0)),
            [
                (vec![0, 1, 2], at(1)),
                (vec![3, 4], at(2)),
                (vec![5, 6, 7], at(3))
            ]
        );
        assert_eq!(
            h.pieces_from(4, at(0)),
            [(vec![4], at(2)), (vec![5, 6, 7], at(3))]
        );
        assert_eq!(h.pieces_from(5, at(0)), [(vec![5, 6, 7], at(3))]);
        assert!(h.pieces_from(8, at(0)).is_empty());
        assert!(h.pieces_from(100, at(0)).is_empty());
    }

    #[test]
    fn pieces_between_stop_where_asked() {
        let h = three_runs();
        assert_eq!(
            h.pieces_between(1, 6, at(0)),
            [(vec![1, 2], at(1)), (vec![3, 4], at(2)), (vec![5], at(3))]
        );
        assert!(h.pieces_between(4, 4, at(0)).is_empty());
        assert!(h.pieces_between(6, 2, at(0)).is_empty());
        assert_eq!(h.pieces_between(7, 100, at(0)), [(vec![7], at(3))]);
    }

    #[test]
    fn capped_appends_reserve_no_more_than_the_cap() {
        let mut h = Held::default();
        for n in 0..100u64 {
            h.append_capped(&[7; 100], at(n), 5000);
            assert!(h.capacity() <= 5000.max(h.len()), "{}", h.capacity());
        }
        assert_eq!(h.len(), 10_000);
        assert_eq!(h.frame_at(9_999, at(0)), at(99));
    }

    #[test]
    fn truncating_keeps_the_frames_of_what_is_left() {
        let mut h = three_runs();
        h.truncate(4);
        assert_eq!(h.bytes(), [0, 1, 2, 3]);
        assert_eq!(h.runs, [(0, at(1)), (3, at(2))]);
        h.truncate(3);
        assert_eq!(h.runs, [(0, at(1))]);
        // Bytes appended after it start a run of their own.
        h.append(&[9], at(2));
        assert_eq!(h.frame_at(3, at(0)), at(2));
        h.truncate(100);
        assert_eq!(h.len(), 4);
    }

    #[test]
    fn take_and_release_leave_nothing_behind() {
        let mut h = three_runs();
        let taken = h.take();
        assert!(h.is_empty() && h.runs.is_empty() && h.capacity() == 0);
        assert_eq!(taken.len(), 8);
        assert_eq!(taken.frame_at(6, at(0)), at(3));

        let mut h = three_runs();
        h.release();
        assert!(h.is_empty() && h.runs.is_empty());
        assert!(h.capacity() > 0, "a small buffer is kept for reuse");

        let mut big = Held::default();
        big.append(&vec![0; KEEP_CAPACITY + 1], at(1));
        big.release();
        assert_eq!(big.capacity(), 0, "a large buffer is freed");
    }
}
