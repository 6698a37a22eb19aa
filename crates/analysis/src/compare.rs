//! `clipbench compare RESULTS/STUDY REFERENCE/STUDY`: a reproduction verdict between two
//! result directories of one study (a fresh run against the committed reference, or two code
//! revisions).
//!
//! Per run (matched by run id, final and tuning runs): metrics.jsonl byte-identical or not,
//! and when not, whether the two manifests record a different kernel path or CPU (then a
//! difference is expected: floating-point results depend on them) or the same (unexpected).
//! Per study: whether the conclusions hold — every group's mean accuracy inside the
//! reference's 95% t-interval, the same significant comparisons with `none`, the same
//! tuning selection, the same largest learning rates that still learn.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::aggregate::Options;
use crate::error::{AnalysisError, Result};
use crate::findings::ALPHA;
use crate::tables::fmt::pct;
use crate::Analysis;

/// Largest lr that still learns, per strategy (and other grid values).
pub type LearnsLr = BTreeMap<String, Option<f64>>;

/// How one run compares.
#[derive(Clone, Debug, PartialEq)]
pub enum RunMatch {
    Identical,
    /// metrics.jsonl differs from this (1-based) line on; whether the manifests' kernel path
    /// and CPU model are the same on both sides.
    Differs {
        line: usize,
        same_kernels: bool,
        same_cpu: bool,
    },
    OnlyHere,
    OnlyReference,
}

#[derive(Clone, Debug)]
pub struct Comparison {
    pub here: PathBuf,
    pub reference: PathBuf,
    /// (stage directory, run id) → how it compares.
    pub runs: BTreeMap<(String, String), RunMatch>,
    /// Group label → (mean here, reference mean, reference t-interval, inside it).
    pub means: Vec<(String, f64, f64, f64, f64, bool)>,
    pub significant_here: BTreeSet<String>,
    pub significant_reference: BTreeSet<String>,
    /// Selected trial per strategy on both sides (None when a side was not tuned).
    pub selected: Option<(BTreeMap<String, usize>, BTreeMap<String, usize>)>,
    /// Largest lr that still learns, per strategy, on both sides (lr studies).
    pub learns: Option<(LearnsLr, LearnsLr)>,
}

/// Run directories under `root/<stage>/`, by id.
fn run_dirs(root: &Path, stage: &str) -> Result<BTreeMap<String, PathBuf>> {
    let dir = root.join(stage);
    let mut out = BTreeMap::new();
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(AnalysisError::io(&dir, e)),
    };
    for e in rd {
        let e = e.map_err(|e| AnalysisError::io(&dir, e))?;
        if e.path().join("summary.json").is_file() {
            out.insert(e.file_name().to_string_lossy().into_owned(), e.path());
        }
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| AnalysisError::io(path, e))
}

fn manifest_field(dir: &Path, key: &str) -> Result<Option<String>> {
    let p = dir.join("manifest.json");
    let v: serde_json::Value =
        serde_json::from_slice(&read(&p)?).map_err(|e| AnalysisError::Json {
            path: p.clone(),
            message: e.to_string(),
        })?;
    Ok(v.get(key).and_then(|x| x.as_str()).map(String::from))
}

fn first_difference(a: &[u8], b: &[u8]) -> usize {
    let la: Vec<&[u8]> = a.split(|&c| c == b'\n').collect();
    let lb: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
    la.iter()
        .zip(&lb)
        .position(|(x, y)| x != y)
        .unwrap_or(la.len().min(lb.len()))
        + 1
}

fn significant(a: &Analysis) -> BTreeSet<String> {
    a.agg
        .paired
        .iter()
        .filter(|p| p.p_holm < ALPHA)
        .map(|p| {
            let dir = if p.stats.diff.mean > 0.0 {
                "better"
            } else {
                "worse"
            };
            let at = if p.grid.is_empty() {
                String::new()
            } else {
                format!(" at {}", p.grid)
            };
            format!("{}{at} {dir} than none", p.strategy)
        })
        .collect()
}

fn selected(a: &Analysis) -> Option<BTreeMap<String, usize>> {
    a.study.tuning.as_ref().map(|t| {
        t.selected
            .iter()
            .map(|(k, c)| (k.clone(), c.trial))
            .collect()
    })
}

fn learns(a: &Analysis) -> Option<LearnsLr> {
    (!a.agg.stable_lr.is_empty()).then(|| {
        a.agg
            .stable_lr
            .iter()
            .map(|s| {
                (
                    format!("{} {}", s.strategy, s.rest).trim().to_string(),
                    s.learns,
                )
            })
            .collect()
    })
}

pub fn compare(here: &Path, reference: &Path, opts: &Options) -> Result<Comparison> {
    let mut runs = BTreeMap::new();
    for stage in ["runs", "tuning/runs"] {
        let (a, b) = (run_dirs(here, stage)?, run_dirs(reference, stage)?);
        for (id, da) in &a {
            let m = match b.get(id) {
                None => RunMatch::OnlyHere,
                Some(db) => {
                    let (ma, mb) = (
                        read(&da.join("metrics.jsonl"))?,
                        read(&db.join("metrics.jsonl"))?,
                    );
                    if ma == mb {
                        RunMatch::Identical
                    } else {
                        RunMatch::Differs {
                            line: first_difference(&ma, &mb),
                            same_kernels: manifest_field(da, "kernels")?
                                == manifest_field(db, "kernels")?,
                            same_cpu: manifest_field(da, "cpu_model")?
                                == manifest_field(db, "cpu_model")?,
                        }
                    }
                }
            };
            runs.insert((stage.to_string(), id.clone()), m);
        }
        for id in b.keys().filter(|id| !a.contains_key(*id)) {
            runs.insert((stage.to_string(), id.clone()), RunMatch::OnlyReference);
        }
    }
    let (ha, ra) = (
        Analysis::load(here, opts)?,
        Analysis::load(reference, opts)?,
    );
    let mut means = Vec::new();
    for g in &ha.agg.groups {
        let label = ha.study.groups[g.group].label();
        if let Some(r) = ra
            .agg
            .groups
            .iter()
            .find(|r| ra.study.groups[r.group].label() == label)
        {
            let (m, lo, hi) = (g.sel_acc.mean, r.sel_acc.t_lo, r.sel_acc.t_hi);
            let inside = if lo.is_finite() && hi.is_finite() {
                lo <= m && m <= hi
            } else {
                (m - r.sel_acc.mean).abs() < 1e-12 || (m.is_nan() && r.sel_acc.mean.is_nan())
            };
            means.push((label, m, r.sel_acc.mean, lo, hi, inside));
        }
    }
    Ok(Comparison {
        here: here.to_path_buf(),
        reference: reference.to_path_buf(),
        runs,
        means,
        significant_here: significant(&ha),
        significant_reference: significant(&ra),
        selected: selected(&ha).zip(selected(&ra)),
        learns: learns(&ha).zip(learns(&ra)),
    })
}

impl Comparison {
    fn count(&self, f: impl Fn(&RunMatch) -> bool) -> usize {
        self.runs.values().filter(|m| f(m)).count()
    }

    /// Whether the study's conclusions hold on both sides.
    pub fn conclusions_hold(&self) -> bool {
        self.means.iter().all(|m| m.5)
            && self.significant_here == self.significant_reference
            && self.selected.as_ref().is_none_or(|(a, b)| a == b)
            && self.learns.as_ref().is_none_or(|(a, b)| a == b)
    }

    /// The verdict in one line.
    pub fn verdict(&self) -> String {
        let total = self.runs.len();
        let same = self.count(|m| *m == RunMatch::Identical);
        let unexpected = self.count(|m| {
            matches!(
                m,
                RunMatch::Differs {
                    same_kernels: true,
                    same_cpu: true,
                    ..
                }
            )
        });
        let missing = self.count(|m| matches!(m, RunMatch::OnlyHere | RunMatch::OnlyReference));
        let bits = if same == total {
            format!("reproduced byte for byte ({same} of {total} runs)")
        } else if unexpected > 0 {
            format!(
                "NOT reproduced: {unexpected} run(s) differ although kernel path and CPU are the \
                 same ({same} of {total} identical)"
            )
        } else {
            format!(
                "{same} of {total} runs byte-identical; the {} that differ ran on another CPU or \
                 kernel path (expected: floating-point results depend on them){}",
                total - same - missing,
                if missing > 0 {
                    format!("; {missing} run(s) on one side only")
                } else {
                    String::new()
                }
            )
        };
        let conclusions = if self.conclusions_hold() {
            "the conclusions hold"
        } else {
            "the conclusions DIFFER"
        };
        format!("{bits}; {conclusions}")
    }

    /// The Markdown report of the comparison.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Reproduction: `{}` against `{}`\n",
            self.here.display(),
            self.reference.display()
        );
        let _ = writeln!(s, "**Verdict:** {}.\n", self.verdict());
        let _ = writeln!(s, "## Runs\n");
        let _ = writeln!(s, "| stage | run | metrics.jsonl |\n|---|---|---|");
        for ((stage, id), m) in &self.runs {
            let what = match m {
                RunMatch::Identical => "identical".to_string(),
                RunMatch::Differs {
                    line,
                    same_kernels,
                    same_cpu,
                } => format!(
                    "differs from line {line}; kernel path {}, CPU {}",
                    if *same_kernels { "same" } else { "different" },
                    if *same_cpu { "same" } else { "different" }
                ),
                RunMatch::OnlyHere => "only here".into(),
                RunMatch::OnlyReference => "only in the reference".into(),
            };
            let _ = writeln!(s, "| {stage} | `{id}` | {what} |");
        }
        let _ = writeln!(
            s,
            "\n## Conclusions\n\nMean test accuracy at the selected epoch here, against the \
             reference's mean and 95% t-interval:\n\n| group | here (%) | reference (%) | \
             reference 95% CI (%) | inside |\n|---|---|---|---|---|"
        );
        for (label, m, r, lo, hi, ok) in &self.means {
            let _ = writeln!(
                s,
                "| {label} | {} | {} | [{}, {}] | {} |",
                pct(*m, 2),
                pct(*r, 2),
                pct(*lo, 2),
                pct(*hi, 2),
                if *ok { "yes" } else { "**no**" }
            );
        }
        let list = |v: &BTreeSet<String>| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.iter().cloned().collect::<Vec<_>>().join("; ")
            }
        };
        let _ = writeln!(
            s,
            "\nSignificant comparisons with `none` (Holm, α = {ALPHA}): here {}; reference {}.",
            list(&self.significant_here),
            list(&self.significant_reference)
        );
        if let Some((a, b)) = &self.selected {
            let _ = writeln!(
                s,
                "\nTuning selection: {}.",
                if a == b {
                    "the same trial for every strategy"
                } else {
                    "**differs**"
                }
            );
        }
        if let Some((a, b)) = &self.learns {
            let _ = writeln!(
                s,
                "\nLargest learning rate that still learns: {}.",
                if a == b {
                    "the same for every strategy"
                } else {
                    "**differs**"
                }
            );
        }
        s
    }
}
