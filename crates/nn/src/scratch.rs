//! Per-thread scratch buffers for the CPU kernels (im2col columns and their gradients),
//! reused across calls: allocating and zeroing ~150 KB per task showed up as ~10% of a conv
//! in profiles (memset and page faults).

use std::cell::RefCell;

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with a scratch slice of `len` floats. The contents are unspecified (left over
/// from earlier calls): `f` must write every element it reads. Each thread keeps its buffer,
/// grown to the largest `len` seen, for the thread's lifetime.
pub(crate) fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
            f(&mut buf[..len])
        }
        // Re-entered on this thread (a nested kernel): fall back to a fresh buffer.
        Err(_) => f(&mut vec![0.0; len]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_has_the_requested_length_and_nests() {
        let total = with_scratch(8, |a| {
            a.fill(1.0);
            with_scratch(3, |b| {
                b.fill(2.0);
                a.iter().sum::<f32>() + b.iter().sum::<f32>()
            })
        });
        assert_eq!(total, 14.0);
        assert_eq!(with_scratch(5, |s| s.len()), 5);
    }
}
