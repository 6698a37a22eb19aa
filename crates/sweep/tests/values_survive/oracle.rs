//! The oracle: the values a study file gives, read back with `toml` alone, and which of them
//! a run of each strategy takes under the documented order of precedence.

use clipbench_sweep::source::Seg;
use serde_json::Value as Json;
use toml::Value as Toml;

/// Keys a study must give even when `[grid]` sweeps them (serde requires them).
pub const REQUIRED: [&str; 4] = [
    "epochs",
    "optimizer.lr",
    "schedule.every_epochs",
    "schedule.gamma",
];

/// One value the file gives, as the oracle sees it.
#[derive(Debug)]
pub struct Given {
    pub path: Vec<Seg>,
    /// The `RunConfig` key it sets (dotted).
    pub key: String,
    /// Precedence: 0 top-level theta_param, 1 the study's, 2 a strategy's own, 3 `[grid]`.
    pub level: u8,
    /// The strategy it applies to; None: every strategy.
    pub only: Option<String>,
    /// The value; for a grid key, its values.
    pub values: Vec<Toml>,
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

/// Every value of `doc` that sets a `RunConfig` key.
pub fn given(doc: &toml::Table) -> Vec<Given> {
    let mut out = Vec::new();
    let mut add = |path: Vec<Seg>, key: String, level, only, values| {
        out.push(Given {
            path,
            key,
            level,
            only,
            values,
        })
    };
    for (k, v) in doc {
        match (k.as_str(), v) {
            ("name" | "description" | "seeds", _) => {}
            ("theta_param", v) => add(
                vec![key(k)],
                "model.clip.theta_param".into(),
                0,
                None,
                vec![v.clone()],
            ),
            ("model" | "optimizer" | "schedule", Toml::Table(t)) => {
                for (k2, v2) in t {
                    if let (true, Toml::Table(clip)) = (k2 == "clip", v2) {
                        for (f, v3) in clip {
                            add(
                                vec![key(k), key(k2), key(f)],
                                format!("model.clip.{f}"),
                                1,
                                None,
                                vec![v3.clone()],
                            );
                        }
                    } else {
                        add(
                            vec![key(k), key(k2)],
                            format!("{k}.{k2}"),
                            1,
                            None,
                            vec![v2.clone()],
                        );
                    }
                }
            }
            ("strategies", Toml::Array(entries)) => {
                for (i, e) in entries.iter().enumerate() {
                    let (name, fields) = match e {
                        Toml::String(s) => (s.clone(), toml::Table::new()),
                        Toml::Table(t) => (
                            t["name"].as_str().unwrap_or_default().to_string(),
                            t.clone(),
                        ),
                        _ => continue,
                    };
                    add(
                        vec![key(k), Seg::Index(i)],
                        "model.clip.strategy".into(),
                        2,
                        Some(name.clone()),
                        vec![Toml::String(name.clone())],
                    );
                    for (f, v2) in fields.iter().filter(|(f, _)| *f != "name") {
                        add(
                            vec![key(k), Seg::Index(i), key(f)],
                            format!("model.clip.{f}"),
                            2,
                            Some(name.clone()),
                            vec![v2.clone()],
                        );
                    }
                }
            }
            ("grid", Toml::Table(t)) => {
                for (gk, values) in t {
                    let values = values.as_array().cloned().unwrap_or_default();
                    add(vec![key(k), key(gk)], gk.clone(), 3, None, values);
                }
            }
            (_, v) => add(vec![key(k)], k.clone(), 1, None, vec![v.clone()]),
        }
    }
    out
}

/// Whether the TOML value `t` and the config's JSON value `j` are the same value.
pub fn same(t: &Toml, j: &Json) -> bool {
    match (t, j) {
        (Toml::Integer(i), Json::Number(n)) => match n.as_i64() {
            Some(m) => *i == m,
            None => n.as_f64() == Some(*i as f64),
        },
        (Toml::Float(f), Json::Number(n)) => n.as_f64() == Some(*f),
        (Toml::Boolean(a), Json::Bool(b)) => a == b,
        (Toml::String(a), Json::String(b)) => a == b,
        (Toml::Array(a), Json::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        _ => false,
    }
}

pub fn get<'a>(v: &'a Json, dotted: &str) -> &'a Json {
    dotted
        .split('.')
        .fold(v, |v, k| v.get(k).unwrap_or(&Json::Null))
}

/// The value that wins for `key` in a run of `strategy`: the highest level that applies.
pub fn winner<'a>(all: &'a [Given], key: &str, strategy: &str) -> Option<&'a Given> {
    all.iter()
        .filter(|g| g.key == key && g.only.as_deref().is_none_or(|s| s == strategy))
        .max_by_key(|g| g.level)
}

/// The values no run would take (each needs a run of some strategy where it wins),
/// leaving out required keys that the grid sweeps.
pub fn unused<'a>(all: &'a [Given], strategies: &[String]) -> Vec<&'a Given> {
    all.iter()
        .filter(|g| {
            let wins = strategies.iter().any(|s| {
                g.only.as_deref().is_none_or(|o| o == s)
                    && winner(all, &g.key, s).is_some_and(|w| std::ptr::eq(w, *g))
            });
            let exempt = g.level == 1 && REQUIRED.contains(&g.key.as_str());
            !(wins || exempt)
        })
        .collect()
}
