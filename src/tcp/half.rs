//! One direction of a TCP connection: sequence tracking, out-of-order
//! buffering and in-order delivery.
//!
//! Sequence numbers are turned into 64-bit stream offsets relative to the
//! next expected byte (a wrapping 32-bit difference), so wrap-around past
//! 2^32 needs no special case anywhere else. The consumer sees contiguous
//! [`Chunk::Data`] (borrowed from the segment when it arrives in order, so the
//! common case copies nothing) and [`Chunk::Gap`] for bytes the capture never
//! had — the "skip N" of gopacket's reassembly.
//!
//! Every chunk names the frame its bytes came from ([`At`]): bytes held
//! behind a hole keep their segment's frame and time, so a packet released
//! later is still reported where it was on the wire. A gap names the frame
//! where the hole showed (the first segment that arrived beyond it).
//!
//! Memory: what waits behind a hole is counted with its bookkeeping (an
//! entry per run of contiguous bytes, a mark per segment that added to it),
//! so the `--max-buffered` cap bounds real memory even for one-byte
//! segments; adjacent segments arriving in order are appended to one run.

use crate::base::At;
use std::collections::{BTreeMap, VecDeque};

/// What a direction hands its consumer, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// Bytes, and the frame they came from.
    Data(&'a [u8], At),
    /// `n` stream bytes were never captured; delivery resumes after them.
    /// `At` is where the hole showed.
    Gap(u64, At),
}

/// Counters of one direction; the `client_to_server` / `server_to_client` objects of the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirStats {
    /// Stream bytes delivered in order (each byte once; retransmitted copies not counted).
    pub bytes: u64,
    /// Every TCP segment sent in this direction, pure ACKs included.
    pub segments: u64,
    /// Segments whose data had already been seen in full or in part.
    pub retransmissions: u64,
    /// Segments that arrived ahead of a hole and were buffered.
    pub out_of_order: u64,
    /// Stream bytes that were never captured (skipped as gaps).
    pub gap_bytes: u64,
    /// Segments whose bytes arrived after they had been given up as a gap
    /// (the buffer cap forced the gap first): late, not retransmitted.
    pub late_after_gap: u64,
    /// Segments with sequence numbers outside any possible TCP window
    /// (more than 2^30 from the stream): ignored.
    pub out_of_window: u64,
}

/// The largest TCP window (RFC 7323: 2^30 bytes); data further from the
/// next expected byte than this cannot belong to the stream.
const MAX_WINDOW: i64 = 1 << 30;
/// Memory an entry of the out-of-order buffer costs beside its bytes
/// (B-tree slot, the entry's vectors), as counted against the cap.
pub(super) const ENTRY_COST: usize = 96;
/// Memory a mark (a segment's frame within a run) costs, as counted against the cap.
pub(super) const MARK_COST: usize = std::mem::size_of::<Mark>();
/// Gaps remembered per direction to tell late data from retransmissions.
const RECENT_GAPS: usize = 16;

/// Where a segment's bytes start within a buffered run, and its frame.
#[derive(Debug, Clone, Copy)]
struct Mark {
    start: usize,
    at: At,
}

/// A run of contiguous bytes waiting behind a hole.
#[derive(Debug)]
struct Pending {
    data: Vec<u8>,
    /// Bytes after `data` that the segment had on the wire but the capture cut (snaplen).
    missing: u64,
    /// The frames the bytes came from; the first starts at 0.
    marks: Vec<Mark>,
}

impl Pending {
    fn wire_len(&self) -> u64 {
        self.data.len() as u64 + self.missing
    }

    /// What the entry costs against the cap.
    fn cost(&self) -> usize {
        ENTRY_COST + self.data.len() + self.marks.len() * MARK_COST
    }

    /// The frame of the entry's first byte.
    fn first_at(&self) -> At {
        self.marks.first().map_or_else(At::default, |m| m.at)
    }
}

/// How a segment's data was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Nothing new: fully seen before.
    Retransmission,
    /// New data, delivered now (possibly releasing buffered data too).
    InOrder { overlapped: bool },
    /// Ahead of a hole: buffered until the hole fills or is declared a gap.
    Buffered { added_nothing: bool },
    /// A keep-alive (one byte or none, one before the next expected sequence number).
    KeepAlive,
    /// One byte probing a zero window: the same byte is sent again later.
    ZeroWindowProbe,
    /// An empty segment (pure ACK) or a FIN only.
    Empty,
    /// Bytes that had already been given up as a gap.
    Late,
    /// Sequence numbers no TCP window can reach.
    OutOfWindow,
}

/// State of one direction.
#[derive(Debug, Default)]
pub struct HalfStream {
    /// Next expected sequence number; `None` until the first SYN or data segment.
    next_seq: Option<u32>,
    /// Stream offset of `next_seq` (bytes delivered or skipped so far, plus SYN/FIN).
    next_off: i64,
    pending: BTreeMap<i64, Pending>,
    /// Memory held by `pending`, as counted against the cap.
    pending_cost: usize,
    /// Stream offset the FIN occupies, once seen, and its frame.
    fin_off: Option<i64>,
    fin_at: At,
    fin_done: bool,
    /// The peer has acknowledged up to this offset (exclusive).
    peer_acked: Option<i64>,
    /// Last window the peer advertised (for zero-window probes).
    peer_window: Option<u16>,
    /// The latest gaps, `[start, end)`, to recognise late data.
    recent_gaps: VecDeque<(i64, i64)>,
    /// How far acknowledged-but-unseen bytes were already reported (see
    /// [`HalfStream::newly_acked_unseen`]).
    unseen_reported: i64,
    pub stats: DirStats,
}

impl HalfStream {
    /// The SYN (or SYN/ACK) fixes the initial sequence number; data starts one after it.
    pub fn on_syn(&mut self, isn: u32) {
        if self.next_seq.is_none() {
            self.next_seq = Some(isn.wrapping_add(1));
            self.next_off = 0;
        }
    }

    /// Whether this direction has been synchronised (SYN or first data seen).
    #[cfg(test)]
    pub fn is_synced(&self) -> bool {
        self.next_seq.is_some()
    }

    /// Whether the FIN has been reached in order.
    pub fn fin_done(&self) -> bool {
        self.fin_done
    }

    /// Memory held for out-of-order data, as counted against the cap.
    #[cfg(test)]
    pub fn pending_cost(&self) -> usize {
        self.pending_cost
    }

    /// Bytes currently buffered out of order.
    #[cfg(test)]
    pub fn pending_bytes(&self) -> usize {
        self.pending.values().map(|p| p.data.len()).sum()
    }

    fn offset_of(&self, seq: u32) -> i64 {
        let next = self.next_seq.unwrap_or(seq);
        self.next_off + (seq.wrapping_sub(next) as i32) as i64
    }

    fn advance(&mut self, n: u64) {
        self.next_off = self.next_off.saturating_add(n as i64);
        if let Some(s) = self.next_seq.as_mut() {
            *s = s.wrapping_add(n as u32);
        }
    }

    /// Records the peer's acknowledgement and window (they travel in the other direction).
    pub fn on_peer_ack(&mut self, ack: u32, window: u16) {
        self.peer_window = Some(window);
        if self.next_seq.is_none() {
            return;
        }
        let off = self.offset_of(ack);
        if off.abs_diff(self.next_off) > MAX_WINDOW as u64 {
            return; // an acknowledgement no window can reach: ignored
        }
        if self.peer_acked.is_none_or(|a| off > a) {
            self.peer_acked = Some(off);
        }
    }

    /// Takes one segment's data (`missing` = bytes the capture cut off the
    /// end) and FIN flag; `at` is the segment's frame.
    pub fn on_segment(
        &mut self,
        seq: u32,
        payload: &[u8],
        missing: u32,
        fin: bool,
        at: At,
        emit: &mut dyn FnMut(Chunk<'_>),
    ) -> Accepted {
        let wire_len = payload.len() as u64 + missing as u64;
        if self.next_seq.is_none() {
            if wire_len == 0 && !fin {
                return Accepted::Empty; // pure ACK: wait for data to learn where the stream is
            }
            // Mid-stream pickup: the stream starts with this segment.
            self.next_seq = Some(seq);
            self.next_off = 0;
        }
        let off = self.offset_of(seq);
        if wire_len > 0 && off.abs_diff(self.next_off) > MAX_WINDOW as u64 {
            self.stats.out_of_window += 1;
            return Accepted::OutOfWindow;
        }
        if fin {
            let at_off = off.saturating_add(wire_len as i64);
            if self.fin_off.is_none() {
                self.fin_off = Some(at_off);
                self.fin_at = at;
            }
        }
        let result = if wire_len == 0 {
            self.pure_ack_past_hole(off, at, emit);
            Accepted::Empty
        } else {
            self.place(off, payload, missing as u64, at, emit)
        };
        self.reach_fin();
        result
    }

    fn place(
        &mut self,
        off: i64,
        payload: &[u8],
        missing: u64,
        at: At,
        emit: &mut dyn FnMut(Chunk<'_>),
    ) -> Accepted {
        let wire_len = payload.len() as u64 + missing;
        let end = off.saturating_add(wire_len as i64);
        if end <= self.next_off {
            if wire_len <= 1 && end == self.next_off && self.pending.is_empty() {
                return Accepted::KeepAlive;
            }
            if self.was_given_up(off, end) {
                self.stats.late_after_gap += 1;
                return Accepted::Late;
            }
            self.stats.retransmissions += 1;
            return Accepted::Retransmission;
        }
        if off > self.next_off {
            let added = self.buffer(off, payload, missing, at);
            if added {
                self.stats.out_of_order += 1;
            } else {
                self.stats.retransmissions += 1;
            }
            return Accepted::Buffered {
                added_nothing: !added,
            };
        }
        if wire_len == 1 && off == self.next_off && self.peer_window == Some(0) {
            return Accepted::ZeroWindowProbe;
        }
        // off <= next_off < end: deliver what is new (borrowed straight from the segment).
        let skip = (self.next_off - off) as u64;
        let overlapped = skip > 0;
        if overlapped {
            self.stats.retransmissions += 1;
        }
        self.deliver(payload, missing, skip, at, emit);
        self.drain(emit);
        Accepted::InOrder { overlapped }
    }

    /// A segment without data whose sequence number is past the next
    /// expected byte, the peer having acknowledged up to it: the sender sent
    /// bytes the capture never had (a lost DISCONNECT, a lost CONNECT) —
    /// a gap, shown by this segment.
    fn pure_ack_past_hole(&mut self, off: i64, at: At, emit: &mut dyn FnMut(Chunk<'_>)) {
        if off > self.next_off
            && self.pending.is_empty()
            && self.peer_acked.is_some_and(|a| a >= off)
        {
            self.skip_gap((off - self.next_off) as u64, at, emit);
        }
    }

    /// Whether the peer has acknowledged bytes of this direction the
    /// capture has not shown (yet), further than last reported: the peer's
    /// data from now on may answer bytes that were lost. Reported once per
    /// advance of the acknowledgement.
    pub fn newly_acked_unseen(&mut self) -> bool {
        match self.peer_acked {
            Some(acked) if acked > self.next_off && acked > self.unseen_reported => {
                self.unseen_reported = acked;
                true
            }
            _ => false,
        }
    }

    /// Whether `[off, end)` lies wholly in bytes declared a gap.
    fn was_given_up(&self, off: i64, end: i64) -> bool {
        self.recent_gaps.iter().any(|&(a, b)| a <= off && end <= b)
    }

    /// Delivers `payload` + `missing` trailing bytes, skipping the first `skip` (already seen).
    fn deliver(
        &mut self,
        payload: &[u8],
        missing: u64,
        skip: u64,
        at: At,
        emit: &mut dyn FnMut(Chunk<'_>),
    ) {
        let cap = payload.len() as u64;
        if skip < cap {
            let data = payload.get(skip as usize..).unwrap_or_default();
            self.stats.bytes += data.len() as u64;
            self.advance(data.len() as u64);
            emit(Chunk::Data(data, at));
        }
        let missing_left = (cap + missing).saturating_sub(skip.max(cap));
        if missing_left > 0 {
            self.skip_gap(missing_left, at, emit);
        }
    }

    /// Delivers a buffered run from `skip` on, each segment's bytes with their own frame.
    fn deliver_pending(&mut self, p: &Pending, skip: u64, emit: &mut dyn FnMut(Chunk<'_>)) {
        let len = p.data.len();
        for (i, m) in p.marks.iter().enumerate() {
            let end = p.marks.get(i + 1).map_or(len, |n| n.start);
            let start = m.start.max(usize::try_from(skip).unwrap_or(usize::MAX));
            if start >= end {
                continue;
            }
            let data = p.data.get(start..end).unwrap_or_default();
            self.stats.bytes += data.len() as u64;
            self.advance(data.len() as u64);
            emit(Chunk::Data(data, m.at));
        }
        let captured = len as u64;
        let missing_left = (captured + p.missing).saturating_sub(skip.max(captured));
        if missing_left > 0 {
            let at = p.marks.last().map_or_else(At::default, |m| m.at);
            self.skip_gap(missing_left, at, emit);
        }
    }

    fn skip_gap(&mut self, n: u64, at: At, emit: &mut dyn FnMut(Chunk<'_>)) {
        self.stats.gap_bytes += n;
        let start = self.next_off;
        self.advance(n);
        if self.recent_gaps.len() >= RECENT_GAPS {
            self.recent_gaps.pop_front();
        }
        self.recent_gaps.push_back((start, self.next_off));
        emit(Chunk::Gap(n, at));
    }

    /// Releases buffered data that has become contiguous.
    fn drain(&mut self, emit: &mut dyn FnMut(Chunk<'_>)) {
        while let Some(entry) = self.pending.first_entry() {
            let off = *entry.key();
            if off > self.next_off {
                break;
            }
            let p = entry.remove();
            self.pending_cost = self.pending_cost.saturating_sub(p.cost());
            let end = off.saturating_add(p.wire_len() as i64);
            if end <= self.next_off {
                continue;
            }
            let skip = (self.next_off - off) as u64;
            self.deliver_pending(&p, skip, emit);
        }
    }

    /// Buffers the parts of a segment not already buffered (first copy wins).
    /// Returns whether anything new was added.
    fn buffer(&mut self, off: i64, payload: &[u8], missing: u64, at: At) -> bool {
        let end = off.saturating_add((payload.len() as u64 + missing) as i64);
        // Uncovered sub-intervals of [off, end), walking the buffered entries that overlap it.
        let mut holes: Vec<(i64, i64)> = Vec::new();
        let mut cursor = off;
        let start_key = self
            .pending
            .range(..=off)
            .next_back()
            .map(|(k, _)| *k)
            .unwrap_or(off);
        for (&k, p) in self.pending.range(start_key..end) {
            let k_end = k.saturating_add(p.wire_len() as i64);
            if k > cursor {
                holes.push((cursor, k.min(end)));
            }
            cursor = cursor.max(k_end);
            if cursor >= end {
                break;
            }
        }
        if cursor < end {
            holes.push((cursor, end));
        }
        let captured_end = off + payload.len() as i64;
        let mut added = false;
        for (a, b) in holes {
            if b <= a {
                continue;
            }
            let data_a = (a.min(captured_end) - off) as usize;
            let data_b = (b.min(captured_end) - off) as usize;
            let data = payload.get(data_a..data_b).unwrap_or_default();
            let miss = (b - a.max(captured_end)).max(0) as u64;
            self.insert(a, data, miss, at);
            added = true;
        }
        added
    }

    /// Adds a run at `a`: appended to the run that ends exactly there (in
    /// order after a hole, the common case), else a new entry.
    fn insert(&mut self, a: i64, data: &[u8], missing: u64, at: At) {
        if let Some((&k, prev)) = self.pending.range_mut(..a).next_back()
            && prev.missing == 0
            && k.saturating_add(prev.data.len() as i64) == a
        {
            let before = prev.cost();
            let start = prev.data.len();
            prev.data.extend_from_slice(data);
            prev.missing = missing;
            if prev.marks.last().is_none_or(|m| m.at != at) {
                prev.marks.push(Mark { start, at });
            }
            let after = prev.cost();
            self.pending_cost = self
                .pending_cost
                .saturating_sub(before)
                .saturating_add(after);
            return;
        }
        let p = Pending {
            data: data.to_vec(),
            missing,
            marks: vec![Mark { start: 0, at }],
        };
        self.pending_cost = self.pending_cost.saturating_add(p.cost());
        self.pending.insert(a, p);
    }

    /// Declares a gap when the peer has acknowledged past a hole that
    /// buffered data (or the FIN) waits behind. Returns whether a gap was
    /// declared.
    pub fn gap_if_acked_past(&mut self, emit: &mut dyn FnMut(Chunk<'_>)) -> bool {
        let Some(acked) = self.peer_acked else {
            return false;
        };
        if acked <= self.next_off {
            return false;
        }
        // The hole is [next_off, first byte or FIN after it); the peer got
        // bytes we never saw.
        let behind = match self.pending.first_key_value() {
            Some((&first, p)) => Some((first, p.first_at())),
            None => self
                .fin_off
                .filter(|_| !self.fin_done)
                .map(|fin| (fin, self.fin_at)),
        };
        let Some((first, at)) = behind.filter(|&(first, _)| first > self.next_off) else {
            return false;
        };
        self.skip_gap((first - self.next_off) as u64, at, emit);
        self.drain(emit);
        self.reach_fin();
        true
    }

    /// Declares a gap when the out-of-order buffer costs more than `cap`,
    /// skipping to the first buffered byte.
    pub fn gap_if_over(&mut self, cap: usize, emit: &mut dyn FnMut(Chunk<'_>)) -> bool {
        if self.pending_cost <= cap {
            return false;
        }
        self.force_next_gap(emit);
        self.reach_fin();
        true
    }

    fn force_next_gap(&mut self, emit: &mut dyn FnMut(Chunk<'_>)) {
        if let Some((&first, p)) = self.pending.first_key_value() {
            if first > self.next_off {
                let at = p.first_at();
                self.skip_gap((first - self.next_off) as u64, at, emit);
            }
            self.drain(emit);
        }
    }

    /// At the end of a connection (`at`): every hole becomes a gap and all
    /// buffered data is delivered.
    pub fn flush(&mut self, at: At, emit: &mut dyn FnMut(Chunk<'_>)) {
        while !self.pending.is_empty() {
            self.force_next_gap(emit);
        }
        // A FIN beyond what was captured: the bytes before it were never seen.
        if let Some(fin) = self.fin_off
            && !self.fin_done
            && fin > self.next_off
        {
            self.skip_gap((fin - self.next_off) as u64, at, emit);
        }
        self.reach_fin();
    }

    fn reach_fin(&mut self) {
        if let Some(fin) = self.fin_off
            && !self.fin_done
            && self.next_off >= fin
        {
            self.fin_done = true;
            if self.next_off == fin {
                self.advance(1); // FIN consumes one sequence number
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects delivered chunks as (data, gaps) in order, and their frames.
    #[derive(Default, Debug, PartialEq)]
    struct Out(Vec<Result<Vec<u8>, u64>>, Vec<u64>);

    impl Out {
        fn bytes(&self) -> Vec<u8> {
            self.0
                .iter()
                .filter_map(|c| c.as_ref().ok())
                .flatten()
                .copied()
                .collect()
        }
        fn gaps(&self) -> Vec<u64> {
            self.0
                .iter()
                .filter_map(|c| c.as_ref().err())
                .copied()
                .collect()
        }
    }

    /// Frame `n` at `n` ms.
    fn at(n: u64) -> At {
        At {
            frame: n,
            ts: crate::base::Timestamp::new(1, n * 1_000_000, 6),
        }
    }

    /// Sends `data` at `seq` as frame `seq` (frames are the sequence numbers
    /// here, which makes "which frame did these bytes come from" readable).
    fn seg(h: &mut HalfStream, out: &mut Out, seq: u32, data: &[u8]) -> Accepted {
        h.on_segment(seq, data, 0, false, at(u64::from(seq)), &mut sink(out))
    }

    fn sink(out: &mut Out) -> impl FnMut(Chunk<'_>) + '_ {
        |c| match c {
            Chunk::Data(d, at) => {
                out.0.push(Ok(d.to_vec()));
                out.1.push(at.frame);
            }
            Chunk::Gap(n, at) => {
                out.0.push(Err(n));
                out.1.push(at.frame);
            }
        }
    }

    #[test]
    fn in_order_after_syn() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(999);
        assert_eq!(
            seg(&mut h, &mut out, 1000, b"abc"),
            Accepted::InOrder { overlapped: false }
        );
        seg(&mut h, &mut out, 1003, b"def");
        assert_eq!(out.bytes(), b"abcdef");
        assert_eq!(h.stats.bytes, 6);
        assert_eq!(h.stats.retransmissions, 0);
    }

    #[test]
    fn out_of_order_is_released_when_hole_fills() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        seg(&mut h, &mut out, 1, b"aa");
        assert_eq!(
            seg(&mut h, &mut out, 5, b"cc"),
            Accepted::Buffered {
                added_nothing: false
            }
        );
        seg(&mut h, &mut out, 7, b"dd");
        assert_eq!(out.bytes(), b"aa");
        assert_eq!(h.pending_bytes(), 4);
        seg(&mut h, &mut out, 3, b"bb");
        assert_eq!(out.bytes(), b"aabbccdd");
        assert_eq!(h.stats.out_of_order, 2);
        assert_eq!(h.pending_bytes(), 0);
    }

    #[test]
    fn retransmission_and_overlap_first_copy_wins() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        seg(&mut h, &mut out, 1, b"abcd");
        assert_eq!(seg(&mut h, &mut out, 1, b"XXXX"), Accepted::Retransmission);
        // overlaps the last two bytes and adds two
        assert_eq!(
            seg(&mut h, &mut out, 3, b"YYef"),
            Accepted::InOrder { overlapped: true }
        );
        assert_eq!(out.bytes(), b"abcdef");
        assert_eq!(h.stats.retransmissions, 2);
        assert_eq!(h.stats.bytes, 6);
    }

    #[test]
    fn overlapping_out_of_order_segments_keep_first_copy() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        seg(&mut h, &mut out, 5, b"EFGH"); // offsets 4..8
        seg(&mut h, &mut out, 3, b"xxyyZZ"); // offsets 2..8: 2..4 new, 4..8 already buffered
        assert_eq!(
            seg(&mut h, &mut out, 6, b"QQ"),
            Accepted::Buffered {
                added_nothing: true
            }
        );
        seg(&mut h, &mut out, 1, b"ab");
        assert_eq!(out.bytes(), b"abxxEFGH");
    }

    #[test]
    fn sequence_wrap_past_2_pow_32() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(u32::MAX - 2); // data starts at MAX-1
        seg(&mut h, &mut out, u32::MAX - 1, b"ab"); // MAX-1, MAX
        seg(&mut h, &mut out, 2, b"de"); // out of order after the wrap
        seg(&mut h, &mut out, 0, b"cc"); // 0,1: "c" new, then releases
        assert_eq!(out.bytes(), b"abccde");
        // retransmission from before the wrap is recognised as old
        assert_eq!(
            seg(&mut h, &mut out, u32::MAX - 1, b"ab"),
            Accepted::Retransmission
        );
    }

    #[test]
    fn gap_declared_when_peer_acks_past_hole() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        seg(&mut h, &mut out, 1, b"aa");
        seg(&mut h, &mut out, 10, b"zz"); // hole 3..10 (offsets 2..9)
        assert!(!h.gap_if_acked_past(&mut sink(&mut out)), "no ack yet");
        h.on_peer_ack(12, 1000);
        assert!(h.gap_if_acked_past(&mut sink(&mut out)));
        assert_eq!(out.0, vec![Ok(b"aa".to_vec()), Err(7), Ok(b"zz".to_vec())]);
        assert_eq!(h.stats.gap_bytes, 7);
        // the copy of the hole arriving now is late, not a retransmission
        assert_eq!(seg(&mut h, &mut out, 3, b"1234567"), Accepted::Late);
        assert_eq!((h.stats.late_after_gap, h.stats.retransmissions), (1, 0));
    }

    #[test]
    fn ack_before_data_does_not_invent_a_gap() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        h.on_peer_ack(50, 1000); // capture saw the ACK first
        assert!(!h.gap_if_acked_past(&mut sink(&mut out)));
        seg(&mut h, &mut out, 1, b"abc");
        assert_eq!(out.bytes(), b"abc");
        assert!(out.gaps().is_empty());
    }

    #[test]
    fn buffer_cap_forces_gap() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        seg(&mut h, &mut out, 101, &[7u8; 60]);
        assert!(!h.gap_if_over(200, &mut sink(&mut out)));
        seg(&mut h, &mut out, 161, &[8u8; 60]);
        assert!(h.gap_if_over(200, &mut sink(&mut out)));
        assert_eq!(out.gaps(), vec![100]);
        assert_eq!(out.bytes().len(), 120);
        assert_eq!(h.pending_bytes(), 0);
        assert_eq!(h.pending_cost(), 0);
        // the gap names the frame where the hole showed, the data its own frames
        assert_eq!(out.1, vec![101, 101, 161]);
    }

    #[test]
    fn released_bytes_keep_their_frames() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        seg(&mut h, &mut out, 1, b"a");
        seg(&mut h, &mut out, 4, b"dd"); // hole at 2..4
        seg(&mut h, &mut out, 6, b"ee");
        seg(&mut h, &mut out, 2, b"bc"); // fills it: releases frames 4 and 6
        assert_eq!(out.bytes(), b"abcddee");
        assert_eq!(out.1, vec![1, 2, 4, 6]);
        // a hole the peer acknowledged past: the gap at the first frame behind it
        seg(&mut h, &mut out, 20, b"zz");
        h.on_peer_ack(22, 100);
        assert!(h.gap_if_acked_past(&mut sink(&mut out)));
        assert_eq!(out.0.last(), Some(&Ok(b"zz".to_vec())));
        assert_eq!(&out.1[4..], &[20, 20]);
    }

    #[test]
    fn adjacent_segments_share_one_entry_and_the_cost_is_real() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        for seq in 10..1010u32 {
            seg(&mut h, &mut out, seq, b"x"); // one byte each, behind a hole at 1..10
        }
        assert_eq!(h.pending.len(), 1, "appended to one run");
        assert_eq!(h.pending_bytes(), 1000);
        assert!(h.pending_cost() >= 1000 + 1000 * MARK_COST);
        seg(&mut h, &mut out, 1, b"123456789");
        assert_eq!(out.bytes().len(), 1009);
        assert_eq!(out.1.len(), 1001, "each released byte with its own frame");
        assert_eq!(out.1.last(), Some(&1009));
        assert_eq!(h.pending_cost(), 0);
    }

    #[test]
    fn bytes_given_up_then_arriving_are_late_not_retransmitted() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        seg(&mut h, &mut out, 1001, &[1u8; 500]);
        assert!(h.gap_if_over(100, &mut sink(&mut out)));
        assert_eq!(out.gaps(), vec![1000]);
        // descending data inside the hole we gave up on
        for seq in (1..1001u32).rev().step_by(100) {
            assert_eq!(seg(&mut h, &mut out, seq - 99, &[2u8; 100]), Accepted::Late);
        }
        assert_eq!(h.stats.retransmissions, 0);
        assert_eq!(h.stats.late_after_gap, 10);
        // a real retransmission of delivered bytes is still one
        assert_eq!(
            seg(&mut h, &mut out, 1001, &[1u8; 500]),
            Accepted::Retransmission
        );
    }

    #[test]
    fn sequence_numbers_out_of_any_window_are_ignored() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        seg(&mut h, &mut out, 1, b"ab");
        let far = 1u32.wrapping_add(1 << 31);
        assert_eq!(seg(&mut h, &mut out, far, b"zz"), Accepted::OutOfWindow);
        assert_eq!(
            seg(&mut h, &mut out, far.wrapping_add(7), b"zz"),
            Accepted::OutOfWindow
        );
        h.on_peer_ack(far, 100);
        assert!(!h.gap_if_acked_past(&mut sink(&mut out)));
        seg(&mut h, &mut out, 3, b"cd");
        assert_eq!(out.bytes(), b"abcd");
        assert!(out.gaps().is_empty());
        assert_eq!(h.stats.out_of_window, 2);
    }

    #[test]
    fn a_pure_ack_past_an_acknowledged_hole_shows_the_gap() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        // not acknowledged: maybe reordering, no gap yet
        h.on_segment(17, b"", 0, false, at(16), &mut sink(&mut out));
        assert!(out.gaps().is_empty());
        h.on_peer_ack(17, 100);
        assert!(h.newly_acked_unseen());
        assert!(!h.newly_acked_unseen(), "once per advance");
        h.on_segment(17, b"", 0, false, at(17), &mut sink(&mut out));
        assert_eq!(out.gaps(), vec![16]);
        assert_eq!(out.1, vec![17]);
        seg(&mut h, &mut out, 17, b"x");
        assert_eq!(out.bytes(), b"x");
    }

    #[test]
    fn a_fin_behind_a_hole_the_peer_acknowledged_is_a_gap_at_once() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        seg(&mut h, &mut out, 1, b"abcd");
        h.on_peer_ack(9, 100); // the peer got 4 bytes we never saw
        h.on_segment(9, b"", 0, true, at(11), &mut sink(&mut out));
        assert_eq!(out.gaps(), vec![4], "declared with the FIN that shows it");
        assert!(!h.gap_if_acked_past(&mut sink(&mut out)));
        assert_eq!(out.1.last(), Some(&11));
        assert!(h.fin_done());
    }

    #[test]
    fn flush_turns_holes_into_gaps_and_fin_counts() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        seg(&mut h, &mut out, 1, b"a");
        h.on_segment(5, b"e", 0, true, at(5), &mut sink(&mut out)); // hole, then data + FIN
        assert!(!h.fin_done());
        h.flush(at(9), &mut sink(&mut out));
        assert_eq!(out.0, vec![Ok(b"a".to_vec()), Err(3), Ok(b"e".to_vec())]);
        assert!(h.fin_done());
    }

    #[test]
    fn fin_consumes_one_sequence_number() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        h.on_segment(1, b"ab", 0, true, at(1), &mut sink(&mut out));
        assert!(h.fin_done());
        // retransmitted FIN: nothing new, no gap
        h.on_segment(1, b"ab", 0, true, at(2), &mut sink(&mut out));
        h.on_peer_ack(4, 100);
        assert!(!h.gap_if_acked_past(&mut sink(&mut out)));
        assert_eq!(out.0, vec![Ok(b"ab".to_vec())]);
    }

    #[test]
    fn midstream_pickup_starts_at_first_data() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        assert_eq!(seg(&mut h, &mut out, 5000, b""), Accepted::Empty);
        assert!(!h.is_synced());
        seg(&mut h, &mut out, 7000, b"xyz");
        seg(&mut h, &mut out, 7003, b"!");
        assert_eq!(out.bytes(), b"xyz!");
    }

    #[test]
    fn keepalive_and_zero_window_probe_are_not_data() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        seg(&mut h, &mut out, 1, b"abc");
        assert_eq!(seg(&mut h, &mut out, 3, b"c"), Accepted::KeepAlive);
        assert_eq!(seg(&mut h, &mut out, 3, b""), Accepted::Empty);
        h.on_peer_ack(4, 0);
        assert_eq!(seg(&mut h, &mut out, 4, b"d"), Accepted::ZeroWindowProbe);
        h.on_peer_ack(4, 512);
        seg(&mut h, &mut out, 4, b"de");
        assert_eq!(out.bytes(), b"abcde");
        assert_eq!(h.stats.retransmissions, 0);
    }

    #[test]
    fn snaplen_cut_bytes_become_a_gap() {
        let mut h = HalfStream::default();
        let mut out = Out::default();
        h.on_syn(0);
        h.on_segment(1, b"abc", 5, false, at(1), &mut sink(&mut out));
        seg(&mut h, &mut out, 9, b"next");
        assert_eq!(
            out.0,
            vec![Ok(b"abc".to_vec()), Err(5), Ok(b"next".to_vec())]
        );
        assert_eq!(h.stats.gap_bytes, 5);
    }
}
