//! `[grid]`: each dotted key checked against the run config and each value against the
//! setting's shape and type, then the axes' combinations as run variants.

use clipbench_train::RunConfig;
use serde_json::Value as Json;

use super::{base_config, Ctx, Setting, Variant};
use crate::grid::{self, Axis};
use crate::source::Seg;

/// Grid keys and values checked against the first strategy's config; returns the valid axes.
pub(super) fn check_grid(cx: &mut Ctx<'_>) -> Vec<Axis> {
    let spec = cx.spec;
    // Strategies differ only in clip values, never in which keys exist: one base will do.
    let Some(first) = spec.strategies.first() else {
        return Vec::new();
    };
    let base = serde_json::to_value(base_config(spec, first, 0)).unwrap_or(Json::Null);
    spec.grid
        .iter()
        .filter_map(|(key, values)| check_axis(cx, &base, key, values))
        .collect()
}

/// One grid key; the axis when the key and all its values are valid.
fn check_axis(cx: &mut Ctx<'_>, base: &Json, key: &str, values: &[toml::Value]) -> Option<Axis> {
    let here = vec![Seg::Key("grid".into()), Seg::Key(key.to_string())];
    if let Err(m) = grid::check_key(base, key) {
        cx.at(&here, m);
        return None;
    }
    if values.is_empty() {
        cx.at(&here, "empty list: give at least one value");
        return None;
    }
    let mut ok = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let mut at = here.clone();
        at.push(Seg::Index(i));
        if let Some(j) = check_value(cx, base, key, v, &ok, &at) {
            ok.push(j);
        }
    }
    (ok.len() == values.len()).then(|| Axis {
        key: key.to_string(),
        values: ok,
    })
}

/// One grid value as JSON of the setting's shape, when it fits the run config and is new.
fn check_value(
    cx: &mut Ctx<'_>,
    base: &Json,
    key: &str,
    v: &toml::Value,
    earlier: &[Json],
    at: &[Seg],
) -> Option<Json> {
    let j = match grid::convert(base, key, v) {
        Ok(j) => j,
        Err(m) => {
            cx.at(at, m);
            return None;
        }
    };
    if let Err(e) = serde_json::from_value::<RunConfig>(grid::apply(base, key, &j)) {
        cx.at(at, format!("value {v} does not fit `{key}`: {e}"));
        return None;
    }
    if earlier.contains(&j) {
        cx.at(at, format!("duplicate value {v}"));
        return None;
    }
    Some(j)
}

/// The grid's combinations as variants (one empty variant without a grid).
pub(super) fn grid_variants(axes: &[Axis]) -> Vec<Variant> {
    grid::combinations(axes)
        .into_iter()
        .map(|combo| {
            let mut v = Variant::default();
            for (axis, &vi) in axes.iter().zip(&combo) {
                v.settings.push(Setting {
                    key: axis.key.clone(),
                    value: axis.values[vi].clone(),
                    origin: vec![
                        Seg::Key("grid".into()),
                        Seg::Key(axis.key.clone()),
                        Seg::Index(vi),
                    ],
                });
                v.params.insert(axis.key.clone(), axis.values[vi].clone());
            }
            v
        })
        .collect()
}
