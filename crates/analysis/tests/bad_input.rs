//! Bad input gives a clear error naming the file (and line), never a panic; incomplete runs
//! are skipped and reported.

mod common;

use clipbench_analysis::{Analysis, AnalysisError, Options};
use common::*;

fn first_run(root: &std::path::Path, strategy: &str) -> std::path::PathBuf {
    let mut dirs: Vec<_> = std::fs::read_dir(root.join("runs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{strategy}-s")))
        })
        .collect();
    dirs.sort();
    dirs.remove(0)
}

#[test]
fn missing_summary_is_skipped_and_reported() -> TestResult {
    let (_tmp, root) = copy_fixture("tiny")?;
    let run = first_run(&root, "pact");
    std::fs::remove_file(run.join("summary.json"))?;
    let a = Analysis::load(&root, &Options::default())?;
    assert_eq!(a.study.runs.len(), 14);
    assert_eq!(a.study.skipped.len(), 1);
    assert_eq!(a.study.skipped[0].dir, run);
    assert!(a.study.skipped[0].reason.contains("no summary.json"));
    let tables = a.write_tables()?;
    let report = std::fs::read_to_string(a.write_report(&tables, &[])?.markdown)?;
    assert!(report.contains(&run.display().to_string()), "{report}");
    let pact = a
        .agg
        .groups
        .iter()
        .find(|g| g.strategy == "pact")
        .ok_or("pact")?;
    assert_eq!(pact.n_runs, 2);
    Ok(())
}

#[test]
fn unparseable_summary_counts_as_incomplete() -> TestResult {
    let (_tmp, root) = copy_fixture("tiny")?;
    let run = first_run(&root, "none");
    std::fs::write(run.join("summary.json"), "{\"schema_version\": 1, \"run_")?;
    let a = Analysis::load(&root, &Options::default())?;
    assert_eq!(a.study.skipped.len(), 1);
    assert!(
        a.study.skipped[0].reason.contains("summary.json"),
        "{}",
        a.study.skipped[0].reason
    );
    Ok(())
}

#[test]
fn no_complete_run_is_an_error_naming_the_directory() -> TestResult {
    let (_tmp, root) = copy_fixture("lr")?;
    for e in std::fs::read_dir(root.join("runs"))? {
        std::fs::remove_file(e?.path().join("summary.json"))?;
    }
    let err = Analysis::load(&root, &Options::default()).expect_err("no runs");
    assert!(matches!(err, AnalysisError::NoRuns { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains(&root.join("runs").display().to_string()) && msg.contains("no summary.json"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn corrupt_jsonl_line_names_file_and_line() -> TestResult {
    let (_tmp, root) = copy_fixture("tiny")?;
    let run = first_run(&root, "tanh-learnable");
    let path = run.join("metrics.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(&path)?
        .lines()
        .map(String::from)
        .collect();
    lines[2] = lines[2][..lines[2].len() / 2].to_string(); // a truncated record on line 3
    std::fs::write(&path, lines.join("\n") + "\n")?;
    let err = Analysis::load(&root, &Options::default()).expect_err("corrupt line");
    let msg = err.to_string();
    assert!(
        matches!(err, AnalysisError::JsonLine { line: 3, .. }),
        "{msg}"
    );
    assert!(msg.contains(&format!("{}:3:", path.display())), "{msg}");
    Ok(())
}

#[test]
fn wrongly_typed_jsonl_value_names_file_and_line() -> TestResult {
    let (_tmp, root) = copy_fixture("tiny")?;
    let run = first_run(&root, "none");
    let path = run.join("metrics.jsonl");
    let text = std::fs::read_to_string(&path)?;
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[1] = lines[1].replacen("\"loss\":", "\"loss\":\"oops\",\"x\":", 1);
    std::fs::write(&path, lines.join("\n") + "\n")?;
    let msg = Analysis::load(&root, &Options::default())
        .expect_err("bad type")
        .to_string();
    assert!(msg.contains(&format!("{}:2:", path.display())), "{msg}");
    Ok(())
}

#[test]
fn unknown_schema_version_is_an_error_naming_the_file() -> TestResult {
    let (_tmp, root) = copy_fixture("tiny")?;
    let run = first_run(&root, "hard-clamp");
    let path = run.join("summary.json");
    let text =
        std::fs::read_to_string(&path)?.replace("\"schema_version\": 1", "\"schema_version\": 7");
    std::fs::write(&path, text)?;
    let err = Analysis::load(&root, &Options::default()).expect_err("schema 7");
    let msg = err.to_string();
    assert!(
        matches!(err, AnalysisError::Schema { found: 7, .. }),
        "{msg}"
    );
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("schema_version 7"),
        "{msg}"
    );

    let (_tmp2, root2) = copy_fixture("tiny")?;
    let m = first_run(&root2, "pact").join("manifest.json");
    let text =
        std::fs::read_to_string(&m)?.replace("\"schema_version\": 1", "\"schema_version\": 3");
    std::fs::write(&m, text)?;
    let msg = Analysis::load(&root2, &Options::default())
        .expect_err("manifest 3")
        .to_string();
    assert!(msg.contains(&m.display().to_string()), "{msg}");
    Ok(())
}

#[test]
fn missing_manifest_or_metrics_of_a_complete_run_is_an_error() -> TestResult {
    let (_tmp, root) = copy_fixture("tiny")?;
    let m = first_run(&root, "pact").join("manifest.json");
    std::fs::remove_file(&m)?;
    let msg = Analysis::load(&root, &Options::default())
        .expect_err("manifest")
        .to_string();
    assert!(msg.contains(&m.display().to_string()), "{msg}");

    let (_tmp2, root2) = copy_fixture("tiny")?;
    let j = first_run(&root2, "none").join("metrics.jsonl");
    std::fs::remove_file(&j)?;
    let msg = Analysis::load(&root2, &Options::default())
        .expect_err("metrics")
        .to_string();
    assert!(msg.contains(&j.display().to_string()), "{msg}");
    Ok(())
}

#[test]
fn missing_study_directory_names_the_path() {
    let err = Analysis::load(
        std::path::Path::new("/nonexistent/study"),
        &Options::default(),
    )
    .expect_err("missing");
    assert!(err.to_string().contains("/nonexistent/study/runs"), "{err}");
}
