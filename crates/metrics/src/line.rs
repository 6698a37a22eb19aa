//! One metrics.jsonl line into a [`Row`], then into the run's columns.
//!
//! Two parsers fill the same [`Row`]: the fast scanner ([`crate::scan`]), which handles the
//! lines the trainer writes and gives up on anything else, and serde_json ([`slow`]), which
//! handles every line and is the arbiter: a line the scanner gives up on is parsed again by
//! serde_json, so an unusual but valid line (escapes, duplicate keys, odd spacing) is read
//! exactly as before and a broken one gets serde_json's message.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

use crate::records::{EpochRecords, Field, Layout, StepRecords, EPOCH_VALUES};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Step,
    Epoch,
    Diverged,
}

/// The step record's scalars; [`Row::scalars`] holds them, then [`EPOCH_VALUES`].
pub(crate) const STEP_SCALARS: [&str; 3] = ["loss", "lr", "grad_norm"];

/// How many scalars [`Row::scalars`] holds.
pub(crate) const N_SCALARS: usize = STEP_SCALARS.len() + EPOCH_VALUES.len();

/// The name of scalar `i` of [`Row::scalars`].
pub(crate) fn scalar_name(i: usize) -> &'static str {
    STEP_SCALARS
        .get(i)
        .copied()
        .unwrap_or_else(|| EPOCH_VALUES[i - STEP_SCALARS.len()])
}

/// The index in [`Row::scalars`] of a record's scalar key.
pub(crate) fn scalar_index(key: &[u8]) -> Option<usize> {
    STEP_SCALARS
        .iter()
        .chain(&EPOCH_VALUES)
        .position(|s| s.as_bytes() == key)
}

pub(crate) const LOSS: usize = 0;
pub(crate) const LR: usize = 1;
pub(crate) const GRAD_NORM: usize = 2;
pub(crate) const EPOCH_FIRST: usize = 3;

/// The values of one record, before it is known to be complete. Reused from line to line.
#[derive(Debug, PartialEq)]
pub(crate) struct Row {
    pub(crate) kind: Option<Kind>,
    pub(crate) step: Option<i64>,
    pub(crate) epoch: Option<i64>,
    /// [`STEP_SCALARS`] then [`EPOCH_VALUES`]; NaN = absent or null.
    pub(crate) scalars: [f64; N_SCALARS],
    pub(crate) layers: Vec<f64>,
    /// Whether a layer's value was given (the first of duplicate keys counts).
    pub(crate) seen: Vec<bool>,
    pub(crate) channels: Vec<f64>,
    /// A layer the layout does not have: an error if the record is a step record. With
    /// several, the first in (field, layer) order, so both parsers name the same one.
    pub(crate) stray: Option<(u8, Vec<u8>, String)>,
}

impl Row {
    pub(crate) fn new(layout: &Layout) -> Row {
        Row {
            kind: None,
            step: None,
            epoch: None,
            scalars: [f64::NAN; N_SCALARS],
            layers: vec![f64::NAN; layout.n_layer_columns()],
            seen: vec![false; layout.n_layer_columns()],
            channels: vec![f64::NAN; layout.n_channel_columns()],
            stray: None,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.kind = None;
        self.step = None;
        self.epoch = None;
        self.scalars = [f64::NAN; N_SCALARS];
        self.layers.fill(f64::NAN);
        self.seen.fill(false);
        self.channels.fill(f64::NAN);
        self.stray = None;
    }

    /// One `"layer": value` of object `field`. Only the first of duplicate keys counts, as
    /// serde_json's pairs (below) read it.
    pub(crate) fn pair(&mut self, layout: &Layout, field: Field, layer: &[u8], v: Option<f64>) {
        match layout.column_index(field, layer) {
            Some(i) if !self.seen[i] => {
                self.seen[i] = true;
                self.layers[i] = v.unwrap_or(f64::NAN);
            }
            Some(_) => {}
            None => self.stray(field.code(), layer, || {
                format!(
                    "{}.{}: a layer that the run's first step record does not have",
                    field.key(),
                    String::from_utf8_lossy(layer)
                )
            }),
        }
    }

    /// `theta_channels.<layer>`: its values in channel order.
    pub(crate) fn channels(&mut self, layout: &Layout, layer: &[u8], values: &[Option<f64>]) {
        let (off, n) = layout.channel_range(layer).unwrap_or((0, 0));
        if values.len() > n {
            self.stray(u8::MAX, layer, || {
                format!(
                    "theta_channels.{}: {} channels, the run's first step record has {n}",
                    String::from_utf8_lossy(layer),
                    values.len()
                )
            });
            return;
        }
        for (slot, v) in self.channels[off..off + values.len()]
            .iter_mut()
            .zip(values)
        {
            *slot = v.unwrap_or(f64::NAN);
        }
    }

    fn stray(&mut self, order: u8, layer: &[u8], message: impl FnOnce() -> String) {
        let first = match &self.stray {
            Some((o, l, _)) => (order, layer) < (*o, l.as_slice()),
            None => true,
        };
        if first {
            self.stray = Some((order, layer.to_vec(), message()));
        }
    }

    /// Appends the record to the columns; an incomplete record is an error (the message).
    pub(crate) fn push(
        &self,
        steps: &mut StepRecords,
        epochs: &mut EpochRecords,
    ) -> Result<(), String> {
        let kind_name = match self.kind {
            Some(Kind::Step) => "step",
            Some(Kind::Epoch) => "epoch",
            Some(Kind::Diverged) | None => return Ok(()),
        };
        let missing = |name: &str| format!("{kind_name} record without \"{name}\"");
        let int = |v: Option<i64>, name: &str| v.ok_or_else(|| missing(name));
        match self.kind {
            Some(Kind::Step) => {
                let step = int(self.step, "step")?;
                let epoch = int(self.epoch, "epoch")?;
                for i in [LOSS, GRAD_NORM] {
                    if self.scalars[i].is_nan() {
                        return Err(missing(scalar_name(i)));
                    }
                }
                if let Some((_, _, stray)) = &self.stray {
                    return Err(stray.clone());
                }
                steps.step.push(step);
                steps.epoch.push(epoch);
                steps.loss.push(self.scalars[LOSS]);
                steps.lr.push(self.scalars[LR]);
                steps.grad_norm.push(self.scalars[GRAD_NORM]);
                for (col, v) in steps.layers.iter_mut().zip(&self.layers) {
                    col.push(*v);
                }
                for (col, v) in steps.channels.iter_mut().zip(&self.channels) {
                    col.push(*v);
                }
            }
            _ => {
                let epoch = int(self.epoch, "epoch")?;
                let step = int(self.step, "step")?;
                epochs.epoch.push(epoch);
                epochs.step.push(step);
                for (col, v) in epochs.values.iter_mut().zip(&self.scalars[EPOCH_FIRST..]) {
                    col.push(*v);
                }
            }
        }
        Ok(())
    }
}

/// serde_json's reading of a line into `row`: the arbiter of [`crate::scan`].
pub(crate) mod slow {
    use super::*;

    /// One metrics.jsonl line (README "Run directory and metrics", schema_version 1 or 2).
    /// Fields this crate does not use are skipped (still validated as JSON).
    #[derive(Deserialize)]
    struct Line<'a> {
        #[serde(borrow)]
        kind: Cow<'a, str>,
        step: Option<i64>,
        epoch: Option<i64>,
        loss: Option<f64>,
        lr: Option<f64>,
        grad_norm: Option<f64>,
        #[serde(borrow, default)]
        grad_norm_by_layer: Option<Pairs<'a>>,
        #[serde(borrow, default)]
        theta: Option<Pairs<'a>>,
        #[serde(borrow, default)]
        theta_grad: Option<Pairs<'a>>,
        #[serde(borrow, default)]
        clip_fraction: Option<Pairs<'a>>,
        #[serde(borrow, default)]
        theta_projected: Option<Pairs<'a>>,
        #[serde(default)]
        theta_channels: Option<BTreeMap<String, Vec<Option<f64>>>>,
        train_loss: Option<f64>,
        train_acc: Option<f64>,
        val_loss: Option<f64>,
        val_acc: Option<f64>,
        test_loss: Option<f64>,
        test_acc: Option<f64>,
    }

    pub(crate) fn parse(line: &[u8], layout: &Layout, row: &mut Row) -> Result<(), String> {
        row.reset();
        let l: Line = serde_json::from_slice(line).map_err(|e| e.to_string())?;
        row.kind = Some(match l.kind.as_ref() {
            "step" => Kind::Step,
            "epoch" => Kind::Epoch,
            "diverged" => Kind::Diverged,
            other => {
                return Err(format!(
                    "unknown record kind \"{other}\" (expected step, epoch or diverged)"
                ))
            }
        });
        row.step = l.step;
        row.epoch = l.epoch;
        let scalars = [
            l.loss,
            l.lr,
            l.grad_norm,
            l.train_loss,
            l.train_acc,
            l.val_loss,
            l.val_acc,
            l.test_loss,
            l.test_acc,
        ];
        for (slot, v) in row.scalars.iter_mut().zip(scalars) {
            *slot = v.unwrap_or(f64::NAN);
        }
        let objects = [
            (Field::GradNorm, &l.grad_norm_by_layer),
            (Field::Theta, &l.theta),
            (Field::ThetaGrad, &l.theta_grad),
            (Field::ClipFraction, &l.clip_fraction),
            (Field::ThetaProjected, &l.theta_projected),
        ];
        for (field, pairs) in objects {
            for (k, v) in pairs.iter().flat_map(|p| p.0.iter()) {
                row.pair(layout, field, k.as_bytes(), *v);
            }
        }
        for (layer, values) in l.theta_channels.iter().flatten() {
            row.channels(layout, layer.as_bytes(), values);
        }
        Ok(())
    }

    /// A `{"layer": value, ...}` object, kept as pairs in file order (keys borrowed from the
    /// line when they hold no escapes).
    pub(crate) struct Pairs<'a>(pub(crate) Vec<(Cow<'a, str>, Option<f64>)>);

    impl<'de: 'a, 'a> Deserialize<'de> for Pairs<'a> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Pairs<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object of layer names to numbers")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut m: A,
                ) -> Result<Pairs<'de>, A::Error> {
                    let mut v = Vec::with_capacity(m.size_hint().unwrap_or(4));
                    while let Some(Key(k)) = m.next_key()? {
                        v.push((k, m.next_value::<Option<f64>>()?));
                    }
                    Ok(Pairs(v))
                }
            }
            d.deserialize_map(V)
        }
    }

    /// A string borrowed from the input when possible.
    struct Key<'a>(Cow<'a, str>);

    impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a string")
                }
                fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(s)))
                }
                fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(s.to_string())))
                }
            }
            d.deserialize_str(V)
        }
    }
}
