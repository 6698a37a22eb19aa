//! Test helpers: seeded data, closeness checks, and naive f64 reference implementations
//! (direct loops, written for clarity, not speed).

use crate::init::SplitMix64;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Seeded test data.
pub struct Rng(SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(SplitMix64::new(seed))
    }

    /// `n` values uniform in [−1, 1].
    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        crate::init::uniform_vec(&mut self.0, n, 1.0)
    }

    /// `n` distinct values (a shuffled grid with gaps of 1/n), so max-pool windows never tie
    /// and finite differences with a smaller step never change a window's winner.
    pub fn distinct(&mut self, n: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..n).map(|i| (i as f32 / n as f32) * 2.0 - 1.0).collect();
        for i in (1..n).rev() {
            let j = (self.0.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
        v
    }
}

/// Asserts |got − want| ≤ tol · max|want| elementwise (relative to the tensor's scale, so
/// entries near zero are not held to an impossible relative bound).
pub fn assert_close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1e-30f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let d = (f64::from(*g) - w).abs();
        assert!(
            d <= tol * scale,
            "{what}[{i}]: got {g}, want {w} (|diff| {d:e}, scale {scale:e})"
        );
    }
}

/// Same, for two f32 results (e.g. the CPU kernel against the generic version).
pub fn assert_close_f32(got: &[f32], want: &[f32], tol: f64, what: &str) {
    let want: Vec<f64> = want.iter().map(|&v| f64::from(v)).collect();
    assert_close(got, &want, tol, what);
}

/// Sizes of a naive convolution.
#[derive(Clone, Copy, Debug)]
pub struct ConvCase {
    pub b: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub o: usize,
    pub kh: usize,
    pub kw: usize,
    pub pad: usize,
}

impl ConvCase {
    pub fn ho(&self) -> usize {
        self.h + 2 * self.pad - self.kh + 1
    }
    pub fn wo(&self) -> usize {
        self.w + 2 * self.pad - self.kw + 1
    }
    pub fn x_len(&self) -> usize {
        self.b * self.c * self.h * self.w
    }
    pub fn w_len(&self) -> usize {
        self.o * self.c * self.kh * self.kw
    }
    pub fn y_len(&self) -> usize {
        self.b * self.o * self.ho() * self.wo()
    }

    /// Calls `f(y_index, x_index, w_index)` for every product term of the convolution:
    /// y[n,o,oy,ox] += w[o,c,kh,kw] · x[n,c,oy+kh−p,ox+kw−p] (torch.nn.functional.conv2d).
    fn for_each_term(&self, mut f: impl FnMut(usize, usize, usize)) {
        let (ho, wo) = (self.ho(), self.wo());
        for n in 0..self.b {
            for o in 0..self.o {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let yi = ((n * self.o + o) * ho + oy) * wo + ox;
                        for c in 0..self.c {
                            for kh in 0..self.kh {
                                for kw in 0..self.kw {
                                    let (iy, ix) = (oy + kh, ox + kw);
                                    if iy < self.pad || ix < self.pad {
                                        continue;
                                    }
                                    let (iy, ix) = (iy - self.pad, ix - self.pad);
                                    if iy >= self.h || ix >= self.w {
                                        continue;
                                    }
                                    let xi = ((n * self.c + c) * self.h + iy) * self.w + ix;
                                    let wi = ((o * self.c + c) * self.kh + kh) * self.kw + kw;
                                    f(yi, xi, wi);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The convolution in f64.
    pub fn forward(&self, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f64> {
        let up = |v: &[f32]| v.iter().map(|&a| f64::from(a)).collect::<Vec<f64>>();
        self.forward64(&up(x), &up(w), &up(b))
    }

    /// The convolution of f64 data (for finite differences).
    pub fn forward64(&self, x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
        let plane = self.ho() * self.wo();
        let mut y: Vec<f64> = (0..self.y_len()).map(|i| b[i / plane % self.o]).collect();
        self.for_each_term(|yi, xi, wi| y[yi] += w[wi] * x[xi]);
        y
    }

    /// Gradients of L = Σ dy ⊙ y: (dx, dW, db), in f64.
    pub fn backward(&self, x: &[f32], w: &[f32], dy: &[f32]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let plane = self.ho() * self.wo();
        let mut dx = vec![0.0; self.x_len()];
        let mut dw = vec![0.0; self.w_len()];
        let mut db = vec![0.0; self.o];
        for (i, &g) in dy.iter().enumerate() {
            db[i / plane % self.o] += f64::from(g);
        }
        self.for_each_term(|yi, xi, wi| {
            dx[xi] += f64::from(dy[yi]) * f64::from(w[wi]);
            dw[wi] += f64::from(dy[yi]) * f64::from(x[xi]);
        });
        (dx, dw, db)
    }
}

/// Central finite difference of `loss` with respect to every entry of `v`, in f64.
pub fn finite_diff(v: &[f32], eps: f64, mut loss: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let mut p: Vec<f64> = v.iter().map(|&a| f64::from(a)).collect();
    (0..p.len())
        .map(|i| {
            let orig = p[i];
            p[i] = orig + eps;
            let up = loss(&p);
            p[i] = orig - eps;
            let down = loss(&p);
            p[i] = orig;
            (up - down) / (2.0 * eps)
        })
        .collect()
}
