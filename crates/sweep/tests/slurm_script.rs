//! The sbatch script of the Slurm backend (no Slurm needed; tests/run_slurm.rs in the CLI
//! crate submits it to a real one).

use std::path::{Path, PathBuf};

use clipbench_sweep::local::WorkerCommand;
use clipbench_sweep::slurm::{script, SlurmOptions};
use clipbench_sweep::RunPlan;

#[test]
fn the_script_has_the_array_options_and_reads_its_run_list(
) -> Result<(), Box<dyn std::error::Error>> {
    let plan = RunPlan::from_text(
        Path::new("s.toml"),
        "dataset = \"synthetic\"\nstrategies = [\"none\", \"pact\"]\nseeds = [1, 2, 3]\nepochs = 1\nthreads = 2\n[optimizer]\nkind = \"adam\"\nlr = 0.001\n",
        Path::new("/r"),
    )?;
    let opts = SlurmOptions {
        partition: Some("gpu".into()),
        time: Some("01:00:00".into()),
        cpus_per_task: None,
        throttle: Some(3),
        extra: vec!["--mem=4G".into(), "#SBATCH --qos=long".into()],
        worker: WorkerCommand {
            program: PathBuf::from("/opt/it's/clipbench"),
            args: vec!["run-worker".into()],
        },
        data_dir: PathBuf::from("/data"),
        sbatch: "sbatch".into(),
        squeue: "squeue".into(),
    };
    let s = script(&plan, &opts, Path::new("/r/s/slurm/0001"), plan.runs.len())?;
    for want in [
        "#!/bin/bash\n",
        "#SBATCH --job-name=clipbench-s\n",
        "#SBATCH --array=0-5%3\n",
        "#SBATCH --cpus-per-task=2\n",
        "#SBATCH --output=/r/s/slurm/0001/logs/%A_%a.log\n",
        "#SBATCH --partition=gpu\n",
        "#SBATCH --time=01:00:00\n",
        "#SBATCH --mem=4G\n",
        "#SBATCH --qos=long\n",
        "sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" '/r/s/slurm/0001/runs.tsv'",
        "exec '/opt/it'\\''s/clipbench' 'run-worker' --config \"$config\" --out \"$out\" --data-dir '/data'\n",
    ] {
        assert!(s.contains(want), "{want:?} not in\n{s}");
    }
    // All #SBATCH lines come before the first command (sbatch stops reading them there).
    let first_cmd = s.lines().position(|l| l.starts_with("set ")).unwrap_or(0);
    assert!(s.lines().skip(first_cmd).all(|l| !l.starts_with("#SBATCH")));
    Ok(())
}
