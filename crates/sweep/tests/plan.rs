//! Study file → RunPlan: grids over any numeric key, per-strategy settings, defaults, run ids,
//! located errors; and the shipped studies in experiments/.

use std::collections::BTreeSet;
use std::path::Path;

use clipbench_clip::Strategy;
use clipbench_data::DatasetName;
use clipbench_sweep::{RunPlan, StudyPlan, SweepError, TunedStudy};
use clipbench_train::optim::OptimizerConfig;

type Res = Result<(), Box<dyn std::error::Error>>;

const BASE: &str = r#"dataset = "synthetic"
strategies = ["tanh-learnable", { name = "softplus-learnable", beta = 5.0, per_channel = true }]
seeds = [7, 8]
epochs = 2
[model]
input = [1, 28, 28]
[optimizer]
kind = "sgd"
lr = 0.1
"#;

fn plan(text: &str) -> Result<RunPlan, SweepError> {
    RunPlan::from_text(Path::new("experiments/x.toml"), text, Path::new("out"))
}

fn err(text: &str) -> String {
    plan(text).err().map(|e| e.to_string()).unwrap_or_default()
}

#[test]
fn defaults_overrides_and_layout() -> Res {
    let p = plan(BASE)?;
    assert_eq!(p.study, "x", "named after the file");
    assert_eq!(p.root, Path::new("out/x"));
    assert_eq!(p.runs.len(), 4);
    let r = &p.runs[1];
    assert_eq!((r.seed, r.strategy), (7, Strategy::SoftplusLearnable));
    assert_eq!(r.config.model.clip.beta, 5.0);
    assert!(r.config.model.clip.per_channel);
    assert_eq!(
        r.config.model.clip.theta0,
        [1.0, 2.0],
        "the model's default θ0"
    );
    assert_eq!(r.config.model.input, [1, 28, 28]);
    assert_eq!(r.config.batch_size, 64);
    assert_eq!(r.config.threads, 1);
    assert_eq!(r.dir, Path::new("out/x/runs").join(&r.run_id));
    assert_eq!(r.run_id, r.config.run_id());
    assert!(!p.runs[0].config.model.clip.per_channel);
    // The momentum default of the optimizer applies.
    assert!(matches!(r.config.optimizer, OptimizerConfig::Sgd { momentum, .. } if momentum == 0.9));
    Ok(())
}

#[test]
fn grids_over_nested_numeric_keys_make_the_cartesian_product() -> Res {
    let text = format!(
        "{BASE}[grid]\n\"optimizer.lr\" = [0.01, 0.1, 1]\n\"model.clip.theta0\" = [[1.0, 2.0], [3, 4]]\n\"optimizer.momentum\" = [0.0, 0.5]\n"
    );
    let p = plan(&text)?;
    assert_eq!(p.runs.len(), 2 * 2 * 3 * 2 * 2);
    let ids: BTreeSet<&str> = p.runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids.len(), p.runs.len());
    let lrs: BTreeSet<String> = p
        .runs
        .iter()
        .map(|r| r.config.optimizer.lr().to_string())
        .collect();
    assert_eq!(lrs, ["0.01", "0.1", "1"].map(String::from).into());
    assert!(p
        .runs
        .iter()
        .any(|r| r.config.model.clip.theta0 == [3.0, 4.0]));
    for r in &p.runs {
        assert_eq!(r.params.len(), 3);
        assert_eq!(r.params["optimizer.lr"], r.config.optimizer.lr());
    }
    // The same study plans the same ids (stable hashes): a rerun finds its runs.
    let again = plan(&text)?;
    assert_eq!(
        again.runs.iter().map(|r| &r.run_id).collect::<Vec<_>>(),
        p.runs.iter().map(|r| &r.run_id).collect::<Vec<_>>()
    );
    Ok(())
}

#[test]
fn integer_settings_and_limits_can_be_gridded() -> Res {
    let p = plan(&format!(
        "{BASE}[grid]\nepochs = [1, 3]\ntrain_limit = [100, 200]\n"
    ))?;
    assert_eq!(p.runs.len(), 16);
    assert!(p
        .runs
        .iter()
        .any(|r| r.config.epochs == 3 && r.config.train_limit == Some(200)));
    Ok(())
}

#[test]
fn every_problem_is_reported_with_line_column_and_key() {
    let text = BASE
        .replace("epochs = 2", "epochs = 0")
        .replace("lr = 0.1", "lr = -1.0")
        .replace("seeds = [7, 8]", "seeds = [7, 7]");
    let e = err(&text);
    assert!(e.starts_with("experiments/x.toml: 3 problems:"), "{e}");
    let lines: Vec<&str> = e.lines().skip(1).map(str::trim).collect();
    assert_eq!(
        lines,
        [
            "experiments/x.toml:3:13: seeds[1]: duplicate seed 7",
            "experiments/x.toml:4:10: epochs: expected >= 1, got 0",
            "experiments/x.toml:9:6: optimizer.lr: expected a finite value > 0, got -1",
        ]
    );
}

#[test]
fn a_misspelled_strategy_lists_the_valid_names() {
    let e = err(&BASE.replace("\"tanh-learnable\"", "\"tanh_learnable\""));
    assert!(
        e.starts_with(
            "experiments/x.toml:2:15: strategies[0]: unknown clipping strategy \"tanh_learnable\""
        ),
        "{e}"
    );
    assert!(e.contains(&Strategy::names()), "{e}");
}

#[test]
fn validation_of_a_grid_value_points_at_that_value() {
    let e = err(&format!(
        "{BASE}[grid]\n\"optimizer.momentum\" = [0.5, 1.5]\n"
    ));
    assert!(e.starts_with("experiments/x.toml:11:30: grid.\"optimizer.momentum\"[1]: optimizer.momentum: value 1.5 is out of range"), "{e}");
}

fn shipped_file(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../experiments/{name}.toml"))
}

fn shipped(name: &str) -> Result<RunPlan, SweepError> {
    RunPlan::load(&shipped_file(name), Path::new("results"))
}

fn shipped_tuned(name: &str) -> Result<TunedStudy, Box<dyn std::error::Error>> {
    match StudyPlan::load(&shipped_file(name), Path::new("results"))? {
        StudyPlan::Tuned(t) => Ok(*t),
        StudyPlan::Plain(_) => Err(format!("{name} should tune").into()),
    }
}

/// A tuned study's final stage at trial 0 of every strategy (what matters here is its shape).
fn final_at_first_trials(t: &TunedStudy) -> Result<RunPlan, SweepError> {
    t.final_plan(&vec![0; t.strategies().len()])
}

fn strategies(p: &RunPlan) -> BTreeSet<Strategy> {
    p.runs.iter().map(|r| r.strategy).collect()
}

fn seeds(p: &RunPlan) -> BTreeSet<u64> {
    p.runs.iter().map(|r| r.seed).collect()
}

#[test]
fn the_shipped_studies_plan_as_documented() -> Res {
    let all: BTreeSet<Strategy> = Strategy::ALL.into();
    let smoke = shipped("smoke")?;
    assert_eq!(smoke.dataset, DatasetName::Synthetic);
    assert_eq!(strategies(&smoke), all);
    assert!(smoke
        .runs
        .iter()
        .all(|r| r.config.train_limit.is_some_and(|n| n <= 1000)));

    let quick = shipped("quick")?;
    assert_eq!(quick.study, "quick");
    assert_eq!(quick.dataset, DatasetName::FashionMnist);
    assert_eq!(strategies(&quick), all);
    assert_eq!(
        quick.runs.len(),
        Strategy::ALL.len() * 5,
        "every strategy × 5 seeds"
    );

    // The main study and the paper profiles: equal budgets, disjoint tuning seeds, the full
    // training split (no train_limit) in the final stage, at least 5 (paper: 10) seeds.
    for (name, min_seeds, min_epochs) in [
        ("main", 5, 5),
        ("paper-fashion", 10, 20),
        ("cifar10-paper", 10, 30),
    ] {
        let t = shipped_tuned(name)?;
        let fin = final_at_first_trials(&t)?;
        assert_eq!(strategies(&fin), all, "{name}");
        assert!(seeds(&fin).len() >= min_seeds, "{name}");
        assert!(
            fin.runs
                .iter()
                .all(|r| r.config.train_limit.is_none() && r.config.epochs >= min_epochs),
            "{name}: full data, long enough"
        );
        let tune_seeds: BTreeSet<u64> = t.tune.runs.iter().map(|r| r.seed).collect();
        assert!(tune_seeds.is_disjoint(&seeds(&fin)), "{name}");
        let per: Vec<usize> = t
            .strategies()
            .iter()
            .map(|s| t.tune.runs.iter().filter(|r| r.strategy == *s).count())
            .collect();
        assert!(
            per.iter().all(|&n| n == per[0] && n > 0),
            "{name}: equal budgets {per:?}"
        );
    }
    let smoke = shipped_tuned("tune-smoke")?;
    assert_eq!(
        smoke.tune.runs.len(),
        Strategy::ALL.len() * 3,
        "3 trials × 1 seed each"
    );

    let lr = shipped("lr-stability")?;
    assert_eq!(strategies(&lr), all);
    let lrs: BTreeSet<String> = lr
        .runs
        .iter()
        .map(|r| r.config.optimizer.lr().to_string())
        .collect();
    assert!(lrs.len() >= 6, "{lrs:?}");
    assert!(
        lr.runs.iter().any(|r| r.config.optimizer.lr() >= 10.0),
        "the grid reaches divergence"
    );
    assert!(seeds(&lr).len() >= 3);

    let cifar = final_at_first_trials(&shipped_tuned("cifar10-paper")?)?;
    assert_eq!(cifar.dataset, DatasetName::Cifar10);
    Ok(())
}
