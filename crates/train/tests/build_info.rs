//! The manifest's code revision is the binary's, baked in at build time (build.rs), and its
//! dirty flag covers the source tree only: results written beside it do not count.

use std::path::Path;
use std::process::Command;

use clipbench_train::manifest::MachineInfo;

fn git(args: &[&str]) -> Option<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

#[test]
fn the_baked_revision_is_the_checkouts_and_dirty_means_source_changes() {
    let (rev, dirty) = MachineInfo::git();
    let Some(head) = git(&["rev-parse", "HEAD"]) else {
        eprintln!("not built from a git checkout (or no git): nothing to compare");
        assert_eq!(rev, None);
        return;
    };
    // build.rs reruns whenever HEAD, the index or a source file changes, so the test binary
    // was built from exactly this state.
    assert_eq!(rev.as_deref(), Some(head.as_str()));
    let status = git(&[
        "status",
        "--porcelain",
        "--",
        "crates",
        "benches",
        "Cargo.toml",
        "Cargo.lock",
    ]);
    assert_eq!(dirty, status.map(|s| !s.is_empty()));
}
