//! Running the built `clipbench` binary from an integration test.

use std::path::Path;
use std::process::Command;

/// Runs `clipbench ARGS` in `dir` and fails the test, with both outputs, unless it succeeds.
pub fn clipbench(dir: &Path, args: &[&str]) -> Result<(), Box<dyn std::error::Error>> {
    let out = Command::new(env!("CARGO_BIN_EXE_clipbench"))
        .args(args)
        .current_dir(dir)
        .output()?;
    assert!(
        out.status.success(),
        "clipbench {args:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
