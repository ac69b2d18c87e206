//! When the text report is coloured: `--color always|never` wins, then
//! `NO_COLOR`, then `CLICOLOR_FORCE`; otherwise only a terminal whose
//! `TERM` is not `dumb` gets colour (anstream's rules, see `src/term.rs`).
//! The pipe cases run the binary as is (stdout is a pipe in tests); the
//! terminal cases put its stdout on a pseudo-terminal.

mod common;

use common::root;
use std::process::Command;

const SAMPLE: &str = "samples/faults/missing_ack_broker_killed.pcap";

/// The binary with none of the variables that decide colour or width set.
fn bin() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("mqtt-inspect"));
    cmd.current_dir(root());
    for var in [
        "NO_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "COLUMNS",
        "CI",
        "TERM",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn coloured(bytes: &[u8]) -> bool {
    bytes.contains(&0x1b)
}

/// stdout of `analyze SAMPLE` with `args` and `env`, through a pipe.
fn piped(args: &[&str], env: &[(&str, &str)]) -> Vec<u8> {
    let mut cmd = bin();
    cmd.arg("analyze")
        .args(args)
        .arg(SAMPLE)
        .envs(env.iter().copied());
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn a_pipe_gets_no_colour() {
    assert!(!coloured(&piped(&[], &[])));
    assert!(!coloured(&piped(&[], &[("TERM", "xterm-256color")])));
}

#[test]
fn clicolor_force_colours_a_pipe() {
    assert!(coloured(&piped(&[], &[("CLICOLOR_FORCE", "1")])));
    assert!(
        !coloured(&piped(&[], &[("CLICOLOR_FORCE", "")])),
        "an empty value is unset"
    );
}

#[test]
fn no_color_wins_over_clicolor_force() {
    assert!(!coloured(&piped(
        &[],
        &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]
    )));
    assert!(
        coloured(&piped(&[], &[("NO_COLOR", ""), ("CLICOLOR_FORCE", "1")])),
        "an empty NO_COLOR is unset (no-color.org)"
    );
}

#[test]
fn the_option_wins_over_the_environment() {
    assert!(coloured(&piped(
        &["--color", "always"],
        &[("NO_COLOR", "1")]
    )));
    assert!(coloured(&piped(
        &["--color", "always"],
        &[("TERM", "dumb")]
    )));
    assert!(!coloured(&piped(
        &["--color", "never"],
        &[("CLICOLOR_FORCE", "1")]
    )));
}

#[test]
fn json_is_never_coloured() {
    let out = piped(&["--format", "json"], &[("CLICOLOR_FORCE", "1")]);
    assert!(!coloured(&out));
    serde_json::from_slice::<serde_json::Value>(&out).expect("plain JSON");
}

#[cfg(unix)]
mod on_a_terminal {
    use super::*;
    use common::pty::{OnTerminal, run};

    fn on_terminal(args: &[&str], env: &[(&str, &str)], cols: u16) -> String {
        let mut cmd = bin();
        cmd.arg("analyze")
            .args(args)
            .arg(SAMPLE)
            .envs(env.iter().copied());
        let (seen, out) = run(cmd, OnTerminal::Stdout, cols);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        seen
    }

    #[test]
    fn a_terminal_gets_colour() {
        let seen = on_terminal(&[], &[("TERM", "xterm-256color")], 100);
        assert!(seen.contains('\x1b'), "{seen}");
        assert!(seen.contains("missing_ack"), "{seen}");
    }

    #[test]
    fn term_dumb_gets_none() {
        let seen = on_terminal(&[], &[("TERM", "dumb")], 100);
        assert!(!seen.contains('\x1b'), "{seen}");
        assert!(seen.contains("missing_ack"), "{seen}");
        let unset = on_terminal(&[], &[], 100);
        assert!(!unset.contains('\x1b'), "no TERM at all: {unset}");
    }

    #[test]
    fn no_color_on_a_terminal() {
        let seen = on_terminal(&[], &[("TERM", "xterm"), ("NO_COLOR", "1")], 100);
        assert!(!seen.contains('\x1b'), "{seen}");
    }

    #[test]
    fn the_summary_takes_the_terminals_width() {
        let seen = on_terminal(&["--color", "never"], &[("TERM", "xterm")], 93);
        let at_93 = String::from_utf8(piped(&["--color", "never", "--width", "93"], &[])).unwrap();
        assert_eq!(seen, at_93);
        assert!(seen.lines().all(|l| l.chars().count() <= 93));
        assert!(seen.lines().any(|l| l.chars().count() > 80), "{seen}");
        let columns = on_terminal(
            &["--color", "never"],
            &[("TERM", "xterm"), ("COLUMNS", "120")],
            93,
        );
        let at_120 =
            String::from_utf8(piped(&["--color", "never", "--width", "120"], &[])).unwrap();
        assert_eq!(columns, at_120, "COLUMNS over the terminal's own width");
    }
}
