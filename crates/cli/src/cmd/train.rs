//! `clipbench train` and `clipbench verify`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clipbench_clip::{Strategy, ThetaParam};
use clipbench_data::{resolve_data_dir, DatasetName};
use clipbench_nn::model::ModelConfig;
use clipbench_train::config::{DeviceKind, Selection};
use clipbench_train::optim::OptimizerConfig;
use clipbench_train::out::{run_to_dir, verify_run};
use clipbench_train::schedule::Schedule;
use clipbench_train::RunConfig;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Opt {
    Adam,
    Sgd,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Dev {
    Cpu,
    Cuda,
}

impl From<Dev> for DeviceKind {
    fn from(d: Dev) -> Self {
        match d {
            Dev::Cpu => DeviceKind::Cpu,
            Dev::Cuda => DeviceKind::Cuda,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Sel {
    BestVal,
    Last,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Sched {
    Constant,
    Step,
    Cosine,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// fashion-mnist, mnist, cifar10 or synthetic
    #[arg(long)]
    dataset: DatasetName,
    /// The clipping strategy (`clipbench strategies --long` describes each).
    #[arg(long, value_parser = super::strategies::parser())]
    strategy: Strategy,
    /// The run's seed: weight init, data order (never the validation split: --split-seed).
    #[arg(long)]
    seed: u64,
    /// Passes over the training images.
    #[arg(long, default_value_t = 3)]
    epochs: u32,
    /// Learning rate (also θ's, for the learnable strategies).
    #[arg(long, default_value_t = 1e-3, allow_negative_numbers = true)]
    lr: f64,
    #[arg(long, value_enum, default_value_t = Opt::Adam)]
    optimizer: Opt,
    #[arg(long, value_enum, default_value_t = Sched::Constant)]
    schedule: Sched,
    /// L2 on the conv and linear weights (Adam: coupled, as torch.optim.Adam).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    weight_decay: f64,
    /// L2 on θ with the weights' λ (shorthand for --theta-decay WEIGHT_DECAY).
    #[arg(long)]
    theta_weight_decay: bool,
    /// L2 on θ itself (PACT's λ_α): ∂L/∂θ += λ·θ.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    theta_decay: f64,
    /// What the optimizer trains: θ itself, projected onto [θ_min, ∞) (the seed's and PACT's
    /// way), or ρ with θ = θ_min + softplus(ρ).
    #[arg(long, default_value = "direct")]
    theta_param: ThetaParam,
    /// Training images held out for validation (default: 5000 for the real data sets,
    /// 1000 for synthetic); 0 needs --selection last.
    #[arg(long)]
    validation: Option<usize>,
    /// Seed of the validation split (the same for every run of a study).
    #[arg(long, default_value_t = 0)]
    split_seed: u64,
    /// The reported epoch: best validation accuracy, or the last.
    #[arg(long, value_enum, default_value_t = Sel::BestVal)]
    selection: Sel,
    /// Images per optimizer step.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Worker threads (metrics are bit-identical for a given config, seed and thread count).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Write a step record every N optimizer steps (and at step 1).
    #[arg(long, default_value_t = 50)]
    log_every: u64,
    /// θ0 of the two clip layers, comma-separated (the seed's values; PACT used α0 = 10).
    #[arg(
        long,
        value_delimiter = ',',
        allow_negative_numbers = true,
        default_value = "1,2"
    )]
    theta0: Vec<f64>,
    /// Sharpness β of softplus-learnable (ignored by the other strategies).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    beta: f64,
    /// One θ per channel instead of one per clip layer.
    #[arg(long)]
    per_channel: bool,
    /// Input shape for synthetic data: 1x28x28 or 3x32x32.
    #[arg(long, default_value = "3x32x32")]
    input: String,
    /// Use only the first N training images (after the validation split); default: all.
    #[arg(long)]
    train_limit: Option<usize>,
    /// Use only the first N test images; default: all.
    #[arg(long)]
    test_limit: Option<usize>,
    /// Never load or evaluate the test split (what a study's tuning trials do): the epoch
    /// records and the summary then hold no test figures.
    #[arg(long, conflicts_with = "test_limit")]
    no_test: bool,
    /// Where the data sets are (default: $CLIPBENCH_DATA_DIR, else data/).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// cpu, or cuda (needs a build with `--features cuda`).
    #[arg(long, value_enum, default_value_t = Dev::Cpu)]
    device: Dev,
    /// The run directory to write.
    #[arg(long)]
    out: PathBuf,
}

pub fn parse_input(s: &str) -> anyhow::Result<[usize; 3]> {
    let parts: Vec<usize> = s
        .split('x')
        .map(|p| p.parse::<usize>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--input {s:?}: expected CxHxW, e.g. 3x32x32"))?;
    match parts[..] {
        [c, h, w] => Ok([c, h, w]),
        _ => bail!("--input {s:?}: expected CxHxW, e.g. 3x32x32"),
    }
}

impl Args {
    fn config(&self) -> anyhow::Result<RunConfig> {
        let input = if self.dataset == DatasetName::Synthetic {
            parse_input(&self.input)?
        } else {
            self.dataset.shape()
        };
        let mut model = ModelConfig::new(input, self.strategy);
        let [t1, t2] = self.theta0[..] else {
            bail!("--theta0 {:?}: expected two values, e.g. 1,2", self.theta0);
        };
        model.clip.theta0 = [t1, t2];
        model.clip.beta = self.beta;
        model.clip.per_channel = self.per_channel;
        model.clip.theta_param = self.theta_param;
        let optimizer = match self.optimizer {
            Opt::Adam => OptimizerConfig::Adam {
                lr: self.lr,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: self.weight_decay,
                theta_weight_decay: self.theta_weight_decay,
                theta_decay: self.theta_decay,
            },
            Opt::Sgd => OptimizerConfig::Sgd {
                lr: self.lr,
                momentum: 0.9,
                nesterov: false,
                weight_decay: self.weight_decay,
                theta_weight_decay: self.theta_weight_decay,
                theta_decay: self.theta_decay,
            },
        };
        let schedule = match self.schedule {
            Sched::Constant => Schedule::Constant,
            Sched::Step => Schedule::Step {
                every_epochs: (self.epochs / 3).max(1),
                gamma: 0.1,
            },
            Sched::Cosine => Schedule::Cosine { min_lr: 0.0 },
        };
        Ok(RunConfig {
            dataset: self.dataset,
            model,
            optimizer,
            schedule,
            epochs: self.epochs,
            batch_size: self.batch,
            log_every: self.log_every,
            seed: self.seed,
            threads: self.threads,
            train_limit: self.train_limit,
            test_limit: self.test_limit,
            evaluate_test: !self.no_test,
            device: self.device.into(),
            validation: Some(
                self.validation
                    .unwrap_or_else(|| self.dataset.default_validation()),
            ),
            split_seed: self.split_seed,
            selection: match self.selection {
                Sel::BestVal => Selection::BestVal,
                Sel::Last => Selection::Last,
            },
        })
    }
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let cfg = a.config()?;
    let data_dir = resolve_data_dir(a.data_dir.as_deref());
    let s = run_to_dir(&cfg, &a.out, &data_dir)
        .with_context(|| format!("run {} into {}", cfg.run_id(), a.out.display()))?;
    println!("{}", serde_json::to_string(&s)?);
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    run_dir: PathBuf,
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub fn verify(a: VerifyArgs) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir().context("creating a scratch directory")?;
    let data_dir = resolve_data_dir(a.data_dir.as_deref());
    let v = verify_run(&a.run_dir, scratch.path(), &data_dir)
        .with_context(|| format!("verifying {}", a.run_dir.display()))?;
    let dir = a.run_dir.display();
    let Some(line) = v.first_difference else {
        println!("{dir}: metrics.jsonl reproduced byte for byte");
        return Ok(());
    };
    let show = |o: &Option<String>| o.clone().unwrap_or_else(|| "not recorded".into());
    let why = if v.environment_differs() {
        format!(
            "the environment differs, so a mismatch is expected (the kernels round differently):\n  \
             recorded: kernels {}, CPU {}\n  this rerun: kernels {}, CPU {}",
            show(&v.recorded.kernels),
            show(&v.recorded.cpu_model),
            show(&v.current.kernels),
            show(&v.current.cpu_model)
        )
    } else {
        format!(
            "the same kernels ({}) and CPU ({}) as recorded, so this is unexpected: check the \
             binary's revision against the manifest's git_revision, and the thread count",
            show(&v.current.kernels),
            show(&v.current.cpu_model)
        )
    };
    bail!("{dir}: metrics.jsonl differs from the rerun at line {line}; {why}")
}
