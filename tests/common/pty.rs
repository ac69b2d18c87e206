//! Running the binary with stdout or stderr on a pseudo-terminal, the way
//! a person runs it, to test what only a terminal gets (colour, the
//! terminal's width, a progress bar).
#![cfg(unix)]

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Output, Stdio};

/// Which of the child's streams goes to the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTerminal {
    Stdout,
    Stderr,
}

/// A new pseudo-terminal `cols` columns wide: (master, slave).
fn open(cols: u16) -> (File, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize {
        ws_row: 40,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors into the given ints; the
    // name and termios arguments may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // openpty's descriptors are inherited by every child: a test running
    // beside this one would keep the terminal open with its own child.
    for fd in [master, slave] {
        // SAFETY: fcntl on descriptors this function owns.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: both descriptors are new and owned by nobody else.
    unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// Runs `cmd` with one stream on a terminal `cols` wide and the other on a
/// pipe: (what the terminal showed, with `\r\n` as `\n`; the process's
/// output, whose other stream is filled in).
pub fn run(mut cmd: Command, on: OnTerminal, cols: u16) -> (String, Output) {
    let (mut master, slave) = open(cols);
    let tty = Stdio::from(slave.try_clone().expect("dup"));
    match on {
        OnTerminal::Stdout => cmd.stdout(tty).stderr(Stdio::piped()),
        OnTerminal::Stderr => cmd.stderr(tty).stdout(Stdio::piped()),
    };
    cmd.stdin(Stdio::null());
    let child = cmd.spawn().expect("spawn");
    // Only the child holds the terminal now (the Command keeps its copy of
    // the descriptor until dropped), so the master reads EIO once it exits.
    drop(cmd);
    drop(slave);
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match master.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
                // EIO: every descriptor of the terminal's other end is closed.
                Err(_) => break,
            }
        }
        seen
    });
    let out = child.wait_with_output().expect("wait");
    let seen = reader.join().expect("reader");
    let text = String::from_utf8_lossy(&seen).replace("\r\n", "\n");
    (text, out)
}
