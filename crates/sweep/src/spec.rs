//! A study file, typed (**contract**: the format of `experiments/*.toml`; README "Studies").
//!
//! ```toml
//! name = "smoke"                       # optional: defaults to the file name
//! dataset = "synthetic"                # fashion-mnist | mnist | cifar10 | synthetic
//! strategies = ["none", "tanh-learnable", { name = "pact", theta0 = [10.0, 10.0] }]
//! seeds = [1, 2, 3]
//! epochs = 2                           # + batch_size, log_every, threads, train_limit, test_limit, device
//! validation = 5000                    # held-out training images; + split_seed, selection
//! theta_param = "direct"               # or "softplus" (also in [model.clip] and per strategy)
//! [model]                              # input (synthetic only), widths
//! [model.clip]                         # theta0 = [t1, t2], beta, per_channel, theta_param
//! [optimizer]                          # kind = "adam" | "sgd", lr, ... (as clipbench_train)
//! [schedule]                           # kind = "constant" | "step" | "cosine", ...
//! [grid]                               # "dotted.key" = [values...]: one run per combination
//! "optimizer.lr" = [1e-3, 3e-3]
//! ```
//! Unknown keys are errors everywhere. Values are checked later, in [`crate::plan`].

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use clipbench_clip::{Strategy, ThetaParam};
use clipbench_data::DatasetName;
use clipbench_train::config::{DeviceKind, Selection};
use clipbench_train::optim::OptimizerConfig;
use clipbench_train::schedule::Schedule;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudySpec {
    /// The study's directory under the results directory; default: the file name without .toml.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub dataset: DatasetName,
    pub strategies: Vec<StrategyEntry>,
    pub seeds: Vec<u64>,
    #[serde(default)]
    pub model: ModelSpec,
    pub optimizer: OptimizerConfig,
    #[serde(default)]
    pub schedule: Schedule,
    pub epochs: u32,
    #[serde(default)]
    pub batch_size: Option<usize>,
    #[serde(default)]
    pub log_every: Option<u64>,
    /// Threads of each run (the local runner's default pool size is cores / threads).
    #[serde(default)]
    pub threads: Option<usize>,
    #[serde(default)]
    pub train_limit: Option<usize>,
    #[serde(default)]
    pub test_limit: Option<usize>,
    /// `cpu` (default) or `cuda` (needs a clipbench built with `--features cuda`).
    #[serde(default)]
    pub device: DeviceKind,
    /// Training images held out for validation; default: the data set's (5000 for the real
    /// sets, 1000 for synthetic). 0 needs `selection = "last"`.
    #[serde(default)]
    pub validation: Option<usize>,
    /// Seed of the validation split, the same for every run of the study (default 0).
    #[serde(default)]
    pub split_seed: Option<u64>,
    /// `best-val` (default): report the epoch of best validation accuracy; `last`.
    #[serde(default)]
    pub selection: Option<Selection>,
    /// θ parametrisation of every strategy unless `[model.clip]` or an entry says otherwise.
    #[serde(default)]
    pub theta_param: Option<ThetaParam>,
    /// Validation accuracy that counts as "reached" in the report's time to target
    /// (default: 95% of the best mean validation accuracy of any strategy).
    #[serde(default)]
    pub target_acc: Option<f64>,
    /// The study (a directory beside this one under the results directory) with an
    /// `optimizer.lr` grid whose stability results this study's report answers with.
    #[serde(default)]
    pub stability_study: Option<String>,
    /// Dotted key of a numeric run setting → the values to sweep (cartesian product).
    #[serde(default)]
    pub grid: BTreeMap<String, Vec<toml::Value>>,
    /// Tune every strategy first, with the same budget, then run the final seeds at each
    /// strategy's selected setting (see [`crate::tune`]).
    #[serde(default)]
    pub tune: Option<crate::tune::TuneSpec>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// [C, H, W]; default: the data set's shape (synthetic: [3, 32, 32]).
    #[serde(default, deserialize_with = "exactly")]
    pub input: Option<[usize; 3]>,
    #[serde(default, deserialize_with = "exactly")]
    pub widths: Option<[usize; 2]>,
    #[serde(default)]
    pub clip: ClipSpec,
}

/// Clip settings; in `[model.clip]` for every strategy, or in one `strategies` entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipSpec {
    /// θ0 (PACT: α0) of the first and second clip layer.
    #[serde(default, deserialize_with = "exactly")]
    pub theta0: Option<[f64; 2]>,
    #[serde(default)]
    pub beta: Option<f64>,
    #[serde(default)]
    pub per_channel: Option<bool>,
    #[serde(default)]
    pub theta_param: Option<ThetaParam>,
}

/// `"tanh-learnable"` or `{ name = "pact", theta0 = [10.0, 10.0], beta = ..., per_channel = ... }`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StrategyEntry {
    pub strategy: Strategy,
    pub clip: ClipSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryTable {
    name: String,
    #[serde(default, deserialize_with = "exactly")]
    theta0: Option<[f64; 2]>,
    #[serde(default)]
    beta: Option<f64>,
    #[serde(default)]
    per_channel: Option<bool>,
    #[serde(default)]
    theta_param: Option<ThetaParam>,
}

/// A list of exactly `N` items. serde's own `[T; N]` reads `N` items and leaves the rest to
/// the deserializer, and toml's does not complain: `theta0 = [1, 2, 3]` became `[1, 2]`.
fn exactly<'de, D, T, const N: usize>(d: D) -> Result<Option<[T; N]>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Exactly<T, const N: usize>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for Exactly<T, N> {
        type Value = [T; N];
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an array of length {N}")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[T; N], A::Error> {
            let mut items = Vec::with_capacity(N);
            while let Some(x) = seq.next_element()? {
                items.push(x);
            }
            let n = items.len();
            items
                .try_into()
                .map_err(|_| de::Error::invalid_length(n, &self))
        }
    }
    // Inside the deserializer's call, so that toml places the error at the list.
    d.deserialize_seq(Exactly::<T, N>(PhantomData)).map(Some)
}

fn strategy<E: de::Error>(name: &str) -> Result<Strategy, E> {
    name.parse::<Strategy>().map_err(E::custom)
}

impl<'de> Deserialize<'de> for StrategyEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrategyEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "a strategy name ({}) or a table {{ name = \"...\", theta0 = [.., ..], beta = .., per_channel = .., theta_param = .. }}",
                    Strategy::names()
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StrategyEntry, E> {
                Ok(StrategyEntry {
                    strategy: strategy(v)?,
                    clip: ClipSpec::default(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StrategyEntry, A::Error> {
                let t = EntryTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(StrategyEntry {
                    strategy: strategy(&t.name)?,
                    clip: ClipSpec {
                        theta0: t.theta0,
                        beta: t.beta,
                        per_channel: t.per_channel,
                        theta_param: t.theta_param,
                    },
                })
            }
        }
        d.deserialize_any(V)
    }
}
