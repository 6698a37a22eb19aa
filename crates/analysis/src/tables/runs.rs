//! The per-run table (`runs.csv`): one row per run directory, machine-readable only.

use crate::aggregate::Aggregate;
use crate::study::Study;
use crate::tables::{Col, Table};

pub(super) fn runs_table(study: &Study, agg: &Aggregate) -> Table {
    let runs = &study.runs;
    let mut t = Table::default();
    t.push(
        "run_id",
        Col::Str(runs.iter().map(|r| r.run_id.clone()).collect()),
    );
    t.push(
        "strategy",
        Col::Str(runs.iter().map(|r| r.strategy.clone()).collect()),
    );
    t.push(
        "grid",
        Col::Str(
            runs.iter()
                .map(|r| crate::study::grid_label(&study.groups[r.group].grid))
                .collect(),
        ),
    );
    t.push(
        "seed",
        Col::Int(runs.iter().map(|r| Some(r.seed as i64)).collect()),
    );
    t.push(
        "status",
        Col::Str(
            runs.iter()
                .map(|r| {
                    if r.diverged() {
                        "diverged"
                    } else {
                        "completed"
                    }
                    .into()
                })
                .collect(),
        ),
    );
    t.push(
        "steps",
        Col::Int(runs.iter().map(|r| Some(r.summary.steps as i64)).collect()),
    );
    t.push(
        "diverged_at_step",
        Col::Int(
            runs.iter()
                .map(|r| r.summary.diverged_at_step.map(|s| s as i64))
                .collect(),
        ),
    );
    let o = |x: Option<f64>| x.unwrap_or(f64::NAN);
    t.push(
        "selection",
        Col::Str(runs.iter().map(|r| r.summary.selection.clone()).collect()),
    );
    t.push(
        "selected_epoch",
        Col::Int(
            runs.iter()
                .map(|r| r.summary.selected_epoch.map(i64::from))
                .collect(),
        ),
    );
    t.push(
        "val_acc_at_selected",
        Col::F64(
            runs.iter()
                .map(|r| o(r.summary.val_acc_at_selected))
                .collect(),
        ),
    );
    t.push(
        "test_acc_at_selected",
        Col::F64(
            runs.iter()
                .map(|r| o(r.summary.test_acc_at_selected))
                .collect(),
        ),
    );
    t.push(
        "final_test_acc",
        Col::F64(runs.iter().map(|r| o(r.summary.final_test_acc)).collect()),
    );
    t.push(
        "steps_to_target",
        Col::F64(agg.runs.iter().map(|s| s.target_steps).collect()),
    );
    t.push(
        "train_s_to_target",
        Col::F64(agg.runs.iter().map(|s| s.target_s).collect()),
    );
    t.push(
        "theta_param",
        Col::Str(
            runs.iter()
                .map(|r| r.manifest.theta_param().to_string())
                .collect(),
        ),
    );
    t.push(
        "final_test_loss",
        Col::F64(runs.iter().map(|r| o(r.summary.final_test_loss)).collect()),
    );
    t.push(
        "max_grad_norm",
        Col::F64(runs.iter().map(|r| r.summary.max_grad_norm).collect()),
    );
    t.push(
        "logged_steps",
        Col::Int(agg.runs.iter().map(|s| Some(s.n_steps as i64)).collect()),
    );
    t.push(
        "grad_norm_median",
        Col::F64(agg.runs.iter().map(|s| s.grad_norm_median).collect()),
    );
    t.push(
        "grad_spikes",
        Col::Int(agg.runs.iter().map(|s| Some(s.n_spikes as i64)).collect()),
    );
    for l in &study.layers {
        t.push(
            format!("theta0_{l}"),
            Col::F64(runs.iter().map(|r| o(r.theta0.get(l).copied())).collect()),
        );
        t.push(
            format!("theta_final_{l}"),
            Col::F64(runs.iter().map(|r| o(r.summary.final_theta(l))).collect()),
        );
        t.push(
            format!("clip_fraction_mean_{l}"),
            Col::F64(
                agg.runs
                    .iter()
                    .map(|s| o(s.clip_fraction.get(l).copied()))
                    .collect(),
            ),
        );
    }
    t.push(
        "train_wall_s",
        Col::F64(runs.iter().map(|r| r.train_s()).collect()),
    );
    t.push(
        "eval_wall_s",
        Col::F64(runs.iter().map(|r| r.eval_s()).collect()),
    );
    t
}
