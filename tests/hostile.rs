//! Hostile captures: floods, lies and bombs, generated here (in a temporary
//! directory, nothing large is committed) and run through the real binary,
//! `mqtt-inspect analyze --format json`.
//!
//! Every run is checked for:
//!
//! - **no crash**: the exit status is 0 or 1 (2 only where the input cannot
//!   be read at all), never a signal;
//! - **no hang**: a run still going after [`HANG`] is killed and fails the
//!   test. That is the only use of the clock; no time is ever asserted.
//! - **bounded memory**: the child's own peak RSS (`ru_maxrss` from
//!   `wait4(2)` on its pid, taken by a small re-executed spawner so that
//!   this test process's own memory does not leak into the number; see
//!   [`run_bin`]) must stay within a bound derived from the caps
//!   that README.md, docs/architecture.md and `src/analysis/mod.rs`
//!   document. Captures are fed on stdin (`-`), which the tool always
//!   streams: a memory-mapped file's pages count in RSS and would hide what
//!   the analysis itself holds. The bound is `baseline + what the caps
//!   allow + SLACK`, where `baseline` is the peak RSS of the same binary on
//!   a small clean capture (measured once per test process);
//! - **damage named**: what is wrong with the input shows up in the JSON
//!   `findings` (their `frames`) or `warnings` (their `frame`) with the frame
//!   numbers the generator recorded;
//! - **the rest still analysed**: a clean MQTT 3.1.1 client (its own TCP
//!   connection, `N` QoS 1 PUBLISH → PUBACK pairs spread over the whole
//!   capture) is mixed into every capture, and all `N` flows must complete
//!   with its packets counted and no finding against it.
//!
//! Several scenarios describe defects known today; their tests assert the
//! correct behaviour and fail until it is fixed (see each test's comment).
//! Each test gathers all its failed checks and reports them together, with
//! the measured numbers, so one run shows the whole picture. Measurements
//! are printed on stderr (`cargo test --release --test hostile --
//! --nocapture` shows them for passing tests too). Set `HOSTILE_KEEP=1` to
//! keep the generated captures (their directory is printed).
//!
//! Run in release mode (`cargo test --release --test hostile`): the floods
//! are millions of frames (the whole file takes about 30 s on 2 cores). A
//! debug build is many times slower, so the hang timeout is longer there.
//!
//! ## What they found
//!
//! Each of these failed on the code as of 8ef0637 and is fixed; the table
//! says what it catches if it comes back.
//!
//! | test | defect |
//! |---|---|
//! | `connection_flood` | peak RSS grows ~700 bytes per MQTT connection ever seen (the report keeps every connection's record, and more): 300k connections cost 7-8 x what 30k do, with or without `--max-connections 1000` |
//! | `out_of_order_flood` | after the `--max-buffered` gap, later never-seen data behind it is counted as retransmissions |
//! | `one_byte_segments` | `--max-buffered` counts payload bytes only: 4 MiB of one-byte segments holds ~450 MiB |
//! | `huge_remaining_length` | a PUBLISH declaring 268,435,455 bytes vanishes unreported and swallows the 100 PUBLISHes after it (their PUBACKs become `unexpected_ack`) |
//! | `syn_flood_one_tuple` | every SYN with a new ISN on the same 4-tuple becomes a reported connection: memory grows with the SYNs |
//! | `sequence_jumps_2_31` | data 2^31 away is buffered and finally delivered, with a ~2^31-byte gap, and nothing names those frames |
//! | `hostile_record_headers` | impossible record lengths (orig_len < caplen, 0, 0xFFFFFFFF) pass without a warning |
//!
//! `unacknowledged_qos1_flood` and `gzip_bombs` pass.

mod capture_support;

use capture_support::tcp_flags::{ACK, FIN, PSH, RST, SYN};
use capture_support::{
    FrameList, FrameSink, Ng, Pcap, PcapStream, STREAM_START_SECS, eth_ipv4_tcp,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mqtt-inspect");

/// A run still going after this long is a hang: killed, and the test fails.
/// (Debug builds of the tool are many times slower than release ones.)
const HANG: Duration = Duration::from_secs(if cfg!(debug_assertions) { 900 } else { 120 });

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// `--max-buffered` default (README: 4194304).
const MAX_BUFFERED: u64 = 4 * MIB;
/// `max_inflight_per_direction` (src/analysis/mod.rs, tracker.rs: 4096).
const MAX_INFLIGHT: u64 = 4096;
/// The MQTT framer's buffer for a packet split across segments (architecture.md: 1 MiB).
const MAX_PACKET_BUFFER: u64 = MIB;
/// The streaming input's buffer and its largest record (architecture.md: 2 MiB, 256 KiB).
const STREAM_BUFFER: u64 = 2 * MIB;
const MAX_RECORD: u64 = 256 * KIB;

/// Allowance on top of what the caps allow, for everything no cap names:
/// allocator rounding and fragmentation, hash tables' spare capacity, the
/// report being built (1000 warnings, 10 000 findings listed at most), stdio
/// buffers.
const SLACK: u64 = 16 * MIB;

/// Address-space limit of the child: a safety net for this shared machine,
/// far above every bound below. A run that reaches it dies by a signal
/// (allocation failure aborts), which fails the test as a crash.
const AS_LIMIT: u64 = 4 << 30;

/// "within 25 % + a small constant" for memory that must not grow with
/// what the capture has seen.
const GROWTH_FACTOR: f64 = 1.25;
const GROWTH_CONSTANT: u64 = 8 * MIB;

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / MIB as f64)
}

// ---------------------------------------------------------------------------
// Collecting checks
// ---------------------------------------------------------------------------

/// The checks of one test: every failure is kept, and all of them are
/// reported at the end together with the measurements.
struct Checks {
    name: &'static str,
    failures: Vec<String>,
    notes: Vec<String>,
}

impl Checks {
    fn new(name: &'static str) -> Self {
        Checks {
            name,
            failures: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) -> bool {
        if !ok {
            let msg = what();
            eprintln!("[{}] FAILED: {msg}", self.name);
            self.failures.push(msg);
        }
        ok
    }

    fn note(&mut self, msg: impl Into<String>) {
        let msg = msg.into();
        eprintln!("[{}] {msg}", self.name);
        self.notes.push(msg);
    }

    /// Peak RSS within `bound`; `why` says where the bound comes from.
    fn rss_within(&mut self, run: &Run, bound: u64, why: &str) {
        let label = run.label.clone();
        let peak = run.peak_rss;
        self.check(peak <= bound, || {
            format!(
                "{label}: peak RSS {} is above the bound {} ({why})",
                mib(peak),
                mib(bound)
            )
        });
    }

    /// `big` must not exceed `small` by more than 25 % + a constant.
    fn no_growth(&mut self, small: &Run, big: &Run, what: &str) {
        let bound = (small.peak_rss as f64 * GROWTH_FACTOR) as u64 + GROWTH_CONSTANT;
        let (s, b) = (small.peak_rss, big.peak_rss);
        self.note(format!(
            "{what}: {} vs {} ({:.2}x); bound {}",
            mib(b),
            mib(s),
            b as f64 / s.max(1) as f64,
            mib(bound)
        ));
        let (sl, bl) = (small.label.clone(), big.label.clone());
        self.check(b <= bound, || {
            format!(
                "{what}: peak RSS grows with the capture: {bl} {} > 1.25 x {sl} {} + {}",
                mib(b),
                mib(s),
                mib(GROWTH_CONSTANT)
            )
        });
    }

    fn done(self) {
        if !self.failures.is_empty() {
            panic!(
                "{}: {} check(s) failed:\n  - {}\nmeasured:\n  - {}",
                self.name,
                self.failures.len(),
                self.failures.join("\n  - "),
                self.notes.join("\n  - ")
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

/// One run of the binary: how it ended and what it cost.
struct Run {
    label: String,
    /// Exit code, or `None` when a signal ended it.
    code: Option<i32>,
    signal: Option<i32>,
    /// The child's own peak resident set, in bytes (`ru_maxrss`).
    peak_rss: u64,
    wall: Duration,
    stdout: PathBuf,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        let end = match (self.code, self.signal) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            _ => "ended oddly".into(),
        };
        format!(
            "{}: {end}, peak RSS {}, {:.1} s",
            self.label,
            mib(self.peak_rss),
            self.wall.as_secs_f64()
        )
    }
}

/// What the spawner is asked to run (see [`spawner_for_rss_measurement`]).
#[derive(Serialize, Deserialize)]
struct SpawnRequest {
    args: Vec<String>,
    stdin: Option<PathBuf>,
    stdout: PathBuf,
    stderr: PathBuf,
    result: PathBuf,
}

/// How the run ended, as `wait4` told the spawner.
#[derive(Serialize, Deserialize)]
struct SpawnResult {
    code: Option<i32>,
    signal: Option<i32>,
    /// `ru_maxrss`: kilobytes on Linux.
    maxrss_kib: u64,
    wall_ms: u64,
    hung: bool,
}

/// Environment variable naming a [`SpawnRequest`] file; set only for the spawner.
const SPAWN_ENV: &str = "MQTT_INSPECT_HOSTILE_SPAWN";

/// Runs `mqtt-inspect ARGS` (stdin from `stdin` or nothing, stdout and
/// stderr to files in `dir`) and measures its peak RSS.
///
/// Why a spawner: the `ru_maxrss` that `wait4` reports for a child counts
/// the memory of the process it was forked from — at `fork` the child's
/// high-water mark starts at the parent's resident size (a `vfork` /
/// `posix_spawn` even carries the parent's peak over `exec`). Forked from
/// this test process (tens or hundreds of MiB while captures are generated
/// and reports parsed, by several tests at once) the number would be the
/// test's, not the tool's. So the test binary re-executes itself (a fresh
/// process of ~3 MiB) running only [`spawner_for_rss_measurement`], which
/// starts the tool, waits for it with `wait4` and writes back the exit
/// status and `ru_maxrss`: the tool's own peak, with a floor of ~3 MiB,
/// below any bound used here.
fn run_bin(dir: &Path, label: &str, args: &[&str], stdin: Option<&Path>) -> Run {
    let stem = dir.join(label.replace(['/', ' ', ',', '^'], "_"));
    let with = |ext: &str| {
        let mut p = stem.clone().into_os_string();
        p.push(ext);
        PathBuf::from(p)
    };
    let req = SpawnRequest {
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: stdin.map(Path::to_path_buf),
        stdout: with(".out"),
        stderr: with(".err"),
        result: with(".result"),
    };
    let req_path = with(".request");
    std::fs::write(&req_path, serde_json::to_vec(&req).unwrap()).expect("write spawn request");
    let _ = std::fs::remove_file(&req.result);
    let me = std::env::current_exe().expect("test binary path");
    let mut spawner = Command::new(me)
        .args([
            "--exact",
            "spawner_for_rss_measurement",
            "--test-threads=1",
            "-q",
        ])
        .env(SPAWN_ENV, &req_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(with(".spawner")).expect("spawner log"))
        .spawn()
        .expect("start the spawner");
    // The spawner enforces HANG on the tool; this only guards the spawner itself.
    let start = Instant::now();
    loop {
        if spawner.try_wait().expect("wait for the spawner").is_some() {
            break;
        }
        if start.elapsed() > HANG + Duration::from_secs(60) {
            let _ = spawner.kill();
            let _ = spawner.wait();
            panic!("{label}: the spawner did not finish");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let result: SpawnResult = std::fs::read(&req.result)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| {
            panic!(
                "{label}: the spawner wrote no result: {}",
                std::fs::read_to_string(with(".spawner")).unwrap_or_default()
            )
        });
    let stderr = std::fs::read_to_string(&req.stderr).unwrap_or_default();
    let run = Run {
        label: label.to_string(),
        code: result.code,
        signal: result.signal,
        peak_rss: result.maxrss_kib * KIB,
        wall: Duration::from_millis(result.wall_ms),
        stdout: req.stdout,
        stderr,
    };
    assert!(
        !result.hung,
        "{label}: still running after {} s: a hang (killed); peak RSS by then {}",
        HANG.as_secs(),
        mib(run.peak_rss)
    );
    run
}

/// Plumbing for [`run_bin`], not a test of its own: does nothing unless the
/// test binary was re-executed with [`SPAWN_ENV`] naming a request. Then it
/// runs the tool under an address-space limit ([`AS_LIMIT`]), polls `wait4`
/// (`WNOHANG`) for its exit and rusage, kills it with SIGKILL after [`HANG`],
/// and writes a [`SpawnResult`].
#[test]
fn spawner_for_rss_measurement() {
    let Some(req_path) = std::env::var_os(SPAWN_ENV) else {
        return;
    };
    let req: SpawnRequest =
        serde_json::from_slice(&std::fs::read(req_path).expect("read request")).expect("request");
    let lim = libc::rlimit {
        rlim_cur: AS_LIMIT as libc::rlim_t,
        rlim_max: AS_LIMIT as libc::rlim_t,
    };
    // SAFETY: plain system call on this process; the tool inherits the limit.
    unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) };
    let start = Instant::now();
    let child = Command::new(BIN)
        .args(&req.args)
        .stdout(File::create(&req.stdout).expect("stdout file"))
        .stderr(File::create(&req.stderr).expect("stderr file"))
        .stdin(match &req.stdin {
            Some(p) => Stdio::from(File::open(p).expect("capture file")),
            None => Stdio::null(),
        })
        .spawn()
        .expect("start mqtt-inspect");
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut pause = Duration::from_millis(1);
    let mut hung = false;
    loop {
        // SAFETY: waits for our own child only; WNOHANG never blocks.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if r < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            panic!("wait4 failed: {err}");
        }
        if !hung && start.elapsed() > HANG {
            hung = true;
            // SAFETY: the child is not reaped yet, so the pid is still ours.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    drop(child); // already reaped; dropping a Child never waits
    let result = SpawnResult {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
        maxrss_kib: usage.ru_maxrss as u64,
        wall_ms: start.elapsed().as_millis() as u64,
        hung,
    };
    std::fs::write(&req.result, serde_json::to_vec(&result).unwrap()).expect("write result");
}

/// `analyze --format json EXTRA -` with the capture on stdin. A crash (a
/// signal, or an exit status other than 0 or 1) fails the test at once:
/// there is no report to check.
fn analyze(
    c: &mut Checks,
    dir: &Path,
    label: &str,
    capture: &Path,
    extra: &[&str],
) -> (Run, Report) {
    let mut args = vec!["analyze", "--format", "json"];
    args.extend_from_slice(extra);
    args.push("-");
    let run = run_bin(dir, label, &args, Some(capture));
    let size = std::fs::metadata(capture).map(|m| m.len()).unwrap_or(0);
    c.note(format!("{} (capture {})", run.describe(), mib(size)));
    let tail: String = run
        .stderr
        .lines()
        .rev()
        .take(5)
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(
        matches!(run.code, Some(0) | Some(1)),
        "{}: must exit 0 or 1 on a readable capture (never crash); {} (AS limit {}); stderr: {tail}",
        label,
        run.describe(),
        mib(AS_LIMIT)
    );
    let report = read_report(&run.stdout)
        .unwrap_or_else(|e| panic!("{label}: stdout is not the JSON summary: {e}"));
    (run, report)
}

// ---------------------------------------------------------------------------
// The report (docs/json.md), only the parts the tests read
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[allow(dead_code)] // mirrors docs/json.md; not every field is read by every test
struct Report {
    capture: Value,
    connections: Vec<Conn>,
    packets: Value,
    flows: Value,
    #[serde(default)]
    flows_by_direction: Value,
    #[serde(default)]
    qos0_messages: Value,
    findings: Vec<Value>,
    #[serde(default)]
    findings_by_kind: Value,
    #[serde(default)]
    analysis: Value,
    tcp: Value,
    warnings: Vec<Warn>,
    #[serde(default)]
    warnings_dropped: u64,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Conn {
    id: u64,
    client: Ep,
    close: String,
    client_to_server: Dir,
    server_to_client: Dir,
    mqtt: Option<ConnMqtt>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Ep {
    ip: String,
    port: u16,
}

#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[allow(dead_code)]
struct Dir {
    bytes: u64,
    segments: u64,
    retransmissions: u64,
    out_of_order: u64,
    gap_bytes: u64,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct ConnMqtt {
    #[serde(default)]
    packets: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Warn {
    frame: Option<u64>,
    message: String,
}

fn read_report(path: &Path) -> Result<Report, String> {
    let f = File::open(path).map_err(|e| e.to_string())?;
    serde_json::from_reader(BufReader::with_capacity(1 << 20, f)).map_err(|e| e.to_string())
}

/// A number at a dotted path (`"flows.qos1.completed"`), if there is one.
fn num(v: &Value, path: &str) -> Option<u64> {
    path.split('.')
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_u64)
}

impl Report {
    fn conn_by_client(&self, ip: [u8; 4], port: u16) -> Option<&Conn> {
        let ip = format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]);
        self.connections
            .iter()
            .find(|c| c.client.ip == ip && c.client.port == port)
    }

    fn packets_of(conn: &Conn, kind: &str) -> u64 {
        conn.mqtt
            .as_ref()
            .and_then(|m| m.packets.get(kind).copied())
            .unwrap_or(0)
    }

    fn findings_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.findings
            .iter()
            .filter(move |f| f.get("kind").and_then(Value::as_str) == Some(kind))
    }

    /// Every (frame, message) the report names: each frame of each finding, each warning's frame.
    fn named_frames(&self) -> Vec<(u64, &str)> {
        let mut out = Vec::new();
        for f in &self.findings {
            let msg = f.get("message").and_then(Value::as_str).unwrap_or("");
            for fr in frames_of(f) {
                out.push((fr, msg));
            }
        }
        for w in &self.warnings {
            if let Some(fr) = w.frame {
                out.push((fr, w.message.as_str()));
            }
        }
        out
    }

    /// Findings and warnings, briefly, for failure messages.
    fn damage_summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        parts.push(format!("findings_by_kind {}", self.findings_by_kind));
        for w in self.warnings.iter().take(4) {
            parts.push(format!("warning frame {:?}: {}", w.frame, w.message));
        }
        if self.warnings.len() > 4 {
            parts.push(format!(
                "... {} warnings (+{} dropped)",
                self.warnings.len(),
                self.warnings_dropped
            ));
        }
        parts.join("; ")
    }
}

fn frames_of(f: &Value) -> Vec<u64> {
    f.get("frames")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// MQTT 3.1.1 bytes
// ---------------------------------------------------------------------------

mod mqtt {
    pub fn remaining_length(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let mut b = (n % 128) as u8;
            n /= 128;
            if n > 0 {
                b |= 0x80;
            }
            out.push(b);
            if n == 0 {
                break;
            }
        }
    }

    pub fn packet(first: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![first];
        remaining_length(body.len(), &mut v);
        v.extend_from_slice(body);
        v
    }

    fn string(s: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s);
    }

    /// CONNECT, MQTT 3.1.1, clean session, keep alive 0 (off: no keep-alive findings
    /// however long the capture).
    pub fn connect(client_id: &str) -> Vec<u8> {
        let mut body = Vec::new();
        string(b"MQTT", &mut body);
        body.extend_from_slice(&[4, 0x02, 0, 0]);
        string(client_id.as_bytes(), &mut body);
        packet(0x10, &body)
    }

    pub fn connack() -> Vec<u8> {
        vec![0x20, 2, 0, 0]
    }

    pub fn publish_q1(topic: &str, id: u16, payload: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        string(topic.as_bytes(), &mut body);
        body.extend_from_slice(&id.to_be_bytes());
        body.extend_from_slice(payload);
        packet(0x32, &body)
    }

    pub fn publish_q0(topic: &str, payload: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        string(topic.as_bytes(), &mut body);
        body.extend_from_slice(payload);
        packet(0x30, &body)
    }

    pub fn puback(id: u16) -> Vec<u8> {
        vec![0x40, 2, (id >> 8) as u8, id as u8]
    }

    pub fn disconnect() -> Vec<u8> {
        vec![0xe0, 0]
    }
}

// ---------------------------------------------------------------------------
// TCP conversations
// ---------------------------------------------------------------------------

type Addr = ([u8; 4], u16);

/// One TCP connection: keeps both sides' sequence numbers.
struct Tcp {
    client: Addr,
    server: Addr,
    /// Next sequence number of each side.
    cseq: u32,
    sseq: u32,
    buf: Vec<u8>,
}

impl Tcp {
    fn new(client: Addr, server: Addr, client_isn: u32, server_isn: u32) -> Self {
        Tcp {
            client,
            server,
            cseq: client_isn,
            sseq: server_isn,
            buf: Vec::with_capacity(2048),
        }
    }

    /// A client segment exactly as given (sequence number and flags), acknowledging
    /// the server's data; the connection's state does not move.
    fn client_at(&mut self, o: &mut impl FrameSink, seq: u32, flags: u8, data: &[u8]) -> u64 {
        eth_ipv4_tcp(
            &mut self.buf,
            self.client,
            self.server,
            seq,
            self.sseq,
            flags,
            64240,
            data,
        );
        o.frame(&self.buf)
    }

    fn server_at(&mut self, o: &mut impl FrameSink, seq: u32, flags: u8, data: &[u8]) -> u64 {
        eth_ipv4_tcp(
            &mut self.buf,
            self.server,
            self.client,
            seq,
            self.cseq,
            flags,
            64240,
            data,
        );
        o.frame(&self.buf)
    }

    /// SYN, SYN/ACK, ACK; returns the last frame.
    fn handshake(&mut self, o: &mut impl FrameSink) -> u64 {
        self.client_at(o, self.cseq, SYN, &[]);
        self.cseq = self.cseq.wrapping_add(1);
        self.server_at(o, self.sseq, SYN | ACK, &[]);
        self.sseq = self.sseq.wrapping_add(1);
        self.client_at(o, self.cseq, ACK, &[])
    }

    fn client(&mut self, o: &mut impl FrameSink, data: &[u8]) -> u64 {
        let f = self.client_at(o, self.cseq, PSH | ACK, data);
        self.cseq = self.cseq.wrapping_add(data.len() as u32);
        f
    }

    fn server(&mut self, o: &mut impl FrameSink, data: &[u8]) -> u64 {
        let f = self.server_at(o, self.sseq, PSH | ACK, data);
        self.sseq = self.sseq.wrapping_add(data.len() as u32);
        f
    }

    /// The server acknowledges everything the client sent so far.
    fn server_ack(&mut self, o: &mut impl FrameSink) -> u64 {
        self.server_at(o, self.sseq, ACK, &[])
    }

    fn client_rst(&mut self, o: &mut impl FrameSink) -> u64 {
        self.client_at(o, self.cseq, RST | ACK, &[])
    }

    /// FIN from the client, FIN/ACK from the server, the client's last ACK.
    fn close(&mut self, o: &mut impl FrameSink) -> u64 {
        self.client_at(o, self.cseq, FIN | ACK, &[]);
        self.cseq = self.cseq.wrapping_add(1);
        self.server_at(o, self.sseq, FIN | ACK, &[]);
        self.sseq = self.sseq.wrapping_add(1);
        self.client_at(o, self.cseq, ACK, &[])
    }
}

// ---------------------------------------------------------------------------
// The clean client mixed into every capture
// ---------------------------------------------------------------------------

const CLEAN_CLIENT: Addr = ([10, 99, 0, 1], 40001);
const CLEAN_BROKER: Addr = ([10, 99, 0, 100], 1883);

/// One well-behaved client: CONNECT / CONNACK, `n` QoS 1 PUBLISH → PUBACK
/// pairs (ids 1..=n), DISCONNECT, FIN both ways.
struct Clean {
    tcp: Tcp,
    n: u16,
    next: u16,
}

impl Clean {
    fn new(n: u16) -> Self {
        Clean {
            tcp: Tcp::new(CLEAN_CLIENT, CLEAN_BROKER, 0x1000_0000, 0x2000_0000),
            n,
            next: 1,
        }
    }

    fn open(&mut self, o: &mut impl FrameSink) {
        self.tcp.handshake(o);
        self.tcp.client(o, &mqtt::connect("clean-client"));
        self.tcp.server(o, &mqtt::connack());
    }

    /// The next pair, if any is left.
    fn pair(&mut self, o: &mut impl FrameSink) {
        if self.next > self.n {
            return;
        }
        let id = self.next;
        self.next += 1;
        self.tcp
            .client(o, &mqtt::publish_q1("clean/telemetry", id, b"21.5 C"));
        self.tcp.server(o, &mqtt::puback(id));
    }

    /// The pairs not sent yet, then DISCONNECT and the close.
    fn finish(&mut self, o: &mut impl FrameSink) {
        while self.next <= self.n {
            self.pair(o);
        }
        self.tcp.client(o, &mqtt::disconnect());
        self.tcp.close(o);
    }
}

/// The clean client was analysed in full: its connection is reported with
/// one CONNECT, `n` PUBLISH and `n` PUBACK, no TCP damage, closed by FIN, and
/// no finding names it.
fn check_clean(c: &mut Checks, r: &Report, n: u64, label: &str) {
    let Some(conn) = r.conn_by_client(CLEAN_CLIENT.0, CLEAN_CLIENT.1) else {
        c.check(false, || {
            format!("{label}: the clean client's connection is not in the report")
        });
        return;
    };
    let (connect, publish, puback) = (
        Report::packets_of(conn, "CONNECT"),
        Report::packets_of(conn, "PUBLISH"),
        Report::packets_of(conn, "PUBACK"),
    );
    c.check(connect == 1 && publish == n && puback == n, || {
        format!(
            "{label}: clean client: CONNECT {connect}, PUBLISH {publish}, PUBACK {puback}; want 1, {n}, {n}"
        )
    });
    let d = conn.client_to_server;
    c.check(d.gap_bytes == 0 && d.retransmissions == 0, || {
        format!("{label}: clean client's stream damaged: {d:?}")
    });
    c.check(conn.close == "fin", || {
        format!(
            "{label}: clean client's close is {:?}, want \"fin\"",
            conn.close
        )
    });
    let id = conn.id;
    let against: Vec<String> = r
        .findings
        .iter()
        .filter(|f| num(f, "connection") == Some(id))
        .take(3)
        .map(|f| {
            f.get("message")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    c.check(against.is_empty(), || {
        format!("{label}: findings against the clean client (connection {id}): {against:?}")
    });
}

/// Total QoS 1 flows completed / incomplete.
fn qos1(r: &Report) -> (u64, u64) {
    (
        num(&r.flows, "qos1.completed").unwrap_or(0),
        num(&r.flows, "qos1.incomplete").unwrap_or(0),
    )
}

// ---------------------------------------------------------------------------
// Scratch space and the baseline
// ---------------------------------------------------------------------------

/// A temporary directory, kept (and printed) with `HOSTILE_KEEP=1`.
struct Scratch(Option<tempfile::TempDir>, PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("hostile-{name}-"))
            .tempdir()
            .expect("temp dir");
        let path = dir.path().to_path_buf();
        if std::env::var_os("HOSTILE_KEEP").is_some() {
            eprintln!("[{name}] keeping captures in {}", path.display());
            let _ = dir.keep();
            Scratch(None, path)
        } else {
            Scratch(Some(dir), path)
        }
    }

    fn path(&self) -> &Path {
        &self.1
    }

    fn file(&self, name: &str) -> PathBuf {
        self.1.join(name)
    }

    /// Removes a capture that is no longer needed (floods are big).
    fn drop_file(&self, p: &Path) {
        if self.0.is_some() {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn pcap_writer(path: &Path) -> PcapStream<BufWriter<File>> {
    let f = File::create(path).expect("create capture");
    PcapStream::new(BufWriter::with_capacity(1 << 20, f), 1)
}

/// Peak RSS of the binary on a small clean capture (the clean client alone,
/// 200 pairs), on stdin: what the process costs before any cap is reached.
fn baseline() -> u64 {
    static BASE: OnceLock<u64> = OnceLock::new();
    *BASE.get_or_init(|| {
        let dir = Scratch::new("baseline");
        let path = dir.file("clean.pcap");
        let mut o = pcap_writer(&path);
        o.step_us = 50;
        let mut clean = Clean::new(200);
        clean.open(&mut o);
        clean.finish(&mut o);
        o.finish();
        let run = run_bin(
            dir.path(),
            "baseline",
            &["analyze", "--format", "json", "-"],
            Some(&path),
        );
        assert_eq!(run.code, Some(0), "baseline run: {}", run.describe());
        let r = read_report(&run.stdout).expect("baseline report");
        let mut c = Checks::new("baseline");
        check_clean(&mut c, &r, 200, "baseline");
        c.check(qos1(&r) == (200, 0), || {
            format!("baseline flows {:?}", qos1(&r))
        });
        c.done();
        eprintln!("[baseline] {}", run.describe());
        run.peak_rss
    })
}

fn junk(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i as u8).wrapping_mul(7)))
        .collect()
}

// ---------------------------------------------------------------------------
// 1. Connection flood
// ---------------------------------------------------------------------------

/// `n` distinct connections, one after another, each SYN, SYN/ACK, ACK, a
/// CONNECT (client id `flood-i`), RST; `spacing_us` apart in capture time.
/// The clean client's 200 pairs are spread over the whole flood. Returns the
/// number of frames.
fn write_connection_flood(path: &Path, n: u32, spacing_us: u64) -> u64 {
    let mut o = pcap_writer(path);
    let mut clean = Clean::new(200);
    clean.open(&mut o);
    let every = (n / 200).max(1);
    let server: Addr = ([10, 0, 0, 1], 1883);
    for i in 0..n {
        let start = o.now_us;
        let ip = [10, 1 + (i >> 16) as u8, (i >> 8) as u8, i as u8];
        let mut t = Tcp::new(
            (ip, 50_000 + (i % 1000) as u16),
            server,
            i.wrapping_mul(2_654_435_761),
            i.wrapping_mul(40_503),
        );
        t.handshake(&mut o);
        t.client(&mut o, &mqtt::connect(&format!("flood-{i}")));
        t.client_rst(&mut o);
        if i % every == every - 1 {
            clean.pair(&mut o);
        }
        o.now_us = o.now_us.max(start + spacing_us);
    }
    clean.finish(&mut o);
    let frames = o.frames;
    o.finish();
    frames
}

fn check_flood_report(c: &mut Checks, r: &Report, n: u64, frames: u64, label: &str) {
    let got = num(&r.capture, "frames");
    c.check(got == Some(frames), || {
        format!("{label}: capture.frames {got:?}, want {frames}")
    });
    let conns = num(&r.tcp, "connections");
    c.check(conns == Some(n + 1), || {
        format!(
            "{label}: tcp.connections {conns:?}, want {} (every connection counted)",
            n + 1
        )
    });
    let connects = num(&r.packets, "by_type.CONNECT");
    c.check(connects == Some(n + 1), || {
        format!(
            "{label}: packets.by_type.CONNECT {connects:?}, want {} (every CONNECT decoded)",
            n + 1
        )
    });
    c.check(qos1(r) == (200, 0), || {
        format!("{label}: QoS 1 flows {:?}, want (200, 0)", qos1(r))
    });
    check_clean(c, r, 200, label);
    c.note(format!(
        "{label}: tcp {}, connections listed {}, warnings {} (+{} dropped)",
        r.tcp,
        r.connections.len(),
        r.warnings.len(),
        r.warnings_dropped
    ));
}

/// 300 000 connections must cost no more memory than 30 000 (within 25 % +
/// 8 MiB): the documented invariant is that memory grows with *concurrent*
/// connections, never with connections ever seen, and here at most one flood
/// connection is open at a time.
///
/// - Default caps, connections 1 s apart: ended connections linger 60 s of
///   capture time, so about 60 are ever held; both runs hold the same.
/// - `--max-connections 1000`, connections 5 µs apart: the table is full all
///   the time (ended connections are evicted first); both runs hold 1000.
///
/// Every connection is counted (`tcp.connections`), every CONNECT decoded
/// (`packets.by_type.CONNECT`), the clean client's 200 flows complete.
///
/// Note: architecture.md exempts "one small record per reported connection
/// for the `connections` list" from the bound; this test holds the binary to
/// the stronger "must not grow with connections ever seen", so that list
/// being kept in memory whole fails it (it does not check how many are listed).
#[test]
fn connection_flood() {
    let base = baseline();
    let mut c = Checks::new("connection_flood");
    c.note(format!("baseline {}", mib(base)));
    let dir = Scratch::new("conn-flood");
    let mut runs = BTreeMap::new();
    for (n, spacing, cap) in [
        (30_000u32, 1_000_000u64, None),
        (300_000, 1_000_000, None),
        (30_000, 5, Some("1000")),
        (300_000, 5, Some("1000")),
    ] {
        let label = match cap {
            None => format!("{n} connections 1 s apart"),
            Some(m) => format!("{n} connections 5 us apart, --max-connections {m}"),
        };
        let path = dir.file("flood.pcap");
        let t = Instant::now();
        let frames = write_connection_flood(&path, n, spacing);
        c.note(format!(
            "{label}: {frames} frames generated in {:.1} s",
            t.elapsed().as_secs_f64()
        ));
        let extra: Vec<&str> = match cap {
            None => vec![],
            Some(m) => vec!["--max-connections", m],
        };
        let (run, r) = analyze(&mut c, dir.path(), &label, &path, &extra);
        check_flood_report(&mut c, &r, n.into(), frames, &label);
        if cap.is_some() {
            // Evicting a connection that was still open loses analysis: a warning naming the frame.
            let evicted = num(&r.tcp, "evicted_table_full").unwrap_or(0);
            if evicted > 0 {
                let named = r
                    .warnings
                    .iter()
                    .any(|w| w.frame.is_some() && w.message.contains("table full"));
                c.check(named, || {
                    format!("{label}: {evicted} open connections evicted without a warning naming the frame")
                });
            }
        }
        drop(r);
        dir.drop_file(&path);
        let _ = std::fs::remove_file(&run.stdout);
        runs.insert((n, cap.is_some()), run);
    }
    c.no_growth(
        &runs[&(30_000, false)],
        &runs[&(300_000, false)],
        "default caps, 300k vs 30k connections",
    );
    c.no_growth(
        &runs[&(30_000, true)],
        &runs[&(300_000, true)],
        "--max-connections 1000, 300k vs 30k connections",
    );
    c.done();
}

// ---------------------------------------------------------------------------
// 2. Out-of-order flood
// ---------------------------------------------------------------------------

/// One connection whose client, after its CONNECT, leaves a 1000-byte hole
/// it never fills and then sends ~105 MB far ahead of it, in descending
/// order (75 000 segments of 1400 bytes, each one QoS 0 PUBLISH), with no
/// ACK from the server past the hole.
///
/// - memory: at most `--max-buffered` (4 MiB) waits behind the hole, so peak
///   RSS <= baseline + 2 x 4 MiB + 16 MiB (the factor 2 covers per-segment
///   bookkeeping and allocator rounding of 1400-byte chunks);
/// - the cap is hit: `tcp.buffer_cap_gaps` >= 1 and a warning or `tcp_gap`
///   finding names a frame of the flood;
/// - `client_to_server.retransmissions` == 0. No byte of this stream is
///   sent twice, and the counter is documented as "segments whose data had
///   already been seen in full or in part". KNOWN BUG: once the cap declares
///   the gap, delivery jumps past the buffered data and every later
///   (descending, never seen) segment lies behind it and is counted as a
///   retransmission (~72 000 of them). Expected: they are late data inside
///   the declared gap — not retransmissions (counting them as out of order,
///   or in a counter of their own, is fine).
/// - the connection's CONNECT is counted, the clean client's 200 flows complete.
#[test]
fn out_of_order_flood() {
    let base = baseline();
    let mut c = Checks::new("out_of_order_flood");
    let dir = Scratch::new("ooo-flood");
    let path = dir.file("ooo.pcap");
    const SEG: usize = 1400;
    const NSEG: u32 = 75_000;
    let client: Addr = ([10, 2, 0, 1], 41000);
    let (first_flood, last_flood, frames) = {
        let mut o = pcap_writer(&path);
        o.step_us = 2;
        let mut clean = Clean::new(200);
        clean.open(&mut o);
        let mut t = Tcp::new(client, ([10, 2, 0, 100], 1883), 1_000_000, 2_000_000);
        t.handshake(&mut o);
        t.client(&mut o, &mqtt::connect("ooo-client"));
        t.server(&mut o, &mqtt::connack());
        t.server_ack(&mut o);
        let base_seq = t.cseq.wrapping_add(1000); // the hole: 1000 bytes never sent
        // Every segment is one 1400-byte QoS 0 PUBLISH (2-byte fixed header, 1398 body).
        let topic = "ooo/flood";
        let seg = mqtt::publish_q0(topic, &junk(3, SEG - 3 - 2 - topic.len()));
        assert_eq!(seg.len(), SEG);
        let mut first = 0;
        let mut last = 0;
        for k in (0..NSEG).rev() {
            let f = t.client_at(
                &mut o,
                base_seq.wrapping_add(k * SEG as u32),
                PSH | ACK,
                &seg,
            );
            if first == 0 {
                first = f;
            }
            last = f;
            if k.is_multiple_of(NSEG / 200) {
                clean.pair(&mut o);
            }
        }
        clean.finish(&mut o);
        let frames = o.frames;
        o.finish();
        (first, last, frames)
    };
    let (run, r) = analyze(&mut c, dir.path(), "ooo flood", &path, &[]);
    c.rss_within(
        &run,
        base + 2 * MAX_BUFFERED + SLACK,
        "baseline + 2 x --max-buffered (4 MiB) + 16 MiB",
    );
    let got = num(&r.capture, "frames");
    c.check(got == Some(frames), || {
        format!("capture.frames {got:?}, want {frames}")
    });
    check_clean(&mut c, &r, 200, "ooo flood");
    c.check(qos1(&r) == (200, 0), || {
        format!("QoS 1 flows {:?}, want (200, 0)", qos1(&r))
    });
    match r.conn_by_client(client.0, client.1) {
        None => {
            c.check(false, || {
                "the flooding connection is not in the report".into()
            });
        }
        Some(conn) => {
            let d = conn.client_to_server;
            c.note(format!("flooding connection client_to_server: {d:?}"));
            c.check(Report::packets_of(conn, "CONNECT") == 1, || {
                "the flooding connection's CONNECT is not counted".into()
            });
            c.check(d.segments >= u64::from(NSEG), || {
                format!("client_to_server.segments {} < {NSEG}", d.segments)
            });
            c.check(d.retransmissions == 0, || {
                format!(
                    "client_to_server.retransmissions = {} of {} segments; want 0: no byte was sent twice \
                     (KNOWN BUG: descending data behind the cap's gap counted as retransmissions)",
                    d.retransmissions, d.segments
                )
            });
        }
    }
    let cap_gaps = num(&r.tcp, "buffer_cap_gaps").unwrap_or(0);
    c.note(format!("tcp {}", r.tcp));
    c.check(cap_gaps >= 1, || {
        format!("tcp.buffer_cap_gaps {cap_gaps}, want >= 1")
    });
    let named = r
        .named_frames()
        .iter()
        .any(|(f, _)| (first_flood..=last_flood).contains(f));
    c.check(named, || {
        format!(
            "no warning or finding names a frame of the flood ({first_flood}..={last_flood}): {}",
            r.damage_summary()
        )
    });
    c.done();
}

// ---------------------------------------------------------------------------
// 3. One-byte segments
// ---------------------------------------------------------------------------

/// One connection: CONNECT, then a 2-byte PINGREQ the capture never has (the
/// hole), then 10 MB of QoS 0 PUBLISHes (100 000 of 100 bytes) arriving as
/// 10 000 000 one-byte segments, in order among themselves but all behind
/// the hole (so every one is out of order until the cap gives up on the hole).
///
/// - memory: peak RSS <= baseline + 2 x 4 MiB + 16 MiB. The cap must count
///   what a buffered segment costs, not only its payload bytes. KNOWN BUG:
///   the cap counts payload bytes only, so 4 Mi one-byte entries are held
///   (one map node and one heap allocation each): ~465 MB.
/// - the gap is exactly the hole: `client_to_server.gap_bytes` == 2, no
///   retransmissions, and a warning or `tcp_gap` finding names a frame of
///   the flood;
/// - decoding resumes right after the hole: all 100 000 PUBLISHes are
///   counted (`qos0_messages.client_to_server` == 100 000) — however early
///   a better cap gives up on the hole, every byte after it is in the capture;
/// - the clean client's 200 flows complete.
#[test]
fn one_byte_segments() {
    let base = baseline();
    let mut c = Checks::new("one_byte_segments");
    let dir = Scratch::new("one-byte");
    let path = dir.file("onebyte.pcap");
    const PUBLISHES: u32 = 100_000;
    let client: Addr = ([10, 3, 0, 1], 42000);
    let t0 = Instant::now();
    let (first_flood, last_flood, frames) = {
        let mut o = pcap_writer(&path);
        let mut clean = Clean::new(200);
        clean.open(&mut o);
        let mut t = Tcp::new(client, ([10, 3, 0, 100], 1883), 7_000_000, 8_000_000);
        t.handshake(&mut o);
        t.client(&mut o, &mqtt::connect("one-byte-client"));
        t.server(&mut o, &mqtt::connack());
        t.cseq = t.cseq.wrapping_add(2); // the PINGREQ the capture lost
        let topic = "b/x";
        let p = mqtt::publish_q0(topic, &junk(5, 100 - 2 - 2 - topic.len()));
        assert_eq!(p.len(), 100);
        let mut first = 0;
        let mut last = 0;
        let mut sent: u64 = 0;
        for _ in 0..PUBLISHES {
            for b in &p {
                last = t.client(&mut o, std::slice::from_ref(b));
                if first == 0 {
                    first = last;
                }
                sent += 1;
                if sent.is_multiple_of(50_000) {
                    clean.pair(&mut o);
                }
            }
        }
        clean.finish(&mut o);
        let frames = o.frames;
        o.finish();
        (first, last, frames)
    };
    c.note(format!(
        "{frames} frames generated in {:.1} s",
        t0.elapsed().as_secs_f64()
    ));
    let (run, r) = analyze(&mut c, dir.path(), "one-byte segments", &path, &[]);
    dir.drop_file(&path);
    c.rss_within(
        &run,
        base + 2 * MAX_BUFFERED + SLACK,
        "baseline + 2 x --max-buffered (4 MiB) + 16 MiB: the cap must count per-segment overhead",
    );
    let got = num(&r.capture, "frames");
    c.check(got == Some(frames), || {
        format!("capture.frames {got:?}, want {frames}")
    });
    check_clean(&mut c, &r, 200, "one-byte segments");
    c.check(qos1(&r) == (200, 0), || {
        format!("QoS 1 flows {:?}, want (200, 0)", qos1(&r))
    });
    let q0 = num(&r.qos0_messages, "client_to_server");
    c.check(q0 == Some(u64::from(PUBLISHES)), || {
        format!("qos0_messages.client_to_server {q0:?}, want {PUBLISHES} (decoding resumes right after the 2-byte hole)")
    });
    match r.conn_by_client(client.0, client.1) {
        None => {
            c.check(false, || {
                "the one-byte connection is not in the report".into()
            });
        }
        Some(conn) => {
            let d = conn.client_to_server;
            c.note(format!("one-byte connection client_to_server: {d:?}"));
            c.check(d.gap_bytes == 2, || {
                format!("gap_bytes {}, want 2 (the lost PINGREQ)", d.gap_bytes)
            });
            c.check(d.retransmissions == 0, || {
                format!("retransmissions {}, want 0", d.retransmissions)
            });
        }
    }
    c.note(format!("tcp {}", r.tcp));
    let named = r
        .named_frames()
        .iter()
        .any(|(f, _)| (first_flood..=last_flood).contains(f));
    c.check(named, || {
        format!(
            "no warning or finding names a frame of the flood ({first_flood}..={last_flood}): {}",
            r.damage_summary()
        )
    });
    c.done();
}

// ---------------------------------------------------------------------------
// 4. Huge remaining length
// ---------------------------------------------------------------------------

/// After CONNECT / CONNACK the client sends, in one segment, a QoS 0 PUBLISH
/// whose fixed header declares remaining length 268 435 455 (the maximum;
/// `30 ff ff ff 7f`) followed by only 300 bytes (topic and payload); then 100
/// valid QoS 1 PUBLISH (ids 1..=100), each answered by the broker's PUBACK,
/// then DISCONNECT and FIN both ways. The declared packet can never be
/// complete: the connection ends 256 MiB short of it.
///
/// Expected (KNOWN BUG: today the PUBLISH vanishes without a report and
/// swallows everything after it as its payload):
///
/// - a finding or warning names the PUBLISH's frame and says what was
///   declared (268435455, with or without digit grouping) and what was seen
///   (the number of bytes after its fixed header: 300 in its own segment or
///   all of them up to the end of the stream — either is accepted);
/// - the 100 pairs are analysed once the evidence allows (the broker's 100
///   PUBACKs for ids the client's stream must have carried, or the stream
///   ending short of the declared length): 100 + 200 QoS 1 flows complete,
///   the connection counts >= 100 PUBLISH and 100 PUBACK, and no
///   `unexpected_ack` or `missing_ack` is reported for it;
/// - memory: the declared payload is never buffered: peak RSS <= baseline +
///   1 MiB (the framer's packet buffer) + 16 MiB.
#[test]
fn huge_remaining_length() {
    let base = baseline();
    let mut c = Checks::new("huge_remaining_length");
    let dir = Scratch::new("huge-len");
    let path = dir.file("huge.pcap");
    let client: Addr = ([10, 4, 0, 1], 43000);
    let mut giant = vec![0x30, 0xff, 0xff, 0xff, 0x7f];
    let topic = b"huge/len";
    giant.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    giant.extend_from_slice(topic);
    giant.extend_from_slice(&junk(9, 300 - 2 - topic.len()));
    let seen_own = (giant.len() - 5) as u64; // 300
    let after: Vec<Vec<u8>> = (1..=100u16)
        .map(|id| mqtt::publish_q1("after/huge", id, b"payload-0123"))
        .collect();
    let seen_all = seen_own + after.iter().map(|p| p.len() as u64).sum::<u64>() + 2;
    let giant_frame = {
        let mut o = pcap_writer(&path);
        o.step_us = 100;
        let mut clean = Clean::new(200);
        clean.open(&mut o);
        let mut t = Tcp::new(client, ([10, 4, 0, 100], 1883), 0x4000_0000, 0x5000_0000);
        t.handshake(&mut o);
        t.client(&mut o, &mqtt::connect("huge-client"));
        t.server(&mut o, &mqtt::connack());
        clean.pair(&mut o);
        let giant_frame = t.client(&mut o, &giant);
        t.server_ack(&mut o);
        for (i, p) in after.iter().enumerate() {
            t.client(&mut o, p);
            t.server(&mut o, &mqtt::puback(i as u16 + 1));
            clean.pair(&mut o);
        }
        t.client(&mut o, &mqtt::disconnect());
        t.close(&mut o);
        clean.finish(&mut o);
        o.finish();
        giant_frame
    };
    let (run, r) = analyze(&mut c, dir.path(), "huge remaining length", &path, &[]);
    c.rss_within(
        &run,
        base + MAX_PACKET_BUFFER + SLACK,
        "baseline + 1 MiB packet buffer + 16 MiB",
    );
    check_clean(&mut c, &r, 200, "huge remaining length");
    let declared = |m: &str| {
        ["268435455", "268,435,455", "268 435 455", "268_435_455"]
            .iter()
            .any(|s| m.contains(s))
    };
    let seen = |m: &str| {
        [seen_own, seen_own + 5, seen_all, seen_all + 5]
            .iter()
            .any(|n| m.contains(&n.to_string()))
    };
    let named = r.named_frames();
    let about_giant: Vec<&str> = named
        .iter()
        .filter(|(f, _)| *f == giant_frame)
        .map(|(_, m)| *m)
        .collect();
    c.note(format!(
        "giant PUBLISH at frame {giant_frame}; messages naming it: {about_giant:?}"
    ));
    c.check(about_giant.iter().any(|m| declared(m) && seen(m)), || {
        format!(
            "no finding or warning names frame {giant_frame} with the declared length 268435455 and the \
             bytes seen ({seen_own} or {seen_all}) (KNOWN BUG: it vanishes): {}",
            r.damage_summary()
        )
    });
    let (done, open) = qos1(&r);
    c.check(done == 300 && open == 0, || {
        format!("QoS 1 flows completed {done}, incomplete {open}; want 300 (100 after the giant + 200 clean), 0")
    });
    match r.conn_by_client(client.0, client.1) {
        None => {
            c.check(false, || {
                "the giant's connection is not in the report".into()
            });
        }
        Some(conn) => {
            let (publish, puback) = (
                Report::packets_of(conn, "PUBLISH"),
                Report::packets_of(conn, "PUBACK"),
            );
            c.note(format!(
                "giant's connection packets: {:?}",
                conn.mqtt.as_ref().map(|m| &m.packets)
            ));
            c.check(publish >= 100 && puback == 100, || {
                format!("giant's connection: PUBLISH {publish}, PUBACK {puback}; want >= 100, 100")
            });
            let id = conn.id;
            let bad: Vec<&str> = r
                .findings
                .iter()
                .filter(|f| num(f, "connection") == Some(id))
                .filter_map(|f| f.get("kind").and_then(Value::as_str))
                .filter(|k| *k == "unexpected_ack" || *k == "missing_ack")
                .collect();
            c.check(bad.is_empty(), || {
                format!(
                    "{} unexpected_ack / missing_ack finding(s) on the giant's connection",
                    bad.len()
                )
            });
        }
    }
    c.note(format!(
        "findings_by_kind {}, packets {}",
        r.findings_by_kind, r.packets
    ));
    c.done();
}

// ---------------------------------------------------------------------------
// 5. SYN flood on one 4-tuple
// ---------------------------------------------------------------------------

fn write_syn_flood(path: &Path, n: u32) -> u64 {
    let mut o = pcap_writer(path);
    let mut clean = Clean::new(200);
    clean.open(&mut o);
    let mut t = Tcp::new(([10, 5, 0, 1], 44000), ([10, 5, 0, 100], 1883), 0, 0);
    let every = (n / 200).max(1);
    for i in 0..n {
        t.client_at(
            &mut o,
            i.wrapping_mul(2_654_435_761).wrapping_add(12345),
            SYN,
            &[],
        );
        if i % every == every - 1 {
            clean.pair(&mut o);
        }
    }
    clean.finish(&mut o);
    let frames = o.frames;
    o.finish();
    frames
}

/// 100 000 SYNs, each with a new initial sequence number, on one 4-tuple
/// (10.5.0.1:44000 → 10.5.0.100:1883), 1 µs apart, never answered. At most
/// one connection can exist on a 4-tuple at a time, so memory must not grow
/// with the SYNs: peak RSS of 100 000 SYNs <= 1.25 x that of 10 000 + 8 MiB.
/// Every frame is read, and the clean client's 200 flows complete.
#[test]
fn syn_flood_one_tuple() {
    let base = baseline();
    let mut c = Checks::new("syn_flood_one_tuple");
    c.note(format!("baseline {}", mib(base)));
    let dir = Scratch::new("syn-flood");
    let mut runs = Vec::new();
    for n in [10_000u32, 100_000] {
        let path = dir.file(&format!("syn{n}.pcap"));
        let frames = write_syn_flood(&path, n);
        let label = format!("{n} SYNs");
        let (run, r) = analyze(&mut c, dir.path(), &label, &path, &[]);
        let got = num(&r.capture, "frames");
        c.check(got == Some(frames), || {
            format!("{label}: capture.frames {got:?}, want {frames}")
        });
        check_clean(&mut c, &r, 200, &label);
        c.check(qos1(&r) == (200, 0), || {
            format!("{label}: QoS 1 flows {:?}", qos1(&r))
        });
        let listed = r
            .connections
            .iter()
            .filter(|x| x.client.ip == "10.5.0.1")
            .count();
        c.note(format!(
            "{label}: tcp {}, connections of the flooded tuple listed {listed}, warnings {} (+{} dropped)",
            r.tcp,
            r.warnings.len(),
            r.warnings_dropped
        ));
        dir.drop_file(&path);
        runs.push(run);
    }
    c.no_growth(&runs[0], &runs[1], "100k vs 10k SYNs on one 4-tuple");
    c.done();
}

// ---------------------------------------------------------------------------
// 6. 2^31 sequence jumps
// ---------------------------------------------------------------------------

/// One connection (client ISN 0xFFFF_F000, so its real data also wraps past
/// 2^32) carries CONNECT, 100 QoS 1 PUBLISH → PUBACK pairs and DISCONNECT,
/// all at the right sequence numbers. After each pair the client also sends
/// 200 bogus 1000-byte segments whose sequence numbers jump by about 2^31
/// away from the stream and back: `next + 2^31 - 1000 (j + 1)` (just under
/// half the sequence space ahead) and `next + 2^31 + 1000 j` (exactly half,
/// then just behind), alternating — 20 000 segments, 20 MB.
///
/// No TCP window can exceed 2^30 (RFC 7323), so these cannot belong to the
/// stream. Expected:
///
/// - the real stream is delivered whole and only it:
///   `client_to_server.bytes` == its exact length, `gap_bytes` == 0 (no
///   2 GiB "gap" invented by jumping to the far data), the connection counts
///   100 PUBLISH and 100 PUBACK and 100 + 200 QoS 1 flows complete;
/// - the bogus segments are reported: a warning or finding names one of their frames;
/// - memory: peak RSS <= baseline + 2 x 4 MiB + 16 MiB (whatever is
///   buffered of the far data stays under --max-buffered).
#[test]
fn sequence_jumps_2_31() {
    let base = baseline();
    let mut c = Checks::new("sequence_jumps_2_31");
    let dir = Scratch::new("seq-jumps");
    let path = dir.file("jumps.pcap");
    let client: Addr = ([10, 6, 0, 1], 45000);
    let bogus = junk(11, 1000);
    let mut bogus_frames = Vec::new();
    let real_len = {
        let mut o = pcap_writer(&path);
        o.step_us = 3;
        let mut clean = Clean::new(200);
        clean.open(&mut o);
        let mut t = Tcp::new(client, ([10, 6, 0, 100], 1883), 0xFFFF_F000, 0x7FFF_FF00);
        t.handshake(&mut o);
        let mut real = 0u64;
        let connect = mqtt::connect("jump-client");
        real += connect.len() as u64;
        t.client(&mut o, &connect);
        t.server(&mut o, &mqtt::connack());
        for id in 1..=100u16 {
            let p = mqtt::publish_q1("jump/real", id, b"really-here");
            real += p.len() as u64;
            t.client(&mut o, &p);
            t.server(&mut o, &mqtt::puback(id));
            for j in 0..100u32 {
                let ahead = t.cseq.wrapping_add(1 << 31).wrapping_sub(1000 * (j + 1));
                let behind = t.cseq.wrapping_add(1 << 31).wrapping_add(1000 * j);
                bogus_frames.push(t.client_at(&mut o, ahead, PSH | ACK, &bogus));
                bogus_frames.push(t.client_at(&mut o, behind, PSH | ACK, &bogus));
            }
            if id.is_multiple_of(2) {
                clean.pair(&mut o);
                clean.pair(&mut o);
                clean.pair(&mut o);
                clean.pair(&mut o);
            }
        }
        let d = mqtt::disconnect();
        real += d.len() as u64;
        t.client(&mut o, &d);
        t.close(&mut o);
        clean.finish(&mut o);
        o.finish();
        real
    };
    let (run, r) = analyze(&mut c, dir.path(), "2^31 jumps", &path, &[]);
    c.rss_within(
        &run,
        base + 2 * MAX_BUFFERED + SLACK,
        "baseline + 2 x --max-buffered + 16 MiB",
    );
    check_clean(&mut c, &r, 200, "2^31 jumps");
    let (done, open) = qos1(&r);
    c.check(done == 300, || {
        format!("QoS 1 flows completed {done} (incomplete {open}); want 300 (100 on the jumping connection + 200 clean)")
    });
    match r.conn_by_client(client.0, client.1) {
        None => {
            c.check(false, || {
                "the jumping connection is not in the report".into()
            });
        }
        Some(conn) => {
            let d = conn.client_to_server;
            c.note(format!(
                "jumping connection client_to_server: {d:?}; real stream {real_len} bytes"
            ));
            c.check(d.bytes == real_len, || {
                format!(
                    "client_to_server.bytes {}, want exactly the real stream's {real_len}",
                    d.bytes
                )
            });
            c.check(d.gap_bytes == 0, || {
                format!(
                    "client_to_server.gap_bytes {}, want 0 (the real stream has no hole)",
                    d.gap_bytes
                )
            });
            let (p, a) = (
                Report::packets_of(conn, "PUBLISH"),
                Report::packets_of(conn, "PUBACK"),
            );
            c.check(p == 100 && a == 100, || {
                format!("jumping connection: PUBLISH {p}, PUBACK {a}; want 100, 100")
            });
        }
    }
    let first = bogus_frames[0];
    let last = *bogus_frames.last().unwrap();
    let named = r
        .named_frames()
        .iter()
        .any(|(f, _)| bogus_frames.binary_search(f).is_ok());
    c.check(named, || {
        format!(
            "no warning or finding names one of the 20 000 out-of-window segments ({first}..={last}): {}",
            r.damage_summary()
        )
    });
    c.note(format!(
        "tcp {}, findings_by_kind {}",
        r.tcp, r.findings_by_kind
    ));
    c.done();
}

// ---------------------------------------------------------------------------
// 7. Unacknowledged QoS 1 flood
// ---------------------------------------------------------------------------

/// One client sends 1 000 000 QoS 1 PUBLISH (ids 1..=65535, wrapping; 64
/// per TCP segment) and the broker never answers one (it only ACKs at TCP
/// level), then DISCONNECT and FIN. Expected:
///
/// - exactly one `inflight_limit` finding for that connection, direction
///   `client_to_server`, naming the frame that carried the 4097th PUBLISH
///   (the first beyond `max_inflight_per_direction` = 4096), and a warning
///   naming that frame (src/analysis/mod.rs: "reported once as
///   `inflight_limit` and as a warning");
/// - every PUBLISH decoded (`packets.by_type.PUBLISH` = 1 000 000 + 200) and
///   every one accounted for: QoS 1 `incomplete` + `analysis.flows_not_tracked`
///   = 1 000 000 (each either followed as a flow or counted as not followed),
///   and the clean client's 200 complete;
/// - memory: peak RSS <= baseline + 32 MiB: 4096 open flows of at most 32
///   frames and 512 topic bytes each (~4 MiB) and the 10 000 findings
///   listed (~10 MiB at 1 KiB each), + 16 MiB.
#[test]
fn unacknowledged_qos1_flood() {
    let base = baseline();
    let mut c = Checks::new("unacknowledged_qos1_flood");
    let dir = Scratch::new("qos-flood");
    let path = dir.file("qos.pcap");
    const TOTAL: u32 = 1_000_000;
    const PER_SEG: u32 = 64;
    let client: Addr = ([10, 7, 0, 1], 46000);
    let (limit_frame, frames) = {
        let mut o = pcap_writer(&path);
        o.step_us = 5;
        let mut clean = Clean::new(200);
        clean.open(&mut o);
        let mut t = Tcp::new(client, ([10, 7, 0, 100], 1883), 0x0100_0000, 0x0200_0000);
        t.handshake(&mut o);
        t.client(&mut o, &mqtt::connect("qos-flood"));
        t.server(&mut o, &mqtt::connack());
        let mut limit_frame = 0;
        let mut seg = Vec::with_capacity(2048);
        let segments = TOTAL.div_ceil(PER_SEG);
        for s in 0..segments {
            seg.clear();
            for i in s * PER_SEG..((s + 1) * PER_SEG).min(TOTAL) {
                let id = (i % 65_535) as u16 + 1;
                seg.extend_from_slice(&mqtt::publish_q1("flood/q1", id, b"12345678"));
            }
            let f = t.client(&mut o, &seg);
            if s == (MAX_INFLIGHT as u32) / PER_SEG {
                limit_frame = f; // carries PUBLISH #4097
            }
            if s % 16 == 15 {
                t.server_ack(&mut o);
            }
            if s.is_multiple_of(segments / 200) {
                clean.pair(&mut o);
            }
        }
        t.client(&mut o, &mqtt::disconnect());
        t.close(&mut o);
        clean.finish(&mut o);
        let frames = o.frames;
        o.finish();
        (limit_frame, frames)
    };
    let (run, r) = analyze(&mut c, dir.path(), "1M unacked QoS 1", &path, &[]);
    dir.drop_file(&path);
    c.rss_within(
        &run,
        base + 32 * MIB,
        "baseline + 4096 flows x 1 KiB + 10 000 findings x 1 KiB + 16 MiB",
    );
    let got = num(&r.capture, "frames");
    c.check(got == Some(frames), || {
        format!("capture.frames {got:?}, want {frames}")
    });
    check_clean(&mut c, &r, 200, "QoS flood");
    let conn_id = r.conn_by_client(client.0, client.1).map(|x| x.id);
    c.check(conn_id.is_some(), || {
        "the flooding connection is not in the report".into()
    });
    let limits: Vec<&Value> = r.findings_of("inflight_limit").collect();
    let ours: Vec<&&Value> = limits
        .iter()
        .filter(|f| {
            num(f, "connection") == conn_id
                && f.get("direction").and_then(Value::as_str) == Some("client_to_server")
        })
        .collect();
    c.note(format!(
        "inflight_limit findings: {} listed, findings_by_kind {}",
        limits.len(),
        r.findings_by_kind
    ));
    if let Some(f) = ours.first() {
        c.note(format!("inflight_limit: {f}"));
    }
    c.check(ours.len() == 1, || {
        format!(
            "{} inflight_limit finding(s) for the flooding connection, want exactly 1",
            ours.len()
        )
    });
    c.check(
        ours.iter().any(|f| frames_of(f).contains(&limit_frame)),
        || format!("the inflight_limit finding does not name frame {limit_frame} (PUBLISH #4097)"),
    );
    c.check(
        r.warnings.iter().any(|w| w.frame == Some(limit_frame)),
        || {
            format!(
                "no warning names frame {limit_frame} (the in-flight cap): {}",
                r.damage_summary()
            )
        },
    );
    let publishes = num(&r.packets, "by_type.PUBLISH");
    c.check(publishes == Some(u64::from(TOTAL) + 200), || {
        format!(
            "packets.by_type.PUBLISH {publishes:?}, want {}",
            u64::from(TOTAL) + 200
        )
    });
    let (done, open) = qos1(&r);
    let untracked = num(&r.analysis, "flows_not_tracked").unwrap_or(0);
    c.note(format!(
        "QoS 1 completed {done}, incomplete {open}, flows_not_tracked {untracked}; flows {}; analysis {}",
        r.flows, r.analysis
    ));
    c.check(done == 200, || {
        format!("QoS 1 completed {done}, want 200 (the clean client's)")
    });
    c.check(untracked > 0 && open + untracked == u64::from(TOTAL), || {
        format!(
            "incomplete {open} + flows_not_tracked {untracked} = {}, want {TOTAL} (every PUBLISH followed or counted)",
            open + untracked
        )
    });
    c.done();
}

// ---------------------------------------------------------------------------
// 8. Gzip bombs
// ---------------------------------------------------------------------------

fn gzip_member(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// An Ethernet / IPv4 / UDP frame with `len` zero bytes of payload.
fn udp_zeros(len: usize) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    let total = (20 + 8 + len) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 10, 8, 0, 1, 10, 8, 0, 2]);
    f.extend_from_slice(&5000u16.to_be_bytes());
    f.extend_from_slice(&5001u16.to_be_bytes());
    f.extend_from_slice(&((8 + len) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.resize(f.len() + len, 0);
    f
}

/// A `.pcap.gz` of 4.3 GB uncompressed in a ~6 MB file: a first gzip member
/// with the pcap header and the clean client's start, then one member of
/// 256 records of 262,144 bytes (the largest record the reader takes: a
/// zero-filled UDP frame and its Ethernet trailer) written 64 times
/// (gzip members concatenate), then a last member with the rest of the
/// clean client. Expected: exit 0, every frame read (the 16,384 UDP frames
/// counted as non-TCP), the clean client's 200 flows complete, and memory
/// bounded by the streaming reader: peak RSS <= baseline + 2 MiB buffer +
/// 256 KiB record + 16 MiB. (No time is asserted beyond the hang timeout.)
///
/// Then a gzip stream that expands to 4 GiB of garbage (not a capture):
/// exit 2, nothing on stdout, exactly one line on stderr naming the file,
/// and the same memory bound (it must not inflate the rest to find out).
#[test]
fn gzip_bombs() {
    let base = baseline();
    let mut c = Checks::new("gzip_bombs");
    let dir = Scratch::new("gzip-bomb");
    // The bomb.
    let bomb = dir.file("bomb.pcap.gz");
    const RECORDS: usize = 256;
    const REPEAT: usize = 64;
    let (frames, uncompressed) = {
        let mut out = BufWriter::new(File::create(&bomb).unwrap());
        let mut head = PcapStream::new(Vec::new(), 1);
        head.step_us = 100;
        let mut clean = Clean::new(200);
        clean.open(&mut head);
        for _ in 0..100 {
            clean.pair(&mut head);
        }
        let (mut frames, mut now) = (head.frames, head.now_us);
        let head_bytes = head.bytes;
        out.write_all(&gzip_member(&head.finish())).unwrap();
        // One block of identical records, compressed once, written REPEAT times.
        let mut frame = udp_zeros(65_000);
        frame.resize(MAX_RECORD as usize, 0); // Ethernet trailer up to the record cap
        let mut block = Vec::with_capacity(RECORDS * (16 + frame.len()));
        let secs = (STREAM_START_SECS + now / 1_000_000) as u32;
        for _ in 0..RECORDS {
            block.extend_from_slice(&secs.to_le_bytes());
            block.extend_from_slice(&((now % 1_000_000) as u32).to_le_bytes());
            block.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            block.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            block.extend_from_slice(&frame);
        }
        let member = gzip_member(&block);
        for _ in 0..REPEAT {
            out.write_all(&member).unwrap();
        }
        frames += (RECORDS * REPEAT) as u64;
        now += 1_000_000;
        // The rest of the clean client: a pcap body without its file header.
        let mut tail = PcapStream::new(Vec::new(), 1);
        tail.now_us = now;
        tail.step_us = 100;
        clean.finish(&mut tail);
        frames += tail.frames;
        let tail_bytes = tail.finish();
        out.write_all(&gzip_member(&tail_bytes[24..])).unwrap();
        out.flush().unwrap();
        let uncompressed =
            head_bytes + (block.len() * REPEAT) as u64 + tail_bytes.len() as u64 - 24;
        (frames, uncompressed)
    };
    let size = std::fs::metadata(&bomb).unwrap().len();
    c.note(format!(
        "bomb: {} compressed, {} uncompressed, {frames} frames",
        mib(size),
        mib(uncompressed)
    ));
    let run = run_bin(
        dir.path(),
        "gzip bomb",
        &["analyze", "--format", "json", bomb.to_str().unwrap()],
        None,
    );
    c.note(run.describe());
    assert!(
        run.code == Some(0) || run.code == Some(1),
        "gzip bomb must be analysed (exit 0/1): {}; stderr {}",
        run.describe(),
        run.stderr
    );
    let bound = base + STREAM_BUFFER + MAX_RECORD + SLACK;
    c.rss_within(
        &run,
        bound,
        "baseline + 2 MiB stream buffer + 256 KiB record + 16 MiB",
    );
    match read_report(&run.stdout) {
        Err(e) => {
            c.check(false, || format!("gzip bomb: no JSON summary: {e}"));
        }
        Ok(r) => {
            let got = num(&r.capture, "frames");
            c.check(got == Some(frames), || {
                format!("bomb: capture.frames {got:?}, want {frames}")
            });
            let non_tcp = num(&r.capture, "non_tcp_frames");
            c.check(non_tcp == Some((RECORDS * REPEAT) as u64), || {
                format!(
                    "bomb: non_tcp_frames {non_tcp:?}, want {}",
                    RECORDS * REPEAT
                )
            });
            check_clean(&mut c, &r, 200, "gzip bomb");
            c.check(qos1(&r) == (200, 0), || {
                format!("bomb: QoS 1 flows {:?}", qos1(&r))
            });
            c.note(format!("bomb: capture {}", r.capture));
        }
    }
    let _ = std::fs::remove_file(&run.stdout);
    dir.drop_file(&bomb);

    // Garbage: 4 GiB of text, gzip'd.
    let garbage = dir.file("garbage.pcap.gz");
    {
        let member = gzip_member(&vec![b'A'; 64 << 20]);
        let mut out = BufWriter::new(File::create(&garbage).unwrap());
        for _ in 0..64 {
            out.write_all(&member).unwrap();
        }
        out.flush().unwrap();
    }
    let gpath = garbage.to_str().unwrap();
    let run = run_bin(
        dir.path(),
        "gzip garbage",
        &["analyze", "--format", "json", gpath],
        None,
    );
    c.note(run.describe());
    c.check(run.code == Some(2), || {
        format!("garbage gzip: {}, want exit 2", run.describe())
    });
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    c.note(format!("garbage gzip stderr: {lines:?}"));
    c.check(lines.len() == 1 && lines[0].contains(gpath), || {
        format!("garbage gzip: want one stderr line naming {gpath}, got {lines:?}")
    });
    let out_len = std::fs::metadata(&run.stdout).map(|m| m.len()).unwrap_or(0);
    c.check(out_len == 0, || {
        format!("garbage gzip: {out_len} bytes on stdout, want none")
    });
    c.rss_within(
        &run,
        bound,
        "baseline + 2 MiB stream buffer + 256 KiB record + 16 MiB",
    );
    c.done();
}

// ---------------------------------------------------------------------------
// 9. Hostile record headers
// ---------------------------------------------------------------------------

/// The clean client (20 pairs) as frames, and where the hostile record goes
/// (after the 10th pair).
fn clean_frames() -> (Vec<(u64, Vec<u8>)>, usize) {
    let mut l = FrameList {
        step_us: 100,
        ..FrameList::default()
    };
    let mut clean = Clean::new(20);
    clean.open(&mut l);
    for _ in 0..10 {
        clean.pair(&mut l);
    }
    let at = l.frames.len();
    clean.finish(&mut l);
    (l.frames, at)
}

/// Record headers that lie: pcap `orig_len` < `caplen`, `orig_len`
/// 0xFFFFFFFF, `caplen` 0; pcapng EPB captured length 0, original length 0,
/// original length 0xFFFFFFFF. Each is one record (a 60-byte UDP frame, or
/// nothing) in the middle of the clean client's 20 pairs, in a file read
/// both memory-mapped (path) and streamed (stdin). Expected: exit 0/1, no
/// crash, every record read (`capture.frames`), the clean client's 20
/// flows complete, and a warning whose `frame` is the lying record's
/// (KNOWN GAP: these pass silently today).
#[test]
fn hostile_record_headers() {
    let mut c = Checks::new("hostile_record_headers");
    let dir = Scratch::new("record-headers");
    let (frames, at) = clean_frames();
    let udp = udp_zeros(18); // 60 bytes
    assert_eq!(udp.len(), 60);
    let hostile_frame = at as u64 + 1;
    let ticks = |us: u64| STREAM_START_SECS * 1_000_000 + us;
    // (name, file bytes)
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    for (name, data, orig) in [
        ("pcap orig_len 20 < caplen 60", &udp[..], 20u32),
        ("pcap orig_len 0xFFFFFFFF", &udp[..], u32::MAX),
        ("pcap caplen 0 (orig_len 60)", &[][..], 60),
    ] {
        let mut p = Pcap::new(false, false, 1);
        for (i, (us, f)) in frames.iter().enumerate() {
            if i == at {
                let t = frames[i - 1].0 + 50;
                p.record(
                    (STREAM_START_SECS + t / 1_000_000) as u32,
                    (t % 1_000_000) as u32,
                    data,
                    orig,
                );
            }
            p.record(
                (STREAM_START_SECS + us / 1_000_000) as u32,
                (us % 1_000_000) as u32,
                f,
                f.len() as u32,
            );
        }
        cases.push((name, p.bytes));
    }
    for (name, data, orig) in [
        ("pcapng EPB caplen 0 (origlen 60)", &[][..], 60u32),
        ("pcapng EPB origlen 0 (caplen 60)", &udp[..], 0),
        ("pcapng EPB origlen 0xFFFFFFFF", &udp[..], u32::MAX),
    ] {
        let mut ng = Ng::new();
        ng.shb(false);
        ng.idb(1, 0, &[]);
        for (i, (us, f)) in frames.iter().enumerate() {
            if i == at {
                ng.epb(0, ticks(frames[i - 1].0 + 50), data, orig, (0, 0, 6));
            }
            ng.epb(0, ticks(*us), f, f.len() as u32, (0, 0, 6));
        }
        cases.push((name, ng.bytes));
    }
    let total = frames.len() as u64 + 1;
    for (i, (name, bytes)) in cases.iter().enumerate() {
        let file = dir.file(&format!("case{i}.cap"));
        std::fs::write(&file, bytes).unwrap();
        for how in ["mapped", "stdin"] {
            let label = format!("{name} ({how})");
            let run = match how {
                "mapped" => run_bin(
                    dir.path(),
                    &format!("case{i}-{how}"),
                    &["analyze", "--format", "json", file.to_str().unwrap()],
                    None,
                ),
                _ => run_bin(
                    dir.path(),
                    &format!("case{i}-{how}"),
                    &["analyze", "--format", "json", "-"],
                    Some(&file),
                ),
            };
            c.note(format!("{label}: {}", run.describe()));
            if !c.check(matches!(run.code, Some(0) | Some(1)), || {
                format!(
                    "{label}: {}, want exit 0/1; stderr {}",
                    run.describe(),
                    run.stderr.trim()
                )
            }) {
                continue;
            }
            let r = match read_report(&run.stdout) {
                Ok(r) => r,
                Err(e) => {
                    c.check(false, || format!("{label}: no JSON summary: {e}"));
                    continue;
                }
            };
            let got = num(&r.capture, "frames");
            c.check(got == Some(total), || {
                format!("{label}: capture.frames {got:?}, want {total}")
            });
            check_clean(&mut c, &r, 20, &label);
            c.check(qos1(&r) == (20, 0), || {
                format!("{label}: QoS 1 flows {:?}, want (20, 0)", qos1(&r))
            });
            let named: Vec<&str> = r
                .warnings
                .iter()
                .filter(|w| w.frame == Some(hostile_frame))
                .map(|w| w.message.as_str())
                .collect();
            c.note(format!(
                "{label}: warnings naming frame {hostile_frame}: {named:?}"
            ));
            c.check(!named.is_empty(), || {
                format!(
                    "{label}: no warning names frame {hostile_frame} (KNOWN GAP: passes silently); warnings: {:?}",
                    r.warnings.iter().map(|w| (w.frame, w.message.as_str())).collect::<Vec<_>>()
                )
            });
        }
    }
    c.done();
}
