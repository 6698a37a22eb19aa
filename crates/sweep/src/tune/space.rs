//! The `[tune]` section of a study file (**contract**, README "Tuning"):
//!
//! ```toml
//! [tune]
//! budget = 8                  # trials per strategy: the same for every strategy
//! seeds = [101]               # tuning seeds, disjoint from the study's final `seeds`
//! epochs = 2                  # optional: shorter tuning runs
//! train_limit = 20000         # optional
//! seed = 0                    # optional: the quasi-random sequence's seed
//! [tune.space]                # one entry per dotted run setting, for every strategy
//! "optimizer.lr" = { log = [3e-4, 3e-3] }
//! [tune.space.pact]           # per strategy: adds keys, or replaces a shared key's range
//! "model.clip.theta0" = { log = [1.0, 10.0] }
//! "optimizer.theta_decay" = { choice = [0.0, 1e-4, 1e-3] }
//! ```
//! A distribution is `{ log = [lo, hi] }` (0 < lo < hi), `{ uniform = [lo, hi] }` or
//! `{ choice = [v, ...] }`. A scalar drawn for a list-valued setting (θ0 of the two clip
//! layers) is used for every element; `choice` may list whole lists instead.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value as Json;

/// `[tune]` as written.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuneSpec {
    pub budget: usize,
    pub seeds: Vec<u64>,
    #[serde(default)]
    pub epochs: Option<u32>,
    #[serde(default)]
    pub train_limit: Option<usize>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub space: BTreeMap<String, toml::Value>,
}

/// One dimension's distribution.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    Log(f64, f64),
    Uniform(f64, f64),
    Choice(Vec<toml::Value>),
}

impl Dist {
    /// Parses `{ log = [lo, hi] }` etc.; the error says what was expected.
    pub fn parse(v: &toml::Value) -> Result<Dist, String> {
        let expected = "expected { log = [lo, hi] }, { uniform = [lo, hi] } or { choice = [...] }";
        let toml::Value::Table(t) = v else {
            return Err(format!("{expected}, got {v}"));
        };
        let (kind, arg) = match t.iter().collect::<Vec<_>>()[..] {
            [(k, a)] => (k.as_str(), a),
            _ => return Err(format!("{expected}, got {v}")),
        };
        let pair = |a: &toml::Value| -> Result<(f64, f64), String> {
            let num = |x: &toml::Value| match x {
                toml::Value::Integer(i) => Some(*i as f64),
                toml::Value::Float(f) if f.is_finite() => Some(*f),
                _ => None,
            };
            match a
                .as_array()
                .map(|a| a.iter().map(num).collect::<Option<Vec<f64>>>())
            {
                Some(Some(p)) if p.len() == 2 && p[0] < p[1] => Ok((p[0], p[1])),
                _ => Err(format!(
                    "{kind}: expected [lo, hi], two finite numbers with lo < hi, got {a}"
                )),
            }
        };
        match kind {
            "log" => {
                let (lo, hi) = pair(arg)?;
                if lo <= 0.0 {
                    return Err(format!("log: expected 0 < lo, got lo = {lo}"));
                }
                Ok(Dist::Log(lo, hi))
            }
            "uniform" => {
                let (lo, hi) = pair(arg)?;
                Ok(Dist::Uniform(lo, hi))
            }
            "choice" => match arg.as_array() {
                Some(a) if !a.is_empty() => Ok(Dist::Choice(a.clone())),
                _ => Err(format!("choice: expected a non-empty list, got {arg}")),
            },
            other => Err(format!("unknown distribution `{other}`: {expected}")),
        }
    }

    /// The value at unit coordinate `u` ∈ [0, 1) as TOML (grid::convert then shapes it).
    pub fn at(&self, u: f64) -> toml::Value {
        match self {
            Dist::Log(lo, hi) => toml::Value::Float((lo.ln() + u * (hi.ln() - lo.ln())).exp()),
            Dist::Uniform(lo, hi) => toml::Value::Float(lo + u * (hi - lo)),
            Dist::Choice(v) => v[((u * v.len() as f64) as usize).min(v.len() - 1)].clone(),
        }
    }

    /// The text the report and trials.csv show: "log [0.0003, 0.003]".
    pub fn describe(&self) -> String {
        match self {
            Dist::Log(lo, hi) => format!("log [{lo}, {hi}]"),
            Dist::Uniform(lo, hi) => format!("uniform [{lo}, {hi}]"),
            Dist::Choice(v) => format!(
                "choice {{{}}}",
                v.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl Dist {
    /// `v`, drawn from this distribution, shaped like the base config's setting `base`: a
    /// continuous draw for an integer setting is rounded ([`shape_value`]), but a `choice`
    /// is a value the file wrote, used as written (a scalar for a list setting repeated).
    pub fn shaped(&self, base: &Json, v: &toml::Value) -> toml::Value {
        match (self, base, v) {
            (Dist::Choice(_), Json::Array(_), toml::Value::Float(_) | toml::Value::Integer(_)) => {
                shape_value(base, v)
            }
            (Dist::Choice(_), _, _) => v.clone(),
            _ => shape_value(base, v),
        }
    }
}

/// A drawn value shaped like the base config's setting: a scalar drawn for a list setting is
/// repeated; an integer setting gets the nearest integer.
pub fn shape_value(base: &Json, v: &toml::Value) -> toml::Value {
    match (base, v) {
        (Json::Array(a), toml::Value::Float(_) | toml::Value::Integer(_)) => {
            toml::Value::Array(a.iter().map(|_| v.clone()).collect())
        }
        (Json::Number(n), toml::Value::Float(f)) if n.is_u64() || n.is_i64() => {
            toml::Value::Integer(f.round() as i64)
        }
        _ => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> toml::Value {
        toml::from_str::<toml::Table>(&format!("x = {s}"))
            .map(|t| t["x"].clone())
            .unwrap_or(toml::Value::Boolean(false))
    }

    #[test]
    fn distributions_parse_and_map_the_unit_interval() {
        let log = Dist::parse(&t("{ log = [1e-4, 1e-2] }"));
        assert_eq!(log, Ok(Dist::Log(1e-4, 1e-2)));
        let log = log.unwrap_or(Dist::Log(1.0, 2.0));
        match log.at(0.5) {
            toml::Value::Float(v) => assert!((v - 1e-3).abs() < 1e-15),
            other => panic!("{other}"),
        }
        let u = Dist::parse(&t("{ uniform = [0, 4] }")).unwrap_or(Dist::Log(1.0, 2.0));
        assert_eq!(u.at(0.25), toml::Value::Float(1.0));
        let c = Dist::parse(&t("{ choice = [0.0, 1e-4, 1e-3] }")).unwrap_or(Dist::Log(1.0, 2.0));
        assert_eq!(c.at(0.0), toml::Value::Float(0.0));
        assert_eq!(c.at(0.999), toml::Value::Float(1e-3));
    }

    #[test]
    fn bad_distributions_say_what_was_expected() {
        for (s, want) in [
            ("{ log = [0, 1] }", "0 < lo"),
            ("{ log = [2, 1] }", "lo < hi"),
            ("{ uniform = [1] }", "[lo, hi]"),
            ("{ choice = [] }", "non-empty"),
            ("{ normal = [0, 1] }", "unknown distribution"),
            ("{ log = [1, 2], uniform = [1, 2] }", "expected { log"),
            ("3", "expected { log"),
        ] {
            let e = Dist::parse(&t(s)).err().unwrap_or_default();
            assert!(e.contains(want), "{s}: {e}");
        }
    }

    #[test]
    fn values_take_the_shape_of_the_setting() {
        let base = serde_json::json!([1.0, 2.0]);
        assert_eq!(
            shape_value(&base, &toml::Value::Float(3.0)),
            t("[3.0, 3.0]")
        );
        let epochs = serde_json::json!(3);
        assert_eq!(
            shape_value(&epochs, &toml::Value::Float(4.4)),
            toml::Value::Integer(4)
        );
    }
}
