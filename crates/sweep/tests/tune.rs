//! The tuning protocol without training: deterministic quasi-random trials, one budget for
//! every strategy, shared points where the spaces agree, disjoint seeds, located errors, and
//! selection on validation accuracy only (summaries written by hand, whose best trial on
//! test differs from the best on validation).

use std::collections::BTreeMap;
use std::path::Path;

use clipbench_clip::Strategy;
use clipbench_sweep::tune::select::TuneState;
use clipbench_sweep::{Stage, StudyPlan, SweepError, TunedStudy};
use clipbench_train::records::{RunStatus, Summary, SCHEMA_VERSION};

type Res = Result<(), Box<dyn std::error::Error>>;

const STUDY: &str = r#"dataset = "synthetic"
strategies = ["none", "tanh-learnable", "pact"]
seeds = [1, 2, 3]
epochs = 3
train_limit = 256
validation = 128
[model]
input = [1, 28, 28]
[optimizer]
kind = "adam"
lr = 1e-3
[tune]
budget = 4
seeds = [11, 12]
epochs = 1
train_limit = 128
[tune.space]
"optimizer.lr" = { log = [1e-4, 1e-2] }
[tune.space.pact]
"model.clip.theta0" = { log = [1.0, 10.0] }
"optimizer.theta_decay" = { choice = [0.0, 1e-4, 1e-3] }
"#;

fn tuned(text: &str, results: &Path) -> Result<TunedStudy, SweepError> {
    match StudyPlan::from_text(Path::new("experiments/t.toml"), text, results)? {
        StudyPlan::Tuned(t) => Ok(*t),
        StudyPlan::Plain(_) => Err(SweepError::Usage("expected a tuned study".into())),
    }
}

fn err(text: &str) -> String {
    tuned(text, Path::new("out"))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[test]
fn trials_are_deterministic_with_one_budget_and_shared_points() -> Res {
    let t = tuned(STUDY, Path::new("out"))?;
    let again = tuned(STUDY, Path::new("out"))?;
    let ids = |t: &TunedStudy| {
        t.tune
            .runs
            .iter()
            .map(|r| r.run_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&t), ids(&again), "the same plan twice");
    // budget × tuning seeds runs per strategy, all in the tune stage, under tuning/runs/.
    assert_eq!(t.tune.runs.len(), 3 * 4 * 2);
    for s in [Strategy::None, Strategy::TanhLearnable, Strategy::Pact] {
        let mine: Vec<_> = t.tune.runs.iter().filter(|r| r.strategy == s).collect();
        assert_eq!(mine.len(), 8, "{s}: same budget");
        assert!(mine.iter().all(|r| r.stage == Stage::Tune));
        assert!(mine
            .iter()
            .all(|r| r.dir.starts_with(Path::new("out/t/tuning/runs"))));
        // The tuning runs' own length and size; the final seeds never appear.
        assert!(mine.iter().all(|r| r.config.epochs == 1
            && r.config.train_limit == Some(128)
            && [11, 12].contains(&r.seed)));
        // Chosen on validation alone: a trial never loads the test split.
        assert!(mine.iter().all(|r| !r.config.evaluate_test));
    }
    // The same lr points for every strategy (shared key), distinct across trials.
    let lr = |s: Strategy| -> Vec<f64> {
        (0..4)
            .map(|i| {
                let si = t.strategies().iter().position(|x| *x == s).unwrap_or(0);
                t.trial_settings(si, i)["optimizer.lr"]
                    .as_f64()
                    .unwrap_or(f64::NAN)
            })
            .collect()
    };
    assert_eq!(lr(Strategy::None), lr(Strategy::Pact));
    assert_eq!(lr(Strategy::None), lr(Strategy::TanhLearnable));
    let mut sorted = lr(Strategy::None);
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    assert_eq!(sorted.len(), 4);
    assert!(sorted.iter().all(|l| (1e-4..1e-2).contains(l)));
    // PACT's own keys: θ0 drawn once for both layers, θ-decay from its choices.
    let pact = t.trial_settings(2, 0);
    let th = pact["model.clip.theta0"].as_array().ok_or("θ0 list")?;
    assert_eq!(th[0], th[1]);
    assert!((1.0..10.0).contains(&th[0].as_f64().unwrap_or(0.0)));
    assert!([0.0, 1e-4, 1e-3].contains(&pact["optimizer.theta_decay"].as_f64().unwrap_or(-1.0)));
    assert!(!t.trial_settings(0, 0).contains_key("model.clip.theta0"));
    // Another sequence seed, other points.
    let other = tuned(
        &STUDY.replace("budget = 4", "budget = 4\nseed = 9"),
        Path::new("out"),
    )?;
    assert_ne!(ids(&t), ids(&other));
    Ok(())
}

#[test]
fn tuning_seeds_must_be_disjoint_from_the_final_seeds() {
    let e = err(&STUDY.replace("seeds = [11, 12]", "seeds = [11, 2]"));
    assert!(
        e.contains("experiments/t.toml:") && e.contains("tune.seeds[1]") && e.contains("disjoint"),
        "{e}"
    );
}

#[test]
fn bad_tuning_sections_are_located_errors() {
    for (edit, want) in [
        (("budget = 4", "budget = 0"), "tune.budget"),
        (
            ("\"optimizer.lr\" = { log", "\"optimizer.lrr\" = { log"),
            "unknown setting `optimizer.lrr`",
        ),
        (("{ log = [1e-4, 1e-2] }", "{ log = [0, 1e-2] }"), "0 < lo"),
        (
            ("[tune.space.pact]", "[tune.space.hard-clamp]"),
            "not in this study",
        ),
        (
            (
                "\"optimizer.lr\" = { log = [1e-4, 1e-2] }",
                "epochs = { choice = [1, 2] }",
            ),
            "cannot be tuned",
        ),
        (
            ("validation = 128", "validation = 0\nselection = \"last\""),
            "validation > 0",
        ),
    ] {
        let e = err(&STUDY.replace(edit.0, edit.1));
        assert!(e.contains(want), "{edit:?}: {e}");
    }
    // A strategy with nothing to tune would waste its budget.
    let e = err(&STUDY.replace("\"optimizer.lr\" = { log = [1e-4, 1e-2] }\n", ""));
    assert!(e.contains("has nothing to tune"), "{e}");
}

fn summary(
    run_id: &str,
    strategy: Strategy,
    seed: u64,
    val: f64,
    test: f64,
    diverged: bool,
) -> Summary {
    Summary {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.into(),
        status: if diverged {
            RunStatus::Diverged
        } else {
            RunStatus::Completed
        },
        strategy: strategy.to_string(),
        seed,
        epochs_completed: 1,
        steps: 2,
        selection: "best-val".into(),
        selected_epoch: Some(0),
        val_acc_at_selected: Some(val),
        test_acc_at_selected: Some(test),
        test_loss_at_selected: Some(1.0),
        final_test_acc: Some(test),
        final_test_loss: Some(1.0),
        final_val_acc: Some(val),
        final_train_loss: Some(1.0),
        diverged_at_step: diverged.then_some(2),
        final_theta: BTreeMap::new(),
        theta_projected: BTreeMap::new(),
        max_grad_norm: 1.0,
        train_wall_s: 0.1,
        eval_wall_s: Some(0.05),
        run_wall_s: Some(0.2),
        load_wall_s: None,
    }
}

#[test]
fn selection_uses_validation_never_test() -> Res {
    let dir = tempfile::tempdir()?;
    let t = tuned(STUDY, dir.path())?;
    assert!(matches!(
        t.tune_state(),
        TuneState::Incomplete {
            complete: 0,
            total: 24
        }
    ));
    // Per trial: validation accuracy rises with the trial index, test accuracy falls (the
    // best trial on test is 0, on validation 3); for pact, trial 3 diverges on one seed, so
    // its mean (a diverged run scores 0) drops below trial 2's.
    for r in &t.tune.runs {
        let i = r.trial.ok_or("tune runs have a trial")? as f64;
        let diverged = r.strategy == Strategy::Pact && r.trial == Some(3) && r.seed == 12;
        let s = summary(
            &r.run_id,
            r.strategy,
            r.seed,
            0.5 + 0.1 * i,
            0.9 - 0.1 * i,
            diverged,
        );
        std::fs::create_dir_all(&r.dir)?;
        std::fs::write(r.dir.join("summary.json"), serde_json::to_vec(&s)?)?;
    }
    let TuneState::Done { selected, trials } = t.tune_state() else {
        panic!("every tuning run is complete");
    };
    assert_eq!(selected, [3, 3, 2]);
    let pact3 = trials
        .iter()
        .find(|r| r.strategy == Strategy::Pact && r.trial == 3)
        .ok_or("pact trial 3")?;
    assert!((pact3.val_acc_mean - 0.4).abs() < 1e-12 && pact3.n_diverged == 1);
    assert_eq!(trials.iter().filter(|r| r.selected).count(), 3);
    // Files: trials.csv (one row per strategy × trial) and selected.json.
    t.write_selection(&selected, &trials)?;
    let csv = std::fs::read_to_string(t.tune.root.join("trials.csv"))?;
    assert_eq!(csv.lines().count(), 1 + 3 * 4);
    assert!(csv
        .lines()
        .next()
        .unwrap_or("")
        .contains("val_acc_mean,selected"));
    let sel: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(t.tune.root.join("selected.json"))?)?;
    assert_eq!(sel["selected"]["pact"]["trial"], 2);
    assert_eq!(sel["budget"], 4);
    // The final stage: the study's seeds at the selected settings.
    let fin = t.final_plan(&selected)?;
    assert_eq!(fin.runs.len(), 3 * 3);
    assert!(fin
        .runs
        .iter()
        .all(|r| r.stage == Stage::Final && r.config.epochs == 3 && r.config.evaluate_test));
    let pact_lr = t.trial_settings(2, 2)["optimizer.lr"].clone();
    assert!(fin
        .runs
        .iter()
        .filter(|r| r.strategy == Strategy::Pact)
        .all(
            |r| serde_json::to_value(r.config.optimizer.lr()).ok() == Some(pact_lr.clone())
                && r.trial == Some(2)
        ));
    Ok(())
}
