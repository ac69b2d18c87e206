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

use super::{CaptureInfo, CaptureReader, FileInfo, FrameSource, Next};
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
    /// The next input file (several inputs only), before its frames.
    File(usize, FileInfo),
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
                    enum Got {
                        Frame(Owned),
                        File(usize),
                        End,
                    }
                    let got = match FrameSource::next(&mut reader) {
                        Next::Frame(f) => Got::Frame(Owned {
                            index: f.index,
                            ts: f.ts,
                            link: f.link,
                            data: f.data.to_vec(),
                            orig_len: f.orig_len,
                        }),
                        Next::File(index) => Got::File(index),
                        Next::Idle(_) | Next::End => Got::End,
                    };
                    let msg = match got {
                        Got::Frame(o) => Msg::Frame(o, reader.take_warnings()),
                        Got::File(index) => match reader.info().files.get(index) {
                            Some(file) => Msg::File(index, file.clone()),
                            None => continue,
                        },
                        Got::End => Msg::End(reader.info().clone(), reader.take_warnings()),
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
                // Earliest and latest, as the reader keeps them.
                if self.info.first_ts.is_none_or(|t| o.ts < t) {
                    self.info.first_ts = Some(o.ts);
                }
                if self.info.last_ts.is_none_or(|t| o.ts > t) {
                    self.info.last_ts = Some(o.ts);
                }
                // A run stopped before the end still names its link types.
                if !self.info.link_types.contains(&o.link) {
                    self.info.link_types.push(o.link);
                }
                let o = self.current.insert(o);
                Next::Frame(Frame {
                    index: o.index,
                    ts: o.ts,
                    link: o.link,
                    data: &o.data,
                    orig_len: o.orig_len,
                })
            }
            Ok(Msg::File(index, file)) => {
                self.info.files.push(file);
                Next::File(index)
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
                Next::File(_) => panic!("one input: no file announcements"),
                Next::End => break,
            }
        }
        assert_eq!(got, want);
        assert_eq!(p.info().frames, direct.info().frames);
        assert_eq!(p.info().last_ts, direct.info().last_ts);
    }

    /// `(file index, first frame)` announcements and frame numbers, in order.
    fn steps(source: &mut dyn FrameSource) -> Vec<(char, u64)> {
        let mut out = Vec::new();
        loop {
            match source.next() {
                Next::Frame(f) => out.push(('f', f.index)),
                Next::File(i) => {
                    let first = source.info().files.get(i).map(|f| f.first_frame);
                    out.push(('F', first.unwrap_or(u64::MAX)));
                }
                Next::Idle(_) => continue,
                Next::End => break,
            }
        }
        out
    }

    #[test]
    fn files_are_announced_before_their_frames_as_the_reader_does() {
        let dir = env!("CARGO_MANIFEST_DIR");
        let paths = [
            format!("{dir}/samples/v311_basic.pcap"),
            format!("{dir}/samples/v31_mqisdp.pcap"),
        ];
        let want = steps(&mut open_captures(&paths).unwrap());
        let mut first = open_captures(&paths[..1]).unwrap();
        let mut frames_of_first = 0;
        while first.next_frame().is_some() {
            frames_of_first += 1;
        }
        assert_eq!(want.first(), Some(&('F', 1)));
        let second = want
            .iter()
            .position(|&s| s == ('F', frames_of_first + 1))
            .expect("the second file is announced");
        assert_eq!(want.get(second - 1), Some(&('f', frames_of_first)));
        let mut p = Prefetch::spawn(open_captures(&paths).unwrap()).unwrap();
        assert_eq!(steps(&mut p), want);
        assert_eq!(p.info().files.len(), 2);
    }
}
