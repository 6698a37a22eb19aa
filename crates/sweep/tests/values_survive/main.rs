//! Property: for many random valid study files (random subsets of keys, random valid values,
//! grids, per-strategy settings, and so the overlaps between them), every value the file
//! gives reaches the `RunConfig` of the runs it applies to exactly as written, and is the
//! value of at least one run; or planning fails and names each value no run would use.
//!
//! The oracle reads the file back with `toml` alone and knows only the documented order of
//! precedence: top-level `theta_param` < the study's values (`[model.clip]`, ...) < a
//! strategy's own < `[grid]`. Fixed seed: a failure names its case and reproduces.
mod gen;
mod oracle;

use std::collections::BTreeSet;
use std::path::Path;

use clipbench_data::rng::SplitMix64;
use clipbench_sweep::source::path_text;
use clipbench_sweep::{RunPlan, SweepError};
use serde_json::Value as Json;
use toml::Value as Toml;

use gen::{study, Gen};
use oracle::{get, given, same, unused, winner, REQUIRED};

const CASES: u64 = 600;

fn check(case: u64, text: &str, plan: Result<RunPlan, SweepError>) -> bool {
    let doc: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("case {case}: {e}"));
    let all = given(&doc);
    let strategies: Vec<String> = all
        .iter()
        .filter(|g| g.key == "model.clip.strategy")
        .map(|g| g.only.clone().unwrap_or_default())
        .collect();
    let unused = unused(&all, &strategies);
    let plan = match plan {
        Ok(p) => p,
        Err(e) => {
            let e = e.to_string();
            assert!(
                !unused.is_empty(),
                "case {case}: a valid study was rejected:\n{e}\n---\n{text}"
            );
            for g in unused {
                let at = format!("{}: ", path_text(&g.path));
                assert!(
                    e.contains(&at) && e.contains("keep one"),
                    "case {case}: the error does not name the unused {at}:\n{e}\n---\n{text}"
                );
            }
            return false;
        }
    };
    assert!(
        unused.is_empty(),
        "case {case}: planned, but no run uses {:?}\n---\n{text}",
        unused
            .iter()
            .map(|g| path_text(&g.path))
            .collect::<Vec<_>>()
    );
    let seeds: BTreeSet<u64> = doc["seeds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_integer().map(|i| i as u64))
        .collect();
    let grid_size: usize = all
        .iter()
        .filter(|g| g.level == 3)
        .map(|g| g.values.len())
        .product();
    assert_eq!(
        plan.runs.len(),
        seeds.len() * strategies.len() * grid_size,
        "case {case}"
    );
    if let Some(name) = doc.get("name").and_then(Toml::as_str) {
        assert_eq!(plan.study, name, "case {case}");
    }
    // Every given value (every grid value) is some run's value.
    let mut taken: BTreeSet<(String, usize)> = BTreeSet::new();
    for r in &plan.runs {
        assert!(seeds.contains(&r.seed), "case {case}");
        let c = serde_json::to_value(&r.config).unwrap_or(Json::Null);
        assert_eq!(c["seed"], r.seed, "case {case}");
        assert!(same(&doc["dataset"], &c["dataset"]), "case {case}");
        let s = r.strategy.name();
        let keys: BTreeSet<&str> = all.iter().map(|g| g.key.as_str()).collect();
        for k in keys {
            let Some(w) = winner(&all, k, s) else {
                continue;
            };
            let v = get(&c, k);
            let i = w.values.iter().position(|t| same(t, v));
            assert!(
                i.is_some(),
                "case {case}: run {} has {k} = {v}, the file gives {} = {:?}\n---\n{text}",
                r.run_id,
                path_text(&w.path),
                w.values
            );
            if w.level == 3 {
                assert_eq!(&r.params[k], v, "case {case}: params");
            }
            taken.insert((path_text(&w.path), i.unwrap_or_default()));
        }
        assert!(r.config.threads <= plan.threads, "case {case}: threads");
    }
    for g in &all {
        if g.level == 1 && REQUIRED.contains(&g.key.as_str()) {
            continue;
        }
        for i in 0..g.values.len() {
            assert!(
                taken.contains(&(path_text(&g.path), i)),
                "case {case}: no run takes {}[{i}]\n---\n{text}",
                path_text(&g.path)
            );
        }
    }
    true
}

#[test]
fn every_value_of_a_valid_study_reaches_its_runs_or_the_study_is_rejected() {
    let mut g = Gen(SplitMix64::new(0x5eed_c11b));
    let (mut planned, mut rejected) = (0, 0);
    for case in 0..CASES {
        let text = study(&mut g, case);
        let plan = RunPlan::from_text(Path::new("study.toml"), &text, Path::new("out"));
        if check(case, &text, plan) {
            planned += 1;
        } else {
            rejected += 1;
        }
    }
    // Both outcomes must be exercised, the first well.
    assert!(
        planned >= CASES / 3,
        "planned {planned}, rejected {rejected}"
    );
    assert!(
        rejected >= CASES / 20,
        "planned {planned}, rejected {rejected}"
    );
}
