//! Grids over numeric run settings, addressed by dotted keys of the run config
//! (`optimizer.lr`, `model.clip.beta`, `model.clip.theta0`, `epochs`, ...).
//!
//! A grid value replaces the setting in the JSON form of the run config, which is then read
//! back as a `RunConfig`: the key must exist in the config (for the study's optimizer kind),
//! the value must have the setting's shape (a number, or for θ0 a list of two numbers), and
//! serde checks the exact type (an integer for `epochs`).

use serde_json::Value as Json;

/// One gridded setting: its dotted key and the values to take, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub key: String,
    pub values: Vec<Json>,
}

/// Settings that exist but must not be gridded here, and what to use instead.
const NOT_GRIDDED: [(&str, &str); 3] = [
    ("seed", "list the seeds in `seeds`"),
    ("model.clip.strategy", "list the strategies in `strategies`"),
    ("dataset", "one data set per study"),
];

/// Nullable numeric settings (absent in the base config when not set).
const OPTIONAL_NUMERIC: [&str; 2] = ["train_limit", "test_limit"];

pub fn get<'a>(v: &'a Json, key: &str) -> Option<&'a Json> {
    key.split('.').try_fold(v, |v, k| v.get(k))
}

fn get_mut<'a>(v: &'a mut Json, key: &str) -> Option<&'a mut Json> {
    key.split('.').try_fold(v, |v, k| v.get_mut(k))
}

fn is_numeric(v: &Json) -> bool {
    match v {
        Json::Number(_) => true,
        Json::Array(a) => !a.is_empty() && a.iter().all(Json::is_number),
        _ => false,
    }
}

/// Every numeric setting of a base config, as dotted keys (for "valid keys are ..." messages).
pub fn numeric_keys(base: &Json) -> Vec<String> {
    fn walk(v: &Json, prefix: &str, out: &mut Vec<String>) {
        if let Json::Object(m) = v {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if is_numeric(v) && key != "seed" {
                    out.push(key);
                } else {
                    walk(v, &key, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(base, "", &mut out);
    for k in OPTIONAL_NUMERIC {
        if !out.iter().any(|o| o == k) {
            out.push(k.to_string());
        }
    }
    out.sort();
    out
}

/// Checks that `key` is a numeric setting of `base`; the error says what is expected.
pub fn check_key(base: &Json, key: &str) -> Result<(), String> {
    if let Some((_, instead)) = NOT_GRIDDED.iter().find(|(k, _)| *k == key) {
        return Err(format!("`{key}` cannot be a grid key: {instead}"));
    }
    match get(base, key) {
        Some(v) if is_numeric(v) => Ok(()),
        Some(Json::Null) if OPTIONAL_NUMERIC.contains(&key) => Ok(()),
        Some(_) => Err(format!(
            "`{key}` is not a numeric setting; numeric settings are: {}",
            numeric_keys(base).join(", ")
        )),
        None => Err(format!(
            "unknown setting `{key}`; numeric settings of this study are: {}",
            numeric_keys(base).join(", ")
        )),
    }
}

/// A TOML grid value as JSON of the setting's shape, or what was expected.
pub fn convert(base: &Json, key: &str, v: &toml::Value) -> Result<Json, String> {
    fn num(v: &toml::Value) -> Option<Json> {
        match v {
            toml::Value::Integer(i) => Some(Json::from(*i)),
            toml::Value::Float(f) if f.is_finite() => {
                serde_json::Number::from_f64(*f).map(Json::Number)
            }
            _ => None,
        }
    }
    let shape = get(base, key);
    match shape {
        Some(Json::Array(a)) => {
            let want = a.len();
            match v {
                toml::Value::Array(items) if items.len() == want => items
                    .iter()
                    .map(num)
                    .collect::<Option<Vec<_>>>()
                    .map(Json::Array)
                    .ok_or_else(|| format!("expected a list of {want} finite numbers, got {v}")),
                _ => Err(format!("expected a list of {want} finite numbers, got {v}")),
            }
        }
        _ => num(v).ok_or_else(|| format!("expected a finite number, got {v}")),
    }
}

/// `base` with `key` set to `value`.
pub fn apply(base: &Json, key: &str, value: &Json) -> Json {
    let mut v = base.clone();
    if let Some(slot) = get_mut(&mut v, key) {
        *slot = value.clone();
    }
    v
}

/// Every combination of the axes' values (the last axis varies fastest), as indices.
pub fn combinations(axes: &[Axis]) -> Vec<Vec<usize>> {
    axes.iter().fold(vec![Vec::new()], |acc, axis| {
        acc.iter()
            .flat_map(|prefix| {
                (0..axis.values.len()).map(move |i| {
                    let mut c = prefix.clone();
                    c.push(i);
                    c
                })
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn combinations_are_the_cartesian_product() {
        let axes = [
            Axis {
                key: "a".into(),
                values: vec![json!(1), json!(2)],
            },
            Axis {
                key: "b".into(),
                values: vec![json!(1), json!(2), json!(3)],
            },
        ];
        let c = combinations(&axes);
        assert_eq!(c.len(), 6);
        assert_eq!(c[0], vec![0, 0]);
        assert_eq!(c[1], vec![0, 1]);
        assert_eq!(c[5], vec![1, 2]);
        assert_eq!(combinations(&[]), vec![Vec::<usize>::new()]);
    }

    #[test]
    fn keys_are_checked_against_the_config() {
        let base = json!({"optimizer": {"lr": 0.1, "kind": "adam"}, "seed": 1,
                          "model": {"clip": {"theta0": [1.0, 2.0], "strategy": "pact"}},
                          "train_limit": null});
        assert!(check_key(&base, "optimizer.lr").is_ok());
        assert!(check_key(&base, "model.clip.theta0").is_ok());
        assert!(check_key(&base, "train_limit").is_ok());
        let e = check_key(&base, "optimizer.lrr").err().unwrap_or_default();
        assert!(
            e.contains("unknown setting") && e.contains("optimizer.lr"),
            "{e}"
        );
        let e = check_key(&base, "seed").err().unwrap_or_default();
        assert!(e.contains("seeds"), "{e}");
        let e = check_key(&base, "optimizer.kind").err().unwrap_or_default();
        assert!(e.contains("not a numeric setting"), "{e}");
    }

    #[test]
    fn values_take_the_settings_shape() {
        let base = json!({"lr": 0.1, "theta0": [1.0, 2.0]});
        assert_eq!(
            convert(&base, "lr", &toml::Value::Float(0.5)),
            Ok(json!(0.5))
        );
        assert!(convert(&base, "lr", &toml::Value::String("x".into())).is_err());
        assert!(convert(&base, "lr", &toml::Value::Float(f64::NAN)).is_err());
        let pair = toml::Value::Array(vec![toml::Value::Float(2.0), toml::Value::Integer(3)]);
        assert_eq!(convert(&base, "theta0", &pair), Ok(json!([2.0, 3])));
        assert!(convert(&base, "theta0", &toml::Value::Float(2.0)).is_err());
    }
}
