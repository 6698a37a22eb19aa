//! End to end over fixture studies made by the real `clipbench train` of an earlier release
//! (tests/fixtures/, metrics schema 1: no validation split, θ through softplus): aggregate →
//! tables → figures → report, and every table number checked against values computed here
//! independently from the raw run files. This is also the test that old results still
//! aggregate; schema 2 studies are tested end to end through the binary (cli/tests).

mod common;

use std::collections::BTreeMap;

use clipbench_analysis::figures::{Format, ShapeCurve};
use clipbench_analysis::{Analysis, Options};
use common::*;

/// t_{0.975, 2}: three seeds (mpmath, 30 digits: 4.30265272974946385232094389262).
const T975_DF2: f64 = 4.302_652_729_749_464;

/// Two-sided p-value of Student's t with 2 degrees of freedom, in closed form:
/// F(t) = 1/2 + t / (2·sqrt(2 + t²)) → p = 1 − |t| / sqrt(2 + t²).
fn p_two_sided_df2(t: f64) -> f64 {
    1.0 - t.abs() / (2.0 + t * t).sqrt()
}

fn shapes() -> Vec<ShapeCurve> {
    // Closed-form stand-ins for `clipbench curves` (the analysis crate takes the data as input).
    let x: Vec<f64> = (0..81).map(|i| -4.0 + 0.1 * i as f64).collect();
    let tanh = ShapeCurve {
        strategy: "tanh-learnable".into(),
        threshold: 1.0,
        label: String::new(),
        dashed: false,
        y: x.iter().map(|v| v.tanh()).collect(),
        dydx: x.iter().map(|v| 1.0 - v.tanh().powi(2)).collect(),
        dydt: x
            .iter()
            .map(|v| v.tanh() - v * (1.0 - v.tanh().powi(2)))
            .collect(),
        x: x.clone(),
    };
    let none = ShapeCurve {
        strategy: "none".into(),
        threshold: 1.0,
        label: String::new(),
        dashed: false,
        y: x.clone(),
        dydx: vec![1.0; x.len()],
        dydt: vec![0.0; x.len()],
        x,
    };
    vec![none, tanh]
}

#[test]
fn tiny_study_tables_match_independent_computation() -> TestResult {
    let (_tmp, root) = copy_fixture("tiny")?;
    let a = Analysis::load(&root, &Options::default())?;
    let files = a.write_tables()?;
    let figures = a.plot(Some(&shapes()), &Format::ALL)?;
    let report = a.write_report(&files, &figures)?;

    let raw = read_runs(&root)?;
    let strategies = [
        "none",
        "hard-clamp",
        "tanh-learnable",
        "pact",
        "seed-softplus",
    ];
    let summary = read_csv(&root.join("tables/summary.csv"))?;
    assert_eq!(
        summary
            .iter()
            .map(|r| r["strategy"].as_str())
            .collect::<Vec<_>>(),
        strategies,
        "rows in the README's strategy order"
    );
    for row in &summary {
        let s = row["strategy"].as_str();
        let runs: Vec<&RawRun> = raw.iter().filter(|r| r.strategy == s).collect();
        let acc: Vec<f64> = runs.iter().filter_map(|r| r.final_acc).collect();
        assert_eq!(acc.len(), 3, "{s}");
        assert_eq!(num(row, "n_runs"), 3.0);
        assert_eq!(num(row, "n_diverged"), 0.0);
        let (m, sdv) = (mean(&acc), sd(&acc));
        assert!(close(num(row, "final_test_acc_mean"), m, 1e-12), "{s} mean");
        assert!(close(num(row, "final_test_acc_std"), sdv, 1e-12), "{s} std");
        let hw = T975_DF2 * sdv / 3f64.sqrt();
        assert!(
            close(num(row, "final_test_acc_ci95_t_lo"), m - hw, 1e-9),
            "{s} t lo"
        );
        assert!(
            close(num(row, "final_test_acc_ci95_t_hi"), m + hw, 1e-9),
            "{s} t hi"
        );
        // Three seeds: no bootstrap interval (too few values), the t-interval only.
        assert!(num(row, "final_test_acc_ci95_bca_lo").is_nan(), "{s} bca");
        // Schema 1 runs have no validation split: the reported epoch is the last, and the
        // best test accuracy they recorded (a selection on test) is not shown anywhere.
        assert!(
            close(num(row, "test_acc_at_selected_mean"), m, 1e-12),
            "{s} selected = last"
        );
        assert!(!row.contains_key("best_test_acc_mean"));
        assert!(num(row, "val_acc_at_selected_mean").is_nan());
        // Gradient norms: median over all logged steps, max of the runs' max.
        let pooled: Vec<f64> = runs
            .iter()
            .flat_map(|r| r.grad_norms.iter().copied())
            .collect();
        assert!(
            close(num(row, "grad_norm_median"), median(&pooled), 1e-12),
            "{s} median norm"
        );
        let gmax = runs
            .iter()
            .map(|r| r.max_grad_norm)
            .fold(f64::MIN, f64::max);
        assert!(
            close(num(row, "grad_norm_max"), gmax, 1e-12),
            "{s} max norm"
        );
        // Spikes: logged norm > 10 × its run's median.
        let (spikes, steps) = runs.iter().fold((0usize, 0usize), |(a, b), r| {
            let med = median(&r.grad_norms);
            (
                a + r.grad_norms.iter().filter(|&&g| g > 10.0 * med).count(),
                b + r.grad_norms.len(),
            )
        });
        assert!(
            close(num(row, "spike_share"), spikes as f64 / steps as f64, 1e-12),
            "{s} spikes"
        );
        for layer in ["clip1", "clip2"] {
            let per_run: Vec<f64> = runs.iter().map(|r| mean(&r.clip_fraction[layer])).collect();
            assert!(
                close(
                    num(row, &format!("clip_fraction_mean_{layer}")),
                    mean(&per_run),
                    1e-12
                ),
                "{s} clip fraction {layer}"
            );
            let thetas: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.final_theta.get(layer).copied())
                .collect();
            if s == "none" {
                assert!(num(row, &format!("theta_final_mean_{layer}")).is_nan());
            } else {
                assert!(
                    close(
                        num(row, &format!("theta_final_mean_{layer}")),
                        mean(&thetas),
                        1e-12
                    ),
                    "{s} θ"
                );
            }
        }
    }

    // Paired against none over seeds 1–3.
    let paired = read_csv(&root.join("tables/paired.csv"))?;
    assert_eq!(paired.len(), 4);
    let by_seed = |s: &str| -> BTreeMap<u64, f64> {
        raw.iter()
            .filter(|r| r.strategy == s)
            .map(|r| (r.seed, r.final_acc.unwrap_or(f64::NAN)))
            .collect()
    };
    let base = by_seed("none");
    for row in &paired {
        let s = row["strategy"].as_str();
        let mine = by_seed(s);
        let d: Vec<f64> = mine.iter().map(|(seed, a)| a - base[seed]).collect();
        assert_eq!(num(row, "n_pairs"), 3.0);
        assert!(close(num(row, "diff_mean"), mean(&d), 1e-12), "{s} Δ");
        let wins = d
            .iter()
            .map(|&x| {
                if x > 0.0 {
                    1.0
                } else if x == 0.0 {
                    0.5
                } else {
                    0.0
                }
            })
            .sum::<f64>()
            / 3.0;
        assert!(
            close(num(row, "prob_improvement"), wins, 1e-12),
            "{s} P(improve)"
        );
        let sdv = sd(&d);
        if sdv > 0.0 {
            let t = mean(&d) / (sdv / 3f64.sqrt());
            assert!(
                close(num(row, "p_value_paired_t"), p_two_sided_df2(t), 1e-9),
                "{s} p"
            );
            let hw = T975_DF2 * sdv / 3f64.sqrt();
            assert!(
                close(num(row, "diff_ci95_t_lo"), mean(&d) - hw, 1e-9),
                "{s} Δ lo"
            );
            assert!(
                close(num(row, "effect_size_dz"), mean(&d) / sdv, 1e-9),
                "{s} d_z"
            );
        }
    }
    // Holm over the 4 comparisons, checked by hand: sorted raw p times (4, 3, 2, 1),
    // running maximum, capped at 1.
    let mut ps: Vec<(f64, f64)> = paired
        .iter()
        .map(|r| (num(r, "p_value_paired_t"), num(r, "p_holm")))
        .collect();
    ps.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut running = 0.0f64;
    for (k, (p, adj)) in ps.iter().enumerate() {
        running = running.max(((4 - k) as f64 * p).min(1.0));
        assert!(close(*adj, running, 1e-12), "holm {k}: {adj} vs {running}");
    }

    // Parquet holds what the CSV holds.
    let pq = std::fs::File::open(root.join("tables/summary.parquet"))?;
    use polars::prelude::{ParquetReader, SerReader};
    let df = ParquetReader::new(pq).finish()?;
    assert_eq!(df.height(), summary.len());
    let pm = df
        .column("test_acc_at_selected_mean")?
        .as_materialized_series()
        .f64()?
        .get(0)
        .ok_or("null")?;
    assert!(close(
        pm,
        num(&summary[0], "test_acc_at_selected_mean"),
        0.0
    ));

    // Markdown / LaTeX: booktabs, the best final accuracy in bold.
    let tex = std::fs::read_to_string(root.join("tables/summary.tex"))?;
    assert!(tex.contains("\\toprule") && tex.contains("\\midrule") && tex.contains("\\bottomrule"));
    let best = summary
        .iter()
        .max_by(|a, b| {
            num(a, "test_acc_at_selected_mean").total_cmp(&num(b, "test_acc_at_selected_mean"))
        })
        .ok_or("rows")?;
    let shown = format!("{:.2}", 100.0 * num(best, "test_acc_at_selected_mean"));
    assert!(
        tex.contains(&format!("\\textbf{{{shown} $\\pm$")),
        "best mean {shown} bold in:\n{tex}"
    );
    let md = std::fs::read_to_string(root.join("tables/summary.md"))?;
    assert!(md.contains(&format!("**{shown} ±")), "{md}");

    // Power table: G*Power's paired-t sample sizes.
    let power = std::fs::read_to_string(root.join("tables/power.md"))?;
    for (d, n) in [("0.5", "34"), ("0.8", "15"), ("1", "10")] {
        assert!(power.contains(&format!("| {d} | {n} |")), "{power}");
    }

    // Figures: every PNG is a PNG, every SVG an SVG.
    let names: Vec<String> = figures
        .iter()
        .map(|f| {
            f.path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    for want in [
        "loss.png",
        "test_acc.png",
        "grad_norm.png",
        "theta.png",
        "acc_selected.png",
        "shapes.png",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    for f in &figures {
        let png = std::fs::read(&f.path)?;
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
            "{}",
            f.path.display()
        );
        let svg = std::fs::read_to_string(f.path.with_extension("svg"))?;
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
    }

    // Report: setup, tables, figures and findings computed from the numbers.
    let text = std::fs::read_to_string(report.markdown)?;
    // Schema 1 runs declare no strategy properties: no sentence that needs them.
    for unwanted in ["acts as plain ReLU", "learned nothing", "trained its θ"] {
        assert!(!text.contains(unwanted), "{unwanted:?} in:\n{text}");
    }
    for want in [
        "## Setup",
        "| Data set | synthetic |",
        "Seeds | 1, 2, 3",
        "## Findings",
        "`seed-softplus` reached exactly the test accuracy of `none` on all 3 shared seeds",
        "`pact` almost never reaches its saturated region",
        "No run diverged",
        "15 run(s) were made by an older clipbench (metrics schema 1)",
        "| θ parametrisation | softplus |",
        "![",
        "figures/acc_selected.png",
    ] {
        assert!(text.contains(want), "report lacks {want:?}:\n{text}");
    }
    Ok(())
}

#[test]
fn tables_are_deterministic() -> TestResult {
    let (_t1, a) = copy_fixture("tiny")?;
    let (_t2, b) = copy_fixture("tiny")?;
    for root in [&a, &b] {
        Analysis::load(root, &Options::default())?.write_tables()?;
    }
    for f in [
        "summary.csv",
        "summary.md",
        "summary.tex",
        "paired.csv",
        "runs.csv",
    ] {
        assert_eq!(
            std::fs::read(a.join("tables").join(f))?,
            std::fs::read(b.join("tables").join(f))?,
            "{f}"
        );
    }
    Ok(())
}

#[test]
fn lr_study_finds_divergence_and_stable_lr() -> TestResult {
    let (_tmp, root) = copy_fixture("lr")?;
    let a = Analysis::load(&root, &Options::default())?;
    assert_eq!(a.study.grid_keys, ["optimizer.lr"]);
    let files = a.write_tables()?;
    let figures = a.plot(None, &[Format::Png])?;
    a.write_report(&files, &figures)?;
    let raw = read_runs(&root)?;
    let lr = read_csv(&root.join("tables/lr.csv"))?;
    assert_eq!(lr.len(), 4);
    for row in &lr {
        let (s, l) = (row["strategy"].as_str(), num(row, "lr"));
        let runs: Vec<&RawRun> = raw
            .iter()
            .filter(|r| r.strategy == s && r.lr == l)
            .collect();
        let div = runs.iter().filter(|r| r.status == "diverged").count();
        assert_eq!(num(row, "n_runs"), runs.len() as f64);
        assert_eq!(num(row, "n_diverged"), div as f64, "{s} lr {l}");
        assert!(close(
            num(row, "divergence_rate"),
            div as f64 / runs.len() as f64,
            1e-15
        ));
        let acc: Vec<f64> = runs
            .iter()
            .filter(|r| r.status == "completed")
            .filter_map(|r| r.final_acc)
            .collect();
        if acc.is_empty() {
            assert!(num(row, "test_acc_at_selected_mean").is_nan());
        } else {
            assert!(
                close(num(row, "test_acc_at_selected_mean"), mean(&acc), 1e-12),
                "{s} lr {l}"
            );
        }
    }
    // The fixture: `none` diverges at lr 100 on both seeds, tanh-learnable never does.
    let stable = std::fs::read_to_string(root.join("tables/stable_lr.md"))?;
    assert!(stable.contains("| none | 0.05 |"), "{stable}");
    assert!(stable.contains("| tanh-learnable | **100** |"), "{stable}");
    let report = std::fs::read_to_string(root.join("report.md"))?;
    assert!(
        report.contains("2 of 2 `none` runs at lr=100 diverged"),
        "{report}"
    );
    assert!(figures.iter().any(|f| f.path.ends_with("lr.png")));
    assert!(figures.iter().any(|f| f.path.ends_with("loss-lr=100.png")));
    Ok(())
}

/// A tuning stage's runs evaluate no test split: the report says so once and makes no test
/// comparison, rather than blaming divergence or counting "0 completed seeds".
#[test]
fn a_study_without_test_figures_says_why_instead_of_comparing() -> TestResult {
    let (_tmp, root) = copy_fixture("tiny")?;
    let sealed = "These runs evaluated no test split";
    for e in std::fs::read_dir(root.join("runs"))? {
        let dir = e?.path();
        let p = dir.join("summary.json");
        let mut s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p)?)?;
        if let Some(o) = s.as_object_mut() {
            o.retain(|k, _| !k.contains("test"));
        }
        std::fs::write(&p, serde_json::to_vec(&s)?)?;
        let m = dir.join("metrics.jsonl");
        let mut out = String::new();
        for line in std::fs::read_to_string(&m)?.lines() {
            let mut v: serde_json::Value = serde_json::from_str(line)?;
            if let Some(o) = v.as_object_mut() {
                o.retain(|k, _| !k.starts_with("test_"));
            }
            out.push_str(&serde_json::to_string(&v)?);
            out.push('\n');
        }
        std::fs::write(&m, out)?;
    }
    let a = Analysis::load(&root, &Options::default())?;
    let files = a.write_tables()?;
    let report = a.write_report(&files, &[])?;
    let text = std::fs::read_to_string(report.markdown)?;
    assert!(text.contains(sealed), "{text}");
    for unwanted in [
        "no seed on which both",
        "completed seed(s)",
        "Highest mean test accuracy",
    ] {
        assert!(!text.contains(unwanted), "{unwanted:?} in:\n{text}");
    }
    // The same study with its test figures: no such sentence.
    let (_t2, plain) = copy_fixture("tiny")?;
    let a = Analysis::load(&plain, &Options::default())?;
    let files = a.write_tables()?;
    let text = std::fs::read_to_string(a.write_report(&files, &[])?.markdown)?;
    assert!(!text.contains(sealed) && text.contains("Highest mean test accuracy"));
    Ok(())
}
