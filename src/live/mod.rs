//! Live capture: `mqtt-inspect live -i IFACE` and `mqtt-inspect interfaces`.
//!
//! Built with cargo feature `live` (libpcap); without it, both commands say
//! in one line how to get them. The capture is a [`FrameSource`](crate::capture::FrameSource)
//! like a file, with idle turns on the wall clock so timeouts fire without
//! traffic. `--write` is a pcapng file of exactly what was analysed.

mod pcapng_writer;
#[cfg(feature = "live")]
mod source;

pub use pcapng_writer::PcapngWriter;
#[cfg(feature = "live")]
pub use source::{LiveSource, wall_clock};

use std::path::PathBuf;
use std::time::Duration;

/// Everything `live` needs to open its capture.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub interface: String,
    /// The kernel (BPF) filter.
    pub filter: String,
    pub snaplen: u32,
    pub promisc: bool,
    /// The kernel buffer in bytes (libpcap's default when `None`).
    pub buffer_size: Option<u32>,
    pub duration: Option<Duration>,
    pub count: Option<u64>,
    pub write: Option<PathBuf>,
}

/// The BPF filter for the MQTT ports (`tcp port 1883 or tcp port 8883`).
pub fn port_filter(ports: &[u16]) -> String {
    ports
        .iter()
        .map(|p| format!("tcp port {p}"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A buffer size as people read it: `32 MiB`, `64 KiB`, `1000 B`.
pub fn size_text(bytes: u32) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 20 => format!("{:.1} MiB", f64::from(b) / f64::from(1u32 << 20)),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

/// Why live capture could not start, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("cannot list the interfaces: {0}")]
    Devices(String),
    #[error("no interface {name:?}; known: {}", known.join(", "))]
    UnknownInterface { name: String, known: Vec<String> },
    #[error(
        "no permission to capture on {0}: run as root, or give the binary the capabilities once: sudo setcap cap_net_raw,cap_net_admin=eip $(command -v mqtt-inspect)"
    )]
    Permission(String),
    #[error("cannot open {0}: {1}")]
    Open(String, String),
    #[error("bad capture filter {0:?}: {1}")]
    Filter(String, String),
    #[error("--write {0}: {1}")]
    Write(String, String),
}

impl LiveError {
    /// An error from opening the handle: a permission problem says what to do.
    pub fn from_open(interface: &str, message: &str) -> LiveError {
        let m = message.to_ascii_lowercase();
        if m.contains("permission") || m.contains("operation not permitted") {
            LiveError::Permission(interface.to_string())
        } else {
            LiveError::Open(interface.to_string(), message.to_string())
        }
    }
}

/// One line for a build without live capture.
pub const NOT_BUILT: &str = "live capture is not in this build: install with `cargo install mqtt-inspect --features live` (needs libpcap: Debian/Ubuntu `apt install libpcap-dev`, Fedora `dnf install libpcap-devel`, macOS ships it, Windows needs Npcap with its SDK); meanwhile pipe tcpdump: tcpdump -i IFACE -U -w - port 1883 | mqtt-inspect analyze -";

/// One interface as `interfaces` lists it.
#[derive(Debug, Clone)]
pub struct Interface {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<std::net::IpAddr>,
    pub up: bool,
    pub running: bool,
    pub loopback: bool,
}

/// The interfaces libpcap can capture on.
#[cfg(feature = "live")]
pub fn interfaces() -> Result<Vec<Interface>, LiveError> {
    let devices = pcap::Device::list().map_err(|e| LiveError::Devices(e.to_string()))?;
    Ok(devices
        .into_iter()
        .map(|d| Interface {
            up: d.flags.is_up(),
            running: d.flags.is_running(),
            loopback: d.flags.is_loopback(),
            addresses: d.addresses.iter().map(|a| a.addr).collect(),
            description: d.desc,
            name: d.name,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_from_ports() {
        assert_eq!(port_filter(&[1883, 8883]), "tcp port 1883 or tcp port 8883");
        assert_eq!(port_filter(&[1337]), "tcp port 1337");
    }

    #[test]
    fn sizes() {
        assert_eq!(size_text(32 << 20), "32 MiB");
        assert_eq!(size_text(3 << 19), "1.5 MiB");
        assert_eq!(size_text(65536), "64 KiB");
        assert_eq!(size_text(1000), "1000 B");
    }

    #[test]
    fn permission_errors_say_what_to_do() {
        let e = LiveError::from_open(
            "eth0",
            "eth0: You don't have permission to capture on that device (socket: Operation not permitted)",
        );
        assert!(
            e.to_string()
                .contains("setcap cap_net_raw,cap_net_admin=eip"),
            "{e}"
        );
        let e = LiveError::from_open("eth0", "eth0: No such device exists");
        assert!(matches!(e, LiveError::Open(..)));
    }
}
