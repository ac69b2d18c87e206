//! Byte sources the capture parsers read from.
//!
//! Two shapes, one interface: a memory-mapped file (the whole capture is
//! addressable, so a record is handed out as a slice of the map and nothing is
//! copied) and a forward-only stream (stdin, gzip) behind a buffer that never
//! seeks and grows only to the largest record asked for. The parsers ask for
//! "the next `n` bytes" ([`Input::request`]), decide how long the record is,
//! then take it ([`Input::consume`]); the [`Span`] they get back stays valid
//! until the next `request`, which is what lets a frame borrow its bytes
//! from the reader.

use memmap2::Mmap;
use std::io::{self, Read};

/// Where a consumed record lies inside the source's current buffer.
///
/// Plain offsets rather than a slice, so the parser can finish its
/// bookkeeping before the reader hands out the borrowed bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// The part of this span from `skip` bytes in, at most `len` bytes long.
    pub fn sub(self, skip: usize, len: usize) -> Span {
        let start = self.start.saturating_add(skip).min(self.end);
        let end = start.saturating_add(len).min(self.end);
        Span { start, end }
    }

    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }
}

/// A capture's bytes, from wherever they come.
pub(crate) enum Input {
    Mapped(Mapped),
    Stream(Stream),
}

impl Input {
    /// Up to `n` bytes from the cursor without consuming them; fewer only at end of input.
    pub fn request(&mut self, n: usize) -> io::Result<&[u8]> {
        match self {
            Input::Mapped(m) => Ok(m.request(n)),
            Input::Stream(s) => s.request(n),
        }
    }

    /// Moves the cursor `n` bytes on (at most what the last `request` made available).
    pub fn consume(&mut self, n: usize) -> Span {
        match self {
            Input::Mapped(m) => m.consume(n),
            Input::Stream(s) => s.consume(n),
        }
    }

    /// Moves the cursor `n` bytes on without keeping them; returns how many were there.
    pub fn skip(&mut self, n: u64) -> io::Result<u64> {
        match self {
            Input::Mapped(m) => Ok(m.skip(n)),
            Input::Stream(s) => s.skip(n),
        }
    }

    /// The bytes of a span returned by the latest `consume`.
    pub fn bytes(&self, span: Span) -> &[u8] {
        match self {
            Input::Mapped(m) => m.map.get(span.start..span.end).unwrap_or(&[]),
            Input::Stream(s) => s.buf.get(span.start..span.end).unwrap_or(&[]),
        }
    }

    /// Bytes consumed since the start of the input (its file offset, uncompressed).
    pub fn offset(&self) -> u64 {
        match self {
            Input::Mapped(m) => m.pos as u64,
            Input::Stream(s) => s.consumed,
        }
    }
}

/// How far the cursor moves on before the pages behind it are given back.
///
/// A mapped file's pages count in the process's resident memory (`top`'s
/// RES) for as long as they stay mapped, so a 1 GB capture read to its end
/// would show 1 GB. Releasing what was read every few megabytes keeps that
/// at this window plus the heap, whatever the file's length; the pages stay
/// in the page cache, so nothing is read twice. One `madvise` per window
/// costs nothing measurable (about 250 calls per GB at 4 MiB).
const RELEASE_EVERY: usize = 4 << 20;

/// A regular file mapped into memory.
pub(crate) struct Mapped {
    map: Mmap,
    pos: usize,
    /// Everything before this offset has been released (module docs).
    released: usize,
}

impl Mapped {
    pub fn new(map: Mmap) -> Self {
        // Read front to back: let the kernel read ahead further. Only a hint,
        // so a refusal changes nothing.
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);
        Mapped {
            map,
            pos: 0,
            released: 0,
        }
    }

    /// Gives the pages before the cursor back once a window has been read.
    ///
    /// Only bytes before `pos` go, and no span handed out before the
    /// latest `consume` is used again once the next `request` is made
    /// (module docs), so nothing still borrowed is released.
    fn release_behind(&mut self) {
        if self.pos - self.released < RELEASE_EVERY {
            return;
        }
        let end = self.pos & !(RELEASE_EVERY - 1);
        if end <= self.released {
            return;
        }
        #[cfg(unix)]
        {
            // SAFETY: the map is a read-only, shared mapping of a file.
            // MADV_DONTNEED on such a mapping only unmaps the pages: a later
            // access faults them in again from the page cache with the same
            // contents (it never zero-fills, as it would for private or
            // anonymous memory), so no reference into the map can see
            // different bytes. The range lies inside the map (end <= pos <=
            // len). An error leaves the pages mapped, which is harmless.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    self.released,
                    end - self.released,
                )
            };
        }
        self.released = end;
    }

    /// The first bytes of the file, to recognise its format.
    pub fn head(&self, n: usize) -> &[u8] {
        self.map.get(..n.min(self.map.len())).unwrap_or(&[])
    }

    fn request(&mut self, n: usize) -> &[u8] {
        self.release_behind();
        let end = self.pos.saturating_add(n).min(self.map.len());
        self.map.get(self.pos..end).unwrap_or(&[])
    }

    fn consume(&mut self, n: usize) -> Span {
        let start = self.pos;
        let end = start.saturating_add(n).min(self.map.len());
        self.pos = end;
        Span { start, end }
    }

    fn skip(&mut self, n: u64) -> u64 {
        let left = self.map.len().saturating_sub(self.pos);
        let step = usize::try_from(n).unwrap_or(usize::MAX).min(left);
        self.pos = self.pos.saturating_add(step);
        step as u64
    }
}

/// Buffer size a stream starts with: many records per `read`, few syscalls.
const STREAM_BUFFER: usize = 256 * 1024;

/// A forward-only source behind a buffer that holds at most one record beyond
/// what the last read brought in.
pub(crate) struct Stream {
    reader: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// Cursor: first byte not consumed yet.
    start: usize,
    /// End of the valid bytes in `buf`.
    end: usize,
    eof: bool,
    consumed: u64,
}

impl Stream {
    pub fn new(reader: Box<dyn Read + Send>) -> Self {
        Stream {
            reader,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            consumed: 0,
        }
    }

    /// Turns the stream back into a reader that yields the buffered-but-unconsumed
    /// bytes first, so a peeked gzip header can be handed to the decompressor.
    pub fn into_reader(self) -> Box<dyn Read + Send> {
        let pending = self.buf.get(self.start..self.end).unwrap_or(&[]).to_vec();
        Box::new(io::Cursor::new(pending).chain(self.reader))
    }

    fn available(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Up to `n` bytes from the cursor, reading more as needed; fewer only at end of input.
    pub fn request(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.available() < n && !self.eof {
            self.fill(n)?;
        }
        let stop = self.start.saturating_add(n).min(self.end);
        Ok(self.buf.get(self.start..stop).unwrap_or(&[]))
    }

    /// Reads until `n` bytes are available from the cursor or the input ends.
    fn fill(&mut self, n: usize) -> io::Result<()> {
        if self.buf.len().saturating_sub(self.start) < n {
            // Not enough room behind the cursor: move the pending bytes to the
            // front (spans handed out earlier are dead by now), then grow if the
            // record is bigger than the buffer.
            self.buf.copy_within(self.start..self.end, 0);
            self.end = self.available();
            self.start = 0;
            let want = n.max(STREAM_BUFFER);
            if self.buf.len() < want {
                self.buf.resize(want, 0);
            }
        }
        while self.available() < n {
            let Some(space) = self.buf.get_mut(self.end..).filter(|s| !s.is_empty()) else {
                break;
            };
            let room = space.len();
            match self.reader.read(space) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(k) => self.end = self.end.saturating_add(k.min(room)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn consume(&mut self, n: usize) -> Span {
        let start = self.start;
        let end = start.saturating_add(n).min(self.end);
        self.start = end;
        self.consumed = self.consumed.saturating_add((end - start) as u64);
        Span { start, end }
    }

    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let buffered = usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(self.available());
        self.consume(buffered);
        let mut skipped = buffered as u64;
        while skipped < n && !self.eof {
            // Everything buffered is consumed: read the skipped bytes into the
            // buffer's front and keep whatever lies past the skipped range.
            self.start = 0;
            self.end = 0;
            if self.buf.len() < STREAM_BUFFER {
                self.buf.resize(STREAM_BUFFER, 0);
            }
            match self.reader.read(&mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(k) => {
                    let k = k.min(self.buf.len());
                    self.end = k;
                    let left = n - skipped;
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(k);
                    self.consume(take);
                    skipped += take as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out one byte per `read`, the worst a pipe can do.
    struct OneByte(io::Cursor<Vec<u8>>);
    impl Read for OneByte {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match buf.first_mut() {
                Some(slot) => self.0.read(std::slice::from_mut(slot)),
                None => Ok(0),
            }
        }
    }

    fn stream(data: Vec<u8>) -> Input {
        Input::Stream(Stream::new(Box::new(OneByte(io::Cursor::new(data)))))
    }

    #[test]
    fn request_refills_one_byte_at_a_time_and_stops_at_eof() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut input = stream(data.clone());
        assert_eq!(input.request(10).unwrap(), &data[..10]);
        let span = input.consume(10);
        assert_eq!(input.bytes(span), &data[..10]);
        assert_eq!(input.request(995).unwrap().len(), 990, "short only at eof");
        let span = input.consume(990);
        assert_eq!(input.bytes(span), &data[10..]);
        assert_eq!(input.request(4).unwrap(), &[] as &[u8]);
        assert_eq!(input.offset(), 1000);
    }

    #[test]
    fn buffer_compacts_and_grows_for_large_records() {
        let total = 3 * STREAM_BUFFER + 17;
        let data: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
        let mut input = Input::Stream(Stream::new(Box::new(io::Cursor::new(data.clone()))));
        let mut pos = 0;
        // Odd-sized records force compaction at every buffer end; one record
        // bigger than the buffer forces growth.
        for len in [1000, STREAM_BUFFER + 5, 77_777, 3, STREAM_BUFFER, 123_456] {
            let len = len.min(total - pos);
            assert_eq!(input.request(len).unwrap().len(), len);
            let span = input.consume(len);
            assert_eq!(input.bytes(span), &data[pos..pos + len]);
            pos += len;
        }
        let Input::Stream(s) = &input else {
            unreachable!()
        };
        assert!(
            s.buf.len() <= STREAM_BUFFER + 5,
            "grew only to the largest record"
        );
    }

    #[test]
    fn skip_discards_across_refills_and_keeps_what_follows() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 253) as u8).collect();
        let whole = Input::Stream(Stream::new(Box::new(io::Cursor::new(data.clone()))));
        for mut input in [stream(data.clone()), whole] {
            input.request(3).unwrap();
            input.consume(1);
            assert_eq!(input.skip(4000).unwrap(), 4000);
            assert_eq!(input.offset(), 4001);
            assert_eq!(input.request(2).unwrap(), &data[4001..4003]);
            assert_eq!(input.skip(10_000).unwrap(), 999, "skip stops at eof");
            assert_eq!(input.request(1).unwrap().len(), 0);
        }
    }

    #[test]
    fn read_errors_surface_and_interrupts_are_retried() {
        struct Flaky(u32);
        impl Read for Flaky {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0 += 1;
                match self.0 {
                    1 => Err(io::ErrorKind::Interrupted.into()),
                    2 => {
                        buf[0] = 7;
                        Ok(1)
                    }
                    _ => Err(io::Error::other("disk on fire")),
                }
            }
        }
        let mut input = Input::Stream(Stream::new(Box::new(Flaky(0))));
        assert_eq!(input.request(1).unwrap(), &[7]);
        assert!(input.request(2).is_err());
    }
}
