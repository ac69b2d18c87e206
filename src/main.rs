//! `mqtt-inspect`: builds the pipeline from the command line and picks the output.

use anyhow::Context;
use clap::Parser;
use mqtt_inspect::analysis::{AnalysisConfig, Severity};
use mqtt_inspect::capture::{FrameSource, open_captures};
use mqtt_inspect::cli::{
    AnalyzeArgs, Cli, ColorChoice, Command, CommonArgs, FailIf, FailOn, Format,
};
use mqtt_inspect::mqtt::MqttConfig;
use mqtt_inspect::pipeline::{Pipeline, PipelineOptions};
use mqtt_inspect::report::{
    JsonLines, JsonReport, RenderOptions, Sink, Summary, TextOptions, TextReport,
};
use mqtt_inspect::tcp::TcpConfig;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

/// Exit code when `--fail-on` is reached.
const EXIT_FINDINGS: u8 = 1;
/// Exit code for bad usage or input that cannot be read at all.
const EXIT_UNREADABLE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Analyze(args) => analyze(args),
        Command::Live(_) | Command::Interfaces => {
            // Live capture (libpcap) is not part of this release; saved captures
            // and stdin cover it meanwhile.
            eprintln!(
                "mqtt-inspect: live capture is not available yet; capture with tcpdump and pipe it: tcpdump -i IFACE -U -w - port 1883 | mqtt-inspect analyze -"
            );
            ExitCode::from(EXIT_UNREADABLE)
        }
    }
}

fn analyze(args: AnalyzeArgs) -> ExitCode {
    let mut reader = match open_captures(&args.captures) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mqtt-inspect: {e}");
            return ExitCode::from(EXIT_UNREADABLE);
        }
    };
    // From a pipe (e.g. tcpdump -U -w -), show each line as soon as it is known.
    let streaming = args.captures.iter().any(|c| c == "-");
    match run(&args.common, &mut reader, streaming) {
        Ok(summary) => exit_for(&summary, args.common.fail_on, &args.common.fail_if),
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
fn pipeline_options(c: &CommonArgs) -> PipelineOptions {
    PipelineOptions {
        listed_connections: c.listed_connections,
        ports: c.port.clone(),
        detect: !c.no_detect,
        analysis: AnalysisConfig {
            ack_timeout: c.ack_timeout,
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
    }
}

/// Colour only on a terminal, never with NO_COLOR (https://no-color.org), unless forced.
fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stdout().is_terminal()
        }
    }
}

fn run(c: &CommonArgs, source: &mut dyn FrameSource, streaming: bool) -> anyhow::Result<Summary> {
    let render = RenderOptions {
        payload_bytes: c.payload_bytes,
        show_secrets: c.show_secrets,
    };
    let stdout = io::stdout();
    let out: Box<dyn Write> = if streaming {
        Box::new(io::LineWriter::new(stdout.lock()))
    } else {
        Box::new(io::BufWriter::with_capacity(1 << 16, stdout.lock()))
    };
    let mut sink: Box<dyn Sink> = match c.format {
        Format::Text => Box::new(TextReport::new(
            out,
            TextOptions {
                color: use_color(c.color),
                packets: c.packets,
            },
        )),
        Format::Json => Box::new(JsonReport::new(out)),
        Format::Jsonl => Box::new(JsonLines::new(out, render)),
    };
    let summary = Pipeline::new(pipeline_options(c))
        .run(source, sink.as_mut())
        .context("writing the report")?;
    io::stdout().flush().ok();
    Ok(summary)
}
