//! `mqtt-inspect merge`: reads the summaries, merges them (the library's
//! [`mqtt_inspect::merge`]) and prints one summary as `analyze --format
//! json` does.

use anyhow::{Context, bail};
use mqtt_inspect::cli::MergeArgs;
use mqtt_inspect::merge::{MergeLimits, is_summary, merge};
use serde_json::Value;
use std::io::{self, Read, Write};
use std::process::ExitCode;

/// Exit code for input that cannot be read or merged.
const EXIT_UNREADABLE: u8 = 2;

pub fn run(args: &MergeArgs) -> ExitCode {
    match merged(args) {
        Ok(v) => {
            let mut out = io::stdout().lock();
            let written = serde_json::to_writer_pretty(&mut out, &v)
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out))
                .and_then(|()| out.flush());
            match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("mqtt-inspect: writing the summary: {e}");
                    ExitCode::from(EXIT_UNREADABLE)
                }
            }
        }
        Err(e) => {
            eprintln!("mqtt-inspect: {e:#}");
            ExitCode::from(EXIT_UNREADABLE)
        }
    }
}

fn merged(args: &MergeArgs) -> anyhow::Result<Value> {
    let mut parts = Vec::new();
    for name in &args.summaries {
        let text = if name == "-" {
            let mut s = String::new();
            io::stdin()
                .lock()
                .read_to_string(&mut s)
                .context("reading stdin")?;
            s
        } else {
            std::fs::read_to_string(name).with_context(|| format!("reading {name}"))?
        };
        let before = parts.len();
        for v in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
            let v = v.with_context(|| format!("{name}: not JSON"))?;
            if is_summary(&v) {
                parts.push(v);
            }
        }
        if parts.len() == before {
            bail!("{name}: no summary in it (write them with analyze --format json)");
        }
    }
    let limits = MergeLimits {
        connections: args.connections,
        findings: args.max_findings,
        warnings: MergeLimits::default().warnings,
        top: args.top,
    };
    Ok(merge(&parts, limits)?)
}
