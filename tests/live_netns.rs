//! `mqtt-inspect live` (and `analyze -` on a pipe) against real parts: a
//! real mosquitto broker, real clients (mosquitto_pub / mosquitto_sub,
//! python3-paho-mqtt) and a fake broker that holds back its acks, all in
//! network namespaces each test creates for itself (loopback, or a veth
//! pair between two of them), with `mqtt-inspect live` running inside.
//!
//! Needs root (namespaces, raw capture), iproute2, mosquitto,
//! mosquitto-clients, /usr/bin/python3 with paho-mqtt, and for some tests
//! tcpdump, tshark, promtool (Debian `prometheus`), setpriv and setcap.
//! Without them each test prints one `SKIPPED` line and passes; with `CI`
//! set (`.ci/run`, which runs them as root) that is a failure instead.
//!
//! The tests take one lock, so they run one at a time: they measure time
//! (ack timeouts, stats intervals) and memory, and they share two cores.
//! The soak runs `MQTT_INSPECT_SOAK_SECS` seconds (default 180) with
//! `MQTT_INSPECT_SOAK_CLIENTS` clients (default 200). What they measure
//! (latencies, timings, RSS samples, kernel drops) is written to stderr
//! as `live_netns: ...` lines, visible without `--nocapture`.
//!
//! Run: `sudo -E cargo test --release --features live --test live_netns`.
#![cfg(all(feature = "live", target_os = "linux"))]

mod common;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The binary under test: this build's, or `MQTT_INSPECT_BIN` (e.g. a
/// release build for the soak's figures, while the tests run in debug).
fn bin() -> &'static str {
    static BIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        std::env::var("MQTT_INSPECT_BIN")
            .ok()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_mqtt-inspect").to_string())
    });
    &BIN
}
/// Debian's python, the one python3-paho-mqtt installs into.
const PY: &str = "/usr/bin/python3";
const BROKER_A: &str = "192.0.2.10";
const CLIENT_B: &str = "192.0.2.20";

// ---------------------------------------------------------------- plumbing

/// A line straight to stderr: libtest captures `eprintln!` of passing tests.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "live_netns: {line}");
}

fn wall() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

fn sleep(secs: f64) {
    thread::sleep(Duration::from_secs_f64(secs));
}

fn script(name: &str) -> String {
    common::root()
        .join("scripts/ci")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn on_path(tool: &str) -> bool {
    if tool.contains('/') {
        return Path::new(tool).exists();
    }
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p)
            .chain(["/usr/sbin".into(), "/sbin".into()])
            .any(|d| d.join(tool).is_file())
    })
}

/// One test at a time (see the module docs).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// What a test holds while it runs: the lock and a scratch directory.
struct Lab {
    _turn: MutexGuard<'static, ()>,
    dir: tempfile::TempDir,
}

impl Lab {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The lab, or `None` after one SKIPPED line (a panic in CI) when this
/// machine cannot run `test`: not root, or a tool in `tools` is missing.
fn lab(test: &str, tools: &[&str]) -> Option<Lab> {
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut missing: Vec<String> = Vec::new();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        missing.push("root".into());
    }
    for t in ["ip", "ss", "mosquitto", "mosquitto_pub", "mosquitto_sub"]
        .iter()
        .chain(tools)
    {
        if !on_path(t) {
            missing.push((*t).into());
        }
    }
    let paho = Command::new(PY)
        .args(["-c", "import paho.mqtt.client"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !paho {
        missing.push(format!("python3-paho-mqtt for {PY}"));
    }
    if !missing.is_empty() {
        let why = missing.join(", ");
        if common::in_ci() {
            panic!(
                "{test}: needs {why}; CI runs these tests as root with the packages .ci/run installs, \
                 so this is a failure, not a skip"
            );
        }
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED, nothing checked: {test} needs {why} (network namespaces, a real broker)"
        );
        return None;
    }
    let dir = tempfile::Builder::new()
        .prefix("mqi-live-")
        .tempdir()
        .expect("temp dir");
    // mosquitto (and `nobody`, in the permission test) may read from it
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    Some(Lab { _turn: turn, dir })
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Waits at most `secs` for `child` to exit.
fn wait_child(child: &mut Child, secs: f64) -> Option<ExitStatus> {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if Instant::now() >= until {
            return None;
        }
        sleep(0.02);
    }
}

/// Polls `cond` for at most `secs`.
fn wait_until(secs: f64, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        sleep(0.05);
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill has no memory preconditions; the pid is a child of ours.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// A network namespace of this test, with loopback up. Dropping it kills
/// what runs in it (all started by this test) and deletes it.
struct Ns {
    name: String,
    procs: Vec<Child>,
}

impl Ns {
    fn new(tag: &str) -> Ns {
        let name = format!("mqi-lt-{tag}-{}", std::process::id());
        // a leftover of the same name, from a run that was killed hard
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        run_ok(Command::new("ip").args(["netns", "add", &name]));
        run_ok(Command::new("ip").args(["-n", &name, "link", "set", "lo", "up"]));
        Ns {
            name,
            procs: Vec::new(),
        }
    }

    /// `prog` run inside the namespace.
    fn cmd(&self, prog: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, prog]);
        c
    }

    /// Keeps `child` until the namespace goes.
    fn keep(&mut self, child: Child) {
        self.procs.push(child);
    }

    fn wait_listen(&self, port: u16, what: &str, log: &Path) {
        let ok = wait_until(10.0, || {
            let out = run(self.cmd("ss").args(["-Hltn", &format!("sport = :{port}")]));
            String::from_utf8_lossy(&out.stdout).contains("LISTEN")
        });
        assert!(
            ok,
            "{what} does not listen on {port}: {}",
            fs::read_to_string(log).unwrap_or_default()
        );
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        for c in &mut self.procs {
            let _ = c.kill();
            let _ = c.wait();
        }
        // anything else still in the namespace was started by this test
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                if let Ok(p) = pid.parse::<u32>() {
                    signal(p, libc::SIGKILL);
                }
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// An Ethernet link `eth0` (in `a`, BROKER_A) <-> `eth0` (in `b`,
/// CLIENT_B), IPv4 only, offloads off so segments are MTU-sized as on a
/// physical NIC (as scripts/record/lib.sh does).
fn veth(a: &Ns, b: &Ns) {
    run_ok(Command::new("ip").args([
        "link",
        "add",
        "eth0",
        "netns",
        &a.name,
        "address",
        "02:00:00:00:00:0a",
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        &b.name,
        "address",
        "02:00:00:00:00:14",
    ]));
    for (ns, addr) in [(a, BROKER_A), (b, CLIENT_B)] {
        run_ok(
            ns.cmd("sysctl")
                .args(["-qw", "net.ipv6.conf.eth0.disable_ipv6=1"]),
        );
        if on_path("ethtool") {
            let _ = run(ns.cmd("ethtool").args([
                "-K", "eth0", "tx", "off", "tso", "off", "gso", "off", "gro", "off",
            ]));
        }
        run_ok(Command::new("ip").args([
            "-n",
            &ns.name,
            "addr",
            "add",
            &format!("{addr}/24"),
            "dev",
            "eth0",
        ]));
        run_ok(Command::new("ip").args(["-n", &ns.name, "link", "set", "eth0", "up"]));
    }
}

/// mosquitto 2 on 1883 in `ns`, anonymous, logging everything; returns its log.
fn broker(ns: &mut Ns, lab: &Lab) -> PathBuf {
    let conf = lab.path("mosquitto.conf");
    let log = lab.path("mosquitto.log");
    fs::write(
        &conf,
        "listener 1883\nallow_anonymous true\npersistence false\nlog_dest stderr\n\
         log_type all\nconnection_messages true\nmax_queued_messages 1000\n",
    )
    .expect("write mosquitto.conf");
    let child = ns
        .cmd("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("mosquitto starts");
    ns.keep(child);
    ns.wait_listen(1883, "mosquitto", &log);
    log
}

/// Waits until the broker's log shows `needle`.
fn wait_log(log: &Path, needle: &str) {
    let ok = wait_until(10.0, || {
        fs::read_to_string(log).is_ok_and(|t| t.contains(needle))
    });
    assert!(
        ok,
        "the broker log never showed {needle:?}:\n{}",
        fs::read_to_string(log).unwrap_or_default()
    );
}

/// The fake broker (scripts/ci/live_fake_broker.py) on 127.0.0.1:1883:
/// CONNACKs, and a QoS 1 PUBLISH's PUBACK `delay` seconds later (never
/// when negative). Returns its event log.
fn fake_broker(ns: &mut Ns, lab: &Lab, delay: f64) -> PathBuf {
    let out = lab.path("fake_broker.out");
    let child = ns
        .cmd(PY)
        .args([
            &script("live_fake_broker.py"),
            "127.0.0.1",
            "1883",
            &delay.to_string(),
        ])
        .stdout(fs::File::create(&out).expect("out file"))
        .stderr(Stdio::inherit())
        .spawn()
        .expect("fake broker starts");
    ns.keep(child);
    ns.wait_listen(1883, "the fake broker", &out);
    out
}

/// `mosquitto_pub` in `ns`, to `host`, one message.
fn publish(ns: &Ns, host: &str, id: &str, qos: u8, topic: &str, msg: &str) {
    run_ok(ns.cmd("timeout").args([
        "20",
        "mosquitto_pub",
        "-h",
        host,
        "-p",
        "1883",
        "-i",
        id,
        "-q",
        &qos.to_string(),
        "-t",
        topic,
        "-m",
        msg,
    ]));
}

/// A QoS 2 `mosquitto_sub` in `ns` on `filter` that leaves after `count`
/// messages; waits until the broker has its SUBSCRIBE.
fn subscriber(ns: &Ns, host: &str, id: &str, filter: &str, count: u32, log: &Path) -> Child {
    let child = ns
        .cmd("timeout")
        .args([
            "60",
            "mosquitto_sub",
            "-h",
            host,
            "-p",
            "1883",
            "-i",
            id,
            "-q",
            "2",
            "-t",
            filter,
            "-C",
            &count.to_string(),
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("mosquitto_sub starts");
    wait_log(log, &format!("Received SUBSCRIBE from {id}"));
    sleep(0.2); // its SUBACK
    child
}

// ---------------------------------------------------- the binary's output

/// One line of output, and when it arrived.
struct Line {
    at: Instant,
    /// Arrival on the system clock (the clock the capture stamps frames with).
    wall: f64,
    text: String,
}

impl Line {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not a JSON line ({e}): {}", self.text))
    }
}

/// `jsonl` events whose type says to count them rather than keep them
/// (the soak: millions of packet lines).
type Keep = fn(&str) -> bool;

fn keep_all(_: &str) -> bool {
    true
}

/// A running mqtt-inspect: its stdout line by line as it comes, its stderr.
struct Running {
    child: Child,
    rx: Receiver<Line>,
    lines: Vec<Line>,
    /// Lines the `keep` filter counted instead of keeping, by their first 24 bytes.
    counted: Arc<Mutex<BTreeMap<String, u64>>>,
    stderr: Arc<Mutex<String>>,
    stdout_done: Option<thread::JoinHandle<()>>,
    stderr_done: Option<thread::JoinHandle<()>>,
}

/// A finished mqtt-inspect.
struct Done {
    status: ExitStatus,
    exited: Instant,
    lines: Vec<Line>,
    counted: BTreeMap<String, u64>,
    stderr: String,
}

impl Running {
    fn spawn(mut cmd: Command, keep: Keep) -> Running {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let (tx, rx) = channel();
        let counted = Arc::new(Mutex::new(BTreeMap::new()));
        let counts = Arc::clone(&counted);
        let stdout_done = thread::spawn(move || {
            for text in BufReader::new(out).lines() {
                let Ok(text) = text else { break };
                if !keep(&text) {
                    let key: String = text.chars().take(24).collect();
                    *counts.lock().unwrap().entry(key).or_insert(0) += 1;
                    continue;
                }
                let line = Line {
                    at: Instant::now(),
                    wall: wall(),
                    text,
                };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let stderr_done = thread::spawn(move || {
            let mut r = BufReader::new(err);
            let mut buf = String::new();
            while let Ok(n) = r.read_line(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&buf);
                buf.clear();
            }
        });
        Running {
            child,
            rx,
            lines: Vec::new(),
            counted,
            stderr,
            stdout_done: Some(stdout_done),
            stderr_done: Some(stderr_done),
        }
    }

    /// `mqtt-inspect live ARGS` in `ns`, once it says it is capturing.
    fn live(ns: &Ns, args: &[&str]) -> Running {
        Self::live_with(ns, bin(), args, keep_all)
    }

    fn live_with(ns: &Ns, bin: &str, args: &[&str], keep: Keep) -> Running {
        let mut cmd = ns.cmd(bin);
        cmd.arg("live").args(args);
        let mut r = Running::spawn(cmd, keep);
        r.wait_stderr("capturing on", 10.0);
        r
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn wait_stderr(&mut self, needle: &str, secs: f64) {
        let ok = wait_until(secs, || {
            self.stderr().contains(needle) || self.child.try_wait().ok().flatten().is_some()
        });
        let err = self.stderr();
        assert!(
            ok && err.contains(needle),
            "mqtt-inspect did not say {needle:?} within {secs} s; stderr: {err}"
        );
    }

    /// Takes in what arrived, waiting at most `secs` for something.
    fn pump(&mut self, secs: f64) {
        match self.rx.recv_timeout(Duration::from_secs_f64(secs)) {
            Ok(l) => self.lines.push(l),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
        }
        while let Ok(l) = self.rx.try_recv() {
            self.lines.push(l);
        }
    }

    /// The index of the first line (from `from`) that `pred` accepts,
    /// waiting at most `secs` for it; panics with what did come.
    fn wait_for(&mut self, what: &str, secs: f64, pred: impl Fn(&Line) -> bool) -> usize {
        let until = Instant::now() + Duration::from_secs_f64(secs);
        let mut from = 0;
        loop {
            if let Some(i) = self.lines[from..].iter().position(&pred) {
                return from + i;
            }
            from = self.lines.len();
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let seen: Vec<&str> = self.lines.iter().map(|l| l.text.as_str()).collect();
                panic!(
                    "no {what} within {secs} s; output so far:\n{}\nstderr: {}",
                    seen.join("\n"),
                    self.stderr()
                );
            }
            self.pump(left.as_secs_f64().min(0.2));
        }
    }

    fn interrupt(&self) {
        signal(self.pid(), libc::SIGINT);
    }

    /// Waits at most `secs` for the process to end by itself (or after a
    /// signal sent before), then collects everything it wrote.
    fn finish(mut self, secs: f64) -> Done {
        let Some(status) = wait_child(&mut self.child, secs) else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            panic!(
                "mqtt-inspect did not end within {secs} s; stderr: {}",
                self.stderr()
            );
        };
        let exited = Instant::now();
        if let Some(t) = self.stdout_done.take() {
            let _ = t.join();
        }
        if let Some(t) = self.stderr_done.take() {
            let _ = t.join();
        }
        while let Ok(l) = self.rx.try_recv() {
            self.lines.push(l);
        }
        Done {
            status,
            exited,
            lines: std::mem::take(&mut self.lines),
            counted: self.counted.lock().unwrap().clone(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Done {
    fn text(&self) -> String {
        let v: Vec<&str> = self.lines.iter().map(|l| l.text.as_str()).collect();
        v.join("\n")
    }

    /// Every line as JSON (`--format jsonl`).
    fn events(&self) -> Vec<Value> {
        self.lines.iter().map(Line::json).collect()
    }

    /// The jsonl summary: the last line, of type `summary`.
    fn summary(&self) -> Value {
        let last = self
            .lines
            .last()
            .unwrap_or_else(|| panic!("no output at all; stderr: {}", self.stderr))
            .json();
        assert_eq!(
            last["type"], "summary",
            "the last jsonl line is not the summary: {last}"
        );
        last
    }

    fn assert_exit(&self, code: i32, what: &str) {
        assert_eq!(
            self.status.code(),
            Some(code),
            "{what}: exit status {:?}; stderr: {}",
            self.status,
            self.stderr
        );
    }
}

/// A jsonl `summary` line as the `--format json` object (without `type`).
fn strip_type(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("type");
    }
    v
}

fn ty(v: &Value) -> &str {
    v["type"].as_str().unwrap_or("")
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// The raw text of the first `"key":` number in a JSON line (timestamps
/// keep all nine digits there; an f64 does not).
fn raw_number<'a>(text: &'a str, key: &str) -> &'a str {
    let pat = format!("\"{key}\":");
    let at = text.find(&pat).map(|i| i + pat.len()).unwrap_or(text.len());
    let rest = &text[at..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// `secs.fraction` as (seconds, nanoseconds), exactly.
fn exact_ts(s: &str) -> (i64, u32) {
    let (a, b) = s.split_once('.').unwrap_or((s, ""));
    let mut frac: String = b.chars().take(9).collect();
    while frac.len() < 9 {
        frac.push('0');
    }
    (a.parse().unwrap_or(-1), frac.parse().unwrap_or(u32::MAX))
}

// ------------------------------------------------------------------ tests

/// QoS 0, 1 and 2 both ways (publishers → broker, broker → a subscriber)
/// on loopback: every QoS 1/2 flow is a jsonl `flow` event, complete, with
/// its latencies, arriving while the capture runs; `--duration` ends the
/// run by itself with the summary.
#[test]
fn live_qos012_both_directions_with_latencies() {
    let Some(lab) = lab("live_qos012_both_directions_with_latencies", &[]) else {
        return;
    };
    let mut ns = Ns::new("qos");
    let log = broker(&mut ns, &lab);
    let live = Running::live(&ns, &["-i", "lo", "--format", "jsonl", "--duration", "8"]);
    let opened = Instant::now();
    let mut sub = subscriber(&ns, "127.0.0.1", "sub-live", "live/#", 6, &log);
    for (i, (qos, topic)) in [
        (0, "live/a"),
        (1, "live/a"),
        (2, "live/a"),
        (2, "live/b"),
        (1, "live/b"),
        (0, "live/b"), // last: the subscriber leaves with no QoS 2 handshake open
    ]
    .into_iter()
    .enumerate()
    {
        publish(&ns, "127.0.0.1", &format!("pub-{i}"), qos, topic, "21.5");
    }
    assert!(
        wait_child(&mut sub, 10.0).is_some_and(|s| s.success()),
        "the subscriber did not get its 6 messages"
    );
    let traffic_done = Instant::now();
    let done = live.finish(15.0);
    done.assert_exit(0, "live --duration 8");
    let ran = done.exited.duration_since(opened).as_secs_f64();
    assert!(
        (7.0..12.0).contains(&ran),
        "--duration 8 ended the run after {ran:.2} s"
    );
    let mut lat: BTreeMap<(u64, String), Vec<String>> = BTreeMap::new();
    for l in &done.lines {
        let e = l.json();
        if ty(&e) != "flow" {
            continue;
        }
        assert_eq!(e["complete"], true, "an incomplete flow: {e}");
        let qos = count(&e["qos"]);
        let keys: &[&str] = if qos == 1 {
            &["puback"]
        } else {
            &["pubrec", "pubrel", "pubcomp", "qos2_total"]
        };
        for k in keys {
            let ms = num(&e["latency_ms"][k]);
            assert!(ms > 0.0 && ms < 1000.0, "latency {k} {ms} ms in {e}");
        }
        let shown = keys
            .iter()
            .map(|k| format!("{k} {:.3}", num(&e["latency_ms"][k])))
            .collect::<Vec<_>>()
            .join(" ");
        lat.entry((qos, e["direction"].as_str().unwrap_or("?").to_string()))
            .or_default()
            .push(shown);
        // seen live: written when the flow ended, not at the end of the run
        assert!(
            l.at <= traffic_done + Duration::from_secs(1)
                && done.exited.duration_since(l.at) > Duration::from_secs(2),
            "flow event not streamed while capturing: {e}"
        );
    }
    for qos in [1, 2] {
        for dir in ["client_to_server", "server_to_client"] {
            let n = lat.get(&(qos, dir.to_string())).map_or(0, Vec::len);
            assert_eq!(n, 2, "QoS {qos} {dir}: {n} complete flows, want 2");
        }
    }
    let s = done.summary();
    for q in ["qos1", "qos2"] {
        assert_eq!(count(&s["flows"][q]["completed"]), 4, "{q}: {}", s["flows"]);
        assert_eq!(
            count(&s["flows"][q]["incomplete"]),
            0,
            "{q}: {}",
            s["flows"]
        );
    }
    assert_eq!(count(&s["packets"]["by_type"]["PUBLISH"]), 12);
    assert_eq!(
        s["findings"],
        serde_json::json!([]),
        "findings: {}",
        s["findings"]
    );
    assert_eq!(
        count(&s["capture"]["drops"]["kernel"]),
        0,
        "kernel drops on a quiet loopback: {}",
        s["capture"]
    );
    for ((qos, dir), v) in &lat {
        say(&format!(
            "QoS {qos} {dir} flow latencies (ms): {}",
            v.join("; ")
        ));
    }
    say(&format!(
        "--duration 8 ended the run {ran:.2} s after the capture opened; {} frames",
        s["capture"]["frames"]
    ));
}

/// The PUBLISH packet event of the client's QoS 1 message: (frame, ts, connection).
fn held_publish(lines: &[Line]) -> (u64, f64, u64) {
    lines
        .iter()
        .map(Line::json)
        .find(|e| {
            ty(e) == "packet"
                && e["mqtt"]["type"] == "PUBLISH"
                && e["direction"] == "client_to_server"
        })
        .map(|e| (count(&e["frame"]), num(&e["ts"]), count(&e["connection"])))
        .expect("the PUBLISH in the packet events")
}

/// The fake broker's or the client's line `word TIME`: TIME.
fn logged_time(path: &Path, word: &str) -> f64 {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(word))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no {word:?} line in {}: {text}", path.display()))
}

/// Starts the paho client that publishes one QoS 1 message and holds
/// its connection `hold` seconds.
fn held_client(ns: &Ns, lab: &Lab, hold: f64) -> (Child, PathBuf) {
    let out = lab.path("client.out");
    let child = ns
        .cmd(PY)
        .args([
            &script("live_qos1_client.py"),
            "127.0.0.1",
            "1883",
            &hold.to_string(),
        ])
        .stdout(fs::File::create(&out).expect("out file"))
        .spawn()
        .expect("client starts");
    (child, out)
}

/// A broker that never acknowledges: with `--ack-timeout 1s` the
/// `missing_ack` finding is in the jsonl stream about a second after the
/// PUBLISH, while the connection is still open (before its close event,
/// before the client even sends DISCONNECT); SIGINT then ends the run
/// with the summary line, exit 0.
#[test]
fn live_missing_ack_while_connection_open() {
    let Some(lab) = lab("live_missing_ack_while_connection_open", &[]) else {
        return;
    };
    let mut ns = Ns::new("noack");
    fake_broker(&mut ns, &lab, -1.0);
    let mut live = Running::live(
        &ns,
        &["-i", "lo", "--format", "jsonl", "--ack-timeout", "1s"],
    );
    let (mut client, client_out) = held_client(&ns, &lab, 4.0);
    let fi = live.wait_for("missing_ack finding", 10.0, |l| {
        l.text.contains("\"finding\"") && l.json()["kind"] == "missing_ack"
    });
    let seen_at = live.lines[fi].wall;
    assert!(
        wait_child(&mut client, 15.0).is_some_and(|s| s.success()),
        "the client failed"
    );
    sleep(0.5);
    live.interrupt();
    let done = live.finish(10.0);
    done.assert_exit(0, "live after SIGINT");
    let s = done.summary();
    let (frame, ts, conn) = held_publish(&done.lines);
    let finding = done.lines[fi].json();
    assert_eq!(finding["connection"], conn, "{finding}");
    assert_eq!(finding["expected"], "PUBACK", "{finding}");
    assert_eq!(finding["frames"], serde_json::json!([frame]), "{finding}");
    let after = seen_at - ts;
    assert!(
        (1.0..3.5).contains(&after),
        "missing_ack arrived {after:.3} s after the PUBLISH (ack timeout 1 s)"
    );
    assert!(
        num(&finding["ts"]) - ts >= 1.0,
        "missing_ack stamped before the timeout: {finding}"
    );
    let closing = logged_time(&client_out, "closing");
    assert!(
        seen_at < closing,
        "missing_ack came {:.3} s after the client started to close",
        seen_at - closing
    );
    let close_at = done
        .lines
        .iter()
        .position(|l| {
            let e = l.json();
            ty(&e) == "connection" && e["event"] == "close" && e["connection"] == conn
        })
        .expect("a close event for the connection");
    assert!(fi < close_at, "the finding came after the close event");
    let kinds: Vec<Value> = done
        .events()
        .into_iter()
        .filter(|e| ty(e) == "finding")
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        vec![Value::from("missing_ack")],
        "findings: {kinds:?}"
    );
    assert!(
        s["findings"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["kind"] == "missing_ack")),
        "summary findings: {}",
        s["findings"]
    );
    say(&format!(
        "missing_ack (ack timeout 1 s) arrived {after:.3} s after the PUBLISH, {:.3} s before the client closed",
        closing - seen_at
    ));
}

/// A broker that acknowledges after 3 s: `missing_ack` at about 1 s, then
/// `late_ack` (frames: PUBLISH, PUBACK) when the PUBACK comes, and the
/// flow completes with a ~3000 ms latency.
#[test]
fn live_late_ack_after_missing_ack() {
    let Some(lab) = lab("live_late_ack_after_missing_ack", &[]) else {
        return;
    };
    let mut ns = Ns::new("lateack");
    let broker_out = fake_broker(&mut ns, &lab, 3.0);
    let mut live = Running::live(
        &ns,
        &["-i", "lo", "--format", "jsonl", "--ack-timeout", "1s"],
    );
    let (mut client, _) = held_client(&ns, &lab, 5.0);
    let mi = live.wait_for("missing_ack finding", 10.0, |l| {
        l.text.contains("\"finding\"") && l.json()["kind"] == "missing_ack"
    });
    let li = live.wait_for("late_ack finding", 10.0, |l| {
        l.text.contains("\"finding\"") && l.json()["kind"] == "late_ack"
    });
    assert!(
        wait_child(&mut client, 15.0).is_some_and(|s| s.success()),
        "the client failed"
    );
    sleep(0.5);
    live.interrupt();
    let done = live.finish(10.0);
    done.assert_exit(0, "live after SIGINT");
    let (frame, ts, conn) = held_publish(&done.lines);
    let puback = done
        .events()
        .into_iter()
        .find(|e| ty(e) == "packet" && e["mqtt"]["type"] == "PUBACK")
        .expect("the PUBACK packet event");
    let late = done.lines[li].json();
    assert!(mi < li, "late_ack before missing_ack");
    assert_eq!(late["connection"], conn);
    assert_eq!(
        late["frames"],
        serde_json::json!([frame, count(&puback["frame"])]),
        "{late}"
    );
    let missing_after = done.lines[mi].wall - ts;
    let late_after = done.lines[li].wall - ts;
    assert!(
        (1.0..3.0).contains(&missing_after),
        "missing_ack {missing_after:.3} s after the PUBLISH"
    );
    assert!(
        (3.0..5.5).contains(&late_after),
        "late_ack {late_after:.3} s after the PUBLISH"
    );
    let acked = logged_time(&broker_out, "puback");
    let flow = done
        .events()
        .into_iter()
        .find(|e| ty(e) == "flow")
        .expect("the flow event");
    assert_eq!(flow["complete"], true, "{flow}");
    let ms = num(&flow["latency_ms"]["puback"]);
    assert!((2900.0..4500.0).contains(&ms), "PUBACK latency {ms} ms");
    let close_at = done
        .lines
        .iter()
        .position(|l| l.text.contains("\"close\"") && l.json()["connection"] == conn)
        .expect("the close event");
    assert!(li < close_at, "late_ack after the close event");
    say(&format!(
        "ack after 3 s: missing_ack at +{missing_after:.3} s, late_ack at +{late_after:.3} s \
         ({:.3} s after the broker sent the PUBACK), flow latency {ms:.1} ms",
        done.lines[li].wall - acked
    ));
}

/// Text output live: the finding is printed as it happens (while the
/// connection is open), SIGINT prints the whole summary, and `--fail-on
/// error` makes that exit 1.
#[test]
fn live_text_findings_as_they_happen_and_summary_on_sigint() {
    let Some(lab) = lab(
        "live_text_findings_as_they_happen_and_summary_on_sigint",
        &[],
    ) else {
        return;
    };
    let mut ns = Ns::new("text");
    fake_broker(&mut ns, &lab, -1.0);
    let mut live = Running::live(
        &ns,
        &[
            "-i",
            "lo",
            "--ack-timeout",
            "1s",
            "--fail-on",
            "error",
            "--color",
            "never",
        ],
    );
    let (mut client, client_out) = held_client(&ns, &lab, 3.0);
    let fi = live.wait_for("the missing_ack line", 10.0, |l| {
        l.text.contains("missing_ack:")
    });
    let seen = live.lines[fi].wall;
    assert!(wait_child(&mut client, 15.0).is_some(), "the client hangs");
    assert!(
        seen < logged_time(&client_out, "closing"),
        "the finding was printed only after the client left"
    );
    sleep(0.3);
    let signalled = Instant::now();
    live.interrupt();
    let done = live.finish(10.0);
    done.assert_exit(1, "live --fail-on error after SIGINT, with a missing_ack");
    let text = done.text();
    let summary_at = done
        .lines
        .iter()
        .position(|l| l.text.starts_with("capture live:lo"))
        .unwrap_or_else(|| panic!("no summary after SIGINT:\n{text}"));
    assert!(summary_at > fi, "{text}");
    assert!(done.lines[summary_at].at >= signalled, "{text}");
    for want in [
        "connections 1 MQTT/TCP",
        "findings 1 error",
        "missing_ack ×1",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    say(
        "text live: missing_ack printed while the connection was open; SIGINT printed the summary, exit 1 (--fail-on error)",
    );
}

/// `tcpdump -w - | mqtt-inspect analyze --format json -`, twice:
/// - tcpdump with `-U` (every packet written at once) and SIGINT to
///   mqtt-inspect alone while tcpdump still holds the pipe open;
/// - tcpdump without `-U` (it writes in 4 KiB chunks, the rest when it
///   exits) and SIGINT to both, as Ctrl-C on a terminal sends it to the
///   whole pipeline: what tcpdump flushes as it exits must still be read.
///
/// Both times the complete JSON object of all the traffic, exit 0.
#[test]
fn analyze_stdin_from_tcpdump_sigint_writes_json() {
    let Some(lab) = lab(
        "analyze_stdin_from_tcpdump_sigint_writes_json",
        &["tcpdump"],
    ) else {
        return;
    };
    let mut ns = Ns::new("tcpdump");
    let log = broker(&mut ns, &lab);
    for (round, per_packet) in [(0, true), (1, false)] {
        let err = lab.path(&format!("tcpdump{round}.err"));
        let mut args = vec!["-i", "lo", "--immediate-mode", "-s", "0", "-w", "-"];
        if per_packet {
            args.push("-U");
        }
        args.push("tcp port 1883");
        let mut tcpdump = ns
            .cmd("tcpdump")
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&err).expect("err file"))
            .spawn()
            .expect("tcpdump starts");
        let pipe = tcpdump.stdout.take().expect("tcpdump's stdout");
        let tcpdump_pid = tcpdump.id();
        ns.keep(tcpdump);
        assert!(
            wait_until(10.0, || fs::read_to_string(&err)
                .is_ok_and(|t| t.contains("listening on"))),
            "tcpdump did not start: {}",
            fs::read_to_string(&err).unwrap_or_default()
        );
        let mut cmd = Command::new(bin());
        cmd.args(["analyze", "--format", "json", "-"]).stdin(pipe);
        let analyze = Running::spawn(cmd, keep_all);
        let mut sub = subscriber(&ns, "127.0.0.1", "sub-pipe", "pipe/#", 3, &log);
        for (qos, id) in [(2, "p2"), (1, "p1"), (0, "p0")] {
            publish(&ns, "127.0.0.1", id, qos, "pipe/x", "hello");
        }
        assert!(wait_child(&mut sub, 10.0).is_some_and(|s| s.success()));
        sleep(1.0);
        analyze.interrupt();
        if !per_packet {
            signal(tcpdump_pid, libc::SIGINT);
        }
        let done = analyze.finish(10.0);
        let how = if per_packet {
            "tcpdump -U | analyze -, SIGINT to analyze"
        } else {
            "tcpdump | analyze -, SIGINT to both"
        };
        done.assert_exit(0, how);
        let json: Value = serde_json::from_str(&done.text()).unwrap_or_else(|e| {
            panic!(
                "{how}: not one complete JSON object ({e}):\n{}",
                done.text()
            )
        });
        assert_eq!(json["schema"], "mqtt-inspect/1");
        assert_eq!(
            count(&json["packets"]["by_type"]["PUBLISH"]),
            6,
            "{how}: {}",
            json["packets"]
        );
        for q in ["qos1", "qos2"] {
            assert_eq!(
                count(&json["flows"][q]["completed"]),
                2,
                "{how}: {}",
                json["flows"]
            );
        }
        if !per_packet {
            // tcpdump's exit ended the stream: the capture is described whole
            assert_eq!(
                json["capture"]["link_types"],
                serde_json::json!(["EN10MB"]),
                "{how}"
            );
        }
        say(&format!(
            "{how}: the JSON object of {} frames, all 6 PUBLISHes, exit 0",
            json["capture"]["frames"]
        ));
    }
}

/// `analyze -` on a fifo whose writer stays: the capture is read, the
/// run waits for more; SIGINT ends it with the text summary, the JSON
/// object, the jsonl summary line; exit 1 with `--fail-on error` on a
/// capture with a `missing_ack`, else 0. Needs no root.
#[test]
fn analyze_fifo_that_stays_open_sigint_every_format() {
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("temp dir");
    let sample = common::root().join("samples/faults/missing_ack_qos2_stalled.pcap");
    let bytes = fs::read(&sample).expect("the sample");
    for (format, fail_on, code) in [
        ("text", "never", 0),
        ("json", "error", 1),
        ("jsonl", "never", 0),
    ] {
        let fifo = dir.path().join(format!("{format}.fifo"));
        let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        let (close_tx, close_rx) = channel::<()>();
        let (path, data) = (fifo.clone(), bytes.clone());
        let writer = thread::spawn(move || {
            let mut w = fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .expect("open fifo");
            w.write_all(&data).expect("write fifo");
            w.flush().ok();
            let _ = close_rx.recv_timeout(Duration::from_secs(30)); // stays open
        });
        let reader = fs::File::open(&fifo).expect("open fifo for reading");
        let mut cmd = Command::new(bin());
        cmd.args(["analyze", "--format", format, "--fail-on", fail_on, "-"])
            .stdin(reader);
        let mut run = Running::spawn(cmd, keep_all);
        sleep(1.5);
        assert!(
            run.child.try_wait().ok().flatten().is_none(),
            "{format}: analyze - ended although the fifo is still open"
        );
        run.pump(0.1);
        let streamed = run.lines.len();
        let signalled = Instant::now();
        run.interrupt();
        let done = run.finish(10.0);
        let _ = close_tx.send(());
        let _ = writer.join();
        done.assert_exit(
            code,
            &format!("analyze --format {format} --fail-on {fail_on} -"),
        );
        let text = done.text();
        match format {
            "text" => {
                for want in ["capture -", "findings 1 error", "missing_ack"] {
                    assert!(text.contains(want), "text: no {want:?} in:\n{text}");
                }
            }
            "json" => {
                let v: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("json: not one object ({e}):\n{text}"));
                assert_eq!(count(&v["capture"]["frames"]), 26, "{}", v["capture"]);
                assert_eq!(v["findings"][0]["kind"], "missing_ack", "{}", v["findings"]);
            }
            _ => {
                let s = done.summary();
                assert_eq!(count(&s["capture"]["frames"]), 26, "{}", s["capture"]);
                assert!(streamed > 0, "jsonl: nothing streamed before SIGINT");
                assert!(
                    done.lines[..streamed].iter().all(|l| l.at < signalled),
                    "jsonl: events held back until the end"
                );
            }
        }
    }
    drop(turn);
    say(
        "analyze - on an open fifo: SIGINT wrote the text summary (exit 0), the JSON object (exit 1, --fail-on error), the jsonl summary line (exit 0)",
    );
}

/// One frame of tshark's view: (frame number, time).
fn tshark_frames(file: &Path) -> Vec<(u64, (i64, u32))> {
    let out = run_ok(Command::new("tshark").args([
        "-r",
        &file.to_string_lossy(),
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "frame.time_epoch",
    ]));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.trim().parse().ok()?, exact_ts(f.next()?.trim())))
        })
        .collect()
}

/// `--write FILE.pcapng` on a veth link: tshark reads the file, with as
/// many frames as the report's `capture.frames` and the same timestamps to
/// the nanosecond; MQTT is in the same frames for tshark and for us; and
/// `analyze` of the file gives exactly the live run's events (packets,
/// flows, connections, frame numbers) and summary.
#[test]
fn live_write_pcapng_matches_file_analysis() {
    let Some(lab) = lab("live_write_pcapng_matches_file_analysis", &["tshark"]) else {
        return;
    };
    let mut a = Ns::new("wra");
    let b = Ns::new("wrb");
    veth(&a, &b);
    let log = broker(&mut a, &lab);
    let file = lab.path("live.pcapng");
    let file_arg = file.to_string_lossy().into_owned();
    let live = Running::live(
        &a,
        &["-i", "eth0", "--format", "jsonl", "--write", &file_arg],
    );
    let mut sub = subscriber(&b, BROKER_A, "sub-write", "w/#", 4, &log);
    let big = "x".repeat(20_000); // many segments, reassembled
    publish(&b, BROKER_A, "w2", 2, "w/two", "2");
    publish(&b, BROKER_A, "w1", 1, "w/one", "1");
    publish(&b, BROKER_A, "wbig", 1, "w/big", &big);
    publish(&b, BROKER_A, "w0", 0, "w/zero", "0");
    assert!(wait_child(&mut sub, 10.0).is_some_and(|s| s.success()));
    sleep(0.5);
    live.interrupt();
    let done = live.finish(10.0);
    done.assert_exit(0, "live --write after SIGINT");
    let summary = done.summary();
    let frames = count(&summary["capture"]["frames"]);
    assert!(frames > 40, "{frames} frames");
    // tshark: the frame count, and every frame's time to the nanosecond
    let tshark = tshark_frames(&file);
    assert_eq!(
        tshark.len() as u64,
        frames,
        "tshark's frames vs capture.frames"
    );
    let times: BTreeMap<u64, (i64, u32)> = tshark.into_iter().collect();
    let mut ours_mqtt = BTreeSet::new();
    for l in &done.lines {
        if !l.text.starts_with("{\"type\":\"packet\"") {
            continue;
        }
        let e = l.json();
        let f = count(&e["frame"]);
        ours_mqtt.insert(f);
        assert_eq!(
            times.get(&f),
            Some(&exact_ts(raw_number(&l.text, "ts"))),
            "frame {f}: tshark's time vs ours"
        );
    }
    let out = run_ok(Command::new("tshark").args([
        "-r",
        &file_arg,
        "-Y",
        "mqtt",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]));
    let tshark_mqtt: BTreeSet<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(ours_mqtt, tshark_mqtt, "frames with MQTT: ours vs tshark");
    // the file analysed afterwards: the same run
    let out = run_ok(Command::new(bin()).args(["analyze", "--format", "jsonl", &file_arg]));
    let from_file: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect();
    let live_events = done.events();
    let (mut lv, mut fv) = (live_events.clone(), from_file.clone());
    // The start lines name different sources and commands (live:IFACE and
    // `live` vs the file and `analyze`); their options are otherwise the same.
    let start = |v: &mut Vec<Value>| {
        let mut s = if v.first().is_some_and(|l| l["type"] == "start") {
            v.remove(0)
        } else {
            Value::Null
        };
        s["sources"] = Value::Null;
        s["options"]["command"] = Value::Null;
        s
    };
    assert_eq!(
        start(&mut lv),
        start(&mut fv),
        "start lines: live vs the written file"
    );
    let (ls, fs_) = (lv.pop().expect("summary"), fv.pop().expect("summary"));
    assert_eq!(lv.len(), fv.len(), "events: live vs the written file");
    for (i, (l, f)) in lv.iter().zip(&fv).enumerate() {
        assert_eq!(l, f, "event {i}: live vs the written file");
    }
    let strip = |mut s: Value| {
        s["capture"]["sources"] = Value::Null;
        // an interface has drops, a file has a files list (its name,
        // format and frame range): the rest must be the same
        if let Some(c) = s["capture"].as_object_mut() {
            c.remove("drops");
            c.remove("files");
        }
        s
    };
    assert_eq!(strip(ls), strip(fs_), "summary: live vs the written file");
    let flows = lv.iter().filter(|e| ty(e) == "flow").count();
    say(&format!(
        "--write: {frames} frames; tshark agrees on count, times (ns) and the {} MQTT frames; \
         analyze of the file = the live run ({} events, {flows} flows)",
        ours_mqtt.len(),
        lv.len()
    ));
}

/// GET /metrics from inside the namespace (the endpoint is on its loopback).
fn scrape(ns: &Ns, port: u16, path: &str) -> String {
    let code = format!(
        "import sys, urllib.request\n\
         r = urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=10)\n\
         sys.stdout.write(r.headers.get('Content-Type', '') + '\\n' + r.read().decode())\n"
    );
    let out = run_ok(ns.cmd(PY).args(["-c", &code]));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `name{labels} value` lines of a Prometheus exposition.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// `--metrics 127.0.0.1:PORT`, scraped during the run: `promtool check
/// metrics` passes, and the counters are the traffic that was sent;
/// SIGTERM ends the run with the summary, which agrees.
#[test]
fn live_metrics_pass_promtool_and_count_the_traffic() {
    let Some(lab) = lab(
        "live_metrics_pass_promtool_and_count_the_traffic",
        &["promtool"],
    ) else {
        return;
    };
    let mut ns = Ns::new("metrics");
    let log = broker(&mut ns, &lab);
    let live = Running::live(
        &ns,
        &[
            "-i",
            "lo",
            "--format",
            "jsonl",
            "--metrics",
            "127.0.0.1:19464",
        ],
    );
    let mut sub = subscriber(&ns, "127.0.0.1", "sub-metrics", "m/#", 12, &log);
    let mut sent = Vec::new();
    for (qos, n) in [(2u8, 3), (1, 5), (0, 4)] {
        for i in 0..n {
            publish(&ns, "127.0.0.1", &format!("m{qos}-{i}"), qos, "m/t", "v");
            sent.push(qos);
        }
    }
    assert!(wait_child(&mut sub, 10.0).is_some_and(|s| s.success()));
    sleep(0.7);
    let body = scrape(&ns, 19464, "/metrics");
    let (ctype, text) = body.split_once('\n').unwrap_or(("", ""));
    assert!(
        ctype.starts_with("text/plain; version=0.0.4"),
        "Content-Type {ctype:?}"
    );
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let checked = check.wait_with_output().expect("promtool runs");
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    let m = samples(text);
    let get = |k: &str| {
        m.get(k)
            .copied()
            .unwrap_or_else(|| panic!("no {k} in:\n{text}"))
    };
    for (qos, n) in [("1", 5.0), ("2", 3.0)] {
        for dir in ["client_to_server", "server_to_client"] {
            let k = format!(
                "mqtt_inspect_flows_total{{qos=\"{qos}\",direction=\"{dir}\",outcome=\"completed\"}}"
            );
            assert_eq!(get(&k), n, "{k}");
            let k = format!(
                "mqtt_inspect_flows_total{{qos=\"{qos}\",direction=\"{dir}\",outcome=\"incomplete\"}}"
            );
            assert_eq!(get(&k), 0.0, "{k}");
        }
    }
    for dir in ["client_to_server", "server_to_client"] {
        let k = format!("mqtt_inspect_qos0_messages_total{{direction=\"{dir}\"}}");
        assert_eq!(get(&k), 4.0, "{k}");
    }
    assert_eq!(get("mqtt_inspect_packets_total{type=\"PUBLISH\"}"), 24.0);
    assert_eq!(get("mqtt_inspect_packets_total{type=\"CONNECT\"}"), 13.0);
    assert_eq!(
        get("mqtt_inspect_latency_seconds_count{key=\"puback\"}"),
        10.0
    );
    assert_eq!(
        get("mqtt_inspect_latency_seconds_count{key=\"qos2_total\"}"),
        6.0
    );
    assert_eq!(get("mqtt_inspect_tcp_connections_total"), 13.0);
    // every client has disconnected: none open, though closed ones linger
    assert_eq!(get("mqtt_inspect_tcp_connections_open"), 0.0);
    assert_eq!(
        get("mqtt_inspect_not_judged_total{reason=\"flows_not_tracked\"}"),
        0.0
    );
    assert_eq!(
        get("mqtt_inspect_capture_dropped_total{where=\"kernel\"}"),
        0.0
    );
    let findings: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("mqtt_inspect_findings_total"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(findings, 0.0, "findings counted");
    let frames = get("mqtt_inspect_frames_total");
    signal(live.pid(), libc::SIGTERM); // as a service manager stops it
    let done = live.finish(10.0);
    done.assert_exit(0, "live --metrics after SIGTERM");
    let s = done.summary();
    assert_eq!(
        count(&s["capture"]["frames"]) as f64,
        frames,
        "frames: summary vs scrape"
    );
    assert_eq!(count(&s["flows"]["qos1"]["completed"]), 10);
    assert_eq!(count(&s["flows"]["qos2"]["completed"]), 6);
    say(&format!(
        "--metrics: promtool check passed; {} samples; flows_total, qos0, packets, latency counts = the {} messages sent",
        m.len(),
        sent.len()
    ));
}

/// `--stats-interval 1s`: a `stats` line about once a second (at least 6
/// in a 7 s run, `to` ~1 s apart, `from` = the previous `to`), each
/// counting the messages and flows streamed since the one before, the
/// last (shorter) one at the end, together the whole run.
#[test]
fn live_stats_interval_once_a_second() {
    let Some(lab) = lab("live_stats_interval_once_a_second", &[]) else {
        return;
    };
    let mut ns = Ns::new("stats");
    broker(&mut ns, &lab);
    let live = Running::live(
        &ns,
        &[
            "-i",
            "lo",
            "--format",
            "jsonl",
            "--stats-interval",
            "1s",
            "--duration",
            "7",
        ],
    );
    let opened = Instant::now();
    sleep(1.5);
    for i in 0..3 {
        publish(&ns, "127.0.0.1", &format!("s1-{i}"), 1, "stats/a", "1");
    }
    while opened.elapsed() < Duration::from_millis(3500) {
        sleep(0.05);
    }
    for i in 0..2 {
        publish(&ns, "127.0.0.1", &format!("s2-{i}"), 2, "stats/b", "2");
    }
    let done = live.finish(15.0);
    done.assert_exit(0, "live --stats-interval --duration 7");
    let events = done.events();
    // Live output (a `live:` source, `capture.drops`, stats lines on the
    // wall clock) is what the published JSON Schemas say, line by line.
    let (summary_schema, jsonl_schema) = common::schema::validators();
    assert_eq!(
        events.first().map(ty),
        Some("start"),
        "jsonl opens with start"
    );
    for (i, e) in events.iter().enumerate() {
        common::schema::assert_valid(&jsonl_schema, e, &format!("live jsonl line {}", i + 1));
    }
    common::schema::assert_valid(
        &summary_schema,
        &strip_type(&done.summary()),
        "live summary",
    );
    let stats: Vec<(usize, &Value)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| ty(e) == "stats")
        .collect();
    assert!(stats.len() >= 6, "{} stats lines in a 7 s run", stats.len());
    let mut shown = Vec::new();
    let (mut prev_i, mut prev_to) = (0usize, None::<f64>);
    let (mut msgs_total, mut q1_total) = (0, 0);
    for (n, (i, s)) in stats.iter().enumerate() {
        let (from, to) = (num(&s["from"]), num(&s["to"]));
        if let Some(p) = prev_to {
            assert_eq!(from, p, "stats {n}: from is not the previous to");
            let gap = to - p;
            let last = n + 1 == stats.len();
            assert!(
                gap > 0.0 && gap < 2.5 && (last || gap > 0.5),
                "stats {n}: {gap:.3} s after the one before"
            );
        }
        // arrives promptly: emitted when its interval ends, not batched
        let arrived = done.lines[*i].wall;
        assert!(
            arrived - to < 1.0,
            "stats {n} arrived {:.3} s late",
            arrived - to
        );
        // what was streamed since the previous stats line is in this one
        let between = &events[prev_i..*i];
        let publishes: Vec<f64> = between
            .iter()
            .filter(|e| ty(e) == "packet" && e["mqtt"]["type"] == "PUBLISH")
            .map(|e| num(&e["ts"]))
            .collect();
        assert_eq!(
            count(&s["messages"]),
            publishes.len() as u64,
            "stats {n}: {s}"
        );
        for ts in &publishes {
            assert!(
                *ts <= to && (n == 0 || *ts > from - 0.5),
                "stats {n} [{from}, {to}] counts a PUBLISH of {ts}"
            );
        }
        let q1 = between
            .iter()
            .filter(|e| ty(e) == "flow" && e["qos"] == 1)
            .count() as u64;
        assert_eq!(
            count(&s["flows"]["qos1"]["completed"]),
            q1,
            "stats {n}: {s}"
        );
        msgs_total += count(&s["messages"]);
        q1_total += q1;
        shown.push(format!(
            "{:.2}s:{}",
            to - num(&stats[0].1["to"]) + 1.0,
            count(&s["messages"])
        ));
        prev_i = *i;
        prev_to = Some(to);
    }
    let full = &stats[..stats.len() - 1];
    let mean =
        (num(&full[full.len() - 1].1["to"]) - num(&full[0].1["to"])) / (full.len() - 1) as f64;
    assert!(
        (0.9..1.25).contains(&mean),
        "stats every {mean:.3} s on average"
    );
    let s = done.summary();
    assert_eq!(msgs_total, 5);
    assert_eq!(count(&s["packets"]["by_type"]["PUBLISH"]), 5);
    assert_eq!(q1_total, 3);
    say(&format!(
        "--stats-interval 1s: {} stats lines in a 7 s run, {mean:.3} s apart on average; messages per interval {}",
        stats.len(),
        shown.join(" ")
    ));
}

/// `interfaces` inside a namespace lists `lo` (up, loopback); `live -i
/// nosuch` and a bad `--filter` exit 2 with one line (the known
/// interfaces; libpcap's message); a user without capture rights is told
/// to use root or setcap, and that setcap is indeed enough.
#[test]
fn live_interfaces_and_errors() {
    let Some(lab) = lab("live_interfaces_and_errors", &["setpriv", "setcap"]) else {
        return;
    };
    let ns = Ns::new("errors");
    let out = run_ok(ns.cmd(bin()).arg("interfaces"));
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let lo = listing
        .lines()
        .find(|l| l.split_whitespace().next() == Some("lo"))
        .unwrap_or_else(|| panic!("no lo in:\n{listing}"));
    let flags = lo.split_whitespace().nth(1).unwrap_or("");
    assert!(
        flags.split(',').any(|f| f == "up") && flags.split(',').any(|f| f == "loopback"),
        "lo: {lo}"
    );
    assert!(
        !listing.lines().any(|l| l.starts_with("eth0")),
        "an interface of the host leaked in:\n{listing}"
    );
    let one_line_error = |cmd: &mut Command, what: &str| -> String {
        let out = run(cmd);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{what}: exit status; stderr {err}"
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{what}: not one line: {err}"
        );
        assert!(out.stdout.is_empty(), "{what}: wrote to stdout");
        err
    };
    let err = one_line_error(ns.cmd(bin()).args(["live", "-i", "nosuch"]), "-i nosuch");
    assert!(
        err.contains("\"nosuch\"") && err.contains("known:") && err.contains("lo"),
        "-i nosuch: {err}"
    );
    let err = one_line_error(
        ns.cmd(bin())
            .args(["live", "-i", "lo", "--filter", "tcp port and"]),
        "bad --filter",
    );
    assert!(
        err.contains("bad capture filter") && err.contains("syntax error"),
        "bad --filter: {err}"
    );
    // --metrics on a taken port: one line, before the capture (and its
    // --write file) is opened
    let holder = Running::live(&ns, &["-i", "lo", "--metrics", "127.0.0.1:19466"]);
    let written = lab.path("never.pcapng");
    let err = one_line_error(
        ns.cmd(bin()).args([
            "live",
            "-i",
            "lo",
            "--metrics",
            "127.0.0.1:19466",
            "--write",
            &written.to_string_lossy(),
        ]),
        "--metrics on a taken port",
    );
    assert!(
        err.contains("--metrics 127.0.0.1:19466"),
        "taken port: {err}"
    );
    assert!(!written.exists(), "an empty --write file was left behind");
    holder.interrupt();
    holder
        .finish(10.0)
        .assert_exit(0, "the live run holding the port");
    // a copy nobody can run, first without and then with the capabilities
    let copy = lab.path("mqtt-inspect");
    fs::copy(bin(), &copy).expect("copy the binary");
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).expect("chmod");
    let copy_s = copy.to_string_lossy().into_owned();
    let as_nobody = |args: &[&str]| {
        let mut c = ns.cmd("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", &copy_s])
            .args(args);
        c
    };
    let err = one_line_error(&mut as_nobody(&["live", "-i", "lo"]), "live as nobody");
    assert!(
        err.contains("no permission")
            && err.contains("run as root")
            && err.contains("setcap cap_net_raw,cap_net_admin=eip"),
        "live as nobody: {err}"
    );
    run_ok(Command::new("setcap").args(["cap_net_raw,cap_net_admin=eip", &copy_s]));
    let out = run(&mut as_nobody(&[
        "live",
        "-i",
        "lo",
        "--duration",
        "1",
        "--format",
        "json",
    ]));
    assert!(
        out.status.success(),
        "as nobody with setcap: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["capture"]["sources"], serde_json::json!(["live:lo"]));
    say(&format!(
        "errors: -i nosuch, bad --filter, no permission each one line, exit 2 ({}); setcap made `nobody` able to capture",
        err.trim_end()
    ));
}

/// `--count N` ends the run by itself after N frames.
#[test]
fn live_count_stops_by_itself() {
    let Some(lab) = lab("live_count_stops_by_itself", &[]) else {
        return;
    };
    let mut ns = Ns::new("count");
    broker(&mut ns, &lab);
    let live = Running::live(&ns, &["-i", "lo", "--count", "8", "--format", "json"]);
    publish(&ns, "127.0.0.1", "c1", 1, "count/x", "1");
    let done = live.finish(10.0);
    done.assert_exit(0, "live --count 8");
    let v: Value = serde_json::from_str(&done.text()).expect("JSON");
    assert_eq!(count(&v["capture"]["frames"]), 8, "{}", v["capture"]);
}

/// The interface goes away under a running capture (the veth is deleted):
/// the run ends by itself with the summary and a warning saying why.
#[test]
fn live_interface_disappearing_ends_the_run() {
    let Some(_lab) = lab("live_interface_disappearing_ends_the_run", &[]) else {
        return;
    };
    let a = Ns::new("gonea");
    let b = Ns::new("goneb");
    veth(&a, &b);
    let live = Running::live(&a, &["-i", "eth0", "--format", "json"]);
    sleep(0.5);
    run_ok(Command::new("ip").args(["-n", &a.name, "link", "del", "eth0"]));
    let done = live.finish(10.0);
    done.assert_exit(0, "live when its interface disappears");
    let v: Value = serde_json::from_str(&done.text()).expect("JSON");
    let warned = v["warnings"].as_array().is_some_and(|w| {
        w.iter().any(|w| {
            w["message"]
                .as_str()
                .unwrap_or("")
                .contains("live capture stopped")
        })
    });
    assert!(warned, "no warning of why it stopped: {}", v["warnings"]);
}

/// RSS of a process, kB.
fn rss_kb(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn packet_lines_counted(line: &str) -> bool {
    !(line.starts_with("{\"type\":\"packet\"")
        || line.starts_with("{\"type\":\"flow\"")
        || line.starts_with("{\"client\""))
}

/// Hundreds of paho clients (one process) publishing QoS 0/1/2, leaving
/// and coming back with clean session false, for minutes: mqtt-inspect's
/// RSS stays flat (the max of the second half ≤ the max of the first half
/// × 1.2 + 4 MB). The samples and the run's figures are reported.
#[test]
fn live_soak_rss_stays_flat() {
    let Some(lab) = lab("live_soak_rss_stays_flat", &[]) else {
        return;
    };
    let secs = env_num("MQTT_INSPECT_SOAK_SECS", 180).max(20);
    let clients = env_num("MQTT_INSPECT_SOAK_CLIENTS", 200).max(10);
    let mut ns = Ns::new("soak");
    broker(&mut ns, &lab);
    let mut live = Running::live_with(
        &ns,
        bin(),
        &[
            "-i",
            "lo",
            "--format",
            "jsonl",
            "--stats-interval",
            "10s",
            "--metrics",
            "127.0.0.1:19465",
        ],
        packet_lines_counted,
    );
    let pid = live.pid();
    assert_eq!(
        fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim(),
        "mqtt-inspect",
        "the pid sampled is not mqtt-inspect"
    );
    let mut load = ns
        .cmd(PY)
        .args([
            &script("live_soak_clients.py"),
            "127.0.0.1",
            "1883",
            &clients.to_string(),
            &secs.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("soak clients start");
    let started = Instant::now();
    let mut rss: Vec<(f64, u64)> = Vec::new();
    let mut open_conns: Vec<(f64, f64)> = Vec::new();
    let every = 5.0;
    let mut next = 0.0;
    let status = loop {
        if let Ok(Some(s)) = load.try_wait() {
            break s;
        }
        let t = started.elapsed().as_secs_f64();
        assert!(t < secs as f64 + 120.0, "the soak clients hang");
        if t >= next {
            rss.push((t, rss_kb(pid)));
            if rss.len() % 6 == 1 {
                let m = samples(&scrape(&ns, 19465, "/metrics"));
                open_conns.push((
                    t,
                    m.get("mqtt_inspect_tcp_connections_open")
                        .copied()
                        .unwrap_or(-1.0),
                ));
            }
            next += every;
        }
        live.pump(0.2);
    };
    let mut counts = String::new();
    if let Some(mut o) = load.stdout.take() {
        let _ = o.read_to_string(&mut counts);
    }
    assert!(status.success(), "the soak clients failed: {counts}");
    sleep(1.0);
    rss.push((started.elapsed().as_secs_f64(), rss_kb(pid)));
    live.interrupt();
    let done = live.finish(60.0);
    done.assert_exit(0, "live after the soak");
    let s = done.summary();
    let half = rss.len() / 2;
    let first = rss[..half].iter().map(|r| r.1).max().unwrap_or(0);
    let second = rss[half..].iter().map(|r| r.1).max().unwrap_or(0);
    let shown: Vec<String> = rss
        .iter()
        .map(|(t, kb)| format!("{t:.0}s:{}", kb / 1024))
        .collect();
    say(&format!(
        "soak {secs} s, {clients} clients, {}: clients' counts {}",
        bin(),
        counts.trim()
    ));
    say(&format!("soak RSS samples (s:MiB): {}", shown.join(" ")));
    say(&format!(
        "soak open TCP connections (s:n): {}",
        open_conns
            .iter()
            .map(|(t, n)| format!("{t:.0}s:{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let findings: Vec<String> = s["findings_by_kind"]
        .as_object()
        .map(|o| o.iter().map(|(k, v)| format!("{k} {v}")).collect())
        .unwrap_or_default();
    say(&format!(
        "soak summary: {} frames, drops {}, {} TCP connections, flows qos1 {} / qos2 {}, findings: {}; events counted {:?}, stats lines {}",
        s["capture"]["frames"],
        s["capture"]["drops"],
        s["tcp"]["connections"],
        s["flows"]["qos1"],
        s["flows"]["qos2"],
        if findings.is_empty() {
            "none".to_string()
        } else {
            findings.join(", ")
        },
        done.counted,
        done.events().iter().filter(|e| ty(e) == "stats").count(),
    ));
    assert!(rss.len() >= 4, "too few RSS samples");
    assert!(
        second as f64 <= first as f64 * 1.2 + 4096.0,
        "RSS grows: max {first} kB in the first half, {second} kB in the second"
    );
    assert!(
        count(&s["flows"]["qos1"]["completed"]) > 0 && count(&s["flows"]["qos2"]["completed"]) > 0
    );
}

/// 10,000 QoS 1 messages as fast as one paho client sends them, over a
/// veth link: how many frames the kernel dropped (reported, not asserted:
/// it depends on the machine), with the default kernel buffer and with
/// libpcap's own 2 MiB; with no drop, every flow must be complete. Then
/// drops for certain, which must be reported.
#[test]
fn live_burst_kernel_drops() {
    let Some(lab) = lab("live_burst_kernel_drops", &[]) else {
        return;
    };
    let mut a = Ns::new("bursta");
    let b = Ns::new("burstb");
    veth(&a, &b);
    broker(&mut a, &lab);
    for (label, extra) in [
        ("default buffer (32 MiB)", None),
        ("--buffer-size 2 MiB (libpcap's default)", Some("2097152")),
    ] {
        let mut args = vec!["-i", "eth0", "--format", "json"];
        if let Some(b) = extra {
            args.extend(["--buffer-size", b]);
        }
        let live = Running::live(&a, &args);
        let out = run(b
            .cmd(PY)
            .args([&script("live_burst.py"), BROKER_A, "1883", "10000"]));
        let result = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "the burst client failed: {result}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        sleep(1.0);
        live.interrupt();
        let done = live.finish(60.0);
        done.assert_exit(0, "live after the burst");
        let v: Value = serde_json::from_str(&done.text()).expect("JSON");
        let drops = &v["capture"]["drops"];
        let completed = count(&v["flows_by_direction"]["client_to_server"]["qos1"]["completed"]);
        let kinds: Vec<String> = v["findings_by_kind"]
            .as_object()
            .map(|o| o.iter().map(|(k, n)| format!("{k} {n}")).collect())
            .unwrap_or_default();
        say(&format!(
            "burst of 10000 QoS 1, {label}: client {}; {} frames, kernel drops {}, interface drops {}, \
             QoS 1 flows completed {completed}, not tracked (in-flight limit) {}, findings [{}]",
            result.trim(),
            v["capture"]["frames"],
            drops["kernel"],
            drops["interface"],
            v["analysis"]["flows_not_tracked"],
            kinds.join(", "),
        ));
        // Nothing dropped: then nothing may be missing either (a backlog
        // still in the kernel's buffer at Ctrl-C is read, not discarded).
        // Unlimited in flight, the capture may see more than the analysis
        // follows per connection (4096): an `inflight_limit` finding says
        // so, and the flows beyond it are not counted; nothing else.
        if count(&drops["kernel"]) == 0 {
            let limited = v["findings_by_kind"]["inflight_limit"]
                .as_u64()
                .unwrap_or(0)
                > 0;
            let others: Vec<&String> = v["findings_by_kind"]
                .as_object()
                .map(|o| o.keys().filter(|k| *k != "inflight_limit").collect())
                .unwrap_or_default();
            assert!(
                others.is_empty(),
                "findings without drops: {}",
                v["findings"]
            );
            assert_eq!(
                count(&v["flows"]["qos1"]["incomplete"]),
                0,
                "no drop, yet incomplete flows: {}",
                v["flows"]
            );
            let untracked = count(&v["analysis"]["flows_not_tracked"]);
            assert_eq!(
                limited,
                untracked > 0,
                "inflight_limit vs flows_not_tracked {untracked}"
            );
            assert_eq!(
                completed + untracked,
                10_000,
                "no drop, yet flows: {}, {untracked} not tracked",
                v["flows"]
            );
        }
    }
    // Drops for certain: a tiny buffer, and mqtt-inspect stopped (SIGSTOP)
    // while the burst goes by. They must be reported, not hidden.
    let live = Running::live(
        &a,
        &["-i", "eth0", "--format", "json", "--buffer-size", "65536"],
    );
    signal(live.pid(), libc::SIGSTOP);
    let out = run(b
        .cmd(PY)
        .args([&script("live_burst.py"), BROKER_A, "1883", "10000"]));
    signal(live.pid(), libc::SIGCONT);
    assert!(out.status.success(), "the burst client failed");
    sleep(1.0);
    live.interrupt();
    let done = live.finish(60.0);
    done.assert_exit(0, "live after a stopped burst");
    let v: Value = serde_json::from_str(&done.text()).expect("JSON");
    let (summary_schema, _) = common::schema::validators();
    common::schema::assert_valid(&summary_schema, &v, "live --format json with drops");
    let kernel = count(&v["capture"]["drops"]["kernel"]);
    assert!(
        kernel > 0,
        "no drop reported although stopped: {}",
        v["capture"]
    );
    assert!(
        done.stderr
            .contains(&format!("the capture lost {kernel} packets in the kernel")),
        "no word of the drops on stderr: {}",
        done.stderr
    );
    say(&format!(
        "burst while mqtt-inspect was stopped, 64 KiB buffer: {kernel} kernel drops reported ({} frames analyzed)",
        v["capture"]["frames"]
    ));
}
