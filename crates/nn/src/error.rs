//! The crate's error type: shape problems are reported with the op, the operand and both
//! shapes, so a wrong model config says exactly which layer disagrees.

/// Errors of the nn ops.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NnError {
    /// An operand's shape does not fit the op or the other operands.
    #[error("{op}: {operand} has shape {found}, expected {expected}")]
    ShapeMismatch {
        op: &'static str,
        operand: &'static str,
        expected: String,
        found: String,
    },
    /// 2×2/stride-2 pooling needs an even height and width (no silent cropping).
    #[error("{op}: input height and width must be even for 2x2/stride-2 pooling, found {height}x{width}")]
    OddPoolInput {
        op: &'static str,
        height: usize,
        width: usize,
    },
    /// A model configuration that cannot be built (names the key and what was expected).
    #[error("invalid model config: {0}")]
    Config(String),
    /// A clip layer rejected its parameters or input.
    #[error(transparent)]
    Clip(#[from] clipbench_clip::ClipError),
    /// The device (allocation, kernel launch) failed.
    #[error("{op}: device error: {message}")]
    Device { op: &'static str, message: String },
}

impl NnError {
    /// Wraps a dfdx device error (whose type depends on the device) with the op's name.
    pub(crate) fn device(op: &'static str, err: impl std::fmt::Display) -> Self {
        Self::Device {
            op,
            message: err.to_string(),
        }
    }

    pub(crate) fn shape(
        op: &'static str,
        operand: &'static str,
        expected: impl Into<String>,
        found: impl std::fmt::Debug,
    ) -> Self {
        Self::ShapeMismatch {
            op,
            operand,
            expected: expected.into(),
            found: format!("{found:?}"),
        }
    }
}
