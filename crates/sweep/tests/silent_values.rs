//! Every value a study file gives is used as written or rejected with a located error: the
//! cases where a malformed or overridden value used to be accepted and silently replaced.

use std::path::Path;

use clipbench_sweep::{RunPlan, StudyPlan, SweepError, TunedStudy};

type Res = Result<(), Box<dyn std::error::Error>>;

/// Top-level keys come first: tables are appended after `[optimizer]`.
fn study(top: &str, tables: &str) -> String {
    format!(
        "dataset = \"synthetic\"\nseeds = [1]\nepochs = 1\n{top}\n[optimizer]\nkind = \"adam\"\nlr = 1e-3\n{tables}"
    )
}

fn plan(text: &str) -> Result<RunPlan, SweepError> {
    RunPlan::from_text(Path::new("s.toml"), text, Path::new("out"))
}

fn tuned(text: &str) -> Result<TunedStudy, SweepError> {
    match StudyPlan::from_text(Path::new("s.toml"), text, Path::new("out"))? {
        StudyPlan::Tuned(t) => Ok(*t),
        StudyPlan::Plain(_) => Err(SweepError::Usage("expected a tuned study".into())),
    }
}

/// The error's problem lines (`FILE:LINE:COL: KEY: message`), or "planned" when it planned.
fn problems(r: Result<impl Sized, SweepError>) -> Vec<String> {
    match r {
        Ok(_) => vec!["planned".into()],
        Err(e) => {
            let text = e.to_string();
            let lines: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
            // One problem: "FILE:...: msg"; several: a header line, then one per problem.
            if lines.len() == 1 {
                lines
            } else {
                lines[1..].to_vec()
            }
        }
    }
}

const TUNE: &str = "[tune]\nbudget = 2\nseeds = [101]\n";

#[test]
fn lists_longer_than_the_setting_are_errors_not_truncated() {
    // Before: theta0 = [5, 6, 7] planned runs with θ0 = [5, 6], the 7 dropped.
    for (top, tables, want) in [
        (
            "strategies = [\"pact\"]",
            "[model.clip]\ntheta0 = [1.0, 2.0, 3.0]\n",
            "s.toml:9:10: model.clip.theta0: invalid length 3, expected an array of length 2",
        ),
        (
            "strategies = [{ name = \"pact\", theta0 = [5.0, 6.0, 7.0] }]",
            "",
            "s.toml:4:41: strategies[0].theta0: invalid length 3, expected an array of length 2",
        ),
        (
            "strategies = [\"pact\"]",
            "[model]\nwidths = [8, 16, 32]\n",
            "s.toml:9:10: model.widths: invalid length 3, expected an array of length 2",
        ),
        (
            "strategies = [\"pact\"]",
            "[model]\ninput = [3, 32, 32, 1]\n",
            "s.toml:9:9: model.input: invalid length 4, expected an array of length 3",
        ),
        (
            "strategies = [\"pact\"]",
            "[model.clip]\ntheta0 = [1.0]\n",
            "s.toml:9:10: model.clip.theta0: invalid length 1, expected an array of length 2",
        ),
    ] {
        assert_eq!(problems(plan(&study(top, tables))), [want], "{tables}{top}");
    }
}

#[test]
fn a_strategys_own_setting_that_tuning_replaces_is_an_error() -> Res {
    // Before: every tuning and final run of pact took the tuned θ0, never [5, 6].
    let own = study(
        "strategies = [\"none\", { name = \"pact\", theta0 = [5.0, 6.0] }]",
        &format!(
            "{TUNE}[tune.space]\n\"optimizer.lr\" = {{ log = [1e-4, 1e-2] }}\n[tune.space.pact]\n\"model.clip.theta0\" = {{ log = [1.0, 10.0] }}\n"
        ),
    );
    assert_eq!(
        problems(tuned(&own)),
        ["s.toml:4:49: strategies[1].theta0: strategy pact sets theta0, which [tune.space.pact] also tunes (\"model.clip.theta0\"): keep one"]
    );
    let shared = study(
        "strategies = [{ name = \"pact\", beta = 3.0 }]",
        &format!("{TUNE}[tune.space]\n\"model.clip.beta\" = {{ log = [1.0, 10.0] }}\n"),
    );
    assert_eq!(
        problems(tuned(&shared)),
        ["s.toml:4:39: strategies[0].beta: strategy pact sets beta, which [tune.space] also tunes (\"model.clip.beta\"): keep one"]
    );
    // Another strategy's θ0 is its own business.
    let other = own.replace("[tune.space.pact]", "[tune.space.none]");
    let t = tuned(&other)?;
    let pact = t.tune.runs.iter().filter(|r| r.strategy.name() == "pact");
    assert!(pact.clone().count() > 0);
    for r in pact {
        assert_eq!(r.config.model.clip.theta0, [5.0, 6.0]);
    }
    Ok(())
}

#[test]
fn a_model_clip_value_that_every_strategy_overrides_is_an_error() -> Res {
    // Before: [3, 4] was used by no run, without a word.
    let text = study(
        "strategies = [{ name = \"pact\", theta0 = [5.0, 6.0] }]",
        "[model.clip]\ntheta0 = [3.0, 4.0]\n",
    );
    assert_eq!(
        problems(plan(&text)),
        ["s.toml:9:10: model.clip.theta0: no run would use this value: every strategy takes its theta0 from strategies[0].theta0 instead: keep one"]
    );
    // With one strategy that takes it, it is the study's default, as documented.
    let p = plan(&text.replace("strategies = [", "strategies = [\"tanh-fixed\", "))?;
    let theta0: Vec<[f64; 2]> = p.runs.iter().map(|r| r.config.model.clip.theta0).collect();
    assert_eq!(theta0, [[3.0, 4.0], [5.0, 6.0]]);
    Ok(())
}

#[test]
fn theta_param_at_the_top_and_in_model_clip_is_an_error() {
    // Before: [model.clip]'s "direct" silently won over the top level's "softplus".
    let text = study(
        "strategies = [\"pact\", \"none\"]\ntheta_param = \"softplus\"",
        "[model.clip]\ntheta_param = \"direct\"\n",
    );
    assert_eq!(
        problems(plan(&text)),
        ["s.toml:5:15: theta_param: no run would use this value: every strategy takes its theta_param from model.clip.theta_param instead: keep one"]
    );
}

#[test]
fn a_study_value_that_the_grid_replaces_is_an_error_unless_the_format_requires_it() -> Res {
    // Before: [model.clip] beta = 3 and batch_size = 32 were used by no run.
    let beta = study(
        "strategies = [\"pact\"]",
        "[model.clip]\nbeta = 3.0\n[grid]\n\"model.clip.beta\" = [1.0, 2.0]\n",
    );
    assert_eq!(
        problems(plan(&beta)),
        ["s.toml:9:8: model.clip.beta: no run would use this value: every strategy takes its beta from grid.\"model.clip.beta\" instead: keep one"]
    );
    let batch = study(
        "strategies = [\"pact\"]\nbatch_size = 32",
        "[grid]\nbatch_size = [16, 64]\n",
    );
    assert_eq!(
        problems(plan(&batch)),
        ["s.toml:5:14: batch_size: no run would use this value: every strategy takes its batch_size from grid.batch_size instead: keep one"]
    );
    // optimizer.lr, epochs and a step schedule's settings must be given even when gridded.
    let required = study(
        "strategies = [\"pact\"]",
        "[schedule]\nkind = \"step\"\nevery_epochs = 1\ngamma = 0.5\n[grid]\n\"optimizer.lr\" = [1e-2, 1e-3]\nepochs = [1, 2]\n\"schedule.gamma\" = [0.1, 0.2]\n",
    );
    assert_eq!(plan(&required)?.runs.len(), 8);
    Ok(())
}

#[test]
fn a_study_value_that_every_strategy_tunes_is_an_error() -> Res {
    let text = study(
        "strategies = [\"pact\", \"none\"]",
        &format!("[model.clip]\nbeta = 3.0\n{TUNE}[tune.space]\n\"model.clip.beta\" = {{ log = [1.0, 10.0] }}\n"),
    );
    assert_eq!(
        problems(tuned(&text)),
        ["s.toml:9:8: model.clip.beta: no run would use this value: every strategy takes its beta from tune.space.\"model.clip.beta\" instead: keep one"]
    );
    // Tuned for one strategy only: the others run at [model.clip]'s value (experiments/main.toml).
    let one = text.replace("[tune.space]", "[tune.space.pact]");
    let t = tuned(&one.replace(
        "[tune.space.pact]",
        "[tune.space]\n\"optimizer.lr\" = { log = [1e-4, 1e-2] }\n[tune.space.pact]",
    ))?;
    assert!(t
        .tune
        .runs
        .iter()
        .filter(|r| r.strategy.name() == "none")
        .all(|r| r.config.model.clip.beta == 3.0));
    Ok(())
}

#[test]
fn a_shared_range_that_every_strategy_replaces_is_an_error() {
    let text = study(
        "strategies = [\"pact\", \"none\"]",
        &format!(
            "{TUNE}[tune.space]\n\"optimizer.lr\" = {{ log = [1e-4, 1e-2] }}\n[tune.space.pact]\n\"optimizer.lr\" = {{ log = [1e-4, 1e-3] }}\n[tune.space.none]\n\"optimizer.lr\" = {{ log = [1e-3, 1e-2] }}\n"
        ),
    );
    assert_eq!(
        problems(tuned(&text)),
        ["s.toml:12:18: tune.space.\"optimizer.lr\": no strategy would use this range: every strategy gives its own (tune.space.pact.\"optimizer.lr\", tune.space.none.\"optimizer.lr\"): keep one"]
    );
}

#[test]
fn a_choice_is_used_as_written() -> Res {
    // Before: batch_size = { choice = [32.5, 64] } ran trials at 33 and 64.
    let choice = |values: &str| {
        study(
            "strategies = [\"pact\"]",
            &format!("{TUNE}[tune.space]\nbatch_size = {{ choice = [{values}] }}\n"),
        )
    };
    assert_eq!(
        problems(tuned(&choice("32.5, 64"))),
        ["s.toml:12:14: tune.space.batch_size: value 32.5 does not fit `batch_size`: invalid type: floating point `32.5`, expected usize"]
    );
    let t = tuned(&choice("32, 64"))?;
    let mut sizes: Vec<usize> = t.tune.runs.iter().map(|r| r.config.batch_size).collect();
    sizes.sort();
    assert_eq!(sizes, [32, 64]);
    // A continuous draw for an integer setting still takes the nearest integer (documented).
    let uniform = study(
        "strategies = [\"pact\"]",
        &format!("{TUNE}[tune.space]\nbatch_size = {{ uniform = [16, 128] }}\n"),
    );
    assert_eq!(tuned(&uniform)?.tune.runs.len(), 2);
    Ok(())
}

#[test]
fn the_constant_schedule_takes_no_settings() -> Res {
    // Before: serde ignores the other keys of `kind = "constant"`: gamma vanished.
    let text = study(
        "strategies = [\"pact\"]",
        "[schedule]\nkind = \"constant\"\ngamma = 0.5\n",
    );
    assert_eq!(
        problems(plan(&text)),
        ["s.toml:10:9: schedule.gamma: unknown field `gamma`: the constant schedule takes no settings (kind = \"step\" takes every_epochs and gamma, kind = \"cosine\" min_lr)"]
    );
    plan(&text.replace("gamma = 0.5\n", ""))?;
    Ok(())
}

#[test]
fn gridded_threads_size_the_runner() -> Res {
    // Before: the plan said 1 thread per run (the study's default) while runs took 4, so
    // the local pool and Slurm's --cpus-per-task oversubscribed the machine.
    let p = plan(&study(
        "strategies = [\"pact\"]",
        "[grid]\nthreads = [1, 4]\n",
    ))?;
    assert_eq!(p.threads, 4);
    Ok(())
}
