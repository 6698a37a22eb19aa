//! Bakes into the binary what run manifests say about the code that made them: the compiler
//! version, the git revision of the source tree and whether that tree had uncommitted
//! changes. Read at build time, not at run time: a binary run from another directory (or
//! after `git checkout`) must still name its own revision, and results written under
//! results/ must not make the code look modified.
use std::path::Path;
use std::process::Command;

fn output(cmd: &mut Command) -> Option<String> {
    cmd.output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// The files whose changes change the binary (what `git_dirty` is about).
const SOURCE_PATHS: [&str; 4] = ["crates", "benches", "Cargo.toml", "Cargo.lock"];

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let v = output(Command::new(rustc).arg("--version")).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CLIPBENCH_RUSTC_VERSION={v}");
    println!("cargo:rerun-if-changed=build.rs");

    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let root = Path::new(&manifest).join("../..");
    let git = |args: &[&str]| output(Command::new("git").arg("-C").arg(&root).args(args));
    let rev = git(&["rev-parse", "HEAD"]);
    let dirty = rev.as_ref().and_then(|_| {
        let mut args = vec!["status", "--porcelain", "--"];
        args.extend(SOURCE_PATHS);
        git(&args).map(|s| !s.is_empty())
    });
    println!(
        "cargo:rustc-env=CLIPBENCH_GIT_REVISION={}",
        rev.as_deref().unwrap_or("")
    );
    println!(
        "cargo:rustc-env=CLIPBENCH_GIT_DIRTY={}",
        dirty.map_or("", |d| if d { "true" } else { "false" })
    );
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        // A commit moves HEAD or a ref and rewrites the index; an edit changes a source file.
        for f in ["HEAD", "index", "packed-refs", "refs"] {
            println!("cargo:rerun-if-changed={git_dir}/{f}");
        }
        for p in SOURCE_PATHS {
            println!("cargo:rerun-if-changed={}", root.join(p).display());
        }
    }
}
