//! Gives the binary the git revision it was built from, for `--version`
//! (a bug report then names the exact code). Outside a git checkout (a
//! crate unpacked from a registry) there is none and `--version` says so.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let revision = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(rev) => format!("git {rev}"),
        None => "no git revision".to_string(),
    };
    println!("cargo:rustc-env=MQTT_INSPECT_REVISION={revision}");
    // Rebuild when HEAD moves: HEAD itself (a checkout), the branch it
    // names and packed-refs (a commit). In a worktree HEAD lives in the
    // worktree's git dir and the branches in the common one.
    if let (Some(dir), Some(common)) = (
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ) {
        let (dir, common) = (PathBuf::from(dir), PathBuf::from(common));
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        println!(
            "cargo:rerun-if-changed={}",
            common.join("packed-refs").display()
        );
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", common.join(branch).display());
        }
    }
}

/// One line of git's output, or `None` when git or the checkout is missing.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let line = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!line.is_empty()).then_some(line)
}
