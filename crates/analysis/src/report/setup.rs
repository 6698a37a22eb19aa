//! The report's Setup section: what every run was trained with, read from the manifests
//! (a value shared by all runs once; values that differ by strategy, per strategy).

use std::collections::BTreeSet;

use crate::report::doc::{Block, Marked};
use crate::study::{config_leaf, value_text, Study};
use crate::tables::fmt::sig;

/// Distinct values of `f` over the runs, joined ("a, b"), numbers in numeric order.
fn distinct(study: &Study, f: impl Fn(&crate::study::Run) -> Option<String>) -> String {
    let v: BTreeSet<String> = study.runs.iter().filter_map(f).collect();
    if v.is_empty() {
        return "–".into();
    }
    let mut v: Vec<String> = v.into_iter().collect();
    v.sort_by(|a, b| match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    });
    v.join(", ")
}

/// A config value over the runs: "x" when all agree, else "x (a, b); y (c)" by strategy.
pub fn config_text(study: &Study, key: &str) -> String {
    cfg(study, key)
}

fn cfg(study: &Study, key: &str) -> String {
    let text = |r: &crate::study::Run| config_leaf(&r.manifest.config, key).map(value_text);
    let values: BTreeSet<String> = study.runs.iter().filter_map(text).collect();
    if values.len() <= 1 || study.grid_keys.iter().any(|k| k == key) {
        return distinct(study, text);
    }
    // Differs: say which strategies use which value (e.g. PACT's α0 = 10).
    let mut by_value: Vec<(String, Vec<String>)> = Vec::new();
    for g in &study.groups {
        let Some(v) = study
            .runs_of(study.groups.iter().position(|x| x == g).unwrap_or(0))
            .find_map(text)
        else {
            continue;
        };
        match by_value.iter_mut().find(|(x, _)| *x == v) {
            Some((_, names)) => {
                if !names.contains(&g.strategy) {
                    names.push(g.strategy.clone());
                }
            }
            None => by_value.push((v, vec![g.strategy.clone()])),
        }
    }
    by_value
        .iter()
        .map(|(v, names)| format!("{v} ({})", names.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The Setup heading, its key → value rows and the skipped run directories.
pub(super) fn setup(study: &Study) -> Vec<Block> {
    let strategies: Vec<&str> = {
        let mut v: Vec<&str> = Vec::new();
        for g in &study.groups {
            if !v.contains(&g.strategy.as_str()) {
                v.push(&g.strategy);
            }
        }
        v
    };
    let seeds: BTreeSet<u64> = study.runs.iter().map(|r| r.seed).collect();
    let seeds: Vec<String> = seeds.iter().map(|s| s.to_string()).collect();
    let mut rows: Vec<(&str, String)> = vec![
        (
            "Runs",
            format!(
                "{} complete, {} skipped",
                study.runs.len(),
                study.skipped.len()
            ),
        ),
        ("Strategies", strategies.join(", ")),
        ("Seeds", seeds.join(", ")),
        (
            "Grid",
            if study.grid_keys.is_empty() {
                "none".into()
            } else {
                study
                    .grid_keys
                    .iter()
                    .map(|k| format!("{k} ∈ {{{}}}", cfg(study, k)))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        ),
        ("Data set", cfg(study, "dataset")),
        (
            "Images (train / validation / test)",
            format!(
                "{} / {} / {}",
                distinct(study, |r| r.manifest.train_images.map(|n| n.to_string())),
                distinct(study, |r| r
                    .manifest
                    .validation_images
                    .map(|n| n.to_string())),
                distinct(study, |r| r.manifest.test_images.map(|n| n.to_string()))
            ),
        ),
        (
            "Validation split",
            format!(
                "split seed {}, indices SHA-256 {}; reported epoch: {}",
                distinct(study, |r| r
                    .manifest
                    .split
                    .as_ref()
                    .map(|s| s.split_seed.to_string())),
                distinct(study, |r| r.manifest.split.as_ref().map(|s| s
                    .validation_indices_sha256
                    .chars()
                    .take(12)
                    .collect())),
                distinct(study, |r| Some(r.summary.selection.clone()))
            ),
        ),
        (
            "Input (C×H×W)",
            cfg(study, "model.input")
                .replace(", ", "×")
                .replace(['[', ']'], ""),
        ),
        ("Conv widths", cfg(study, "model.widths")),
        ("θ0 per clip layer", cfg(study, "model.clip.theta0")),
        ("β (softplus-learnable)", cfg(study, "model.clip.beta")),
        ("Per-channel θ", cfg(study, "model.clip.per_channel")),
        (
            "θ parametrisation",
            distinct(study, |r| Some(r.manifest.theta_param().to_string())),
        ),
        (
            "Optimizer",
            format!(
                "{}, lr {}, weight decay {}; L2 on θ: λ {} (θ_weight_decay {})",
                cfg(study, "optimizer.kind"),
                cfg(study, "optimizer.lr"),
                cfg(study, "optimizer.weight_decay"),
                cfg(study, "optimizer.theta_decay"),
                cfg(study, "optimizer.theta_weight_decay")
            ),
        ),
        ("Schedule", cfg(study, "schedule.kind")),
        (
            "Epochs / batch / log every",
            format!(
                "{} / {} / {} steps",
                cfg(study, "epochs"),
                cfg(study, "batch_size"),
                cfg(study, "log_every")
            ),
        ),
        (
            "Threads / device",
            format!(
                "{} / {}",
                cfg(study, "threads"),
                distinct(study, |r| r.manifest.device.clone())
            ),
        ),
        ("Kernels", distinct(study, |r| r.manifest.kernels.clone())),
        ("CPU", distinct(study, |r| r.manifest.cpu_model.clone())),
        (
            "Code",
            format!(
                "clipbench {}, git {}{}, {}, dfdx {}",
                distinct(study, |r| r.manifest.clipbench.clone()),
                distinct(study, |r| r.manifest.git_revision.clone()),
                if study
                    .runs
                    .iter()
                    .any(|r| r.manifest.git_dirty == Some(true))
                {
                    " (dirty)"
                } else {
                    ""
                },
                distinct(study, |r| r.manifest.rustc.clone()),
                distinct(study, |r| r.manifest.dfdx.clone())
            ),
        ),
        (
            "Training time per run",
            seconds(study, crate::study::Run::train_s),
        ),
    ];
    // Evaluation time only where runs recorded it apart (older runs did not).
    if study.runs.iter().any(|r| r.summary.eval_wall_s.is_some()) {
        rows.push((
            "Evaluation time per run",
            seconds(study, crate::study::Run::eval_s),
        ));
    }
    let mut out = vec![
        Block::Heading {
            level: 2,
            text: Marked::new("Setup"),
        },
        Block::Setup(rows.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
    ];
    if !study.skipped.is_empty() {
        out.push(Block::Para(Marked::new(
            "Skipped (incomplete) run directories:",
        )));
        out.push(Block::List {
            lead: None,
            items: study
                .skipped
                .iter()
                .map(|sk| Marked(format!("`{}`: {}", sk.dir.display(), sk.reason)))
                .collect(),
        });
    }
    out
}

/// "12.3 s mean, 123 s total" over the runs where `f` is known, saying how many it is not.
fn seconds(study: &Study, f: fn(&crate::study::Run) -> f64) -> String {
    let t: Vec<f64> = study.runs.iter().map(f).filter(|t| t.is_finite()).collect();
    let mut s = format!(
        "{} s mean, {} s total",
        sig(crate::stats::mean(&t), 3),
        sig(t.iter().sum(), 3)
    );
    let unknown = study.runs.len() - t.len();
    if unknown > 0 {
        s.push_str(&format!(
            " ({unknown} of {} runs left out: written before clipbench recorded this time \
             apart from the rest)",
            study.runs.len()
        ));
    }
    s
}
