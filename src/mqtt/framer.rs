//! Incremental framing of one TCP direction into MQTT packets.
//!
//! The framer sees the in-order bytes of a direction as slices of any size
//! and hands out one [`Unit`] per packet (or per problem) through a callback:
//!
//! * a packet wholly inside the current slice is handed out *borrowed from
//!   that slice* — no copy;
//! * a packet split across slices is copied into the framer's buffer until
//!   complete (bounded by `max_packet_buffer`; a larger one is skipped by
//!   its length and reported as oversized);
//! * a PUBLISH split across slices is never buffered whole: only its fixed
//!   header, variable header and payload preview are kept, the rest of the
//!   payload streams through an xxh3 hasher, and the packet is handed out
//!   at the slice that completes it. While the protocol version is unknown
//!   the variable header is measured both with (5.0) and without (3.x)
//!   properties, and one hash is kept per reading;
//! * after a TCP gap, a malformed packet, or when the stream was picked up
//!   mid-connection, the framer scans for the next plausible boundary
//!   (see [`super::resync`]) — except when a gap lies inside a packet of
//!   known length: then the packet is lost (or, inside a streamed PUBLISH
//!   payload, completed with the missing bytes counted) and framing goes on
//!   at the known next boundary.

use super::error::Malformed;
use super::parse::{HeadLen, Layout, ParseError, parse_fixed_header, publish_head_len};
use super::resync::{self, Candidate};
use super::types::{FixedHeader, PacketType, ProtocolVersion};
use xxhash_rust::xxh3::Xxh3;

/// Why the framer was scanning for a packet boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResyncCause {
    /// Bytes were missing from the capture.
    Gap,
    /// A packet did not decode.
    Malformed,
    /// The capture started in the middle of the connection.
    MidStream,
}

/// The payload hash of a streamed PUBLISH under one reading of its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Digest {
    pub layout: Layout,
    pub hash: u64,
}

/// What the framer hands to its consumer.
#[derive(Debug)]
pub(crate) enum Unit<'a> {
    /// One whole packet, fixed header included.
    Packet {
        bytes: &'a [u8],
        header: FixedHeader,
        start_frame: u64,
    },
    /// A PUBLISH whose payload was streamed: `prefix` holds the fixed header,
    /// the variable header and the start of the payload.
    StreamedPublish {
        prefix: &'a [u8],
        header: FixedHeader,
        digests: &'a [Digest],
        missing: u64,
        start_frame: u64,
    },
    /// The fixed header itself is invalid; the framer resynchronises.
    HeaderMalformed(Malformed),
    /// A non-PUBLISH packet (or PUBLISH header) larger than the buffer limit: skipped.
    Oversized {
        header: FixedHeader,
        start_frame: u64,
    },
    /// Bytes missing in the stream. `lost`: a partly received packet that is
    /// gone; `resync`: whether the position of the next packet is unknown.
    Gap {
        missing: u64,
        lost: Option<PacketType>,
        resync: bool,
    },
    /// Scanning for a boundary ended (`resumed`) or the stream closed first.
    Resync {
        skipped: u64,
        cause: ResyncCause,
        resumed: bool,
    },
    /// The stream ended inside a packet.
    Truncated {
        packet_type: Option<PacketType>,
        length: Option<u32>,
        received: u64,
        start_frame: u64,
    },
}

/// The consumer's answer to a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Verdict {
    /// The packet did not decode: check the next boundary before trusting it.
    pub malformed: bool,
    /// The connection's protocol version if a CONNECT fixed it (an inferred
    /// version is not trusted for framing: both readings are kept).
    pub hint: Option<ProtocolVersion>,
}

pub(crate) type Sink<'s> = dyn FnMut(Unit<'_>) -> Verdict + 's;

#[derive(Debug, Clone, Copy)]
pub(crate) struct FramerConfig {
    pub preview: usize,
    pub max_buffer: usize,
    /// Largest packet waited for while resynchronising.
    pub window: usize,
}

/// One reading (3.x / 5.0) of a PUBLISH variable header being measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cand {
    Unused,
    Pending,
    Known(usize),
    Invalid,
    TooBig,
}

const LAYOUTS: [Layout; 2] = [Layout::NoProperties, Layout::WithProperties];

struct Stream {
    layout: Layout,
    hasher: Xxh3,
}

enum State {
    /// At a packet boundary; `buf` holds the first bytes of a fixed header.
    Boundary,
    /// Collecting a whole packet into `buf`.
    Body { header: FixedHeader },
    /// Collecting a PUBLISH's headers and payload preview into `buf`.
    PublishHead {
        header: FixedHeader,
        cands: [Cand; 2],
    },
    /// Streaming the rest of a PUBLISH payload; `buf` holds the prefix.
    PublishTail {
        header: FixedHeader,
        streams: Vec<Stream>,
        received: u64,
        missing: u64,
    },
    /// Dropping the rest of a packet of known length.
    Skip { remaining: u64, then_resync: bool },
    /// Looking for a boundary; `buf` is the scan window.
    Resync {
        skipped: u64,
        cause: ResyncCause,
        lenient: bool,
    },
}

/// Buffers larger than this are released after use, so that one big packet
/// does not pin memory for the rest of a long connection.
const KEEP_CAPACITY: usize = 64 * 1024;

pub(crate) struct Framer {
    state: State,
    buf: Vec<u8>,
    hint: Option<ProtocolVersion>,
    cfg: FramerConfig,
    start_frame: u64,
}

impl Framer {
    /// A framer at a packet boundary, or (`mid_stream`) one that first looks for one.
    pub fn new(cfg: FramerConfig, mid_stream: bool) -> Self {
        let state = if mid_stream {
            State::Resync {
                skipped: 0,
                cause: ResyncCause::MidStream,
                lenient: false,
            }
        } else {
            State::Boundary
        };
        Framer {
            state,
            buf: Vec::new(),
            hint: None,
            cfg,
            start_frame: 0,
        }
    }

    /// Bytes of buffer memory held (partial packet or scan window).
    pub fn buffered(&self) -> usize {
        self.buf.capacity()
    }

    pub fn set_hint(&mut self, hint: Option<ProtocolVersion>) {
        self.hint = hint;
    }

    /// Frames the next in-order bytes of the stream.
    pub fn push(&mut self, mut data: &[u8], frame: u64, sink: &mut Sink<'_>) {
        while !data.is_empty() {
            data = self.step(data, frame, sink);
        }
        self.settle(sink);
    }

    /// Finishes what needs no further byte: a packet whose last byte arrived
    /// together with the end of its header, a PUBLISH header that is now
    /// measured. Without this such a packet would wait for the next slice
    /// and be attributed to the wrong frame.
    fn settle(&mut self, sink: &mut Sink<'_>) {
        loop {
            match self.state {
                State::Body { header } if self.buf.len() >= header.total_len() => {
                    self.fill_body(header, &[], sink);
                }
                State::PublishHead { .. } => {
                    self.publish_head(&[], sink);
                    if matches!(self.state, State::PublishHead { .. }) {
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    fn step<'d>(&mut self, data: &'d [u8], frame: u64, sink: &mut Sink<'_>) -> &'d [u8] {
        match self.state {
            State::Boundary if self.buf.is_empty() => self.boundary_direct(data, frame, sink),
            State::Boundary => self.boundary_partial(data, sink),
            State::Body { header } => self.fill_body(header, data, sink),
            State::PublishHead { .. } => self.publish_head(data, sink),
            State::PublishTail { .. } => self.publish_tail(data, sink),
            State::Skip { .. } => self.skip(data),
            State::Resync { .. } => self.resync(data, frame, sink),
        }
    }

    fn release_buffer(&mut self) {
        self.buf.clear();
        if self.buf.capacity() > KEEP_CAPACITY {
            self.buf = Vec::new();
        }
    }

    fn after(&mut self, verdict: Verdict) {
        self.hint = verdict.hint;
        self.state = if verdict.malformed {
            State::Resync {
                skipped: 0,
                cause: ResyncCause::Malformed,
                lenient: true,
            }
        } else {
            State::Boundary
        };
    }

    fn boundary_direct<'d>(&mut self, data: &'d [u8], frame: u64, sink: &mut Sink<'_>) -> &'d [u8] {
        match parse_fixed_header(data) {
            Err(ParseError::Incomplete { .. }) => {
                // At most 4 bytes: a fixed header cut by the slice end.
                self.start_frame = frame;
                self.buf.extend_from_slice(data);
                &[]
            }
            Err(ParseError::Malformed(m)) => {
                sink(Unit::HeaderMalformed(m));
                self.state = State::Resync {
                    skipped: 0,
                    cause: ResyncCause::Malformed,
                    lenient: false,
                };
                data.get(1..).unwrap_or_default()
            }
            Ok(header) => {
                let total = header.total_len();
                if let (Some(bytes), Some(rest)) = (data.get(..total), data.get(total..)) {
                    let verdict = sink(Unit::Packet {
                        bytes,
                        header,
                        start_frame: frame,
                    });
                    self.after(verdict);
                    return rest;
                }
                self.start_frame = frame;
                self.begin(header, sink);
                data
            }
        }
    }

    fn boundary_partial<'d>(&mut self, data: &'d [u8], sink: &mut Sink<'_>) -> &'d [u8] {
        let have = self.buf.len().min(5);
        let mut tmp = [0u8; 5];
        let take = (5 - have).min(data.len());
        tmp[..have].copy_from_slice(&self.buf[..have]);
        tmp[have..have + take].copy_from_slice(&data[..take]);
        match parse_fixed_header(&tmp[..have + take]) {
            Err(ParseError::Incomplete { .. }) => {
                self.buf.extend_from_slice(&data[..take]);
                &data[take..]
            }
            Err(ParseError::Malformed(m)) => {
                sink(Unit::HeaderMalformed(m));
                // Scan again from the byte after the bad first byte.
                self.buf.remove(0);
                self.state = State::Resync {
                    skipped: 0,
                    cause: ResyncCause::Malformed,
                    lenient: false,
                };
                data
            }
            Ok(header) => {
                let used = usize::from(header.header_len)
                    .saturating_sub(have)
                    .min(data.len());
                self.buf.extend_from_slice(&data[..used]);
                self.begin(header, sink);
                &data[used..]
            }
        }
    }

    /// Chooses how to collect a packet that does not fit in the current slice.
    fn begin(&mut self, header: FixedHeader, sink: &mut Sink<'_>) {
        if header.packet_type == PacketType::Publish {
            let mut cands = [Cand::Unused; 2];
            for (c, layout) in cands.iter_mut().zip(LAYOUTS) {
                if self.hint.is_none_or(|v| Layout::of(v) == layout) {
                    *c = Cand::Pending;
                }
            }
            self.state = State::PublishHead { header, cands };
        } else if header.total_len() > self.cfg.max_buffer {
            sink(Unit::Oversized {
                header,
                start_frame: self.start_frame,
            });
            let remaining = header.total_len().saturating_sub(self.buf.len()) as u64;
            self.release_buffer();
            self.state = State::Skip {
                remaining,
                then_resync: false,
            };
        } else {
            self.state = State::Body { header };
        }
    }

    fn fill_body<'d>(
        &mut self,
        header: FixedHeader,
        data: &'d [u8],
        sink: &mut Sink<'_>,
    ) -> &'d [u8] {
        let total = header.total_len();
        let take = total.saturating_sub(self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..take]);
        if self.buf.len() >= total {
            let verdict = sink(Unit::Packet {
                bytes: &self.buf,
                header,
                start_frame: self.start_frame,
            });
            self.release_buffer();
            self.after(verdict);
        }
        &data[take..]
    }

    /// Updates the header readings of a PUBLISH from `buf`; returns how many
    /// packet bytes to collect next, or `None` when every reading is settled.
    fn measure(&self, header: FixedHeader, cands: &mut [Cand; 2]) -> Option<usize> {
        let hl = usize::from(header.header_len);
        let body = self.buf.get(hl..).unwrap_or_default();
        let body_len = header.length as usize;
        let mut want: Option<usize> = None;
        for (c, layout) in cands.iter_mut().zip(LAYOUTS) {
            if *c != Cand::Pending {
                continue;
            }
            match publish_head_len(body, header.flags, layout, body_len) {
                HeadLen::Need(n) if n > self.cfg.max_buffer => *c = Cand::TooBig,
                HeadLen::Need(n) => want = Some(want.map_or(hl + n, |w: usize| w.min(hl + n))),
                HeadLen::Known(n) if n > self.cfg.max_buffer => *c = Cand::TooBig,
                HeadLen::Known(n) => *c = Cand::Known(n),
                HeadLen::Invalid => *c = Cand::Invalid,
            }
        }
        want
    }

    fn publish_head<'d>(&mut self, mut data: &'d [u8], sink: &mut Sink<'_>) -> &'d [u8] {
        let State::PublishHead { header, mut cands } = self.state else {
            return data;
        };
        let hl = usize::from(header.header_len);
        let total = header.total_len();
        loop {
            let target = match self.measure(header, &mut cands) {
                Some(want) => want,
                None => {
                    let known = cands
                        .iter()
                        .filter_map(|c| {
                            if let Cand::Known(n) = c {
                                Some(*n)
                            } else {
                                None
                            }
                        })
                        .max();
                    match known {
                        Some(head) => total.min(hl + head + self.cfg.preview),
                        None => {
                            self.no_reading(header, cands, sink);
                            return data;
                        }
                    }
                }
            };
            if self.buf.len() >= target && !cands.contains(&Cand::Pending) {
                if self.buf.len() >= total {
                    self.state = State::Body { header };
                    return self.fill_body(header, data, sink);
                }
                self.start_tail(header, cands);
                return data;
            }
            if data.is_empty() {
                self.state = State::PublishHead { header, cands };
                return data;
            }
            let take = target.saturating_sub(self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
    }

    /// No reading of a PUBLISH header fits: let the decoder say why (from the
    /// whole packet when it is small enough), or skip an oversized header.
    fn no_reading(&mut self, header: FixedHeader, cands: [Cand; 2], sink: &mut Sink<'_>) {
        if header.total_len() <= self.cfg.max_buffer {
            self.state = State::Body { header };
            return;
        }
        let remaining = header.total_len().saturating_sub(self.buf.len()) as u64;
        if cands.contains(&Cand::TooBig) {
            sink(Unit::Oversized {
                header,
                start_frame: self.start_frame,
            });
            self.release_buffer();
            self.state = State::Skip {
                remaining,
                then_resync: false,
            };
            return;
        }
        let verdict = sink(Unit::StreamedPublish {
            prefix: &self.buf,
            header,
            digests: &[],
            missing: 0,
            start_frame: self.start_frame,
        });
        self.release_buffer();
        self.hint = verdict.hint;
        self.state = State::Skip {
            remaining,
            then_resync: true,
        };
    }

    fn start_tail(&mut self, header: FixedHeader, cands: [Cand; 2]) {
        let hl = usize::from(header.header_len);
        let mut streams = Vec::with_capacity(2);
        for (c, layout) in cands.iter().zip(LAYOUTS) {
            if let Cand::Known(head) = *c {
                let mut hasher = Xxh3::new();
                hasher.update(self.buf.get(hl + head..).unwrap_or_default());
                streams.push(Stream { layout, hasher });
            }
        }
        let received = self.buf.len().saturating_sub(hl) as u64;
        self.state = State::PublishTail {
            header,
            streams,
            received,
            missing: 0,
        };
    }

    fn publish_tail<'d>(&mut self, data: &'d [u8], sink: &mut Sink<'_>) -> &'d [u8] {
        let State::PublishTail {
            header,
            streams,
            received,
            ..
        } = &mut self.state
        else {
            return data;
        };
        let remaining = u64::from(header.length).saturating_sub(*received);
        let take = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(data.len());
        for s in streams.iter_mut() {
            s.hasher.update(&data[..take]);
        }
        *received += take as u64;
        if *received >= u64::from(header.length) {
            self.finish_tail(sink);
        }
        &data[take..]
    }

    /// Hands out the streamed PUBLISH and returns to a boundary.
    fn finish_tail(&mut self, sink: &mut Sink<'_>) {
        let State::PublishTail {
            header,
            streams,
            missing,
            ..
        } = std::mem::replace(&mut self.state, State::Boundary)
        else {
            return;
        };
        let mut digests = [Digest {
            layout: Layout::NoProperties,
            hash: 0,
        }; 2];
        for (d, s) in digests.iter_mut().zip(&streams) {
            *d = Digest {
                layout: s.layout,
                hash: s.hasher.digest(),
            };
        }
        let verdict = sink(Unit::StreamedPublish {
            prefix: &self.buf,
            header,
            digests: &digests[..streams.len()],
            missing,
            start_frame: self.start_frame,
        });
        self.release_buffer();
        self.after(verdict);
    }

    fn skip<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        let State::Skip {
            remaining,
            then_resync,
        } = &mut self.state
        else {
            return data;
        };
        let take = usize::try_from(*remaining)
            .unwrap_or(usize::MAX)
            .min(data.len());
        *remaining -= take as u64;
        if *remaining == 0 {
            self.state = if *then_resync {
                State::Resync {
                    skipped: 0,
                    cause: ResyncCause::Malformed,
                    lenient: true,
                }
            } else {
                State::Boundary
            };
        }
        &data[take..]
    }

    fn resync<'d>(&mut self, data: &'d [u8], frame: u64, sink: &mut Sink<'_>) -> &'d [u8] {
        let State::Resync {
            skipped, lenient, ..
        } = self.state
        else {
            return data;
        };
        let params = |at_start: bool| resync::Params {
            hint: self.hint,
            window: self.cfg.window,
            lenient: lenient && at_start && skipped == 0,
        };
        if self.buf.is_empty() {
            for p in 0..data.len() {
                match resync::check(&data[p..], &params(p == 0)) {
                    Candidate::Accept => {
                        self.add_skipped(p as u64);
                        self.resume(sink);
                        return &data[p..];
                    }
                    Candidate::NeedMore => {
                        self.add_skipped(p as u64);
                        self.buf.extend_from_slice(&data[p..]);
                        return &[];
                    }
                    Candidate::Reject => {}
                }
            }
            self.add_skipped(data.len() as u64);
            return &[];
        }
        // Window mode: `buf` starts at a position that wanted more bytes.
        let limit = self.cfg.window + 16;
        let room = limit.saturating_sub(self.buf.len()).max(1);
        let take = room.min(data.len());
        self.buf.extend_from_slice(&data[..take]);
        let rest = &data[take..];
        let mut p = 0;
        while p < self.buf.len() {
            match resync::check(&self.buf[p..], &params(p == 0)) {
                Candidate::Accept => {
                    self.add_skipped(p as u64);
                    let window = std::mem::take(&mut self.buf);
                    self.resume(sink);
                    self.push(&window[p..], frame, sink);
                    return rest;
                }
                Candidate::NeedMore if self.buf.len() - p < limit => {
                    self.add_skipped(p as u64);
                    self.buf.drain(..p);
                    return rest;
                }
                _ => p += 1,
            }
        }
        self.add_skipped(self.buf.len() as u64);
        self.release_buffer();
        rest
    }

    fn add_skipped(&mut self, n: u64) {
        if let State::Resync { skipped, .. } = &mut self.state {
            *skipped = skipped.saturating_add(n);
        }
    }

    fn resume(&mut self, sink: &mut Sink<'_>) {
        if let State::Resync { skipped, cause, .. } = self.state
            && (skipped > 0 || cause == ResyncCause::Gap)
        {
            sink(Unit::Resync {
                skipped,
                cause,
                resumed: true,
            });
        }
        self.state = State::Boundary;
    }

    /// `missing` bytes of the stream were not captured.
    pub fn gap(&mut self, missing: u64, sink: &mut Sink<'_>) {
        let state = std::mem::replace(&mut self.state, State::Boundary);
        match state {
            State::Boundary => {
                let lost = self.buf.first().and_then(|b| PacketType::from_code(b >> 4));
                self.release_buffer();
                sink(Unit::Gap {
                    missing,
                    lost,
                    resync: true,
                });
                self.state = State::Resync {
                    skipped: 0,
                    cause: ResyncCause::Gap,
                    lenient: false,
                };
            }
            State::Body { header } => {
                let remaining = header.total_len().saturating_sub(self.buf.len()) as u64;
                self.release_buffer();
                self.lose(header.packet_type, remaining, missing, sink);
            }
            State::PublishHead { header, cands } => {
                let settled = !cands.contains(&Cand::Pending);
                let head = cands
                    .iter()
                    .filter_map(|c| {
                        if let Cand::Known(n) = c {
                            Some(*n)
                        } else {
                            None
                        }
                    })
                    .max();
                match head {
                    // Only the preview was incomplete: the gap falls in the payload.
                    Some(head)
                        if settled && self.buf.len() >= usize::from(header.header_len) + head =>
                    {
                        self.start_tail(header, cands);
                        self.tail_gap(missing, sink);
                    }
                    _ => {
                        let remaining = header.total_len().saturating_sub(self.buf.len()) as u64;
                        self.release_buffer();
                        self.lose(PacketType::Publish, remaining, missing, sink);
                    }
                }
            }
            tail @ State::PublishTail { .. } => {
                self.state = tail;
                self.tail_gap(missing, sink);
            }
            State::Skip {
                remaining,
                then_resync,
            } => {
                if missing < remaining {
                    self.state = State::Skip {
                        remaining: remaining - missing,
                        then_resync,
                    };
                    sink(Unit::Gap {
                        missing,
                        lost: None,
                        resync: false,
                    });
                } else if missing == remaining && !then_resync {
                    sink(Unit::Gap {
                        missing,
                        lost: None,
                        resync: false,
                    });
                } else {
                    sink(Unit::Gap {
                        missing,
                        lost: None,
                        resync: true,
                    });
                    self.state = State::Resync {
                        skipped: 0,
                        cause: ResyncCause::Gap,
                        lenient: false,
                    };
                }
            }
            State::Resync { skipped, .. } => {
                let skipped = skipped.saturating_add(self.buf.len() as u64);
                self.release_buffer();
                sink(Unit::Gap {
                    missing,
                    lost: None,
                    resync: true,
                });
                self.state = State::Resync {
                    skipped,
                    cause: ResyncCause::Gap,
                    lenient: false,
                };
            }
        }
    }

    /// A gap inside a packet of known length that is not a streamed payload:
    /// the packet is lost; framing goes on at its end if the gap stops there.
    fn lose(&mut self, t: PacketType, remaining: u64, missing: u64, sink: &mut Sink<'_>) {
        if missing <= remaining {
            sink(Unit::Gap {
                missing,
                lost: Some(t),
                resync: false,
            });
            self.state = if missing < remaining {
                State::Skip {
                    remaining: remaining - missing,
                    then_resync: false,
                }
            } else {
                State::Boundary
            };
        } else {
            sink(Unit::Gap {
                missing,
                lost: Some(t),
                resync: true,
            });
            self.state = State::Resync {
                skipped: 0,
                cause: ResyncCause::Gap,
                lenient: false,
            };
        }
    }

    fn tail_gap(&mut self, gap: u64, sink: &mut Sink<'_>) {
        let State::PublishTail {
            header,
            received,
            missing,
            ..
        } = &mut self.state
        else {
            return;
        };
        let remaining = u64::from(header.length).saturating_sub(*received);
        let absorbed = gap.min(remaining);
        *received += absorbed;
        *missing += absorbed;
        let beyond = gap > remaining;
        sink(Unit::Gap {
            missing: gap,
            lost: None,
            resync: beyond,
        });
        if absorbed == remaining {
            self.finish_tail(sink);
        }
        if beyond {
            self.state = State::Resync {
                skipped: 0,
                cause: ResyncCause::Gap,
                lenient: false,
            };
        }
    }

    /// The stream ended: report what was left unfinished.
    pub fn close(&mut self, sink: &mut Sink<'_>) {
        let state = std::mem::replace(&mut self.state, State::Boundary);
        let start_frame = self.start_frame;
        let unit = match state {
            State::Boundary if !self.buf.is_empty() => Some(Unit::Truncated {
                packet_type: self.buf.first().and_then(|b| PacketType::from_code(b >> 4)),
                length: None,
                received: self.buf.len() as u64,
                start_frame,
            }),
            State::Body { header } | State::PublishHead { header, .. } => Some(Unit::Truncated {
                packet_type: Some(header.packet_type),
                length: Some(header.length),
                received: self.buf.len() as u64,
                start_frame,
            }),
            State::PublishTail {
                header, received, ..
            } => Some(Unit::Truncated {
                packet_type: Some(header.packet_type),
                length: Some(header.length),
                received: u64::from(header.header_len) + received,
                start_frame,
            }),
            State::Resync { skipped, cause, .. } => {
                let skipped = skipped.saturating_add(self.buf.len() as u64);
                (skipped > 0).then_some(Unit::Resync {
                    skipped,
                    cause,
                    resumed: false,
                })
            }
            State::Boundary | State::Skip { .. } => None,
        };
        if let Some(unit) = unit {
            sink(unit);
        }
        self.release_buffer();
    }
}
