//! Tests of the synthetic generator: golden bytes, determinism, validation, and the
//! difficulty probe (a linear model must do clearly worse than a shift-aware oracle).

use super::*;

/// Softmax regression trained by plain SGD: the "linear model" of the difficulty target.
fn linear_accuracy(splits: &DataSplits, epochs: u64) -> f64 {
    let d = splits.train.image_len();
    let lr = 1e-3;
    let mut w = vec![0f64; NUM_CLASSES * (d + 1)];
    let score = |w: &[f64], x: &[f32]| -> Vec<f64> {
        w.chunks_exact(d + 1)
            .map(|row| {
                row[d]
                    + row[..d]
                        .iter()
                        .zip(x)
                        .map(|(a, &b)| a * (f64::from(b) - 0.5))
                        .sum::<f64>()
            })
            .collect()
    };
    for epoch in 0..epochs {
        for &i in &crate::epoch_permutation(splits.train.len(), 9, epoch) {
            let x = splits.train.image(i);
            let logits = score(&w, x);
            let m = logits.iter().copied().fold(f64::MIN, f64::max);
            let z: f64 = logits.iter().map(|l| (l - m).exp()).sum();
            let label = usize::from(splits.train.labels()[i]);
            for (k, row) in w.chunks_exact_mut(d + 1).enumerate() {
                // d(cross-entropy)/d(logit_k) = p_k - 1[k = label]
                let g = (logits[k] - m).exp() / z - if k == label { 1.0 } else { 0.0 };
                for (wj, &xj) in row[..d].iter_mut().zip(x) {
                    *wj -= lr * g * (f64::from(xj) - 0.5);
                }
                row[d] -= lr * g;
            }
        }
    }
    accuracy(splits, |x| score(&w, x))
}

/// Oracle: correlation with the TRUE prototypes (unit gains), maximised over every shift.
/// A stand-in for the best a translation-aware model (a small CNN) could learn.
fn oracle_accuracy(cfg: &SyntheticConfig, splits: &DataSplits) -> f64 {
    let mut rng = SplitMix64::new(derive_seed(cfg.seed, TAG_PROTOTYPES));
    let protos: Vec<Prototype> = (0..NUM_CLASSES).map(|_| prototype(&mut rng, cfg)).collect();
    let [c, h, w] = cfg.shape;
    let span = 2 * cfg.max_shift + 1;
    let pearson = |x: &[f32], p: &Prototype, dy: usize, dx: usize| {
        let (mut sab, mut saa, mut sbb, mut sa, mut sb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for ch in 0..c {
            for y in 0..h {
                for xx in 0..w {
                    let a = f64::from(x[(ch * h + y) * w + xx]);
                    let at = (y + dy) * p.padded_w + xx + dx;
                    let b = p.luma[at] + CHROMA * p.chroma[ch][at];
                    (sab, saa, sbb, sa, sb) =
                        (sab + a * b, saa + a * a, sbb + b * b, sa + a, sb + b);
                }
            }
        }
        let n = (c * h * w) as f64;
        (sab - sa * sb / n) / ((saa - sa * sa / n) * (sbb - sb * sb / n)).sqrt()
    };
    accuracy(splits, |x| {
        protos
            .iter()
            .map(|p| {
                (0..span * span)
                    .map(|s| pearson(x, p, s / span, s % span))
                    .fold(f64::MIN, f64::max)
            })
            .collect()
    })
}

fn accuracy(splits: &DataSplits, mut scores: impl FnMut(&[f32]) -> Vec<f64>) -> f64 {
    let correct = (0..splits.test.len())
        .filter(|&i| {
            let s = scores(splits.test.image(i));
            let best = (0..NUM_CLASSES).max_by(|&a, &b| s[a].total_cmp(&s[b]));
            best == Some(usize::from(splits.test.labels()[i]))
        })
        .count();
    correct as f64 / splits.test.len() as f64
}

#[test]
fn difficulty_linear_well_below_shift_aware_oracle() -> Result<(), DataError> {
    // Smaller than the defaults to keep the test quick; the bands are wide on purpose.
    let cfg = SyntheticConfig {
        train_len: 2000,
        test_len: 200,
        ..SyntheticConfig::for_shape([1, 28, 28])
    };
    let splits = synthetic(&cfg)?;
    let linear = linear_accuracy(&splits, 5);
    let oracle = oracle_accuracy(&cfg, &splits);
    println!("linear {linear:.3}, oracle {oracle:.3}");
    assert!(
        (0.35..0.85).contains(&linear),
        "linear accuracy {linear}: too easy or hard"
    );
    assert!(
        oracle > 0.9,
        "oracle accuracy {oracle}: classes not separable"
    );
    assert!(oracle > linear + 0.1);
    Ok(())
}

#[test]
fn same_seed_same_bytes_and_stable_prefixes() -> Result<(), DataError> {
    let small = SyntheticConfig {
        train_len: 10,
        test_len: 5,
        ..SyntheticConfig::default()
    };
    let a = synthetic(&small)?;
    assert_eq!(a, synthetic(&small)?);
    let bigger = synthetic(&SyntheticConfig {
        train_len: 20,
        ..small.clone()
    })?;
    assert_eq!(
        a.train.images(),
        &bigger.train.images()[..a.train.images().len()]
    );
    assert_eq!(a.test, bigger.test);
    let other_seed = synthetic(&SyntheticConfig { seed: 1, ..small })?;
    assert_ne!(a.train.images(), other_seed.train.images());
    Ok(())
}

#[test]
fn shapes_values_and_classes() -> Result<(), DataError> {
    for shape in [[1, 28, 28], [3, 32, 32]] {
        let s = synthetic(&SyntheticConfig {
            train_len: 500,
            test_len: 7,
            ..SyntheticConfig::for_shape(shape)
        })?;
        assert_eq!(
            (s.train.shape(), s.train.len(), s.test.len()),
            (shape, 500, 7)
        );
        // Values are 8-bit levels in [0, 1], and every class occurs.
        assert!(s
            .train
            .images()
            .iter()
            .all(|&v| (0.0..=1.0).contains(&v) && ((v * 255.0).round() - v * 255.0).abs() < 1e-3));
        assert!(
            s.train.label_histogram().iter().all(|&n| n > 20),
            "{:?}",
            s.train.label_histogram()
        );
    }
    Ok(())
}

#[test]
fn pinned_golden_values() -> Result<(), DataError> {
    // If these change, every synthetic result recorded so far was made on other data.
    let s = synthetic(&SyntheticConfig {
        train_len: 8,
        test_len: 2,
        ..SyntheticConfig::default()
    })?;
    let bytes = |d: &Dataset| -> Vec<u8> {
        d.images()
            .iter()
            .map(|&v| (v * 255.0).round() as u8)
            .collect()
    };
    assert_eq!(s.train.labels(), GOLDEN_TRAIN_LABELS);
    assert_eq!(crate::sha256_bytes(&bytes(&s.train)), GOLDEN_TRAIN_SHA256);
    assert_eq!(crate::sha256_bytes(&bytes(&s.test)), GOLDEN_TEST_SHA256);
    Ok(())
}
// Reproduced bit for bit by an independent Python port of this generator (plain IEEE
// doubles, same operation order), which is what "platform-independent" rests on.
const GOLDEN_TRAIN_LABELS: [u8; 8] = [0, 2, 4, 3, 8, 5, 7, 8];
const GOLDEN_TRAIN_SHA256: &str =
    "f009ce0a16033e419ecd748bcdd3fcaae9fa754e86ff488ed041db98531c789d";
const GOLDEN_TEST_SHA256: &str = "78c836ac293bf63b2bb0e15f52e234cb970cd834d44cb35a1091dcabbb83412c";

#[test]
fn invalid_configs_are_rejected() {
    let bad = [
        SyntheticConfig {
            shape: [0, 28, 28],
            ..SyntheticConfig::default()
        },
        SyntheticConfig {
            max_shift: 28,
            ..SyntheticConfig::for_shape([1, 28, 28])
        },
        SyntheticConfig {
            noise_std: f64::NAN,
            ..SyntheticConfig::default()
        },
    ];
    for cfg in bad {
        assert!(
            matches!(synthetic(&cfg), Err(DataError::InvalidConfig { .. })),
            "{cfg:?}"
        );
    }
}
