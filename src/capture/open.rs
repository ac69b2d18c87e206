//! Opening one input: choosing mmap or a stream, unwrapping gzip, and
//! recognising the capture format from its first bytes.
//!
//! Everything that decides "this cannot be analysed at all" happens here, up
//! front, so that a bad second file on the command line fails the run before
//! any output is produced.

use super::CaptureError;
use super::input::{Input, Mapped, Stream};
use super::notes::Notes;
use super::pcap::{self, Pcap};
use super::pcapng::{self, Pcapng};
use flate2::read::MultiGzDecoder;
use memmap2::Mmap;
use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Enough leading bytes to recognise either format and check its header.
const SNIFF_LEN: usize = if pcap::HEADER_LEN > pcapng::SNIFF_LEN {
    pcap::HEADER_LEN
} else {
    pcapng::SNIFF_LEN
};

/// How the records of one input are laid out.
pub(crate) enum Format {
    Pcap(Pcap),
    Pcapng(Pcapng),
}

/// One input, recognised and positioned at its first record.
pub(crate) struct OpenFile {
    /// The name used in warnings (`stdin` for `-`).
    pub name: String,
    pub input: Input,
    pub format: Format,
    /// Offsets in warnings then count uncompressed bytes.
    pub gzip: bool,
    /// Oddities found so far that did not stop the file.
    pub notes: Notes,
    /// The file's size on disk, when it is a regular file (how far reading
    /// has got is then known: [`OpenFile::position`]).
    pub size: Option<u64>,
    /// Bytes a decompressor has read from the file (gzip'd files: the
    /// input's own offset counts uncompressed bytes).
    on_disk: Option<Arc<AtomicU64>>,
}

impl OpenFile {
    /// How far into the file on disk reading has got, when that is known.
    pub fn position(&self) -> Option<u64> {
        self.size?;
        match (&self.input, &self.on_disk) {
            (_, Some(read)) => Some(read.load(Ordering::Relaxed)),
            (Input::Mapped(_), None) => Some(self.input.offset()),
            (Input::Stream(_), None) => None,
        }
    }
}

/// A reader that counts the bytes read through it (a gzip'd file's
/// compressed bytes, for progress).
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The name an input goes by in messages.
fn display_name(path: &str) -> String {
    if path == "-" {
        "stdin".to_string()
    } else {
        path.to_string()
    }
}

/// Opens a path (`-` = stdin): regular files are memory-mapped unless gzip'd,
/// everything else (stdin, pipes, gzip) is streamed.
pub(crate) fn open_path(path: &str) -> Result<OpenFile, CaptureError> {
    let name = display_name(path);
    if path == "-" {
        return open_stream(name, Box::new(io::stdin()));
    }
    let io_error = |source| CaptureError::Io {
        path: name.clone(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    if meta.is_dir() {
        return Err(io_error(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory, not a capture file",
        )));
    }
    if !meta.is_file() {
        // A pipe or device (`<(zcat x.pcap)`, /dev/stdin): cannot be mapped.
        return open_stream(name, Box::new(file));
    }
    if meta.len() == 0 {
        return Err(not_a_capture(&name, "the file is empty: 0 bytes".into()));
    }
    // SAFETY: the map is only ever read. If another process truncates the
    // file while it is mapped, reads past the new end fault (SIGBUS); that is
    // the accepted price of zero-copy reading, as for every mmap-based reader.
    let map = match unsafe { Mmap::map(&file) } {
        Ok(map) => map,
        Err(_) => return open_stream(name, Box::new(file)),
    };
    #[cfg(unix)]
    {
        // Only a hint to the kernel's read-ahead; failing it changes nothing.
        let _ = map.advise(memmap2::Advice::Sequential);
    }
    let mapped = Mapped::new(map);
    let size = Some(meta.len());
    if mapped.head(2) == GZIP_MAGIC {
        drop(mapped);
        // The map never moved the file's cursor: the decoder starts at byte 0.
        let read = Arc::new(AtomicU64::new(0));
        let counted = Counted {
            inner: file,
            read: Arc::clone(&read),
        };
        let mut open = recognise(name, Input::Stream(gunzip(Box::new(counted))), true)?;
        open.size = size;
        open.on_disk = Some(read);
        return Ok(open);
    }
    let mut open = recognise(name, Input::Mapped(mapped), false)?;
    open.size = size;
    Ok(open)
}

/// Opens an already-open byte stream (stdin, a pipe, a test's reader).
pub(crate) fn open_stream(
    name: String,
    reader: Box<dyn Read + Send>,
) -> Result<OpenFile, CaptureError> {
    let mut stream = Stream::new(reader);
    let gzip = match stream.request(2) {
        Ok(head) => head == GZIP_MAGIC,
        Err(source) => return Err(CaptureError::Io { path: name, source }),
    };
    if gzip {
        // The peeked bytes go to the decoder first: nothing is lost, nothing seeks.
        return recognise(name, Input::Stream(gunzip(stream.into_reader())), true);
    }
    recognise(name, Input::Stream(stream), false)
}

fn gunzip(reader: Box<dyn Read + Send>) -> Stream {
    Stream::new(Box::new(MultiGzDecoder::new(reader)))
}

fn not_a_capture(name: &str, detail: String) -> CaptureError {
    CaptureError::NotACapture {
        path: name.to_string(),
        detail,
    }
}

/// Decides pcap or pcapng from the first bytes and reads the pcap file header.
fn recognise(name: String, mut input: Input, gzip: bool) -> Result<OpenFile, CaptureError> {
    let head = match input.request(SNIFF_LEN) {
        Ok(head) => head,
        Err(e) if gzip => {
            return Err(not_a_capture(
                &name,
                format!("gzip-compressed, but it does not decompress: {e}"),
            ));
        }
        Err(source) => return Err(CaptureError::Io { path: name, source }),
    };
    if head.is_empty() {
        let detail = if gzip {
            "the gzip data decompresses to nothing: 0 bytes"
        } else if name == "stdin" {
            "stdin is empty: 0 bytes"
        } else {
            "the input is empty: 0 bytes"
        };
        return Err(not_a_capture(&name, detail.into()));
    }
    let format = if pcap::sniff(head).is_some() {
        let pcap = Pcap::from_header(head).map_err(|d| not_a_capture(&name, d))?;
        input.consume(pcap::HEADER_LEN);
        Format::Pcap(pcap)
    } else if pcapng::sniff(head) {
        pcapng::check_start(head).map_err(|d| not_a_capture(&name, d))?;
        Format::Pcapng(Pcapng::new())
    } else {
        return Err(not_a_capture(&name, describe_unknown(head)));
    };
    Ok(OpenFile {
        notes: Notes::new(name.clone()),
        name,
        input,
        format,
        gzip,
        size: None,
        on_disk: None,
    })
}

/// Why the first bytes are not a capture, with a hint for common look-alikes.
fn describe_unknown(head: &[u8]) -> String {
    let shown: Vec<String> = head.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let hint = if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "; it is zstd-compressed: decompress it first (zstd -dc FILE | mqtt-inspect analyze -)"
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        "; it is xz-compressed: decompress it first (xz -dc FILE | mqtt-inspect analyze -)"
    } else if head.starts_with(b"BZh") {
        "; it is bzip2-compressed: decompress it first (bzip2 -dc FILE | mqtt-inspect analyze -)"
    } else {
        ""
    };
    format!(
        "it starts with bytes {}, but a pcap file starts with a1b2c3d4 or a1b23c4d \
         in either byte order, and a pcapng file with 0a0d0d0a{hint}",
        shown.join(" ")
    )
}
