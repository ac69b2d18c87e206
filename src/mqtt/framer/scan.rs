//! Resynchronisation: scanning for the next plausible packet boundary
//! after a TCP gap, a malformed packet, or when the stream was picked up
//! mid-connection.
//!
//! Whether a position *is* plausible is [`crate::mqtt::resync`]'s judgement
//! (pure, on the bytes at that position); this module walks the positions
//! and keeps what a scan needs between slices:
//!
//! * a candidate that needs more bytes holds the bytes from it on in a
//!   *scan window* (up to the window size plus 16), each byte with its
//!   frame; the next slice extends the window and the scan starts over at
//!   its first position;
//! * when a boundary is found inside a window, the window from there on
//!   and the rest of the slice are *set aside* and framed next, ahead of
//!   anything newer, each piece at its own frame — through a queue, never
//!   by recursion, which hostile input could nest deeply;
//! * bytes taken back for a rescan (a packet whose length turned out not
//!   to be trusted) are scanned at once rather than waiting for the next
//!   slice;
//! * at a gap or the end of the stream no byte will continue the window:
//!   it is *concluded* — candidates waiting for more are rejected and what
//!   follows the first accepted one is framed — so that the packets it
//!   holds are not lost with it.
//!
//! The end of a scan is reported (`Unit::Resync`) at the frame of the
//! boundary where decoding resumed (rule 3 in [`super::boundary`]).

use super::boundary::{Framer, State};
use super::held::Held;
use super::{Sink, Unit};
use crate::base::At;
use crate::mqtt::header::ProtocolVersion;
use crate::mqtt::resync::{self, Candidate};
use std::collections::VecDeque;

/// Why the framer was scanning for a packet boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncCause {
    /// Bytes were missing from the capture.
    Gap,
    /// A packet did not decode.
    Malformed,
    /// The capture started in the middle of the connection.
    MidStream,
}

/// A scan in progress: what the framer remembers while looking for a boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Scan {
    /// Bytes passed over since the last event.
    skipped: u64,
    cause: ResyncCause,
    /// The first position may carry violations (a malformed packet of
    /// trusted length ended there).
    lenient: bool,
    /// A resync event was already emitted for this scan.
    announced: bool,
}

impl Scan {
    /// A scan for `cause`, from the next byte.
    pub const fn new(cause: ResyncCause) -> Scan {
        Scan {
            skipped: 0,
            cause,
            lenient: false,
            announced: false,
        }
    }

    /// A scan at the end of a malformed packet whose length was trusted:
    /// its first position is the likely boundary, violations allowed.
    pub const fn at_trusted_end() -> Scan {
        Scan {
            lenient: true,
            ..Scan::new(ResyncCause::Malformed)
        }
    }

    /// Back to scanning after the one packet a scan accepted on
    /// unconfirmed evidence; its resumption was already reported.
    pub const fn on_probation(cause: ResyncCause) -> Scan {
        Scan {
            announced: true,
            ..Scan::new(cause)
        }
    }

    /// A scan that already passed over `skipped` bytes that were not a
    /// packet (a fixed header cut short by a proven boundary).
    pub const fn passed_over(skipped: u64) -> Scan {
        Scan {
            skipped,
            ..Scan::new(ResyncCause::Malformed)
        }
    }

    /// A scan after a gap, carrying over the bytes passed over before it.
    pub const fn after_gap(skipped: u64) -> Scan {
        Scan {
            skipped,
            ..Scan::new(ResyncCause::Gap)
        }
    }

    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Whether the first position of what is scanned next is judged
    /// leniently: only right where a malformed packet of trusted length
    /// ended, before anything was passed over.
    fn lenient_first(&self) -> bool {
        self.lenient && self.skipped == 0
    }

    /// What to report when decoding resumes: the bytes passed over, if
    /// any, and (once per scan) that a gap was resynchronised.
    fn resumed(&self) -> Option<Unit<'static>> {
        (self.skipped > 0 || (self.cause == ResyncCause::Gap && !self.announced)).then_some(
            Unit::Resync {
                skipped: self.skipped,
                cause: self.cause,
                resumed: true,
            },
        )
    }

    /// What to report when the stream ends during the scan, with `held`
    /// bytes still in the window.
    pub fn ended(&self, held: usize) -> Option<Unit<'static>> {
        let skipped = self.skipped.saturating_add(held as u64);
        (skipped > 0).then_some(Unit::Resync {
            skipped,
            cause: self.cause,
            resumed: false,
        })
    }
}

/// Where a scan over some bytes stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Found {
    /// A plausible boundary at this offset; `one`: the packet there could
    /// not be confirmed by the next one, so only it is framed before
    /// scanning again.
    Boundary { at: usize, one: bool },
    /// The candidate at this offset waits for more bytes.
    Wait { at: usize },
    /// No position is a boundary, nor worth waiting for.
    Nothing,
}

/// Whether a candidate that needs more bytes stops the scan to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Waiting {
    /// Always (the bytes from it on become the scan window).
    Always,
    /// Only while the bytes from it on are fewer than this.
    Below(usize),
    /// Never: no more bytes will continue these (a gap, the end).
    Never,
}

/// Scans `bytes` for the first position that is a plausible boundary or
/// worth waiting at (see [`Waiting`]).
pub(super) fn find(
    bytes: &[u8],
    hint: Option<ProtocolVersion>,
    window: usize,
    lenient_first: bool,
    waiting: Waiting,
) -> Found {
    for p in 0..bytes.len() {
        let at_p = bytes.get(p..).unwrap_or_default();
        let params = resync::Params {
            hint,
            window,
            lenient: lenient_first && p == 0,
        };
        match resync::check(at_p, &params) {
            Candidate::Accept => return Found::Boundary { at: p, one: false },
            Candidate::AcceptOne => return Found::Boundary { at: p, one: true },
            Candidate::NeedMore => match waiting {
                Waiting::Always => return Found::Wait { at: p },
                Waiting::Below(limit) if at_p.len() < limit => return Found::Wait { at: p },
                Waiting::Below(_) | Waiting::Never => {}
            },
            Candidate::Reject => {}
        }
    }
    Found::Nothing
}

/// One entry of the replay queue.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Piece {
    /// Bytes, with the frame they came in.
    Bytes(Vec<u8>, At),
    /// A packet boundary proven by evidence ([`super::evidence`]): the
    /// bytes before it are a closed segment, a packet starts right after
    /// it (in frame `At`). Whatever the framer is in the middle of there
    /// is cut short ([`Framer::at_fence`]).
    Fence(At),
}

/// Bytes set aside by a scan, with their frames, to be framed before
/// anything newer.
#[derive(Debug, Default)]
pub(super) struct Replay {
    queue: VecDeque<Piece>,
}

impl Replay {
    /// Puts `pieces`, in their order, ahead of everything queued.
    pub fn put_first(&mut self, pieces: Vec<(Vec<u8>, At)>) {
        self.put_pieces_first(
            pieces
                .into_iter()
                .map(|(b, at)| Piece::Bytes(b, at))
                .collect(),
        );
    }

    /// Puts `pieces` (bytes and fences), in their order, ahead of everything queued.
    pub fn put_pieces_first(&mut self, pieces: Vec<Piece>) {
        for piece in pieces.into_iter().rev() {
            self.queue.push_front(piece);
        }
    }

    fn front(&self) -> Option<&Piece> {
        self.queue.front()
    }

    fn next(&mut self) -> Option<Piece> {
        self.queue.pop_front()
    }

    /// Whether a fence is the next piece.
    fn fence_first(&self) -> bool {
        matches!(self.queue.front(), Some(Piece::Fence(_)))
    }
}

/// The framer's transitions while scanning.
impl Framer {
    /// Scans `data` (or, while a window is held, the window extended by
    /// `data`); returns what of `data` is left for framing.
    pub(super) fn resync<'d>(&mut self, data: &'d [u8], sink: &mut Sink<'_>) -> &'d [u8] {
        let State::Resync(scan) = self.state else {
            return data;
        };
        self.unscanned = false;
        let (hint, window, lenient) = (self.hint, self.cfg.window, scan.lenient_first());
        if self.held.is_empty() {
            return match find(data, hint, window, lenient, Waiting::Always) {
                Found::Boundary { at: p, one } => {
                    self.add_skipped(p as u64);
                    self.resume(one, self.at, sink);
                    data.get(p..).unwrap_or_default()
                }
                Found::Wait { at: p } => {
                    self.add_skipped(p as u64);
                    self.append(data.get(p..).unwrap_or_default());
                    &[]
                }
                Found::Nothing => {
                    self.add_skipped(data.len() as u64);
                    &[]
                }
            };
        }
        // Window mode: `held` starts at a position that wanted more bytes.
        let limit = window.saturating_add(16);
        let room = limit.saturating_sub(self.held.len()).max(1);
        let (now, rest) = data.split_at(room.min(data.len()));
        self.append(now);
        match find(
            self.held.bytes(),
            hint,
            window,
            lenient,
            Waiting::Below(limit),
        ) {
            Found::Boundary { at: p, one } => {
                self.add_skipped(p as u64);
                let window = self.held.take();
                let at = window.frame_at(p, self.at);
                self.resume(one, at, sink);
                // The window from the boundary on, then the rest of the
                // input, are framed next, each byte with its own frame.
                self.set_aside(&window, p, rest);
                &[]
            }
            Found::Wait { at: p } => {
                self.add_skipped(p as u64);
                self.held.drop_front(p);
                rest
            }
            Found::Nothing => {
                self.add_skipped(self.held.len() as u64);
                self.release_buffer();
                rest
            }
        }
    }

    fn add_skipped(&mut self, n: u64) {
        if let State::Resync(scan) = &mut self.state {
            scan.skipped = scan.skipped.saturating_add(n);
        }
    }

    /// Leaves the scan at a boundary that came in frame `at`: reports the
    /// bytes passed over (and, once per scan, that decoding resumed after a
    /// gap) at that frame, where decoding resumes, rather than at the frame
    /// that concluded the scan, which may be later than the packets it
    /// precedes; with `one`, only the next packet is framed before scanning
    /// again.
    fn resume(&mut self, one: bool, at: At, sink: &mut Sink<'_>) {
        if let State::Resync(scan) = self.state
            && let Some(unit) = scan.resumed()
        {
            self.emit_at(sink, unit, at);
        }
        self.probation = match self.state {
            State::Resync(scan) if one => Some(scan.cause),
            _ => None,
        };
        self.state = State::Boundary;
    }

    /// Queues `window[from..]` (by the frames of its runs) and then `rest`
    /// (from the current frame) ahead of anything queued before.
    fn set_aside(&mut self, window: &Held, from: usize, rest: &[u8]) {
        let mut pieces = window.pieces_from(from, self.at);
        if !rest.is_empty() {
            pieces.push((rest.to_vec(), self.at));
        }
        self.replay.put_first(pieces);
    }

    /// Frames what scans set aside, each piece at its own frame. A fence
    /// stays at the front of the queue until what lies before it is
    /// settled ([`Self::at_fence`]): bytes that settling sets aside go
    /// ahead of it.
    pub(super) fn drain_replay(&mut self, sink: &mut Sink<'_>) {
        loop {
            match self.replay.front() {
                None => return,
                Some(&Piece::Fence(at)) => {
                    if self.at_fence(at, sink) {
                        self.replay.next();
                    }
                }
                Some(Piece::Bytes(..)) => {
                    let Some(Piece::Bytes(bytes, at)) = self.replay.next() else {
                        return;
                    };
                    self.at = at;
                    let mut rest: &[u8] = &bytes;
                    while !rest.is_empty() {
                        rest = self.step(rest, sink);
                    }
                    self.settle(sink);
                }
            }
        }
    }

    /// The fence at the front of the replay queue (a packet starts right
    /// after it, in frame `at`) is reached: the bytes before it are all
    /// there will be of whatever the framer is in the middle of. Returns
    /// whether the fence is settled (the framer is at a boundary); if not,
    /// bytes were set aside or taken back ahead of it, and it is reached
    /// again once they are framed. Each `false` is followed by framing
    /// that takes whole packets, or drops a byte, before the fence, so a
    /// fence is settled in the end.
    ///
    /// * A scan concludes as at the end of a stream (a candidate that
    ///   waited for more is rejected; what follows the first accepted one
    ///   is framed), and its end is reported at the fence.
    /// * A packet the fence cuts short claims a length that runs past a
    ///   proven boundary: it is reported as implausible and its bytes are
    ///   scanned again from the second one (rule 1 keeps their frames).
    /// * A fixed header cut short is passed over; an oversized packet
    ///   being skipped (already reported) stops being skipped.
    pub(super) fn at_fence(&mut self, at: At, sink: &mut Sink<'_>) -> bool {
        self.settle(sink);
        if !self.replay.fence_first() {
            return false;
        }
        let state = std::mem::replace(&mut self.state, State::Boundary);
        match state {
            State::Boundary if self.held.is_empty() => {}
            State::Boundary => {
                let n = self.held.len() as u64;
                self.release_buffer();
                self.state = State::Resync(Scan::passed_over(n));
                self.resume(false, at, sink);
            }
            State::Body { header } | State::PublishHead(super::publish::Head { header, .. }) => {
                self.cut_short(header, sink);
                return false;
            }
            State::PublishTail(tail) => {
                self.cut_short(tail.header, sink);
                return false;
            }
            State::Skip { .. } => {}
            State::Resync(scan) => {
                self.state = State::Resync(scan);
                if !self.held.is_empty() {
                    let window = self.held.take();
                    let found = find(
                        window.bytes(),
                        self.hint,
                        self.cfg.window,
                        scan.lenient_first(),
                        Waiting::Never,
                    );
                    if let Found::Boundary { at: p, one } = found {
                        self.add_skipped(p as u64);
                        self.resume(one, window.frame_at(p, at), sink);
                        self.set_aside(&window, p, &[]);
                        return false;
                    }
                    self.add_skipped(window.len() as u64);
                }
                self.resume(false, at, sink);
            }
        }
        self.probation = None;
        self.state = State::Boundary;
        true
    }

    /// A packet whose claimed length runs past a fence: reported as
    /// implausible at the frame of its last byte before the fence, and its
    /// bytes scanned again from the second one.
    fn cut_short(&mut self, header: crate::mqtt::header::FixedHeader, sink: &mut Sink<'_>) {
        let last = self
            .held
            .frame_at(self.held.len().saturating_sub(1), self.at);
        self.emit_at(
            sink,
            Unit::HeaderMalformed {
                error: crate::mqtt::error::Malformed::implausible(header),
                start_frame: self.start_frame,
            },
            last,
        );
        self.probation = None;
        self.rescan_buffer();
    }

    /// No byte will follow the scan window contiguously (the stream ended,
    /// or bytes are missing): a candidate that waited for more is rejected,
    /// and the packets after the first accepted one decode, each at the
    /// frame its bytes came in.
    pub(super) fn conclude_window(&mut self, sink: &mut Sink<'_>) {
        let at = self.at;
        while let State::Resync(scan) = self.state
            && !self.held.is_empty()
        {
            let window = self.held.take();
            let found = find(
                window.bytes(),
                self.hint,
                self.cfg.window,
                scan.lenient_first(),
                Waiting::Never,
            );
            match found {
                Found::Boundary { at: p, one } => {
                    self.add_skipped(p as u64);
                    self.resume(one, window.frame_at(p, self.at), sink);
                    self.set_aside(&window, p, &[]);
                    self.drain_replay(sink);
                    self.at = at;
                }
                Found::Wait { .. } | Found::Nothing => self.add_skipped(window.len() as u64),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::FramerConfig;
    use super::super::test_support::{Out, PINGREQ, Rig, at, packet, pkt};
    use super::*;

    const PUBACK: [u8; 4] = [0x40, 0x02, 0x00, 0x01];
    const DISCONNECT: [u8; 2] = [0xe0, 0x00];

    fn cfg() -> FramerConfig {
        FramerConfig {
            preview: 64,
            max_buffer: 4096,
            window: 4096,
        }
    }

    fn resync(skipped: u64, cause: ResyncCause, resumed: bool) -> Out {
        Out::Resync {
            skipped,
            cause,
            resumed,
        }
    }

    fn find_in(bytes: &[u8], lenient_first: bool, waiting: Waiting) -> Found {
        find(bytes, None, 4096, lenient_first, waiting)
    }

    #[test]
    fn find_takes_the_first_boundary_and_says_whether_it_is_confirmed() {
        let confirmed = [&[0x00, 0xff][..], &PUBACK, &PINGREQ].concat();
        assert_eq!(
            find_in(&confirmed, false, Waiting::Always),
            Found::Boundary { at: 2, one: false }
        );
        // Nothing after the PUBACK to confirm it: that one packet only.
        let alone = [&[0x00][..], &PUBACK].concat();
        assert_eq!(
            find_in(&alone, false, Waiting::Always),
            Found::Boundary { at: 1, one: true }
        );
        assert_eq!(
            find_in(&[0x00, 0x01, 0xff], false, Waiting::Always),
            Found::Nothing
        );
        assert_eq!(find_in(&[], false, Waiting::Always), Found::Nothing);
    }

    #[test]
    fn find_waits_at_an_incomplete_candidate_only_when_more_can_come() {
        // A PUBACK cut after its third byte, at offset 1.
        let cut = [0x00, 0x40, 0x02, 0x00];
        assert_eq!(find_in(&cut, false, Waiting::Always), Found::Wait { at: 1 });
        assert_eq!(
            find_in(&cut, false, Waiting::Below(4)),
            Found::Wait { at: 1 }
        );
        // A window already full from there on: the candidate is given up.
        assert_eq!(find_in(&cut, false, Waiting::Below(3)), Found::Nothing);
        assert_eq!(find_in(&cut, false, Waiting::Never), Found::Nothing);
    }

    #[test]
    fn find_is_lenient_at_the_first_position_only() {
        // PUBACK with packet id 0: a violation, so a boundary only where a
        // malformed packet of trusted length ended.
        let id0 = [0x40, 0x02, 0x00, 0x00];
        assert_eq!(
            find_in(&id0, true, Waiting::Always),
            Found::Boundary { at: 0, one: true }
        );
        assert_eq!(find_in(&id0, false, Waiting::Always), Found::Nothing);
        let later = [&[0xff][..], &id0].concat();
        assert_eq!(find_in(&later, true, Waiting::Always), Found::Nothing);
    }

    #[test]
    fn a_scan_reports_what_it_passed_over_and_gaps_once() {
        let gap = Scan::new(ResyncCause::Gap);
        assert!(matches!(
            gap.resumed(),
            Some(Unit::Resync {
                skipped: 0,
                cause: ResyncCause::Gap,
                resumed: true
            })
        ));
        // After a packet taken on probation the gap was reported already.
        assert!(Scan::on_probation(ResyncCause::Gap).resumed().is_none());
        assert!(Scan::new(ResyncCause::MidStream).resumed().is_none());
        assert!(matches!(
            Scan::after_gap(3).resumed(),
            Some(Unit::Resync { skipped: 3, .. })
        ));
        // At the end of the stream, the window counts as passed over.
        assert!(Scan::new(ResyncCause::MidStream).ended(0).is_none());
        assert!(matches!(
            Scan::new(ResyncCause::MidStream).ended(5),
            Some(Unit::Resync {
                skipped: 5,
                cause: ResyncCause::MidStream,
                resumed: false
            })
        ));
        assert!(Scan::at_trusted_end().lenient_first());
        assert!(!Scan::after_gap(0).lenient_first());
    }

    #[test]
    fn set_aside_bytes_are_framed_before_what_was_queued() {
        let mut replay = Replay::default();
        replay.put_first(vec![(vec![3], at(3))]);
        replay.put_first(vec![(vec![1], at(1)), (vec![2], at(2))]);
        let order: Vec<_> = std::iter::from_fn(|| replay.next()).collect();
        assert_eq!(
            order,
            [
                Piece::Bytes(vec![1], at(1)),
                Piece::Bytes(vec![2], at(2)),
                Piece::Bytes(vec![3], at(3))
            ]
        );
    }

    #[test]
    fn a_mid_stream_start_resumes_at_the_first_boundary_wherever_the_slice_ends() {
        // Three bytes of no packet, then a PUBACK (3..7) and a PINGREQ (7..9),
        // cut into two frames at every position. The resync names the frame
        // of the boundary, each packet the frame that completed it.
        let stream = [&[0x00, 0x00, 0x00][..], &PUBACK, &PINGREQ].concat();
        let frame_of = |offset: usize, p: usize| if offset < p { 1 } else { 2 };
        for p in 1..stream.len() {
            let seen = Rig::frames(cfg(), true, &[&stream[..p], &stream[p..]]);
            assert_eq!(
                seen,
                [
                    (resync(3, ResyncCause::MidStream, true), frame_of(3, p)),
                    (packet(&PUBACK, frame_of(3, p)), frame_of(6, p)),
                    (packet(&PINGREQ, frame_of(7, p)), frame_of(8, p)),
                ],
                "cut at {p}"
            );
        }
    }

    #[test]
    fn a_window_is_concluded_by_a_gap() {
        // A CONNACK header claiming 32 bytes waits for them; after a gap
        // they will not come, so the DISCONNECT behind it is framed, at
        // the frame it came in, before the gap.
        let mut rig = Rig::new(cfg(), true);
        rig.data(1, &[0x20, 0x20, 0xe0, 0x00]);
        assert!(rig.seen.is_empty(), "{:?}", rig.seen);
        rig.gap(2, 100);
        rig.data(3, &PINGREQ);
        assert_eq!(
            rig.seen,
            [
                (resync(2, ResyncCause::MidStream, true), 1),
                (packet(&DISCONNECT, 1), 1),
                (
                    Out::Gap {
                        missing: 100,
                        lost: None,
                        resync: true
                    },
                    2
                ),
                (resync(0, ResyncCause::Gap, true), 3),
                (packet(&PINGREQ, 3), 3),
            ]
        );
    }

    #[test]
    fn a_window_is_concluded_at_the_close() {
        let mut rig = Rig::new(cfg(), true);
        rig.data(1, &[0x00, 0x20, 0x20]);
        rig.data(2, &PINGREQ);
        rig.close(3);
        assert_eq!(
            rig.seen,
            [
                (resync(3, ResyncCause::MidStream, true), 2),
                (packet(&PINGREQ, 2), 2),
            ]
        );
        // Nothing found at all: what was passed over, at the close.
        let mut rig = Rig::new(cfg(), true);
        rig.data(1, &[0x00, 0x20, 0x20]);
        rig.close(2);
        assert_eq!(rig.seen, [(resync(3, ResyncCause::MidStream, false), 2)]);
    }

    #[test]
    fn bytes_passed_over_before_a_gap_are_reported_after_it() {
        let mut rig = Rig::new(cfg(), true);
        // One byte passed over, then a PUBACK cut short: the gap rejects it.
        rig.data(1, &[0x00, 0x40, 0x02]);
        rig.gap(2, 5);
        rig.data(3, &PINGREQ);
        assert_eq!(
            rig.seen,
            [
                (
                    Out::Gap {
                        missing: 5,
                        lost: None,
                        resync: true
                    },
                    2
                ),
                (resync(3, ResyncCause::Gap, true), 3),
                (packet(&PINGREQ, 3), 3),
            ]
        );
    }

    #[test]
    fn bytes_taken_back_are_scanned_again_and_keep_their_frames() {
        // A SUBSCRIBE (frames 1-3) whose filter length runs past its end:
        // malformed with a length not to be trusted once complete, so its
        // bytes are scanned again from the second. The PINGREQ and
        // DISCONNECT inside came in frame 2 but follow the SUBSCRIBE
        // (reported at frame 3), so they are reported at frame 3 too.
        let mut rig = Rig::new(cfg(), false);
        rig.data(1, &[0x82, 0x0a, 0x00]);
        rig.data(2, &[0x01, 0x01, 0x00, 0xc0, 0x00, 0xe0, 0x00]);
        rig.data(3, &[0x00, 0x00]);
        rig.data(4, &PINGREQ);
        let subscribe = pkt(
            0x82,
            &[0x00, 0x01, 0x01, 0x00, 0xc0, 0x00, 0xe0, 0x00, 0x00, 0x00],
        );
        assert_eq!(
            rig.seen,
            [
                (packet(&subscribe, 1), 3),
                // 0x0a 0x00 0x01 0x01 0x00: its second to sixth bytes.
                (resync(5, ResyncCause::Malformed, true), 3),
                (packet(&PINGREQ, 2), 3),
                (packet(&DISCONNECT, 2), 3),
                // The SUBSCRIBE's last two bytes.
                (Out::HeaderMalformed { start: 3 }, 3),
                (resync(1, ResyncCause::Malformed, true), 4),
                (packet(&PINGREQ, 4), 4),
            ]
        );
    }

    #[test]
    fn a_rescan_before_a_gap_does_not_lose_its_packets() {
        let mut rig = Rig::new(cfg(), false);
        rig.data(1, &[0x82, 0x0a, 0x00]);
        rig.data(2, &[0x01, 0x01, 0x00, 0xc0, 0x00, 0xe0, 0x00]);
        rig.data(3, &[0x00, 0x00]);
        rig.gap(4, 10);
        let packets: Vec<_> = rig
            .seen
            .iter()
            .filter(|(o, _)| matches!(o, Out::Packet { .. }))
            .map(|(o, frame)| (o.clone(), *frame))
            .collect();
        assert_eq!(packets.len(), 3, "{:?}", rig.seen);
        assert_eq!(
            rig.seen.last(),
            Some(&(
                Out::Gap {
                    missing: 10,
                    lost: None,
                    resync: true
                },
                4
            ))
        );
    }

    #[test]
    fn many_windows_in_a_row_are_replayed_without_nesting() {
        // Mid-stream, every PUBACK cut between two frames: each one is a
        // window found at the next frame and set aside. 20,000 of them
        // must not grow the stack or the replay queue.
        let mut rig = Rig::new(cfg(), true);
        let mut frame = 0;
        for _ in 0..20_000 {
            frame += 1;
            rig.data(frame, &PUBACK[..2]);
            frame += 1;
            rig.data(frame, &PUBACK[2..]);
        }
        rig.close(frame + 1);
        let packets = rig
            .seen
            .iter()
            .filter(|(o, _)| matches!(o, Out::Packet { .. }))
            .count();
        assert_eq!(packets, 20_000);
        assert!(rig.framer.replay.queue.is_empty());
    }
}
