//! `clipbench status RESULTS/STUDY [--json]`: every run of a study and its state (pending,
//! running, complete, diverged, failed with the end of its log, partial), counts per stage
//! and strategy, and the Slurm array states where sacct / squeue exist. Reads the results
//! directory only (no study file): the states are defined in `clipbench_sweep::status`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clipbench_core::strategy::rank_by_name as strategy_rank;
use clipbench_sweep::slurm_state::SlurmTools;
use clipbench_sweep::status::{study_status, RunCondition, StageStatus};
use serde_json::{json, Value};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The study's results directory, e.g. results/smoke.
    study: PathBuf,
    /// One JSON object (README "Commands" documents its fields) instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let stages = study_status(&a.study, &SlurmTools::default())?;
    let text = if a.json {
        serde_json::to_string_pretty(&to_json(&a.study, &stages))? + "\n"
    } else {
        table(&a.study, &stages)
    };
    // A closed stdout (`| head`) ends the listing quietly instead of panicking in print!.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r.context("writing the status to stdout")?),
    }
}

fn counts(runs: &[&clipbench_sweep::status::RunRow]) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("runs".into(), runs.len().into());
    for c in RunCondition::ALL {
        m.insert(
            c.name().into(),
            runs.iter().filter(|r| r.state == c).count().into(),
        );
    }
    Value::Object(m)
}

fn to_json(root: &std::path::Path, stages: &[StageStatus]) -> Value {
    let all: Vec<_> = stages.iter().flat_map(|s| &s.runs).collect();
    let stages: Vec<Value> = stages
        .iter()
        .map(|s| {
            let by_strategy: BTreeMap<String, Value> = s
                .by_strategy()
                .keys()
                .map(|k| {
                    let runs: Vec<_> = s.runs.iter().filter(|r| &r.strategy == k).collect();
                    (k.clone(), counts(&runs))
                })
                .collect();
            let jobs: Vec<Value> = s
                .slurm
                .jobs
                .iter()
                .map(|j| {
                    json!({
                        "job_id": j.job_id,
                        "dir": j.dir,
                        "tasks": j.runs.len(),
                        "states": j.counts(),
                    })
                })
                .collect();
            json!({
                "stage": s.stage,
                "root": s.root,
                "counts": counts(&s.runs.iter().collect::<Vec<_>>()),
                "by_strategy": by_strategy,
                "runs": s.runs,
                "slurm": { "jobs": jobs, "notes": s.slurm.notes },
            })
        })
        .collect();
    json!({ "root": root, "totals": counts(&all), "stages": stages })
}

/// Rows of cells as text with every column padded to its widest cell (numbers right-aligned).
fn aligned(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if c.parse::<f64>().is_ok() {
                    format!("{c:>w$}", w = width[i])
                } else {
                    format!("{c:<w$}", w = width[i])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn table(root: &std::path::Path, stages: &[StageStatus]) -> String {
    let mut rows = vec![vec![
        "stage".to_string(),
        "run".into(),
        "strategy".into(),
        "seed".into(),
        "state".into(),
        "detail".into(),
    ]];
    for s in stages {
        // Registry order, as in every table of the analysis; then seed and run id.
        let mut runs: Vec<_> = s.runs.iter().collect();
        runs.sort_by_key(|r| (strategy_rank(&r.strategy), r.seed, r.run_id.clone()));
        for r in runs {
            let mut detail = r.error.clone().unwrap_or_default();
            if let Some(l) = &r.log {
                detail.push_str(&format!(" (log: {})", l.display()));
            }
            rows.push(vec![
                s.stage.into(),
                r.run_id.clone(),
                r.strategy.clone(),
                r.seed.map(|x| x.to_string()).unwrap_or_default(),
                r.state.name().into(),
                detail,
            ]);
        }
    }
    let mut out = aligned(&rows);
    out.push('\n');
    let mut head = vec!["stage".to_string(), "strategy".into(), "runs".into()];
    head.extend(RunCondition::ALL.iter().map(|c| c.name().to_string()));
    let mut rows = vec![head];
    for s in stages {
        let mut by: Vec<_> = s.by_strategy().into_iter().collect();
        by.sort_by_key(|(k, _)| strategy_rank(k));
        for (strategy, m) in by {
            let mut row = vec![
                s.stage.to_string(),
                strategy,
                m.values().sum::<usize>().to_string(),
            ];
            row.extend(
                RunCondition::ALL
                    .iter()
                    .map(|c| m.get(c).copied().unwrap_or(0).to_string()),
            );
            rows.push(row);
        }
        let mut row = vec![
            s.stage.to_string(),
            "(all)".into(),
            s.runs.len().to_string(),
        ];
        row.extend(RunCondition::ALL.iter().map(|&c| s.count(c).to_string()));
        rows.push(row);
    }
    out.push_str(&aligned(&rows));
    for s in stages {
        for j in &s.slurm.jobs {
            let states: Vec<String> = j.counts().iter().map(|(k, v)| format!("{k} {v}")).collect();
            out.push_str(&format!(
                "{}: Slurm job {} ({}): {} tasks: {}\n",
                s.stage,
                j.job_id,
                j.dir.display(),
                j.runs.len(),
                states.join(", ")
            ));
        }
        for n in &s.slurm.notes {
            out.push_str(&format!("{}: note: {n}\n", s.stage));
        }
    }
    let all: Vec<_> = stages.iter().flat_map(|s| &s.runs).collect();
    let totals: Vec<String> = RunCondition::ALL
        .iter()
        .map(|&c| {
            format!(
                "{} {}",
                all.iter().filter(|r| r.state == c).count(),
                c.name()
            )
        })
        .collect();
    out.push_str(&format!(
        "{}: {} runs: {}\n",
        root.display(),
        all.len(),
        totals.join(", ")
    ));
    out
}
