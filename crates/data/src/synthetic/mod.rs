//! Synthetic 10-class image data: deterministic from a seed, learnable but not trivial.
//!
//! Each class has a smooth random prototype: a luminance plane shared by all channels plus a
//! weaker colour plane per channel (coarse grids of uniform values, upsampled with smoothstep
//! interpolation). A sample is its class prototype shifted by up to `max_shift` pixels, with
//! random contrast, per-channel gain and brightness, plus a smooth per-sample distractor field
//! and pixel noise, then quantised to u8 levels like real data. The shifts defeat a linear
//! template match, so a linear model lands well below a shift-aware one (see the
//! `difficulty_*` test and [`SyntheticConfig::for_shape`]).
//!
//! Only IEEE +, -, *, / and rounding are used (no sin/exp/ln from libm), and the generator is
//! the hand-written SplitMix64, so a seed gives the same bytes on every platform forever
//! (crates/data/tools/reference_port.py reproduces the golden hashes independently).
//! Sample `i` of a split depends only on (seed, split, i): growing `train_len` keeps the
//! existing samples.

use serde::{Deserialize, Serialize};

use crate::rng::{derive_seed, SplitMix64};
use crate::{DataError, DataSplits, Dataset, DatasetName, NUM_CLASSES};

/// Parameters of the synthetic data set. `Default` is [`SyntheticConfig::for_shape`]`([3, 32, 32])`:
/// 5,000 train and 1,000 test images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyntheticConfig {
    pub seed: u64,
    /// `[channels, height, width]`, e.g. `[1, 28, 28]` or `[3, 32, 32]`.
    pub shape: [usize; 3],
    pub train_len: usize,
    pub test_len: usize,
    /// Largest shift of the prototype, in pixels, in each direction.
    pub max_shift: usize,
    /// Standard deviation of the per-pixel, per-channel noise, in units of the [0, 1] range.
    pub noise_std: f64,
}

impl SyntheticConfig {
    /// Defaults tuned per shape so both are learnable but not trivial (measured by the
    /// `difficulty` test, 5,000 train images): softmax regression reaches about 80% on
    /// 3x32x32 and about 63% on 1x28x28, while a shift-aware matcher that knows the
    /// prototypes reaches 96-99%, so there is headroom for a small CNN. Three channels
    /// carry three noisy looks at each prototype, hence the larger shift and noise there.
    pub fn for_shape(shape: [usize; 3]) -> Self {
        let (max_shift, noise_std) = if shape[0] >= 3 { (6, 0.2) } else { (5, 0.15) };
        Self {
            seed: 0,
            shape,
            train_len: 5000,
            test_len: 1000,
            max_shift,
            noise_std,
        }
    }
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self::for_shape([3, 32, 32])
    }
}

/// Control points per side of a class prototype's coarse grid: features are about
/// side / (GRID - 1) pixels wide, comparable to `max_shift`, so shifts matter.
const PROTO_GRID: usize = 8;
/// Control points of the per-sample distractor field (structured noise, shared by channels).
const DISTRACTOR_GRID: usize = 4;
/// Prototype amplitude around mid-grey 0.5, before contrast scaling.
const AMPLITUDE: f64 = 0.2;
/// Weight of the per-channel (colour) part of a prototype relative to its shared luminance.
const CHROMA: f64 = 0.35;
/// Amplitude of the distractor field relative to the prototype.
const DISTRACTOR: f64 = 0.8;
const TAG_PROTOTYPES: u64 = 0x5052_4f54; // "PROT"
const TAG_TRAIN: u64 = 0x5452_4149; // "TRAI"
const TAG_TEST: u64 = 0x5445_5354; // "TEST"

impl SyntheticConfig {
    fn validate(&self) -> Result<(), DataError> {
        let [c, h, w] = self.shape;
        if c == 0 || h < 2 || w < 2 {
            return Err(DataError::InvalidConfig {
                what: "synthetic shape",
                expected: "channels >= 1, height and width >= 2".into(),
                found: format!("{c}x{h}x{w}"),
            });
        }
        if self.max_shift >= h.min(w) {
            return Err(DataError::InvalidConfig {
                what: "synthetic max_shift",
                expected: format!("less than the image side {}", h.min(w)),
                found: self.max_shift.to_string(),
            });
        }
        if !(self.noise_std.is_finite() && self.noise_std >= 0.0) {
            return Err(DataError::InvalidConfig {
                what: "synthetic noise_std",
                expected: "a finite value >= 0".into(),
                found: self.noise_std.to_string(),
            });
        }
        Ok(())
    }
}

/// One class's prototype on a grid padded by `max_shift` on every side, so a shifted window
/// never leaves it: a luminance plane shared by all channels plus one colour plane per channel.
struct Prototype {
    luma: Vec<f64>,
    chroma: Vec<Vec<f64>>,
    padded_w: usize,
}

fn smoothstep(t: f64) -> f64 {
    t * t * (3.0 - 2.0 * t)
}

/// A smooth random field of `h x w` values in about [-1, 1]: uniform values on a coarse
/// `grid x grid` lattice, interpolated with smoothstep weights (no libm functions involved).
fn smooth_field(rng: &mut SplitMix64, grid: usize, h: usize, w: usize) -> Vec<f64> {
    let lattice: Vec<f64> = (0..grid * grid).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let coord = |i: usize, n: usize| {
        // Map pixel i of n to [0, grid - 1] on the lattice.
        let g = i as f64 * (grid - 1) as f64 / (n - 1) as f64;
        let i0 = (g.floor() as usize).min(grid - 2);
        (i0, smoothstep(g - i0 as f64))
    };
    let mut out = Vec::with_capacity(h * w);
    for y in 0..h {
        let (y0, ty) = coord(y, h);
        for x in 0..w {
            let (x0, tx) = coord(x, w);
            let at = |yy: usize, xx: usize| lattice[yy * grid + xx];
            let top = at(y0, x0) * (1.0 - tx) + at(y0, x0 + 1) * tx;
            let bottom = at(y0 + 1, x0) * (1.0 - tx) + at(y0 + 1, x0 + 1) * tx;
            out.push(top * (1.0 - ty) + bottom * ty);
        }
    }
    out
}

fn prototype(rng: &mut SplitMix64, cfg: &SyntheticConfig) -> Prototype {
    let [c, h, w] = cfg.shape;
    let (ph, pw) = (h + 2 * cfg.max_shift, w + 2 * cfg.max_shift);
    Prototype {
        luma: smooth_field(rng, PROTO_GRID, ph, pw),
        chroma: (0..c)
            .map(|_| smooth_field(rng, PROTO_GRID, ph, pw))
            .collect(),
        padded_w: pw,
    }
}

fn sample(
    rng: &mut SplitMix64,
    protos: &[Prototype],
    cfg: &SyntheticConfig,
    out: &mut Vec<f32>,
) -> u8 {
    let [c, h, w] = cfg.shape;
    let label = rng.below(NUM_CLASSES as u64) as usize;
    let span = 2 * cfg.max_shift as u64 + 1;
    let (dy, dx) = (rng.below(span) as usize, rng.below(span) as usize);
    let contrast = rng.uniform(0.6, 1.4);
    let brightness = rng.uniform(-0.1, 0.1);
    let gains: Vec<f64> = (0..c).map(|_| rng.uniform(0.6, 1.4)).collect();
    let distractor = smooth_field(rng, DISTRACTOR_GRID, h, w);
    let p = &protos[label];
    for (ch, gain) in gains.iter().enumerate() {
        for y in 0..h {
            for x in 0..w {
                let at = (y + dy) * p.padded_w + x + dx;
                let signal = contrast * (gain * p.luma[at] + CHROMA * p.chroma[ch][at]);
                let v = 0.5
                    + AMPLITUDE * (signal + DISTRACTOR * distractor[y * w + x])
                    + brightness
                    + cfg.noise_std * rng.approx_normal();
                // Quantise like a real 8-bit image; round() is exact, so still bit-stable.
                out.push(((v.clamp(0.0, 1.0) * 255.0).round() / 255.0) as f32);
            }
        }
    }
    label as u8
}

fn split(
    cfg: &SyntheticConfig,
    protos: &[Prototype],
    tag: u64,
    len: usize,
) -> Result<Dataset, DataError> {
    let split_seed = derive_seed(cfg.seed, tag);
    let mut images = Vec::with_capacity(len * cfg.shape.iter().product::<usize>());
    let mut labels = Vec::with_capacity(len);
    for i in 0..len {
        let mut rng = SplitMix64::new(derive_seed(split_seed, i as u64));
        labels.push(sample(&mut rng, protos, cfg, &mut images));
    }
    Dataset::new(images, labels, cfg.shape)
}

/// Generates the synthetic train and test splits described by `cfg`.
pub fn synthetic(cfg: &SyntheticConfig) -> Result<DataSplits, DataError> {
    cfg.validate()?;
    let mut rng = SplitMix64::new(derive_seed(cfg.seed, TAG_PROTOTYPES));
    let protos: Vec<Prototype> = (0..NUM_CLASSES).map(|_| prototype(&mut rng, cfg)).collect();
    Ok(DataSplits {
        train: split(cfg, &protos, TAG_TRAIN, cfg.train_len)?,
        test: split(cfg, &protos, TAG_TEST, cfg.test_len)?,
        name: DatasetName::Synthetic,
    })
}

#[cfg(test)]
mod tests;
