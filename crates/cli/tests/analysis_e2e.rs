//! smoke → aggregate → plot → report through the `clipbench` binary, on a reduced smoke study
//! (synthetic data; 4 strategies × 3 seeds × 2 learning rates, the larger one high enough that
//! some runs diverge), and every number of the tables checked against values computed here
//! from the runs' own files with serde_json only (none of the analysis crate's code).
#![cfg(feature = "analysis")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

const STUDY: &str = r#"name = "e2e"
dataset = "synthetic"
strategies = ["none", "tanh-learnable", { name = "pact", theta0 = [10.0, 10.0] }, "seed-softplus"]
seeds = [1, 2, 3]
epochs = 2
batch_size = 32
log_every = 1
threads = 1
train_limit = 128
test_limit = 64
validation = 64

[model]
input = [1, 28, 28]

[optimizer]
kind = "sgd"
lr = 0.05

[grid]
"optimizer.lr" = [0.05, 50.0]
"#;

const LAYERS: [&str; 2] = ["clip1", "clip2"];
const STRATEGIES: [&str; 4] = ["none", "tanh-learnable", "pact", "seed-softplus"];
const LRS: [f64; 2] = [0.05, 50.0];

fn clipbench(dir: &Path, args: &[&str]) -> Res<Output> {
    let out = Command::new(env!("CARGO_BIN_EXE_clipbench"))
        .args(args)
        .current_dir(dir)
        .output()?;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(
        out.status.success(),
        "clipbench {args:?} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    Ok(out)
}

/// One run as read here from its files.
#[derive(Debug)]
struct Run {
    strategy: String,
    seed: u64,
    lr: f64,
    diverged: bool,
    final_acc: Option<f64>,
    sel_acc: Option<f64>,
    val_acc: Option<f64>,
    max_grad_norm: f64,
    theta0: Vec<f64>,
    final_theta: BTreeMap<String, f64>,
    grad_norms: Vec<f64>,
    clip_fraction: BTreeMap<String, Vec<f64>>,
}

fn read_runs(study: &Path) -> Res<Vec<Run>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(study.join("runs"))? {
        let dir = e?.path();
        let json = |f: &str| -> Res<serde_json::Value> {
            Ok(serde_json::from_slice(&std::fs::read(dir.join(f))?)?)
        };
        let (s, m) = (json("summary.json")?, json("manifest.json")?);
        let mut grad_norms = Vec::new();
        let mut clip_fraction: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for line in std::fs::read_to_string(dir.join("metrics.jsonl"))?.lines() {
            let v: serde_json::Value = serde_json::from_str(line)?;
            if v["kind"] == "step" {
                grad_norms.push(v["grad_norm"].as_f64().ok_or("grad_norm")?);
                for (k, x) in v["clip_fraction"].as_object().ok_or("clip_fraction")? {
                    let x = x.as_f64().ok_or("clip fraction value")?;
                    clip_fraction.entry(k.clone()).or_default().push(x);
                }
            }
        }
        let f64s = |v: &serde_json::Value| -> Vec<f64> {
            v.as_array()
                .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                .unwrap_or_default()
        };
        out.push(Run {
            strategy: s["strategy"].as_str().ok_or("strategy")?.into(),
            seed: s["seed"].as_u64().ok_or("seed")?,
            lr: m["config"]["optimizer"]["lr"].as_f64().ok_or("lr")?,
            diverged: s["status"] == "diverged",
            final_acc: s["final_test_acc"].as_f64(),
            sel_acc: s["test_acc_at_selected"].as_f64(),
            val_acc: s["val_acc_at_selected"].as_f64(),
            max_grad_norm: s["max_grad_norm"].as_f64().unwrap_or(f64::INFINITY),
            theta0: f64s(&m["config"]["model"]["clip"]["theta0"]),
            final_theta: s["final_theta"]
                .as_object()
                .ok_or("final_theta")?
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                .collect(),
            grad_norms,
            clip_fraction,
        });
    }
    Ok(out)
}

// ---- statistics, written out independently of the analysis crate ----

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn sd(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() as f64 - 1.0)).sqrt()
}

fn median(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// t_{0.975, df} in closed form: df 1 is Cauchy (tan(0.475π)); df 2 has
/// F(t) = 1/2 + t / (2√(2 + t²)), so t = √(2q² / (1 − q²)) with q = 0.95.
fn t975(df: usize) -> f64 {
    match df {
        1 => (0.475 * std::f64::consts::PI).tan(),
        2 => (2.0 * 0.95f64.powi(2) / (1.0 - 0.95f64.powi(2))).sqrt(),
        _ => panic!("the study has at most 3 seeds per group"),
    }
}

/// Two-sided p of Student's t: df 1: 1 − 2·atan|t|/π; df 2: 1 − |t|/√(2 + t²).
fn p_two_sided(t: f64, df: usize) -> f64 {
    match df {
        1 => 1.0 - 2.0 * t.abs().atan() / std::f64::consts::PI,
        2 => 1.0 - t.abs() / (2.0 + t * t).sqrt(),
        _ => panic!("the study has at most 3 seeds per group"),
    }
}

// ---- reading the tables ----

fn read_csv(path: &Path) -> Res<Vec<BTreeMap<String, String>>> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .ok_or("empty csv")?
        .split(',')
        .map(String::from)
        .collect();
    // No cell of these tables holds a comma except quoted grid labels, which this test does not
    // read: split on commas outside quotes.
    let split = |l: &str| {
        let mut cells = vec![String::new()];
        let mut quoted = false;
        for ch in l.chars() {
            match ch {
                '"' => quoted = !quoted,
                ',' if !quoted => cells.push(String::new()),
                c => cells.last_mut().into_iter().for_each(|s| s.push(c)),
            }
        }
        cells
    };
    Ok(lines
        .map(|l| header.iter().cloned().zip(split(l)).collect())
        .collect())
}

fn num(row: &BTreeMap<String, String>, col: &str) -> f64 {
    row.get(col)
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN)
}

#[track_caller]
fn check(got: f64, want: f64, tol: f64, what: &str) {
    let ok = (got.is_nan() && want.is_nan()) || (got - want).abs() <= tol * want.abs().max(1.0);
    assert!(ok, "{what}: table has {got}, computed {want}");
}

fn row<'a>(
    rows: &'a [BTreeMap<String, String>],
    strategy: &str,
    lr: f64,
    lr_col: &str,
) -> Res<&'a BTreeMap<String, String>> {
    rows.iter()
        .find(|r| r["strategy"] == strategy && num(r, lr_col) == lr)
        .ok_or_else(|| format!("no row for {strategy} at lr {lr}").into())
}

fn png_size(path: &Path) -> Res<(u32, u32)> {
    let b = std::fs::read(path)?;
    assert!(
        b.starts_with(b"\x89PNG\r\n\x1a\n") && &b[12..16] == b"IHDR",
        "{}",
        path.display()
    );
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    Ok((be(16), be(20)))
}

#[test]
fn smoke_aggregate_plot_report_match_independent_numbers() -> Res {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    std::fs::write(dir.join("study.toml"), STUDY)?;
    clipbench(dir, &["run", "study.toml", "--jobs", "2"])?;
    let root = dir.join("results/e2e");
    let runs = read_runs(&root)?;
    assert_eq!(runs.len(), 24);

    // aggregate: tables, deterministic (a second run writes the same bytes).
    clipbench(dir, &["aggregate", "results/e2e"])?;
    let tables = root.join("tables");
    let first = std::fs::read(tables.join("summary.csv"))?;
    let first_md = std::fs::read(tables.join("paired.md"))?;
    clipbench(dir, &["aggregate", "results/e2e"])?;
    assert_eq!(
        first,
        std::fs::read(tables.join("summary.csv"))?,
        "summary.csv is deterministic"
    );
    assert_eq!(
        first_md,
        std::fs::read(tables.join("paired.md"))?,
        "paired.md is deterministic"
    );
    for f in [
        "summary.csv",
        "summary.parquet",
        "summary.md",
        "summary.tex",
        "runs.csv",
        "paired.csv",
        "lr.csv",
        "stable_lr.md",
        "power.md",
    ] {
        assert!(tables.join(f).is_file(), "tables/{f}");
    }
    let pq = std::fs::read(tables.join("summary.parquet"))?;
    assert!(
        pq.starts_with(b"PAR1") && pq.ends_with(b"PAR1"),
        "summary.parquet is Parquet"
    );

    let summary = read_csv(&tables.join("summary.csv"))?;
    assert_eq!(summary.len(), STRATEGIES.len() * LRS.len());
    for s in STRATEGIES {
        for lr in LRS {
            let r = row(&summary, s, lr, "optimizer.lr")?;
            let what = |x: &str| format!("{s} lr {lr}: {x}");
            let group: Vec<&Run> = runs
                .iter()
                .filter(|x| x.strategy == s && x.lr == lr)
                .collect();
            let done: Vec<&Run> = group.iter().copied().filter(|x| !x.diverged).collect();
            check(num(r, "n_runs"), group.len() as f64, 0.0, &what("n_runs"));
            check(
                num(r, "n_diverged"),
                (group.len() - done.len()) as f64,
                0.0,
                &what("n_diverged"),
            );
            let acc: Vec<f64> = done.iter().filter_map(|x| x.final_acc).collect();
            let sel: Vec<f64> = done.iter().filter_map(|x| x.sel_acc).collect();
            let val: Vec<f64> = done.iter().filter_map(|x| x.val_acc).collect();
            check(
                num(r, "final_test_acc_n"),
                acc.len() as f64,
                0.0,
                &what("acc n"),
            );
            if !acc.is_empty() {
                check(
                    num(r, "final_test_acc_mean"),
                    mean(&acc),
                    1e-12,
                    &what("final acc mean"),
                );
                check(
                    num(r, "test_acc_at_selected_mean"),
                    mean(&sel),
                    1e-12,
                    &what("acc at the selected epoch"),
                );
                check(
                    num(r, "val_acc_at_selected_mean"),
                    mean(&val),
                    1e-12,
                    &what("validation acc at the selected epoch"),
                );
                assert!(
                    !r.contains_key("best_test_acc_mean"),
                    "{}",
                    what("no selection on test")
                );
            }
            if acc.len() >= 2 {
                let (m, s_) = (mean(&acc), sd(&acc));
                check(
                    num(r, "final_test_acc_std"),
                    s_,
                    1e-12,
                    &what("final acc std"),
                );
                let hw = t975(acc.len() - 1) * s_ / (acc.len() as f64).sqrt();
                check(
                    num(r, "final_test_acc_ci95_t_lo"),
                    m - hw,
                    1e-9,
                    &what("t lo"),
                );
                check(
                    num(r, "final_test_acc_ci95_t_hi"),
                    m + hw,
                    1e-9,
                    &what("t hi"),
                );
                // Three seeds at most: no bootstrap interval below ten values.
                assert!(
                    num(r, "final_test_acc_ci95_bca_lo").is_nan(),
                    "{}",
                    what("no bootstrap at n < 10")
                );
            } else {
                assert!(
                    num(r, "final_test_acc_std").is_nan(),
                    "{}",
                    what("std of < 2 runs is empty")
                );
            }
            let pooled: Vec<f64> = group
                .iter()
                .flat_map(|x| x.grad_norms.iter().copied())
                .collect();
            check(
                num(r, "grad_norm_median"),
                median(&pooled),
                1e-12,
                &what("grad norm median"),
            );
            let gmax = group
                .iter()
                .map(|x| x.max_grad_norm)
                .fold(f64::MIN, f64::max);
            check(num(r, "grad_norm_max"), gmax, 1e-12, &what("grad norm max"));
            // Spike: a logged step whose global norm exceeds 10× its run's median logged norm.
            let (spikes, steps) = group.iter().fold((0, 0), |(a, b), x| {
                let m = median(&x.grad_norms);
                (
                    a + x.grad_norms.iter().filter(|&&g| g > 10.0 * m).count(),
                    b + x.grad_norms.len(),
                )
            });
            check(
                num(r, "spike_share"),
                spikes as f64 / steps as f64,
                1e-12,
                &what("spike share"),
            );
            for (i, l) in LAYERS.iter().enumerate() {
                let per_run: Vec<f64> = group.iter().map(|x| mean(&x.clip_fraction[*l])).collect();
                check(
                    num(r, &format!("clip_fraction_mean_{l}")),
                    mean(&per_run),
                    1e-12,
                    &what("clip fraction"),
                );
                let theta: Vec<f64> = done
                    .iter()
                    .filter_map(|x| x.final_theta.get(*l).copied())
                    .collect();
                if theta.is_empty() {
                    assert!(
                        num(r, &format!("theta_final_mean_{l}")).is_nan(),
                        "{}",
                        what("no θ")
                    );
                } else {
                    check(
                        num(r, &format!("theta_final_mean_{l}")),
                        mean(&theta),
                        1e-12,
                        &what("θ mean"),
                    );
                }
                check(
                    num(r, &format!("theta0_{l}")),
                    group[0].theta0[i],
                    0.0,
                    &what("θ0"),
                );
            }
        }
    }

    // Paired against `none` at the same lr, over the seeds on which both completed.
    let paired = read_csv(&tables.join("paired.csv"))?;
    assert_eq!(paired.len(), (STRATEGIES.len() - 1) * LRS.len());
    let acc_by_seed = |s: &str, lr: f64| -> BTreeMap<u64, f64> {
        runs.iter()
            .filter(|x| x.strategy == s && x.lr == lr && !x.diverged)
            .filter_map(|x| Some((x.seed, x.sel_acc?)))
            .collect()
    };
    let mut compared = 0;
    for s in &STRATEGIES[1..] {
        for lr in LRS {
            let r = row(&paired, s, lr, "optimizer.lr")?;
            let what = |x: &str| format!("{s} vs none at lr {lr}: {x}");
            let (a, b) = (acc_by_seed(s, lr), acc_by_seed("none", lr));
            let d: Vec<f64> = a
                .iter()
                .filter_map(|(seed, x)| Some(x - b.get(seed)?))
                .collect();
            check(num(r, "n_pairs"), d.len() as f64, 0.0, &what("pairs"));
            check(
                num(r, "pairs_lost"),
                3.0 - d.len() as f64,
                0.0,
                &what("pairs lost"),
            );
            if d.is_empty() {
                continue;
            }
            compared += 1;
            check(num(r, "diff_mean"), mean(&d), 1e-12, &what("Δ mean"));
            let wins: f64 = d
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
                .sum();
            check(
                num(r, "prob_improvement"),
                wins / d.len() as f64,
                1e-12,
                &what("P(improve)"),
            );
            let s_ = if d.len() >= 2 { sd(&d) } else { f64::NAN };
            if s_ > 0.0 {
                let n = d.len() as f64;
                let t = mean(&d) / (s_ / n.sqrt());
                check(
                    num(r, "p_value_paired_t"),
                    p_two_sided(t, d.len() - 1),
                    1e-9,
                    &what("p"),
                );
                let hw = t975(d.len() - 1) * s_ / n.sqrt();
                check(
                    num(r, "diff_ci95_t_lo"),
                    mean(&d) - hw,
                    1e-9,
                    &what("Δ t lo"),
                );
                check(
                    num(r, "diff_ci95_t_hi"),
                    mean(&d) + hw,
                    1e-9,
                    &what("Δ t hi"),
                );
                let dz = mean(&d) / s_;
                check(num(r, "effect_size_dz"), dz, 1e-9, &what("d_z"));
                assert!(
                    !r.contains_key("seeds_needed_power80"),
                    "{}",
                    what("no post-hoc power")
                );
            } else if d.len() >= 2 && mean(&d) == 0.0 {
                check(
                    num(r, "p_value_paired_t"),
                    1.0,
                    0.0,
                    &what("p of identical runs"),
                );
            }
        }
    }
    assert!(
        compared >= 3,
        "at least the low-lr comparisons have shared seeds"
    );
    // Holm over every comparison of the table, by hand: sorted raw p times (m, m−1, ...),
    // running maximum, capped at 1.
    let mut ps: Vec<(f64, f64)> = paired
        .iter()
        .map(|r| (num(r, "p_value_paired_t"), num(r, "p_holm")))
        .filter(|(p, _)| p.is_finite())
        .collect();
    ps.sort_by(|a, b| a.0.total_cmp(&b.0));
    let m = ps.len();
    let mut running = 0.0f64;
    for (k, (p, adj)) in ps.iter().enumerate() {
        running = running.max(((m - k) as f64 * p).min(1.0));
        check(*adj, running, 1e-12, &format!("Holm-adjusted p {k} of {m}"));
    }

    // Per learning rate: divergence rate and accuracy; the largest stable lr per strategy.
    let lr_rows = read_csv(&tables.join("lr.csv"))?;
    let stable = std::fs::read_to_string(tables.join("stable_lr.md"))?;
    for s in STRATEGIES {
        let mut largest_stable: Option<f64> = None;
        for lr in LRS {
            let r = row(&lr_rows, s, lr, "lr")?;
            let group: Vec<&Run> = runs
                .iter()
                .filter(|x| x.strategy == s && x.lr == lr)
                .collect();
            let div = group.iter().filter(|x| x.diverged).count();
            check(
                num(r, "divergence_rate"),
                div as f64 / group.len() as f64,
                1e-15,
                &format!("{s} lr {lr} divergence rate"),
            );
            if div == 0 {
                largest_stable = Some(largest_stable.map_or(lr, |m: f64| m.max(lr)));
            }
        }
        let cell = largest_stable.map_or("none stable".to_string(), |l| format!("{l}"));
        let line = stable
            .lines()
            .find(|l| l.starts_with(&format!("| {s} |")))
            .ok_or("stable lr row")?;
        assert!(
            line.contains(&format!("| {cell} |")) || line.contains(&format!("| **{cell}** |")),
            "{s}: {cell} in {line}"
        );
    }

    // LaTeX and Markdown: booktabs, mean ± std, the best final accuracy of a grid point bold.
    let tex = std::fs::read_to_string(tables.join("summary.tex"))?;
    assert!(tex.contains("\\toprule") && tex.contains("\\midrule") && tex.contains("\\bottomrule"));
    let md = std::fs::read_to_string(tables.join("summary.md"))?;
    let best = summary
        .iter()
        .filter(|r| num(r, "optimizer.lr") == 0.05)
        .map(|r| num(r, "test_acc_at_selected_mean"))
        .fold(f64::MIN, f64::max);
    let shown = format!("{:.2}", 100.0 * best);
    assert!(
        md.contains(&format!("**{shown} ±")),
        "best {shown} bold in:\n{md}"
    );
    assert!(
        tex.contains(&format!("\\textbf{{{shown} $\\pm$")),
        "best {shown} bold in:\n{tex}"
    );

    // plot: every figure in PNG, SVG and PDF, sized and non-trivial.
    let out = clipbench(dir, &["plot", "results/e2e"])?;
    let listed: Vec<PathBuf> = String::from_utf8(out.stdout)?
        .lines()
        .map(|l| dir.join(l))
        .collect();
    let figures = root.join("figures");
    let mut names = BTreeSet::new();
    for p in &listed {
        assert!(p.is_file(), "listed but missing: {}", p.display());
        names.insert(
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    for lr in ["0.05", "50"] {
        for fig in ["loss", "test_acc", "grad_norm", "theta", "acc_selected"] {
            assert!(
                names.contains(&format!("{fig}-lr={lr}.png")),
                "{fig} at lr {lr} in {names:?}"
            );
            assert!(
                names.contains(&format!("{fig}-lr={lr}.svg")),
                "{fig} at lr {lr} (svg)"
            );
            assert!(
                names.contains(&format!("{fig}-lr={lr}.pdf")),
                "{fig} at lr {lr} (pdf, in the default formats)"
            );
        }
    }
    for fig in ["lr", "shapes", "paired_diff"] {
        for ext in ["png", "svg", "pdf"] {
            assert!(names.contains(&format!("{fig}.{ext}")), "{fig}.{ext}");
        }
    }
    for n in &names {
        let p = figures.join(n);
        if n.ends_with(".png") {
            let (w, h) = png_size(&p)?;
            assert!(
                w >= 800 && h >= 300 && std::fs::metadata(&p)?.len() > 10_000,
                "{n}: {w}×{h}"
            );
        } else if n.ends_with(".pdf") {
            let pdf = std::fs::read(&p)?;
            assert!(
                pdf.starts_with(b"%PDF-") && pdf.windows(9).any(|w| w == b"/FontFile"),
                "{n}: a PDF with its font embedded"
            );
        } else {
            let svg = std::fs::read_to_string(&p)?;
            assert!(
                svg.contains("<svg") && svg.contains("</svg>") && svg.contains("<text"),
                "{n}"
            );
        }
    }
    assert!(
        !std::fs::read_dir(&figures)?
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains(".tmp")),
        "no temporary files left"
    );

    // report: setup, tables, figures (links that resolve) and findings from the numbers.
    let out = clipbench(dir, &["report", "results/e2e"])?;
    assert!(String::from_utf8(out.stdout)?.contains("report.md"));
    let report = std::fs::read_to_string(root.join("report.md"))?;
    for want in [
        "## Setup",
        "| Data set | synthetic |",
        "Seeds | 1, 2, 3",
        "## Findings",
        "## Tables",
        "## Figures",
        "optimizer.lr",
    ] {
        assert!(report.contains(want), "report lacks {want:?}");
    }
    assert!(report.contains(&md), "report embeds summary.md");
    for link in report
        .split("](")
        .skip(1)
        .filter_map(|s| s.split(')').next())
    {
        assert!(
            root.join(link).is_file(),
            "report links {link}, which does not exist"
        );
    }
    // paired_diff sits with the paired table; paper.tex compiles (file names with "=" and
    // ".": the lr grid's figures).
    assert!(report.contains("](figures/paired_diff.png)"), "{report}");
    let paper = std::fs::read_to_string(root.join("paper.tex"))?;
    assert!(paper.contains("figures/loss-lr=0.05.pdf") && paper.contains("tables/paired.tex"));
    pdflatex(&root)?;
    // seed-softplus's θ gets an exact zero gradient: θ (trained directly) stays θ0 bit for bit.
    let still = runs
        .iter()
        .filter(|x| x.strategy == "seed-softplus" && !x.diverged)
        .all(|x| {
            LAYERS.iter().enumerate().all(|(i, l)| {
                x.final_theta
                    .get(*l)
                    .is_some_and(|t| t.to_bits() == x.theta0[i].to_bits())
            })
        });
    assert!(still, "seed-softplus's θ stays exactly θ0");
    assert!(
        report.contains("`seed-softplus` at lr=0.05 learned nothing"),
        "{report}"
    );
    for s in STRATEGIES {
        for lr in LRS {
            let n_div = runs
                .iter()
                .filter(|x| x.strategy == s && x.lr == lr && x.diverged)
                .count();
            if n_div > 0 {
                let want = format!("{n_div} of 3 `{s}` runs at lr={lr} diverged");
                assert!(report.contains(&want), "report lacks {want:?}");
            }
        }
    }
    Ok(())
}

/// Compiles `root/paper-standalone.tex` with pdflatex (output in a temporary directory);
/// without pdflatex says so and skips (scripts/install-tex.sh installs it, CI runs that).
fn pdflatex(root: &Path) -> Res {
    if Command::new("pdflatex").arg("--version").output().is_err() {
        println!("SKIPPED: no pdflatex (scripts/install-tex.sh): paper.tex not compiled");
        return Ok(());
    }
    let out = tempfile::tempdir()?;
    let run = Command::new("pdflatex")
        .args([
            "-interaction=nonstopmode",
            "-halt-on-error",
            "-output-directory",
        ])
        .arg(out.path())
        .arg("paper-standalone.tex")
        .current_dir(root)
        .output()?;
    assert!(
        run.status.success(),
        "pdflatex paper-standalone.tex failed:\n{}",
        String::from_utf8_lossy(&run.stdout)
    );
    assert!(std::fs::read(out.path().join("paper-standalone.pdf"))?.starts_with(b"%PDF-"));
    Ok(())
}

#[test]
fn analysis_of_a_missing_study_names_the_directory() -> Res {
    let tmp = tempfile::tempdir()?;
    for cmd in ["aggregate", "plot", "report"] {
        let out = Command::new(env!("CARGO_BIN_EXE_clipbench"))
            .args([cmd, "no/such/study"])
            .current_dir(tmp.path())
            .output()?;
        assert!(!out.status.success(), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no/such/study/runs"), "{cmd}: {err}");
    }
    Ok(())
}
