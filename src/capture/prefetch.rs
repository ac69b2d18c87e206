//! Reading a blocking stream (stdin, a gzip'd pipe) on its own thread.
//!
//! A pipe from `tcpdump -U` may stay silent for minutes; read on the
//! analysis thread, a silent pipe would block it, so Ctrl-C, timers and
//! `--stats-interval` could not run. Here a reader thread owns the
//! [`CaptureReader`] and sends owned copies of the frames through a
//! bounded channel (the copy is the price; files are not read this way:
//! they are memory-mapped and never block). The analysis thread waits at
//! most [`IDLE_AFTER`] for the next frame and turns idle meanwhile. The
//! thread also decompresses gzip'd input, on the second core.

use super::{CaptureInfo, CaptureReader, FrameSource, Next};
use crate::base::{Frame, LinkType, Timestamp, Warning};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long the analysis waits for a frame before an idle turn.
pub const IDLE_AFTER: Duration = Duration::from_millis(200);
/// Frames in flight between the threads (bounds the memory of the copies).
const IN_FLIGHT: usize = 4096;

struct Owned {
    index: u64,
    ts: Timestamp,
    link: LinkType,
    data: Vec<u8>,
    orig_len: u32,
}

enum Msg {
    Frame(Owned, Vec<Warning>),
    End(CaptureInfo, Vec<Warning>),
}

/// A [`FrameSource`] fed by a reader thread (module docs).
pub struct Prefetch {
    rx: Receiver<Msg>,
    current: Option<Owned>,
    info: CaptureInfo,
    warnings: Vec<Warning>,
    ended: bool,
}

impl Prefetch {
    /// Starts the reader thread on `reader`.
    pub fn spawn(mut reader: CaptureReader) -> std::io::Result<Prefetch> {
        let info = reader.info().clone();
        let (tx, rx): (SyncSender<Msg>, Receiver<Msg>) = sync_channel(IN_FLIGHT);
        thread::Builder::new()
            .name("capture-reader".into())
            .spawn(move || {
                loop {
                    let owned = reader.next_frame().map(|f| Owned {
                        index: f.index,
                        ts: f.ts,
                        link: f.link,
                        data: f.data.to_vec(),
                        orig_len: f.orig_len,
                    });
                    let warnings = reader.take_warnings();
                    let msg = match owned {
                        Some(o) => Msg::Frame(o, warnings),
                        None => Msg::End(reader.info().clone(), warnings),
                    };
                    let last = matches!(msg, Msg::End(..));
                    if tx.send(msg).is_err() || last {
                        return; // the analysis stopped, or the input ended
                    }
                }
            })?;
        Ok(Prefetch {
            rx,
            current: None,
            info,
            warnings: Vec::new(),
            ended: false,
        })
    }
}

fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::new(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        u64::from(d.subsec_nanos()),
        6,
    )
}

impl FrameSource for Prefetch {
    fn next(&mut self) -> Next<'_> {
        if self.ended {
            return Next::End;
        }
        match self.rx.recv_timeout(IDLE_AFTER) {
            Ok(Msg::Frame(o, warnings)) => {
                self.warnings.extend(warnings);
                self.info.frames = o.index;
                self.info.bytes += o.data.len() as u64;
                if self.info.first_ts.is_none() {
                    self.info.first_ts = Some(o.ts);
                }
                self.info.last_ts = Some(o.ts);
                let o = self.current.insert(o);
                Next::Frame(Frame {
                    index: o.index,
                    ts: o.ts,
                    link: o.link,
                    data: &o.data,
                    orig_len: o.orig_len,
                })
            }
            Ok(Msg::End(info, warnings)) => {
                self.warnings.extend(warnings);
                self.info = info;
                self.ended = true;
                Next::End
            }
            Err(RecvTimeoutError::Timeout) => Next::Idle(now()),
            Err(RecvTimeoutError::Disconnected) => {
                self.ended = true;
                Next::End
            }
        }
    }

    fn info(&self) -> &CaptureInfo {
        &self.info
    }

    fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::open_captures;

    #[test]
    fn the_same_frames_as_reading_directly() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/v311_basic.pcap").to_string();
        let mut direct = open_captures(std::slice::from_ref(&path)).unwrap();
        let mut want = Vec::new();
        while let Some(f) = direct.next_frame() {
            want.push((f.index, f.ts, f.data.to_vec()));
        }
        let mut p = Prefetch::spawn(open_captures(&[path]).unwrap()).unwrap();
        let mut got = Vec::new();
        loop {
            match p.next() {
                Next::Frame(f) => got.push((f.index, f.ts, f.data.to_vec())),
                Next::Idle(_) => continue,
                Next::End => break,
            }
        }
        assert_eq!(got, want);
        assert_eq!(p.info().frames, direct.info().frames);
        assert_eq!(p.info().last_ts, direct.info().last_ts);
    }
}
