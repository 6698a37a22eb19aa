//! `clipbench run` on malformed study files and arguments: every case exits non-zero with a
//! message that names the problem (and, for files, where it is), and never panics.

use std::path::Path;
use std::process::Command;

type Res = Result<(), Box<dyn std::error::Error>>;

/// A valid tiny study; cases edit it.
const GOOD: &str = r#"dataset = "synthetic"
strategies = ["none", "tanh-learnable"]
seeds = [1, 2]
epochs = 1
batch_size = 32
train_limit = 64
test_limit = 32

[model]
input = [3, 32, 32]

[optimizer]
kind = "adam"
lr = 1e-3
"#;

fn edit(from: &str, to: &str) -> Vec<u8> {
    assert!(GOOD.contains(from), "{from:?} is not in the base study");
    GOOD.replacen(from, to, 1).into_bytes()
}

fn add(extra: &str) -> Vec<u8> {
    format!("{GOOD}{extra}").into_bytes()
}

/// (case, file content, what stderr must contain — all of them).
fn file_cases() -> Vec<(&'static str, Vec<u8>, Vec<&'static str>)> {
    vec![
        ("empty file", Vec::new(), vec!["missing field `dataset`"]),
        (
            "truncated file",
            GOOD.as_bytes()[..GOOD.find("kind = \"ad").unwrap_or(0) + 10].to_vec(),
            vec!["study.toml:13:", "invalid"],
        ),
        (
            "truncated in a table header",
            b"dataset = \"synthetic\"\n[optimi".to_vec(),
            vec!["study.toml:2:", "expected `]`"],
        ),
        (
            "non-UTF-8",
            {
                let mut b = GOOD.as_bytes().to_vec();
                b.extend_from_slice(b"# caf\xe9\n");
                b
            },
            vec!["study.toml:15:6: not valid UTF-8"],
        ),
        (
            "binary garbage",
            vec![0u8, 159, 146, 150, 0, 1],
            vec!["not valid UTF-8"],
        ),
        (
            "unknown top-level key",
            edit("epochs = 1", "epochs = 1\nepoch = 3"),
            vec!["unknown field `epoch`", "epochs"],
        ),
        (
            "unknown optimizer key",
            edit("lr = 1e-3", "lrr = 1e-3"),
            vec!["unknown field `lrr`"],
        ),
        (
            "unknown model key",
            edit("input = [3, 32, 32]", "input = [3, 32, 32]\ndepth = 3"),
            vec!["study.toml:11:", "unknown field `depth`"],
        ),
        (
            "strategy in [model.clip]",
            add("[model.clip]\nstrategy = \"pact\"\n"),
            vec!["unknown field `strategy`", "theta0"],
        ),
        (
            "epochs of the wrong type",
            edit("epochs = 1", "epochs = \"two\""),
            vec!["study.toml:4:10: epochs:", "expected u32"],
        ),
        (
            "epochs = 0",
            edit("epochs = 1", "epochs = 0"),
            vec!["study.toml:4:10: epochs: expected >= 1, got 0"],
        ),
        (
            "negative epochs",
            edit("epochs = 1", "epochs = -3"),
            vec!["study.toml:4:", "epochs", "-3"],
        ),
        (
            "lr = 0",
            edit("lr = 1e-3", "lr = 0.0"),
            vec!["study.toml:14:6: optimizer.lr: expected a finite value > 0, got 0"],
        ),
        (
            "negative lr",
            edit("lr = 1e-3", "lr = -0.1"),
            vec!["optimizer.lr: expected a finite value > 0, got -0.1"],
        ),
        (
            "lr of the wrong type",
            edit("lr = 1e-3", "lr = \"fast\""),
            vec!["study.toml:14:6: optimizer.lr: invalid type: string \"fast\""],
        ),
        (
            "infinite lr",
            edit("lr = 1e-3", "lr = inf"),
            vec!["optimizer.lr: expected a finite value > 0, got inf"],
        ),
        (
            "unknown data set",
            edit("\"synthetic\"", "\"imagenet\""),
            vec!["study.toml:1:11: dataset:", "imagenet", "fashion-mnist"],
        ),
        (
            "misspelled strategy",
            edit("\"tanh-learnable\"", "\"tanh-learnabel\""),
            vec![
                "study.toml:2:23: strategies[1]:",
                "unknown clipping strategy \"tanh-learnabel\"",
                "none, hard-clamp, tanh-fixed, tanh-learnable, softplus-learnable, pact, seed-softplus",
            ],
        ),
        (
            "misspelled strategy in a table entry",
            edit("\"tanh-learnable\"", "{ name = \"PACT\", theta0 = [10.0, 10.0] }"),
            vec!["unknown clipping strategy \"PACT\"", "seed-softplus"],
        ),
        (
            "unknown key in a strategy entry",
            edit("\"tanh-learnable\"", "{ name = \"pact\", alpha = 10.0 }"),
            vec!["unknown field `alpha`"],
        ),
        (
            "strategy of the wrong type",
            edit("\"tanh-learnable\"", "7"),
            vec!["strategies[1]", "a strategy name"],
        ),
        (
            "duplicate strategies",
            edit("\"tanh-learnable\"", "\"none\""),
            vec!["study.toml:2:23: strategies[1]: duplicate strategy none"],
        ),
        (
            "empty strategies",
            edit("[\"none\", \"tanh-learnable\"]", "[]"),
            vec!["strategies: empty list", "tanh-learnable"],
        ),
        (
            "empty seeds",
            edit("seeds = [1, 2]", "seeds = []"),
            vec!["study.toml:3:9: seeds: empty list"],
        ),
        (
            "duplicate seeds",
            edit("seeds = [1, 2]", "seeds = [1, 1]"),
            vec!["seeds[1]: duplicate seed 1"],
        ),
        (
            "negative seed",
            edit("seeds = [1, 2]", "seeds = [-1]"),
            vec!["study.toml:3:", "seeds", "-1"],
        ),
        (
            "empty grid",
            add("[grid]\n\"optimizer.lr\" = []\n"),
            vec!["study.toml:16:18: grid.\"optimizer.lr\": empty list"],
        ),
        (
            "grid over an unknown key",
            add("[grid]\n\"optimizer.lrr\" = [0.1]\n"),
            vec!["unknown setting `optimizer.lrr`", "optimizer.lr"],
        ),
        (
            "grid over a non-numeric key",
            add("[grid]\n\"optimizer.kind\" = [1]\n"),
            vec!["`optimizer.kind` is not a numeric setting"],
        ),
        (
            "grid over seed",
            add("[grid]\nseed = [1, 2]\n"),
            vec!["grid.seed", "list the seeds in `seeds`"],
        ),
        (
            "grid value of the wrong type",
            add("[grid]\n\"optimizer.lr\" = [0.1, \"big\"]\n"),
            vec!["grid.\"optimizer.lr\"[1]", "expected a finite number"],
        ),
        (
            "zero lr in a grid",
            add("[grid]\n\"optimizer.lr\" = [0.1, 0.0]\n"),
            vec![
                "study.toml:16:24: grid.\"optimizer.lr\"[1]",
                "expected a finite value > 0, got 0",
            ],
        ),
        (
            "duplicate grid values",
            add("[grid]\n\"optimizer.lr\" = [0.1, 0.1]\n"),
            vec!["grid.\"optimizer.lr\"[1]: duplicate value"],
        ),
        (
            "fractional epochs in a grid",
            add("[grid]\nepochs = [1, 2.5]\n"),
            vec!["grid.epochs[1]", "expected u32"],
        ),
        (
            "theta0 of the wrong length in a grid",
            add("[grid]\n\"model.clip.theta0\" = [[1.0]]\n"),
            vec!["expected a list of 2 finite numbers"],
        ),
        (
            "negative theta0",
            add("[model.clip]\ntheta0 = [-1.0, 2.0]\n"),
            vec!["model.clip.theta0", "θ0 = -1 of clip layer 1", "expected a finite value > θ_min"],
        ),
        (
            "theta0 with one value",
            add("[model.clip]\ntheta0 = [1.0]\n"),
            vec!["theta0", "invalid length 1"],
        ),
        (
            "beta = 0",
            add("[model.clip]\nbeta = 0.0\n"),
            vec!["model.clip.beta", "β = 0"],
        ),
        (
            "strategy entry and grid both set theta0",
            {
                let mut b = edit("\"tanh-learnable\"", "{ name = \"pact\", theta0 = [10.0, 10.0] }");
                b.extend_from_slice(b"[grid]\n\"model.clip.theta0\" = [[1.0, 2.0]]\n");
                b
            },
            vec!["strategies[1].theta0", "keep one"],
        ),
        (
            "unknown optimizer kind",
            edit("kind = \"adam\"", "kind = \"adamw\""),
            vec!["adamw", "sgd"],
        ),
        (
            "missing optimizer",
            GOOD.replace("[optimizer]\nkind = \"adam\"\nlr = 1e-3\n", "").into_bytes(),
            vec!["missing field `optimizer`"],
        ),
        (
            "step schedule without its settings",
            add("[schedule]\nkind = \"step\"\n"),
            vec!["schedule", "missing field `every_epochs`"],
        ),
        (
            "input shape that the data set does not have",
            edit("\"synthetic\"", "\"fashion-mnist\""),
            vec!["study.toml:10:9: model.input", "fashion-mnist has images of shape [1, 28, 28]"],
        ),
        (
            "batch_size = 0",
            edit("batch_size = 32", "batch_size = 0"),
            vec!["study.toml:5:14: batch_size: expected >= 1, got 0"],
        ),
        (
            "threads = 0",
            edit("epochs = 1", "epochs = 1\nthreads = 0"),
            vec!["threads: expected 1 to 256, got 0"],
        ),
        (
            "train_limit = 0",
            edit("train_limit = 64", "train_limit = 0"),
            vec!["train_limit", "expected >= 1 when given"],
        ),
        (
            "duplicate key",
            edit("epochs = 1", "epochs = 1\nepochs = 2"),
            vec!["study.toml:5:", "duplicate key"],
        ),
        (
            "study name that is not a directory name",
            format!("name = \"../escape\"\n{GOOD}").into_bytes(),
            vec!["study.toml:1:8: name: expected letters, digits"],
        ),
    ]
}

fn clipbench(args: &[&std::ffi::OsStr], cwd: &Path) -> std::io::Result<std::process::Output> {
    Command::new(env!("CARGO_BIN_EXE_clipbench"))
        .args(args)
        .current_dir(cwd)
        .env("CLIPBENCH_DATA_DIR", cwd.join("no-data"))
        .output()
}

fn check(case: &str, out: &std::process::Output, want: &[&str]) -> Vec<String> {
    let err = String::from_utf8_lossy(&out.stderr);
    let mut bad = Vec::new();
    if out.status.success() {
        bad.push(format!("{case}: exited 0"));
    }
    if err.contains("panicked") || out.status.code() == Some(101) {
        bad.push(format!("{case}: panicked: {err}"));
    }
    for w in want {
        if !err.contains(w) {
            bad.push(format!("{case}: stderr lacks {w:?}:\n{err}"));
        }
    }
    bad
}

#[test]
fn the_base_study_is_valid() -> Res {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("study.toml"), GOOD)?;
    let out = clipbench(
        &["run".as_ref(), "study.toml".as_ref(), "--dry-run".as_ref()],
        dir.path(),
    )?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);
    Ok(())
}

#[test]
fn malformed_study_files_are_refused_with_located_messages() -> Res {
    let dir = tempfile::tempdir()?;
    let cases = file_cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut bad = Vec::new();
    for (case, bytes, want) in &cases {
        std::fs::write(dir.path().join("study.toml"), bytes)?;
        for dry in [true, false] {
            let mut args: Vec<&std::ffi::OsStr> = vec!["run".as_ref(), "study.toml".as_ref()];
            if dry {
                args.push("--dry-run".as_ref());
            }
            let out = clipbench(&args, dir.path())?;
            bad.extend(check(case, &out, want));
        }
        // Nothing was planned or trained.
        assert!(
            !dir.path().join("results").exists(),
            "{case}: wrote results"
        );
    }
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
    Ok(())
}

#[test]
fn bad_arguments_are_refused() -> Res {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("study.toml"), GOOD)?;
    std::fs::create_dir(dir.path().join("a-directory.toml"))?;
    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        ("no study", vec!["run"], vec!["<STUDY>"]),
        (
            "missing file",
            vec!["run", "nope.toml"],
            vec!["nope.toml", "No such file"],
        ),
        (
            "a directory",
            vec!["run", "a-directory.toml"],
            vec!["a-directory.toml", "directory"],
        ),
        (
            "zero jobs",
            vec!["run", "study.toml", "--jobs", "0"],
            vec!["--jobs", "0"],
        ),
        (
            "negative jobs",
            vec!["run", "study.toml", "--jobs", "-2"],
            vec!["-2"],
        ),
        (
            "unknown backend",
            vec!["run", "study.toml", "--backend", "gpu"],
            vec!["gpu", "local", "slurm"],
        ),
        (
            "--wait without slurm",
            vec!["run", "study.toml", "--wait"],
            vec!["need --backend slurm"],
        ),
        (
            "--partition without slurm",
            vec!["run", "study.toml", "--partition", "gpu"],
            vec!["need --backend slurm"],
        ),
        (
            "--jobs with slurm",
            vec!["run", "study.toml", "--backend", "slurm", "--jobs", "2"],
            vec!["--array-throttle"],
        ),
        (
            "zero poll interval",
            vec!["run", "study.toml", "--backend", "slurm", "--poll-s", "0"],
            vec!["--poll-s"],
        ),
        (
            "zero array throttle",
            vec![
                "run",
                "study.toml",
                "--backend",
                "slurm",
                "--array-throttle",
                "0",
            ],
            vec!["--array-throttle", "0"],
        ),
        (
            "unknown flag",
            vec!["run", "study.toml", "--resume-not"],
            vec!["--resume-not"],
        ),
    ];
    let mut bad = Vec::new();
    for (case, args, want) in &cases {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        let out = clipbench(&args, dir.path())?;
        bad.extend(check(case, &out, want));
    }
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
    Ok(())
}

#[test]
fn a_missing_data_set_is_reported_before_anything_runs() -> Res {
    let dir = tempfile::tempdir()?;
    let text = GOOD
        .replace("\"synthetic\"", "\"fashion-mnist\"")
        .replace("input = [3, 32, 32]", "input = [1, 28, 28]");
    std::fs::write(dir.path().join("study.toml"), text)?;
    let out = clipbench(&["run".as_ref(), "study.toml".as_ref()], dir.path())?;
    let bad = check(
        "missing data",
        &out,
        &[
            "data set fashion-mnist",
            "clipbench data fetch fashion-mnist",
        ],
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(!dir.path().join("results/study/runs").exists());
    Ok(())
}

#[test]
fn a_missing_file_and_a_non_study_directory_say_so_once() -> Res {
    let dir = tempfile::tempdir()?;
    let out = clipbench(
        &["run".as_ref(), "absent.toml".as_ref(), "--dry-run".as_ref()],
        dir.path(),
    )?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("absent.toml"), "{err}");
    assert_eq!(err.matches("(os error 2)").count(), 1, "{err}");
    let out = clipbench(&["report".as_ref(), dir.path().as_os_str()], dir.path())?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    if cfg!(feature = "analysis") {
        assert!(
            err.contains("not a study directory") && err.contains("runs/<run-id>/"),
            "{err}"
        );
    } else {
        // The lean build keeps the command's name and says why it cannot run it.
        assert!(
            err.contains("clipbench report") && err.contains("without the `analysis` feature"),
            "{err}"
        );
    }
    // --help lists the analysis commands only where they work.
    let help = clipbench(&["--help".as_ref()], dir.path())?;
    let help = String::from_utf8_lossy(&help.stdout);
    for cmd in ["aggregate", "plot", "report", "compare"] {
        let listed = help.lines().any(|l| l.trim_start().starts_with(cmd));
        assert_eq!(
            listed,
            cfg!(feature = "analysis"),
            "{cmd} in --help:\n{help}"
        );
    }
    assert!(
        help.lines().any(|l| l.trim_start().starts_with("train")),
        "{help}"
    );
    Ok(())
}
