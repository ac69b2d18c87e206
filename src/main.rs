//! `mqtt-inspect`: builds the pipeline from the command line and picks the output.

mod merge_summaries;

use anyhow::Context;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use mqtt_inspect::analysis::{AnalysisConfig, Selection, Severity};
use mqtt_inspect::capture::{FrameSource, Next, Prefetch, open_captures};
use mqtt_inspect::cli::{
    AnalyzeArgs, Cli, Command, CommonArgs, FailIf, FailOn, Format, LiveArgs, idle_options,
};
use mqtt_inspect::mqtt::MqttConfig;
use mqtt_inspect::observe::{Interval, MetricsEndpoint, Progress, StatusLine, Watch};
use mqtt_inspect::pipeline::{DEFAULT_LISTED, Pipeline, PipelineOptions};
use mqtt_inspect::report::{
    HtmlReport, JsonLines, JsonReport, RenderOptions, RunOptions, RunStart, Sink, StartFilters,
    Summary, Tee, TextOptions, TextReport, VERSION,
};
use mqtt_inspect::tcp::TcpConfig;
use mqtt_inspect::term;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Exit code when `--fail-on` is reached.
const EXIT_FINDINGS: u8 = 1;
/// Exit code for bad usage or input that cannot be read at all.
const EXIT_UNREADABLE: u8 = 2;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // Said before the run, so it is not lost under a long report.
    if let Some((_, sub)) = matches.subcommand() {
        let common = match &cli.command {
            Command::Analyze(a) => Some(&a.common),
            Command::Live(l) => Some(&l.common),
            _ => None,
        };
        for note in common.map(|c| idle_options(sub, c)).unwrap_or_default() {
            eprintln!("mqtt-inspect: note: {note}");
        }
    }
    let threads_given = matches
        .subcommand_matches("analyze")
        .is_some_and(|m| m.value_source("threads") == Some(ValueSource::CommandLine));
    match cli.command {
        Command::Analyze(args) => analyze(args, threads_given),
        Command::Live(args) => live(args),
        Command::Interfaces => interfaces(),
        Command::Completions { shell } => completions(shell),
        Command::Man { command } => man(command.as_deref()),
        Command::Merge(args) => merge_summaries::run(&args),
    }
}

/// `completions SHELL`: the script clap_complete writes for that shell.
fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "mqtt-inspect", &mut script);
    write_out(&script)
}

/// `man [COMMAND]`: the page of mqtt-inspect or of one of its commands
/// (named `mqtt-inspect-COMMAND`, as git and cargo name theirs).
fn man(command: Option<&str>) -> ExitCode {
    let mut top = Cli::command();
    top.build();
    let page = match command {
        None => top,
        Some(name) => match top.find_subcommand(name) {
            Some(sub) => sub.clone().name(format!("mqtt-inspect-{name}")),
            None => {
                eprintln!("mqtt-inspect: no command {name:?}");
                return ExitCode::from(EXIT_UNREADABLE);
            }
        },
    };
    let mut roff = Vec::new();
    match clap_mangen::Man::new(page).render(&mut roff) {
        Ok(()) => write_out(&roff),
        Err(e) => {
            eprintln!("mqtt-inspect: {e}");
            ExitCode::from(EXIT_UNREADABLE)
        }
    }
}

/// Writes `bytes` to stdout; a closed pipe (`| head`) is no error.
fn write_out(bytes: &[u8]) -> ExitCode {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqtt-inspect: {e}");
            ExitCode::from(EXIT_UNREADABLE)
        }
    }
}

/// Ctrl-C and SIGTERM end the run cleanly (the summary is still written);
/// a second one ends the process at once.
fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let installed = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    if let Err(e) = installed {
        eprintln!("mqtt-inspect: Ctrl-C will not stop cleanly: {e}");
    }
    stop
}

/// A key log that cannot be read stops the run before any output (exit 2).
fn check_keylog(c: &CommonArgs) -> Result<(), ExitCode> {
    if let Some(p) = &c.tls_keylog
        && let Err(e) = mqtt_inspect::layers::KeyLog::open(p)
    {
        eprintln!("mqtt-inspect: {e}");
        return Err(ExitCode::from(EXIT_UNREADABLE));
    }
    Ok(())
}

fn analyze(args: AnalyzeArgs, threads_given: bool) -> ExitCode {
    if let Err(code) = check_keylog(&args.common) {
        return code;
    }
    let mut reader = match open_captures(&args.captures) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mqtt-inspect: {e}");
            return ExitCode::from(EXIT_UNREADABLE);
        }
    };
    let metrics = match start_metrics(&args.common) {
        Ok(m) => m,
        Err(code) => return code,
    };
    // From a pipe (e.g. tcpdump -U -w -), show each line as soon as it is
    // known, and read on a thread of its own so a silent pipe does not
    // block Ctrl-C, timers and statistics.
    let streaming = args.captures.iter().any(|c| c == "-");
    let stop = stop_flag();
    let run = Run {
        common: &args.common,
        streaming,
        live: false,
        threads: args.threads,
        threads_given,
    };
    if streaming {
        let mut source = match Prefetch::spawn(reader) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("mqtt-inspect: cannot start reading: {e}");
                return ExitCode::from(EXIT_UNREADABLE);
            }
        };
        let mut source = DrainOnStop {
            inner: &mut source,
            stop: &stop,
            until: None,
        };
        finish(run.go(&mut source, None, metrics), &args.common)
    } else if wants_progress(&args.common) {
        match Progress::wrap(&mut reader) {
            Ok(mut bar) => finish(run.go(&mut bar, Some(&stop), metrics), &args.common),
            Err(reader) => finish(run.go(reader, Some(&stop), metrics), &args.common),
        }
    } else {
        finish(run.go(&mut reader, Some(&stop), metrics), &args.common)
    }
}

/// Whether reading files may show a progress bar on stderr (it does for
/// long ones, [`Progress`]): only for the text report (JSON is for
/// scripts), only when stderr is a terminal, and not when lines are
/// written to that terminal before the summary (the trace, intervals),
/// which the bar would tear.
fn wants_progress(c: &CommonArgs) -> bool {
    let writes_early = c.packets || c.stats_interval.is_some();
    c.format == Format::Text
        && term::stderr_is_terminal()
        && !(writes_early && term::stdout_is_terminal())
}

/// `analyze -` after Ctrl-C: what is already on its way is still read.
///
/// Ctrl-C on a terminal goes to the whole pipeline (`tcpdump -w - |
/// mqtt-inspect analyze -`): tcpdump writes what it still buffers (without
/// `-U`, up to 4 KiB of packets) as it exits, and frames wait in the
/// reader thread's channel. Breaking off at once lost them. After the stop
/// flag the stream is read on until it ends, goes quiet for one idle turn,
/// or [`STREAM_DRAIN`] has passed (a writer that keeps writing); a second
/// Ctrl-C still quits at once.
struct DrainOnStop<'a> {
    inner: &'a mut dyn FrameSource,
    stop: &'a AtomicBool,
    until: Option<Instant>,
}

/// The longest `analyze -` reads on after Ctrl-C.
const STREAM_DRAIN: Duration = Duration::from_secs(1);

impl FrameSource for DrainOnStop<'_> {
    fn next(&mut self) -> Next<'_> {
        if self.until.is_none() && self.stop.load(Ordering::Relaxed) {
            self.until = Some(Instant::now() + STREAM_DRAIN);
        }
        let draining = match self.until {
            Some(until) if Instant::now() >= until => return Next::End,
            Some(_) => true,
            None => false,
        };
        match self.inner.next() {
            Next::Idle(_) if draining => Next::End,
            other => other,
        }
    }

    fn info(&self) -> &mqtt_inspect::capture::CaptureInfo {
        self.inner.info()
    }

    fn take_warnings(&mut self) -> Vec<mqtt_inspect::base::Warning> {
        self.inner.take_warnings()
    }

    fn drops(&self) -> Option<mqtt_inspect::capture::Drops> {
        self.inner.drops()
    }
}

/// `--metrics`: the endpoint listening before the run starts, or the exit
/// code after a one-line error (the address is taken, or not an address).
fn start_metrics(c: &CommonArgs) -> Result<Option<MetricsEndpoint>, ExitCode> {
    match &c.metrics {
        None => Ok(None),
        Some(addr) => match MetricsEndpoint::start(addr) {
            Ok(m) => Ok(Some(m)),
            Err(e) => {
                eprintln!("mqtt-inspect: {e}");
                Err(ExitCode::from(EXIT_UNREADABLE))
            }
        },
    }
}

fn live(args: LiveArgs) -> ExitCode {
    if let Err(code) = check_keylog(&args.common) {
        return code;
    }
    #[cfg(feature = "live")]
    {
        use mqtt_inspect::live::{LiveOptions, LiveSource, port_filter};
        let opts = LiveOptions {
            interface: args.interface.clone(),
            filter: args
                .filter
                .clone()
                .unwrap_or_else(|| port_filter(&args.common.port)),
            snaplen: args.snaplen,
            promisc: args.promisc,
            buffer_size: Some(args.buffer_size),
            duration: args.duration,
            count: args.count,
            write: args.write.clone(),
        };
        // Before the capture opens, so that a taken port does not leave
        // an empty --write file behind.
        let metrics = match start_metrics(&args.common) {
            Ok(m) => m,
            Err(code) => return code,
        };
        let stop = stop_flag();
        let mut source = match LiveSource::open(&opts, Arc::clone(&stop)) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("mqtt-inspect: {e}");
                return ExitCode::from(EXIT_UNREADABLE);
            }
        };
        eprintln!(
            "mqtt-inspect: {}; Ctrl-C stops and writes the summary",
            source.banner()
        );
        let run = Run {
            common: &args.common,
            streaming: true,
            live: true,
            threads: 1,
            threads_given: false,
        };
        // The source itself ends on Ctrl-C/SIGTERM (it holds `stop`), so
        // that its last step reads libpcap's final drop counters and
        // flushes --write; the pipeline is not handed the flag, which
        // would break off before that step.
        let result = run.go(&mut source, None, metrics);
        if let Ok(summary) = &result
            && let Some(d) = summary.capture.drops.filter(|d| d.any())
        {
            // The text summary has no place for it; JSON has capture.drops.
            eprintln!(
                "mqtt-inspect: the capture lost {} packets in the kernel and {} at the interface: \
                 what they carried is missing from the analysis (raise --buffer-size, now {})",
                d.kernel,
                d.interface,
                mqtt_inspect::live::size_text(args.buffer_size)
            );
        }
        finish(result, &args.common)
    }
    #[cfg(not(feature = "live"))]
    {
        let _ = args;
        eprintln!("mqtt-inspect: {}", mqtt_inspect::live::NOT_BUILT);
        ExitCode::from(EXIT_UNREADABLE)
    }
}

fn interfaces() -> ExitCode {
    #[cfg(feature = "live")]
    {
        match mqtt_inspect::live::interfaces() {
            Ok(list) => {
                let mut out = io::stdout().lock();
                for i in list {
                    let mut flags = Vec::new();
                    if i.up {
                        flags.push("up");
                    }
                    if i.running {
                        flags.push("running");
                    }
                    if i.loopback {
                        flags.push("loopback");
                    }
                    let addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
                    let _ = writeln!(
                        out,
                        "{:<16} {:<24} {}{}",
                        i.name,
                        flags.join(","),
                        addrs.join(" "),
                        i.description
                            .map(|d| format!("  ({d})"))
                            .unwrap_or_default()
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("mqtt-inspect: {e}");
                ExitCode::from(EXIT_UNREADABLE)
            }
        }
    }
    #[cfg(not(feature = "live"))]
    {
        eprintln!("mqtt-inspect: {}", mqtt_inspect::live::NOT_BUILT);
        ExitCode::from(EXIT_UNREADABLE)
    }
}

/// The exit code of a finished run.
fn finish(result: anyhow::Result<Summary>, c: &CommonArgs) -> ExitCode {
    match result {
        Ok(summary) => exit_for(&summary, c.fail_on, &c.fail_if),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqtt-inspect: {e:#}");
            ExitCode::from(EXIT_UNREADABLE)
        }
    }
}

/// Exit 1 when a finding at or above the `--fail-on` severity exists, or
/// a `--fail-if` condition holds (for CI pipelines).
fn exit_for(summary: &Summary, fail_on: FailOn, fail_if: &[FailIf]) -> ExitCode {
    let condition = fail_if.iter().any(|c| match c {
        FailIf::NoMqtt => summary.packets.total == 0,
        FailIf::Truncated => summary.capture.truncated,
    });
    let threshold = match fail_on {
        FailOn::Never => None,
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
    };
    let findings = match (threshold, summary.analysis.worst()) {
        (Some(t), Some(worst)) => worst.at_least(t),
        _ => false,
    };
    if condition || findings {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<io::Error>()
        .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

/// Options for the stages, from the command line.
fn pipeline_options(c: &CommonArgs, live: bool) -> PipelineOptions {
    PipelineOptions {
        listed_connections: c.listed_connections.unwrap_or(DEFAULT_LISTED),
        tls_keylog: c.tls_keylog.clone(),
        ports: c.port.clone(),
        detect: !c.no_detect,
        analysis: AnalysisConfig {
            ack_timeout: c.ack_timeout,
            live,
            select: Selection {
                connections: c.connection.clone(),
                clients: c.client.clone(),
                topics: c.topic.clone(),
                kinds: c.kind.clone(),
            },
            top_topics: c.top.max(1),
            ..AnalysisConfig::default()
        },
        mqtt: MqttConfig {
            payload_preview: c.payload_bytes,
            ..MqttConfig::default()
        },
        tcp: TcpConfig {
            max_pending_bytes: c.max_buffered,
            max_connections: c.max_connections,
            idle_timeout_secs: c.tcp_idle_timeout.as_secs().max(1),
            server_ports: c.port.clone(),
            ..TcpConfig::default()
        },
        threads: 1,
    }
}

/// The options that shape the output, for the jsonl `start` record.
fn run_options(c: &CommonArgs, live: bool) -> RunOptions {
    use clap::ValueEnum;
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    RunOptions {
        command: if live { "live" } else { "analyze" }.into(),
        format: c
            .format
            .to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default(),
        ports: c.port.clone(),
        detect: !c.no_detect,
        ack_timeout_ms: ms(c.ack_timeout),
        payload_bytes: c.payload_bytes,
        show_secrets: c.show_secrets,
        connections: Some(c.listed_connections.unwrap_or(DEFAULT_LISTED))
            .filter(|&n| n != usize::MAX),
        max_connections: c.max_connections,
        max_buffered: c.max_buffered,
        tcp_idle_timeout_ms: ms(c.tcp_idle_timeout),
        stats_interval_ms: c.stats_interval.map(ms),
        html: c.html.as_ref().map(|p| p.display().to_string()),
        top: c.top.max(1),
        tls_keylog: c.tls_keylog.as_ref().map(|p| p.display().to_string()),
        filters: (!c.connection.is_empty()
            || !c.client.is_empty()
            || !c.topic.is_empty()
            || !c.kind.is_empty())
        .then(|| StartFilters {
            connections: c.connection.clone(),
            clients: c.client.clone(),
            topics: c.topic.clone(),
            kinds: c.kind.iter().map(|k| k.as_str()).collect(),
        }),
    }
}

/// One run from the command line.
struct Run<'a> {
    common: &'a CommonArgs,
    /// Output line by line as it is known (a pipe, live capture).
    streaming: bool,
    /// Live capture: timeouts on the wall clock, findings printed as they come.
    live: bool,
    /// `--threads` (analyze).
    threads: usize,
    /// `--threads` was given, not left to `auto`: say so when it cannot
    /// be used.
    threads_given: bool,
}

impl Run<'_> {
    fn go(
        &self,
        source: &mut dyn FrameSource,
        stop: Option<&AtomicBool>,
        metrics: Option<MetricsEndpoint>,
    ) -> anyhow::Result<Summary> {
        let c = self.common;
        let render = RenderOptions {
            payload_bytes: c.payload_bytes,
            show_secrets: c.show_secrets,
        };
        let stdout = io::stdout();
        let status = (self.streaming && io::stderr().is_terminal()).then(StatusLine::new);
        let out: Box<dyn Write> = if self.streaming {
            Box::new(io::LineWriter::new(stdout.lock()))
        } else {
            Box::new(io::BufWriter::with_capacity(1 << 16, stdout.lock()))
        };
        // Output on the status line's terminal wipes it first.
        let out: Box<dyn Write> = match &status {
            Some(s) if io::stdout().is_terminal() => Box::new(s.beside(out)),
            _ => out,
        };
        let mut sink: Box<dyn Sink> = match c.format {
            Format::Text => Box::new(TextReport::new(
                out,
                TextOptions {
                    color: term::stdout_color(c.color),
                    packets: c.packets,
                    stream: self.live,
                    width: term::report_width(c.width),
                    connections: c.listed_connections,
                },
            )),
            Format::Json => Box::new(JsonReport::new(out)),
            Format::Jsonl => Box::new(JsonLines::new(out, render)),
        };
        if let Some(path) = &c.html {
            // Created now, so that a path that cannot be written fails
            // before the run, not after an hour of live capture.
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let html = HtmlReport::new(io::BufWriter::new(file), VERSION);
            sink = Box::new(Tee {
                first: sink,
                second: html,
            });
        }
        sink.begin(&RunStart {
            sources: source.info().sources.clone(),
            options: run_options(c, self.live),
        })?;
        let mut watch = Watch {
            status,
            interval: c.stats_interval.map(Interval::new),
            metrics,
        };
        let opts = PipelineOptions {
            threads: self.threads,
            ..pipeline_options(c, self.live)
        };
        let pipeline = Pipeline::new(opts);
        if self.threads_given
            && self.threads > 1
            && pipeline.threads_used(sink.as_ref(), &watch) < self.threads
        {
            eprintln!(
                "mqtt-inspect: note: --threads {} does nothing here: with events written as they \
                 happen (jsonl, --packets, --stats-interval, --metrics, a terminal's status line) \
                 the analysis runs on one thread",
                self.threads
            );
        }
        let summary = pipeline
            .run_with(source, sink.as_mut(), &mut watch, stop)
            .context("writing the report")?;
        io::stdout().flush().ok();
        Ok(summary)
    }
}
