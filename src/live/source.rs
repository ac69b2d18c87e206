//! Frames from a network interface, through libpcap (cargo feature `live`).
//!
//! The kernel hands packets over in batches, at the latest every
//! [`READ_TIMEOUT_MS`] (not one wake-up per packet, "immediate mode": on
//! Linux that ring has one slot per packet as large as the interface's
//! largest packet, 64 KiB on loopback, so even 32 MiB held only a few
//! hundred packets and a busy second dropped frames; batched, the ring
//! packs them). When nothing arrives the source turns idle, so the
//! pipeline's timers still run on the wall clock. When the run is told to
//! end (Ctrl-C, SIGTERM, `--duration`) the packets captured until then
//! are still read (the backlog, and the kernel's last batch, waited for up
//! to two batch timeouts), so the last ones are not lost in the kernel's
//! buffer; `--count` ends at exactly its frame. Timestamps are asked for in nanoseconds (libpcap falls back to
//! microseconds where it cannot). `--write` saves every frame as pcapng
//! before it is analysed, so frame N of the file is frame N of the report.

use super::PcapngWriter;
use super::{LiveError, LiveOptions};
use crate::base::{Frame, LinkType, Timestamp, Warning};
use crate::capture::{CaptureInfo, Drops, FrameSource, Next};
use pcap::{Active, Capture, Device, Precision};
use std::fs::File;
use std::io::BufWriter;
#[cfg(unix)]
use std::os::unix::io::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The longest the kernel holds captured packets before handing them over,
/// and how long the source waits for one before it turns idle.
const READ_TIMEOUT_MS: i32 = 100;
/// After the end was asked for, how long the source still waits for the
/// kernel's last batch of packets captured before it (two batch timeouts);
/// what is already waiting is read whatever its size.
const DRAIN: Duration = Duration::from_millis(2 * READ_TIMEOUT_MS as u64);

/// Waits until the capture's descriptor is readable or `ms` passed; the
/// handle is non-blocking, so this is what bounds a wait.
#[cfg(unix)]
fn wait_readable(cap: &Capture<Active>, ms: i32) {
    let mut pfd = libc::pollfd {
        fd: cap.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, its length 1; poll only writes `revents`.
    unsafe {
        libc::poll(&mut pfd, 1, ms);
    }
}

/// Elsewhere (Windows: Npcap has no descriptor to poll) the handle stays
/// blocking and the read itself waits, at most the read timeout.
#[cfg(not(unix))]
fn wait_readable(_cap: &Capture<Active>, _ms: i32) {}

unsafe extern "C" {
    /// libpcap ≥ 1.5: the precision the activated handle delivers
    /// (`PCAP_TSTAMP_PRECISION_MICRO` 0, `_NANO` 1). The pcap crate sets the
    /// precision but ignores whether that worked, and does not bind this.
    fn pcap_get_tstamp_precision(p: *mut libc::c_void) -> libc::c_int;
}

/// `PCAP_TSTAMP_PRECISION_NANO`.
const PRECISION_NANO: libc::c_int = 1;

/// A live capture on one interface.
pub struct LiveSource {
    cap: Capture<Active>,
    link: LinkType,
    digits: u8,
    info: CaptureInfo,
    warnings: Vec<Warning>,
    write: Option<PcapngWriter<BufWriter<File>>>,
    stop: Arc<AtomicBool>,
    deadline: Option<Instant>,
    count: Option<u64>,
    drops: Drops,
    stats_at: Instant,
    /// The last read found nothing waiting.
    drained: bool,
    /// The end was asked for at this time: only packets captured until
    /// then are still read, until `drain_until`.
    end_at: Option<Timestamp>,
    drain_until: Option<Instant>,
    /// The next step is the end (set where the packet's borrow of the
    /// handle forbids ending at once).
    end_next: bool,
    /// What was opened, for [`banner`](LiveSource::banner).
    opened: String,
}

/// The time now, as a capture timestamp.
pub fn wall_clock(digits: u8) -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::new(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        u64::from(d.subsec_nanos()),
        digits,
    )
}

impl LiveSource {
    /// Opens `opts.interface` with its filter; `stop` ends the capture when set.
    pub fn open(opts: &LiveOptions, stop: Arc<AtomicBool>) -> Result<LiveSource, LiveError> {
        let devices = Device::list().map_err(|e| LiveError::Devices(e.to_string()))?;
        let Some(device) = devices.iter().find(|d| d.name == opts.interface).cloned() else {
            let names: Vec<String> = devices.iter().map(|d| d.name.clone()).collect();
            return Err(LiveError::UnknownInterface {
                name: opts.interface.clone(),
                known: names,
            });
        };
        let inactive = Capture::from_device(device)
            .map_err(|e| LiveError::Open(opts.interface.clone(), e.to_string()))?
            .promisc(opts.promisc)
            .snaplen(i32::try_from(opts.snaplen).unwrap_or(i32::MAX))
            .timeout(READ_TIMEOUT_MS)
            .immediate_mode(false)
            .precision(Precision::Nano);
        let inactive = match opts.buffer_size {
            Some(b) => inactive.buffer_size(i32::try_from(b).unwrap_or(i32::MAX)),
            None => inactive,
        };
        let cap = inactive
            .open()
            .map_err(|e| LiveError::from_open(&opts.interface, &e.to_string()))?;
        #[cfg(unix)]
        let cap = cap
            .setnonblock()
            .map_err(|e| LiveError::Open(opts.interface.clone(), e.to_string()))?;
        let mut cap = cap;
        cap.filter(&opts.filter, true)
            .map_err(|e| LiveError::Filter(opts.filter.clone(), e.to_string()))?;
        let link = LinkType(u32::try_from(cap.get_datalink().0).unwrap_or(u32::MAX));
        // Nanoseconds were asked for; where the platform cannot give them,
        // libpcap keeps microseconds in tv_usec, and reading those as
        // nanoseconds would put every frame in the wrong millisecond.
        // SAFETY: a valid, activated handle; the call only reads it.
        let nano = unsafe { pcap_get_tstamp_precision(cap.as_ptr().cast()) } == PRECISION_NANO;
        let write = match &opts.write {
            Some(path) => {
                let f = File::create(path)
                    .map_err(|e| LiveError::Write(path.display().to_string(), e.to_string()))?;
                let w = PcapngWriter::new(BufWriter::new(f), link, opts.snaplen, &opts.interface)
                    .map_err(|e| LiveError::Write(path.display().to_string(), e.to_string()))?;
                Some(w)
            }
            None => None,
        };
        let info = CaptureInfo {
            sources: vec![format!("live:{}", opts.interface)],
            link_types: vec![link],
            ..CaptureInfo::default()
        };
        Ok(LiveSource {
            cap,
            link,
            digits: if nano { 9 } else { 6 },
            info,
            warnings: Vec::new(),
            write,
            stop,
            deadline: opts.duration.map(|d| Instant::now() + d),
            count: opts.count,
            drops: Drops::default(),
            stats_at: Instant::now(),
            drained: false,
            end_at: None,
            drain_until: None,
            end_next: false,
            opened: format!(
                "capturing on {} (link {link}, filter \"{}\"{}{})",
                opts.interface,
                opts.filter,
                opts.buffer_size
                    .map(|b| format!(", kernel buffer {}", super::size_text(b)))
                    .unwrap_or_default(),
                if nano { "" } else { ", timestamps in µs" },
            ),
        })
    }

    /// One line saying what is being captured (like tcpdump's "listening
    /// on"): written to stderr once the capture runs.
    pub fn banner(&self) -> &str {
        &self.opened
    }

    /// Whether the end was asked for (Ctrl-C, SIGTERM, `--duration`).
    fn end_asked(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// The last step: final drop counters, --write flushed.
    fn end(&mut self) -> Next<'_> {
        self.refresh_drops(true);
        self.finish_write();
        Next::End
    }

    /// libpcap's drop counters, read at most once a second.
    fn refresh_drops(&mut self, force: bool) {
        if !force && self.stats_at.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.stats_at = Instant::now();
        if let Ok(s) = self.cap.stats() {
            self.drops = Drops {
                kernel: u64::from(s.dropped),
                interface: u64::from(s.if_dropped),
            };
        }
    }

    fn finish_write(&mut self) {
        flush_write(&mut self.write, &mut self.warnings);
    }
}

/// Flushes `--write`'s file, a warning if that fails.
fn flush_write(write: &mut Option<PcapngWriter<BufWriter<File>>>, warnings: &mut Vec<Warning>) {
    if let Some(w) = write.as_mut()
        && let Err(e) = w.flush()
    {
        warnings.push(Warning::general(format!(
            "--write: could not write the capture: {e}"
        )));
    }
}

impl FrameSource for LiveSource {
    fn next(&mut self) -> Next<'_> {
        if self.end_next || self.count.is_some_and(|n| self.info.frames >= n) {
            return self.end();
        }
        if self.end_at.is_none() && self.end_asked() {
            self.end_at = Some(wall_clock(9));
            self.drain_until = Some(Instant::now() + DRAIN);
        }
        let wait_ms = match self.drain_until {
            Some(until) => {
                // The backlog is read to its end however long that takes
                // (newer packets end it, being after `end_at`); the wait
                // only gives the kernel time to hand over its last batch.
                let left = until.saturating_duration_since(Instant::now());
                if self.drained && left.is_zero() {
                    return self.end();
                }
                i32::try_from(left.as_millis())
                    .unwrap_or(READ_TIMEOUT_MS)
                    .clamp(1, READ_TIMEOUT_MS)
            }
            None => READ_TIMEOUT_MS,
        };
        self.refresh_drops(false);
        if self.drained {
            // Nothing was waiting last time: wait for the descriptor, so an
            // idle capture turns every READ_TIMEOUT_MS instead of spinning.
            wait_readable(&self.cap, wait_ms);
        }
        let end_at = self.end_at;
        let LiveSource {
            cap,
            link,
            digits,
            info,
            warnings,
            write,
            drained,
            end_next,
            ..
        } = self;
        let (header, data) = match cap.next_packet() {
            Ok(p) => {
                *drained = false;
                (*p.header, p.data)
            }
            Err(pcap::Error::TimeoutExpired) => {
                *drained = true;
                return Next::Idle(wall_clock(*digits));
            }
            Err(e) => {
                if !matches!(e, pcap::Error::NoMorePackets) {
                    warnings.push(Warning::general(format!("live capture stopped: {e}")));
                }
                *end_next = true;
                return Next::Idle(wall_clock(*digits));
            }
        };
        // With nanosecond precision libpcap puts nanoseconds in tv_usec.
        // (`time_t` is not i64 on every platform, hence the conversion.)
        let fraction = u64::try_from(header.ts.tv_usec).unwrap_or(0);
        #[allow(clippy::useless_conversion)]
        let ts = Timestamp::new(
            i64::from(header.ts.tv_sec),
            if *digits == 9 {
                fraction
            } else {
                fraction.saturating_mul(1000)
            },
            *digits,
        );
        if end_at.is_some_and(|end| ts > end) {
            // captured after the end was asked for: not part of this run
            *end_next = true;
            return Next::Idle(wall_clock(*digits));
        }
        info.frames += 1;
        info.bytes += data.len() as u64;
        if info.first_ts.is_none() {
            info.first_ts = Some(ts);
        }
        info.last_ts = Some(ts);
        if let Some(w) = write.as_mut()
            && let Err(e) = w.frame(ts, data, header.len)
        {
            warnings.push(Warning::at(
                info.frames,
                format!("--write: could not write the capture, stopped writing: {e}"),
            ));
            *write = None;
        }
        Next::Frame(Frame {
            index: info.frames,
            ts,
            link: *link,
            data,
            orig_len: header.len,
        })
    }

    fn info(&self) -> &CaptureInfo {
        &self.info
    }

    fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    fn drops(&self) -> Option<Drops> {
        Some(self.drops)
    }
}
