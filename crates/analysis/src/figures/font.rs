//! The font every figure's text uses: DejaVu Sans, embedded (`assets/DejaVuSans.ttf`, Bitstream
//! Vera license in `assets/DejaVuSans-LICENSE.txt`). `CLIPBENCH_FONT=/path/to/font.ttf`
//! replaces it (e.g. for scripts DejaVu lacks). A missing or invalid font is an error.

use std::sync::OnceLock;

use plotters::style::FontStyle;

use crate::error::{AnalysisError, Result};

pub static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Registers `bytes` as the figures' font family; Err when they are not a usable font.
pub fn register(bytes: &'static [u8]) -> Result<()> {
    plotters::style::register_font(super::FONT, FontStyle::Normal, bytes).map_err(|_| {
        AnalysisError::Font("the font data is not a valid TrueType/OpenType font".into())
    })
}

fn load() -> std::result::Result<&'static [u8], String> {
    let bytes: &'static [u8] = match std::env::var_os("CLIPBENCH_FONT") {
        Some(path) => {
            let data = std::fs::read(&path)
                .map_err(|e| format!("CLIPBENCH_FONT={}: {e}", path.to_string_lossy()))?;
            Box::leak(data.into_boxed_slice())
        }
        None => DEJAVU_SANS,
    };
    register(bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Registers the font once per process; every figure calls this before drawing text.
pub fn ensure() -> Result<()> {
    bytes().map(|_| ())
}

/// The registered font's bytes (registering it first): the PDF output embeds the same font.
pub fn bytes() -> Result<&'static [u8]> {
    static DONE: OnceLock<std::result::Result<&'static [u8], String>> = OnceLock::new();
    DONE.get_or_init(load).clone().map_err(AnalysisError::Font)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_font_data_is_an_error_not_a_panic() {
        let err = register(b"definitely not a font").expect_err("garbage must be rejected");
        assert!(err.to_string().contains("not a valid"), "{err}");
        register(DEJAVU_SANS).expect("the embedded font is valid");
    }
}
