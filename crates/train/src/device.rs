//! Device creation with errors instead of panics.
//!
//! cudarc 0.9 (under dfdx 0.13) unwraps `cuInit` inside `Cuda::try_build`, so on a machine
//! without a usable GPU (no driver, a stub driver, no device) it panics. The driver is asked
//! first here, through cudarc's own fallible calls, and the build itself runs under
//! `catch_unwind` for whatever else it unwraps.

use crate::TrainError;

/// The message every "no GPU" path shares, so users and tests see one wording.
pub const NO_CUDA_DEVICE: &str = "no CUDA device";

/// dfdx's CUDA device 0, or [`TrainError::Device`] naming why there is none.
#[cfg(feature = "cuda")]
pub fn cuda(seed: u64) -> Result<dfdx::tensor::Cuda, TrainError> {
    use cudarc::driver::result;

    let fail = |why: String| TrainError::Device(format!("{NO_CUDA_DEVICE}: {why}"));
    result::init().map_err(|e| fail(format!("the CUDA driver did not initialise ({e:?})")))?;
    let count = result::device::get_count()
        .map_err(|e| fail(format!("the CUDA driver cannot count devices ({e:?})")))?;
    if count < 1 {
        return Err(fail("the CUDA driver reports 0 devices".into()));
    }
    let built = std::panic::catch_unwind(|| dfdx::tensor::Cuda::try_build(0, seed));
    match built {
        Ok(Ok(dev)) => Ok(dev),
        Ok(Err(e)) => Err(fail(format!("creating device 0 failed ({e:?})"))),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a panic without a message");
            Err(fail(format!(
                "creating device 0 panicked in cudarc: {what}"
            )))
        }
    }
}

/// Without the `cuda` feature there is no CUDA device to make.
#[cfg(not(feature = "cuda"))]
pub fn cuda(_seed: u64) -> Result<std::convert::Infallible, TrainError> {
    Err(TrainError::Config(
        "device = \"cuda\": this binary was built without the `cuda` feature \
         (`just build-cuda`, or cargo build --release -p clipbench --features cuda)"
            .into(),
    ))
}
