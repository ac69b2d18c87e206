//! What the output goes to: the width the text summary is laid out for,
//! whether it is coloured, whether stderr may show a progress bar.
//!
//! The colour rules are anstream's (the same as cargo's and clap's):
//! `--color always|never` wins; for `auto`, a non-empty `NO_COLOR` turns
//! colour off, then a non-empty `CLICOLOR_FORCE` turns it on, then
//! `CLICOLOR=0` turns it off, and otherwise stdout must be a terminal
//! whose `TERM` is set and not `dumb` (or `CLICOLOR` is set, or `CI` is).

use crate::cli::ColorChoice;
use crate::report::{MIN_WIDTH, PIPE_WIDTH};
use std::io::{self, IsTerminal};

/// The text summary's width: `--width`, else `COLUMNS`, else the width of
/// the terminal stdout is, else [`PIPE_WIDTH`]; never below [`MIN_WIDTH`].
pub fn report_width(forced: Option<usize>) -> usize {
    forced
        .or_else(columns_env)
        .or_else(|| terminal_size::terminal_size_of(io::stdout()).map(|(w, _)| usize::from(w.0)))
        .unwrap_or(PIPE_WIDTH)
        .max(MIN_WIDTH)
}

/// `COLUMNS` as a number of columns (ignored when it is not one).
fn columns_env() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()?
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
}

/// Whether text on stdout is coloured (module docs for the rules).
pub fn stdout_color(choice: ColorChoice) -> bool {
    let choice = match choice {
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
        ColorChoice::Auto => anstream::ColorChoice::Auto,
    };
    let decided = match choice {
        anstream::ColorChoice::Auto => anstream::AutoStream::choice(&io::stdout()),
        other => other,
    };
    decided != anstream::ColorChoice::Never
}

/// Whether stderr is a terminal a person watches (a progress bar or a
/// status line may be drawn there).
pub fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}

/// Whether stdout is a terminal.
pub fn stdout_is_terminal() -> bool {
    io::stdout().is_terminal()
}
