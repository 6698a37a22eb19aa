//! The data behind the per-step figures: per group and step, the mean across seeds and a 95%
//! t-interval. One polars group-by over the step records computes every metric at once (and
//! one over the epoch records), so 10M records cost two passes, not one per metric.

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;

use crate::error::{AnalysisError, Result};
use crate::frame::{f64s, indices};
use crate::logs::{theta_col, Logs};
use crate::stats::{t_quantile, LEVEL};
use crate::study::Study;

/// One line with its band: a group's mean across seeds at each step.
#[derive(Clone, Debug, PartialEq)]
pub struct CurveSet {
    pub group: usize,
    pub strategy: String,
    pub x: Vec<f64>,
    pub mean: Vec<f64>,
    /// 95% t-interval across seeds (equal to the mean where only one run has the step).
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    pub n: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StepCurves {
    pub loss: Vec<CurveSet>,
    /// Geometric mean and an interval computed on ln(norm).
    pub grad_norm: Vec<CurveSet>,
    pub test_acc: Vec<CurveSet>,
    /// θ − θ0 per clip layer, for the strategies that train θ (README: θ trained = yes).
    pub theta: BTreeMap<String, Vec<CurveSet>>,
}

/// A metric to summarise per (group, step): its column alias and the expression.
struct Metric {
    name: String,
    value: Expr,
}

impl StepCurves {
    pub fn compute(study: &Study, logs: &Logs) -> Result<StepCurves> {
        let g = col("grad_norm").cast(DataType::Float64);
        let mut metrics = vec![
            Metric {
                name: "loss".into(),
                value: col("loss").cast(DataType::Float64),
            },
            Metric {
                name: "ln_grad_norm".into(),
                value: when(g.clone().gt(lit(0.0)))
                    .then(g.log(lit(std::f64::consts::E)))
                    .otherwise(lit(NULL)),
            },
        ];
        for l in &study.layers {
            metrics.push(Metric {
                name: theta_col(l),
                value: col(theta_col(l)).cast(DataType::Float64),
            });
        }
        let mut steps = summarise(study, &logs.steps, &metrics)?;
        let mut theta = BTreeMap::new();
        for l in &study.layers {
            let mut v = steps.remove(&theta_col(l)).unwrap_or_default();
            // Strategies that train θ: as declared in the manifests; runs of schema 1 declare
            // nothing, and there a θ curve that moves is the evidence.
            v.retain(|c| {
                crate::findings::properties(study, c.group).map_or_else(
                    || {
                        c.mean
                            .iter()
                            .any(|y| y.is_finite() && Some(y) != c.mean.first())
                    },
                    |p| p.learnable,
                )
            });
            for c in &mut v {
                // Every run of a group starts from the same θ0 (θ0 is config, and a θ0 grid
                // makes it part of the group).
                let t0 = study
                    .runs_of(c.group)
                    .next()
                    .and_then(|r| r.theta0.get(l).copied())
                    .unwrap_or(0.0);
                for y in c
                    .mean
                    .iter_mut()
                    .chain(c.lo.iter_mut())
                    .chain(c.hi.iter_mut())
                {
                    *y -= t0;
                }
            }
            theta.insert(l.clone(), v);
        }
        let mut grad_norm = steps.remove("ln_grad_norm").unwrap_or_default();
        for c in &mut grad_norm {
            for y in c
                .mean
                .iter_mut()
                .chain(c.lo.iter_mut())
                .chain(c.hi.iter_mut())
            {
                *y = y.exp();
            }
        }
        let acc = Metric {
            name: "test_acc".into(),
            value: col("test_acc").cast(DataType::Float64),
        };
        let mut epochs = summarise(study, &logs.epochs, &[acc])?;
        Ok(StepCurves {
            loss: steps.remove("loss").unwrap_or_default(),
            grad_norm,
            test_acc: clamp01(epochs.remove("test_acc").unwrap_or_default()),
            theta,
        })
    }
}

/// Accuracies live in [0, 1]: a t-interval from few seeds can reach past that; cut it there.
fn clamp01(mut v: Vec<CurveSet>) -> Vec<CurveSet> {
    for c in &mut v {
        for y in c.lo.iter_mut().chain(c.hi.iter_mut()) {
            *y = y.clamp(0.0, 1.0);
        }
    }
    v
}

/// Mean, std and count of every metric per (group, step) in one group-by; the curves of each
/// metric by name (steps where a metric is null or not finite in every run are left out).
fn summarise(
    study: &Study,
    df: &DataFrame,
    metrics: &[Metric],
) -> Result<BTreeMap<String, Vec<CurveSet>>> {
    let mut select = vec![col("group"), col("step")];
    let mut aggs = Vec::new();
    for (i, m) in metrics.iter().enumerate() {
        let v = format!("v{i}");
        // Non-finite values (none are logged today) would poison a mean: make them null.
        select.push(
            when(m.value.clone().is_finite())
                .then(m.value.clone())
                .otherwise(lit(NULL))
                .alias(&v),
        );
        aggs.push(col(&v).mean().alias(format!("{v}_mean")));
        aggs.push(col(&v).std(1).alias(format!("{v}_std")));
        aggs.push(col(&v).count().alias(format!("{v}_n")));
    }
    let agg = df
        .clone()
        .lazy()
        .select(select)
        .group_by([col("group"), col("step")])
        .agg(aggs)
        .sort(["group", "step"], Default::default())
        .collect()
        .map_err(|e| AnalysisError::polars("per-step means", e))?;
    let group = indices(&agg, "group")?;
    let step = f64s(&agg, "step")?;
    let mut tq: HashMap<usize, f64> = HashMap::new();
    let mut out = BTreeMap::new();
    for (i, m) in metrics.iter().enumerate() {
        let mean = f64s(&agg, &format!("v{i}_mean"))?;
        let std = f64s(&agg, &format!("v{i}_std"))?;
        let n = indices(&agg, &format!("v{i}_n"))?;
        let mut curves: Vec<CurveSet> = Vec::new();
        for r in 0..agg.height() {
            if n[r] == 0 || n[r] == usize::MAX || !mean[r].is_finite() {
                continue;
            }
            let g = group[r];
            if curves.last().is_none_or(|c| c.group != g) {
                let Some(gr) = study.groups.get(g) else {
                    continue;
                };
                curves.push(CurveSet {
                    group: g,
                    strategy: gr.strategy.clone(),
                    x: vec![],
                    mean: vec![],
                    lo: vec![],
                    hi: vec![],
                    n: vec![],
                });
            }
            let Some(c) = curves.last_mut() else { continue };
            let hw = if n[r] >= 2 && std[r].is_finite() {
                let t = *tq
                    .entry(n[r])
                    .or_insert_with(|| t_quantile(0.5 + LEVEL / 2.0, (n[r] - 1) as f64));
                t * std[r] / (n[r] as f64).sqrt()
            } else {
                0.0
            };
            c.x.push(step[r]);
            c.mean.push(mean[r]);
            c.lo.push(mean[r] - hw);
            c.hi.push(mean[r] + hw);
            c.n.push(n[r]);
        }
        out.insert(m.name.clone(), curves);
    }
    Ok(out)
}
