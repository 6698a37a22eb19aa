//! A run's records as columns. Missing values are NaN: JSON has no NaN (the trainer writes a
//! non-finite number as null), so NaN can only mean "absent or null", never a logged value.

/// A per-layer object of a step record (README "Run directory and metrics").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    GradNorm,
    Theta,
    ThetaGrad,
    ClipFraction,
    ThetaProjected,
}

impl Field {
    pub const ALL: [Field; 5] = [
        Field::GradNorm,
        Field::Theta,
        Field::ThetaGrad,
        Field::ClipFraction,
        Field::ThetaProjected,
    ];

    /// The record's key holding this object.
    pub fn key(self) -> &'static str {
        match self {
            Field::GradNorm => "grad_norm_by_layer",
            Field::Theta => "theta",
            Field::ThetaGrad => "theta_grad",
            Field::ClipFraction => "clip_fraction",
            Field::ThetaProjected => "theta_projected",
        }
    }

    /// The flat column name of `layer`'s value: `grad_norm_conv1`, `theta_clip1`, ...
    pub fn column(self, layer: &str) -> String {
        let prefix = match self {
            Field::GradNorm => "grad_norm",
            other => other.key(),
        };
        format!("{prefix}_{layer}")
    }

    /// Weight layers (`grad_norm_by_layer`) or clip layers (every other object).
    pub fn of_weights(self) -> bool {
        self == Field::GradNorm
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }
}

/// Which per-layer columns a run's step records have, taken from its first step record:
/// weight layers from `grad_norm_by_layer`, clip layers from `theta`, `theta_grad`,
/// `clip_fraction` and `theta_projected`, channels from `theta_channels`. Every record of a
/// run logs the same layers, so a later record naming another layer is an error (never a
/// silently dropped value).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Sorted.
    pub weight_layers: Vec<String>,
    /// Sorted.
    pub clip_layers: Vec<String>,
    /// (clip layer, number of channels), sorted by layer.
    pub channels: Vec<(String, usize)>,
}

impl Layout {
    /// (field, layer) of every per-layer column, in column order: the weight layers'
    /// gradient norms, then θ, ∂L/∂θ, clip fraction and projections of every clip layer.
    pub fn layer_columns(&self) -> Vec<(Field, &str)> {
        let mut v: Vec<(Field, &str)> = self
            .weight_layers
            .iter()
            .map(|l| (Field::GradNorm, l.as_str()))
            .collect();
        for f in &Field::ALL[1..] {
            v.extend(self.clip_layers.iter().map(|l| (*f, l.as_str())));
        }
        v
    }

    /// Index of (field, layer) in [`Layout::layer_columns`].
    pub fn column_index(&self, field: Field, layer: &[u8]) -> Option<usize> {
        let find = |v: &[String]| v.iter().position(|l| l.as_bytes() == layer);
        if field.of_weights() {
            find(&self.weight_layers)
        } else {
            let k = field as usize - 1;
            find(&self.clip_layers)
                .map(|i| self.weight_layers.len() + k * self.clip_layers.len() + i)
        }
    }

    pub fn n_layer_columns(&self) -> usize {
        self.weight_layers.len() + 4 * self.clip_layers.len()
    }

    /// Offset of `layer`'s first channel column and its channel count.
    pub fn channel_range(&self, layer: &[u8]) -> Option<(usize, usize)> {
        let mut off = 0;
        for (l, n) in &self.channels {
            if l.as_bytes() == layer {
                return Some((off, *n));
            }
            off += n;
        }
        None
    }

    pub fn n_channel_columns(&self) -> usize {
        self.channels.iter().map(|(_, n)| n).sum()
    }

    /// (layer, channel) of every channel column, in column order.
    pub fn channel_columns(&self) -> Vec<(&str, usize)> {
        self.channels
            .iter()
            .flat_map(|(l, n)| (0..*n).map(move |i| (l.as_str(), i)))
            .collect()
    }
}

/// The step records of a run, one entry per record in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepRecords {
    pub step: Vec<i64>,
    pub epoch: Vec<i64>,
    pub loss: Vec<f64>,
    /// NaN where a record has no learning rate.
    pub lr: Vec<f64>,
    pub grad_norm: Vec<f64>,
    /// One column per [`Layout::layer_columns`] entry.
    pub layers: Vec<Vec<f64>>,
    /// One column per [`Layout::channel_columns`] entry.
    pub channels: Vec<Vec<f64>>,
}

impl StepRecords {
    pub(crate) fn new(layout: &Layout) -> Self {
        StepRecords {
            layers: vec![Vec::new(); layout.n_layer_columns()],
            channels: vec![Vec::new(); layout.n_channel_columns()],
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.step.len()
    }

    pub fn is_empty(&self) -> bool {
        self.step.is_empty()
    }

    pub(crate) fn append(&mut self, mut o: StepRecords) {
        self.step.append(&mut o.step);
        self.epoch.append(&mut o.epoch);
        self.loss.append(&mut o.loss);
        self.lr.append(&mut o.lr);
        self.grad_norm.append(&mut o.grad_norm);
        for (a, b) in self.layers.iter_mut().zip(&mut o.layers) {
            a.append(b);
        }
        for (a, b) in self.channels.iter_mut().zip(&mut o.channels) {
            a.append(b);
        }
    }
}

/// The names of [`EpochRecords::values`], in order.
pub const EPOCH_VALUES: [&str; 6] = [
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "test_loss",
    "test_acc",
];

/// The epoch records of a run, in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpochRecords {
    pub epoch: Vec<i64>,
    pub step: Vec<i64>,
    /// [`EPOCH_VALUES`]; NaN where a record has none (no validation split, schema 1).
    pub values: [Vec<f64>; 6],
}

impl EpochRecords {
    pub fn len(&self) -> usize {
        self.epoch.len()
    }

    pub fn is_empty(&self) -> bool {
        self.epoch.is_empty()
    }

    pub(crate) fn append(&mut self, mut o: EpochRecords) {
        self.epoch.append(&mut o.epoch);
        self.step.append(&mut o.step);
        for (a, b) in self.values.iter_mut().zip(&mut o.values) {
            a.append(b);
        }
    }
}

/// Every step and epoch record of one run's metrics.jsonl (diverged records end a run and
/// carry nothing the analysis reads from here).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunRecords {
    pub layout: Layout,
    pub steps: StepRecords,
    pub epochs: EpochRecords,
}

impl RunRecords {
    /// The column of (field, layer), if the run logs it.
    pub fn layer(&self, field: Field, layer: &str) -> Option<&[f64]> {
        self.layout
            .column_index(field, layer.as_bytes())
            .map(|i| self.steps.layers[i].as_slice())
    }

    /// The column of channel `i` of `layer`, if the run logs it.
    pub fn channel(&self, layer: &str, i: usize) -> Option<&[f64]> {
        let (off, n) = self.layout.channel_range(layer.as_bytes())?;
        (i < n).then(|| self.steps.channels[off + i].as_slice())
    }

    /// Bit-for-bit equality (NaN equals NaN), for tests of the cache and the two parsers.
    pub fn same_bits(&self, o: &RunRecords) -> bool {
        fn f(a: &[f64], b: &[f64]) -> bool {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
        }
        fn cols(a: &[Vec<f64>], b: &[Vec<f64>]) -> bool {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| f(x, y))
        }
        let (s, t) = (&self.steps, &o.steps);
        let (e, g) = (&self.epochs, &o.epochs);
        self.layout == o.layout
            && s.step == t.step
            && s.epoch == t.epoch
            && f(&s.loss, &t.loss)
            && f(&s.lr, &t.lr)
            && f(&s.grad_norm, &t.grad_norm)
            && cols(&s.layers, &t.layers)
            && cols(&s.channels, &t.channels)
            && e.epoch == g.epoch
            && e.step == g.step
            && cols(&e.values, &g.values)
    }
}
