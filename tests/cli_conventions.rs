//! The conventions of a command-line tool, from the outside: `--version`
//! names the build, `--help` shows the common jobs, completions and man
//! pages are generated and well-formed, an option the chosen format
//! ignores is named on stderr, and a progress bar appears on a terminal's
//! stderr for long files only, never in a pipe or with JSON.

mod common;

use common::root;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("mqtt-inspect"));
    cmd.current_dir(root())
        .stdin(Stdio::null())
        .env_remove("CLICOLOR_FORCE")
        .env_remove("COLUMNS");
    cmd
}

fn run(args: &[&str]) -> Output {
    let out = bin().args(args).output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(args: &[&str]) -> String {
    String::from_utf8(run(args).stdout).unwrap()
}

fn stderr(args: &[&str]) -> String {
    String::from_utf8(run(args).stderr).unwrap()
}

const SAMPLE: &str = "samples/clients_many.pcap";

#[test]
fn version_names_the_release_the_revision_and_the_features() {
    let v = stdout(&["--version"]);
    let line = v.trim();
    assert!(
        line.starts_with(&format!("mqtt-inspect {} (", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    assert!(
        line.contains("(git ") || line.contains("(no git revision"),
        "{line}"
    );
    let features = if cfg!(feature = "live") {
        "features: live)"
    } else {
        "features: none)"
    };
    assert!(line.ends_with(features), "{line}");
    // Inside this repository the revision is HEAD's.
    if let Ok(git) = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root())
        .output()
        && git.status.success()
    {
        let head = String::from_utf8_lossy(&git.stdout).trim().to_string();
        assert!(
            line.contains(&format!("git {head}")),
            "{line} vs HEAD {head}"
        );
    }
}

#[test]
fn help_shows_the_common_jobs() {
    let help = stdout(&["--help"]);
    for job in [
        "Triage a capture",
        "CI gate",
        "--fail-on error",
        "Live watch",
        "Export JSON for jq",
        "tcpdump -i any -U -w - port 1883 | mqtt-inspect analyze --format jsonl -",
        "| jq",
    ] {
        assert!(help.contains(job), "no {job:?} in --help:\n{help}");
    }
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = stdout(&["completions", shell]);
        // fish spells long options `-l format`.
        for word in ["mqtt-inspect", "analyze", "live", "format", "fail-on"] {
            assert!(script.contains(word), "{shell}: no {word:?}");
        }
    }
    // The bash script is valid bash, where bash is at hand.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mqtt-inspect.bash");
    std::fs::write(&path, stdout(&["completions", "bash"])).unwrap();
    if let Ok(out) = Command::new("bash").arg("-n").arg(&path).output() {
        assert!(
            out.status.success(),
            "bash -n: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = bin().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bash"));
}

#[test]
fn man_pages_for_the_tool_and_each_command() {
    let top = stdout(&["man"]);
    assert!(
        top.starts_with(".ie") || top.contains(".TH mqtt-inspect 1"),
        "{top}"
    );
    assert!(top.contains(".TH mqtt-inspect 1"), "{top}");
    assert!(top.contains(env!("CARGO_PKG_VERSION")));
    assert!(
        top.contains("Triage a capture"),
        "the examples are in the page"
    );
    let analyze = stdout(&["man", "analyze"]);
    assert!(analyze.contains(".TH mqtt-inspect-analyze 1"), "{analyze}");
    assert!(analyze.contains("\\-\\-threads"), "{analyze}");
    // groff renders it without complaint, where groff is at hand.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mqtt-inspect-analyze.1");
    std::fs::write(&path, &analyze).unwrap();
    if let Ok(out) = Command::new("groff")
        .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
        .arg(&path)
        .output()
    {
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.is_empty(),
            "groff: {warnings}"
        );
    }
    let out = bin().args(["man", "nosuch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_option_the_format_ignores_is_named() {
    let err = stderr(&[
        "analyze",
        "--format",
        "json",
        "--packets",
        "--width",
        "90",
        SAMPLE,
    ]);
    assert!(
        err.contains("--packets does nothing with --format json"),
        "{err}"
    );
    assert!(
        err.contains("--width does nothing with --format json"),
        "{err}"
    );
    let err = stderr(&["analyze", "--show-secrets", "--payload-bytes", "8", SAMPLE]);
    assert!(
        err.contains("--show-secrets does nothing with --format text"),
        "{err}"
    );
    assert!(
        err.contains("--payload-bytes does nothing with --format text"),
        "{err}"
    );
    let err = stderr(&[
        "analyze",
        "--format",
        "json",
        "--stats-interval",
        "1s",
        SAMPLE,
    ]);
    assert!(
        err.contains("--stats-interval does nothing with --format json"),
        "{err}"
    );
    let err = stderr(&["analyze", "--format", "jsonl", "--threads", "2", SAMPLE]);
    assert!(err.contains("--threads 2 does nothing here"), "{err}");
}

#[test]
fn options_that_apply_are_not_named() {
    for args in [
        &[
            "analyze",
            "--packets",
            "--width",
            "90",
            "--color",
            "never",
            SAMPLE,
        ][..],
        &[
            "analyze",
            "--format",
            "jsonl",
            "--show-secrets",
            "--payload-bytes",
            "8",
            SAMPLE,
        ],
        &["analyze", "--format", "json", "--threads", "2", SAMPLE],
        &["analyze", "--format", "jsonl", "--threads", "1", SAMPLE],
        &["analyze", "--format", "json", SAMPLE],
    ] {
        let err = stderr(args);
        assert!(!err.contains("does nothing"), "{args:?}: {err}");
    }
}

/// A pcap of `frames` Ethernet frames of 16 KiB that are not IP: long on
/// disk, quick to read.
fn long_capture(path: &Path, frames: u32) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let len = 16 << 10;
    let mut frame = vec![0u8; len];
    frame[12] = 0x88; // a local experimental EtherType
    frame[13] = 0xb5;
    for i in 0..frames {
        out.extend_from_slice(&(1_700_000_000 + i).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    std::fs::write(path, out).unwrap();
}

#[cfg(unix)]
mod progress {
    use super::*;
    use common::pty::{OnTerminal, run as on_pty};

    /// stderr on a terminal: (what it showed, stdout).
    fn with_stderr_on_terminal(args: &[&str], capture: &Path) -> (String, String) {
        let mut cmd = bin();
        cmd.env("TERM", "xterm")
            .arg("analyze")
            .args(args)
            .arg(capture);
        let (seen, out) = on_pty(cmd, OnTerminal::Stderr, 100);
        assert!(out.status.success(), "{seen}");
        (seen, String::from_utf8(out.stdout).unwrap())
    }

    #[test]
    fn a_bar_for_long_files_on_a_terminal_only() {
        let dir = tempfile::tempdir().unwrap();
        let long = dir.path().join("long.pcap");
        long_capture(&long, 4_500); // 72 MiB
        let (seen, out) = with_stderr_on_terminal(&["--color", "never"], &long);
        assert!(seen.contains("reading"), "no bar on the terminal: {seen:?}");
        assert!(seen.contains("MiB"), "{seen:?}");
        assert!(
            out.starts_with("capture "),
            "stdout is the report alone: {out}"
        );
        assert!(!out.contains('\x1b'), "{out}");

        // Not for JSON, whose reader is a script.
        let (seen, _) = with_stderr_on_terminal(&["--format", "json"], &long);
        assert!(seen.is_empty(), "{seen:?}");
        // Not for a short file.
        let (seen, _) = with_stderr_on_terminal(&[], &root().join(SAMPLE));
        assert!(seen.is_empty(), "{seen:?}");
        // Not when stderr is a pipe.
        let out = bin().arg("analyze").arg(&long).output().unwrap();
        assert!(out.status.success());
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
