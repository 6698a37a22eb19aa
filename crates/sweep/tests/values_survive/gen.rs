//! The generator: random valid study files, each value valid on its own, with the overlaps
//! between study values, strategies' own values and grid keys left to chance.

use std::collections::BTreeSet;

use clipbench_clip::Strategy;
use clipbench_data::rng::SplitMix64;
use clipbench_data::DatasetName;

pub struct Gen(pub SplitMix64);

impl Gen {
    fn chance(&mut self, p: f64) -> bool {
        self.0.next_f64() < p
    }
    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.0.below(hi - lo + 1)
    }
    /// A float in [lo, hi) with a short decimal form now and then, full precision otherwise.
    fn float(&mut self, lo: f64, hi: f64) -> f64 {
        let x = self.0.uniform(lo, hi);
        if self.chance(0.5) {
            let r = (x * 1000.0).round() / 1000.0;
            if r >= lo && r < hi {
                return r;
            }
        }
        x
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.0.below(xs.len() as u64) as usize]
    }
}

/// A TOML float literal that reads back as exactly `x`.
fn lit(x: f64) -> String {
    format!("{x:?}")
}

/// One numeric setting: its dotted key and a generator of valid values as TOML literals.
type ValueGen = fn(&mut Gen) -> String;

fn theta0(g: &mut Gen) -> String {
    format!(
        "[{}, {}]",
        lit(g.float(0.01, 20.0)),
        lit(g.float(0.01, 20.0))
    )
}
fn widths(g: &mut Gen) -> String {
    format!("[{}, {}]", g.int(1, 48), g.int(1, 48))
}

/// The text of a random valid study: each value valid on its own, overlaps left to chance.
pub fn study(g: &mut Gen, case: u64) -> String {
    let mut top: Vec<String> = Vec::new();
    let mut tables: Vec<String> = Vec::new();
    let dataset = *g.pick(&DatasetName::ALL);
    if g.chance(0.3) {
        top.push(format!("name = \"case-{case}\""));
    }
    top.push(format!("dataset = \"{dataset}\""));
    top.push(strategies(g));
    let mut seeds = BTreeSet::new();
    for _ in 0..g.int(1, 3) {
        seeds.insert(g.int(0, 999));
    }
    let seeds: Vec<String> = seeds.iter().map(u64::to_string).collect();
    top.push(format!("seeds = [{}]", seeds.join(", ")));
    top.push(format!("epochs = {}", g.int(1, 5)));

    let mut numeric: Vec<(&'static str, ValueGen)> = vec![
        ("epochs", |g| g.int(1, 5).to_string()),
        ("batch_size", |g| g.int(1, 256).to_string()),
        ("log_every", |g| g.int(1, 100).to_string()),
        ("threads", |g| g.int(1, 8).to_string()),
        ("train_limit", |g| g.int(1, 10_000).to_string()),
        ("test_limit", |g| g.int(1, 10_000).to_string()),
        ("validation", |g| g.int(1, 5000).to_string()),
        ("split_seed", |g| g.int(0, 999).to_string()),
        ("model.widths", widths),
        ("model.clip.theta0", theta0),
        ("model.clip.beta", |g| lit(g.float(0.1, 10.0))),
        ("optimizer.lr", |g| lit(g.float(1e-5, 1.0))),
        ("optimizer.weight_decay", |g| lit(g.float(0.0, 0.01))),
    ];
    let optional_top: [(&str, ValueGen); 8] = [
        ("batch_size", numeric[1].1),
        ("log_every", numeric[2].1),
        ("threads", numeric[3].1),
        ("train_limit", numeric[4].1),
        ("test_limit", numeric[5].1),
        ("split_seed", numeric[7].1),
        ("device", |g| format!("\"{}\"", g.pick(&["cpu", "cuda"]))),
        ("theta_param", |g| {
            format!("\"{}\"", g.pick(&["direct", "softplus"]))
        }),
    ];
    for (k, f) in optional_top {
        if g.chance(0.3) {
            top.push(format!("{k} = {}", f(g)));
        }
    }
    if g.chance(0.15) {
        // No validation split needs the last epoch.
        top.push("validation = 0".into());
        top.push("selection = \"last\"".into());
    } else {
        if g.chance(0.3) {
            top.push(format!("validation = {}", numeric[6].1(g)));
        }
        if g.chance(0.2) {
            top.push(format!("selection = \"{}\"", g.pick(&["best-val", "last"])));
        }
    }

    let mut model = Vec::new();
    if dataset == DatasetName::Synthetic {
        if g.chance(0.4) {
            model.push(format!(
                "input = {}",
                g.pick(&["[1, 28, 28]", "[3, 32, 32]"])
            ));
        }
        numeric.push(("model.input", |g| {
            g.pick(&["[1, 28, 28]", "[3, 32, 32]"]).to_string()
        }));
    } else if g.chance(0.3) {
        model.push(format!("input = {:?}", dataset.shape()));
    }
    if g.chance(0.3) {
        model.push(format!("widths = {}", widths(g)));
    }
    if !model.is_empty() {
        tables.push(format!("[model]\n{}", model.join("\n")));
    }
    let mut clip = Vec::new();
    for (k, f) in [
        ("theta0", theta0 as ValueGen),
        ("beta", numeric[10].1),
        ("per_channel", |g| g.chance(0.5).to_string()),
        ("theta_param", optional_top[7].1),
    ] {
        if g.chance(0.3) {
            clip.push(format!("{k} = {}", f(g)));
        }
    }
    if !clip.is_empty() {
        tables.push(format!("[model.clip]\n{}", clip.join("\n")));
    }

    tables.push(optimizer(g, &mut numeric));
    if let Some(s) = schedule(g, &mut numeric) {
        tables.push(s);
    }

    let mut grid = Vec::new();
    for _ in 0..g.int(0, 2) {
        let (key, f) = *g.pick(&numeric);
        if grid.iter().any(|(k, _): &(&str, Vec<String>)| *k == key) {
            continue;
        }
        let mut values: Vec<String> = Vec::new();
        for _ in 0..g.int(1, 3) {
            let v = f(g);
            if !values.contains(&v) {
                values.push(v);
            }
        }
        grid.push((key, values));
    }
    if !grid.is_empty() {
        let lines: Vec<String> = grid
            .iter()
            .map(|(k, v)| format!("\"{k}\" = [{}]", v.join(", ")))
            .collect();
        tables.push(format!("[grid]\n{}", lines.join("\n")));
    }
    format!("{}\n\n{}\n", top.join("\n"), tables.join("\n\n"))
}

/// A random non-empty set of strategies, some with their own clip settings.
fn strategies(g: &mut Gen) -> String {
    let mut entries = Vec::new();
    for s in Strategy::ALL {
        if !g.chance(0.4) {
            continue;
        }
        let mut own = Vec::new();
        if g.chance(0.25) {
            own.push(format!("theta0 = {}", theta0(g)));
        }
        if g.chance(0.2) {
            own.push(format!("beta = {}", lit(g.float(0.1, 10.0))));
        }
        if g.chance(0.15) {
            own.push(format!("per_channel = {}", g.chance(0.5)));
        }
        if g.chance(0.15) {
            own.push(format!(
                "theta_param = \"{}\"",
                g.pick(&["direct", "softplus"])
            ));
        }
        entries.push(if own.is_empty() && g.chance(0.7) {
            format!("\"{}\"", s.name())
        } else {
            let mut fields = vec![format!("name = \"{}\"", s.name())];
            fields.extend(own);
            format!("{{ {} }}", fields.join(", "))
        });
    }
    if entries.is_empty() {
        entries.push(format!("\"{}\"", g.pick(&Strategy::ALL).name()));
    }
    format!("strategies = [{}]", entries.join(", "))
}

fn optimizer(g: &mut Gen, numeric: &mut Vec<(&'static str, ValueGen)>) -> String {
    let sgd = g.chance(0.5);
    let mut lines = vec![
        format!("kind = \"{}\"", if sgd { "sgd" } else { "adam" }),
        format!("lr = {}", lit(g.float(1e-5, 1.0))),
    ];
    // Dotted keys: `[grid]` may sweep them (weight_decay is in `numeric` already).
    let mut own: Vec<(&'static str, ValueGen)> = if sgd {
        vec![("optimizer.momentum", |g| lit(g.float(0.0, 0.99)))]
    } else {
        vec![
            ("optimizer.beta1", |g| lit(g.float(0.0, 0.99))),
            ("optimizer.beta2", |g| lit(g.float(0.0, 0.999))),
            ("optimizer.eps", |g| lit(g.float(1e-10, 1e-6))),
        ]
    };
    // theta_weight_decay = true and a positive theta_decay contradict each other.
    if g.chance(0.2) {
        lines.push("theta_weight_decay = true".into());
    } else {
        own.push(("optimizer.theta_decay", |g| lit(g.float(0.0, 0.01))));
        if g.chance(0.2) {
            lines.push("theta_weight_decay = false".into());
        }
    }
    if sgd && g.chance(0.3) {
        lines.push(format!("nesterov = {}", g.chance(0.5)));
    }
    if g.chance(0.3) {
        lines.push(format!("weight_decay = {}", lit(g.float(0.0, 0.01))));
    }
    for (k, f) in own {
        if g.chance(0.3) {
            let field = k.trim_start_matches("optimizer.");
            lines.push(format!("{field} = {}", f(g)));
        }
        numeric.push((k, f));
    }
    format!("[optimizer]\n{}", lines.join("\n"))
}

fn schedule(g: &mut Gen, numeric: &mut Vec<(&'static str, ValueGen)>) -> Option<String> {
    match g.int(0, 3) {
        0 => None,
        1 => Some("[schedule]\nkind = \"constant\"".into()),
        2 => {
            numeric.push(("schedule.every_epochs", |g| g.int(1, 5).to_string()));
            numeric.push(("schedule.gamma", |g| lit(g.float(0.1, 1.0))));
            Some(format!(
                "[schedule]\nkind = \"step\"\nevery_epochs = {}\ngamma = {}",
                g.int(1, 5),
                lit(g.float(0.1, 1.0))
            ))
        }
        _ => {
            numeric.push(("schedule.min_lr", |g| lit(g.float(0.0, 1e-4))));
            let min = if g.chance(0.5) {
                format!("\nmin_lr = {}", lit(g.float(0.0, 1e-4)))
            } else {
                String::new()
            };
            Some(format!("[schedule]\nkind = \"cosine\"{min}"))
        }
    }
}
