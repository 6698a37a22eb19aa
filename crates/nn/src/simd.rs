//! Run-time choice of the widest x86 SIMD for the crate's element loops (pooling, its
//! scatter, col2im): the release build targets baseline x86-64, which gives those loops
//! 4-lane SSE2, so each is compiled again with AVX2 and with AVX-512 and picked per call.
//!
//! Only loops whose every element comes from the same operations in the same order, whatever
//! the vector width (compares, selects, one add per element, no FMA, no reassociation), go
//! through here, so every path gives the same bits; the tests compare them. The level follows
//! `clipbench-clip`'s kernels, including their forced-portable and forced-AVX2 switches.

/// The instruction sets a loop is compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    Avx512,
    Avx2,
    Portable,
}

/// The widest level this process runs the clip kernels with (and so these loops).
pub(crate) fn level() -> Level {
    match clipbench_clip::kernel::cpu_path() {
        "avx512" => Level::Avx512,
        "avx2" => Level::Avx2,
        _ => Level::Portable,
    }
}

/// `$vis fn $name(args) { body }` with the body compiled for [`level()`]. Inside the body
/// `WIDE` (a `const bool`) says whether this copy is the AVX2 or AVX-512 one, for a loop that
/// LLVM vectorises only there (and that needs a hand-written SSE2 version otherwise). The
/// arguments' types must name their lifetimes or elide them plainly.
macro_rules! dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body<const WIDE: bool>($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2")]
                fn avx512($($arg: $ty),*) {
                    body::<true>($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) {
                    body::<true>($($arg),*)
                }
                match $crate::simd::level() {
                    // SAFETY: `level()` reports AVX-512 (F, VL, DQ, BW) only when the CPU
                    // has them (run-time detection in clipbench-clip).
                    $crate::simd::Level::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: likewise for AVX2.
                    $crate::simd::Level::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::simd::Level::Portable => {}
                }
            }
            body::<false>($($arg),*)
        }
    };
}
pub(crate) use dispatch;

/// Runs `f` at every level this CPU has (forcing the narrower ones through clipbench-clip's
/// switches, which are process-wide: other tests running meanwhile only change paths, and
/// every path gives the same bits) and returns each level's result.
#[cfg(test)]
pub(crate) fn at_each_level<R>(f: impl Fn() -> R) -> Vec<(Level, R)> {
    use clipbench_clip::kernel::{set_force_avx2, set_force_portable};
    let mut out = Vec::new();
    for (portable, avx2) in [(false, false), (false, true), (true, false)] {
        set_force_portable(portable);
        set_force_avx2(avx2);
        let lv = level();
        if out.iter().all(|(l, _)| *l != lv) {
            out.push((lv, f()));
        }
    }
    set_force_portable(false);
    set_force_avx2(false);
    // On a CPU with AVX2 a comparison of one level with itself would prove nothing.
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        assert!(
            out.len() >= 2,
            "only {:?} ran",
            out.iter().map(|r| r.0).collect::<Vec<_>>()
        );
    }
    out
}
